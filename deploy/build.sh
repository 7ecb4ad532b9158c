#!/usr/bin/env bash
# Configures and builds everything (programs, tests, benchmarks) with ninja
# into build/ (or $PREFLIGHT_BUILD_DIR). Warnings are errors when CI is set.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${PREFLIGHT_BUILD_DIR:-$top/build}
cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$build" -j "$(nproc)"
