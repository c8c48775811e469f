#!/usr/bin/env bash
# Messages per second through the broker with tracing on (issue 18), measured with tracerig's own
# command: `tracerig run bench/messaging/throughput.toml` at rising rates, once through the embedded
# broker and once through a private RabbitMQ node (bench/messaging/rabbitmq_node), alternating, in
# the same run. Every message is a PRODUCER span, a CONSUMER span and a verified trace.
# Messages/s = messages consumed / (load time + the time the consumers took to drain the queues
# after it); a rate is sustained when every trace is complete and nothing was left queued.
#
#   bench/messaging/throughput.sh [BUILD_DIR] [RATES] [SECONDS]   (default: build, "1000 2000 4000", 3)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build}
rates=${2:-1000 2000 4000}
seconds=${3:-3}
tracerig=$build/tracerig
node=$build/bench/messaging/rabbitmq_node
for f in "$tracerig" "$node"; do
  [[ -x $f ]] || { echo "missing $f: build it first (ninja -C $build tracerig rabbitmq_node)" >&2; exit 2; }
done
work=$(mktemp -d)
node_pid=
cleanup() { [[ -n $node_pid ]] && kill "$node_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# The node stops when its stdin closes: keep a pipe open to it until the end.
mkfifo "$work/node.in"
"$node" <"$work/node.in" >"$work/node.out" 2>"$work/node.err" &
node_pid=$!
exec 3>"$work/node.in"
for _ in $(seq 1200); do grep -q '^url: ' "$work/node.out" && break; sleep 0.05; done
url=$(sed -n 's/^url: //p' "$work/node.out")
[[ -n $url ]] || { echo "RabbitMQ did not start:" >&2; cat "$work/node.err" >&2; exit 1; }

run() {  # broker-label rate [--broker URL]
  local label=$1 rate=$2; shift 2
  local dir=$work/$label-$rate
  "$tracerig" run "$root/bench/messaging/throughput.toml" --rate "$rate" --duration "${seconds}s" \
    --quiet --report-dir "$dir" "$@" >/dev/null 2>"$dir.err" || true
  python3 - "$dir" "$label" "$rate" <<'PY'
import glob, json, sys
d, label, rate = sys.argv[1:]
files = glob.glob(d + "/*/report.json")
if not files:
    print(f"{label:9} {rate:>6}  no report"); sys.exit()
r = json.load(open(files[0]))
m = r["topology"].get("messages", {})
consumed = m.get("consumed", 0)
secs = (r["load"]["elapsed_ns"] + m.get("queue_drain_ns", 0)) / 1e9
v = r.get("verification") or {}
q = (v.get("queue_latency") or [{}])[0]
ok = v.get("complete") == v.get("checked") and m.get("left_queued", 0) == 0
print(f"{label:9} {rate:>6}  {consumed/secs:10.0f} msg/s  sent {r['load']['sent']:>6}  consumed {consumed:>6}"
      f"  drain {m.get('queue_drain_ns',0)/1e6:8.1f} ms  publish->process p50 {q.get('p50_ns',0)/1e6:7.2f} ms"
      f" p99 {q.get('p99_ns',0)/1e6:8.2f} ms  complete {v.get('complete')}/{v.get('checked')}"
      f"  {'sustained' if ok else 'NOT sustained'}")
PY
}

echo "broker      rate  messages/s (consumed / (load + drain))"
for rate in $rates; do
  run embedded "$rate"
  run rabbitmq "$rate" --broker "$url"
done
