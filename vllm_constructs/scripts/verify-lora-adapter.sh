# vllm-constructs: verify a downloaded PEFT LoRA adapter in $MODEL_DIR (adapter_config.json, adapter weights, no bias,
# every declared rank at most $LORA_MAX_RANK), then hand over to the shared checks, which need no config.json for it.
adapter_failed() { echo "ERROR: LoRA adapter in $MODEL_DIR is incomplete: $1" >&2; exit 1; }
adapter_config="$MODEL_DIR/adapter_config.json"
[ -s "$adapter_config" ] || adapter_failed "adapter_config.json is missing or empty (not a PEFT LoRA adapter)"
adapter_weights=()
for weight in adapter_model.safetensors adapter_model.bin adapter_model.pt; do
  if [ -e "$MODEL_DIR/$weight" ]; then adapter_weights+=("$MODEL_DIR/$weight"); fi
done
[ "${#adapter_weights[@]}" -gt 0 ] || adapter_failed "no adapter weights (adapter_model.safetensors, adapter_model.bin or adapter_model.pt)"
for weight in "${adapter_weights[@]}"; do [ -s "$weight" ] || adapter_failed "$(basename "$weight") is empty"; done
adapter_json=$(tr -d '\n\r' < "$adapter_config")
if grep -q '"bias"[[:space:]]*:' <<< "$adapter_json" && ! grep -q '"bias"[[:space:]]*:[[:space:]]*"none"' <<< "$adapter_json"; then
  adapter_failed 'adapter_config.json sets a bias other than "none", which vLLM cannot serve'
fi
# The ranks the adapter uses: "r" and every value of "rank_pattern"; vLLM refuses any above --max-lora-rank.
adapter_ranks=$(grep -o '"r"[[:space:]]*:[[:space:]]*[0-9][0-9]*' <<< "$adapter_json" | grep -o '[0-9]*$' || true)
if grep -q '"rank_pattern"[[:space:]]*:[[:space:]]*{' <<< "$adapter_json"; then
  pattern=$(sed 's/.*"rank_pattern"[[:space:]]*:[[:space:]]*{\([^}]*\)}.*/\1/' <<< "$adapter_json")
  adapter_ranks="$adapter_ranks $(grep -o ':[[:space:]]*[0-9][0-9]*' <<< "$pattern" | grep -o '[0-9]*$' || true)"
fi
[ -n "${adapter_ranks// /}" ] || adapter_failed 'adapter_config.json declares no rank ("r")'
for rank in $adapter_ranks; do
  if [ -n "${LORA_MAX_RANK:-}" ] && [ "$rank" -gt "$LORA_MAX_RANK" ]; then
    adapter_failed "adapter_config.json uses rank $rank, above the rank declared for it ($LORA_MAX_RANK); vLLM would refuse it at start"
  fi
done
echo "LoRA adapter checks passed in $MODEL_DIR (ranks: $(tr -s ' \n' ' ' <<< "$adapter_ranks" | sed 's/^ //;s/ $//'))"
ALLOW_NO_CONFIG=1
