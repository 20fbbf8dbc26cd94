# vllm-constructs: verify a downloaded model in $MODEL_DIR, then write the completion marker (only on success).
verify_failed() { echo "ERROR: model in $MODEL_DIR is incomplete: $1" >&2; exit 1; }
[ -n "$(ls -A "$MODEL_DIR" 2>/dev/null)" ] || verify_failed "the directory is empty"
[ -f "$MODEL_DIR/config.json" ] || [ -n "${ALLOW_NO_CONFIG:-}" ] || verify_failed "config.json is missing"
shopt -s nullglob
weights=("$MODEL_DIR"/*.safetensors "$MODEL_DIR"/*.bin "$MODEL_DIR"/*.pt "$MODEL_DIR"/*.pth "$MODEL_DIR"/*.gguf)
[ "${#weights[@]}" -gt 0 ] || verify_failed "no weight files (*.safetensors, *.bin, *.pt, *.pth, *.gguf)"
for index in "$MODEL_DIR"/*.safetensors.index.json; do
  for shard in $(grep -o '"[^"]*\.safetensors"' "$index" | tr -d '"' | sort -u); do
    [ -s "$MODEL_DIR/$shard" ] || verify_failed "shard $shard listed in $(basename "$index") is missing or empty"
  done
done
for weight in "${weights[@]}"; do [ -s "$weight" ] || verify_failed "$(basename "$weight") is empty"; done
if [ -n "${CHECKSUM_FILE:-}" ]; then
  [ -f "$MODEL_DIR/$CHECKSUM_FILE" ] || verify_failed "checksum file $CHECKSUM_FILE is missing"
  (cd "$MODEL_DIR" && sha256sum --check --strict --quiet "$CHECKSUM_FILE") || verify_failed "checksums in $CHECKSUM_FILE do not match"
fi
printf '%s' "$expected" > "$marker.tmp"
mv -f "$marker.tmp" "$marker"
echo "model complete in $MODEL_DIR ($expected)"
