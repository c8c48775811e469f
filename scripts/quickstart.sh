#!/usr/bin/env bash
# README command 1: installs what is missing (apt), builds tracerig (Release), and runs the
# quickstart scenario against the embedded backend. Works from any directory; safe to re-run.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/deps.sh"
tracerig_install_deps
tracerig_build "$root/build-release" Release -DTRACERIG_BUILD_TESTS=OFF -DTRACERIG_BUILD_BENCH=OFF
cd "$root"
exec "$root/build-release/tracerig" run scenarios/quickstart.toml "$@"
