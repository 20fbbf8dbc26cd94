"""The pure core renders exactly what cdk8s synth writes: for every app, the objects the constructs planned, written by
the Node-free renderer (vllm_constructs.core.render), are byte-identical to the chart cdk8s synthesizes. So a
render-only path (vllm-constructs template, tools built on the planners) writes what the constructs would."""

from __future__ import annotations

from typing import Any

import cdk8s
import pytest

from apps.main import build_app
from tests.conftest import chart_yaml
from vllm_constructs.core.render import manifests, to_yaml


def _charts() -> list[cdk8s.Chart]:
    return [c for c in build_app(outdir="unused").node.children if isinstance(c, cdk8s.Chart)]


def _planned(chart: cdk8s.Chart) -> list[Any]:
    """Every construct's planned objects, in the order the constructs were created."""
    out: list[Any] = []
    for child in chart.node.find_all():
        planned = getattr(child, "_vc_planned", None)
        if planned is not None:
            out.extend(planned)
    return out


@pytest.mark.parametrize("chart", _charts(), ids=lambda c: c.node.id)
def test_pure_render_of_the_planned_objects_is_what_cdk8s_synth_writes(chart: cdk8s.Chart) -> None:
    planned = _planned(chart)
    assert planned, "no construct of this chart kept its plan"
    assert to_yaml(manifests(planned, chart.namespace)) == chart_yaml(chart)
