#!/usr/bin/env bash
# The test command: installs the packages, builds once, runs every test
# (unit, end-to-end with real processes, oracle tests) with ctest; then the
# clang build (deploy/ci-clang.sh): lock annotations checked, and the unit,
# golden and end-to-end tests again under AddressSanitizer and UBSan.
# PREFLIGHT_CLANG=0 skips that second build (it about doubles the time).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${PREFLIGHT_BUILD_DIR:-$top/build}
"$top/deploy/install-deps.sh"
PREFLIGHT_BUILD_DIR=$build "$top/deploy/build.sh"
(cd "$build" && ctest --output-on-failure -j 2 --timeout 300)
if [ "${PREFLIGHT_CLANG:-1}" != 0 ]; then
  start=$(date +%s)
  "$top/deploy/ci-clang.sh"
  echo "run-tests.sh: clang build and sanitizer tests took $(($(date +%s) - start))s"
fi
