"""GpuDeployment: a Deployment for one accelerator workload, with defaults fit for GPU servers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import cdk8s
from constructs import Construct

from ._check import Checker
from ._emit import JsonObject, adopt, emit, namespace_of, path_of, root_of
from .kube import (
    Accelerator,
    ContainerPort,
    EnvFrom,
    EnvValue,
    GpuProductAffinity,
    HealthChecks,
    Image,
    Resources,
    RolloutStrategy,
    SecurityProfile,
    SharedMemory,
    Toleration,
    TopologySpread,
    Volume,
    env_list,
)

__all__ = ["GpuDeployment", "GpuDeploymentProps", "WorkloadIdentity"]

MANAGED_BY = "vllm-constructs"


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkloadIdentity:
    """The app.kubernetes.io labels of one workload. The selector uses name, instance and component only."""

    name: str = "vllm"
    """app.kubernetes.io/name. Default: vllm."""
    instance: str
    """app.kubernetes.io/instance: unique per namespace (the server's name)."""
    component: str = "server"
    """app.kubernetes.io/component. Default: server."""
    part_of: str = "vllm"
    """app.kubernetes.io/part-of. Default: vllm."""
    version: str | None = None
    """app.kubernetes.io/version (never in a selector). Default: the image tag."""

    @property
    def selector(self) -> dict[str, str]:
        return {
            "app.kubernetes.io/name": self.name,
            "app.kubernetes.io/instance": self.instance,
            "app.kubernetes.io/component": self.component,
        }

    def labels(self, extra: Mapping[str, str] = {}) -> dict[str, str]:
        out = {
            **dict(extra),
            **self.selector,
            "app.kubernetes.io/part-of": self.part_of,
            "app.kubernetes.io/managed-by": MANAGED_BY,
        }
        if self.version:
            out["app.kubernetes.io/version"] = self.version
        return out


@dataclass(frozen=True, kw_only=True, slots=True)
class PodOptions:
    """Pod-level options shared by every workload construct (scheduling, security, sidecars, metadata)."""

    gpu_products: GpuProductAffinity | None = None
    """Node affinity on the product label. Default: none (any node with the resource)."""
    tolerate_accelerator_taint: bool = True
    """Tolerate the ``<resource>:NoSchedule`` taint that GPU node pools carry. Default: True when accelerators > 0."""
    tolerations: tuple[Toleration, ...] = ()
    """More tolerations. Default: none."""
    node_selector: Mapping[str, str] = field(default_factory=dict)
    """Default: none."""
    runtime_class_name: str | None = None
    """Opt-in RuntimeClass (e.g. 'nvidia'). Default: none: the cluster's default runtime."""
    shared_memory: SharedMemory | None = None
    """/dev/shm. Default: on when parallel, 16Gi capped at a quarter of the memory limit."""
    drain_seconds: int = 15
    """preStop sleep so endpoints drop the pod before SIGTERM. Default: 15."""
    termination_grace_period_seconds: int = 120
    """Time for in-flight requests to finish after SIGTERM, including the drain. Default: 120."""
    init_containers: tuple[Mapping[str, Any], ...] = ()
    """Init containers (Kubernetes JSON), run in order before the server. Default: none."""
    extra_containers: tuple[Mapping[str, Any], ...] = ()
    """Sidecar containers (Kubernetes JSON). Default: none."""
    security: SecurityProfile = field(default_factory=SecurityProfile)
    """Default: hardened (non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp)."""
    service_account_name: str | None = None
    """Default: none (the namespace default account, with no token mounted)."""
    automount_service_account_token: bool = False
    """Default: False; vLLM never talks to the Kubernetes API."""
    priority_class_name: str | None = None
    """Default: none."""
    topology_spread: tuple[TopologySpread, ...] = ()
    """Default: none."""
    image_pull_secrets: tuple[str, ...] = ()
    """Names of docker-registry Secrets. Default: none."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels on the Deployment and its pods (never in the selector). Default: none."""
    annotations: Mapping[str, str] = field(default_factory=dict)
    """Annotations on the Deployment. Default: none."""
    pod_annotations: Mapping[str, str] = field(default_factory=dict)
    """Annotations on the pods. Default: none."""
    host_network: bool = False
    """Use the node's network namespace. Default: False."""


@dataclass(frozen=True, kw_only=True, slots=True)
class GpuDeploymentProps:
    """Props of :class:`GpuDeployment`. Only ``name``, ``image`` and ``resources`` are required."""

    name: str
    """Deployment name, a DNS-1123 label. No default."""
    image: Image
    """Container image; a tag other than 'latest' or a digest. No default."""
    resources: Resources
    """cpu, memory and accelerator count. No default."""
    identity: WorkloadIdentity | None = None
    """Labels and selector. Default: name 'vllm', instance = ``name``, component 'server'."""
    container_name: str = "server"
    """Name of the main container. Default: server."""
    command: tuple[str, ...] = ()
    """Entrypoint override. Default: the image's."""
    args: tuple[str, ...] = ()
    """Arguments. Default: none."""
    env: Mapping[str, EnvValue] = field(default_factory=dict)
    """Environment, in order: literal strings or references. Default: none."""
    env_from: tuple[EnvFrom, ...] = ()
    """ConfigMaps and Secrets imported whole. Default: none."""
    port: ContainerPort = field(default_factory=lambda: ContainerPort("http", 8000))
    """The serving port; probes and Services use its name. Default: http/8000."""
    extra_ports: tuple[ContainerPort, ...] = ()
    """More ports on the main container. Default: none."""
    accelerator: Accelerator = field(default_factory=Accelerator.nvidia)
    """Accelerator kind. Default: nvidia.com/gpu."""
    parallel: bool | None = None
    """Whether the workload spans several accelerators. Default: accelerators > 1."""
    health: HealthChecks = field(default_factory=HealthChecks)
    """Startup, readiness and liveness probes. Default: see HealthChecks."""
    replicas: int | None = 1
    """Replica count; None omits spec.replicas (an autoscaler owns it). Default: 1."""
    rollout: RolloutStrategy = field(default_factory=RolloutStrategy.rolling)
    """Default: RollingUpdate with maxSurge 0, maxUnavailable 1 (needs no spare accelerator)."""
    progress_deadline_seconds: int | None = None
    """Default: the startup budget plus 600 s."""
    volumes: tuple[Volume, ...] = ()
    """Volumes mounted into the main container. Default: none."""
    extra_volumes: tuple[Mapping[str, Any], ...] = ()
    """Pod volumes (Kubernetes JSON) not mounted into the main container (for init or sidecar containers). Default: none."""
    pod: PodOptions = field(default_factory=PodOptions)
    """Scheduling, security, sidecars and metadata of the pods. Default: see PodOptions."""


def _registry(scope: Construct) -> dict[tuple[str, tuple[tuple[str, str], ...]], str]:
    """Selectors already taken in this app, keyed by (namespace, selector)."""
    root = root_of(scope)
    reg: dict[tuple[str, tuple[tuple[str, str], ...]], str] | None = getattr(root, "_vllm_constructs_selectors", None)
    if reg is None:
        reg = {}
        root._vllm_constructs_selectors = reg  # type: ignore[attr-defined]
    return reg


def claim_selector(scope: Construct, path: str, selector: Mapping[str, str]) -> None:
    """Refuse a second workload with the same selector in the same namespace of one app."""
    reg = _registry(scope)
    key = (namespace_of(scope), tuple(sorted(selector.items())))
    if key in reg:
        Checker(path).fail(
            "identity.instance",
            selector.get("app.kubernetes.io/instance"),
            f"is already used by {reg[key]} in namespace {key[0] or '(default)'!r}, so the two would select each other's pods",
            "one instance name per component and namespace",
            "give each server a distinct name",
        )
    reg[key] = path


def _container_names(containers: tuple[Mapping[str, Any], ...], check: Checker, fld: str) -> list[str]:
    names = []
    for i, c in enumerate(containers):
        name = c.get("name") if isinstance(c, Mapping) else None
        if not isinstance(name, str):
            check.fail(f"{fld}[{i}].name", name, "is missing", "every container has a DNS-1123 name", "add a 'name' key")
        check.dns_label(f"{fld}[{i}].name", name)
        names.append(name)
    return names


def render_deployment(path: str, props: GpuDeploymentProps) -> tuple[JsonObject, WorkloadIdentity]:
    """Check ``props`` and build the Deployment's ``spec``. Pure: no construct is created."""
    check = Checker(path)
    o = props.pod
    check.dns_label("name", props.name)
    props.image.check(check, "image")
    _, mem_limit = props.resources.check(check, "resources")
    identity = props.identity or WorkloadIdentity(instance=props.name, version=props.image.version_label)
    check.label_map("identity", identity.selector)
    check.label_map("pod.labels", dict(o.labels))
    props.port.check(check, "port")
    for i, p in enumerate(props.extra_ports):
        p.check(check, f"extra_ports[{i}]")
    ports = [props.port, *props.extra_ports]
    check.unique("extra_ports", [p.name for p in ports], what="port")
    seen_numbers: dict[tuple[int, str], str] = {}
    for p in ports:
        if (p.port, p.protocol) in seen_numbers:
            check.fail(
                "extra_ports",
                p.port,
                f"clashes with port {seen_numbers[(p.port, p.protocol)]!r} on the same number",
                "each port number once per protocol",
                "pick another port number",
            )
        seen_numbers[(p.port, p.protocol)] = p.name
    if o.gpu_products is not None:
        o.gpu_products.check(check, "pod.gpu_products")
        if props.resources.accelerators == 0:
            check.fail(
                "pod.gpu_products",
                o.gpu_products.products,
                "is set but the pod requests no accelerator",
                "gpu_products only with resources.accelerators > 0",
                "request accelerators or drop gpu_products",
            )
    for i, t in enumerate(o.tolerations):
        t.check(check, f"pod.tolerations[{i}]")
    check.label_map("pod.node_selector", dict(o.node_selector))
    if o.runtime_class_name is not None:
        check.dns_subdomain("pod.runtime_class_name", o.runtime_class_name)
    props.health.check(check, "health")
    props.rollout.check(check, "rollout")
    o.security.check(check, "pod.security")
    for i, ts in enumerate(o.topology_spread):
        ts.check(check, f"pod.topology_spread[{i}]")
    check.integer("pod.drain_seconds", o.drain_seconds, minimum=0, maximum=3600)
    check.integer(
        "pod.termination_grace_period_seconds",
        o.termination_grace_period_seconds,
        minimum=o.drain_seconds + 1,
        maximum=86400,
    )
    if props.replicas is not None:
        check.integer("replicas", props.replicas, minimum=0)
    deadline = props.progress_deadline_seconds
    if deadline is None:
        deadline = props.health.startup_timeout_seconds + 600
    elif deadline <= props.health.startup_timeout_seconds:
        check.fail(
            "progress_deadline_seconds",
            deadline,
            f"is not above the startup budget ({props.health.startup_timeout_seconds} s), "
            "so every rollout would be reported failed while the model loads",
            f"an integer > {props.health.startup_timeout_seconds}",
            "leave it unset (startup budget + 600 s) or raise it",
        )

    parallel = props.parallel if props.parallel is not None else props.resources.accelerators > 1
    shm = o.shared_memory
    if shm is None:
        shm = SharedMemory.of(SharedMemory.default_size(mem_limit)) if parallel else SharedMemory.disabled()
    if shm.enabled:
        size = check.quantity("pod.shared_memory.size", shm.size or "")
        if size >= mem_limit:
            check.fail(
                "pod.shared_memory.size",
                shm.size,
                f"is not below the memory limit ({props.resources.memory_limit or props.resources.memory}); "
                "/dev/shm pages count against it",
                "a size below the container memory limit",
                "raise resources.memory_limit or lower shared_memory",
            )
    elif parallel and o.shared_memory is not None:
        check.fail(
            "pod.shared_memory",
            "disabled",
            "is off for a parallel workload; NCCL then fails on the 64Mi default /dev/shm",
            "SharedMemory.of(size) when the workload spans several accelerators",
            "remove shared_memory=SharedMemory.disabled() or set a size",
        )

    env = env_list(props.env, check, "env")
    volumes = list(props.volumes)
    if shm.enabled:
        volumes.append(Volume(name="dshm", mount_path="/dev/shm", source={"emptyDir": {"medium": "Memory", "sizeLimit": shm.size}}))
    if o.security.read_only_root_filesystem and not any(v.mount_path == "/tmp" for v in volumes):
        volumes.append(Volume(name="tmp", mount_path="/tmp", source={"emptyDir": {}}))
    init_names = _container_names(o.init_containers, check, "pod.init_containers")
    extra_names = _container_names(o.extra_containers, check, "pod.extra_containers")
    check.dns_label("container_name", props.container_name)
    check.unique("pod.extra_containers", [props.container_name, *extra_names, *init_names], what="container")
    extra_volume_names = []
    for i, v in enumerate(props.extra_volumes):
        vname = v.get("name") if isinstance(v, Mapping) else None
        if not isinstance(vname, str):
            check.fail(f"extra_volumes[{i}].name", vname, "is missing", "every volume has a DNS-1123 name", "add a 'name' key")
        extra_volume_names.append(vname)
    check.unique("volumes", [v.name for v in volumes] + extra_volume_names, what="volume")
    check.unique("volumes.mount_path", [v.mount_path for v in volumes], what="mount path")

    main: JsonObject = {"name": props.container_name, "image": props.image.ref, "imagePullPolicy": str(props.image.pull_policy)}
    if props.command:
        main["command"] = list(props.command)
    if props.args:
        main["args"] = list(props.args)
    if env:
        main["env"] = env
    if props.env_from:
        main["envFrom"] = [e.to_json() for e in props.env_from]
    main["ports"] = [p.to_json() for p in ports]
    main["resources"] = props.resources.to_json(props.accelerator)
    main.update(props.health.probes(props.port.name))
    if o.drain_seconds > 0:
        main["lifecycle"] = {"preStop": {"exec": {"command": ["sleep", str(o.drain_seconds)]}}}
    main["securityContext"] = o.security.container_json()
    if volumes:
        main["volumeMounts"] = [v.mount_json() for v in volumes]

    pod_labels = identity.labels(o.labels)
    pod: JsonObject = {
        "enableServiceLinks": False,
        "automountServiceAccountToken": o.automount_service_account_token,
    }
    if o.service_account_name:
        check.dns_subdomain("pod.service_account_name", o.service_account_name)
        pod["serviceAccountName"] = o.service_account_name
    if o.host_network:
        pod["hostNetwork"] = True
        pod["dnsPolicy"] = "ClusterFirstWithHostNet"
    pod["securityContext"] = o.security.pod_json()
    pod["terminationGracePeriodSeconds"] = o.termination_grace_period_seconds
    if o.priority_class_name:
        check.dns_subdomain("pod.priority_class_name", o.priority_class_name)
        pod["priorityClassName"] = o.priority_class_name
    if o.runtime_class_name:
        pod["runtimeClassName"] = o.runtime_class_name
    if o.node_selector:
        pod["nodeSelector"] = dict(o.node_selector)
    if o.gpu_products is not None:
        pod["affinity"] = o.gpu_products.to_affinity(props.accelerator.product_label)
    tolerations = [t.to_json() for t in o.tolerations]
    if props.resources.accelerators > 0 and o.tolerate_accelerator_taint:
        auto = {"key": props.accelerator.resource, "operator": "Exists", "effect": "NoSchedule"}
        if auto not in tolerations:
            tolerations.insert(0, auto)
    if tolerations:
        pod["tolerations"] = tolerations
    if o.topology_spread:
        pod["topologySpreadConstraints"] = [ts.to_json(identity.selector) for ts in o.topology_spread]
    if o.image_pull_secrets:
        pod["imagePullSecrets"] = [{"name": s} for s in o.image_pull_secrets]
    if o.init_containers:
        pod["initContainers"] = [dict(c) for c in o.init_containers]
    pod["containers"] = [main, *(dict(c) for c in o.extra_containers)]
    all_volumes = [v.volume_json() for v in volumes] + [dict(v) for v in props.extra_volumes]
    if all_volumes:
        pod["volumes"] = all_volumes

    template_meta: JsonObject = {"labels": pod_labels}
    if o.pod_annotations:
        template_meta["annotations"] = dict(o.pod_annotations)
    spec: JsonObject = {}
    if props.replicas is not None:
        spec["replicas"] = props.replicas
    spec["revisionHistoryLimit"] = 5
    spec["progressDeadlineSeconds"] = deadline
    spec["selector"] = {"matchLabels": identity.selector}
    spec["strategy"] = props.rollout.to_json()
    spec["template"] = {"metadata": template_meta, "spec": pod}
    return spec, identity


def content_hash(value: object, length: int = 10) -> str:
    """A short stable hash of JSON-serialisable content (sorted keys)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:length]


class GpuDeployment(Construct):
    """A Deployment for one accelerator workload.

    Defaults fit a GPU server that loads for minutes: a startup probe with an explicit budget,
    readiness and liveness that start only after it, a preStop drain, ``enableServiceLinks: false``,
    a rollout that needs no spare accelerator, /dev/shm when parallel, hardened security context,
    accelerator request equal to limit, and a selector unique to this workload.
    """

    def __init__(self, scope: Construct, construct_id: str, props: GpuDeploymentProps) -> None:
        super().__init__(scope, construct_id)
        adopt(self, scope, construct_id)
        spec, identity = render_deployment(path_of(self), props)
        claim_selector(self, path_of(self), identity.selector)
        self.props = props
        self.identity = identity
        self.port = props.port
        self.autoscaled = props.replicas is None
        self.resource: cdk8s.ApiObject = emit(
            self,
            "Resource",
            api_version="apps/v1",
            kind="Deployment",
            name=props.name,
            labels=identity.labels(props.pod.labels),
            annotations=props.pod.annotations,
            body={"spec": spec},
        )
        self._spec = spec

    @property
    def name(self) -> str:
        return self.props.name

    @property
    def selector_labels(self) -> dict[str, str]:
        """The labels that select exactly this workload's pods (a copy)."""
        return dict(self.identity.selector)

    @property
    def pod_template(self) -> JsonObject:
        """A deep copy of the rendered pod template, for checks and derived objects."""
        copied: JsonObject = json.loads(json.dumps(self._spec["template"]))
        return copied

    @property
    def api_version(self) -> str:
        return "apps/v1"

    @property
    def kind(self) -> str:
        return "Deployment"

    def hand_replicas_to_autoscaler(self) -> None:
        """Drop ``spec.replicas`` so a GitOps sync never fights the autoscaler that now owns it."""
        if not self.autoscaled:
            self.resource.add_json_patch(cdk8s.JsonPatch.remove("/spec/replicas"))
            self.autoscaled = True
