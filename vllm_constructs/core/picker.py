"""The endpoint picker (llm-d-router's EPP) of one InferencePool, pure: its typed options
(:class:`EndpointPicker`, :class:`EndpointPickerConfig`) and the objects it runs as: a hardened Deployment, its
Service, the ConfigMap with its EndpointPickerConfig, a ServiceAccount and a least-privilege Role and RoleBinding.

Facts (flags, ports, probes, plugin names, RBAC) are those of llm-d-router v0.10.0; docs/gateway.md lists the sources.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import yaml

from .gvk import ENDPOINT_PICKER_CONFIG, INFERENCE_POOL
from .objects import KubeObject
from .validation import fail, in_range, value_class
from .values import Accelerator, FieldRef, Image, Lax, Resources, SecurityProfile, WorkloadLabels, env_list

__all__ = [
    "DEFAULT_PICKER_IMAGE",
    "PICKER_GRPC_PORT",
    "EndpointPicker",
    "EndpointPickerConfig",
    "FailureMode",
    "Scorer",
    "WeightedScorer",
    "picker_objects",
]

JsonObject = dict[str, Any]
DEFAULT_PICKER_IMAGE = Image("ghcr.io/llm-d/llm-d-router-endpoint-picker", tag="v0.10.0")
PICKER_GRPC_PORT = 9002
"""ext_proc gRPC: what the gateway dials (the InferencePool's endpointPickerRef port)."""
PICKER_HEALTH_PORT = 9003
PICKER_METRICS_PORT = 9090
CONFIG_FILE = "epp-config.yaml"
CONFIG_DIR = "/config"
GATEWAY_LABEL = "vllm-constructs.io/gateway"
"""Label naming the InferenceGateway an object belongs to (never in a selector)."""
PICKER_USER = 65532
"""The image's non-root user (USER 65532:65532)."""


class FailureMode(enum.StrEnum):
    """What the gateway does when the picker cannot be reached."""

    FAIL_OPEN = "FailOpen"
    """Route to any pod of the pool (requests keep flowing, without model-aware balancing)."""
    FAIL_CLOSE = "FailClose"
    """Refuse the request."""


class Scorer(enum.StrEnum):
    """Scorer plugins of llm-d-router v0.10.0 (all registered as Beta)."""

    QUEUE = "queue-scorer"
    """Prefers pods with fewer waiting requests (vllm:num_requests_waiting)."""
    KV_CACHE_UTILIZATION = "kv-cache-utilization-scorer"
    """Prefers pods with free KV cache (vllm:kv_cache_usage_perc)."""
    PREFIX_CACHE = "prefix-cache-scorer"
    """Prefers pods that likely hold the prompt's prefix in their cache."""
    LORA_AFFINITY = "lora-affinity-scorer"
    """Prefers pods that already have the request's adapter loaded (vllm:lora_requests_info)."""


@value_class
class WeightedScorer:
    """One scorer of the default scheduling profile and its weight."""

    scorer: Annotated[Scorer, Lax]
    weight: Annotated[int, in_range(1, 1000)] = 1


@value_class(kw_only=True)
class EndpointPickerConfig:
    """The picker's EndpointPickerConfig (``llm-d.ai/v1alpha1``): which scorers rank the pool's pods, and how much."""

    scorers: tuple[WeightedScorer, ...] = (
        WeightedScorer(Scorer.QUEUE, 2),
        WeightedScorer(Scorer.KV_CACHE_UTILIZATION, 2),
        WeightedScorer(Scorer.PREFIX_CACHE, 3),
    )
    """Default: queue 2, KV-cache utilization 2, prefix cache 3 (llm-d-router's defaults)."""
    lora_affinity_weight: Annotated[int, in_range(1, 1000)] | None = 1
    """Weight of the LoRA affinity scorer, added for pools whose servers load adapters. None: never. Default: 1."""
    flow_control: bool = False
    """Turn on the flowControl feature gate (queueing by InferenceObjective priority). Default: False."""

    def __post_init__(self) -> None:
        if not self.scorers:
            fail("scorers", (), "is empty, so every pod would score the same", "one scorer or more", "keep the default scorers")
        kinds = [s.scorer for s in self.scorers]
        for kind in kinds:
            if kinds.count(kind) > 1:
                fail("scorers", str(kind), "is listed twice", "each scorer once", "merge the two weights into one")

    def document(self, *, lora: bool) -> JsonObject:
        """The EndpointPickerConfig document; with ``lora`` the LoRA affinity scorer is added (unless turned off)."""
        scorers = [(str(s.scorer), s.weight) for s in self.scorers]
        if lora and self.lora_affinity_weight is not None and Scorer.LORA_AFFINITY not in {s.scorer for s in self.scorers}:
            scorers.append((str(Scorer.LORA_AFFINITY), self.lora_affinity_weight))
        doc: JsonObject = {"apiVersion": ENDPOINT_PICKER_CONFIG.api_version, "kind": ENDPOINT_PICKER_CONFIG.kind}
        if self.flow_control:
            doc["featureGates"] = ["flowControl"]
        doc["plugins"] = [
            *({"type": name} for name, _ in scorers),
            {"type": "metrics-data-source", "parameters": {"scheme": "http", "path": "/metrics", "insecureSkipVerify": True}},
            {"type": "core-metrics-extractor"},
        ]
        doc["schedulingProfiles"] = [{"name": "default", "plugins": [{"pluginRef": name, "weight": w} for name, w in scorers]}]
        return doc


@value_class(kw_only=True)
class EndpointPicker:
    """How each pool's endpoint picker runs."""

    image: Image = DEFAULT_PICKER_IMAGE
    """Default: ghcr.io/llm-d/llm-d-router-endpoint-picker:v0.10.0."""
    replicas: Annotated[int, in_range(1, 5)] = 1
    """More than one runs leader election (one active picker; standbys stay NotReady, so the Deployment never reports
    every replica available). Default: 1."""
    resources: Resources = field(default_factory=lambda: Resources(cpu="2", memory="4Gi"))
    """Requests equal limits unless limits are set. Default: 2 CPU, 4Gi."""
    failure_mode: Annotated[FailureMode, Lax] = FailureMode.FAIL_OPEN
    """Default: FailOpen (the gateway keeps routing to the pool if the picker is down)."""
    config: EndpointPickerConfig = field(default_factory=EndpointPickerConfig)
    """Scorers and feature gates. Default: see EndpointPickerConfig."""
    secure_serving: bool = True
    """Serve ext_proc over TLS with a self-signed certificate (the picker's default). Istio dials plaintext h2c: set
    False there. Default: True."""
    metrics_auth: bool = False
    """Guard /metrics with Kubernetes authn/authz (needs a ClusterRole for TokenReviews and SubjectAccessReviews,
    emitted when True). Default: False (restrict scrapers with a NetworkPolicy instead)."""
    log_verbosity: Annotated[int, in_range(0, 10)] | None = None
    """``--v``. Default: the picker's."""
    termination_grace_period_seconds: Annotated[int, in_range(1, 3600)] = 130
    """Time for in-flight picks after SIGTERM. Default: 130 (llm-d-router's chart)."""

    def __post_init__(self) -> None:
        if self.resources.accelerators:
            fail("resources.accelerators", self.resources.accelerators, "is set; the picker needs no accelerator", "0", "drop it")


@dataclass(frozen=True, slots=True)
class PickerTarget:
    """The pool a picker serves."""

    pool: str
    namespace: str
    lora: bool
    part_of: str
    owner: str
    """The gateway's name (a label on every object)."""
    id_suffix: str

    @property
    def name(self) -> str:
        return f"{self.pool}-epp"


def picker_labels(target: PickerTarget, image: Image) -> WorkloadLabels:
    return WorkloadLabels(
        name="endpoint-picker", instance=target.name, component="endpoint-picker", part_of=target.part_of, version=image.version_label
    )


def _args(picker: EndpointPicker, target: PickerTarget) -> list[str]:
    args = ["--pool-name", target.pool, "--pool-namespace", target.namespace, "--pool-group", INFERENCE_POOL.api_version.split("/")[0]]
    args += ["--config-file", f"{CONFIG_DIR}/{CONFIG_FILE}"]
    args += [
        "--grpc-port",
        str(PICKER_GRPC_PORT),
        "--grpc-health-port",
        str(PICKER_HEALTH_PORT),
        "--metrics-port",
        str(PICKER_METRICS_PORT),
    ]
    args += ["--zap-encoder", "json", "--tracing=false", f"--metrics-endpoint-auth={'true' if picker.metrics_auth else 'false'}"]
    if not picker.secure_serving:
        args.append("--secure-serving=false")
    if picker.replicas > 1:
        args.append("--ha-enable-leader-election")
    if picker.log_verbosity is not None:
        args.append(f"--v={picker.log_verbosity}")
    return args


def _container(picker: EndpointPicker, target: PickerTarget, security: SecurityProfile) -> JsonObject:
    grpc = {"port": PICKER_HEALTH_PORT}
    return {
        "name": "epp",
        "image": picker.image.ref,
        "imagePullPolicy": str(picker.image.pull_policy),
        "args": _args(picker, target),
        "env": env_list({"NAMESPACE": FieldRef("metadata.namespace"), "POD_NAME": FieldRef("metadata.name")}),
        "ports": [
            {"name": "grpc", "containerPort": PICKER_GRPC_PORT, "protocol": "TCP"},
            {"name": "grpc-health", "containerPort": PICKER_HEALTH_PORT, "protocol": "TCP"},
            {"name": "metrics", "containerPort": PICKER_METRICS_PORT, "protocol": "TCP"},
        ],
        "livenessProbe": {"grpc": {**grpc, "service": "liveness"}, "initialDelaySeconds": 5, "periodSeconds": 10, "failureThreshold": 3},
        "readinessProbe": {"grpc": {**grpc, "service": "readiness"}, "periodSeconds": 2, "failureThreshold": 3},
        "resources": picker.resources.to_json(Accelerator.nvidia()),
        "securityContext": security.container_json(),
        "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True}, {"name": "tmp", "mountPath": "/tmp"}],
    }


def _deployment(picker: EndpointPicker, target: PickerTarget, labels: WorkloadLabels) -> KubeObject:
    security = SecurityProfile(run_as_user=PICKER_USER, run_as_group=PICKER_USER, fs_group=None)
    pod: JsonObject = {
        "serviceAccountName": target.name,
        "automountServiceAccountToken": True,
        "enableServiceLinks": False,
        "securityContext": security.pod_json(),
        "terminationGracePeriodSeconds": picker.termination_grace_period_seconds,
        "containers": [_container(picker, target, security)],
        "volumes": [{"name": "config", "configMap": {"name": target.name}}, {"name": "tmp", "emptyDir": {}}],
    }
    # One replica: surge a new picker before the old one goes (no leader election, so two may briefly pick).
    # Several: leader election keeps standbys NotReady, which would stall a rolling update, so replace them all.
    strategy: JsonObject = (
        {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}} if picker.replicas == 1 else {"type": "Recreate"}
    )
    spec = {
        "replicas": picker.replicas,
        "revisionHistoryLimit": 5,
        "selector": {"matchLabels": labels.selector},
        "strategy": strategy,
        "template": {"metadata": {"labels": labels.labels()}, "spec": pod},
    }
    obj_labels = {**labels.labels(), GATEWAY_LABEL: target.owner}
    return KubeObject(f"Picker{target.id_suffix}", "apps/v1", "Deployment", target.name, obj_labels, {"spec": spec})


def _rbac(picker: EndpointPicker, target: PickerTarget, labels: Mapping[str, str]) -> list[KubeObject]:
    """Read the pool's pods, the pool and the objectives and rewrites that name it; leases and events only for leader
    election; TokenReviews and SubjectAccessReviews (cluster-scoped) only for metrics auth. No wildcards."""
    read = ["get", "list", "watch"]
    rules: list[JsonObject] = [
        {"apiGroups": [""], "resources": ["pods"], "verbs": read},
        {"apiGroups": ["inference.networking.k8s.io"], "resources": ["inferencepools"], "verbs": read},
        {"apiGroups": ["llm-d.ai"], "resources": ["inferenceobjectives", "inferencemodelrewrites"], "verbs": read},
    ]
    if picker.replicas > 1:
        rules.append({"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]})
        rules.append({"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]})
    subject = [{"kind": "ServiceAccount", "name": target.name, "namespace": target.namespace}]
    rbac = "rbac.authorization.k8s.io"
    s = target.id_suffix
    out = [
        KubeObject(f"PickerRole{s}", f"{rbac}/v1", "Role", target.name, labels, {"rules": rules}),
        KubeObject(
            f"PickerRoleBinding{s}", f"{rbac}/v1", "RoleBinding", target.name, labels,
            {"roleRef": {"apiGroup": rbac, "kind": "Role", "name": target.name}, "subjects": subject},
        ),
    ]  # fmt: skip
    if picker.metrics_auth:
        cluster_name = f"{target.namespace}-{target.name}-metrics-auth"
        auth = [
            {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
            {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]},
        ]
        out.append(KubeObject(f"PickerMetricsAuth{s}", f"{rbac}/v1", "ClusterRole", cluster_name, labels, {"rules": auth}))
        ref = {"apiGroup": rbac, "kind": "ClusterRole", "name": cluster_name}
        out.append(
            KubeObject(
                f"PickerMetricsAuthBinding{s}",
                f"{rbac}/v1",
                "ClusterRoleBinding",
                cluster_name,
                labels,
                {"roleRef": ref, "subjects": subject},
            )
        )
    return out


def picker_objects(picker: EndpointPicker, target: PickerTarget) -> list[KubeObject]:
    """Every object of one pool's picker: ConfigMap, ServiceAccount, RBAC, Deployment and Service."""
    labels = picker_labels(target, picker.image)
    obj_labels = {**labels.labels(), GATEWAY_LABEL: target.owner}
    text = yaml.safe_dump(picker.config.document(lora=target.lora), sort_keys=False)
    service_spec = {
        "type": "ClusterIP",
        "selector": labels.selector,
        "ports": [
            {"name": "grpc-ext-proc", "port": PICKER_GRPC_PORT, "targetPort": "grpc", "protocol": "TCP"},
            {"name": "http-metrics", "port": PICKER_METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"},
        ],
    }
    s = target.id_suffix
    return [
        KubeObject(f"PickerConfig{s}", "v1", "ConfigMap", target.name, obj_labels, {"data": {CONFIG_FILE: text}}),
        KubeObject(f"PickerAccount{s}", "v1", "ServiceAccount", target.name, obj_labels, {"automountServiceAccountToken": True}),
        *_rbac(picker, target, obj_labels),
        _deployment(picker, target, labels),
        KubeObject(f"PickerService{s}", "v1", "Service", target.name, obj_labels, {"spec": service_spec}),
    ]
