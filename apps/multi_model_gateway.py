"""Two base models behind one endpoint: Llama-3.1-8B-Instruct with two LoRA adapters, and Llama-3.1-70B-Instruct.

- ``multi-model-gateway`` (namespace ``models``): an InferenceGateway on the shared Gateway ``inference-gateway`` in
  ``gateway-system``. Each workload gets an InferencePool and its endpoint picker; one HTTPRoute routes by the
  ``X-Gateway-Base-Model-Name`` header (set by the gateway's payload processor). The 8B model runs a canary: 10% of
  its requests (and of its adapters' requests) go to a second server with an FP8 KV cache; the two versions are
  monitored as two servers. Interactive 8B traffic gets priority 10.
- ``multi-model-ingress`` (namespace ``models-ingress``): the same two models for a cluster without Gateway API,
  one ingress-nginx Ingress per model, routed by host, TLS from a Secret. No model-aware balancing, no canary.
"""

from __future__ import annotations

import dataclasses

import cdk8s
from constructs import Construct

from apps.llama_8b import LLAMA_8B_REVISION
from apps.llama_70b import LLAMA_70B_REVISION
from vllm_constructs import (
    EngineArgs,
    GatewayNetworkPolicy,
    GatewayRef,
    GpuProductAffinity,
    InferenceGateway,
    InferenceGatewayProps,
    InferenceIngress,
    InferenceIngressProps,
    IngressController,
    IngressEndpoint,
    KvCacheDtype,
    LoraAdapter,
    LoraOptions,
    ModelCache,
    ModelRoute,
    ModelSource,
    Observability,
    ObservabilityProps,
    PodOptions,
    Resources,
    S3Credentials,
    SecretKeyRef,
    ServerNetworkPolicy,
    VllmServer,
    VllmServerProps,
)

MONITOR_LABELS = {"release": "kube-prometheus-stack"}
GATEWAY_NAMESPACE = {"kubernetes.io/metadata.name": "gateway-system"}
INGRESS_NAMESPACE = {"kubernetes.io/metadata.name": "ingress-nginx"}
MONITORING_NAMESPACE = {"kubernetes.io/metadata.name": "monitoring"}
# 16k tokens of context on an L4 leave room for the adapters' weights, which the capacity plan does not count; the
# canary tries an FP8 KV cache (twice the tokens in the same memory) before the stable version gets it.
LLAMA_8B_ENGINE = EngineArgs(served_model_name="llama-3.1-8b-instruct", max_model_len=16384, gpu_memory_utilization=0.95)
TLS_SECRET = "llm-example-com-tls"  # noqa: S105 - the name of a kubernetes.io/tls Secret, not a secret


def llama_8b_adapters() -> LoraOptions:
    """A support bot from the team's S3 bucket, and an SQL assistant already on a shared claim."""
    return LoraOptions(
        adapters=(
            LoraAdapter.s3(
                "support-bot",
                "llama-3.1-8b/support-bot",
                bucket="llm-adapters",
                region="eu-west-1",
                credentials=S3Credentials.from_secret("adapter-store"),
                revision="2026-11-01",
                rank=16,
            ),
            LoraAdapter.pvc("sql-assistant", "team-adapters", path="llama-3.1-8b/sql-assistant", rank=32),
        ),
    )


def policy(clients: dict[str, str]) -> ServerNetworkPolicy:
    """Ingress to the serving port only from the proxies in front and from Prometheus."""
    return ServerNetworkPolicy(from_namespaces=clients, metrics_from_namespaces=MONITORING_NAMESPACE)


def llama_8b(scope: Construct, construct_id: str, name: str, engine: EngineArgs, clients: dict[str, str]) -> VllmServer:
    return VllmServer(
        scope,
        construct_id,
        VllmServerProps(
            name=name,
            model=ModelSource.huggingface(
                "meta-llama/Llama-3.1-8B-Instruct", revision=LLAMA_8B_REVISION, include=("*.json", "*.safetensors", "tokenizer*")
            ),
            hf_token=SecretKeyRef("hf-token", "token"),
            api_key=SecretKeyRef("vllm-api-key", "key"),
            engine=engine,
            resources=Resources(cpu="8", memory="48Gi", accelerators=1),
            cache=ModelCache.pvc("50Gi"),
            lora=llama_8b_adapters(),
            pod=PodOptions(gpu_products=GpuProductAffinity.require("NVIDIA-L4", "NVIDIA-A100-SXM4-80GB", "NVIDIA-H100-80GB-HBM3")),
            network_policy=policy(clients),
        ),
    )


def llama_70b(scope: Construct, construct_id: str, clients: dict[str, str]) -> VllmServer:
    return VllmServer(
        scope,
        construct_id,
        VllmServerProps(
            name="llama-3-1-70b",
            model=ModelSource.huggingface(
                "meta-llama/Llama-3.1-70B-Instruct", revision=LLAMA_70B_REVISION, include=("*.json", "*.safetensors", "tokenizer*")
            ),
            hf_token=SecretKeyRef("hf-token", "token"),
            api_key=SecretKeyRef("vllm-api-key", "key"),
            engine=EngineArgs(served_model_name="llama-3.1-70b-instruct", tensor_parallel_size=4, max_model_len=32768),
            resources=Resources(cpu="32", memory="320Gi", accelerators=4),
            cache=ModelCache.pvc("200Gi"),
            pod=PodOptions(gpu_products=GpuProductAffinity.require("NVIDIA-A100-SXM4-80GB", "NVIDIA-H100-80GB-HBM3")),
            network_policy=policy(clients),
        ),
    )


class MultiModelGatewayChart(cdk8s.Chart):
    def __init__(self, scope: Construct, chart_id: str = "multi-model-gateway") -> None:
        super().__init__(scope, chart_id, namespace="models", disable_resource_name_hashes=True)
        stable = llama_8b(self, "llama-8b", "llama-3-1-8b", LLAMA_8B_ENGINE, GATEWAY_NAMESPACE)
        canary = llama_8b(
            self,
            "llama-8b-canary",
            "llama-3-1-8b-fp8kv",
            dataclasses.replace(LLAMA_8B_ENGINE, kv_cache_dtype=KvCacheDtype.FP8),
            GATEWAY_NAMESPACE,
        )
        big = llama_70b(self, "llama-70b", GATEWAY_NAMESPACE)
        for server in (stable, canary, big):
            Observability(
                self, f"{server.serving.server_name}-observability", ObservabilityProps(server=server, monitor_labels=MONITOR_LABELS)
            )
        InferenceGateway(
            self,
            "gateway",
            InferenceGatewayProps(
                name="models",
                gateway=GatewayRef(name="inference-gateway", namespace="gateway-system"),
                models=(
                    ModelRoute.canary(stable, canary, percent=10, name="llama-3-1-8b", priority=10),
                    ModelRoute.single(big),
                ),
                hostnames=("llm.example.com",),
                # The servers admit only the gateway's proxies and Prometheus; these policies add their pickers.
                network_policy=GatewayNetworkPolicy(gateway_namespaces=GATEWAY_NAMESPACE, metrics_namespaces=MONITORING_NAMESPACE),
            ),
        )


class MultiModelIngressChart(cdk8s.Chart):
    def __init__(self, scope: Construct, chart_id: str = "multi-model-ingress") -> None:
        super().__init__(scope, chart_id, namespace="models-ingress", disable_resource_name_hashes=True)
        small = llama_8b(self, "llama-8b", "llama-3-1-8b", LLAMA_8B_ENGINE, INGRESS_NAMESPACE)
        big = llama_70b(self, "llama-70b", INGRESS_NAMESPACE)
        InferenceIngress(
            self,
            "ingress",
            InferenceIngressProps(
                ingress_class_name="nginx",
                controller=IngressController.NGINX,
                endpoints=(
                    IngressEndpoint(workload=small, host="llama-8b.llm.example.com", tls_secret=TLS_SECRET),
                    IngressEndpoint(workload=big, host="llama-70b.llm.example.com", tls_secret=TLS_SECRET),
                ),
            ),
        )
