# vllm-constructs: Ray head of a multi-node vLLM server.
# Starts Ray, waits (bounded) until exactly RAY_EXPECTED_NODES nodes are alive, then execs the serve
# command given as arguments ("$@", e.g. vllm serve ... --distributed-executor-backend ray).
# Inputs (env): RAY_EXPECTED_NODES, RAY_NODE_IP (this node's address), RAY_PORT (6379),
#   RAY_NUM_GPUS, RAY_NUM_CPUS, RAY_OBJECT_STORE_MEMORY, RAY_TEMP_DIR (optional),
#   RAY_CLUSTER_TIMEOUT_SECONDS (600), RAY_POLL_INTERVAL_SECONDS (5),
#   RAY_STOP_TIMEOUT_SECONDS (30): how long a stop gives Ray to end before SIGKILL (counted in whole
#   seconds, so up to 2s more); keep it below the pod's terminationGracePeriodSeconds.
# Stopping: every child runs in a process group of its own. When the script fails, or receives SIGTERM
# (the kubelet stopping the pod) or SIGINT before the serve command starts, it tells each child to stop
# (SIGINT to `ray start`, which then stops its Ray daemons), waits at most RAY_STOP_TIMEOUT_SECONDS for
# every process of its session to end (of its process groups when it does not lead its session; a
# container's first process does), SIGKILLs what is left, and exits: 1 on a failure, 143 on SIGTERM, 130
# on SIGINT. Once the serve command runs, it owns the pod's signals and `ray start --head` is its child.
set -euo pipefail
: "${RAY_EXPECTED_NODES:?RAY_EXPECTED_NODES is not set}" "${RAY_NODE_IP:?RAY_NODE_IP is not set}"
if [ -n "${LWS_GROUP_SIZE:-}" ] && [ "$LWS_GROUP_SIZE" != "$RAY_EXPECTED_NODES" ]; then
  echo "ERROR: LeaderWorkerSet group size is $LWS_GROUP_SIZE but RAY_EXPECTED_NODES is $RAY_EXPECTED_NODES: the cluster could never form" >&2; exit 2
fi
if [ "$#" -eq 0 ]; then echo "ERROR: no serve command given to the Ray leader" >&2; exit 2; fi
stop_timeout="${RAY_STOP_TIMEOUT_SECONDS:-30}"
if ! [[ "$stop_timeout" =~ ^[0-9]+$ ]]; then
  echo "ERROR: RAY_STOP_TIMEOUT_SECONDS=$stop_timeout is not a whole number of seconds" >&2; exit 2
fi

# vllm-constructs: include ray-bounded-stop.sh

port="${RAY_PORT:-6379}"; timeout_s="${RAY_CLUSTER_TIMEOUT_SECONDS:-600}"; interval="${RAY_POLL_INTERVAL_SECONDS:-5}"
address="$RAY_NODE_IP:$port"
start=$(date +%s)
opts=(--head --port="$port" --node-ip-address="$RAY_NODE_IP" --disable-usage-stats --block)
[ -n "${RAY_NUM_GPUS:-}" ] && opts+=(--num-gpus="$RAY_NUM_GPUS")
[ -n "${RAY_NUM_CPUS:-}" ] && opts+=(--num-cpus="$RAY_NUM_CPUS")
[ -n "${RAY_OBJECT_STORE_MEMORY:-}" ] && opts+=(--object-store-memory="$RAY_OBJECT_STORE_MEMORY")
[ -n "${RAY_TEMP_DIR:-}" ] && opts+=(--temp-dir="$RAY_TEMP_DIR")
echo "starting Ray head at $address, waiting for $RAY_EXPECTED_NODES nodes (at most ${timeout_s}s)"
# `ray start --block` owns the Ray daemons and stops them on SIGINT; after the exec below it stays a
# child of the serve process.
launch "ray start --head" ray start "${opts[@]}"; head_pid=$!
port_open() { python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()' "$RAY_NODE_IP" "$port" 2>/dev/null; }
until run "port check" port_open; do
  if ! kill -0 "$head_pid" 2>/dev/null; then
    rc=0; wait "$head_pid" || rc=$?
    echo "ERROR: ray start --head exited with status $rc before its port $address opened (see the lines above)" >&2; exit 1
  fi
  if [ $(( $(date +%s) - start )) -ge "$timeout_s" ]; then
    echo "ERROR: the Ray head did not open $address within ${timeout_s}s" >&2; exit 1
  fi
  run "pause" sleep 0.5
done
# One driver connection polls the node table until exactly the expected number of nodes is alive.
wait_for_nodes=""
IFS= read -r -d '' wait_for_nodes <<'PY' || true  # read stops at the end of the text with status 1
import signal
import sys
import time


def stop(signum, frame):  # the script stops this poll on SIGINT (or SIGTERM): end quietly
    sys.exit(128 + signum)


for sig in (signal.SIGINT, signal.SIGTERM):
    signal.signal(sig, stop)
import ray

address, node_ip, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
left, budget, interval = float(sys.argv[4]), sys.argv[5], float(sys.argv[6])
deadline = time.monotonic() + left
ray.init(address=address, _node_ip_address=node_ip, logging_level="ERROR", log_to_driver=False)
for sig in (signal.SIGINT, signal.SIGTERM):  # the Ray driver installs handlers of its own
    signal.signal(sig, stop)
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
if ! run "Ray node poll" python3 -c "$wait_for_nodes" "$address" "$RAY_NODE_IP" "$RAY_EXPECTED_NODES" \
  "$(( timeout_s - ($(date +%s) - start) ))" "$timeout_s" "$interval"; then
  exit 1
fi
export RAY_ADDRESS="$address"
echo "starting: $*"
exec "$@"
