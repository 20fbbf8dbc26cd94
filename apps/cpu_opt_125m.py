"""facebook/opt-125m on CPU, as the upstream chart's CI ran it: CPU image, weights from S3 (MinIO)."""

from __future__ import annotations

import cdk8s
from constructs import Construct

from vllm_constructs import (
    Dtype,
    EngineArgs,
    Image,
    ModelCache,
    ModelSource,
    MonitorKind,
    Observability,
    ObservabilityProps,
    Resources,
    ServerNetworkPolicy,
    VllmServer,
    VllmServerProps,
)


class CpuOpt125mChart(cdk8s.Chart):
    def __init__(self, scope: Construct, chart_id: str = "cpu-opt-125m") -> None:
        super().__init__(scope, chart_id, namespace="ns-vllm", disable_resource_name_hashes=True)
        server = VllmServer(
            self,
            "opt-125m",
            VllmServerProps(
                name="opt-125m",
                image=Image("public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo", tag="v0.33.0"),
                model=ModelSource.chart_s3("minio-model-store", "opt-125m", revision="2026-11-01"),
                # No --block-size: vLLM's CPU attention refuses 16 (it needs a multiple of 32) and picks 128 itself.
                engine=EngineArgs(served_model_name="opt-125m", dtype=Dtype.BFLOAT16),
                resources=Resources(cpu="2", memory="5Gi"),
                cache=ModelCache.pvc("2Gi"),
                network_policy=ServerNetworkPolicy(
                    metrics_from_namespaces={"kubernetes.io/metadata.name": "monitoring"}, restrict_egress=True
                ),
                env_config={"VLLM_CPU_KVCACHE_SPACE": 1, "VLLM_LOGGING_LEVEL": "DEBUG"},
            ),
        )
        # A PodMonitor here (the CI cluster's Prometheus scrapes pods directly); no restart alert without kube-state-metrics.
        Observability(self, "observability", ObservabilityProps(server=server, monitor=MonitorKind.POD_MONITOR, restart_alert=False))
