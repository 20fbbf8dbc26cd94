"""Every key the chart's branches added, helm-unittest style (tests/helm/suites/*.yaml): one values snippet per test,
assertions on the rendered objects, the error (the values file and key named), or the notices; every rendered object
validates strictly; and the construct and a migrated module write the same objects as template."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import shared_path
from tests.helm.helpers import construct_objects, migrated_objects, template_objects
from tests.helm.suite import Case, cases, check, render_case
from tests.schemas import K8S_VERSIONS, crd_errors, is_builtin, k8s_errors
from vllm_constructs.chart import load_values
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


@pytest.mark.parametrize("case", RENDERED, ids=lambda c: c.id)
def test_construct_and_migrated_module_write_what_template_writes(case: Case, tmp_path: Path) -> None:
    values_file, _ = render_case(case, tmp_path)
    loaded = load_values([values_file])
    ours = template_objects(case.release, case.namespace, loaded)
    assert construct_objects(case.release, case.namespace, loaded) == ours
    assert migrated_objects(case.release, case.namespace, loaded, tmp_path) == ours
