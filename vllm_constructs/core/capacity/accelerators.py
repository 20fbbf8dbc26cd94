"""Accelerator memory per product, keyed by the node-label values the product affinity uses.

NVIDIA's GPU feature discovery labels each node ``nvidia.com/gpu.product=<product name with spaces as '-'>``
(https://github.com/NVIDIA/k8s-device-plugin/blob/main/docs/gpu-feature-discovery/README.md, "Generated Labels"),
e.g. ``NVIDIA-A100-SXM4-80GB``, ``NVIDIA-H100-80GB-HBM3``, ``NVIDIA-L4``; time-sliced GPUs get a ``-SHARED`` suffix and
MIG slices ``-MIG-<profile>``. AMD's device plugin labeller writes ``amd.com/gpu.product-name`` (e.g. ``AMD_Instinct_MI300X``).

The memory is what the CUDA (or ROCm) runtime reports as the device's total (``torch.cuda.mem_get_info()[1]``): the
figure vLLM multiplies by ``gpu_memory_utilization``. It is a little below the marketing capacity (the driver keeps
some); each entry names its source.
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

    @property
    def memory_gib(self) -> float:
        return self.memory_bytes / GIB

    @property
    def large(self) -> bool:
        """vLLM's ``vllm serve`` defaults max_num_batched_tokens=8192 and max_num_seqs=1024 on GPUs with >= 70 GiB that
        are not A100s (H100, H200, B200, MI300X), else 2048 and 256 (vllm/engine/arg_utils.py, _set_default_args)."""
        return self.memory_bytes >= 70 * GIB and "A100" not in self.name


def _gib(value: float) -> int:
    return int(value * GIB)


_SMI = "nvidia-smi total (MiB) as published for the product, less the driver's share seen in CUDA's total"
_PRODUCTS = (
    GpuProduct("NVIDIA T4", ("Tesla-T4", "NVIDIA-T4"), _gib(14.75), "PyTorch OOM messages on T4: 'total capacity of 14.75 GiB'"),
    GpuProduct("NVIDIA A10G", ("NVIDIA-A10G",), _gib(22.19), "PyTorch OOM messages on AWS g5 (A10G): 'total capacity of 22.19 GiB'"),
    GpuProduct("NVIDIA A10", ("NVIDIA-A10",), _gib(22.19), "same GA102 board and 24 GB GDDR6 as the A10G"),
    GpuProduct("NVIDIA L4", ("NVIDIA-L4",), _gib(22.05), "PyTorch OOM messages on GCP g2 (L4): 'total capacity of 22.05 GiB'"),
    GpuProduct(
        "NVIDIA GeForce RTX 3090",
        ("NVIDIA-GeForce-RTX-3090",),
        _gib(23.58),
        "vLLM log 'total_gpu_memory=23.58GiB', https://github.com/vllm-project/vllm/issues/10517",
    ),
    GpuProduct(
        "NVIDIA GeForce RTX 4090",
        ("NVIDIA-GeForce-RTX-4090",),
        _gib(23.65),
        "PyTorch OOM messages on RTX 4090: 'total capacity of 23.65 GiB'",
    ),
    GpuProduct("NVIDIA A40", ("NVIDIA-A40",), _gib(44.35), f"{_SMI} (46068 MiB)"),
    GpuProduct("NVIDIA L40S", ("NVIDIA-L40S",), _gib(44.39), f"{_SMI} (46068 MiB)"),
    GpuProduct("NVIDIA L40", ("NVIDIA-L40",), _gib(44.39), f"{_SMI} (46068 MiB)"),
    GpuProduct("NVIDIA RTX A6000", ("NVIDIA-RTX-A6000",), _gib(47.43), f"{_SMI} (49140 MiB)"),
    GpuProduct(
        "NVIDIA A100 40GB",
        ("NVIDIA-A100-SXM4-40GB", "NVIDIA-A100-PCIE-40GB"),
        _gib(39.39),
        "vLLM log 'total_gpu_memory (39.38GiB)', https://github.com/vllm-project/vllm/issues/16570; "
        "40339.31 MiB on A100-PCIE-40GB (huggingface.co/PrunaAI/... results.json)",
    ),
    GpuProduct(
        "NVIDIA A100 80GB",
        ("NVIDIA-A100-SXM4-80GB", "NVIDIA-A100-80GB-PCIe"),
        85_198_045_184,
        "CUDA deviceQuery on A100-SXM4-80GB: 'Total amount of global memory: 81251 MBytes (85198045184 bytes)', "
        "https://gist.github.com/gengwg/3520df2ebf8872e5ee4818367e3a4122",
    ),
    GpuProduct(
        "NVIDIA H100 80GB",
        ("NVIDIA-H100-80GB-HBM3", "NVIDIA-H100-PCIe", "NVIDIA-H800"),
        _gib(79.19),
        "vLLM logs on H100 80GB HBM3: 'total_gpu_memory (79.19GiB)'",
    ),
    GpuProduct("NVIDIA H100 NVL", ("NVIDIA-H100-NVL",), _gib(93.10), f"{_SMI} (95830 MiB)"),
    GpuProduct("NVIDIA H200", ("NVIDIA-H200", "NVIDIA-H200-NVL"), _gib(139.80), f"{_SMI} (143771 MiB)"),
    GpuProduct("NVIDIA B200", ("NVIDIA-B200",), _gib(178.35), f"{_SMI} (183359 MiB)"),
    GpuProduct(
        "AMD Instinct MI300X",
        ("AMD_Instinct_MI300X", "AMD-Instinct-MI300X", "MI300X", "AMD_Instinct_MI300X_OAM"),
        _gib(191.98),
        "ROCm PyTorch on MI300X: 'total capacity of 191.98 GiB' (192 GB HBM3)",
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
