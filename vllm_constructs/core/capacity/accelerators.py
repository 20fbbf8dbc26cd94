"""Accelerator memory per product, keyed by the node-label values the product affinity uses.

NVIDIA's GPU feature discovery labels each node ``nvidia.com/gpu.product=<product name with spaces as '-'>``
(https://github.com/NVIDIA/k8s-device-plugin/blob/main/docs/gpu-feature-discovery/README.md, "Generated Labels"),
e.g. ``NVIDIA-A100-SXM4-80GB``, ``NVIDIA-H100-80GB-HBM3``, ``NVIDIA-L4``; time-sliced GPUs get a ``-SHARED`` suffix and
MIG slices ``-MIG-<profile>``. AMD's device plugin labeller writes ``amd.com/gpu.product-name`` (e.g. ``AMD_Instinct_MI300X``).

The memory is what the CUDA (or ROCm) runtime reports as the device's total (``torch.cuda.mem_get_info()[1]``,
``torch.cuda.get_device_properties().total_memory``): the figure vLLM multiplies by ``gpu_memory_utilization``. Each
entry cites where its figure comes from, and how it was measured (``basis``):

- ``cuda``: the CUDA total in a public vLLM or PyTorch log of that product;
- ``nvidia-smi``: the driver's total (nvidia-smi, NVML, rocm-smi) of that product. CUDA reports 0.3-0.6 GiB less
  (H100: 81559 MiB vs 79.19 GiB; L4: 23034 MiB vs 22.05 GiB; T4: 15360 MiB vs 14.56 GiB), so these entries are a
  little optimistic;
- ``same-memory``: the CUDA total of a product with the same memory and the same nvidia-smi total;
- ``datasheet``: the vendor's nominal size in decimal gigabytes (below the CUDA total: conservative), when nothing
  was measured.

docs/capacity.md lists every figure with its source.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["GPU_PRODUCTS", "GpuProduct", "gpu_product", "smallest_gpu"]

GIB = 2**30


@dataclass(frozen=True, slots=True)
class GpuProduct:
    """One accelerator product: its label values, runtime-visible memory and whether vLLM treats it as a large GPU."""

    name: str
    labels: tuple[str, ...]
    memory_bytes: int
    source: str
    """Where the figure comes from (URLs of the logs or outputs that show it)."""
    basis: str = "cuda"
    """How the figure was measured: cuda, nvidia-smi, same-memory or datasheet (see the module docstring)."""

    @property
    def memory_gib(self) -> float:
        return self.memory_bytes / GIB

    @property
    def memory_mib(self) -> int:
        return self.memory_bytes // 2**20

    @property
    def large(self) -> bool:
        """vLLM's ``vllm serve`` defaults max_num_batched_tokens=8192 and max_num_seqs=1024 on GPUs with >= 70 GiB that
        are not A100s (H100, H200, B200, MI300X), else 2048 and 256 (vllm/engine/arg_utils.py, _set_default_args)."""
        return self.memory_bytes >= 70 * GIB and "A100" not in self.name


def _gib(value: float) -> int:
    return int(value * GIB)


def _mib(value: int) -> int:
    return value * 2**20


_GH = "https://github.com/"
_MODAL_SMI = f"{_GH}modal-labs/modal-client/pull/2797 (nvidia-smi totals)"
_L40_CUDA = f"'GPU 0 has a total capacity of 44.40 GiB' on an L40, {_GH}QwenLM/Qwen3-VL/issues/2097"
_PRODUCTS = (
    GpuProduct(
        "NVIDIA T4",
        ("Tesla-T4", "NVIDIA-T4"),
        _gib(14.56),
        "vLLM log on a Tesla T4 (driver 580): 'total_gpu_memory (14.56GiB)', https://discuss.vllm.ai/t/max-model-len-vs-gpu-memory-usage/2724"
        f" (the same setup in {_GH}vllm-project/vllm/issues/8185); nvidia-smi 15360 MiB, {_MODAL_SMI}",
    ),
    GpuProduct(
        "NVIDIA A10G",
        ("NVIDIA-A10G",),
        _gib(22.18),
        f"no A10G figure found; the A10 (same GA102 and 24 GB GDDR6, nvidia-smi 23028 MiB, {_MODAL_SMI}) reports 'total capacity "
        f"of 22.18 GiB', {_GH}OpenBMB/MiniCPM-V/issues/640",
        "same-memory",
    ),
    GpuProduct(
        "NVIDIA A10",
        ("NVIDIA-A10",),
        _gib(22.18),
        f"'GPU 0 has a total capacity of 22.18 GiB' on an A10, {_GH}OpenBMB/MiniCPM-V/issues/640; nvidia-smi 23028 MiB, {_MODAL_SMI}",
    ),
    GpuProduct(
        "NVIDIA L4",
        ("NVIDIA-L4",),
        _gib(22.05),
        f"'GPU 0 has a total capacity of 22.05 GiB' in vLLM's CI, {_GH}vllm-project/vllm/issues/20214 (its single-GPU CI queue runs "
        f"on L4; the log does not name the GPU); nvidia-smi 23034 MiB, {_MODAL_SMI}",
    ),
    GpuProduct(
        "NVIDIA GeForce RTX 3090",
        ("NVIDIA-GeForce-RTX-3090",),
        _gib(23.58),
        f"vLLM log 'total_gpu_memory=23.58GiB' on an RTX 3090, {_GH}vllm-project/vllm/issues/10517",
    ),
    GpuProduct(
        "NVIDIA GeForce RTX 4090",
        ("NVIDIA-GeForce-RTX-4090",),
        _gib(23.64),
        f"'GPU 0 has a total capacty of 23.64 GiB' on an RTX 4090, {_GH}3DTopia/Phidias-Diffusion/issues/8; "
        f"nvidia-smi 24564 MiB, {_GH}vllm-project/vllm/issues/7553",
    ),
    GpuProduct(
        "NVIDIA A40",
        ("NVIDIA-A40",),
        _gib(44.40),
        f"nvidia-smi 46068 MiB on an A40 ({_GH}guqiong96/Lvllm/issues/35), the L40's total; L40: {_L40_CUDA}",
        "same-memory",
    ),
    GpuProduct(
        "NVIDIA L40S",
        ("NVIDIA-L40S",),
        _gib(44.40),
        f"nvidia-smi 46068 MiB ({_MODAL_SMI}), the L40's total; L40: {_L40_CUDA}",
        "same-memory",
    ),
    GpuProduct("NVIDIA L40", ("NVIDIA-L40",), _gib(44.40), _L40_CUDA),
    GpuProduct(
        "NVIDIA RTX A6000",
        ("NVIDIA-RTX-A6000",),
        48 * 10**9,
        "no measured figure found; NVIDIA's specification 'GPU Memory 48 GB GDDR6 with ECC' (as 48e9 bytes), "
        "https://servethehome.com/nvidia-rtx-a6000-48gb-gpu-drops-quadro-designation",
        "datasheet",
    ),
    GpuProduct(
        "NVIDIA A100 40GB",
        ("NVIDIA-A100-SXM4-40GB", "NVIDIA-A100-PCIE-40GB"),
        _gib(39.38),
        f"vLLM log 'total_gpu_memory (39.38GiB)' on A100 40GB, {_GH}vllm-project/vllm/issues/16570; nvidia-smi 40960 MiB, {_MODAL_SMI}",
    ),
    GpuProduct(
        "NVIDIA A100 80GB",
        ("NVIDIA-A100-SXM4-80GB", "NVIDIA-A100-80GB-PCIe"),
        85_198_045_184,
        "CUDA deviceQuery on A100-SXM4-80GB: 'Total amount of global memory: 81251 MBytes (85198045184 bytes)', "
        f"https://gist.github.com/gengwg/3520df2ebf8872e5ee4818367e3a4122; nvidia-smi 81920 MiB, {_MODAL_SMI}",
    ),
    GpuProduct(
        "NVIDIA H100 80GB",
        ("NVIDIA-H100-80GB-HBM3", "NVIDIA-H100-PCIe", "NVIDIA-H800"),
        _gib(79.19),
        "vLLM 0.19 log on H100 80GB HBM3: 'worker init memory snapshot: ... total_memory=79.19GiB', "
        f"{_GH}llm-d-incubation/llm-d-planner/tree/d3121e059da88662db39a926a3ead964be97359b/accuracy/results/v0.19.0/logs; "
        f"nvidia-smi 81559 MiB, {_MODAL_SMI} (H100 PCIe and H800: no figure of their own found)",
    ),
    GpuProduct(
        "NVIDIA H100 NVL",
        ("NVIDIA-H100-NVL",),
        99_961_274_368,
        f"driver (DRM/NVML) total 99961274368 bytes on H100 NVL, {_GH}fastfetch-cli/fastfetch/issues/1658",
        "nvidia-smi",
    ),
    GpuProduct(
        "NVIDIA H200",
        ("NVIDIA-H200", "NVIDIA-H200-NVL"),
        _mib(143771),
        f"nvidia-smi 143771 MiB on H200, {_GH}sgl-project/sglang/issues/3196 (H200 NVL: no figure of its own found)",
        "nvidia-smi",
    ),
    GpuProduct(
        "NVIDIA B200", ("NVIDIA-B200",), _mib(183359), f"nvidia-smi 183359 MiB on B200, {_GH}NVIDIA/TensorRT-LLM/issues/10278", "nvidia-smi"
    ),
    GpuProduct(
        "AMD Instinct MI300X",
        ("AMD_Instinct_MI300X", "AMD-Instinct-MI300X", "MI300X", "AMD_Instinct_MI300X_OAM"),
        206_141_652_992,
        f"rocm-smi 'VRAM Total Memory (B): 206141652992' on MI300X, {_GH}ROCm/legacy-rocm-build/issues/4750",
        "nvidia-smi",
    ),
)

GPU_PRODUCTS: Mapping[str, GpuProduct] = MappingProxyType({label.lower(): p for p in _PRODUCTS for label in p.labels})
"""Label value (lower case) -> product."""

_SHARED = re.compile(r"-SHARED$", re.IGNORECASE)


def gpu_product(label_value: str) -> GpuProduct | None:
    """The product a node-label value names (case-insensitive; GFD's ``-SHARED`` suffix of time-sliced GPUs is
    ignored). None for an unknown product or a MIG slice (its memory is the profile's, not the GPU's)."""
    if re.search(r"-MIG-", label_value, re.IGNORECASE):
        return None
    return GPU_PRODUCTS.get(_SHARED.sub("", label_value).lower())


def smallest_gpu(label_values: Iterable[str]) -> tuple[GpuProduct | None, tuple[str, ...]]:
    """The product with the least memory among those a server allows, and the label values that name no known
    product (any unknown one makes the smallest unknown: the pod may land there)."""
    values = tuple(label_values)
    unknown = tuple(v for v in values if gpu_product(v) is None)
    known = [p for p in (gpu_product(v) for v in values) if p is not None]
    if unknown or not known:
        return None, unknown
    return min(known, key=lambda p: p.memory_bytes), ()
