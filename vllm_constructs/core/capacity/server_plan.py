"""The capacity plan of one serving workload, from its :class:`~vllm_constructs.core.serving.ServingFacts`: GPUs
(per pod, per replica group, in total, at a rollout's peak and at the autoscaler's maximum), the engine's memory
plan on the smallest allowed GPU, pod memory, and startup time against the startup probe's budget.

:func:`check_capacity` refuses, with numbers and fixes, a server vLLM would refuse to start; unknown model or GPU
facts only disable the checks that need them (the plan lists what is unknown).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..engine import EngineArgs, KvCacheDtype
from ..objects import KubeObject
from ..serving import ServingFacts
from ..validation import Checker, parse_quantity
from .accelerators import GIB, GpuProduct, smallest_gpu
from .catalog import spec_for
from .engine_plan import DEFAULT_UTILIZATION, EngineInputs, EnginePlan, plan_engine
from .spec import ModelSpec

__all__ = [
    "ANNOTATION",
    "CapacityPlan",
    "LOAD_BANDWIDTH_BYTES_PER_S",
    "START_SECONDS",
    "capacity_plan",
    "check_capacity",
    "engine_inputs",
    "with_capacity",
]

ANNOTATION = "vllm-constructs.io/capacity"
"""Workload annotation holding the plan as JSON (read by the lint rules capacity-*)."""
LOAD_BANDWIDTH_BYTES_PER_S = 500 * 10**6
"""Assumed sustained read bandwidth from the model cache volume (a network PVC) into one pod."""
START_SECONDS = 120
"""Assumed time besides reading weights: process start, torch.compile, CUDA graph capture."""
HOST_BASE_BYTES = 6 * GIB
HOST_PER_GPU_BYTES = 2 * GIB
"""Assumed host memory of vLLM's processes: API server and engine core, plus one worker process per accelerator."""

_QUANT_BITS = {
    "fp8": 8,
    "fbgemm_fp8": 8,
    "fp8_dynamic": 8,
    "awq": 4,
    "awq_marlin": 4,
    "gptq": 4,
    "gptq_marlin": 4,
    "marlin": 4,
    "bitsandbytes": 4,
}


@dataclass(frozen=True, slots=True)
class CapacityPlan:
    """What one server needs and gets. ``engine`` is None when the model or the GPU is unknown (see ``unknown``)."""

    server: str
    model: str | None
    gpu: GpuProduct | None
    gpu_label: str | None
    gpus_per_pod: int
    pods_per_replica: int
    replicas: int
    data_parallel: int
    surge_replicas: int = 0
    max_replicas: int | None = None
    engine: EnginePlan | None = None
    memory_limit_bytes: int = 0
    shm_bytes: int = 0
    weight_bytes_total: int | None = None
    startup_budget_seconds: int = 0
    unknown: tuple[str, ...] = ()
    load_bandwidth: int = LOAD_BANDWIDTH_BYTES_PER_S

    @property
    def gpus_per_replica(self) -> int:
        return self.gpus_per_pod * self.pods_per_replica

    @property
    def gpus_total(self) -> int:
        return self.gpus_per_replica * self.replicas

    @property
    def gpus_peak_rollout(self) -> int:
        return self.gpus_per_replica * (self.replicas + self.surge_replicas)

    @property
    def gpus_at_max(self) -> int | None:
        return None if self.max_replicas is None else self.gpus_per_replica * self.max_replicas

    @property
    def host_memory_estimate_bytes(self) -> int:
        return HOST_BASE_BYTES + HOST_PER_GPU_BYTES * self.gpus_per_pod

    @property
    def estimated_startup_seconds(self) -> int | None:
        """Reading this pod's share of the weights at the assumed bandwidth, plus the fixed start time."""
        if self.weight_bytes_total is None:
            return None
        return START_SECONDS + math.ceil(self.weight_bytes_total / self.pods_per_replica / self.load_bandwidth)

    @property
    def fits(self) -> bool | None:
        return None if self.engine is None else self.engine.fits

    def to_json(self) -> dict[str, Any]:
        """The plan as the annotation (and ``vllm-constructs plan --json``) writes it; sizes in GiB."""
        e = self.engine
        out: dict[str, Any] = {
            "model": self.model, "gpu": self.gpu_label, "gpu_memory_gib": _gib(self.gpu.memory_bytes) if self.gpu else None,
            "gpus_per_pod": self.gpus_per_pod, "gpus_per_replica": self.gpus_per_replica, "gpus": self.gpus_total,
            "gpus_peak_rollout": self.gpus_peak_rollout, "gpus_at_max_replicas": self.gpus_at_max,
            "weights_gib_per_gpu": _gib(e.weights_bytes) if e else None, "kv_cache_gib_per_gpu": _gib(e.kv_cache_bytes) if e else None,
            "overhead_gib_per_gpu": _gib(e.overhead_bytes) if e else None, "kv_cache_tokens": e.kv_tokens if e else None,
            "max_model_len": e.max_model_len if e else None, "max_concurrency": round(e.max_concurrency, 2) if e else None,
            "fits": self.fits, "memory_limit_gib": _gib(self.memory_limit_bytes), "shm_gib": _gib(self.shm_bytes),
            "host_memory_estimate_gib": _gib(self.host_memory_estimate_bytes), "estimated_startup_seconds": self.estimated_startup_seconds,
            "startup_budget_seconds": self.startup_budget_seconds, "unknown": list(self.unknown),
        }  # fmt: skip
        return out


def _gib(value: int) -> float:
    return round(value / GIB, 2)


# ------------------------------------------------------------------------------------------------ inputs


def engine_inputs(engine: EngineArgs, gpu: GpuProduct | None) -> EngineInputs:
    """The plan's view of EngineArgs, including ``--max-num-batched-tokens`` / ``--max-num-seqs`` in extra_args."""
    extra = {f.dest: f.value for f in engine.extra_flags}
    kv_fp8 = engine.kv_cache_dtype is not None and engine.kv_cache_dtype is not KvCacheDtype.AUTO
    return EngineInputs(
        tensor_parallel=engine.tensor_parallel_size,
        pipeline_parallel=engine.pipeline_parallel_size,
        data_parallel=engine.data_parallel_size,
        max_model_len=engine.max_model_len,
        gpu_memory_utilization=engine.gpu_memory_utilization or DEFAULT_UTILIZATION,
        kv_bytes=1 if kv_fp8 else 2,
        weight_bits=_QUANT_BITS.get(engine.quantization or ""),
        max_num_batched_tokens=_int(extra.get("max_num_batched_tokens")),
        max_num_seqs=_int(extra.get("max_num_seqs")),
        large_gpu=gpu.large if gpu else False,
        cuda_graph_reserve=not engine.enforce_eager,
    )


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() and int(text) > 0 else None


def _surge(spec: Mapping[str, Any], replicas: int) -> int:
    rolling = (spec.get("strategy") or {}).get("rollingUpdate") or (
        ((spec.get("rolloutStrategy") or {}).get("rollingUpdateConfiguration")) or {}
    )
    surge = rolling.get("maxSurge", 0)
    if isinstance(surge, str) and surge.endswith("%"):
        return math.ceil(replicas * int(surge[:-1]) / 100)
    return int(surge) if isinstance(surge, int) else 0


def _shm_bytes(body: Mapping[str, Any]) -> int:
    found = [v.get("emptyDir", {}).get("sizeLimit") for v in _walk_volumes(body) if (v.get("emptyDir") or {}).get("medium") == "Memory"]
    sizes = [parse_quantity(s) for s in found if isinstance(s, str)]
    return int(max((s for s in sizes if s is not None), default=0))


def _walk_volumes(node: Any) -> list[Mapping[str, Any]]:
    if isinstance(node, Mapping):
        own = [v for v in node.get("volumes") or [] if isinstance(v, Mapping)] if isinstance(node.get("volumes"), list) else []
        return own + [v for child in node.values() for v in _walk_volumes(child)]
    if isinstance(node, list):
        return [v for child in node for v in _walk_volumes(child)]
    return []


# ------------------------------------------------------------------------------------------------ the plan


def capacity_plan(
    facts: ServingFacts,
    *,
    workload: Mapping[str, Any] | None = None,
    spec: ModelSpec | None = None,
    gpu: GpuProduct | None = None,
    max_replicas: int | None = None,
) -> CapacityPlan | None:
    """The plan of a vLLM workload (None for a CPU-only or non-vLLM one). ``workload`` is the rendered workload body
    (for the rollout surge and /dev/shm); ``spec`` and ``gpu`` override the catalog and the product affinity."""
    if facts.engine is None or facts.model is None or facts.accelerators_per_pod == 0:
        return None
    unknown: list[str] = []
    spec = spec or spec_for(facts.model)
    if spec is None:
        unknown.append(f"model: {type(facts.model).__name__} {facts.served_model_name!r} is not in the catalog (pass a ModelSpec)")
    label: str | None = gpu.labels[0] if gpu else None
    if gpu is None:
        gpu, missing = smallest_gpu(facts.gpu_products)
        label = _label_of(gpu, facts.gpu_products)
        if gpu is None:
            named = ", ".join(missing) if missing else "none (PodOptions.gpu_products is unset)"
            unknown.append(f"gpu: product {named} has no known memory (use a catalog product or pass the memory)")
    inputs = engine_inputs(facts.engine, gpu)
    engine = plan_engine(spec, gpu.memory_bytes, inputs) if spec and gpu else None
    body = (workload or {}).get("spec") or {}
    return CapacityPlan(
        server=facts.server_name,
        model=spec.name if spec else None,
        gpu=gpu,
        gpu_label=label,
        gpus_per_pod=facts.accelerators_per_pod,
        pods_per_replica=facts.pods_per_replica,
        replicas=facts.replicas,
        data_parallel=inputs.data_parallel,
        surge_replicas=_surge(body, facts.replicas),
        max_replicas=max_replicas,
        engine=engine,
        memory_limit_bytes=int(facts.resources.memory_limit_bytes),
        shm_bytes=_shm_bytes(body),
        weight_bytes_total=spec.weight_bytes_at(inputs.weight_bits) if spec else None,
        startup_budget_seconds=facts.startup_seconds,
        unknown=tuple(unknown),
    )


def _label_of(gpu: GpuProduct | None, labels: Sequence[str]) -> str | None:
    if gpu is None:
        return None
    return next(
        (v for v in labels if re.sub(r"-SHARED$", "", v, flags=re.IGNORECASE).lower() in {x.lower() for x in gpu.labels}), gpu.labels[0]
    )


def check_capacity(check: Checker, plan: CapacityPlan | None) -> None:
    """Refuse a plan vLLM would refuse to start: weights above the usable memory, no room for the cache, or a cache
    shorter than one sequence of max_model_len."""
    if plan is None or plan.engine is None or plan.gpu is None:
        return
    e, gpu = plan.engine, plan.gpu
    where = f"{plan.model} on {plan.gpu_label} ({gpu.memory_gib:.2f} GiB usable by CUDA)"
    fixes = _fixes(plan)
    if not e.fits_weights:
        check.fail(
            "engine.tensor_parallel_size",
            plan.gpus_per_pod,
            f"leaves {_gib(e.weights_bytes)} GiB of weights per GPU for {where}, above the {_gib(e.requested_bytes)} GiB vLLM may use "
            f"(gpu_memory_utilization {e.requested_bytes / e.gpu_memory_bytes:.2f}); loading would fail with CUDA out of memory",
            "weights per GPU below gpu memory x gpu_memory_utilization",
            fixes,
        )
    if e.kv_budget_bytes <= 0 or e.kv_tokens < e.max_model_len:
        check.fail(
            "engine.max_model_len",
            e.max_model_len,
            f"needs {_gib(e.kv_bytes_per_token * e.max_model_len)} GiB of KV cache per GPU for one sequence, but {where} keeps "
            f"{_gib(e.kv_cache_bytes)} GiB ({_gib(e.requested_bytes)} usable - {_gib(e.weights_bytes)} weights - {_gib(e.overhead_bytes)} "
            f"activation and runtime) = {e.kv_tokens} tokens; vLLM refuses to start",
            f"max_model_len <= {e.kv_tokens}",
            fixes,
        )


def _fixes(plan: CapacityPlan) -> str:
    e = plan.engine
    assert e is not None
    tp = plan.gpus_per_pod * 2
    return (
        f"raise tensor_parallel_size (and accelerators) to {tp}, lower max_model_len to {e.kv_tokens // 1024 * 1024 or 'a smaller value'}, "
        "quantize (engine.quantization='fp8' or an AWQ/GPTQ checkpoint), or pick a larger GPU in pod.gpu_products"
    )


def with_capacity(check: Checker, facts: ServingFacts, planned: list[KubeObject], workload_id: str) -> list[KubeObject]:
    """Check the capacity of a planned server and annotate its workload object with the plan (JSON)."""
    index = next((i for i, o in enumerate(planned) if o.id == workload_id), None)
    body = planned[index].body if index is not None else None
    plan = capacity_plan(facts, workload=body)
    check_capacity(check, plan)
    if plan is None or index is None:
        return planned
    obj = planned[index]
    text = json.dumps(plan.to_json(), sort_keys=True, separators=(",", ":"))
    annotated = replace(obj, annotations={**dict(obj.annotations or {}), ANNOTATION: text})
    return [annotated if i == index else o for i, o in enumerate(planned)]


def from_annotation(text: str) -> dict[str, Any] | None:
    """The plan JSON of a workload annotation, or None when it is not one."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
