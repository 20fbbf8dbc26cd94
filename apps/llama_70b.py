"""Llama-3.1-70B-Instruct, tensor-parallel over four GPUs of one node (shared memory mounted automatically)."""

from __future__ import annotations

import cdk8s
from constructs import Construct

from vllm_constructs import (
    Autoscaler,
    AutoscalerProps,
    EngineArgs,
    GpuProductAffinity,
    ModelCache,
    ModelSource,
    Observability,
    ObservabilityProps,
    PodOptions,
    Resources,
    Scaling,
    SecretKeyRef,
    ServerNetworkPolicy,
    TopologySpread,
    VllmServer,
    VllmServerProps,
)

LLAMA_70B_REVISION = "1605565b47bb9346c5515c34102e054115b4f98b"
PROMETHEUS_URL = "http://prometheus-operated.monitoring.svc:9090"


class Llama70bChart(cdk8s.Chart):
    def __init__(self, scope: Construct, chart_id: str = "llama-3-1-70b-tp4") -> None:
        super().__init__(scope, chart_id, namespace="llm", disable_resource_name_hashes=True)
        server = VllmServer(
            self,
            "llama-70b",
            VllmServerProps(
                name="llama-3-1-70b",
                model=ModelSource.huggingface(
                    "meta-llama/Llama-3.1-70B-Instruct",
                    revision=LLAMA_70B_REVISION,
                    include=("*.json", "*.safetensors", "tokenizer*"),
                ),
                hf_token=SecretKeyRef("hf-token", "token"),
                engine=EngineArgs(
                    served_model_name="llama-3.1-70b-instruct",
                    tensor_parallel_size=4,
                    max_model_len=65536,
                    gpu_memory_utilization=0.9,
                ),
                resources=Resources(cpu="32", memory="320Gi", accelerators=4),
                cache=ModelCache.pvc("300Gi", storage_class="shared-rwx", access_mode="ReadWriteMany"),
                network_policy=ServerNetworkPolicy(
                    from_namespaces={"kubernetes.io/metadata.name": "llm-gateway"},
                    metrics_from_namespaces={"kubernetes.io/metadata.name": "monitoring"},
                    restrict_egress=True,
                ),
                replicas=2,
                pod=PodOptions(
                    gpu_products=GpuProductAffinity.require("NVIDIA-H100-80GB-HBM3", "NVIDIA-A100-SXM4-80GB"),
                    topology_spread=(TopologySpread(),),
                ),
            ),
        )
        Observability(self, "observability", ObservabilityProps(server=server, monitor_labels={"release": "kube-prometheus-stack"}))
        # Two replicas always (the old fixed count), up to four on queue depth or KV cache pressure.
        Autoscaler(
            self,
            "autoscaler",
            AutoscalerProps(
                target=server,
                scaling=Scaling.keda(
                    PROMETHEUS_URL,
                    {"vllm:num_requests_waiting": 8, "vllm:kv_cache_usage_perc": 0.85},
                ),
                min_replicas=2,
                max_replicas=4,
            ),
        )
