"""Notices for the reader of ``template`` and ``migrate`` (printed on stderr, never into the manifests): every Secret
the output refers to but does not contain, with the keys it must hold and the command that creates it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["secret_notices"]


@dataclass(slots=True)
class _Wanted:
    keys: set[str] = field(default_factory=set)
    whole: bool = False
    """Imported whole with envFrom (its keys become environment variables)."""
    registry: bool = False
    """An image pull secret (kubernetes.io/dockerconfigjson)."""
    optional: bool = True
    users: set[str] = field(default_factory=set)


def _walk(node: Any, owner: str, wanted: dict[str, _Wanted]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, owner, wanted)
        return
    if not isinstance(node, Mapping):
        return
    for key, value in node.items():
        if key == "secretKeyRef" and isinstance(value, Mapping):
            _add(wanted, value.get("name"), owner, [value.get("key")], optional=bool(value.get("optional")))
        elif key == "secretRef" and isinstance(value, Mapping):
            entry = _add(wanted, value.get("name"), owner, [], optional=bool(value.get("optional")))
            if entry is not None:
                entry.whole = True
        elif key == "secret" and isinstance(value, Mapping) and ("secretName" in value or "name" in value):
            items = [i.get("key") for i in value.get("items") or [] if isinstance(i, Mapping)]
            _add(wanted, value.get("secretName", value.get("name")), owner, items, optional=bool(value.get("optional")))
        elif key == "imagePullSecrets" and isinstance(value, list):
            for ref in value:
                entry = _add(wanted, ref.get("name") if isinstance(ref, Mapping) else None, owner, [], optional=False)
                if entry is not None:
                    entry.registry = True
        else:
            _walk(value, owner, wanted)


def _add(wanted: dict[str, _Wanted], name: object, owner: str, keys: Iterable[object], *, optional: bool) -> _Wanted | None:
    if not isinstance(name, str) or not name:
        return None
    entry = wanted.setdefault(name, _Wanted())
    entry.keys.update(k for k in keys if isinstance(k, str))
    entry.optional = entry.optional and optional
    entry.users.add(owner)
    return entry


def _notice(name: str, entry: _Wanted, namespace: str) -> str:
    users = ", ".join(sorted(entry.users))
    head = f"notice: Secret {name} (namespace {namespace}) is referenced by {users} but not rendered"
    if entry.optional:
        head += " (optionally: the pods start without it)"
    if entry.registry:
        create = f"kubectl create secret docker-registry {name} --namespace {namespace} --docker-server=... --docker-username=..."
        create += " --docker-password=..."
        return f"{head}. It is an image pull secret. Create it with: {create}"
    keys = sorted(entry.keys)
    what = f"it must hold the keys {', '.join(keys)}" if keys else "it must hold the keys your containers expect"
    if entry.whole:
        what += " (every key becomes an environment variable)"
    literals = " ".join(f"--from-literal={k}=..." for k in keys) or "--from-literal=KEY=..."
    return f"{head}: {what}. Create it with: kubectl create secret generic {name} --namespace {namespace} {literals}"


def secret_notices(manifests: Iterable[Mapping[str, Any]], namespace: str) -> list[str]:
    """One notice per Secret the manifests reference but do not contain."""
    docs = list(manifests)
    rendered = {d["metadata"]["name"] for d in docs if d.get("kind") == "Secret" and d.get("apiVersion") == "v1"}
    wanted: dict[str, _Wanted] = {}
    for doc in docs:
        _walk({k: v for k, v in doc.items() if k != "metadata"}, f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}", wanted)
    return [_notice(name, wanted[name], namespace) for name in sorted(wanted) if name not in rendered]
