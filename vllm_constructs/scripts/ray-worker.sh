# vllm-constructs: Ray worker of a multi-node vLLM server.
# Waits (bounded) until the head's Ray port answers, then joins with `ray start --block`, retrying
# until it joins; stays in the foreground while the node is part of the cluster.
# Inputs (env): RAY_HEAD_ADDRESS (host of the head; default LWS_LEADER_ADDRESS), RAY_NODE_IP (this node's address), RAY_PORT (6379),
#   RAY_NUM_GPUS, RAY_NUM_CPUS, RAY_OBJECT_STORE_MEMORY, RAY_TEMP_DIR (optional),
#   RAY_CLUSTER_TIMEOUT_SECONDS (600), RAY_POLL_INTERVAL_SECONDS (5).
set -euo pipefail
# On LeaderWorkerSet the head is the group's leader, whose address LWS injects as LWS_LEADER_ADDRESS.
RAY_HEAD_ADDRESS="${RAY_HEAD_ADDRESS:-${LWS_LEADER_ADDRESS:-}}"
: "${RAY_HEAD_ADDRESS:?neither RAY_HEAD_ADDRESS nor LWS_LEADER_ADDRESS is set}" "${RAY_NODE_IP:?RAY_NODE_IP is not set}"
port="${RAY_PORT:-6379}"; timeout_s="${RAY_CLUSTER_TIMEOUT_SECONDS:-600}"; interval="${RAY_POLL_INTERVAL_SECONDS:-5}"
head="$RAY_HEAD_ADDRESS:$port"
start=$(date +%s)
opts=(--address="$head" --node-ip-address="$RAY_NODE_IP" --disable-usage-stats --block)
[ -n "${RAY_NUM_GPUS:-}" ] && opts+=(--num-gpus="$RAY_NUM_GPUS")
[ -n "${RAY_NUM_CPUS:-}" ] && opts+=(--num-cpus="$RAY_NUM_CPUS")
[ -n "${RAY_OBJECT_STORE_MEMORY:-}" ] && opts+=(--object-store-memory="$RAY_OBJECT_STORE_MEMORY")
[ -n "${RAY_TEMP_DIR:-}" ] && opts+=(--temp-dir="$RAY_TEMP_DIR")
child=""
stop() { if [ -n "$child" ]; then kill -INT "$child" 2>/dev/null || true; wait "$child" 2>/dev/null || true; fi; exit 0; }
trap stop TERM INT
reachable() { python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()' "$RAY_HEAD_ADDRESS" "$port" 2>/dev/null; }
attempt=0
while :; do
  elapsed=$(( $(date +%s) - start ))
  if [ "$elapsed" -ge "$timeout_s" ]; then
    echo "ERROR: could not join the Ray head at $head after ${timeout_s}s ($attempt join attempts): is the head running and reachable from $RAY_NODE_IP?" >&2
    exit 1
  fi
  if reachable; then
    attempt=$(( attempt + 1 ))
    echo "joining the Ray head at $head from $RAY_NODE_IP (attempt $attempt)"
    # A background job of a non-interactive shell ignores SIGINT; reset it so `ray start` stops on INT.
    ( trap - INT; exec ray start "${opts[@]}" ) & child=$!
    rc=0; wait "$child" || rc=$?
    child=""
    echo "ray start exited with status $rc; retrying" >&2
  else
    echo "waiting: Ray head $head not reachable yet (${elapsed}s of ${timeout_s}s)"
  fi
  sleep "$interval"
done
