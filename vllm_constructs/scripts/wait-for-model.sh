# vllm-constructs: wait (bounded) until $MODEL_DIR carries the completion marker of the expected source and revision.
# Inputs (env): MODEL_DIR, SOURCE_URI, REVISION, WAIT_TIMEOUT_SECONDS, WAIT_INTERVAL_SECONDS.
set -euo pipefail
: "${MODEL_DIR:?MODEL_DIR is not set}" "${SOURCE_URI:?SOURCE_URI is not set}" "${REVISION:?REVISION is not set}"
marker="$MODEL_DIR/.vllm-constructs-complete"
expected="source=$SOURCE_URI revision=$REVISION"
timeout_s="${WAIT_TIMEOUT_SECONDS:-3600}"; interval="${WAIT_INTERVAL_SECONDS:-10}"
start=$(date +%s)
while :; do
  if [ -f "$marker" ]; then
    found="$(cat "$marker")"
    if [ "$found" = "$expected" ]; then echo "model ready in $MODEL_DIR ($expected)"; exit 0; fi
    echo "waiting: marker in $MODEL_DIR says '$found', expected '$expected'"
  else
    echo "waiting: no completion marker in $MODEL_DIR yet"
  fi
  if [ $(( $(date +%s) - start )) -ge "$timeout_s" ]; then
    if [ -f "$marker" ]; then
      echo "ERROR: after ${timeout_s}s the model in $MODEL_DIR is '$(cat "$marker")', expected '$expected': the download Job did not fetch this revision (check the Job's logs)" >&2
    else
      echo "ERROR: after ${timeout_s}s no completion marker for '$expected' in $MODEL_DIR: the download Job failed or has not run (check the Job's logs)" >&2
    fi
    exit 1
  fi
  sleep "$interval"
done
