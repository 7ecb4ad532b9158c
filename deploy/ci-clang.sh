#!/usr/bin/env bash
# The second CI build: clang, with
#   -Wthread-safety -Werror=thread-safety  every lock annotation is checked, a
#                                          violation fails the build (threading
#                                          model: collector/service/collector_state.h)
#   AddressSanitizer + UBSan               (PREFLIGHT_SANITIZE) over the unit,
#                                          golden and end-to-end tests, the
#                                          agent, collector and preflightctl
#                                          they run included.
#   libFuzzer                              (PREFLIGHT_FUZZ) every fuzz target of
#                                          tests/fuzz runs for
#                                          $PREFLIGHT_FUZZ_SECONDS (default 5)
#                                          from its seed corpus; a crash fails
#                                          the step and leaves its input in
#                                          $build/fuzz-artifacts.
# ThreadSanitizer is not used: Debian's gRPC, protobuf, abseil and RocksDB are
# not built with it, so it would drown in false reports.
#
# Built into build-clang/ (or $PREFLIGHT_CLANG_BUILD_DIR), separately from the
# main g++ build. Warnings are errors when CI is set, as in the main build.
# Only what those tests need is built (no benchmarks, fuzz replays, oracle or
# TLS tests: the main build runs them), to keep the whole CI run well under
# 30 minutes on 2 cores; deploy/run-tests.sh prints how long this step took
# (measured on 2 cores shared with other builds: 11 min to build from
# scratch, 5 min for the 526 tests).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${PREFLIGHT_CLANG_BUILD_DIR:-$top/build-clang}
jobs=$(nproc)

# -O1 and line tables only: compiles and links faster than -O2 -g, and
# reports still name file:line. Not -O0, which compiles faster still but runs
# the tests that bound their time (e.g. MaskSecrets.LongRepetitiveLinesAreFast)
# past their limit under ASan. NDEBUG as in the main build.
cmake -S "$top" -B "$build" -G Ninja \
  -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
  -DPREFLIGHT_THREAD_SAFETY=ON \
  -DPREFLIGHT_SANITIZE=ON \
  -DPREFLIGHT_FUZZ=ON \
  -DPREFLIGHT_BENCHMARKS=OFF >/dev/null
targets=(preflight_unit_tests preflight_golden_tests preflight_e2e_tests preflight_heap_tests)
fuzzers=(sshd_config sshd_t pam authorized_keys passwd sudoers iptables_save nft_json ufw
         proc_net acme_json mounts history logrotate crontab mask)
ninja -C "$build" -j "$jobs" "${targets[@]}" "${fuzzers[@]/%/_fuzzer}"

# Every sanitizer report goes to a file under $build/sanitizer-logs, whichever
# process made it: the e2e tests' agent, collector and preflightctl are
# children whose exit codes the tests do not all look at, so any report file
# fails this step, after the tests ran.
logs=$build/sanitizer-logs
rm -rf "$logs"
mkdir -p "$logs"
# Leaks are checked too, except inside Debian's libraries
# (deploy/lsan-suppressions.txt says which and why).
export ASAN_OPTIONS="detect_leaks=1:log_path=$logs/report"
export LSAN_OPTIONS="suppressions=$top/deploy/lsan-suppressions.txt:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/report"

# The tests of exactly those executables, by number (ctest has no labels for
# gtest_discover_tests' tests here, and their names do not say the binary).
cd "$build"
numbers=$(ctest --show-only=json-v1 | python3 -c '
import json, os, sys
wanted = set(sys.argv[1:])
tests = json.load(sys.stdin)["tests"]
# Except the full-disk tests: they fill a file system to six levels twice
# (minutes under ASan) and exercise the error paths of RocksDB more than ours;
# and the 10,000-host status test (StatusScale), whose point is time and
# memory at scale, which ASan multiplies; the main build runs them. (Not with
# ctest -E: the numbers of -I then count the tests -E leaves, and the wrong
# ones run.)
slow = ("StorageFull", "StatusScale")
print(",".join(str(i + 1) for i, t in enumerate(tests)
               if t.get("command") and os.path.basename(t["command"][0]) in wanted
               and not any(s in t["name"] for s in slow)))
' "${targets[@]}")
if [ -z "$numbers" ]; then
  echo "ci-clang.sh: no tests found for ${targets[*]}" >&2
  exit 1
fi
status=0
ctest --output-on-failure -j "$jobs" --timeout 600 -I "0,0,0,$numbers" || status=$?

# Each fuzzer for a short fixed time: new inputs go to a scratch directory
# (the committed seed corpus is only read), crashes to fuzz-artifacts/.
# A fixed seed ($PREFLIGHT_FUZZ_SEED, default 1) makes a CI failure
# reproducible with the same command; set it to 0 for a random seed when
# fuzzing longer on demand.
seconds=${PREFLIGHT_FUZZ_SECONDS:-5}
seed=${PREFLIGHT_FUZZ_SEED:-1}
artifacts=$build/fuzz-artifacts
rm -rf "$artifacts" "$build/fuzz-scratch"
mkdir -p "$artifacts"
for f in "${fuzzers[@]}"; do
  scratch=$build/fuzz-scratch/$f
  mkdir -p "$scratch"
  dict=()
  [ -f "$top/tests/fuzz/$f.dict" ] && dict=(-dict="$top/tests/fuzz/$f.dict")
  if ! "$build/tests/fuzz/${f}_fuzzer" -max_total_time="$seconds" -seed="$seed" -print_final_stats=1 \
      -artifact_prefix="$artifacts/$f-" "${dict[@]}" "$scratch" "$top/tests/fuzz/corpus/$f" \
      >"$build/fuzz-scratch/$f.log" 2>&1; then
    echo "ci-clang.sh: fuzzer $f failed:" >&2
    tail -40 "$build/fuzz-scratch/$f.log" >&2
    status=1
  else
    echo "fuzz $f: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$build/fuzz-scratch/$f.log" | grep -o '[0-9]*$') runs in ${seconds}s"
  fi
done
if [ -n "$(ls -A "$logs")" ]; then
  for f in "$logs"/*; do
    echo "=== $f"
    cat "$f"
  done
  echo "ci-clang.sh: sanitizer reports above" >&2
  status=1
fi
exit "$status"
