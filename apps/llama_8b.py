"""Llama-3.1-8B-Instruct on one GPU, weights from the Hugging Face Hub at a pinned commit."""

from __future__ import annotations

import cdk8s
from constructs import Construct

from vllm_constructs import (
    EngineArgs,
    GpuProductAffinity,
    ModelCache,
    ModelSource,
    Observability,
    ObservabilityProps,
    PodOptions,
    Resources,
    SecretKeyRef,
    ServerNetworkPolicy,
    VllmServer,
    VllmServerProps,
)

LLAMA_8B_REVISION = "0e9e39f249a16976918f6564b8830bc894c89659"


class Llama8bChart(cdk8s.Chart):
    def __init__(self, scope: Construct, chart_id: str = "llama-3-1-8b") -> None:
        super().__init__(scope, chart_id, namespace="llm", disable_resource_name_hashes=True)
        # One GPU and a ReadWriteOnce cache: deliberately not autoscaled (a second pod could not attach the
        # cache on another node); apps/llama_8b_hpa_metrics.py shows the same model autoscaled on an RWX cache.
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
                api_key=SecretKeyRef("vllm-api-key", "key"),
                engine=EngineArgs(served_model_name="llama-3.1-8b-instruct", max_model_len=32768, gpu_memory_utilization=0.95),
                resources=Resources(cpu="8", memory="48Gi", accelerators=1),
                cache=ModelCache.pvc("50Gi"),
                pod=PodOptions(gpu_products=GpuProductAffinity.require("NVIDIA-L4", "NVIDIA-A100-SXM4-80GB", "NVIDIA-H100-80GB-HBM3")),
                network_policy=ServerNetworkPolicy(
                    from_namespaces={"kubernetes.io/metadata.name": "llm-gateway"},
                    metrics_from_namespaces={"kubernetes.io/metadata.name": "monitoring"},
                    restrict_egress=True,
                ),
            ),
        )
        Observability(self, "observability", ObservabilityProps(server=server, monitor_labels={"release": "kube-prometheus-stack"}))
