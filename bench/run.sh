#!/usr/bin/env bash
# Issue 7's side-by-side benchmarks, in one run on one machine, printed as one table:
#   (a) tracerig's raw HTTP driver vs wrk, same connections, same local nginx (target >= 0.9x)
#   (b) one simulated HTTP service (tracing on, null sink) vs nginx, both driven by wrk (>= 0.8x)
#   (c) the driver's scheduling precision at 10,000 req/s: p99 schedule lag (< 1 ms)
# Installs nginx and wrk if missing (apt, as scripts/deps.sh does). Results go in
# docs/PERFORMANCE.md with the command that produced them.
#
# Environment: BUILD (build dir, default build-bench, Release), SECONDS_PER_RUN (default 10),
# THREADS (driver/wrk/service threads, and nginx workers, default 2), CONNECTIONS (total, default
# 64), REPLICAS (copies of the simulated service in (b), each on its own thread on one port; default
# 0 = one per thread, like nginx's workers; 1 = the whole service on one thread),
# SKIP_BUILD=1 to use the binaries already in BUILD.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD:-$root/build-bench}
seconds=${SECONDS_PER_RUN:-10}
threads=${THREADS:-2}
connections=${CONNECTIONS:-64}
replicas=${REPLICAS:-0}
per_thread=$(( (connections + threads - 1) / threads ))

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need+=(nginx-light)
if ((${#need[@]})); then
  echo "bench: installing ${need[*]}" >&2
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  export CCACHE_BASEDIR=$root
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRACERIG_BUILD_TESTS=OFF \
    >/dev/null
  ninja -C "$build" -j2 http_load_bench service_bench >/dev/null
fi
load_bench=$build/bench/driver/http_load_bench
service_bench=$build/bench/driver/service_bench

tmp=$(mktemp -d)
service_pid=""
cleanup() {
  [[ -f $tmp/nginx.pid ]] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null || true
  [[ -n $service_pid ]] && kill "$service_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# nginx: a static 200 from memory, no logging, as many workers as driver threads.
port=$(free_port)
mkdir -p "$tmp/logs"
cat >"$tmp/nginx.conf" <<CONF
worker_processes $threads;
pid $tmp/nginx.pid;
error_log $tmp/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $tmp;
  proxy_temp_path $tmp;
  fastcgi_temp_path $tmp;
  uwsgi_temp_path $tmp;
  scgi_temp_path $tmp;
  server {
    listen 127.0.0.1:$port reuseport;  # spread connections over the workers
    location / { return 200 "ok\n"; }
  }
}
CONF
"$nginx_bin" -c "$tmp/nginx.conf" -p "$tmp"
for _ in $(seq 50); do
  [[ -f $tmp/nginx.pid ]] && break
  sleep 0.1
done

wrk_rps() {  # URL -> requests/s
  wrk -t"$threads" -c"$connections" -d"${seconds}s" "$1" | awk '/^Requests\/sec:/ {print $2}'
}
field() {  # LINE KEY -> value
  tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k {print $2}'
}

echo "bench: (a) wrk vs tracerig driver against nginx on port $port (${seconds}s each)" >&2
wrk_nginx=$(wrk_rps "http://127.0.0.1:$port/")
driver_line=$("$load_bench" --target="127.0.0.1:$port" --threads="$threads" \
  --connections="$per_thread" --seconds="$seconds")
driver_rps=$(field "$driver_line" rps)

echo "bench: (b) wrk against one simulated service (replicas=$replicas, 0 = one per thread)" >&2
mkfifo "$tmp/service.in"
"$service_bench" --threads="$threads" --replicas="$replicas" <"$tmp/service.in" \
  >"$tmp/service.out" &
service_pid=$!
exec 3>"$tmp/service.in"  # the service serves until this closes
for _ in $(seq 100); do
  grep -q '^port=' "$tmp/service.out" 2>/dev/null && break
  sleep 0.1
done
service_port=$(sed -n 's/^port=//p' "$tmp/service.out")
wrk_service=$(wrk_rps "http://127.0.0.1:$service_port/")
exec 3>&-
wait "$service_pid" || true
service_pid=""
service_stats=$(grep -v '^port=' "$tmp/service.out" || true)

echo "bench: (c) open loop at 10,000 req/s" >&2
precision_line=$("$load_bench" --target="127.0.0.1:$port" --threads="$threads" \
  --connections="$per_thread" --rate=10000 --seconds="$seconds")
lag_p99_ns=$(field "$precision_line" lag_p99_ns)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
ms() { awk -v n="$1" 'BEGIN { printf "%.3f ms", n / 1e6 }'; }
verdict() { awk -v v="$1" -v t="$2" -v dir="$3" \
  'BEGIN { ok = (dir == "ge") ? (v >= t) : (v < t); print ok ? "met" : "NOT met" }'; }

a_ratio=$(ratio "$driver_rps" "$wrk_nginx")
b_ratio=$(ratio "$wrk_service" "$wrk_nginx")
lag_ms=$(awk -v n="$lag_p99_ns" 'BEGIN { printf "%.3f", n / 1e6 }')
printf '\n%-58s %14s %14s %8s %8s %s\n' "benchmark" "measured" "reference" "ratio" "target" ""
printf '%-58s %14s %14s %8s %8s %s\n' \
  "(a) driver raw HTTP req/s vs wrk (nginx, ${connections} conn)" "$driver_rps" "$wrk_nginx" \
  "$a_ratio" ">=0.9" "$(verdict "$a_ratio" 0.9 ge)"
printf '%-58s %14s %14s %8s %8s %s\n' \
  "(b) simulated service req/s vs nginx (wrk, ${connections} conn)" "$wrk_service" "$wrk_nginx" \
  "$b_ratio" ">=0.8" "$(verdict "$b_ratio" 0.8 ge)"
printf '%-58s %14s %14s %8s %8s %s\n' "(c) schedule lag p99 at 10,000 req/s" "$(ms "$lag_p99_ns")" \
  "-" "-" "<1ms" "$(verdict "$lag_ms" 1 lt)"
echo
echo "driver (a): $driver_line"
echo "service (b): $service_stats"
echo "driver (c): $precision_line"
