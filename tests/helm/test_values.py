"""Reading values like Helm: merging files and --set, Helm's --set syntax and typing, null removing defaults, and
errors that name the values file or --set expression first and the user's key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from vllm_constructs.chart import load_values, plan_release
from vllm_constructs.chart.load import user_values
from vllm_constructs.chart.setexpr import parse_assignments
from vllm_constructs.errors import ConfigError


def _error(**kwargs: object) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        plan_release("demo", "ns", load_values(**kwargs))  # type: ignore[arg-type]
    return info.value


def test_later_files_and_sets_win(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("replicaCount: 2\nlabels: {team: a}\nextraInit: {pvcAccessMode: ReadWriteMany}\n")
    b.write_text("replicaCount: 3\n")
    loaded = load_values(
        [a, b], sets=["servicePort=9090", "image.env[0].name=X", "image.env[0].value=1"], set_strings=["containerPort=8001"]
    )
    v = loaded.values
    assert v.replica_count == 3
    assert v.labels == {"environment": "test", "release": "test", "team": "a"}, "maps merge key by key with the defaults"
    assert (v.service_port, v.container_port) == (9090, 8001)
    assert v.image.env is not None and v.image.env[0].value == 1
    assert loaded.origins.source(("replicaCount",)) == str(b)
    assert loaded.origins.source(("labels", "team")) == str(a)
    assert loaded.origins.source(("servicePort",)) == "--set servicePort=9090"
    assert loaded.origins.source(("containerPort",)) == "--set-string containerPort=8001"
    assert loaded.origins.source(("image", "tag")) == "values"


def test_null_removes_a_default_and_lists_replace(tmp_path: Path) -> None:
    values = tmp_path / "v.yaml"
    values.write_text("startupProbe: null\ngpuModels: [NVIDIA-L4]\nreadinessProbe: {httpGet: {path: /ready}}\n")
    loaded = load_values([values])
    assert loaded.values.startup_probe is None
    assert loaded.values.gpu_models == ["NVIDIA-L4"]
    probe = loaded.values.readiness_probe
    assert probe is not None and probe.http_get is not None
    assert (probe.http_get.path, probe.http_get.port, probe.period_seconds) == ("/ready", 8000, 5), "maps merge with the default probe"


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("a=1", [(("a",), 1)]),
        ("a=true,b=FALSE,c=Null", [(("a",), True), (("b",), False), (("c",), None)]),
        ("a=0755", [(("a",), "0755")]),
        ("a=0", [(("a",), 0)]),
        ("a=-3", [(("a",), -3)]),
        ("a=1.5", [(("a",), "1.5")]),
        ("a.b[0].c=x", [(("a", "b", 0, "c"), "x")]),
        (r"resources.limits.nvidia\.com/gpu=2", [(("resources", "limits", "nvidia.com/gpu"), 2)]),
        (r"a=x\,y", [(("a",), "x,y")]),
        ("a={x,2,true}", [(("a",), ["x", 2, True])]),
        ("a=", [(("a",), "")]),
        ("a=b=c", [(("a",), "b=c")]),
    ],
)
def test_set_expressions_read_like_helm(argument: str, expected: list[tuple[tuple[object, ...], object]]) -> None:
    assert [(a.path, a.value) for a in parse_assignments(argument, as_string=False)] == expected


def test_set_string_keeps_strings() -> None:
    assert [a.value for a in parse_assignments("a=true,b=1,c={x,1}", as_string=True)] == ["true", "1", ["x", "1"]]


def test_set_pads_lists_and_replaces_scalars() -> None:
    user, _ = user_values((), ["a[2]=x", "b=1", "b.c=2"], ())
    assert user == {"a": [None, None, "x"], "b": {"c": 2}}


@pytest.mark.parametrize(
    ("argument", "problem"),
    [
        ("foo[abc]=1", "has the index [abc], which is not a list index"),
        ("foo[0=1", "has a '[' without ']'"),
        ("=1", "has no key"),
        ("a..b=1", "has an empty key segment"),
        ("a.=1", "has an empty key segment"),
        ("a", "has no '='"),
        ("a=1,", "has no '='"),
        ("a[99999]=1", "which is not a list index"),
        ("a]=1", "has a ']' without '['"),
        ("a[0]b=1", "continues after an index"),
        ("a={x,y", "does not close it"),
    ],
)
def test_malformed_set_expressions_are_refused_by_the_expression(argument: str, problem: str) -> None:
    err = _error(sets=[argument])
    assert err.path.startswith("--set ")
    assert problem in err.problem


def test_errors_name_the_file_and_the_key_path(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("extraInit:\n  modelDownload:\n    image:\n      pullPolicy: always\n")
    err = _error(files=[values])
    assert str(err) == (
        f"{values}: extraInit.modelDownload.image.pullPolicy='always' is not one of the allowed values. "
        "Allowed: IfNotPresent, Always, Never. Fix: write 'Always' (Kubernetes values are case-sensitive)."
    )


def test_a_later_file_that_merges_into_a_map_keeps_the_earlier_files_keys_sourced_to_it(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("image:\n  repository: team/vllm\n")
    b.write_text("image:\n  tag: v0.9.0\n")
    loaded = load_values([a, b])
    assert loaded.origins.source(("image", "repository")) == str(a)
    assert loaded.origins.source(("image", "tag")) == str(b)
    a.write_text("image:\n  repository: 123\n")
    assert str(_error(files=[a, b])).startswith(f"{a}: image.repository=123 ")


def test_the_release_vllm_is_fine_because_its_service_is_vllm_service() -> None:
    """Kubernetes injects VLLM_PORT only for a Service named 'vllm' (refused by serviceName in the suites); the release
    name only prefixes the chart's Service name."""
    plan = plan_release("vllm", "ns", load_values())
    assert [o.name for o in plan.objects if o.kind == "Service"] == ["vllm-service"]


def test_errors_name_the_set_expression() -> None:
    err = _error(sets=["replicaCount=-1"])
    assert (
        str(err)
        == "--set replicaCount=-1: replicaCount=-1 is out of range. Allowed: an integer from 0 to 1000. Fix: pick a value in range."
    )


def test_every_problem_is_reported_unknown_keys_first(tmp_path: Path) -> None:
    values = tmp_path / "v.yaml"
    values.write_text("replicaCont: 3\ncontainerPort: 70000\nmaxUnavailablePodDisruptionBudget: lots\n")
    err = _error(files=[values])
    assert [p.field for p in err.problems] == ["replicaCont", "containerPort", "maxUnavailablePodDisruptionBudget"]
    assert err.problems[0].fix == "did you mean replicaCount? Otherwise remove it"
    assert all(p.path == str(values) for p in err.problems)
    assert "replicas=" not in str(err) and "port=" not in str(err).replace("containerPort=", "")


def test_secret_values_never_appear_in_errors(tmp_path: Path) -> None:
    token = "hf_" + "A" * 30
    err = _error(sets=[f"secrets.s3accesskey={token}", "secrets.s3bucketname=x", "replicaCount=x"])
    assert token not in str(err) and token not in err.path
    values = tmp_path / "v.yaml"
    values.write_text("secrets:\n  s3accesskey: 12\n")
    err = _error(files=[values])
    assert err.field == "secrets.s3accesskey" and "12" not in str(err)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("- a\n- b\n", "is not a mapping of chart keys"),
        ("replicaCount: 1\nreplicaCount: 2\n", "is given twice"),
        ("a: [\n", "is not valid YAML at line"),
        ("a: 1\n---\nb: 2\n", "is not valid YAML"),
        ("? [a]\n: 1\n", "is not a string"),
    ],
)
def test_bad_values_files_are_refused_by_file(tmp_path: Path, text: str, problem: str) -> None:
    values = tmp_path / "v.yaml"
    values.write_text(text)
    err = _error(files=[values])
    assert err.path == str(values)
    assert problem in str(err)


def test_an_empty_values_file_is_the_defaults(tmp_path: Path) -> None:
    values = tmp_path / "v.yaml"
    values.write_text("# nothing\n")
    assert load_values([values]).values == load_values().values


def test_dates_and_special_floats_are_refused_with_their_type(tmp_path: Path) -> None:
    values = tmp_path / "v.yaml"
    values.write_text("image: {tag: 2024-01-01}\nreplicaCount: .nan\n")
    err = _error(files=[values])
    assert [p.field for p in err.problems] == ["image.tag", "replicaCount"]
    assert "a date" in err.problems[0].problem and "a number" in err.problems[1].problem


def test_the_oldest_layout_errors_name_its_own_keys(tmp_path: Path) -> None:
    values = tmp_path / "v.yaml"
    values.write_text("extraInit:\n  image: {repository: amazon/aws-cli, tag: 2.17.0, pullPolicy: sometimes}\n")
    err = _error(files=[values])
    assert err.field == "extraInit.image.pullPolicy" and err.path == str(values)
