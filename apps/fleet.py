"""Two models for two environments and two regions: dev runs small in one cluster; prod runs in us-east and eu-west
with more replicas, autoscaling, larger contexts and each region's GPU products. Every difference is an override.

Written to dist/fleet/<environment>/<cluster>/ with a kustomization.yaml per folder (see docs/environments.md for
the Argo CD ApplicationSet and Flux Kustomization that point at them).
"""

from __future__ import annotations

from apps.llama_8b import LLAMA_8B_REVISION
from vllm_constructs import (
    EngineArgs,
    GpuProductAffinity,
    ModelCache,
    ModelSource,
    PodOptions,
    Resources,
    Scaling,
    SecretKeyRef,
    ServerNetworkPolicy,
    VllmServerProps,
)
from vllm_constructs.core.fleet import Cluster, Environment, FleetProps, FleetServer, ScalingSpec

QWEN_7B_REVISION = "a09a35458c702b33eeacc393d103063234e8bc28"
PROMETHEUS_URL = "http://prometheus-operated.monitoring.svc:9090"
NETWORK = ServerNetworkPolicy(
    from_namespaces={"kubernetes.io/metadata.name": "llm-gateway"},
    metrics_from_namespaces={"kubernetes.io/metadata.name": "monitoring"},
    restrict_egress=True,
)


def _server(name: str, repo: str, revision: str) -> FleetServer:
    return FleetServer(
        props=VllmServerProps(
            name=name,
            model=ModelSource.huggingface(repo, revision=revision, include=("*.json", "*.safetensors", "tokenizer*")),
            hf_token=SecretKeyRef("hf-token", "token"),
            engine=EngineArgs(max_model_len=8192),
            resources=Resources(cpu="8", memory="48Gi", accelerators=1),
            cache=ModelCache.pvc("50Gi", storage_class="shared-rwx", access_mode="ReadWriteMany"),
            network_policy=NETWORK,
            pod=PodOptions(gpu_products=GpuProductAffinity.require("NVIDIA-L4")),
        ),
        monitor_labels={"release": "kube-prometheus-stack"},
    )


def _prod(region_gpu: str) -> dict[str, dict[str, object]]:
    scaling = ScalingSpec(scaling=Scaling.keda(PROMETHEUS_URL, {"vllm:num_requests_waiting": 8}), min_replicas=2, max_replicas=6)
    return {
        name: {
            "props.engine": EngineArgs(max_model_len=32768, gpu_memory_utilization=0.95),
            "props.pod.gpu_products": GpuProductAffinity.require(region_gpu),
            "autoscaling": scaling,
        }
        for name in ("qwen-7b", "llama-8b")
    }


FLEET = FleetProps(
    name="fleet",
    servers={
        "qwen-7b": _server("qwen-2-5-7b", "Qwen/Qwen2.5-7B-Instruct", QWEN_7B_REVISION),
        "llama-8b": _server("llama-3-1-8b", "meta-llama/Llama-3.1-8B-Instruct", LLAMA_8B_REVISION),
    },
    environments=(
        Environment(name="dev", clusters=(Cluster(name="us-east", namespace="llm-dev"),), overrides={"llama-8b": {"observability": False}}),
        Environment(
            name="prod",
            clusters=(
                Cluster(name="us-east", namespace="llm", overrides=_prod("NVIDIA-H100-80GB-HBM3")),
                Cluster(name="eu-west", namespace="llm", overrides=_prod("NVIDIA-A100-SXM4-80GB")),
            ),
        ),
    ),
)
