"""apiVersion and kind of the custom resources the constructs emit.

They are the GVKs of the typed bindings that `cdk8s import` generates into imports/ from the pinned CRDs;
tests/test_gvk.py proves they match. The constructs use these constants instead of importing imports/ at run
time: imports/ is not part of the installed package, and the KubeRay binding alone costs 0.7 s to import.
"""

from __future__ import annotations

from typing import NamedTuple


class Gvk(NamedTuple):
    api_version: str
    kind: str


RAY_CLUSTER = Gvk("ray.io/v1", "RayCluster")
LEADER_WORKER_SET = Gvk("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet")
SCALED_OBJECT = Gvk("keda.sh/v1alpha1", "ScaledObject")
TRIGGER_AUTHENTICATION = Gvk("keda.sh/v1alpha1", "TriggerAuthentication")
SERVICE_MONITOR = Gvk("monitoring.coreos.com/v1", "ServiceMonitor")
POD_MONITOR = Gvk("monitoring.coreos.com/v1", "PodMonitor")
PROMETHEUS_RULE = Gvk("monitoring.coreos.com/v1", "PrometheusRule")
INFERENCE_POOL = Gvk("inference.networking.k8s.io/v1", "InferencePool")
INFERENCE_OBJECTIVE = Gvk("llm-d.ai/v1alpha2", "InferenceObjective")
INFERENCE_MODEL_REWRITE = Gvk("llm-d.ai/v1alpha2", "InferenceModelRewrite")
HTTP_ROUTE = Gvk("gateway.networking.k8s.io/v1", "HTTPRoute")
GATEWAY = Gvk("gateway.networking.k8s.io/v1", "Gateway")
"""What an HTTPRoute's parentRefs name (the construct never emits a Gateway)."""
ENDPOINT_PICKER_CONFIG = Gvk("llm-d.ai/v1alpha1", "EndpointPickerConfig")
"""The endpoint picker's config file format (``--config-file``), not a CRD: it has no binding in imports/."""
