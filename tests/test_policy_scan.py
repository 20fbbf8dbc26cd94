"""checkov over every app's output: zero failed checks except the justified skips of docs/security.md."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import IN_CI
from tests.policy_scan import (
    Skip,
    checkov_bin,
    custom_resource_pods,
    dist_manifests,
    load_skips,
    prepare_dist,
    run_checkov,
    split_findings,
)

SKIPS = load_skips()


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    binary = checkov_bin()
    if binary is None:
        message = "checkov is not installed: `make setup` creates .venv-checkov from requirements-checkov.txt"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    target = tmp_path_factory.mktemp("policy")
    prepare_dist(target)
    return run_checkov(target, binary)


def test_every_app_passes_checkov_but_for_the_justified_skips(scan) -> None:  # type: ignore[no-untyped-def]
    _, unjustified = split_findings(scan, SKIPS)
    assert [f"{cid} {resource} ({path}): {name}" for cid, resource, path, name in unjustified] == []
    assert scan.passed > 0


def test_every_skip_row_is_still_needed(scan) -> None:  # type: ignore[no-untyped-def]
    unused = [
        f"{s.check_id} {pattern}"
        for s in SKIPS
        for pattern in s.patterns
        if not any(Skip(s.check_id, (pattern,), s.reason).covers(cid, res) for cid, res, _, _ in scan.failed)
    ]
    assert unused == [], "docs/security.md skips something checkov no longer reports: remove those rows or globs"


def test_the_scan_covers_every_workload_and_custom_resource_pod_template(scan) -> None:  # type: ignore[no-untyped-def]
    # A Deployment, Job or pod template that checkov silently ignored would make the zero-failure assertion vacuous.
    expected = set()
    paths = dist_manifests()
    assert any("fleet" in path.parts for path in paths), "the fleet's folders are scanned too"
    for path in paths:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] in ("Deployment", "Job"):
                expected.add(f"{doc['kind']}.{doc['metadata']['namespace']}.{doc['metadata']['name']}")
            for pod in custom_resource_pods(doc or {}):
                expected.add(f"Pod.{pod['metadata']['namespace']}.{pod['metadata']['name']}")
    assert any(e.endswith("-head") for e in expected) and any(e.endswith("-leader") for e in expected)
    assert expected - scan.resources == set()


def test_skip_rows_are_specific() -> None:
    assert SKIPS, "docs/security.md has no skip table"
    for skip in SKIPS:
        assert "*" not in skip.patterns[0].split(".")[0], f"{skip.check_id}: name the kind of object it applies to"
        assert len(skip.reason) > 60, f"{skip.check_id}: say why it is justified"
