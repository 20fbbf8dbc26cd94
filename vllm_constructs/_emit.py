"""How every object leaves the library: a raw ``cdk8s.ApiObject`` plus one JSON patch per top-level key.

The typed L1 classes re-map an object after patches are applied and silently drop any field they do
not know (and render a plain quantity string as null). Building plain dicts in Python and emitting
them through a raw ApiObject keeps what we build exactly what is written; the test suite validates
every object strictly against the Kubernetes and CRD schemas instead.
"""

from __future__ import annotations

from collections.abc import Mapping
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


def namespace_of(scope: Construct) -> str:
    """The namespace that cdk8s will stamp on objects in ``scope`` ('' means the kubectl default)."""
    return cdk8s.Chart.of(scope).namespace or ""
