"""Llama-3.1-8B-Instruct autoscaled by a plain HPA on vLLM's own metrics (through Prometheus Adapter).

The cache is ReadWriteMany so that pods on several nodes can read the weights; the Autoscaler owns the
replica count (the Deployment renders no spec.replicas) and emits the adapter rules that expose exactly
the metric names its HPA asks for.
"""

from __future__ import annotations

import cdk8s
from constructs import Construct

from apps.llama_8b import LLAMA_8B_REVISION
from vllm_constructs import (
    Autoscaler,
    AutoscalerProps,
    EngineArgs,
    GpuProductAffinity,
    HealthChecks,
    ModelCache,
    ModelSource,
    Observability,
    ObservabilityProps,
    PodOptions,
    Resources,
    Scaling,
    SecretKeyRef,
    ServerNetworkPolicy,
    VllmServer,
    VllmServerProps,
)

# An 8B model loads in a few minutes from a warm cache: a 10-minute budget also paces scale-up (+1 pod per 10 min).
HEALTH = HealthChecks(startup_timeout_seconds=600)


class Llama8bHpaChart(cdk8s.Chart):
    def __init__(self, scope: Construct, chart_id: str = "llama-3-1-8b-hpa") -> None:
        super().__init__(scope, chart_id, namespace="llm-hpa", disable_resource_name_hashes=True)
        server = VllmServer(
            self,
            "llama-8b",
            VllmServerProps(
                name="llama-3-1-8b",
                model=ModelSource.huggingface(
                    "meta-llama/Llama-3.1-8B-Instruct",
                    revision=LLAMA_8B_REVISION,
                    include=("*.json", "*.safetensors", "tokenizer*"),
                ),
                hf_token=SecretKeyRef("hf-token", "token"),
                engine=EngineArgs(served_model_name="llama-3.1-8b-instruct", max_model_len=32768, gpu_memory_utilization=0.95),
                resources=Resources(cpu="8", memory="48Gi", accelerators=1),
                cache=ModelCache.pvc("50Gi", storage_class="shared-rwx", access_mode="ReadWriteMany"),
                network_policy=ServerNetworkPolicy(
                    from_namespaces={"kubernetes.io/metadata.name": "llm-gateway"},
                    metrics_from_namespaces={"kubernetes.io/metadata.name": "monitoring"},
                    restrict_egress=True,
                ),
                health=HEALTH,
                pod=PodOptions(gpu_products=GpuProductAffinity.require("NVIDIA-L4", "NVIDIA-A100-SXM4-80GB", "NVIDIA-H100-80GB-HBM3")),
            ),
        )
        Observability(self, "observability", ObservabilityProps(server=server, monitor_labels={"release": "kube-prometheus-stack"}))
        Autoscaler(
            self,
            "autoscaler",
            AutoscalerProps(
                target=server,
                scaling=Scaling.vllm_metrics({"vllm:num_requests_waiting": 4, "vllm:kv_cache_usage_perc": 0.8}),
                min_replicas=1,
                max_replicas=3,
            ),
        )
