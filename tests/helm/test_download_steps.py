"""Your own download commands: the core allows an empty S3 prefix only when your args fetch the model; the step after
your download writes the marker the wait guard accepts (run for real with the rendered commands); both see the model
folder at /data, the folder vLLM serves."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from vllm_constructs import ConfigError, ModelDownload, ModelSource, Resources, VllmServerProps
from vllm_constructs.chart import template
from vllm_constructs.core.model import ModelInitJobProps, S3Model, plan_init_job
from vllm_constructs.core.server import plan_server
from vllm_constructs.core.values import Image, WorkloadLabels

CUSTOM_DOWNLOAD = [
    "extraInit.s3modelpath=",
    "extraInit.modelDownload.downloadJob.command={/bin/sh,-c}",
    "extraInit.modelDownload.downloadJob.args={echo fetching > /data/config.json}",
]


def _props(model: Any, download: ModelDownload) -> VllmServerProps:
    return VllmServerProps(name="srv", model=model, resources=Resources(cpu="1", memory="4Gi"), download=download)


def test_an_empty_s3_prefix_needs_your_own_download_args() -> None:
    empty = ModelSource.s3("", bucket="models")
    with pytest.raises(ConfigError) as info:
        plan_server("test/srv", "ns", _props(empty, ModelDownload()))
    assert (info.value.path, info.value.field) == ("test/srv", "model.path")
    assert "whole bucket" in info.value.problem
    plan_server("test/srv", "ns", _props(empty, ModelDownload(command=("/bin/sh", "-c"), args=("fetch-it",))))
    with pytest.raises(ConfigError):
        plan_server("test/srv", "ns", _props(empty, ModelDownload(command=("/bin/sh", "-c"))))


def test_a_slash_or_a_url_is_still_refused_as_a_prefix() -> None:
    for bad in ("/", "s3://b/p"):
        with pytest.raises(ConfigError):
            S3Model(path=bad, bucket="models")


def test_a_model_init_job_refuses_an_empty_prefix_without_your_args() -> None:
    common: dict[str, Any] = {
        "server_name": "srv",
        "claim_name": "c",
        "image": Image("amazon/aws-cli", tag="2.17.0"),
        "labels": WorkloadLabels(instance="srv"),
    }
    with pytest.raises(ConfigError) as info:
        ModelInitJobProps(source=ModelSource.s3("", bucket="models"), **common)
    assert info.value.field == "source.path"
    made = ModelInitJobProps(source=ModelSource.s3("", bucket="models"), download=ModelDownload(args=("fetch",)), **common)
    assert plan_init_job(made)[1]["template"]["spec"]["containers"][0]["args"] == ["fetch"]


def _rendered(sets: list[str]) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(template("demo", namespace="ns", sets=sets).text) if d]


def _env(container: dict[str, Any], model_dir: Path) -> dict[str, str]:
    env = {e["name"]: e.get("value", "") for e in container["env"]}
    env["MODEL_DIR"] = str(model_dir)
    return env


def test_the_marker_step_after_your_download_satisfies_the_wait_guard(tmp_path: Path) -> None:
    docs = _rendered(CUSTOM_DOWNLOAD)
    job = next(d for d in docs if d["kind"] == "Job")["spec"]["template"]["spec"]
    pod = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]
    mark = job["containers"][0]
    guard = next(c for c in pod["initContainers"] if c["name"] == "wait-for-model")
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    empty = subprocess.run(mark["command"], env=_env(mark, model_dir), capture_output=True, text=True, timeout=30, check=False)
    assert empty.returncode == 1 and "left" in empty.stderr and "empty" in empty.stderr
    (model_dir / "config.json").write_text("{}")
    marked = subprocess.run(mark["command"], env=_env(mark, model_dir), capture_output=True, text=True, timeout=30, check=False)
    assert marked.returncode == 0, marked.stderr
    guard_env = {**_env(guard, model_dir), "WAIT_TIMEOUT_SECONDS": "5", "WAIT_INTERVAL_SECONDS": "1", "PATH": "/usr/bin:/bin"}
    waited = subprocess.run([*guard["command"], *guard["args"]], env=guard_env, capture_output=True, text=True, timeout=30, check=False)
    assert waited.returncode == 0, waited.stderr
    assert "model ready" in waited.stdout


def test_the_guard_still_waits_when_the_marker_names_another_revision(tmp_path: Path) -> None:
    docs = _rendered(CUSTOM_DOWNLOAD)
    pod = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]
    guard = next(c for c in pod["initContainers"] if c["name"] == "wait-for-model")
    (tmp_path / ".vllm-constructs-complete").write_text("source=s3://other revision=x")
    env = {**_env(guard, tmp_path), "WAIT_TIMEOUT_SECONDS": "0", "PATH": "/usr/bin:/bin"}
    waited = subprocess.run([*guard["command"], *guard["args"]], env=env, capture_output=True, text=True, timeout=30, check=False)
    assert waited.returncode == 1


def test_your_commands_see_at_data_the_folder_vllm_serves() -> None:
    docs = _rendered(
        [
            *CUSTOM_DOWNLOAD,
            "extraInit.modelDownload.waitContainer.command={/bin/sh,-c}",
            "extraInit.modelDownload.waitContainer.args={test -f /data/config.json}",
        ]
    )
    job = next(d for d in docs if d["kind"] == "Job")["spec"]["template"]["spec"]
    pod = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]
    served = next(c for c in pod["containers"] if c["name"] == "vllm")["args"][0]
    folder = served.removeprefix("/models/")
    assert "initContainers" not in job, "with your own wait command, no marker step is added"
    download_mount = next(m for m in job["containers"][0]["volumeMounts"] if m["mountPath"] == "/data")
    wait_mount = next(
        m for c in pod["initContainers"] if c["name"] == "wait-for-model" for m in c["volumeMounts"] if m["mountPath"] == "/data"
    )
    assert download_mount == {"name": "model-cache", "mountPath": "/data", "subPath": folder}
    assert wait_mount == {"name": "model-cache", "mountPath": "/data", "subPath": folder, "readOnly": True}
