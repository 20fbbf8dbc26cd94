"""What a change to one Kubernetes object does when a GitOps tool applies it: pods roll (restart), the API server refuses
it in place (replace), or nothing beyond metadata changes. Pure functions over plain dicts (no cdk8s)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from ._diff_capacity import mapping, parse_quantity
from ._immutable_fields import IMMUTABLE_FIELDS, MUTABLE_SPEC_FIELDS, SPEC_DEFAULTS

__all__ = [
    "MISSING",
    "DownloadJob",
    "changed_paths",
    "describe_changes",
    "download_job",
    "metadata_only",
    "replace_reasons",
    "restart_reasons",
    "short",
    "value_at",
]

DOWNLOAD_COMPONENT = "model-download"
_COMPONENT = "app.kubernetes.io/component"
_INSTANCE = "app.kubernetes.io/instance"
_ROLLING_KINDS = {("apps", "Deployment"), ("apps", "StatefulSet"), ("apps", "DaemonSet")}


class _Missing:
    def __repr__(self) -> str:
        return "unset"


MISSING: Any = _Missing()


def value_at(body: Any, path: tuple[str, ...]) -> Any:
    """The value at a path of mapping keys, or MISSING."""
    for key in path:
        if not isinstance(body, dict) or key not in body:
            return MISSING
        body = body[key]
    return body


def _list_keys(items: list[Any]) -> list[str] | None:
    """Names that identify list items (containers, env, ports, volumes, worker groups), if every item has a unique one."""
    keys = [item.get("name", item.get("groupName")) if isinstance(item, dict) else None for item in items]
    if all(isinstance(key, str) for key in keys) and len(set(keys)) == len(keys):
        return [str(key) for key in keys]
    return None


def _differences(old: Any, new: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(path, old value, new value) of every difference; list items with names are addressed by name
    (containers[vllm].image), mapping keys that contain dots in brackets (labels[app.kubernetes.io/name])."""
    if old == new:
        return []
    if (isinstance(old, dict) and new is MISSING) or (old is MISSING and isinstance(new, dict)):
        old, new = (old, {}) if new is MISSING else ({}, new)  # a mapping added or removed: show its entries
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[tuple[str, Any, Any]] = []
        for key in sorted(old.keys() | new.keys(), key=str):
            step = f"[{key}]" if "." in str(key) else (f".{key}" if prefix else str(key))
            found += _differences(old.get(key, MISSING), new.get(key, MISSING), prefix + step)
        return found
    if isinstance(old, list) and isinstance(new, list):
        old_keys, new_keys = _list_keys(old), _list_keys(new)
        if old_keys is not None and new_keys is not None:
            old_items, new_items = dict(zip(old_keys, old, strict=True)), dict(zip(new_keys, new, strict=True))
            names = old_keys + [key for key in new_keys if key not in old_items]
            return [
                d for name in names for d in _differences(old_items.get(name, MISSING), new_items.get(name, MISSING), f"{prefix}[{name}]")
            ]
        if len(old) == len(new):
            return [d for index, (a, b) in enumerate(zip(old, new, strict=True)) for d in _differences(a, b, f"{prefix}[{index}]")]
    return [(prefix, old, new)]


def changed_paths(old: Any, new: Any) -> list[str]:
    """Dotted paths of every difference between two values."""
    return [path or "." for path, _, _ in _differences(old, new)]


def short(value: Any, width: int = 44) -> str:
    """A value as a reviewer reads it in one table cell."""
    if value is MISSING:
        return "unset"
    if isinstance(value, dict):
        return "{…}" if value else "{}"
    if isinstance(value, list):
        return "[…]" if value else "[]"
    text = str(value).replace("\n", " ")
    if len(text) <= width:
        return text
    head = min(16, width // 3)  # keep the end: image tags, hashes and revisions differ there
    return text[:head] + "…" + text[len(text) - (width - head - 1) :]


def describe_changes(old: Any, new: Any, prefix: str = "", limit: int = 3) -> str:
    """'path old → new' for the first few differences, then how many more."""
    differences = _differences(old, new)
    shown = []
    for path, before, after in differences[:limit]:
        label = (prefix + path if not path.startswith("[") else prefix.rstrip(".") + path) if path else prefix.rstrip(". :") or "."
        shown.append(
            label if isinstance(before, dict | list) or isinstance(after, dict | list) else f"{label} {short(before)} → {short(after)}"
        )
    more = f" (+{len(differences) - limit} more)" if len(differences) > limit else ""
    return "; ".join(shown) + more


def metadata_only(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """True when only metadata (labels, annotations outside any pod template) differs."""
    strip = {"metadata", "status"}
    return {k: v for k, v in old.items() if k not in strip} == {k: v for k, v in new.items() if k not in strip}


@dataclass(frozen=True)
class DownloadJob:
    """A model download Job: its pod template carries app.kubernetes.io/component: model-download."""

    server: str
    source: str | None
    revision: str | None


def download_job(group: str, kind: str, body: dict[str, Any]) -> DownloadJob | None:
    if (group, kind) != ("batch", "Job"):
        return None
    labels = value_at(body, ("spec", "template", "metadata", "labels"))
    if not isinstance(labels, dict) or labels.get(_COMPONENT) != DOWNLOAD_COMPONENT:
        return None
    name = str(value_at(body, ("metadata", "name")))
    server = str(labels.get(_INSTANCE) or name.rsplit("-download-", 1)[0])
    env: dict[str, str] = {}
    for container in value_at(body, ("spec", "template", "spec", "containers")) or []:
        for variable in (container.get("env") or []) if isinstance(container, dict) else []:
            if isinstance(variable, dict) and isinstance(variable.get("value"), str):
                env.setdefault(str(variable.get("name")), variable["value"])
    return DownloadJob(server, env.get("SOURCE_URI"), env.get("REVISION"))


def _field_reasons(group: str, kind: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    reasons = []
    for rule in IMMUTABLE_FIELDS:
        if (rule.group, rule.kind) != (group, kind):
            continue
        before, after = value_at(old, rule.path), value_at(new, rule.path)
        if before == after or (rule.only_when_both_set and MISSING in (before, after)):
            continue
        where = {"kubernetes": "the API server", "crd": "the CRD rule `self == oldSelf`", "webhook": "the operator's webhook"}[rule.source]
        detail = (
            describe_changes(before, after, ".".join(rule.path) + ".")
            if isinstance(before, dict) or isinstance(after, dict)
            else (f"{'.'.join(rule.path)} {short(before)} → {short(after)}")
        )
        reasons.append(f"{detail}: immutable ({where})")
    return reasons


def _drop(spec: dict[str, Any], dotted: str) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        spec = mapping(spec.get(key))
    spec.pop(last, None)


def _normalized_spec(group: str, kind: str, body: dict[str, Any], keep_mutable: bool) -> dict[str, Any]:
    spec = copy.deepcopy(mapping(body.get("spec")))
    for name, default in SPEC_DEFAULTS.get((group, kind), {}).items():
        spec.setdefault(name, default)
    if not keep_mutable:
        for dotted in MUTABLE_SPEC_FIELDS.get((group, kind), ()):
            _drop(spec, dotted)
    return spec


def _spec_allowlist_reasons(group: str, kind: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    if (group, kind) not in MUTABLE_SPEC_FIELDS:
        return []
    before, after = _normalized_spec(group, kind, old, False), _normalized_spec(group, kind, new, False)
    if before == after:
        return []
    allowed = ", ".join(MUTABLE_SPEC_FIELDS[(group, kind)])
    return [f"{describe_changes(before, after, 'spec.')}: only {allowed} may change (the API server)"]


def _storage_reasons(group: str, kind: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    if (group, kind) != ("", "PersistentVolumeClaim"):
        return []
    path = ("spec", "resources", "requests", "storage")
    before, after = value_at(old, path), value_at(new, path)
    old_size, new_size = parse_quantity(before), parse_quantity(after)
    if before == after or old_size is None or new_size is None or new_size >= old_size:
        return []
    return [f"spec.resources.requests.storage {short(before)} → {short(after)}: a claim never shrinks (the API server)"]


def _service_reasons(group: str, kind: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """clusterIP (and the primary IP family, and loadBalancerClass of a LoadBalancer) cannot change, except when the
    Service changes to or from ExternalName: the API server then releases or allocates the address itself."""
    if (group, kind) != ("", "Service"):
        return []
    old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
    old_type, new_type = old_spec.get("type", "ClusterIP"), new_spec.get("type", "ClusterIP")
    if "ExternalName" in (old_type, new_type):
        return []
    reasons = []
    old_ip, new_ip = old_spec.get("clusterIP") or "", new_spec.get("clusterIP") or ""
    # An omitted clusterIP keeps the allocated one; "None" (headless) can be neither set nor cleared in place.
    if old_ip != new_ip and (new_ip or old_ip == "None"):
        reasons.append(f"spec.clusterIP {short(old_ip or 'allocated')} → {short(new_ip or 'allocated')}: immutable (the API server)")
    old_families, new_families = old_spec.get("ipFamilies") or [], new_spec.get("ipFamilies") or []
    if old_families and new_families and old_families[0] != new_families[0]:
        reasons.append(f"spec.ipFamilies[0] {old_families[0]} → {new_families[0]}: the primary family is immutable (the API server)")
    old_class, new_class = old_spec.get("loadBalancerClass"), new_spec.get("loadBalancerClass")
    if old_type == new_type == "LoadBalancer" and old_class != new_class:
        reasons.append(f"spec.loadBalancerClass {short(old_class)} → {short(new_class)}: immutable once set (the API server)")
    return reasons


def _configmap_reasons(group: str, kind: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """An immutable ConfigMap keeps its data and its flag. (Secrets have the same rule, but a dist/ of this project
    never holds one: credentials are only referenced.)"""
    if (group, kind) != ("", "ConfigMap") or old.get("immutable") is not True:
        return []
    if new.get("immutable") is not True:
        return [f"immutable true → {short(new.get('immutable', MISSING))}: an immutable ConfigMap stays immutable (the API server)"]
    if any(old.get(key) != new.get(key) for key in ("data", "binaryData")):
        return [describe_changes(old.get("data"), new.get("data"), "data.") + ": immutable: true (the API server)"]
    return []


def replace_reasons(group: str, kind: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Why the API server (or a CRD rule or webhook) would refuse this change in place; empty if it accepts it."""
    reasons: list[str] = []
    for check in (_field_reasons, _spec_allowlist_reasons, _storage_reasons, _service_reasons, _configmap_reasons):
        reasons += check(group, kind, old, new)
    return reasons


def _pod_shaping_parts(group: str, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """The parts of a workload that pods are made from, by name."""
    spec = mapping(body.get("spec"))
    if (group, kind) in _ROLLING_KINDS:
        return {"spec.template.": spec.get("template", MISSING)}
    if (group, kind) == ("leaderworkerset.x-k8s.io", "LeaderWorkerSet"):
        return {"spec.leaderWorkerTemplate.": spec.get("leaderWorkerTemplate", MISSING)}
    if (group, kind) == ("ray.io", "RayCluster"):
        head = mapping(spec.get("headGroupSpec"))
        parts = {"head.": {"template": head.get("template"), "rayStartParams": head.get("rayStartParams")}}
        for worker in spec.get("workerGroupSpecs") or []:
            if isinstance(worker, dict):
                parts[f"worker group {worker.get('groupName')}: "] = {
                    "template": worker.get("template"),
                    "rayStartParams": worker.get("rayStartParams"),
                }
        return parts
    return {}


def _restart_caveat(group: str, kind: str, new: dict[str, Any]) -> str:
    if (group, kind) == ("ray.io", "RayCluster") and value_at(new, ("spec", "upgradeStrategy", "type")) != "Recreate":
        return " (KubeRay applies it only to pods created later: delete the pods, or set spec.upgradeStrategy.type: Recreate)"
    if (group, kind) in {("apps", "StatefulSet"), ("apps", "DaemonSet")} and value_at(
        new, ("spec", "updateStrategy", "type")
    ) == "OnDelete":
        return " (updateStrategy OnDelete: pods take it only when deleted)"
    if (group, kind) == ("leaderworkerset.x-k8s.io", "LeaderWorkerSet"):
        return " (every group is recreated, leader and workers together)"
    return ""


def restart_reasons(group: str, kind: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What changed in the pod templates of a workload (so its pods roll); empty if nothing did."""
    old_parts, new_parts = _pod_shaping_parts(group, kind, old), _pod_shaping_parts(group, kind, new)
    changed = [
        describe_changes(old_parts[name], new_parts[name], name)
        for name in old_parts
        if name in new_parts and old_parts[name] != new_parts[name]
    ]
    return [f"{'; '.join(changed)}{_restart_caveat(group, kind, new)}"] if changed else []
