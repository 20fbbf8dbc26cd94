"""Every app: its YAML snapshot, byte equality with the committed dist/, and strict schema validity."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cdk8s
import pytest
import yaml

from apps.main import build_app
from tests.conftest import ROOT, chart_yaml
from tests.schemas import K8S_VERSIONS, crd_errors, is_builtin, k8s_errors


def _charts() -> list[cdk8s.Chart]:
    app = build_app(outdir="unused")
    return [c for c in app.node.children if isinstance(c, cdk8s.Chart)]


CHART_IDS = [c.node.id for c in _charts()]


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    build_app(outdir=str(out)).synth()
    return out


@pytest.mark.parametrize("chart_id", CHART_IDS)
def test_app_matches_snapshot(chart_id: str, yaml_snapshot: Any) -> None:
    chart = next(c for c in _charts() if c.node.id == chart_id)
    assert chart_yaml(chart) == yaml_snapshot


def test_dist_is_exactly_what_synth_writes(synthesized: Path) -> None:
    fresh = sorted(p.name for p in synthesized.iterdir())
    committed = sorted(p.name for p in (ROOT / "dist").iterdir())
    assert fresh == committed, "dist/ holds other files than synth writes: run `make synth` and commit"
    for name in fresh:
        assert (synthesized / name).read_bytes() == (ROOT / "dist" / name).read_bytes(), f"dist/{name} is stale"


def test_synth_is_deterministic(tmp_path: Path, synthesized: Path) -> None:
    build_app(outdir=str(tmp_path)).synth()
    for path in synthesized.iterdir():
        assert (tmp_path / path.name).read_bytes() == path.read_bytes()


def _dist_objects() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted((ROOT / "dist").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                out.append((f"{path.name}:{doc['kind']}/{doc['metadata']['name']}", doc))
    return out


DIST = _dist_objects()


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_every_builtin_object_validates_strictly(version: str) -> None:
    failures = {name: k8s_errors(obj, version) for name, obj in DIST if is_builtin(obj)}
    assert {k: v for k, v in failures.items() if v} == {}


def test_every_custom_resource_validates_against_its_crd(crd_dir: Path) -> None:
    failures = {name: crd_errors(obj, crd_dir) for name, obj in DIST if not is_builtin(obj)}
    assert {k: v for k, v in failures.items() if v} == {}
