"""How many accelerators a set of manifests may claim: per workload, at its steady size and at its autoscaler's maximum.

Pure functions over plain dicts (no cdk8s). A workload is a Deployment, StatefulSet, ReplicaSet, LeaderWorkerSet or
RayCluster; an autoscaler is a HorizontalPodAutoscaler or a KEDA ScaledObject in the same namespace that names it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "Autoscaler",
    "Figures",
    "Workload",
    "autoscaler_of",
    "figures",
    "is_accelerator",
    "mapping",
    "parse_quantity",
    "pod_accelerators",
    "workload_of",
]

# resource name -> (steady, maximum)
Figures = dict[str, tuple[int, int]]

_ACCELERATOR_WORDS = ("gpu", "tpu", "gaudi", "neuron")
_SCALED_BY_REPLICAS = {("apps", "Deployment"), ("apps", "StatefulSet"), ("apps", "ReplicaSet")}
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1), "k": Decimal(10**3), "M": Decimal(10**6)}
_DECIMAL |= {"G": Decimal(10**9), "T": Decimal(10**12), "P": Decimal(10**15), "E": Decimal(10**18)}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")


def is_accelerator(resource: str) -> bool:
    """An extended resource that is an accelerator: its name contains gpu, tpu, gaudi or neuron (nvidia.com/gpu,
    amd.com/gpu, google.com/tpu, habana.ai/gaudi, aws.amazon.com/neuron...), or is an NVIDIA MIG slice."""
    name = resource.lower()
    return any(word in name for word in _ACCELERATOR_WORDS) or name.startswith("nvidia.com/mig-")


def parse_quantity(value: object) -> Decimal | None:
    """A Kubernetes quantity ("50Gi", "1.5", "500m", "1e3", 8) as a number; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    match = _QUANTITY.match(str(value).strip())
    if not match:
        return None
    try:
        number = Decimal(match.group(1))
    except InvalidOperation:
        return None
    suffix = match.group(2) or ""
    return number * (_BINARY[suffix] if suffix in _BINARY else _DECIMAL[suffix])


def _container_accelerators(container: Any) -> dict[str, int]:
    """Accelerators one container claims: its limit (extended resources have request == limit), else its request."""
    resources = container.get("resources") if isinstance(container, dict) else None
    if not isinstance(resources, dict):
        return {}
    claimed: dict[str, int] = {}
    for section in ("requests", "limits"):
        values = resources.get(section)
        for name, raw in values.items() if isinstance(values, dict) else ():
            amount = parse_quantity(raw)
            if is_accelerator(str(name)) and amount is not None:
                claimed[str(name)] = max(claimed.get(str(name), 0), int(amount))
    return claimed


def _add(total: dict[str, int], more: dict[str, int], times: int = 1) -> dict[str, int]:
    result = dict(total)
    for name, amount in more.items():
        result[name] = result.get(name, 0) + amount * times
    return result


def pod_accelerators(template: Any) -> dict[str, int]:
    """Accelerators one pod of a pod template claims, the way the scheduler counts them: the sum over containers and
    sidecars (init containers with restartPolicy Always), or the largest ordinary init container if that is more."""
    spec = template.get("spec") if isinstance(template, dict) else None
    if not isinstance(spec, dict):
        return {}
    running: dict[str, int] = {}
    for container in spec.get("containers") or []:
        running = _add(running, _container_accelerators(container))
    largest_init: dict[str, int] = {}
    for container in spec.get("initContainers") or []:
        claimed = _container_accelerators(container)
        if isinstance(container, dict) and container.get("restartPolicy") == "Always":
            running = _add(running, claimed)
        else:
            largest_init = {name: max(largest_init.get(name, 0), amount) for name, amount in (largest_init | claimed).items()}
    return {name: max(running.get(name, 0), largest_init.get(name, 0)) for name in running.keys() | largest_init.keys()}


def mapping(value: Any) -> dict[str, Any]:
    """value if it is a mapping, else an empty one (manifests are read as untyped YAML)."""
    return value if isinstance(value, dict) else {}


def _int(value: Any, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return default
    try:
        return int(value)
    except ValueError:
        return default


@dataclass(frozen=True)
class Workload:
    """What one workload claims. `unit` is what an external autoscaler scales (a pod, or a LeaderWorkerSet group)."""

    units: int  # replicas of the unit, as written (the API default when absent)
    per_unit: dict[str, int]  # accelerators per unit
    fixed: dict[str, int] = field(default_factory=dict)  # accelerators that do not scale with units (a Ray head)
    own_maximum: dict[str, int] | None = None  # the workload's own autoscaling ceiling (KubeRay in-tree autoscaler)
    scalable: bool = True  # an HPA or ScaledObject can target it
    counted: bool = True  # False for a DaemonSet: one pod per matching node, a number the manifests do not hold
    facts: dict[str, Any] = field(default_factory=dict)  # the fields that decide capacity, for the report


def _pods_workload(spec: dict[str, Any]) -> Workload:
    per_pod = pod_accelerators(spec.get("template"))
    replicas = _int(spec.get("replicas"), 1)
    return Workload(replicas, per_pod, facts={"replicas": spec.get("replicas", "unset (1)"), "accelerators per pod": per_pod})


def _lws_workload(spec: dict[str, Any]) -> Workload:
    template = mapping(spec.get("leaderWorkerTemplate"))
    size = _int(template.get("size"), 1)
    worker = pod_accelerators(template.get("workerTemplate"))
    leader = pod_accelerators(template.get("leaderTemplate")) if template.get("leaderTemplate") else worker
    per_group = _add(leader, worker, size - 1)
    facts = {
        "replicas": spec.get("replicas", "unset (1)"),
        "size": size,
        "accelerators per leader": leader,
        "accelerators per worker": worker,
    }
    return Workload(_int(spec.get("replicas"), 1), per_group, facts=facts)


def _ray_workload(spec: dict[str, Any]) -> Workload:
    head_spec = mapping(spec.get("headGroupSpec"))
    head = pod_accelerators(head_spec.get("template"))
    steady, ceiling = dict(head), dict(head)
    facts: dict[str, Any] = {"accelerators per head": head, "enableInTreeAutoscaling": bool(spec.get("enableInTreeAutoscaling"))}
    for group in spec.get("workerGroupSpecs") or []:
        if not isinstance(group, dict):
            continue
        per_pod = pod_accelerators(group.get("template"))
        hosts = _int(group.get("numOfHosts"), 1)
        replicas = 0 if group.get("suspend") else _int(group.get("replicas"), 0)
        maximum = _int(group.get("maxReplicas"), replicas) if spec.get("enableInTreeAutoscaling") else replicas
        steady, ceiling = _add(steady, per_pod, replicas * hosts), _add(ceiling, per_pod, max(maximum, replicas) * hosts)
        facts[f"worker group {group.get('groupName')}"] = {
            "replicas": replicas, "minReplicas": group.get("minReplicas"), "maxReplicas": group.get("maxReplicas"),
            "numOfHosts": hosts, "accelerators per pod": per_pod,
        }  # fmt: skip
    if spec.get("suspend"):
        steady, ceiling = {}, {}
    return Workload(1, {}, fixed=steady, own_maximum=ceiling, scalable=False, facts=facts)


def workload_of(group: str, kind: str, body: dict[str, Any]) -> Workload | None:
    """The capacity model of a workload object (Deployment, StatefulSet, ReplicaSet, DaemonSet, LeaderWorkerSet,
    RayCluster), or None for any other object."""
    spec = body.get("spec")
    if not isinstance(spec, dict):
        return None
    if (group, kind) in _SCALED_BY_REPLICAS:
        return _pods_workload(spec)
    if (group, kind) == ("leaderworkerset.x-k8s.io", "LeaderWorkerSet"):
        return _lws_workload(spec)
    if (group, kind) == ("ray.io", "RayCluster"):
        return _ray_workload(spec)
    if (group, kind) == ("apps", "DaemonSet"):
        per_pod = pod_accelerators(spec.get("template"))
        return Workload(0, per_pod, scalable=False, counted=False, facts={"accelerators per pod": per_pod})
    return None


@dataclass(frozen=True)
class Autoscaler:
    """An HPA or ScaledObject: which workload it scales (group, kind, name) and its bounds."""

    target: tuple[str, str, str]
    minimum: int
    maximum: int
    idle: int | None = None
    facts: dict[str, Any] = field(default_factory=dict)


def _target(ref: Any, default_api_version: str, default_kind: str) -> tuple[str, str, str]:
    ref = ref if isinstance(ref, dict) else {}
    api_version = str(ref.get("apiVersion") or default_api_version)
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    return group, str(ref.get("kind") or default_kind), str(ref.get("name") or "")


def autoscaler_of(group: str, kind: str, body: dict[str, Any]) -> Autoscaler | None:
    """The bounds of an HPA (minReplicas defaults to 1) or a KEDA ScaledObject (0 and 100 by default)."""
    spec = body.get("spec")
    if not isinstance(spec, dict):
        return None
    if (group, kind) == ("autoscaling", "HorizontalPodAutoscaler"):
        target = _target(spec.get("scaleTargetRef"), "", "")
        low, high = _int(spec.get("minReplicas"), 1), _int(spec.get("maxReplicas"), 1)
        return Autoscaler(target, low, high, facts={"target": "/".join(target[1:]), "minReplicas": low, "maxReplicas": high})
    if (group, kind) == ("keda.sh", "ScaledObject"):
        target = _target(spec.get("scaleTargetRef"), "apps/v1", "Deployment")
        low, high = _int(spec.get("minReplicaCount"), 0), _int(spec.get("maxReplicaCount"), 100)
        idle = _int(spec["idleReplicaCount"], 0) if "idleReplicaCount" in spec else None
        facts = {"target": "/".join(target[1:]), "minReplicaCount": low, "maxReplicaCount": high}
        facts |= {"idleReplicaCount": idle} if idle is not None else {}
        return Autoscaler(target, low, high, idle, facts=facts)
    return None


def figures(workload: Workload, autoscaler: Autoscaler | None) -> Figures:
    """Accelerators per resource name at the steady size and at the most the autoscalers allow."""
    if autoscaler is not None and workload.scalable:
        steady = _add(workload.fixed, workload.per_unit, autoscaler.minimum)
        ceiling = _add(workload.fixed, workload.per_unit, max(autoscaler.maximum, autoscaler.minimum))
    else:
        steady = _add(workload.fixed, workload.per_unit, workload.units)
        ceiling = workload.own_maximum if workload.own_maximum is not None else steady
    return {name: (steady.get(name, 0), ceiling.get(name, 0)) for name in sorted(steady.keys() | ceiling.keys())}
