"""The API server's own rules for fields the JSON schemas leave as plain strings: object and container names, label
and annotation keys and values, quantities, environment and port names. Written independently of the library's
validators (from the Kubernetes API conventions), so a library validator that lets a bad value through is caught by
the objects it renders."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_QUALIFIED = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_QUANTITY = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?")
_ENV = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
_PORT_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def _key_ok(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _SUBDOMAIN.fullmatch(prefix)):
        return False
    return 0 < len(name) <= 63 and bool(_QUALIFIED.fullmatch(name))


def _meta(obj: dict[str, Any]) -> Iterator[str]:
    meta = obj.get("metadata", {})
    name = meta.get("name", "")
    pattern = _DNS1035 if obj.get("kind") == "Service" else _SUBDOMAIN
    if not (len(name) <= (63 if obj.get("kind") == "Service" else 253) and pattern.fullmatch(name)):
        yield f"metadata.name {name!r}"
    yield from _labels(meta.get("labels") or {}, "metadata.labels")
    for key in meta.get("annotations") or {}:
        if not _key_ok(key):
            yield f"metadata.annotations key {key!r}"


def _labels(labels: dict[str, Any], where: str) -> Iterator[str]:
    for key, value in labels.items():
        if not _key_ok(key):
            yield f"{where} key {key!r}"
        if not (isinstance(value, str) and len(value) <= 63 and _LABEL_VALUE.fullmatch(value)):
            yield f"{where}[{key!r}] value {value!r}"


def _containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from spec.get("initContainers") or []
    yield from spec.get("containers") or []


def _container(c: dict[str, Any]) -> Iterator[str]:
    if not (len(c.get("name", "")) <= 63 and _LABEL.fullmatch(c.get("name", ""))):
        yield f"container name {c.get('name')!r}"
    for kind in ("requests", "limits"):
        for res, qty in ((c.get("resources") or {}).get(kind) or {}).items():
            if not (isinstance(qty, str) and _QUANTITY.fullmatch(qty)):
                yield f"{c['name']}.resources.{kind}[{res!r}] {qty!r}"
    for env in c.get("env") or []:
        if not _ENV.fullmatch(env.get("name", "")):
            yield f"{c['name']}.env name {env.get('name')!r}"
    for port in c.get("ports") or []:
        name = port.get("name")
        if name is not None and not (len(name) <= 15 and _PORT_NAME.fullmatch(name) and re.search("[a-z]", name)):
            yield f"{c['name']}.ports name {name!r}"


def _pod_specs(node: Any) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(template metadata, pod spec) of every pod template anywhere in an object."""
    if isinstance(node, dict):
        if isinstance(node.get("spec"), dict) and "containers" in node["spec"]:
            yield node.get("metadata") or {}, node["spec"]
        for value in node.values():
            yield from _pod_specs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _pod_specs(value)


def api_rule_errors(obj: dict[str, Any]) -> list[str]:
    """Every field of ``obj`` the API server would refuse for the rules above ([] when it would accept them)."""
    errors = list(_meta(obj))
    for meta, spec in _pod_specs(obj.get("spec")):
        errors += list(_labels(meta.get("labels") or {}, "template.labels"))
        for volume in spec.get("volumes") or []:
            if not _LABEL.fullmatch(volume.get("name", "")):
                errors.append(f"volume name {volume.get('name')!r}")
        for c in _containers(spec):
            errors += list(_container(c))
    return errors
