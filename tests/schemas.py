"""Strict schema validation of synthesized objects, loaded once per process.

- Built-in kinds: kubernetes-validate's bundled strict JSON schemas (additionalProperties: false) for
  each supported Kubernetes version.
- Custom resources: the openAPIV3Schema of the CRD from ../shared/crds, made strict (unknown fields
  rejected wherever the CRD lists properties and does not preserve unknown fields).
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource

K8S_VERSIONS = ("1.27.0", "1.30.0", "1.33.0", "1.37.0")
CRD_GROUP_FILES = {
    "ray.io": "ray.io.yaml",
    "leaderworkerset.x-k8s.io": "leaderworkerset.x-k8s.io.yaml",
    "keda.sh": "keda.sh.yaml",
    "monitoring.coreos.com": "monitoring.coreos.com.yaml",
    "gateway.networking.k8s.io": "gateway.networking.k8s.io.yaml",
    "inference.networking.k8s.io": "inference.networking.k8s.io.yaml",
    "llm-d.ai": "llm-d.ai.yaml",
}

_SCHEMA_ROOT = files("kubernetes_validate").joinpath("kubernetes-json-schema")


def _schema_file(version: str, kind: str, api_version: str) -> str:
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return f"v{version}-local-strict/{kind.lower()}-{group}.json"


@cache
def _definitions(version: str) -> Registry:  # type: ignore[type-arg]
    defs = json.loads(_SCHEMA_ROOT.joinpath(f"v{version}-local-strict/_definitions.json").read_text())
    return Resource.from_contents(defs) @ Registry()  # type: ignore[no-any-return]


@cache
def _k8s_validator(version: str, kind: str, api_version: str) -> jsonschema.Draft202012Validator:
    schema = json.loads(_SCHEMA_ROOT.joinpath(_schema_file(version, kind, api_version)).read_text())
    registry = Resource.from_contents(schema) @ _definitions(version)
    return jsonschema.Draft202012Validator(schema, registry=registry)


def is_builtin(obj: dict[str, Any]) -> bool:
    group = obj["apiVersion"].rsplit("/", 1)[0] if "/" in obj["apiVersion"] else ""
    return group not in CRD_GROUP_FILES


def k8s_errors(obj: dict[str, Any], version: str) -> list[str]:
    """Every strict-schema error of a built-in object for one Kubernetes version ([] if valid)."""
    try:
        validator = _k8s_validator(version, obj["kind"], obj["apiVersion"])
    except FileNotFoundError:
        return [f"no schema for {obj['apiVersion']} {obj['kind']} in Kubernetes {version}"]
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]


def _strict(node: Any) -> Any:
    """Copy of a CRD openAPIV3Schema with unknown fields rejected where the CRD lists its fields."""
    if isinstance(node, dict):
        out = {k: _strict(v) for k, v in node.items()}
        if (
            out.get("type") == "object"
            and "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        # int-or-string fields carry no "type" in the CRD; JSON schema needs it spelled out.
        if out.pop("x-kubernetes-int-or-string", False):
            out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
        return out
    if isinstance(node, list):
        return [_strict(v) for v in node]
    return node


@cache
def _crd_validators(path: str) -> dict[tuple[str, str], jsonschema.Draft202012Validator]:
    validators: dict[tuple[str, str], jsonschema.Draft202012Validator] = {}
    for doc in yaml.safe_load_all(Path(path).read_text()):
        if not doc or doc.get("kind") != "CustomResourceDefinition":
            continue
        group, kind = doc["spec"]["group"], doc["spec"]["names"]["kind"]
        for version in doc["spec"]["versions"]:
            schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
            schema = _strict(schema)
            # metadata is validated by the API server, not by the CRD schema.
            schema.setdefault("properties", {})["metadata"] = {"type": "object"}
            validators[(f"{group}/{version['name']}", kind)] = jsonschema.Draft202012Validator(schema)
    return validators


def crd_errors(obj: dict[str, Any], crd_dir: Path) -> list[str]:
    """Every error of a custom resource against its CRD's schema ([] if valid)."""
    group = obj["apiVersion"].rsplit("/", 1)[0]
    validators = _crd_validators(str(crd_dir / CRD_GROUP_FILES[group]))
    validator = validators.get((obj["apiVersion"], obj["kind"]))
    if validator is None:
        return [f"no CRD for {obj['apiVersion']} {obj['kind']} in {CRD_GROUP_FILES[group]}"]
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]
