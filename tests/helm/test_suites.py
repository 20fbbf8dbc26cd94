"""Every key the chart's branches added, helm-unittest style (tests/helm/suites/*.yaml): one values snippet per test,
assertions on the rendered objects, the error (the values file and key named), or the notices; every rendered object
validates strictly; and the construct and a migrated module write the same objects as template."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import cdk8s
import pytest
import yaml

from tests.conftest import shared_path
from tests.helm.suite import Case, cases, check, render_case
from tests.schemas import K8S_VERSIONS, crd_errors, is_builtin, k8s_errors
from vllm_constructs.chart import load_values, plan_release, render
from vllm_constructs.chart.migrate import migrate_source
from vllm_constructs.errors import ConfigError

CASES = cases()
RENDERED = [c for c in CASES if not c.fails]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_case(case: Case, tmp_path: Path) -> None:
    values, result = render_case(case, tmp_path)
    check(case, values, result)


@pytest.mark.parametrize("case", RENDERED, ids=lambda c: c.id)
def test_rendered_objects_validate_strictly(case: Case, tmp_path: Path) -> None:
    _, result = render_case(case, tmp_path)
    assert not isinstance(result, ConfigError)
    crds = shared_path("crds/keda.sh.yaml").parent
    for obj in (d for d in yaml.safe_load_all(result.text) if d):
        if is_builtin(obj):
            for version in ("1.30.0", K8S_VERSIONS[-1]):
                assert k8s_errors(obj, version) == [], (obj["kind"], version)
        else:
            assert crd_errors(obj, crds) == [], obj["kind"]


def _objects(docs: Any) -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"]["name"]): d for d in docs if d}


@pytest.mark.parametrize("case", RENDERED, ids=lambda c: c.id)
def test_construct_and_migrated_module_write_what_template_writes(case: Case, tmp_path: Path) -> None:
    from vllm_constructs import VllmChartRelease

    values_file, _ = render_case(case, tmp_path)
    loaded = load_values([values_file])
    plan = plan_release(case.release, case.namespace, loaded)
    ours = _objects(yaml.safe_load_all(render(plan).text))
    app = cdk8s.App()
    chart = cdk8s.Chart(app, case.release, namespace=case.namespace, disable_resource_name_hashes=True)
    VllmChartRelease(chart, "release", release=case.release, values=loaded)
    assert _objects(chart.to_json()) == ours
    module = tmp_path / "migrated.py"
    module.write_text(migrate_source(plan))
    namespace = runpy.run_path(str(module))
    made = next(v for k, v in namespace.items() if k.endswith("Chart") and isinstance(v, type) and issubclass(v, cdk8s.Chart) and v is not cdk8s.Chart)
    assert _objects(made(cdk8s.App()).to_json()) == ours
