# vllm-constructs: download a model from S3-compatible storage into $MODEL_DIR, verify it, mark it complete.
# Inputs (env): MODEL_DIR, SOURCE_URI, REVISION, S3_BUCKET_NAME, S3_PATH, optional S3_ENDPOINT_URL,
# CHECKSUM_FILE, DOWNLOAD_TIMEOUT_SECONDS; credentials come from the AWS_* variables.
set -euo pipefail
: "${MODEL_DIR:?MODEL_DIR is not set}" "${SOURCE_URI:?SOURCE_URI is not set}" "${REVISION:?REVISION is not set}"
: "${S3_BUCKET_NAME:?S3_BUCKET_NAME is not set (secret key s3bucketname or bucket=)}"
: "${S3_PATH:?S3_PATH is not set: an empty path would copy the whole bucket}"
limit="${DOWNLOAD_TIMEOUT_SECONDS:-3600}"
deadline=$(( $(date +%s) + limit ))
# bounded WHAT HINT COMMAND...: run COMMAND within what is left of the download timeout; on failure say
# what failed and why on stderr, then stop.
bounded() {
  local what="$1" hint="$2" rc=0 left
  shift 2
  left=$(( deadline - $(date +%s) ))
  if [ "$left" -gt 0 ]; then timeout --kill-after=30 "$left" "$@" || rc=$?; else rc=124; fi
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "ERROR: $what timed out: the download took longer than DOWNLOAD_TIMEOUT_SECONDS=${limit}s" >&2; exit 1
  fi
  if [ "$rc" -ne 0 ]; then echo "ERROR: $what failed (exit $rc): $hint" >&2; exit 1; fi
}
marker="$MODEL_DIR/.vllm-constructs-complete"
expected="source=$SOURCE_URI revision=$REVISION"
if [ -f "$marker" ] && [ "$(cat "$marker")" = "$expected" ]; then
  echo "model already complete in $MODEL_DIR ($expected)"; exit 0
fi
prefix="$S3_PATH"
while [ "${prefix#/}" != "$prefix" ]; do prefix="${prefix#/}"; done
while [ "${prefix%/}" != "$prefix" ]; do prefix="${prefix%/}"; done
if [ -z "$prefix" ]; then
  echo "ERROR: S3_PATH='$S3_PATH' is the bucket root: the download would copy the whole bucket; give the model's folder" >&2; exit 1
fi
prefix="$prefix/"
rm -f "$marker"
mkdir -p "$MODEL_DIR"
endpoint=()
if [ -n "${S3_ENDPOINT_URL:-}" ]; then endpoint=(--endpoint-url "$S3_ENDPOINT_URL"); fi
url="s3://$S3_BUCKET_NAME/$prefix"
echo "listing $url"
# 'aws s3 sync' exits 0 on a missing prefix, so list first: this fails on bad credentials,
# a missing bucket, and (exit 1) on a prefix with no objects.
listing=$(bounded "listing $url" "the credentials, endpoint, bucket or path is wrong, or the prefix holds no objects" \
  aws "${endpoint[@]}" s3 ls --recursive "$url") || exit 1
if [ -z "$listing" ]; then
  echo "ERROR: $url holds no objects" >&2; exit 1
fi
bounded "copying $url to $MODEL_DIR" "see the aws error above" \
  aws "${endpoint[@]}" s3 sync --only-show-errors "$url" "$MODEL_DIR"
