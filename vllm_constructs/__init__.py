"""vllm-constructs: typed cdk8s constructs that deploy vLLM on Kubernetes.

The public names load on first use (PEP 562), so that a pure module such as `vllm_constructs.gitops_diff` (the
`vllm-constructs diff` command) imports without starting cdk8s and its jsii Node process.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .autoscaler import Autoscaler, AutoscalerProps, KedaAuthentication, ScaleTarget, Scaling, ScalingBehavior, ScalingMode
    from .errors import ConfigError
    from .gpu_deployment import GpuDeployment, GpuDeploymentProps, PodOptions, WorkloadIdentity
    from .kube import (
        Accelerator,
        ConfigMapKeyRef,
        ContainerPort,
        EnvFrom,
        EnvValue,
        FieldRef,
        GpuProductAffinity,
        HealthChecks,
        Image,
        PullPolicy,
        Resources,
        RolloutStrategy,
        SecretKeyRef,
        SecurityProfile,
        SharedMemory,
        Toleration,
        TopologySpread,
        Volume,
    )
    from .model import DownloadMode, ModelCache, ModelInitJob, ModelInitJobProps, ModelSource, S3Credentials
    from .observability import AlertThresholds, MonitorKind, Observability, ObservabilityProps
    from .promql import ServerSeries
    from .ray_cluster import LwsRollout, LwsStartupPolicy, MultiNodeBackend, NcclDebug, NcclSettings, RayCluster, RayClusterProps, Rdma
    from .vllm_server import (
        DEFAULT_VLLM_IMAGE,
        EngineArgs,
        ServerNames,
        ServerNetworkPolicy,
        ServiceType,
        VllmServer,
        VllmServerProps,
    )

__version__ = "0.1.0"

__all__ = [
    "Accelerator",
    "AlertThresholds",
    "Autoscaler",
    "AutoscalerProps",
    "ConfigError",
    "ConfigMapKeyRef",
    "ContainerPort",
    "DEFAULT_VLLM_IMAGE",
    "DownloadMode",
    "EngineArgs",
    "EnvFrom",
    "EnvValue",
    "FieldRef",
    "GpuDeployment",
    "GpuDeploymentProps",
    "GpuProductAffinity",
    "HealthChecks",
    "Image",
    "KedaAuthentication",
    "LwsRollout",
    "LwsStartupPolicy",
    "ModelCache",
    "ModelInitJob",
    "ModelInitJobProps",
    "ModelSource",
    "MonitorKind",
    "Observability",
    "ObservabilityProps",
    "MultiNodeBackend",
    "NcclDebug",
    "NcclSettings",
    "PodOptions",
    "PullPolicy",
    "RayCluster",
    "RayClusterProps",
    "Rdma",
    "Resources",
    "RolloutStrategy",
    "S3Credentials",
    "ScaleTarget",
    "Scaling",
    "ScalingBehavior",
    "ScalingMode",
    "SecretKeyRef",
    "SecurityProfile",
    "ServerNames",
    "ServerNetworkPolicy",
    "ServerSeries",
    "ServiceType",
    "SharedMemory",
    "Toleration",
    "TopologySpread",
    "VllmServer",
    "VllmServerProps",
    "Volume",
    "WorkloadIdentity",
]

# The modules that define the public names, searched in this order on first use of a name.
_PUBLIC_MODULES = ("errors", "kube", "model", "gpu_deployment", "vllm_server", "ray_cluster", "autoscaler", "observability", "promql")


def __getattr__(name: str) -> Any:
    if name in __all__:
        for module_name in _PUBLIC_MODULES:
            module = importlib.import_module(f"{__name__}.{module_name}")
            if name in vars(module):
                value = vars(module)[name]
                globals()[name] = value
                return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
