"""A built-in catalog of popular models' shapes, so that ``ModelSource.huggingface("meta-llama/Llama-3.1-8B-Instruct",
...)`` is planned without any extra prop.

Every entry names where its numbers come from: the model's ``config.json`` on the Hugging Face Hub (shape) and its
model card or the Hub's safetensors metadata (parameter count). Quantized checkpoints that keep the base model's
shape are matched by the base entry plus their own ``weight_bits`` (see :func:`spec_for`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from ..model import HuggingFaceModel, ModelSource
from .spec import ModelSpec

__all__ = ["CATALOG", "catalog_names", "spec_for", "spec_for_repo"]


def _hub(repo: str, revision: str = "main") -> str:
    return (
        f"https://huggingface.co/{repo}/blob/{revision}/config.json (shape); parameter count from the model card / Hub safetensors metadata"
    )


def _dense(repo: str, h: int, layers: int, heads: int, kv: int, inter: int, vocab: int, ctx: int, params: int, **more: object) -> ModelSpec:
    revision = str(more.pop("revision", "main"))
    return ModelSpec(
        name=repo,
        hidden_size=h,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv,
        intermediate_size=inter,
        vocab_size=vocab,
        max_position_embeddings=ctx,
        parameters=params,
        source=_hub(repo, revision),
        **more,  # type: ignore[arg-type]
    )


def _moe(
    repo: str,
    h: int,
    layers: int,
    heads: int,
    kv: int,
    experts: int,
    top: int,
    moe_inter: int,
    vocab: int,
    ctx: int,
    params: int,
    **more: object,
) -> ModelSpec:
    dense_width = more.pop("intermediate_size", moe_inter)
    assert isinstance(dense_width, int)
    return _dense(
        repo,
        h,
        layers,
        heads,
        kv,
        dense_width,
        vocab,
        ctx,
        params,
        num_experts=experts,
        experts_per_token=top,
        moe_intermediate_size=moe_inter,
        **more,
    )


_LLAMA31_8B = "0e9e39f249a16976918f6564b8830bc894c89659"
_LLAMA31_70B = "1605565b47bb9346c5515c34102e054115b4f98b"
_LLAMA31_405B = "069992c75aed59df00ec06c17177e76c63296a26"

_ENTRIES: tuple[tuple[tuple[str, ...], ModelSpec], ...] = (
    # Llama 2 (4k context, no GQA on 7B)
    (
        ("meta-llama/Llama-2-7b-hf", "meta-llama/Llama-2-7b-chat-hf"),
        _dense("meta-llama/Llama-2-7b-hf", 4096, 32, 32, 32, 11008, 32000, 4096, 6_738_415_616),
    ),
    (
        ("meta-llama/Llama-2-70b-hf", "meta-llama/Llama-2-70b-chat-hf"),
        _dense("meta-llama/Llama-2-70b-hf", 8192, 80, 64, 8, 28672, 32000, 4096, 68_976_648_192),
    ),
    # Llama 3.1 / 3.3 (128k context)
    (
        (
            "meta-llama/Llama-3.1-8B-Instruct",
            "meta-llama/Llama-3.1-8B",
            "meta-llama/Meta-Llama-3.1-8B-Instruct",
            "meta-llama/Meta-Llama-3.1-8B",
        ),
        _dense("meta-llama/Llama-3.1-8B-Instruct", 4096, 32, 32, 8, 14336, 128256, 131072, 8_030_261_248, revision=_LLAMA31_8B),
    ),
    (
        (
            "meta-llama/Llama-3.1-70B-Instruct",
            "meta-llama/Llama-3.1-70B",
            "meta-llama/Meta-Llama-3.1-70B-Instruct",
            "meta-llama/Meta-Llama-3.1-70B",
        ),
        _dense("meta-llama/Llama-3.1-70B-Instruct", 8192, 80, 64, 8, 28672, 128256, 131072, 70_553_706_496, revision=_LLAMA31_70B),
    ),
    (
        (
            "meta-llama/Llama-3.1-405B-Instruct",
            "meta-llama/Llama-3.1-405B",
            "meta-llama/Meta-Llama-3.1-405B-Instruct",
            "meta-llama/Meta-Llama-3.1-405B",
        ),
        _dense("meta-llama/Llama-3.1-405B-Instruct", 16384, 126, 128, 8, 53248, 128256, 131072, 405_853_388_800, revision=_LLAMA31_405B),
    ),
    (
        ("meta-llama/Llama-3.3-70B-Instruct",),
        _dense("meta-llama/Llama-3.3-70B-Instruct", 8192, 80, 64, 8, 28672, 128256, 131072, 70_553_706_496),
    ),
    # Qwen2.5 (Instruct configs: 32k native context, q/k/v biases)
    (
        ("Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-7B"),
        _dense("Qwen/Qwen2.5-7B-Instruct", 3584, 28, 28, 4, 18944, 152064, 32768, 7_615_616_512),
    ),
    (
        ("Qwen/Qwen2.5-14B-Instruct", "Qwen/Qwen2.5-14B"),
        _dense("Qwen/Qwen2.5-14B-Instruct", 5120, 48, 40, 8, 13824, 152064, 32768, 14_770_033_664),
    ),
    (
        ("Qwen/Qwen2.5-32B-Instruct", "Qwen/Qwen2.5-32B"),
        _dense("Qwen/Qwen2.5-32B-Instruct", 5120, 64, 40, 8, 27648, 152064, 32768, 32_763_876_352),
    ),
    (
        ("Qwen/Qwen2.5-72B-Instruct", "Qwen/Qwen2.5-72B"),
        _dense("Qwen/Qwen2.5-72B-Instruct", 8192, 80, 64, 8, 29568, 152064, 32768, 72_706_203_648),
    ),
    # Qwen3 (head_dim 128 regardless of hidden size)
    (("Qwen/Qwen3-8B",), _dense("Qwen/Qwen3-8B", 4096, 36, 32, 8, 12288, 151936, 40960, 8_190_735_360, head_dim=128)),
    (("Qwen/Qwen3-14B",), _dense("Qwen/Qwen3-14B", 5120, 40, 40, 8, 17408, 151936, 40960, 14_768_307_200, head_dim=128)),
    (("Qwen/Qwen3-32B",), _dense("Qwen/Qwen3-32B", 5120, 64, 64, 8, 25600, 151936, 40960, 32_762_123_264, head_dim=128)),
    (
        ("Qwen/Qwen3-30B-A3B", "Qwen/Qwen3-30B-A3B-Instruct-2507"),
        _moe("Qwen/Qwen3-30B-A3B", 2048, 48, 32, 4, 128, 8, 768, 151936, 40960, 30_532_122_624, head_dim=128, intermediate_size=6144),
    ),
    (
        ("Qwen/Qwen3-235B-A22B", "Qwen/Qwen3-235B-A22B-Instruct-2507"),
        _moe("Qwen/Qwen3-235B-A22B", 4096, 94, 64, 4, 128, 8, 1536, 151936, 40960, 235_093_634_560, head_dim=128, intermediate_size=12288),
    ),
    # Mistral / Mixtral
    (
        ("mistralai/Mistral-7B-Instruct-v0.3", "mistralai/Mistral-7B-v0.3"),
        _dense("mistralai/Mistral-7B-Instruct-v0.3", 4096, 32, 32, 8, 14336, 32768, 32768, 7_248_023_552),
    ),
    (
        ("mistralai/Mistral-7B-v0.1", "mistralai/Mistral-7B-Instruct-v0.1", "mistralai/Mistral-7B-Instruct-v0.2"),
        _dense("mistralai/Mistral-7B-v0.1", 4096, 32, 32, 8, 14336, 32000, 32768, 7_241_732_096),
    ),
    (
        ("mistralai/Mixtral-8x7B-Instruct-v0.1", "mistralai/Mixtral-8x7B-v0.1"),
        _moe("mistralai/Mixtral-8x7B-Instruct-v0.1", 4096, 32, 32, 8, 8, 2, 14336, 32000, 32768, 46_702_792_704),
    ),
    (
        ("mistralai/Mixtral-8x22B-Instruct-v0.1",),
        _moe("mistralai/Mixtral-8x22B-Instruct-v0.1", 6144, 56, 48, 8, 8, 2, 16384, 32768, 65536, 140_630_071_296),
    ),
    (("mistralai/Mixtral-8x22B-v0.1",), _moe("mistralai/Mixtral-8x22B-v0.1", 6144, 56, 48, 8, 8, 2, 16384, 32000, 65536, 140_620_634_112)),
    # DeepSeek-R1 (MLA + MoE, FP8 checkpoint) and its distills (Llama / Qwen2.5 shapes, 128k context)
    (
        ("deepseek-ai/DeepSeek-R1", "deepseek-ai/DeepSeek-R1-0528", "deepseek-ai/DeepSeek-V3"),
        _moe(
            "deepseek-ai/DeepSeek-R1",
            7168,
            61,
            128,
            128,
            256,
            8,
            2048,
            129280,
            163840,
            671_000_000_000,
            intermediate_size=18432,
            num_shared_experts=1,
            first_dense_layers=3,
            kv_lora_rank=512,
            qk_rope_head_dim=64,
            head_dim=192,
            weight_bits=8,
        ),
    ),
    (
        ("deepseek-ai/DeepSeek-R1-Distill-Llama-8B",),
        _dense("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", 4096, 32, 32, 8, 14336, 128256, 131072, 8_030_261_248),
    ),
    (
        ("deepseek-ai/DeepSeek-R1-Distill-Llama-70B",),
        _dense("deepseek-ai/DeepSeek-R1-Distill-Llama-70B", 8192, 80, 64, 8, 28672, 128256, 131072, 70_553_706_496),
    ),
    (
        ("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",),
        _dense("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", 1536, 28, 12, 2, 8960, 151936, 131072, 1_777_088_000),
    ),
    (
        ("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",),
        _dense("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", 3584, 28, 28, 4, 18944, 152064, 131072, 7_615_616_512),
    ),
    (
        ("deepseek-ai/DeepSeek-R1-Distill-Qwen-14B",),
        _dense("deepseek-ai/DeepSeek-R1-Distill-Qwen-14B", 5120, 48, 40, 8, 13824, 152064, 131072, 14_770_033_664),
    ),
    (
        ("deepseek-ai/DeepSeek-R1-Distill-Qwen-32B",),
        _dense("deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", 5120, 64, 40, 8, 27648, 152064, 131072, 32_763_876_352),
    ),
    # Gemma 2 (tied embeddings, wide heads) and Phi
    (
        ("google/gemma-2-9b-it", "google/gemma-2-9b"),
        _dense("google/gemma-2-9b-it", 3584, 42, 16, 8, 14336, 256000, 8192, 9_241_705_984, head_dim=256, tie_word_embeddings=True),
    ),
    (
        ("google/gemma-2-27b-it", "google/gemma-2-27b"),
        _dense("google/gemma-2-27b-it", 4608, 46, 32, 16, 36864, 256000, 8192, 27_227_128_320, head_dim=128, tie_word_embeddings=True),
    ),
    (("microsoft/phi-4",), _dense("microsoft/phi-4", 5120, 40, 40, 10, 17920, 100352, 16384, 14_659_507_200)),
    (("microsoft/Phi-3-mini-4k-instruct",), _dense("microsoft/Phi-3-mini-4k-instruct", 3072, 32, 32, 32, 8192, 32064, 4096, 3_821_079_552)),
    (
        ("microsoft/Phi-3-mini-128k-instruct",),
        _dense("microsoft/Phi-3-mini-128k-instruct", 3072, 32, 32, 32, 8192, 32064, 131072, 3_821_079_552),
    ),
)

CATALOG: Mapping[str, ModelSpec] = MappingProxyType({repo.lower(): spec for repos, spec in _ENTRIES for repo in repos})
"""Repository id (lower case) -> shape."""

_QUANT_SUFFIX = re.compile(r"[-_.](fp8(-dynamic)?|awq|gptq(-int4)?|int4|int8|w4a16|w8a8|w8a16)$", re.IGNORECASE)
_SUFFIX_BITS = {"fp8": 8, "int8": 8, "w8a8": 8, "w8a16": 8}


def catalog_names() -> Iterable[str]:
    """Every catalog repository id, as the catalog spells it."""
    return [repo for repos, _ in _ENTRIES for repo in repos]


def spec_for_repo(repo_id: str) -> ModelSpec | None:
    """The shape of a catalog model by repository id (case-insensitive). A quantized copy named ``<base>-FP8``,
    ``-AWQ``, ``-GPTQ``, ``-INT4``, ``-W4A16``, ... under any owner maps to its base entry with its weight width."""
    key = repo_id.lower()
    if key in CATALOG:
        return CATALOG[key]
    match = _QUANT_SUFFIX.search(key)
    if not match:
        return None
    base_name = key[: match.start()].rsplit("/", 1)[-1]
    for name, spec in CATALOG.items():
        if name.rsplit("/", 1)[-1] == base_name:
            bits = _SUFFIX_BITS.get(match.group(1).split("-")[0].lower(), 4)
            return dataclasses.replace(
                spec, name=repo_id, weight_bits=bits, weight_bytes=None, source=f"{spec.source}; {bits}-bit copy {repo_id}"
            )
    return None


def spec_for(source: ModelSource) -> ModelSpec | None:
    """The catalog shape of a model source: a Hugging Face repository the catalog knows, else None (plan what is known)."""
    if isinstance(source, HuggingFaceModel):
        return spec_for_repo(source.repo_id)
    return None
