#!/usr/bin/env bash
# README command 2 (and what CI runs): installs what is missing, builds everything with warnings as
# errors, and runs the whole test suite with ctest. Works from any directory; safe to re-run.
# Extra arguments go to ctest (e.g. -LE slow to skip slow suites, -R propagation to pick some).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/deps.sh"
tracerig_install_deps
tracerig_build "$root/build" RelWithDebInfo -DTRACERIG_WERROR=ON
cd "$root/build"
ctest --output-on-failure -j "$(nproc)" --timeout 300 "$@"
