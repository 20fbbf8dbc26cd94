"""Every app: its YAML snapshot, byte equality of the committed dist/ (the apps, the kustomization and the fleet's
folders) with what `make synth` writes, and strict schema validity of every object in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cdk8s
import pytest
import yaml

from apps.main import build_app, synth_all
from tests.conftest import ROOT, chart_yaml
from tests.schemas import K8S_VERSIONS, crd_errors, is_builtin, k8s_errors


def _charts() -> list[cdk8s.Chart]:
    app = build_app(outdir="unused")
    return [c for c in app.node.children if isinstance(c, cdk8s.Chart)]


CHART_IDS = [c.node.id for c in _charts()]


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `make synth` writes (apps.main.synth_all), in a temporary folder."""
    out = tmp_path_factory.mktemp("dist")
    synth_all(str(out))
    return out


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("chart_id", CHART_IDS)
def test_app_matches_snapshot(chart_id: str, yaml_snapshot: Any) -> None:
    chart = next(c for c in _charts() if c.node.id == chart_id)
    assert chart_yaml(chart) == yaml_snapshot


def test_dist_is_exactly_what_synth_writes(synthesized: Path) -> None:
    fresh = _files(synthesized)
    committed = _files(ROOT / "dist")
    assert any(name.startswith("fleet/") for name in fresh) and "kustomization.yaml" in fresh
    assert fresh == committed, "dist/ holds other files than synth writes: run `make synth` and commit"
    for name in fresh:
        assert (synthesized / name).read_bytes() == (ROOT / "dist" / name).read_bytes(), f"dist/{name} is stale"


def test_synth_is_deterministic(tmp_path: Path, synthesized: Path) -> None:
    synth_all(str(tmp_path))
    assert _files(tmp_path) == _files(synthesized)
    for name in _files(synthesized):
        assert (tmp_path / name).read_bytes() == (synthesized / name).read_bytes(), name


def _dist_objects() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted((ROOT / "dist").rglob("*.k8s.yaml")):  # the apps and the fleet's folders (not the kustomizations)
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                out.append((f"{path.relative_to(ROOT / 'dist')}:{doc['kind']}/{doc['metadata']['name']}", doc))
    return out


DIST = _dist_objects()


def test_the_checks_cover_the_fleet() -> None:
    assert any(name.startswith("fleet/") for name, _ in DIST)


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_every_builtin_object_validates_strictly(version: str) -> None:
    failures = {name: k8s_errors(obj, version) for name, obj in DIST if is_builtin(obj)}
    assert {k: v for k, v in failures.items() if v} == {}


def test_every_custom_resource_validates_against_its_crd(crd_dir: Path) -> None:
    failures = {name: crd_errors(obj, crd_dir) for name, obj in DIST if not is_builtin(obj)}
    assert {k: v for k, v in failures.items() if v} == {}
