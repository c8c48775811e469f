#!/usr/bin/env bash
# Installs the Debian packages tracerig needs, only those missing. Sourced by quickstart.sh and
# test.sh; safe to run again. Needs root (or sudo) only when something is missing.
set -euo pipefail

TRACERIG_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libboost-dev                 # Asio + Beast: servers, clients, timers
  libprotobuf-dev protobuf-compiler  # OTLP wire format
  libgrpc++-dev protobuf-compiler-grpc  # OTLP/gRPC, simulated gRPC services (grpc_cpp_plugin)
  libtomlplusplus-dev          # scenario files with exact source positions
  libfmt-dev
  nlohmann-json3-dev           # JSON: OTLP/JSON, Jaeger API, reports (Boost 1.74 has no Boost.JSON)
  zlib1g-dev                   # gzip request bodies
  libssl-dev                   # TLS for https exporters and query clients (Asio SSL)
  librabbitmq-dev              # rabbitmq-c: the RabbitMQ broker ([broker] url, --broker)
  libgtest-dev libgmock-dev libbenchmark-dev
)

# Only for running the tests (scripts/test.sh, CI), not for building or the quickstart.
TRACERIG_TEST_PACKAGES=(
  chromium                     # the HTML report in a headless browser (html_browser_test)
  nginx                        # a real HTTP server as a load entry (nginx_entry_e2e_test)
  rabbitmq-server              # a private RabbitMQ node the broker tests start on free ports
                               # (rabbit_broker_test); without it they skip
  prometheus                   # a real Prometheus server scraping `tracerig canary` and promtool
                               # (check metrics, check/test rules) in canary_prometheus_e2e
  libxml2-utils                # xmllint: the JUnit output against junit.xsd (report_formats_test)
  nodejs npm                   # the OpenTelemetry JS SDK (npm ci from each package-lock.json):
                               # a real SDK exporting to tracerig (interop_js_sdk) and a real
                               # Node.js service in a run (own_service_e2e); without them they skip
)

# Installs TRACERIG_PACKAGES, and TRACERIG_TEST_PACKAGES too when given --tests or when called
# from scripts/test.sh.
tracerig_install_deps() {
  local missing=()
  local pkg
  local wanted=("${TRACERIG_PACKAGES[@]}")
  if [[ "${1:-}" == "--tests" || "$(basename "${BASH_SOURCE[1]:-}")" == "test.sh" ]]; then
    wanted+=("${TRACERIG_TEST_PACKAGES[@]}")
  fi
  for pkg in "${wanted[@]}"; do
    [[ "$pkg" == \#* ]] && continue
    # Node.js from NodeSource bundles npm, and Debian's npm package cannot be installed beside it
    # (apt: "held broken packages"): a `npm` command already there is enough.
    if [[ "$pkg" == npm ]] && command -v npm >/dev/null 2>&1; then
      continue
    fi
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  echo "tracerig: installing missing packages: ${missing[*]}" >&2
  local sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Configures and builds into $1 with build type $2 and extra CMake arguments after.
tracerig_build() {
  local build_dir=$1 build_type=$2
  shift 2
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  # Re-configuring is cheap and keeps the cache in step with these arguments.
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" "$@" >/dev/null
  cmake --build "$build_dir" -j "$(nproc)"
}
