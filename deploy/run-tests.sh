#!/usr/bin/env bash
# The test command: installs the packages, builds once, runs every test
# (unit, end-to-end with real processes, oracle tests) with ctest.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${PREFLIGHT_BUILD_DIR:-$top/build}
"$top/deploy/install-deps.sh"
PREFLIGHT_BUILD_DIR=$build "$top/deploy/build.sh"
cd "$build"
ctest --output-on-failure -j 2 --timeout 300
