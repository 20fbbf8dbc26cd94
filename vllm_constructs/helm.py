"""The Helm migration path, by its old names: read the values of vLLM's example chart and render or migrate the
release. Node-free: this module and everything it imports never start Node (the construct
:class:`~vllm_constructs.chart_release.VllmChartRelease`, formerly ``HelmRelease``, loads on first use).

See :mod:`vllm_constructs.chart` for the pieces and docs/helm-migration.md for the differences from the chart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .chart import LoadedValues, Rendered, load_values, plan_release, render, template
from .chart.defaults import CHART_DEFAULTS
from .chart.keys import RULES
from .chart.migrate import migrate_source as _migrate_plan

if TYPE_CHECKING:
    from .chart_release import VllmChartRelease

__all__ = [
    "CHART_DEFAULTS",
    "RULES",
    "LoadedValues",
    "Rendered",
    "VllmChartRelease",
    "load_values",
    "migrate_source",
    "plan_release",
    "render",
    "render_template",
    "template",
]


def render_template(release: str, values: LoadedValues, *, namespace: str = "default") -> str:
    """Multi-document YAML of the release, like ``helm template`` (ConfigError on bad values, nothing rendered)."""
    return render(plan_release(release, namespace, values)).text


def migrate_source(release: str, values: LoadedValues, *, namespace: str = "default") -> str:
    """Python source of an apps/ module that builds the same release in code."""
    return _migrate_plan(plan_release(release, namespace, values))


def __getattr__(name: str) -> Any:
    if name == "VllmChartRelease":
        from .chart_release import VllmChartRelease  # noqa: PLC0415 - the construct starts the jsii runtime

        return VllmChartRelease
    if name == "HelmRelease":
        raise AttributeError("HelmRelease was renamed VllmChartRelease (it runs no Helm; Flux's HelmRelease is another kind)")
    raise AttributeError(f"module 'vllm_constructs.helm' has no attribute {name!r}")
