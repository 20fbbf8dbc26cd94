"""What every "fails when" test checks: the exact ConfigError, and that the App is exactly as it was before."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cdk8s
import pytest

from tests.conftest import chart_objects
from vllm_constructs import ConfigError


def app_state(chart: cdk8s.Chart) -> tuple[list[str], list[dict[str, Any]]]:
    """Every construct path under the chart and every object it synthesizes."""
    return [c.node.path for c in chart.node.find_all()], chart_objects(chart)


def refused(chart: cdk8s.Chart, create: Callable[[], object]) -> ConfigError:
    """Run ``create`` (which builds props and/or a construct in ``chart``): it must raise ConfigError, never another
    exception, and leave the chart as it was (no construct, no object)."""
    before = app_state(chart)
    with pytest.raises(ConfigError) as info:
        create()
    assert app_state(chart) == before
    return info.value
