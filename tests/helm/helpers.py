"""Shared helpers of the Helm-path tests: the three ways to build a release, as comparable objects."""

from __future__ import annotations

import runpy
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import cdk8s
import yaml

from vllm_constructs.chart import LoadedValues, plan_release, render
from vllm_constructs.chart.migrate import migrate_source

Objects = dict[tuple[str, str], dict[str, Any]]


def objects(docs: Iterable[Any]) -> Objects:
    """Objects by (kind, name)."""
    return {(d["kind"], d["metadata"]["name"]): d for d in docs if d}


def template_objects(release: str, namespace: str, loaded: LoadedValues) -> Objects:
    return objects(yaml.safe_load_all(render(plan_release(release, namespace, loaded)).text))


def construct_objects(release: str, namespace: str, loaded: LoadedValues) -> Objects:
    """What `cdk8s synth` writes for a chart holding the VllmChartRelease construct."""
    from vllm_constructs import VllmChartRelease  # noqa: PLC0415 - starts Node only where a test needs it

    app = cdk8s.App()
    chart = cdk8s.Chart(app, release, namespace=namespace, disable_resource_name_hashes=True)
    VllmChartRelease(chart, "release", release=release, values=loaded)
    return objects(chart.to_json())


def migrated_objects(release: str, namespace: str, loaded: LoadedValues, tmp_path: Path) -> Objects:
    """What `cdk8s synth` writes for the chart of the module `migrate` writes (run as a file)."""
    module = tmp_path / "migrated.py"
    module.write_text(migrate_source(plan_release(release, namespace, loaded)))
    found = runpy.run_path(str(module))
    charts = [v for k, v in found.items() if k.endswith("Chart") and isinstance(v, type) and issubclass(v, cdk8s.Chart)]
    made = next(c for c in charts if c is not cdk8s.Chart)
    return objects(made(cdk8s.App()).to_json())
