"""The memory plan of one vLLM engine on one accelerator: weights, overhead, KV-cache budget, tokens, concurrency.

The overhead model (one model for every model and accelerator; docs/capacity.md explains it and
tests/data/capacity-calibration.yaml checks it against vLLM's own startup logs):

    requested    = accelerator memory x gpu_memory_utilization
    weights      = the largest pipeline stage's weights / tensor_parallel_size
    activation   = max(forward, sampler)
      forward    = max_num_batched_tokens x 2 bytes x (3 x hidden + 3 x active MLP width / TP + experts per token x hidden)
      sampler    = max_num_seqs x vocab x 4 bytes x 2          (fp32 logits and one softmax copy)
    runtime      = 0.4 GiB                                      (CUDA/NCCL/cuBLAS memory outside PyTorch's allocator)
    KV budget    = requested - weights - activation - runtime
    KV tokens    = KV budget / KV bytes per token, in whole blocks of 16 tokens

vLLM refuses to start when the budget is not positive ("No available memory for the cache blocks") or holds fewer
tokens than max_model_len; weights above the requested memory fail at load (CUDA out of memory).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .accelerators import GIB
from .spec import ModelSpec

__all__ = ["BLOCK_TOKENS", "DEFAULT_UTILIZATION", "RUNTIME_BYTES", "EngineInputs", "EnginePlan", "plan_engine"]

DEFAULT_UTILIZATION = 0.92
"""vLLM's default gpu_memory_utilization in the image this library pins (see EngineArgs)."""
RUNTIME_BYTES = int(0.4 * GIB)
BLOCK_TOKENS = 16
SMALL_GPU_DEFAULTS = (2048, 256)
LARGE_GPU_DEFAULTS = (8192, 1024)
"""(max_num_batched_tokens, max_num_seqs) ``vllm serve`` picks by accelerator class when unset."""


@dataclass(frozen=True, slots=True)
class EngineInputs:
    """The engine settings the plan reads (from EngineArgs, or from the command line)."""

    tensor_parallel: int = 1
    pipeline_parallel: int = 1
    data_parallel: int = 1
    max_model_len: int | None = None
    """None: the model's max_position_embeddings, as vLLM does."""
    gpu_memory_utilization: float = DEFAULT_UTILIZATION
    kv_bytes: int = 2
    """Bytes per KV element: 2 for the model's 16-bit dtype ('auto'), 1 for fp8."""
    weight_bits: int | None = None
    """None: the checkpoint's width."""
    max_num_batched_tokens: int | None = None
    max_num_seqs: int | None = None
    large_gpu: bool = False
    """Whether vLLM's large-GPU defaults apply (H100 class); see GpuProduct.large."""


@dataclass(frozen=True, slots=True)
class EnginePlan:
    """Per-accelerator memory of one engine (the most loaded rank), and what it means for serving."""

    gpu_memory_bytes: int
    requested_bytes: int
    weights_bytes: int
    activation_bytes: int
    runtime_bytes: int
    kv_budget_bytes: int
    """May be negative: then nothing is left for the cache."""
    kv_bytes_per_token: int
    kv_tokens: int
    """KV-cache tokens of the whole engine (every rank holds its share of each token)."""
    max_model_len: int
    max_num_batched_tokens: int
    max_num_seqs: int

    @property
    def overhead_bytes(self) -> int:
        return self.activation_bytes + self.runtime_bytes

    @property
    def kv_cache_bytes(self) -> int:
        return max(self.kv_budget_bytes, 0)

    @property
    def free_bytes(self) -> int:
        """Memory vLLM leaves alone (1 - gpu_memory_utilization): CUDA graphs and other processes live there."""
        return self.gpu_memory_bytes - self.requested_bytes

    @property
    def fits_weights(self) -> bool:
        return self.weights_bytes < self.requested_bytes

    @property
    def max_concurrency(self) -> float:
        """Requests of max_model_len tokens the cache holds at once."""
        return self.kv_tokens / self.max_model_len

    @property
    def fits(self) -> bool:
        """Whether vLLM starts: weights load and the cache holds one sequence of max_model_len."""
        return self.fits_weights and self.kv_budget_bytes > 0 and self.kv_tokens >= self.max_model_len

    @property
    def longest_context(self) -> int:
        """The longest max_model_len this cache would admit (vLLM's 'estimated maximum model length')."""
        return self.kv_tokens


def stage_weight_bytes(spec: ModelSpec, bits: int, pipeline_parallel: int) -> int:
    """Weights of the heaviest pipeline stage: its share of layers plus the embedding (first stage) or the output
    head (last stage)."""
    total = spec.weight_bytes_at(bits)
    embedding = spec.vocab_size * spec.hidden_size * 2
    heads = embedding if spec.tie_word_embeddings else 2 * embedding
    if pipeline_parallel == 1:
        return total
    per_layer = max(total - heads, 0) / spec.num_hidden_layers
    layers = math.ceil(spec.num_hidden_layers / pipeline_parallel)
    return int(layers * per_layer + embedding)


def activation_bytes(spec: ModelSpec, tokens: int, seqs: int, tensor_parallel: int) -> int:
    """Peak activation memory of vLLM's profiling run: the larger of a forward pass over ``tokens`` and the sampler
    over ``seqs`` rows of fp32 logits."""
    per_token = 2 * (3 * spec.hidden_size + 3 * spec.active_intermediate / tensor_parallel + spec.experts_per_token * spec.hidden_size)
    forward = tokens * per_token
    sampler = seqs * spec.vocab_size * 4 * 2
    return int(max(forward, sampler))


def plan_engine(spec: ModelSpec, gpu_memory_bytes: int, inputs: EngineInputs) -> EnginePlan:
    """The memory plan of one engine with ``inputs`` on accelerators of ``gpu_memory_bytes`` each."""
    tp, pp = inputs.tensor_parallel, inputs.pipeline_parallel
    bits = inputs.weight_bits or spec.weight_bits
    default_tokens, default_seqs = LARGE_GPU_DEFAULTS if inputs.large_gpu else SMALL_GPU_DEFAULTS
    tokens = inputs.max_num_batched_tokens or default_tokens
    seqs = inputs.max_num_seqs or default_seqs
    max_len = inputs.max_model_len or spec.max_position_embeddings
    requested = int(gpu_memory_bytes * inputs.gpu_memory_utilization)
    weights = math.ceil(stage_weight_bytes(spec, bits, pp) / tp)
    activation = activation_bytes(spec, tokens, seqs, tp)
    budget = requested - weights - activation - RUNTIME_BYTES
    per_token = spec.kv_bytes_per_token(tensor_parallel=tp, pipeline_parallel=pp, kv_bytes=inputs.kv_bytes)
    blocks = budget // (per_token * BLOCK_TOKENS) if budget > 0 else 0
    return EnginePlan(
        gpu_memory_bytes=gpu_memory_bytes, requested_bytes=requested, weights_bytes=weights, activation_bytes=activation,
        runtime_bytes=RUNTIME_BYTES, kv_budget_bytes=budget, kv_bytes_per_token=per_token, kv_tokens=int(blocks * BLOCK_TOKENS),
        max_model_len=max_len, max_num_batched_tokens=tokens, max_num_seqs=seqs,
    )  # fmt: skip
