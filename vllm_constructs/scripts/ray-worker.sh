# vllm-constructs: Ray worker of a multi-node vLLM server.
# Waits (bounded) until the head's Ray port answers, then joins with `ray start --block`, retrying
# until it joins; stays in the foreground while the node is part of the cluster.
# Inputs (env): RAY_HEAD_ADDRESS (host of the head; default LWS_LEADER_ADDRESS), RAY_NODE_IP (this node's address), RAY_PORT (6379),
#   RAY_NUM_GPUS, RAY_NUM_CPUS, RAY_OBJECT_STORE_MEMORY, RAY_TEMP_DIR (optional),
#   RAY_CLUSTER_TIMEOUT_SECONDS (600), RAY_POLL_INTERVAL_SECONDS (5),
#   RAY_STOP_TIMEOUT_SECONDS (30): how long a stop gives Ray to end before SIGKILL (counted in whole
#   seconds, so up to 2s more); keep it below the pod's terminationGracePeriodSeconds.
# Stopping: every child runs in a process group of its own. When the script fails, or receives SIGTERM
# (the kubelet stopping the pod) or SIGINT, and after each `ray start` that exited, it tells each child
# to stop (SIGINT to `ray start`, which then stops its Ray daemons; SIGTERM to what is left of a group
# whose `ray start` exited), waits at most RAY_STOP_TIMEOUT_SECONDS for every process of its session to
# end (of its process groups when it does not lead its session; a container's first process does),
# SIGKILLs what is left, and exits: 1 on a failure, 143 on SIGTERM, 130 on SIGINT.
set -euo pipefail
# On LeaderWorkerSet the head is the group's leader, whose address LWS injects as LWS_LEADER_ADDRESS.
RAY_HEAD_ADDRESS="${RAY_HEAD_ADDRESS:-${LWS_LEADER_ADDRESS:-}}"
: "${RAY_HEAD_ADDRESS:?neither RAY_HEAD_ADDRESS nor LWS_LEADER_ADDRESS is set}" "${RAY_NODE_IP:?RAY_NODE_IP is not set}"
stop_timeout="${RAY_STOP_TIMEOUT_SECONDS:-30}"
if ! [[ "$stop_timeout" =~ ^[0-9]+$ ]]; then
  echo "ERROR: RAY_STOP_TIMEOUT_SECONDS=$stop_timeout is not a whole number of seconds" >&2; exit 2
fi

# vllm-constructs: include ray-bounded-stop.sh

port="${RAY_PORT:-6379}"; timeout_s="${RAY_CLUSTER_TIMEOUT_SECONDS:-600}"; interval="${RAY_POLL_INTERVAL_SECONDS:-5}"
head="$RAY_HEAD_ADDRESS:$port"
start=$(date +%s)
opts=(--address="$head" --node-ip-address="$RAY_NODE_IP" --disable-usage-stats --block)
[ -n "${RAY_NUM_GPUS:-}" ] && opts+=(--num-gpus="$RAY_NUM_GPUS")
[ -n "${RAY_NUM_CPUS:-}" ] && opts+=(--num-cpus="$RAY_NUM_CPUS")
[ -n "${RAY_OBJECT_STORE_MEMORY:-}" ] && opts+=(--object-store-memory="$RAY_OBJECT_STORE_MEMORY")
[ -n "${RAY_TEMP_DIR:-}" ] && opts+=(--temp-dir="$RAY_TEMP_DIR")
reachable() { python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()' "$RAY_HEAD_ADDRESS" "$port" 2>/dev/null; }
attempt=0
while :; do
  elapsed=$(( $(date +%s) - start ))
  if [ "$elapsed" -ge "$timeout_s" ]; then
    echo "ERROR: could not join the Ray head at $head after ${timeout_s}s ($attempt join attempts): is the head running and reachable from $RAY_NODE_IP?" >&2
    exit 1
  fi
  if run "head check" reachable; then
    attempt=$(( attempt + 1 ))
    echo "joining the Ray head at $head from $RAY_NODE_IP (attempt $attempt)"
    rc=0; run "ray start" ray start "${opts[@]}" || rc=$?
    stop_children  # what is left of that Ray node, before the next attempt starts another
    echo "ray start exited with status $rc; retrying" >&2
  else
    echo "waiting: Ray head $head not reachable yet (${elapsed}s of ${timeout_s}s)"
  fi
  run "pause" sleep "$interval"
done
