"""Environments and clusters: one fleet of servers rendered per environment and cluster, differing exactly where an
override says, each folder with a kustomization.yaml listing exactly its manifests."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from apps.fleet import FLEET
from tests.api_rules import api_rule_errors
from tests.schemas import K8S_VERSIONS, is_builtin, k8s_errors
from vllm_constructs import ConfigError, EngineArgs
from vllm_constructs.core.fleet import Cluster, Environment, FleetProps, resolve
from vllm_constructs.fleet import CLUSTER_LABEL, ENVIRONMENT_LABEL, build_fleet, synth_fleet

Objects = dict[tuple[str, str], dict[str, Any]]


def _render(fleet: FleetProps, env: str, cluster: str) -> Objects:
    """The objects of one environment and cluster, without what every folder differs in by construction (the
    environment and cluster labels, and the namespace)."""
    for folder, app in build_fleet(fleet, "unused"):
        if folder.parts[-2:] == (env, cluster):
            out: Objects = {}
            for raw in app.charts[0].to_json():
                doc = dict(raw)
                meta = dict(doc["metadata"])
                meta.pop("namespace", None)
                meta["labels"] = {k: v for k, v in meta.get("labels", {}).items() if k not in (ENVIRONMENT_LABEL, CLUSTER_LABEL)}
                out[(doc["kind"], meta["name"])] = {**doc, "metadata": meta}
            return out
    raise AssertionError(f"no {env}/{cluster}")


def _paths(a: Any, b: Any, at: str = "") -> set[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return {p for k in a.keys() | b.keys() for p in _paths(a.get(k), b.get(k), f"{at}/{k}")}
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return {p for i, (x, y) in enumerate(zip(a, b, strict=True)) for p in _paths(x, y, f"{at}/{i}")}
    return set() if a == b else {at}


def _changes(base: Objects, other: Objects) -> set[str]:
    return {f"{key[0]}/{key[1]}{p}" for key in base.keys() | other.keys() for p in _paths(base.get(key), other.get(key))}


def _with(overrides: dict[str, dict[str, Any]]) -> FleetProps:
    env = Environment(name="e", clusters=(Cluster(name="c", namespace="llm", overrides=overrides),))
    return dataclasses.replace(FLEET, environments=(env,))


def test_an_environment_differs_from_the_base_exactly_where_its_overrides_say() -> None:
    prod = next(e for e in FLEET.environments if e.name == "prod")
    overrides = next(c for c in prod.clusters if c.name == "us-east").overrides
    base = _render(_with({}), "e", "c")
    together = _changes(base, _render(_with(overrides), "e", "c"))
    one_by_one: set[str] = set()
    for server, paths in overrides.items():
        for path, value in paths.items():
            changed = _changes(base, _render(_with({server: {path: value}}), "e", "c"))
            assert changed, f"override {server}: {path} changes nothing"
            one_by_one |= changed
    assert together == one_by_one


def test_two_regions_of_prod_differ_only_in_their_gpu_products() -> None:
    """The regions' one override is the GPU product: it changes the node affinity, and the capacity plan computed for
    that product (the workload's capacity annotation), nothing else."""
    changed = _changes(_render(FLEET, "prod", "us-east"), _render(FLEET, "prod", "eu-west"))
    affinity = {p for p in changed if p.endswith("/matchExpressions/0/values/0") and "/affinity/nodeAffinity/" in p}
    plans = {p for p in changed if p.endswith("/metadata/annotations/vllm-constructs.io/capacity")}
    assert len(affinity) == 2
    assert changed == affinity | plans


def test_every_folder_holds_valid_objects_and_a_kustomization_listing_exactly_them(tmp_path: Path) -> None:
    folders = synth_fleet(FLEET, str(tmp_path))
    assert [f.relative_to(tmp_path).as_posix() for f in folders] == ["fleet/dev/us-east", "fleet/prod/us-east", "fleet/prod/eu-west"]
    for folder in folders:
        kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
        manifests = sorted(p.name for p in folder.iterdir() if p.name != "kustomization.yaml")
        assert kustomization == {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": manifests}
        for name in manifests:
            for doc in yaml.safe_load_all((folder / name).read_text()):
                assert doc["metadata"]["labels"][ENVIRONMENT_LABEL] == folder.parts[-2]
                assert api_rule_errors(doc) == []
                if is_builtin(doc):
                    assert all(k8s_errors(doc, v) == [] for v in K8S_VERSIONS), doc["metadata"]["name"]


def test_prod_autoscales_and_dev_does_not() -> None:
    dev, prod = _render(FLEET, "dev", "us-east"), _render(FLEET, "prod", "us-east")
    assert not [k for k in dev if k[0] == "ScaledObject"]
    assert sorted(k[1] for k in prod if k[0] == "ScaledObject") == ["llama-3-1-8b", "qwen-2-5-7b"]
    assert "replicas" not in prod[("Deployment", "qwen-2-5-7b")]["spec"]
    assert dev[("Deployment", "qwen-2-5-7b")]["spec"]["replicas"] == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"nope": {"props.replicas": 2}}, "fleet/e/c: overrides='nope' names no server of the fleet. Allowed: qwen-7b, llama-8b."),
        ({"qwen-7b": {"props.replica": 2}}, "fleet/e/c/qwen-7b: props.replica='replica' is not a field of VllmServerProps."),
        ({"qwen-7b": {"props.replicas": -1}}, "fleet/e/c/qwen-7b: props.replicas=-1 is out of range."),
        ({"qwen-7b": {"props.engine.max_model_len": "4096"}}, "fleet/e/c/qwen-7b: props.engine.max_model_len='4096' is a str."),
        ({"qwen-7b": {"autoscaling.max_replicas": 3}}, "fleet/e/c/qwen-7b: autoscaling.max_replicas=None is None in the base server"),
    ],
)
def test_fails_when_an_override_is_wrong(overrides: dict[str, Any], message: str) -> None:
    fleet = _with(overrides)
    with pytest.raises(ConfigError) as info:
        resolve(fleet, fleet.environments[0], fleet.environments[0].clusters[0])
    assert message in str(info.value)


def test_overrides_are_validated_by_the_classes_they_land_in() -> None:
    fleet = _with({"qwen-7b": {"props.engine": EngineArgs(max_model_len=4096)}})
    servers = resolve(fleet, fleet.environments[0], fleet.environments[0].clusters[0])
    assert servers["qwen-7b"].props.engine.max_model_len == 4096
    assert servers["llama-8b"].props.engine.max_model_len == 8192


def test_fails_when_environments_or_clusters_repeat() -> None:
    with pytest.raises(ConfigError, match="names an environment twice"):
        dataclasses.replace(FLEET, environments=(FLEET.environments[0], FLEET.environments[0]))
    with pytest.raises(ConfigError, match="names a cluster twice"):
        Environment(name="x", clusters=(Cluster(name="a", namespace="n"), Cluster(name="a", namespace="m")))
