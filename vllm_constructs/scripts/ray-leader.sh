# vllm-constructs: Ray head of a multi-node vLLM server.
# Starts Ray, waits (bounded) until exactly RAY_EXPECTED_NODES nodes are alive, then execs the serve
# command given as arguments ("$@", e.g. vllm serve ... --distributed-executor-backend ray).
# Inputs (env): RAY_EXPECTED_NODES, RAY_NODE_IP (this node's address), RAY_PORT (6379),
#   RAY_NUM_GPUS, RAY_NUM_CPUS, RAY_OBJECT_STORE_MEMORY, RAY_TEMP_DIR (optional),
#   RAY_CLUSTER_TIMEOUT_SECONDS (600), RAY_POLL_INTERVAL_SECONDS (5).
set -euo pipefail
: "${RAY_EXPECTED_NODES:?RAY_EXPECTED_NODES is not set}" "${RAY_NODE_IP:?RAY_NODE_IP is not set}"
if [ -n "${LWS_GROUP_SIZE:-}" ] && [ "$LWS_GROUP_SIZE" != "$RAY_EXPECTED_NODES" ]; then
  echo "ERROR: LeaderWorkerSet group size is $LWS_GROUP_SIZE but RAY_EXPECTED_NODES is $RAY_EXPECTED_NODES: the cluster could never form" >&2; exit 2
fi
if [ "$#" -eq 0 ]; then echo "ERROR: no serve command given to the Ray leader" >&2; exit 2; fi
port="${RAY_PORT:-6379}"; timeout_s="${RAY_CLUSTER_TIMEOUT_SECONDS:-600}"; interval="${RAY_POLL_INTERVAL_SECONDS:-5}"
address="$RAY_NODE_IP:$port"
start=$(date +%s)
opts=(--head --port="$port" --node-ip-address="$RAY_NODE_IP" --disable-usage-stats --block)
[ -n "${RAY_NUM_GPUS:-}" ] && opts+=(--num-gpus="$RAY_NUM_GPUS")
[ -n "${RAY_NUM_CPUS:-}" ] && opts+=(--num-cpus="$RAY_NUM_CPUS")
[ -n "${RAY_OBJECT_STORE_MEMORY:-}" ] && opts+=(--object-store-memory="$RAY_OBJECT_STORE_MEMORY")
[ -n "${RAY_TEMP_DIR:-}" ] && opts+=(--temp-dir="$RAY_TEMP_DIR")
echo "starting Ray head at $address, waiting for $RAY_EXPECTED_NODES nodes (at most ${timeout_s}s)"
# `ray start --block` stays as a child of the serve process after exec and owns the Ray daemons: it
# stops them on SIGINT. A background job of a non-interactive shell ignores SIGINT, so reset it.
( trap - INT; exec ray start "${opts[@]}" ) & head_pid=$!
stop_head() { kill -INT "$head_pid" 2>/dev/null || true; wait "$head_pid" 2>/dev/null || true; }
trap 'stop_head; exit 143' TERM INT
until python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()' "$RAY_NODE_IP" "$port" 2>/dev/null; do
  if ! kill -0 "$head_pid" 2>/dev/null; then
    rc=0; wait "$head_pid" || rc=$?
    echo "ERROR: ray start --head exited with status $rc before its port $address opened (see the lines above)" >&2; exit 1
  fi
  if [ $(( $(date +%s) - start )) -ge "$timeout_s" ]; then
    echo "ERROR: the Ray head did not open $address within ${timeout_s}s" >&2; stop_head; exit 1
  fi
  sleep 0.5
done
# One driver connection polls the node table until exactly the expected number of nodes is alive.
if ! python3 - "$address" "$RAY_NODE_IP" "$RAY_EXPECTED_NODES" "$(( timeout_s - ($(date +%s) - start) ))" "$timeout_s" "$interval" <<'PY'
import sys
import time

import ray

address, node_ip, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
left, budget, interval = float(sys.argv[4]), sys.argv[5], float(sys.argv[6])
deadline = time.monotonic() + left
ray.init(address=address, _node_ip_address=node_ip, logging_level="ERROR", log_to_driver=False)
alive = 0
while True:
    alive = sum(1 for n in ray.nodes() if n.get("Alive"))
    if alive == expected:
        print(f"Ray cluster formed: {alive}/{expected} nodes alive at {address}", flush=True)
        sys.exit(0)
    if alive > expected:
        print(f"ERROR: {alive}/{expected} nodes alive at {address}: more nodes joined than the cluster size;"
              " another group's workers point at this head (check RAY_HEAD_ADDRESS of the workers)", file=sys.stderr, flush=True)
        sys.exit(1)
    if time.monotonic() >= deadline:
        print(f"ERROR: {alive}/{expected} nodes alive after {budget}s at {address}: the missing workers never joined"
              " (check the worker pods' logs, that they can reach this address, and RAY_CLUSTER_TIMEOUT_SECONDS)",
              file=sys.stderr, flush=True)
        sys.exit(1)
    print(f"waiting: {alive}/{expected} nodes alive at {address}", flush=True)
    time.sleep(min(interval, max(deadline - time.monotonic(), 0.1)))
PY
then
  stop_head; exit 1
fi
trap - TERM INT
export RAY_ADDRESS="$address"
echo "starting: $*"
exec "$@"
