"""vLLM's example Helm chart, read by vllm-constructs: values in, the same release out, without Helm and without
Node. ``load_values`` reads values files and ``--set`` like Helm; ``plan_release`` plans every object with the
library's pure planners; ``render`` writes them as ``cdk8s synth`` would; ``migrate_source`` writes an apps/ module
that composes the same parts in code. The construct form is :class:`vllm_constructs.chart_release.VllmChartRelease`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.render import manifests, to_yaml
from .load import LoadedValues, load_values
from .notices import secret_notices
from .plan import ReleasePlan, check_release, plan_release

__all__ = ["LoadedValues", "ReleasePlan", "Rendered", "check_release", "load_values", "plan_release", "render", "template"]


@dataclass(frozen=True, slots=True)
class Rendered:
    """A rendered release: the multi-document YAML and the notices for its reader (stderr, never the manifests)."""

    text: str
    notices: list[str]


def render(plan: ReleasePlan) -> Rendered:
    docs = manifests(plan.objects, plan.namespace)
    return Rendered(to_yaml(docs), [*plan.notices, *secret_notices(docs, plan.namespace)])


def template(
    release: str, *, namespace: str = "default", files: Sequence[str | Path] = (), sets: Sequence[str] = (), set_strings: Sequence[str] = ()
) -> Rendered:
    """``helm template`` for vLLM's chart: the release's manifests and notices (ConfigError on bad input)."""
    check_release(release, namespace)
    return render(plan_release(release, namespace, load_values(files, sets, set_strings)))
