"""Fixtures shared by every test module."""

from __future__ import annotations

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cdk8s
import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
IN_CI = os.environ.get("CI", "").lower() == "true"

# Where each shared file came from upstream, for a clone that has no ../shared beside it.
_UPSTREAM = {
    "crds/leaderworkerset.x-k8s.io.yaml": [
        "https://raw.githubusercontent.com/kubernetes-sigs/lws/v0.10.0/config/crd/bases/leaderworkerset.x-k8s.io_leaderworkersets.yaml"
    ],
    "crds/ray.io.yaml": [
        "https://raw.githubusercontent.com/ray-project/kuberay/v1.7.0/ray-operator/config/crd/bases/ray.io_rayclusters.yaml",
        "https://raw.githubusercontent.com/ray-project/kuberay/v1.7.0/ray-operator/config/crd/bases/ray.io_rayservices.yaml",
    ],
    "crds/keda.sh.yaml": [
        "https://raw.githubusercontent.com/kedacore/keda/v2.20.1/config/crd/bases/keda.sh_scaledobjects.yaml",
        "https://raw.githubusercontent.com/kedacore/keda/v2.20.1/config/crd/bases/keda.sh_triggerauthentications.yaml",
    ],
    "crds/monitoring.coreos.com.yaml": [
        f"https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/v0.93.0/example/prometheus-operator-crd/monitoring.coreos.com_{k}.yaml"
        for k in ("servicemonitors", "podmonitors", "prometheusrules")
    ],
}


def shared_path(relative: str) -> Path:
    """A file from ../shared. Under CI a missing file is an error; elsewhere it is fetched from its
    pinned upstream release, or the test is skipped saying why."""
    path = SHARED / relative
    if path.exists():
        return path
    if IN_CI:
        pytest.fail(f"../shared/{relative} is missing; CI must run beside the shared folder")
    urls = _UPSTREAM.get(relative)
    if not urls:
        pytest.skip(f"../shared/{relative} is not beside this clone and has no pinned upstream copy")
    cache_path = ROOT / ".shared-cache" / relative
    if not cache_path.exists():
        try:
            parts = [urllib.request.urlopen(url, timeout=20).read().decode() for url in urls]
        except OSError as exc:
            pytest.skip(f"../shared/{relative} is missing and fetching it upstream failed: {exc}")
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        cache_path.write_text("".join(parts))
    return cache_path


@pytest.fixture(scope="session")
def crd_dir() -> Path:
    """Folder holding the CRDs, one file per API group."""
    for name in ("ray.io.yaml", "leaderworkerset.x-k8s.io.yaml", "keda.sh.yaml", "monitoring.coreos.com.yaml"):
        path = shared_path(f"crds/{name}")
    return path.parent


class YamlSnapshot(SingleFileSnapshotExtension):
    """One readable .yaml file per snapshot."""

    file_extension = "yaml"
    _write_mode = WriteMode.TEXT


@pytest.fixture
def yaml_snapshot(snapshot: Any) -> Any:
    return snapshot.use_extension(YamlSnapshot)


def chart_yaml(chart: cdk8s.Chart) -> str:
    """The chart's manifests exactly as `cdk8s synth` writes them."""
    return cdk8s.Yaml.stringify(*chart.to_json())


def chart_objects(chart: cdk8s.Chart) -> list[dict[str, Any]]:
    """The chart's objects as plain dicts (what synth writes, without a YAML round trip)."""
    return [dict(doc) for doc in chart.to_json() if doc]


@pytest.fixture
def new_chart() -> Callable[..., cdk8s.Chart]:
    """A fresh app and chart (namespace 'test' unless given)."""

    def make(namespace: str | None = "test") -> cdk8s.Chart:
        app = cdk8s.App()
        return cdk8s.Chart(app, "test", namespace=namespace, disable_resource_name_hashes=True)

    return make


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = by_kind(objects, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]
