"""Parity with the upstream chart: every golden scenario (the chart's own render of a values file) rendered through
the loader gives the same objects, field by field, except the deviations docs/helm-migration.md documents."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import IN_CI, ROOT, SHARED, shared_path
from tests.helm.helpers import construct_objects, migrated_objects, template_objects
from tests.helm.parity import covered, deviations, diff
from tests.schemas import K8S_VERSIONS, is_builtin, k8s_errors
from vllm_constructs.helm import load_values, migrate_source, render_template

RELEASE, NAMESPACE = "demo", "ns-vllm"
DOC = ROOT / "docs" / "helm-migration.md"
SCENARIOS = sorted(p.name.removesuffix(".values.yaml") for p in (SHARED / "helm-golden").glob("*.values.yaml"))
if not SCENARIOS and IN_CI:
    raise RuntimeError("../shared/helm-golden is missing; CI must run beside the shared folder")


def _objects(text: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(text) if d}


def _ours(scenario: str) -> dict[tuple[str, str], dict[str, Any]]:
    values = load_values([shared_path(f"helm-golden/{scenario}.values.yaml")])
    return _objects(render_template(RELEASE, values, namespace=NAMESPACE))


def _chart(scenario: str) -> dict[tuple[str, str], dict[str, Any]]:
    return _objects(shared_path(f"helm-golden/{scenario}.rendered.yaml").read_text())


@pytest.mark.skipif(not SCENARIOS, reason="../shared/helm-golden is not beside this clone (the goldens have no upstream URL)")
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_golden_scenario_matches_except_documented_deviations(scenario: str) -> None:
    rows = deviations(DOC, RELEASE)
    chart, ours = _chart(scenario), _ours(scenario)
    unexplained: list[str] = []
    paired: set[tuple[str, str]] = set()
    for (kind, name), obj in chart.items():
        match = ours.get((kind, name))
        if match is None:
            renamed = [k for k in ours if k[0] == kind and covered(kind, f"(name) {k[1]}", rows)]
            if renamed:
                match = ours[renamed[0]]
                paired.add(renamed[0])
            elif covered(kind, "(object)", rows):
                continue
            else:
                unexplained.append(f"{kind}/{name}: missing from our render")
                continue
        else:
            paired.add((kind, name))
        for path, (theirs, mine) in diff(obj, match).items():
            if not covered(kind, path, rows):
                unexplained.append(f"{kind}/{name} {path}: chart {theirs!r}, ours {mine!r}")
    for key in ours:
        if key not in paired and not covered(key[0], "(added)", rows):
            unexplained.append(f"{key[0]}/{key[1]}: rendered by us only")
    assert unexplained == [], "differences not documented in docs/helm-migration.md:\n" + "\n".join(unexplained)


@pytest.mark.skipif(not SCENARIOS, reason="../shared/helm-golden is not beside this clone")
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_vllm_flags_are_kept_in_order(scenario: str) -> None:
    """The command deviation is only a split into command + args, the verified model path, host/port and flag order."""
    chart_dep = next(o for (k, _), o in _chart(scenario).items() if k == "Deployment")
    our_dep = next(o for (k, _), o in _ours(scenario).items() if k == "Deployment")
    theirs = chart_dep["spec"]["template"]["spec"]["containers"][0]["command"]
    mine = our_dep["spec"]["template"]["spec"]["containers"][0]
    assert mine["command"] == theirs[:2] == ["vllm", "serve"]

    def flags(argv: list[str]) -> list[tuple[str, str]]:
        """(flag, value) pairs without the model path, --host and --port; order is irrelevant to vLLM's parser."""
        rest = argv[1:] if argv and not argv[0].startswith("-") else argv
        pairs, i = [], 0
        while i < len(rest):
            value = rest[i + 1] if i + 1 < len(rest) and not rest[i + 1].startswith("-") else ""
            pairs.append((rest[i], value))
            i += 2 if value else 1
        return sorted(p for p in pairs if p[0] not in ("--host", "--port"))

    assert flags(mine["args"]) == flags(theirs[2:])
    port = mine["ports"][0]["containerPort"]
    assert mine["args"][mine["args"].index("--port") + 1] == str(port)


@pytest.mark.skipif(not SCENARIOS, reason="../shared/helm-golden is not beside this clone")
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_release_secret_never_reaches_the_server_and_external_configs_do(scenario: str) -> None:
    chart_c = next(o for (k, _), o in _chart(scenario).items() if k == "Deployment")["spec"]["template"]["spec"]["containers"][0]
    our_c = next(o for (k, _), o in _ours(scenario).items() if k == "Deployment")["spec"]["template"]["spec"]["containers"][0]
    ours_from = our_c.get("envFrom", [])
    assert {"secretRef": {"name": f"{RELEASE}-secrets"}} not in ours_from
    expected = [e for e in chart_c.get("envFrom", []) if e != {"secretRef": {"name": f"{RELEASE}-secrets"}}]
    assert ours_from == expected
    assert not any(o["kind"] == "Secret" for o in _ours(scenario).values())


@pytest.mark.skipif(not SCENARIOS, reason="../shared/helm-golden is not beside this clone")
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rendered_scenarios_validate_strictly(scenario: str) -> None:
    # The user's own init container in this scenario is a native sidecar (restartPolicy: Always), a field that
    # Kubernetes added in 1.28 (beta, on by default, in 1.29): that input needs 1.29+, and it is the only problem.
    needs_sidecars = scenario == "no-download-custom-init"
    for obj in _ours(scenario).values():
        if is_builtin(obj):
            for version in K8S_VERSIONS:
                errors = k8s_errors(obj, version)
                if needs_sidecars and version < "1.29" and obj["kind"] == "Deployment":
                    assert errors == [
                        "spec.template.spec.initContainers.0: Additional properties are not allowed ('restartPolicy' was unexpected)"
                    ]
                else:
                    assert errors == [], (obj["kind"], version)


@pytest.mark.skipif(not SCENARIOS, reason="../shared/helm-golden is not beside this clone")
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_template_writes_what_the_construct_and_the_migrated_module_synthesize(scenario: str, tmp_path: Path) -> None:
    """`template` (pure, no Node), `cdk8s synth` of VllmChartRelease and of the module `migrate` writes: the same objects."""
    loaded = load_values([shared_path(f"helm-golden/{scenario}.values.yaml")])
    ours = template_objects(RELEASE, NAMESPACE, loaded)
    assert construct_objects(RELEASE, NAMESPACE, loaded) == ours
    assert migrated_objects(RELEASE, NAMESPACE, loaded, tmp_path) == ours


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "vllm-constructs"
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, check=False, timeout=120)


@pytest.mark.skipif(not SCENARIOS, reason="../shared/helm-golden is not beside this clone")
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_template_command_renders_the_scenario_without_node(scenario: str, tmp_path: Path) -> None:
    """The installed command renders every scenario with Node unusable (JSII_NODE=/bin/false): nothing starts jsii.
    Notices go to stderr, the manifests to stdout or --output-dir."""
    values = str(shared_path(f"helm-golden/{scenario}.values.yaml"))
    env = {**os.environ, "JSII_NODE": "/bin/false"}
    run = _cli("template", RELEASE, "-f", values, "--namespace", NAMESPACE, env=env)
    assert run.returncode == 0, run.stderr
    assert all(line.startswith("notice: ") for line in run.stderr.splitlines()), run.stderr
    assert run.stdout == render_template(RELEASE, load_values([values]), namespace=NAMESPACE)
    assert "notice:" not in run.stdout
    out = _cli("template", RELEASE, "-f", values, "-n", NAMESPACE, "--output-dir", str(tmp_path), env=env)
    assert out.returncode == 0 and out.stdout == ""
    assert (tmp_path / f"{RELEASE}.k8s.yaml").read_text() == run.stdout
    module = tmp_path / "apps" / "demo.py"
    migrated = _cli("migrate", RELEASE, "-f", values, "-n", NAMESPACE, "-o", str(module), env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert module.read_text() == migrate_source(RELEASE, load_values([values]), namespace=NAMESPACE)


@pytest.mark.skipif(not SCENARIOS, reason="../shared/helm-golden is not beside this clone")
def test_template_and_migrate_never_load_cdk8s_or_jsii() -> None:
    values = str(shared_path("helm-golden/custom-objects.values.yaml"))
    code = (
        "import sys, io, contextlib\n"
        "from vllm_constructs.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['template', 'demo', '-f', {values!r}]) == 0\n"
        f"    assert main(['migrate', 'demo', '-f', {values!r}]) == 0\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('cdk8s', 'cdk8s_plus_27', 'jsii', 'constructs'))\n"
        "print(loaded)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "JSII_NODE": "/bin/false"},
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
