# vllm-constructs: download a model from the Hugging Face Hub into $MODEL_DIR, verify it, mark it complete.
# Inputs (env): MODEL_DIR, SOURCE_URI, REVISION, HF_REPO_ID, optional HF_INCLUDE / HF_EXCLUDE
# (newline-separated patterns), CHECKSUM_FILE, DOWNLOAD_TIMEOUT_SECONDS; the token comes from the file HF_TOKEN_PATH names (or HF_TOKEN).
set -euo pipefail
: "${MODEL_DIR:?MODEL_DIR is not set}" "${SOURCE_URI:?SOURCE_URI is not set}" "${REVISION:?REVISION is not set}"
: "${HF_REPO_ID:?HF_REPO_ID is not set}"
limit="${DOWNLOAD_TIMEOUT_SECONDS:-3600}"
marker="$MODEL_DIR/.vllm-constructs-complete"
expected="source=$SOURCE_URI revision=$REVISION"
if [ -f "$marker" ] && [ "$(cat "$marker")" = "$expected" ]; then
  echo "model already complete in $MODEL_DIR ($expected)"; exit 0
fi
rm -f "$marker"
mkdir -p "$MODEL_DIR"
filters=()
while IFS= read -r pattern; do if [ -n "$pattern" ]; then filters+=(--include "$pattern"); fi; done <<< "${HF_INCLUDE:-}"
while IFS= read -r pattern; do if [ -n "$pattern" ]; then filters+=(--exclude "$pattern"); fi; done <<< "${HF_EXCLUDE:-}"
echo "downloading $HF_REPO_ID@$REVISION"
rc=0
timeout --kill-after=30 "$limit" hf download "$HF_REPO_ID" --revision "$REVISION" --local-dir "$MODEL_DIR" --quiet "${filters[@]}" || rc=$?
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  echo "ERROR: hf download of $HF_REPO_ID@$REVISION timed out after ${limit}s (DOWNLOAD_TIMEOUT_SECONDS)" >&2; exit 1
fi
if [ "$rc" -ne 0 ]; then
  echo "ERROR: hf download of $HF_REPO_ID@$REVISION failed (exit $rc): check the repository id, the revision and the token (the Secret behind HF_TOKEN_PATH) for gated models" >&2
  exit 1
fi
