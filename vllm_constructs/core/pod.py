"""Pod templates and Deployment specs for accelerator workloads, pure: one small function per part.

The defaults fit a GPU server that loads for minutes: a startup probe with an explicit budget gates readiness and
liveness, a preStop drain, ``enableServiceLinks: false``, /dev/shm when parallel, a hardened security context,
accelerator request equal to limit, and the GPU taint tolerated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .validation import Checker, format_bytes
from .values import (
    Accelerator,
    ContainerPort,
    EnvFrom,
    EnvValue,
    HealthChecks,
    Image,
    PodOptions,
    Resources,
    RolloutStrategy,
    SharedMemory,
    Volume,
    WorkloadLabels,
    env_list,
)

__all__ = ["MainContainer", "PodInputs", "deployment_spec", "pod_template"]

MIN_PARALLEL_MEMORY = Decimal(2**30)
"""Below this memory limit, a parallel engine's default /dev/shm (a quarter of the limit) is too small to be useful."""

JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class MainContainer:
    """The workload's own container."""

    name: str
    image: Image
    resources: Resources
    accelerator: Accelerator
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: Mapping[str, EnvValue] = field(default_factory=dict)
    env_from: tuple[EnvFrom, ...] = ()
    port: ContainerPort | None = None
    """The serving port (probes and Services use its name); None for pods that serve nothing (Ray workers)."""
    extra_ports: tuple[ContainerPort, ...] = ()
    health: HealthChecks | None = None
    """Probes on ``port``; None: no probes."""
    volumes: tuple[Volume, ...] = ()
    extra_resources: Mapping[str, str] = field(default_factory=dict)
    """More extended resources, request equal to limit (e.g. an RDMA device)."""


@dataclass(frozen=True, slots=True)
class PodInputs:
    """Everything one pod template is built from."""

    main: MainContainer
    pod: PodOptions
    labels: WorkloadLabels
    parallel: bool
    """Whether the engine spans several accelerators (then /dev/shm is mounted)."""
    init_containers: tuple[JsonObject, ...] = ()
    """Construct-made init containers (download, wait guard), run before the user's."""
    extra_volumes: tuple[JsonObject, ...] = ()
    """Construct-made pod volumes not mounted into the main container (e.g. a token for an init container)."""
    pod_annotations: Mapping[str, str] = field(default_factory=dict)
    """Construct-made pod annotations (e.g. a config hash that rolls pods when a ConfigMap changes)."""


def check_ports(check: Checker, ports: list[ContainerPort]) -> None:
    names: set[str] = set()
    numbers: dict[tuple[int, str], str] = {}
    for p in ports:
        if p.name in names:
            check.fail(
                "extra_ports",
                p.name,
                "is a duplicate port name",
                "each port name once per pod",
                f"rename or remove one of the ports named {p.name!r}",
            )
        names.add(p.name)
        if (p.port, str(p.protocol)) in numbers:
            other = numbers[(p.port, str(p.protocol))]
            check.fail(
                "extra_ports",
                p.port,
                f"clashes with port {other!r} on the same number",
                "each port number once per protocol",
                "pick another port number",
            )
        numbers[(p.port, str(p.protocol))] = p.name


def resolve_shared_memory(check: Checker, pod: PodOptions, parallel: bool, memory_limit: Decimal) -> SharedMemory:
    """/dev/shm: the user's choice, else on when parallel (16Gi capped at a quarter of the memory limit)."""
    shm = pod.shared_memory
    if shm is None and parallel and memory_limit < MIN_PARALLEL_MEMORY:
        check.fail(
            "resources.memory",
            format_bytes(memory_limit),
            "leaves no room for the /dev/shm a parallel engine needs (NCCL and the engine's workers exchange tensors there)",
            f"a memory limit of at least {format_bytes(MIN_PARALLEL_MEMORY)} for a server that spans several accelerators",
            "raise resources.memory (and memory_limit), or set pod.shared_memory=SharedMemory.of(size) explicitly",
        )
    if shm is None:
        return SharedMemory.of(SharedMemory.default_size(memory_limit)) if parallel else SharedMemory.disabled()
    if shm.enabled and shm.size is not None and _bytes(shm.size) >= memory_limit:
        check.fail(
            "pod.shared_memory.size",
            shm.size,
            f"is not below the memory limit ({format_bytes(memory_limit)}); /dev/shm pages count against it",
            "a size below the container memory limit",
            "raise resources.memory_limit or lower shared_memory",
        )
    if not shm.enabled and parallel:
        check.fail(
            "pod.shared_memory",
            "disabled",
            "is off for a parallel workload; NCCL then fails on the 64Mi default /dev/shm",
            "SharedMemory.of(size) when the workload spans several accelerators",
            "remove shared_memory=SharedMemory.disabled() or set a size",
        )
    return shm


def _bytes(quantity: str) -> Decimal:
    from .validation import parse_quantity  # noqa: PLC0415 - tiny helper kept local

    parsed = parse_quantity(quantity)
    assert parsed is not None
    return parsed


def main_volumes(check: Checker, inputs: PodInputs, shm: SharedMemory) -> list[Volume]:
    volumes = list(inputs.main.volumes)
    if shm.enabled:
        volumes.append(Volume(name="dshm", mount_path="/dev/shm", source={"emptyDir": {"medium": "Memory", "sizeLimit": shm.size}}))
    if inputs.pod.security.read_only_root_filesystem and not any(v.mount_path == "/tmp" for v in volumes):
        volumes.append(Volume(name="tmp", mount_path="/tmp", source={"emptyDir": {}}))
    raw_names = [str(v["name"]) for v in (*inputs.extra_volumes, *inputs.pod.extra_volumes)]
    _unique(check, "volumes", [v.name for v in volumes] + raw_names, "volume")
    _unique(check, "volumes.mount_path", [v.mount_path for v in volumes], "mount path")
    return volumes


def _unique(check: Checker, fld: str, names: list[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            check.fail(
                fld,
                name,
                f"is a duplicate {what} name",
                f"each {what} name once per pod",
                f"rename or remove one of the {what}s named {name!r}",
            )
        seen.add(name)


def container_json(inputs: PodInputs, volumes: list[Volume]) -> JsonObject:
    m, o = inputs.main, inputs.pod
    main: JsonObject = {"name": m.name, "image": m.image.ref, "imagePullPolicy": str(m.image.pull_policy)}
    if m.command:
        main["command"] = list(m.command)
    if m.args:
        main["args"] = list(m.args)
    if m.env:
        main["env"] = env_list(m.env)
    if m.env_from:
        main["envFrom"] = [e.to_json() for e in m.env_from]
    ports = [p for p in (m.port, *m.extra_ports) if p is not None]
    if ports:
        main["ports"] = [p.to_json() for p in ports]
    main["resources"] = m.resources.to_json(m.accelerator)
    for kind in ("requests", "limits"):
        main["resources"][kind].update(m.extra_resources)
    if m.health is not None and m.port is not None:
        main.update(m.health.probes(m.port.name))
    if o.drain_seconds > 0:
        main["lifecycle"] = {"preStop": {"exec": {"command": ["sleep", str(o.drain_seconds)]}}}
    main["securityContext"] = o.security.container_json()
    if volumes:
        main["volumeMounts"] = [v.mount_json() for v in volumes]
    return main


def _scheduling(inputs: PodInputs) -> JsonObject:
    o, m = inputs.pod, inputs.main
    out: JsonObject = {}
    if o.node_selector:
        out["nodeSelector"] = dict(o.node_selector)
    affinity = dict(o.affinity) if o.affinity is not None else {}
    if o.gpu_products is not None:
        affinity = {**o.gpu_products.to_affinity(m.accelerator.product_label), **affinity}
    if affinity:
        out["affinity"] = affinity
    tolerations = [t.to_json() for t in o.tolerations]
    if m.resources.accelerators > 0 and o.tolerate_accelerator_taint:
        auto = {"key": m.accelerator.resource, "operator": "Exists", "effect": "NoSchedule"}
        if auto not in tolerations:
            tolerations.insert(0, auto)
    if tolerations:
        out["tolerations"] = tolerations
    if o.topology_spread:
        out["topologySpreadConstraints"] = [ts.to_json(inputs.labels.selector) for ts in o.topology_spread]
    return out


def pod_spec_json(inputs: PodInputs, main: JsonObject, volumes: list[Volume]) -> JsonObject:
    o = inputs.pod
    pod: JsonObject = {"enableServiceLinks": False, "automountServiceAccountToken": o.automount_service_account_token}
    if o.service_account is not None:
        pod["serviceAccountName"] = str(o.service_account)
    if o.host_network:
        pod["hostNetwork"] = True
        pod["dnsPolicy"] = "ClusterFirstWithHostNet"
    pod["securityContext"] = o.security.pod_json()
    pod["terminationGracePeriodSeconds"] = o.termination_grace_period_seconds
    if o.priority_class_name:
        pod["priorityClassName"] = o.priority_class_name
    if o.runtime_class_name:
        pod["runtimeClassName"] = o.runtime_class_name
    pod.update(_scheduling(inputs))
    if o.image_pull_secrets:
        pod["imagePullSecrets"] = [{"name": str(s)} for s in o.image_pull_secrets]
    inits = [*inputs.init_containers, *(dict(c) for c in o.init_containers)]
    if inits:
        pod["initContainers"] = inits
    pod["containers"] = [main, *(dict(c) for c in o.extra_containers)]
    all_volumes = [v.volume_json() for v in volumes] + [dict(v) for v in (*inputs.extra_volumes, *o.extra_volumes)]
    if all_volumes:
        pod["volumes"] = all_volumes
    return pod


def pod_template(check: Checker, inputs: PodInputs) -> JsonObject:
    """Check the pod's combination of inputs and build its template (metadata and spec)."""
    m, o = inputs.main, inputs.pod
    check_ports(check, [p for p in (m.port, *m.extra_ports) if p is not None])
    if o.gpu_products is not None and m.resources.accelerators == 0:
        check.fail(
            "pod.gpu_products",
            o.gpu_products.products,
            "is set but the pod requests no accelerator",
            "gpu_products only with resources.accelerators > 0",
            "request accelerators or drop gpu_products",
        )
    names = [
        m.name,
        *(str(c["name"]) for c in o.extra_containers),
        *(str(c["name"]) for c in (*inputs.init_containers, *o.init_containers)),
    ]
    _unique(check, "pod.extra_containers", names, "container")
    shm = resolve_shared_memory(check, o, inputs.parallel, m.resources.memory_limit_bytes)
    volumes = main_volumes(check, inputs, shm)
    spec = pod_spec_json(inputs, container_json(inputs, volumes), volumes)
    meta: JsonObject = {"labels": inputs.labels.labels(o.labels)}
    annotations = {**dict(o.pod_annotations), **dict(inputs.pod_annotations)}
    if annotations:
        meta["annotations"] = annotations
    return {"metadata": meta, "spec": spec}


def progress_deadline(check: Checker, deadline: int | None, health: HealthChecks) -> int:
    """progressDeadlineSeconds: the user's (above the startup budget) or the startup budget plus 600 s."""
    budget = health.startup_timeout_seconds
    if deadline is None:
        return budget + 600
    if deadline <= budget:
        check.fail(
            "progress_deadline_seconds",
            deadline,
            f"is not above the startup budget ({budget} s), so every rollout would be reported failed while the model loads",
            f"an integer > {budget}",
            "leave it unset (startup budget + 600 s) or raise it",
        )
    return deadline


def deployment_spec(
    *, replicas: int | None, deadline: int, selector: Mapping[str, str], rollout: RolloutStrategy, template: JsonObject
) -> JsonObject:
    spec: JsonObject = {}
    if replicas is not None:
        spec["replicas"] = replicas
    spec["revisionHistoryLimit"] = 5
    spec["progressDeadlineSeconds"] = deadline
    spec["selector"] = {"matchLabels": dict(selector)}
    spec["strategy"] = rollout.to_json()
    spec["template"] = template
    return spec
