"""The chart values loader: merging, --set parsing, schema intent, values-path errors, and `migrate`."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import cdk8s
import pytest
import yaml

from tests.conftest import SHARED
from vllm_constructs import ConfigError
from vllm_constructs.helm import load_values, migrate_source, props_from_values, render_template


def test_defaults_are_the_charts() -> None:
    values = load_values()
    assert values["image"]["repository"] == "vllm/vllm-openai"
    assert values["extraInit"]["pvcStorage"] == "1Gi"
    props = props_from_values("demo", values)
    assert props.image.tag == "v0.33.0", "the chart's default 'latest' is pinned"
    assert props.resources.accelerators == 1
    assert props.pod.gpu_products is None, "the TYPE_GPU_USED placeholder never becomes an affinity"
    assert props.engine.served_model_name == "opt-125m"
    assert props.engine.enforce_eager and props.engine.dtype == "bfloat16"
    assert props.engine.extra_args == ("--block-size", "16")


def test_later_files_and_sets_win(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("replicaCount: 2\nlabels: {team: a}\n")
    b.write_text("replicaCount: 3\n")
    values = load_values(
        [a, b], sets=["servicePort=9090", "image.env[0].name=X", "image.env[0].value=1"], set_strings=["containerPort=8001"]
    )
    assert values["replicaCount"] == 3
    assert values["labels"] == {"environment": "test", "release": "test", "team": "a"}
    assert values["servicePort"] == 9090
    assert values["image"]["env"] == [{"name": "X", "value": 1}]
    assert values["containerPort"] == "8001"
    props = props_from_values("demo", values)
    assert props.port == 8001 and props.service_port == 9090 and props.env == {"X": "1"}


def test_set_string_gpu_zero_means_cpu_only() -> None:
    values = load_values(set_strings=[r"resources.requests.nvidia\.com/gpu=0", r"resources.limits.nvidia\.com/gpu=0"])
    props = props_from_values("demo", values)
    assert props.resources.accelerators == 0
    out = render_template("demo", values, namespace="ns")
    assert "nvidia.com/gpu" not in out and "runtimeClassName" not in out


def test_configs_values_become_strings() -> None:
    out = render_template("demo", load_values(sets=["configs.PORT=8000", "configs.DEBUG=true"]), namespace="ns")
    assert 'PORT: "8000"' in out and 'DEBUG: "true"' in out


def test_autoscaling_drops_replicas_and_makes_the_cache_shared() -> None:
    out = render_template("demo", load_values(sets=["autoscaling.enabled=true", "autoscaling.maxReplicas=3"]), namespace="ns")
    assert "kind: HorizontalPodAutoscaler" in out and "name: demo-hpa" in out
    assert "ReadWriteMany" in out
    assert "\n  replicas:" not in out


@pytest.mark.parametrize(
    ("sets", "set_strings", "message"),
    [
        (
            ["resources.limits.cpu=lots"],
            [],
            "values: resources.limits.cpu='lots' has the wrong type. Allowed: a number or a Kubernetes quantity such as 4, '500m' "
            "or '16Gi'. Fix: give resources.limits.cpu as a number or a Kubernetes quantity such as 4, '500m' or '16Gi'.",
        ),
        (
            ["replicaCount=two"],
            [],
            "values: replicaCount='two' has the wrong type. Allowed: an integer (a numeric string is accepted). "
            "Fix: give replicaCount as an integer (a numeric string is accepted).",
        ),
        (
            ["image.tag=latest"],
            [],
            "values: image.tag='latest' is mutable: every node may run different bits. Allowed: a released version tag. "
            "Fix: pin it, e.g. --set image.tag=v0.33.0.",
        ),
        (
            [],
            ["extraInit.s3modelpath="],
            "values: extraInit.s3modelpath='' is empty, so the download has no source path. Allowed: the model folder inside "
            "the bucket, e.g. 'opt-125m/'. Fix: set extraInit.s3modelpath, or extraInit.modelDownload.enabled=false.",
        ),
        (
            [r"resources.limits.nvidia\.com/gpu=2"],
            [],
            "values: resources.limits.nvidia.com/gpu=2 differs from resources.requests.nvidia.com/gpu (1). Allowed: the same GPU "
            "count in requests and limits. Fix: set both to the same number.",
        ),
        (
            ["image.command=null"],
            [],
            "values: image.command=None does not start with 'vllm serve'. Allowed: ['vllm', 'serve', MODEL, flags...]. "
            "Fix: write the full vllm serve command as the chart's default does.",
        ),
        (
            ["replicaCount"],
            [],
            "--set: replicaCount='replicaCount' has no '='. Allowed: key.path=value. Fix: write e.g. --set replicaCount=2.",
        ),
        (
            ["gpuModels=A100"],
            [],
            "values: gpuModels='A100' has the wrong type. Allowed: a list of strings. Fix: give gpuModels as a list of strings.",
        ),
    ],
)
def test_fails_with_the_values_path(sets: list[str], set_strings: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        render_template("demo", load_values(sets=sets, set_strings=set_strings), namespace="ns")
    assert str(info.value) == message


def test_fails_on_a_values_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    bad = tmp_path / "v.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(ConfigError) as info:
        load_values([bad])
    assert str(info.value) == (
        f"{bad}: (top level)='list' is not a mapping. Allowed: a YAML mapping of chart keys. "
        "Fix: start the file with keys such as 'image:'."
    )


def test_template_command_reports_errors_on_stderr_and_writes_nothing() -> None:
    exe = Path(sys.executable).parent / "vllm-constructs"
    run = subprocess.run(
        [str(exe), "template", "demo", "--set", "servicePort=x"], capture_output=True, text=True, check=False, env=dict(os.environ)
    )
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.startswith("error: values: servicePort='x' has the wrong type.")


SCENARIO_FILES = sorted((SHARED / "helm-golden").glob("*.values.yaml"))


@pytest.mark.skipif(not SCENARIO_FILES, reason="../shared/helm-golden is not beside this clone")
@pytest.mark.parametrize("values_file", SCENARIO_FILES, ids=lambda p: p.name)
def test_migrated_module_renders_what_template_renders(values_file: Path, tmp_path: Path) -> None:
    values = load_values([values_file])
    module = tmp_path / "migrated.py"
    module.write_text(migrate_source("demo", values, namespace="ns-vllm"))
    compile(module.read_text(), str(module), "exec")
    namespace = runpy.run_path(str(module))
    app = cdk8s.App()
    chart_cls = next(
        v
        for k, v in namespace.items()
        if k.endswith("Chart") and isinstance(v, type) and issubclass(v, cdk8s.Chart) and v is not cdk8s.Chart
    )
    chart = chart_cls(app)
    assert "---\n" + cdk8s.Yaml.stringify(*chart.to_json()) == render_template("demo", values, namespace="ns-vllm")


def _deployment_pod(values: dict[str, object]) -> dict[str, object]:
    docs = [d for d in yaml.safe_load_all(render_template("demo", values, namespace="ns")) if d]
    pod: dict[str, object] = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]
    return pod


def test_chart_bug_7_image_run_as_user_is_honoured() -> None:
    pod = _deployment_pod(load_values(sets=["image.runAsUser=1001"]))
    assert pod["securityContext"]["runAsUser"] == 1001  # type: ignore[index]
    top = _deployment_pod(load_values(sets=["runAsUser=1002"]))
    assert top["securityContext"]["runAsUser"] == 1002  # type: ignore[index]


def test_image_security_context_maps_to_the_security_profile() -> None:
    pod = _deployment_pod(load_values(sets=["image.securityContext.runAsUser=3000", "image.securityContext.readOnlyRootFilesystem=false"]))
    assert pod["securityContext"]["runAsUser"] == 3000  # type: ignore[index]
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is False  # type: ignore[index]


def test_hidden_env_keys_of_the_download_and_the_wait_container() -> None:
    values = load_values(
        sets=[
            "extraInit.modelDownload.downloadJob.env[0].name=HTTPS_PROXY",
            "extraInit.modelDownload.downloadJob.env[0].value=http://proxy:3128",
            "extraInit.modelDownload.waitContainer.env[0].name=WAIT_INTERVAL_SECONDS",
            "extraInit.modelDownload.waitContainer.env[0].value=30",
        ]
    )
    docs = [d for d in yaml.safe_load_all(render_template("demo", values, namespace="ns")) if d]
    job_env = {
        e["name"]: e.get("value") for e in next(d for d in docs if d["kind"] == "Job")["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert job_env["HTTPS_PROXY"] == "http://proxy:3128"
    pod = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]
    wait_env = {e["name"]: e.get("value") for e in pod["initContainers"][0]["env"]}
    assert wait_env["WAIT_INTERVAL_SECONDS"] == "30"


def test_startup_probe_the_chart_ignores_sets_our_budget() -> None:
    pod = _deployment_pod(load_values(sets=["startupProbe.periodSeconds=20", "startupProbe.failureThreshold=90"]))
    startup = pod["containers"][0]["startupProbe"]  # type: ignore[index]
    assert (startup["periodSeconds"], startup["failureThreshold"]) == (20, 90)
