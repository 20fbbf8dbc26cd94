"""vllm-constructs: typed cdk8s constructs that deploy vLLM on Kubernetes.

Every public name loads its module on first use: value classes and props (pure, validated when built) never start
Node, and a render-only path such as ``vllm-constructs template`` imports only the modules it needs; the constructs
(which need the jsii runtime) start it when first used.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:
    from ._adapter import check_app, synth
    from .autoscaler import Autoscaler
    from .chart_release import VllmChartRelease
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
    from .core.model import AccessMode, DownloadMode, ModelCache, ModelDownload, ModelInitJobProps, ModelSource, S3Credentials
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
    from .gpu_deployment import GpuDeployment
    from .inference_gateway import InferenceGateway
    from .inference_ingress import InferenceIngress
    from .load_test import LoadTest
    from .model_init_job import ModelInitJob
    from .observability import Observability
    from .ray_cluster import RayCluster
    from .vllm_server import VllmServer

__version__ = "0.2.0"

_PUBLIC = {
    "Accelerator": "core.values",
    "AccessMode": "core.model",
    "AlertThresholds": "core.observability",
    "Autoscaler": "autoscaler",
    "AutoscalerProps": "core.autoscaling",
    "Backend": "core.gateway",
    "ConfigMapKeyRef": "core.values",
    "ContainerPort": "core.values",
    "DEFAULT_VLLM_IMAGE": "core.serving",
    "DownloadMode": "core.model",
    "Dtype": "core.engine",
    "EndpointPicker": "core.picker",
    "EndpointPickerConfig": "core.picker",
    "EngineArgs": "core.engine",
    "EnvFrom": "core.values",
    "EnvValue": "core.values",
    "FailureMode": "core.picker",
    "FieldRef": "core.values",
    "GatewayNetworkPolicy": "core.gateway",
    "GatewayRef": "core.gateway",
    "GitOpsOptions": "core.gitops",
    "GpuDeployment": "gpu_deployment",
    "GpuDeploymentProps": "core.deployment",
    "GpuProductAffinity": "core.values",
    "HealthChecks": "core.values",
    "Image": "core.values",
    "InferenceGateway": "inference_gateway",
    "InferenceGatewayProps": "core.gateway",
    "InferenceIngress": "inference_ingress",
    "InferenceIngressProps": "core.ingress",
    "IngressController": "core.ingress",
    "IngressEndpoint": "core.ingress",
    "JsonLogs": "core.logs",
    "KedaAuthentication": "core.autoscaling",
    "KvCacheDtype": "core.engine",
    "LoadTest": "load_test",
    "LoadTestApi": "core.load_test",
    "LoadTestProps": "core.load_test",
    "LogLevel": "core.logs",
    "LoraAdapter": "core.lora",
    "LoraOptions": "core.lora",
    "LwsRollout": "core.cluster",
    "LwsStartupPolicy": "core.cluster",
    "ModelCache": "core.model",
    "ModelDownload": "core.model",
    "ModelInitJob": "model_init_job",
    "ModelInitJobProps": "core.model",
    "ModelRoute": "core.gateway",
    "ModelSource": "core.model",
    "MonitorKind": "core.observability",
    "MultiNodeBackend": "core.cluster",
    "NcclDebug": "core.cluster",
    "NcclSettings": "core.cluster",
    "Observability": "observability",
    "ObservabilityProps": "core.observability",
    "PodOptions": "core.values",
    "PullPolicy": "core.values",
    "Pushgateway": "core.load_test",
    "RayCluster": "ray_cluster",
    "RayClusterProps": "core.cluster",
    "Rdma": "core.cluster",
    "Resources": "core.values",
    "RolloutStrategy": "core.values",
    "RoutingMode": "core.gateway",
    "S3Credentials": "core.model",
    "ScaleTarget": "core.serving",
    "Scaling": "core.autoscaling",
    "ScalingBehavior": "core.autoscaling",
    "Scorer": "core.picker",
    "SecretKeyRef": "core.values",
    "SecurityProfile": "core.values",
    "ServerNames": "core.server",
    "ServerNetworkPolicy": "core.objects",
    "ServerSeries": "core.promql",
    "ServiceType": "core.server",
    "ServingFacts": "core.serving",
    "ServingProps": "core.serving",
    "ServingWorkload": "core.serving",
    "SharedMemory": "core.values",
    "Tokenizer": "core.load_test",
    "Toleration": "core.values",
    "TopologySpread": "core.values",
    "VllmChartRelease": "chart_release",
    "VllmServer": "vllm_server",
    "VllmServerProps": "core.server",
    "Volume": "core.values",
    "WeightedScorer": "core.picker",
    "WorkloadLabels": "core.values",
    "check_app": "_adapter",
    "synth": "_adapter",
}
"""Every public name and the module that defines it."""
_STARTS_JSII = frozenset(m for m in _PUBLIC.values() if not m.startswith("core.") and m != "errors")


def __getattr__(name: str) -> Any:
    """Public names load on first use (constructs start the jsii runtime)."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'vllm_constructs' has no attribute {name!r}")
    if module in _STARTS_JSII:
        os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})


__all__ = [
    "Accelerator",
    "AccessMode",
    "AlertThresholds",
    "Autoscaler",
    "AutoscalerProps",
    "Backend",
    "ConfigError",
    "ConfigMapKeyRef",
    "ContainerPort",
    "DEFAULT_VLLM_IMAGE",
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
    "Tokenizer",
    "Toleration",
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
