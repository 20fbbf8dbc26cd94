"""How every object leaves the library: a raw ``cdk8s.ApiObject`` plus one JSON patch per top-level key.

The typed L1 classes re-map an object after patches are applied and silently drop any field they do
not know (and render a plain quantity string as null). Building plain dicts in Python and emitting
them through a raw ApiObject keeps what we build exactly what is written; the test suite validates
every object strictly against the Kubernetes and CRD schemas instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import cdk8s
from constructs import Construct

JsonObject = dict[str, Any]


def emit(
    scope: Construct,
    construct_id: str,
    *,
    api_version: str,
    kind: str,
    name: str,
    labels: Mapping[str, str],
    annotations: Mapping[str, str] | None = None,
    body: JsonObject,
) -> cdk8s.ApiObject:
    """Add one Kubernetes object to ``scope``; ``body`` holds every top-level key but metadata."""
    obj = cdk8s.ApiObject(
        scope,
        construct_id,
        api_version=api_version,
        kind=kind,
        metadata=cdk8s.ApiObjectMetadata(
            name=name,
            labels=dict(labels),
            annotations=dict(annotations) if annotations else None,
        ),
    )
    for key, value in body.items():
        obj.add_json_patch(cdk8s.JsonPatch.add(f"/{key}", value))
    return obj


def adopt(construct: Construct, scope: Construct, construct_id: str) -> None:
    """Remember a construct's parent and id in Python, so :func:`path_of`, :func:`root_of` and
    :func:`namespace_of` resolve through Python parents: each jsii round trip costs ~0.5 ms, and the constructs ask
    for paths, roots and namespaces many times per server."""
    construct._vc_parent = scope  # type: ignore[attr-defined]
    construct._vc_id = construct_id  # type: ignore[attr-defined]


def _cached(construct: Construct, attr: str, from_parent: Callable[[Construct, str], Any], from_jsii: Callable[[], Any]) -> Any:
    value = getattr(construct, attr, None)
    if value is None:
        parent: Construct | None = getattr(construct, "_vc_parent", None)
        value = from_parent(parent, construct._vc_id) if parent is not None else from_jsii()  # type: ignore[attr-defined]
        setattr(construct, attr, value)
    return value


def path_of(construct: Construct) -> str:
    """``construct.node.path``."""
    return str(
        _cached(
            construct,
            "_vc_path",
            lambda parent, cid: f"{path_of(parent)}/{cid}" if path_of(parent) else cid,
            lambda: construct.node.path,
        )
    )


def root_of(construct: Construct) -> Construct:
    """``construct.node.root`` (the App)."""
    root: Construct = _cached(construct, "_vc_root", lambda parent, _: root_of(parent), lambda: construct.node.root)
    return root


def namespace_of(scope: Construct) -> str:
    """The namespace that cdk8s will stamp on objects in ``scope`` ('' means the kubectl default)."""
    return str(_cached(scope, "_vc_namespace", lambda parent, _: namespace_of(parent), lambda: cdk8s.Chart.of(scope).namespace or ""))
