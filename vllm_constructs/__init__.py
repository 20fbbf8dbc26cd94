"""vllm-constructs: typed cdk8s constructs that deploy vLLM on Kubernetes.

Value classes and props (pure, validated when built) import without starting Node; the constructs (which need the
jsii runtime) are imported on first use, so ``vllm-constructs template`` and other render-only paths never start Node.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

from .core.autoscaling import AutoscalerProps, KedaAuthentication, Scaling, ScalingBehavior
from .core.cluster import LwsRollout, LwsStartupPolicy, MultiNodeBackend, NcclDebug, NcclSettings, RayClusterProps, Rdma
from .core.deployment import GpuDeploymentProps
from .core.engine import Dtype, EngineArgs, KvCacheDtype
from .core.gateway import Backend, GatewayNetworkPolicy, GatewayRef, InferenceGatewayProps, ModelRoute, RoutingMode
from .core.gitops import GitOpsOptions
from .core.ingress import InferenceIngressProps, IngressController, IngressEndpoint
from .core.load_test import LoadTestApi, LoadTestProps, Pushgateway, Tokenizer
from .core.logs import JsonLogs, LogLevel
from .core.lora import LoraAdapter, LoraOptions
from .core.model import (
    AccessMode,
    DownloadMode,
    ModelCache,
    ModelDownload,
    ModelInitJobProps,
    ModelSource,
    S3Credentials,
)
from .core.objects import ServerNetworkPolicy
from .core.observability import AlertThresholds, MonitorKind, ObservabilityProps
from .core.picker import EndpointPicker, EndpointPickerConfig, FailureMode, Scorer, WeightedScorer
from .core.promql import ServerSeries
from .core.server import ServerNames, ServiceType, VllmServerProps
from .core.serving import DEFAULT_VLLM_IMAGE, ScaleTarget, ServingFacts, ServingProps, ServingWorkload
from .core.values import (
    Accelerator,
    ConfigMapKeyRef,
    ContainerPort,
    EnvFrom,
    EnvValue,
    FieldRef,
    GpuProductAffinity,
    HealthChecks,
    Image,
    PodOptions,
    PullPolicy,
    Resources,
    RolloutStrategy,
    SecretKeyRef,
    SecurityProfile,
    SharedMemory,
    Toleration,
    TopologySpread,
    Volume,
    WorkloadLabels,
)
from .errors import ConfigError

if TYPE_CHECKING:
    from ._adapter import check_app, synth
    from .autoscaler import Autoscaler
    from .chart_release import VllmChartRelease
    from .gpu_deployment import GpuDeployment
    from .inference_gateway import InferenceGateway
    from .inference_ingress import InferenceIngress
    from .load_test import LoadTest
    from .model_init_job import ModelInitJob
    from .observability import Observability
    from .ray_cluster import RayCluster
    from .vllm_server import VllmServer

__version__ = "0.2.0"

_CONSTRUCTS = {
    "Autoscaler": "autoscaler",
    "GpuDeployment": "gpu_deployment",
    "LoadTest": "load_test",
    "InferenceGateway": "inference_gateway",
    "InferenceIngress": "inference_ingress",
    "ModelInitJob": "model_init_job",
    "Observability": "observability",
    "RayCluster": "ray_cluster",
    "VllmChartRelease": "chart_release",
    "VllmServer": "vllm_server",
    "check_app": "_adapter",
    "synth": "_adapter",
}


def __getattr__(name: str) -> Any:
    """Constructs load on first use (they start the jsii runtime)."""
    module = _CONSTRUCTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vllm_constructs' has no attribute {name!r}")
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_VLLM_IMAGE",
    "AccessMode",
    "Accelerator",
    "AlertThresholds",
    "Autoscaler",
    "AutoscalerProps",
    "Backend",
    "ConfigError",
    "ConfigMapKeyRef",
    "ContainerPort",
    "DownloadMode",
    "Dtype",
    "EndpointPicker",
    "EndpointPickerConfig",
    "EngineArgs",
    "EnvFrom",
    "EnvValue",
    "FailureMode",
    "FieldRef",
    "GatewayNetworkPolicy",
    "GatewayRef",
    "GitOpsOptions",
    "GpuDeployment",
    "GpuDeploymentProps",
    "GpuProductAffinity",
    "HealthChecks",
    "Image",
    "InferenceGateway",
    "InferenceGatewayProps",
    "InferenceIngress",
    "InferenceIngressProps",
    "IngressController",
    "IngressEndpoint",
    "JsonLogs",
    "KedaAuthentication",
    "KvCacheDtype",
    "LoadTest",
    "LoadTestApi",
    "LoadTestProps",
    "LogLevel",
    "LoraAdapter",
    "LoraOptions",
    "LwsRollout",
    "LwsStartupPolicy",
    "ModelCache",
    "ModelDownload",
    "ModelInitJob",
    "ModelInitJobProps",
    "ModelRoute",
    "ModelSource",
    "MonitorKind",
    "MultiNodeBackend",
    "NcclDebug",
    "NcclSettings",
    "Observability",
    "ObservabilityProps",
    "PodOptions",
    "PullPolicy",
    "Pushgateway",
    "RayCluster",
    "RayClusterProps",
    "Rdma",
    "Resources",
    "RolloutStrategy",
    "RoutingMode",
    "S3Credentials",
    "ScaleTarget",
    "Scaling",
    "ScalingBehavior",
    "Scorer",
    "SecretKeyRef",
    "SecurityProfile",
    "ServerNames",
    "ServerNetworkPolicy",
    "ServerSeries",
    "ServiceType",
    "ServingFacts",
    "ServingProps",
    "ServingWorkload",
    "SharedMemory",
    "Toleration",
    "Tokenizer",
    "TopologySpread",
    "VllmChartRelease",
    "VllmServer",
    "VllmServerProps",
    "Volume",
    "WeightedScorer",
    "WorkloadLabels",
    "check_app",
    "synth",
]
