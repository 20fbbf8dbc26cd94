"""Know before you deploy: the accelerator memory plan of a vLLM server, computed at synth time from the model's
shape, the GPU product and the engine arguments. Pure (no cdk8s, no network). See docs/capacity.md."""

from __future__ import annotations

from .accelerators import GPU_PRODUCTS, GpuProduct, gpu_product, smallest_gpu
from .catalog import CATALOG, spec_for, spec_for_repo
from .engine_plan import EngineInputs, EnginePlan, plan_engine
from .server_plan import ANNOTATION, CapacityPlan, capacity_plan, check_capacity, with_capacity
from .spec import ModelSpec, load_model_config, spec_from_hf_config

__all__ = [
    "ANNOTATION",
    "CATALOG",
    "GPU_PRODUCTS",
    "CapacityPlan",
    "EngineInputs",
    "EnginePlan",
    "GpuProduct",
    "ModelSpec",
    "capacity_plan",
    "check_capacity",
    "gpu_product",
    "load_model_config",
    "plan_engine",
    "smallest_gpu",
    "spec_for",
    "spec_for_repo",
    "spec_from_hf_config",
    "with_capacity",
]
