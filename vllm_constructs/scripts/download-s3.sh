# vllm-constructs: download a model from S3-compatible storage into $MODEL_DIR, verify it, mark it complete.
# Inputs (env): MODEL_DIR, SOURCE_URI, REVISION, S3_BUCKET_NAME, S3_PATH, optional S3_ENDPOINT_URL,
# CHECKSUM_FILE, DOWNLOAD_TIMEOUT_SECONDS; credentials come from the AWS_* variables.
set -euo pipefail
: "${MODEL_DIR:?MODEL_DIR is not set}" "${SOURCE_URI:?SOURCE_URI is not set}" "${REVISION:?REVISION is not set}"
: "${S3_BUCKET_NAME:?S3_BUCKET_NAME is not set (secret key s3bucketname or bucket=)}"
: "${S3_PATH:?S3_PATH is not set: an empty path would copy the whole bucket}"
marker="$MODEL_DIR/.vllm-constructs-complete"
expected="source=$SOURCE_URI revision=$REVISION"
if [ -f "$marker" ] && [ "$(cat "$marker")" = "$expected" ]; then
  echo "model already complete in $MODEL_DIR ($expected)"; exit 0
fi
rm -f "$marker"
mkdir -p "$MODEL_DIR"
endpoint=()
if [ -n "${S3_ENDPOINT_URL:-}" ]; then endpoint=(--endpoint-url "$S3_ENDPOINT_URL"); fi
prefix="${S3_PATH#/}"; prefix="${prefix%/}/"
echo "listing s3://$S3_BUCKET_NAME/$prefix"
# 'aws s3 sync' exits 0 on a missing prefix, so list first: this fails on bad credentials,
# a missing bucket, and (exit 1) on a prefix with no objects.
if ! listing=$(timeout "${DOWNLOAD_TIMEOUT_SECONDS:-3600}" aws "${endpoint[@]}" s3 ls --recursive "s3://$S3_BUCKET_NAME/$prefix"); then
  echo "ERROR: cannot list s3://$S3_BUCKET_NAME/$prefix (credentials, endpoint, bucket or path is wrong, or the prefix is empty)" >&2
  exit 1
fi
if [ -z "$listing" ]; then
  echo "ERROR: s3://$S3_BUCKET_NAME/$prefix holds no objects" >&2; exit 1
fi
timeout "${DOWNLOAD_TIMEOUT_SECONDS:-3600}" aws "${endpoint[@]}" s3 sync --only-show-errors "s3://$S3_BUCKET_NAME/$prefix" "$MODEL_DIR"
