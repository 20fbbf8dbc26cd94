"""VllmChartRelease, the construct form of a chart release: plans first (a ConfigError leaves the App unchanged),
needs a namespace, and exposes the server, its autoscaler and the release's own objects."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cdk8s
import pytest

from tests.conftest import ROOT, shared_path
from vllm_constructs import ConfigError, VllmChartRelease, VllmServer
from vllm_constructs.chart import load_values, plan_release
from vllm_constructs.chart.migrate import migrate_source
from vllm_constructs.helm import __getattr__ as helm_attribute


def _chart(namespace: str | None = "serving") -> cdk8s.Chart:
    return cdk8s.Chart(cdk8s.App(), "demo", namespace=namespace, disable_resource_name_hashes=True)


def test_handles_name_the_parts() -> None:
    chart = _chart()
    values = load_values(sets=["keda.enabled=true", "keda.prometheusServerAddress=http://p:9090", "serviceMonitor.enabled=true"])
    release = VllmChartRelease(chart, "release", release="demo", values=values)
    assert isinstance(release.server, VllmServer)
    assert release.autoscaler is not None and release.autoscaler.resource.kind == "ScaledObject"
    assert set(release.objects) == {"ServiceMonitor"}
    assert release.server.names.deployment == "demo-deployment-vllm"
    assert cdk8s.ApiObject.of(release).kind == "Deployment"
    assert any(n.startswith("notice: serviceMonitor.port") for n in release.plan.notices)


def test_bad_values_leave_the_app_unchanged() -> None:
    chart = _chart()
    with pytest.raises(ConfigError) as info:
        VllmChartRelease(
            chart,
            "release",
            release="demo",
            values=load_values(sets=["keda.enabled=true", "autoscaling.enabled=true", "keda.prometheusServerAddress=http://p:9090"]),
        )
    assert info.value.field == "keda.enabled" and info.value.path == "--set keda.enabled=true"
    assert chart.node.children == []
    VllmChartRelease(chart, "release", release="demo", values=load_values())
    assert [c.node.id for c in chart.node.children] == ["release"]


def test_a_second_release_with_the_same_id_or_names_is_a_config_error_and_adds_nothing() -> None:
    chart = _chart()
    VllmChartRelease(chart, "release", release="demo", values=load_values(sets=["serviceMonitor.enabled=true"]))
    before = [c.node.path for c in chart.node.find_all()]
    with pytest.raises(ConfigError) as info:
        VllmChartRelease(chart, "release", release="other", values=load_values())
    assert info.value.field == "id" and "is already used" in info.value.problem
    with pytest.raises(ConfigError) as info:
        VllmChartRelease(chart, "again", release="demo", values=load_values(sets=["serviceMonitor.enabled=true"]))
    assert "emitted by" in info.value.problem
    assert [c.node.path for c in chart.node.find_all()] == before


def test_the_release_objects_of_its_own_are_claimed_in_the_app() -> None:
    """A ServiceMonitor the release renders collides, at construction, with another object of that name."""
    chart = _chart()
    VllmChartRelease(chart, "release", release="demo", values=load_values(sets=["serviceMonitor.enabled=true"]))
    monitor = next(o for o in plan_release("demo", "serving", load_values(sets=["serviceMonitor.enabled=true"])).extras)
    from vllm_constructs._adapter import claim  # noqa: PLC0415 - the App-wide registry the constructs use

    with pytest.raises(ConfigError, match="emitted by demo/release already"):
        claim(chart, "demo/other", "serving", [monitor])


def test_a_release_needs_a_namespace() -> None:
    with pytest.raises(ConfigError) as info:
        VllmChartRelease(_chart(None), "release", release="demo", values=load_values())
    assert info.value.field == "scope" and "namespace" in info.value.problem


def test_the_old_name_says_where_it_went() -> None:
    with pytest.raises(AttributeError, match="renamed VllmChartRelease"):
        helm_attribute("HelmRelease")
    assert helm_attribute("VllmChartRelease") is VllmChartRelease


def test_a_migrated_module_is_typed_and_lint_clean(tmp_path: Path) -> None:
    """What `migrate` writes passes mypy --strict and ruff like the project's own apps/ modules."""
    golden = shared_path("helm-golden/custom-objects.values.yaml")
    sets = [
        "keda.enabled=true",
        "keda.prometheusServerAddress=http://p:9090",
        "keda.initialCooldownPeriod=60",
        "serviceMonitor.enabled=true",
    ]
    sets += ["extraInit.s3modelpath=", "extraInit.modelDownload.downloadJob.args={-c,fetch}"]
    plan = plan_release("demo", "serving", load_values([golden], sets))
    module = tmp_path / "demo_app.py"
    module.write_text(migrate_source(plan))
    bin_dir = Path(sys.executable).parent
    typed = subprocess.run(
        [str(bin_dir / "mypy"), "--strict", "--no-incremental", str(module)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(ROOT)},
    )
    assert typed.returncode == 0, typed.stdout
    linted = subprocess.run(
        [str(bin_dir / "ruff"), "check", "--select", "E,F,W,I", "--line-length", "140", str(module)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert linted.returncode == 0, linted.stdout
