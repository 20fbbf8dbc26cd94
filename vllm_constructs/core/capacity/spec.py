"""What the capacity plan needs to know about a model: :class:`ModelSpec`, read from a Hugging Face ``config.json``
(plus ``model.safetensors.index.json`` for the exact weight bytes) or given explicitly.

Only the shape of the network matters here: how many bytes of weights each accelerator holds and how many bytes of
KV cache each token costs. Pure: no network, no cdk8s.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from ...errors import ConfigError
from ..validation import fail, in_range, value_class

__all__ = ["ModelSpec", "load_model_config", "spec_from_hf_config"]

GIB = 2**30
Count = Annotated[int, in_range(1, 2**40)]
Size = Annotated[int, in_range(0, 2**40)]
WEIGHT_BITS = (32, 16, 8, 4)
GROUP_SIZE = 128
"""Weights per quantization group of 4-bit formats (AWQ, GPTQ): each group adds one 16-bit scale."""


@value_class(kw_only=True)
class ModelSpec:
    """The shape of a decoder-only transformer, enough to plan its accelerator memory.

    Example: ``ModelSpec(name="my-7b", hidden_size=4096, num_hidden_layers=32, num_attention_heads=32,
    num_key_value_heads=8, intermediate_size=14336, vocab_size=32000, max_position_embeddings=32768)``.
    """

    name: str
    """Display name (usually the Hugging Face repository id)."""
    hidden_size: Count
    num_hidden_layers: Count
    num_attention_heads: Count
    num_key_value_heads: Count
    """KV heads (grouped-query attention); equal to num_attention_heads without GQA."""
    intermediate_size: Count
    """MLP width of a dense layer (for a mixture of experts: of its dense layers, if any)."""
    vocab_size: Count
    max_position_embeddings: Count
    """The longest context the model supports; vLLM's max_model_len when none is given."""
    head_dim: Count | None = None
    """Default: hidden_size / num_attention_heads."""
    tie_word_embeddings: bool = False
    num_experts: Size = 0
    """Routed experts per MoE layer; 0 for a dense model."""
    experts_per_token: Size = 0
    moe_intermediate_size: Size = 0
    num_shared_experts: Size = 0
    first_dense_layers: Size = 0
    """Leading layers with a dense MLP in a mixture of experts (DeepSeek's first_k_dense_replace)."""
    kv_lora_rank: Size = 0
    """Multi-head latent attention (DeepSeek): the compressed KV width; its cache is not split by tensor parallel."""
    qk_rope_head_dim: Size = 0
    parameters: Annotated[int, in_range(1, 2**50)] | None = None
    """Total parameters as published (model card or safetensors metadata). Default: estimated from the shape."""
    weight_bytes: Annotated[int, in_range(1, 2**52)] | None = None
    """Exact bytes of the checkpoint's tensors (``metadata.total_size`` of model.safetensors.index.json). Default: estimated."""
    weight_bits: int = 16
    """Bits per weight of the checkpoint's linear layers (16 for bf16/fp16, 8 for FP8, 4 for AWQ/GPTQ)."""
    source: str = ""
    """Where the numbers come from (config.json URL at a revision, model card, local path)."""

    def __post_init__(self) -> None:
        if self.weight_bits not in WEIGHT_BITS:
            fail("weight_bits", self.weight_bits, "is not a supported weight width", "32, 16, 8 or 4", "use the checkpoint's bits")
        if self.kv_lora_rank == 0 and self.num_attention_heads % self.num_key_value_heads:
            fail(
                "num_key_value_heads",
                self.num_key_value_heads,
                f"does not divide num_attention_heads ({self.num_attention_heads})",
                "a divisor of num_attention_heads",
                "copy num_key_value_heads from config.json",
            )
        if self.num_experts and not 0 < self.experts_per_token <= self.num_experts:
            fail(
                "experts_per_token",
                self.experts_per_token,
                f"is not in 1..num_experts ({self.num_experts})",
                "1..num_experts",
                "copy num_experts_per_tok",
            )
        if self.num_experts and not self.moe_intermediate_size:
            fail("moe_intermediate_size", 0, "is missing for a mixture of experts", "the expert MLP width", "copy moe_intermediate_size")

    # ------------------------------------------------------------------------------------------- shape

    @property
    def attention_head_dim(self) -> int:
        return self.head_dim or self.hidden_size // self.num_attention_heads

    @property
    def embedding_parameters(self) -> int:
        """Input embedding plus the output head (once when tied)."""
        return self.vocab_size * self.hidden_size * (1 if self.tie_word_embeddings else 2)

    @property
    def active_intermediate(self) -> int:
        """MLP width one token passes through in a layer (experts per token x expert width for a mixture of experts)."""
        if self.num_experts:
            return (self.experts_per_token + self.num_shared_experts) * self.moe_intermediate_size
        return self.intermediate_size

    def estimated_parameters(self) -> int:
        """Parameters from the shape: attention, MLP (or experts and router), norms, embeddings."""
        h, d = self.hidden_size, self.attention_head_dim
        if self.kv_lora_rank:
            attention = h * (self.kv_lora_rank + self.qk_rope_head_dim) + self.num_attention_heads * d * h * 2
        else:
            attention = h * d * (2 * self.num_attention_heads + 2 * self.num_key_value_heads)
        dense_mlp = 3 * h * self.intermediate_size
        moe_mlp = 3 * h * self.moe_intermediate_size * (self.num_experts + self.num_shared_experts) + h * self.num_experts
        moe_layers = self.num_hidden_layers - self.first_dense_layers if self.num_experts else 0
        dense_layers = self.num_hidden_layers - moe_layers
        layers = self.num_hidden_layers * (attention + 2 * h) + dense_layers * dense_mlp + moe_layers * moe_mlp
        return layers + self.embedding_parameters + h

    @property
    def total_parameters(self) -> int:
        return self.parameters or self.estimated_parameters()

    def weight_bytes_at(self, bits: int | None = None) -> int:
        """Bytes of all weights: exact when the checkpoint's size is known at its own width, else embeddings at 16
        bits and the rest at ``bits`` (4-bit formats add one 16-bit scale per group of 128 weights)."""
        bits = bits or self.weight_bits
        if self.weight_bytes is not None and bits == self.weight_bits:
            return self.weight_bytes
        embeddings = self.embedding_parameters
        rest = max(self.total_parameters - embeddings, 0)
        per_weight = bits / 8 + (2 / GROUP_SIZE if bits < 8 else 0)
        return int(embeddings * 2 + rest * per_weight)

    def kv_bytes_per_token(self, *, tensor_parallel: int = 1, pipeline_parallel: int = 1, kv_bytes: int = 2) -> int:
        """KV-cache bytes one token costs on one accelerator: layers / PP x KV heads / TP (at least one head: replicated
        when TP exceeds the KV heads) x head dim x 2 (K and V) x the cache dtype's bytes. Latent attention caches one
        compressed vector per layer on every rank."""
        layers = math.ceil(self.num_hidden_layers / pipeline_parallel)
        if self.kv_lora_rank:
            return layers * (self.kv_lora_rank + self.qk_rope_head_dim) * kv_bytes
        heads = max(1, self.num_key_value_heads // tensor_parallel)
        return layers * heads * self.attention_head_dim * 2 * kv_bytes


# ------------------------------------------------------------------------------------------------ config.json

_EXPERT_KEYS = ("num_local_experts", "num_experts", "n_routed_experts")


def _get(config: Mapping[str, Any], *keys: str, default: Any = None) -> Any:
    for key in keys:
        if config.get(key) is not None:
            return config[key]
    return default


def _bits(config: Mapping[str, Any]) -> int:
    quant = config.get("quantization_config") or {}
    method = str(quant.get("quant_method", "")).lower()
    if method == "fp8" or "fp8" in str(quant.get("fmt", "")).lower():
        return 8
    if isinstance(quant.get("bits"), int):
        return int(quant["bits"])
    for group in (quant.get("config_groups") or {}).values():
        weights = (group or {}).get("weights") or {}
        if isinstance(weights.get("num_bits"), int):
            return int(weights["num_bits"])
    dtype = str(_get(config, "torch_dtype", "dtype", default="bfloat16"))
    return 32 if dtype == "float32" else 16


def _head_dim(cfg: Mapping[str, Any]) -> int | None:
    if cfg.get("kv_lora_rank"):  # latent attention: query/key head = no-position part + rotary part
        return int(cfg.get("qk_nope_head_dim", 0)) + int(cfg.get("qk_rope_head_dim", 0)) or None
    value = cfg.get("head_dim")
    return int(value) if isinstance(value, int) else None


def spec_from_hf_config(config: Mapping[str, Any], *, name: str, index: Mapping[str, Any] | None = None, source: str = "") -> ModelSpec:
    """A ModelSpec from a Hugging Face ``config.json`` (its ``text_config`` for multimodal models) and, when given,
    ``model.safetensors.index.json`` (exact weight bytes). Raises ConfigError naming the missing key."""
    text = config.get("text_config") if isinstance(config.get("text_config"), Mapping) else None
    cfg: Mapping[str, Any] = {**config, **text} if text else config
    required = ("hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size")
    missing = [k for k in required if not isinstance(cfg.get(k), int)]
    if missing:
        raise ConfigError(
            path=source or name,
            field=missing[0],
            value=cfg.get(missing[0]),
            problem="is missing or not an integer in config.json",
            allowed="a decoder-only transformer config with " + ", ".join(required),
            fix="pass an explicit ModelSpec instead",
        )
    experts = int(_get(cfg, *_EXPERT_KEYS, default=0) or 0)
    total = (index or {}).get("metadata", {}).get("total_size")
    return ModelSpec(
        name=name,
        hidden_size=cfg["hidden_size"],
        num_hidden_layers=cfg["num_hidden_layers"],
        num_attention_heads=cfg["num_attention_heads"],
        num_key_value_heads=int(_get(cfg, "num_key_value_heads", default=cfg["num_attention_heads"])),
        intermediate_size=int(_get(cfg, "intermediate_size", "ffn_dim", default=4 * cfg["hidden_size"])),
        vocab_size=cfg["vocab_size"],
        max_position_embeddings=int(_get(cfg, "max_position_embeddings", "max_sequence_length", default=2048)),
        head_dim=_head_dim(cfg),
        tie_word_embeddings=bool(cfg.get("tie_word_embeddings", False)),
        num_experts=experts,
        experts_per_token=int(cfg.get("num_experts_per_tok") or 0) if experts else 0,
        moe_intermediate_size=int(_get(cfg, "moe_intermediate_size", default=cfg.get("intermediate_size", 0)) or 0) if experts else 0,
        num_shared_experts=int(cfg.get("n_shared_experts") or 0),
        first_dense_layers=int(cfg.get("first_k_dense_replace") or 0),
        kv_lora_rank=int(cfg.get("kv_lora_rank") or 0),
        qk_rope_head_dim=int(cfg.get("qk_rope_head_dim") or 0) if cfg.get("kv_lora_rank") else 0,
        weight_bytes=int(total) if isinstance(total, int) and total > 0 else None,
        weight_bits=_bits(cfg),
        source=source,
    )


def load_model_config(path: str | Path) -> ModelSpec:
    """A ModelSpec from a local ``config.json`` (or a folder holding it), with ``model.safetensors.index.json`` beside
    it when present. Raises ConfigError for a missing or unreadable file."""
    given = Path(path)
    config_path = given / "config.json" if given.is_dir() else given
    try:
        config = json.loads(config_path.read_text())
        index_path = config_path.with_name("model.safetensors.index.json")
        index = json.loads(index_path.read_text()) if index_path.is_file() else None
    except (OSError, ValueError) as err:
        raise ConfigError(
            path=str(config_path), field="(file)", value=str(config_path), problem=f"cannot be read as JSON ({type(err).__name__}: {err})",
            allowed="a Hugging Face config.json", fix="point at the model folder or its config.json",
        ) from None  # fmt: skip
    if not isinstance(config, Mapping):
        raise ConfigError(
            path=str(config_path),
            field="(file)",
            value=type(config).__name__,
            problem="is not a JSON object",
            allowed="a Hugging Face config.json",
            fix="point at the model's config.json",
        )
    name = str(config.get("_name_or_path") or config_path.parent.name or "model")
    return spec_from_hf_config(config, name=name, index=index if isinstance(index, Mapping) else None, source=str(config_path))
