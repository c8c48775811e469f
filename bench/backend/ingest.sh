#!/usr/bin/env bash
# Embedded-backend ingest benchmark (issue 5): OTLP/HTTP protobuf batches of 512 spans from a
# separate load process (ingest_load) into `tracerig backend`, pinned to one core, with nginx
# answering 200 to the same POSTs on the same core as the reference measured in the same run.
# Prints spans/s for both, the ratio, and the backend's resident memory per stored span.
#
#   bench/backend/ingest.sh [BUILD_DIR] [SECONDS]      (default: build, 10)
#
# SERVER=ingest_server measures bench/backend/ingest_server instead of `tracerig backend`: the same
# EmbeddedBackend with only its OTLP/HTTP and query ports, for when the CLI is not built.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build}
seconds=${2:-10}
tracerig=$build/tracerig
load=$build/bench/backend/ingest_load
if [[ ${SERVER:-tracerig} == ingest_server ]]; then
  server=("$build/bench/backend/ingest_server" 127.0.0.1:0)
else
  server=("$tracerig" backend --otlp-http 127.0.0.1:0 --query 127.0.0.1:0 --max-spans 50000000)
fi
for f in "${server[0]}" "$load"; do
  [[ -x $f ]] || { echo "missing $f: build it first (ninja -C $build tracerig ingest_load)" >&2; exit 2; }
done
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# Backend on core 0, load on core 1 (a 2-core machine: one core each).
pin_server="taskset -c 0"
pin_load="taskset -c 1"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

$pin_server "${server[@]}" >"$work/backend.out" 2>&1 &
backend=$!
pids+=("$backend")
for _ in $(seq 100); do grep -q '^otlp-http:' "$work/backend.out" && break; sleep 0.05; done
otlp=$(sed -n 's#^otlp-http: http://\([^/]*\)/v1/traces#\1#p' "$work/backend.out")
[[ -n $otlp ]] || { cat "$work/backend.out" >&2; exit 3; }
rss_before=$(rss_kib "$backend")
backend_line=$($pin_load "$load" --target "$otlp" --seconds "$seconds" --connections 4)
rss_after=$(rss_kib "$backend")
backend_spans=$(sed 's/.* spans \([0-9]*\) .*/\1/' <<<"$backend_line")
backend_rate=$(sed 's/.*spans_per_second \([0-9]*\).*/\1/' <<<"$backend_line")
bytes_per_span=$(sed 's/.*bytes_per_span \([0-9.]*\).*/\1/' <<<"$backend_line")

nginx_rate=""
if command -v nginx >/dev/null; then
  port=$(free_port)
  cat >"$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_max_body_size 64m;
  client_body_buffer_size 1m;
  server { listen 127.0.0.1:$port; location / { return 200; } }
}
CONF
  $pin_server nginx -c "$work/nginx.conf" -p "$work" &
  pids+=("$!")
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
  nginx_line=$($pin_load "$load" --target "127.0.0.1:$port" --seconds "$seconds" --connections 4)
  nginx_rate=$(sed 's/.*spans_per_second \([0-9]*\).*/\1/' <<<"$nginx_line")
fi

echo "| what | spans/s |"
echo "|---|---|"
echo "| tracerig backend, OTLP/HTTP protobuf, 512-span batches, 1 core | $backend_rate |"
if [[ -n $nginx_rate ]]; then
  echo "| nginx \`return 200\` to the same POSTs, 1 core (reference) | $nginx_rate |"
  awk -v a="$backend_rate" -v b="$nginx_rate" 'BEGIN { printf "| ratio tracerig / nginx | %.2f |\n", a / b }'
else
  echo "| nginx reference | not installed (apt-get install nginx) |"
fi
awk -v kib=$((rss_after - rss_before)) -v n="$backend_spans" -v enc="$bytes_per_span" \
  'BEGIN { printf "| backend memory per stored span (RSS growth / spans) | %.0f bytes (%.0f bytes encoded) |\n", kib * 1024 / n, enc }'
