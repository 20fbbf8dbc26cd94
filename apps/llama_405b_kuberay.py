"""Llama-3.1-405B-Instruct on two 8-GPU nodes as a KubeRay RayCluster (TP 8 x PP 2)."""

from __future__ import annotations

import cdk8s
from constructs import Construct

from apps.llama_405b_common import llama_405b_props
from vllm_constructs import MultiNodeBackend, Observability, ObservabilityProps, RayCluster


class Llama405bKubeRayChart(cdk8s.Chart):
    def __init__(self, scope: Construct, chart_id: str = "llama-3-1-405b-kuberay") -> None:
        super().__init__(scope, chart_id, namespace="llm-multinode", disable_resource_name_hashes=True)
        server = RayCluster(self, "llama-405b", llama_405b_props("llama-405b-kuberay", MultiNodeBackend.KUBERAY))
        # The serving pod (head or leader) is scraped and alerted on like any server; workers export no vLLM metrics.
        Observability(self, "observability", ObservabilityProps(server=server, monitor_labels={"release": "kube-prometheus-stack"}))
