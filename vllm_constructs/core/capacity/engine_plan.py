"""The memory plan of one vLLM engine on one accelerator: weights, overhead, KV-cache budget, tokens, concurrency.

The overhead model (one model for every model and accelerator; docs/capacity.md explains each term and its evidence,
tests/data/capacity-calibration.yaml checks it against vLLM's own startup logs):

    requested    = accelerator memory x gpu_memory_utilization
    weights      = the heaviest pipeline stage's weights / tensor_parallel_size
    activation   = max(forward, sampler)
      forward    = max_num_batched_tokens x 2 bytes x (3 x hidden + 3 x active MLP width / TP + experts per token x hidden)
      sampler    = max_num_seqs x vocab x 16 bytes          (fp32 logits, probabilities and the sort of top-p/top-k)
    runtime      = 0.4 GiB                                  (CUDA/NCCL/cuBLAS memory outside PyTorch's allocator)
                 + 1.75 GiB when TP > 1 on the GPUs vLLM treats as large (NVLink all-reduce buffers)
    cuda graphs  = 0.25 MiB x layers per stage x graphs captured  (vLLM >= 0.21 reserves its estimate; 0 when eager)
    KV budget    = requested - weights - activation - runtime - cuda graphs
    KV tokens    = KV budget / KV bytes per token, in whole blocks of 16 tokens

vLLM refuses to start when the budget is not positive ("No available memory for the cache blocks") or holds fewer
tokens than max_model_len; weights above the requested memory fail at load (CUDA out of memory).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .accelerators import GIB
from .spec import ModelSpec

__all__ = [
    "ALL_REDUCE_BYTES",
    "BLOCK_TOKENS",
    "CUDA_GRAPH_CAPTURE_SIZES",
    "DEFAULT_UTILIZATION",
    "RUNTIME_BYTES",
    "SAMPLER_BYTES_PER_LOGIT",
    "EngineInputs",
    "EnginePlan",
    "plan_engine",
]

DEFAULT_UTILIZATION = 0.92
"""vLLM's default gpu_memory_utilization in the image this library pins (see EngineArgs)."""
RUNTIME_BYTES = int(0.4 * GIB)
"""Memory outside PyTorch's allocator on one GPU: vLLM logs 0.24-0.35 GiB ("non_torch_memory", "non-torch forward
increase memory") on a single GPU from 0.6 to 0.19."""
ALL_REDUCE_BYTES = int(1.75 * GIB)
"""Added per GPU when tensor parallel > 1 on the GPUs vLLM treats as large: vLLM 0.19 on H100 logs 2.06-2.21 GiB of
non-torch memory at TP 2 and 4 against 0.24-0.25 GiB at TP 1 (NCCL and symmetric-memory all-reduce buffers); PCIe
GPUs log 0.20-0.43 GiB at TP 2-8."""
SAMPLER_BYTES_PER_LOGIT = 16
"""The sampler's profiling peak per logit: fp32 logits, probabilities and the sorted copy of top-p/top-k. vLLM 0.19
logs 14.9-15.9 bytes per logit (max_num_seqs x vocab) for Llama-3.1, Qwen2.5/3, Gemma-2 and Phi-4."""
CUDA_GRAPH_BYTES_PER_LAYER = int(0.25 * 2**20)
"""vLLM's CUDA-graph estimate per captured graph and decoder layer: its 0.19 logs estimate 0.71-0.84 GiB for 28-32
layer 8B models and 1.70-1.82 GiB for the 80-layer 70B with 51 PIECEWISE + 51 FULL graphs."""
CUDA_GRAPH_CAPTURE_SIZES = (1, 2, 4, *range(8, 257, 8), *range(272, 513, 16))
"""vLLM's default cudagraph_capture_sizes (51 sizes up to 512): PIECEWISE graphs up to max_num_batched_tokens, FULL
decode graphs up to max_num_seqs."""
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
    """Whether vLLM's large-GPU defaults apply (H100 class); see GpuProduct.large. Also adds ALL_REDUCE_BYTES at TP > 1."""
    cuda_graph_reserve: bool = True
    """Whether vLLM subtracts its CUDA-graph estimate from the KV budget: the default since vLLM 0.21
    (VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1, vllm-project/vllm#38284); False for enforce_eager or older vLLM."""


@dataclass(frozen=True, slots=True)
class EnginePlan:
    """Per-accelerator memory of one engine (the most loaded rank), and what it means for serving."""

    gpu_memory_bytes: int
    requested_bytes: int
    weights_bytes: int
    activation_bytes: int
    runtime_bytes: int
    cuda_graph_bytes: int
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
        return self.activation_bytes + self.runtime_bytes + self.cuda_graph_bytes

    @property
    def kv_cache_bytes(self) -> int:
        return max(self.kv_budget_bytes, 0)

    @property
    def free_bytes(self) -> int:
        """Memory vLLM leaves alone (1 - gpu_memory_utilization): the CUDA context and other processes live there."""
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
    over ``seqs`` rows of logits."""
    per_token = 2 * (3 * spec.hidden_size + 3 * spec.active_intermediate / tensor_parallel + spec.experts_per_token * spec.hidden_size)
    forward = tokens * per_token
    sampler = seqs * spec.vocab_size * SAMPLER_BYTES_PER_LOGIT
    return int(max(forward, sampler))


def runtime_bytes(inputs: EngineInputs) -> int:
    """Memory outside PyTorch's allocator: the CUDA runtime, plus all-reduce buffers at TP > 1 on large GPUs."""
    return RUNTIME_BYTES + (ALL_REDUCE_BYTES if inputs.tensor_parallel > 1 and inputs.large_gpu else 0)


def cuda_graph_bytes(spec: ModelSpec, inputs: EngineInputs, tokens: int, seqs: int) -> int:
    """vLLM's CUDA-graph reserve: per decoder layer of the stage, per PIECEWISE graph (sizes up to ``tokens``) and FULL
    decode graph (sizes up to ``seqs``). Zero when vLLM does not reserve it (older than 0.21, or eager)."""
    if not inputs.cuda_graph_reserve:
        return 0
    graphs = sum(size <= tokens for size in CUDA_GRAPH_CAPTURE_SIZES) + sum(size <= seqs for size in CUDA_GRAPH_CAPTURE_SIZES)
    layers = math.ceil(spec.num_hidden_layers / inputs.pipeline_parallel)
    return int(graphs * layers * CUDA_GRAPH_BYTES_PER_LAYER)


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
    runtime, graphs = runtime_bytes(inputs), cuda_graph_bytes(spec, inputs, tokens, seqs)
    budget = requested - weights - activation - runtime - graphs
    per_token = spec.kv_bytes_per_token(tensor_parallel=tp, pipeline_parallel=pp, kv_bytes=inputs.kv_bytes)
    blocks = budget // (per_token * BLOCK_TOKENS) if budget > 0 else 0
    return EnginePlan(
        gpu_memory_bytes=gpu_memory_bytes,
        requested_bytes=requested,
        weights_bytes=weights,
        activation_bytes=activation,
        runtime_bytes=runtime,
        cuda_graph_bytes=graphs,
        kv_budget_bytes=budget,
        kv_bytes_per_token=per_token,
        kv_tokens=int(blocks * BLOCK_TOKENS),
        max_model_len=max_len,
        max_num_batched_tokens=tokens,
        max_num_seqs=seqs,
    )
