# ruff: noqa: E501  (exact error messages and rendered strings read best unwrapped)
"""ModelSource, ModelCache and ModelInitJob as VllmServer renders them, with a regression test for each
of the upstream chart's download bugs (inventory bugs 8-11) and every validation message."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path
from typing import Any

import cdk8s
import pytest

from tests.conftest import by_kind, chart_objects, one
from tests.s3_server import BIN, S3Server, aws_cli, s3  # noqa: F401
from tests.schemas import K8S_VERSIONS, k8s_errors
from vllm_constructs import (
    ConfigError,
    DownloadMode,
    Image,
    ModelCache,
    ModelInitJobProps,
    ModelSource,
    Resources,
    RolloutStrategy,
    SecretKeyRef,
    ServerNames,
    VllmServer,
    VllmServerProps,
    WorkloadIdentity,
)
from vllm_constructs._check import Checker
from vllm_constructs.model import S3Credentials, download_script, render_job, wait_script

S3_SOURCE = ModelSource.chart_s3("model-store", "opt-125m", revision="2026-11-01")
HF_SOURCE = ModelSource.huggingface("meta-llama/Llama-3.1-8B-Instruct", revision="0e9e39f249a16976918f6564b8830bc894c89659")


def synth(**props: Any) -> list[dict[str, Any]]:
    chart = cdk8s.Chart(cdk8s.App(), "test", namespace="test", disable_resource_name_hashes=True)
    full: dict[str, Any] = {"name": "srv", "model": S3_SOURCE, "resources": Resources(cpu="2", memory="4Gi"), **props}
    VllmServer(chart, "srv", VllmServerProps(**full))
    return chart_objects(chart)


def config_error(**props: Any) -> str:
    with pytest.raises(ConfigError) as e:
        synth(**props)
    return str(e.value)


def pod_spec(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(one(objects, "Deployment")["spec"]["template"]["spec"])


def job_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (container,) = one(objects, "Job")["spec"]["template"]["spec"]["containers"]
    return dict(container)


def init(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return dict(next(c for c in pod_spec(objects).get("initContainers", []) if c["name"] == name))


def vllm(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(next(c for c in pod_spec(objects)["containers"] if c["name"] == "vllm"))


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def job_name(**props: Any) -> str:
    return str(one(synth(**props), "Job")["metadata"]["name"])


# ---------------------------------------------------------------- chart bug 8: the waiter passes on failure

CHART_WAIT_ARGS = [
    "-eucx",
    "while aws --endpoint-url $S3_ENDPOINT_URL s3 sync --dryrun s3://$S3_BUCKET_NAME/$S3_PATH /data | grep -q download; do sleep 10; done",
]


@pytest.mark.real
def test_chart_waiter_passes_on_bad_credentials_but_ours_fails(s3: S3Server, aws_cli: str, tmp_path: Path) -> None:  # noqa: F811
    bucket = s3.new_bucket()
    s3.put(bucket, {"opt-125m/config.json": b"{}"})
    nowhere = tmp_path / "does-not-exist"
    env = {
        "PATH": f"{BIN}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "AWS_CONFIG_FILE": str(nowhere / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(nowhere / "credentials"),
        "AWS_ACCESS_KEY_ID": s3.access_key_id,
        "AWS_SECRET_ACCESS_KEY": "wrong-secret",
        "AWS_EC2_METADATA_DISABLED": "true",
        "S3_ENDPOINT_URL": s3.endpoint,
        "S3_BUCKET_NAME": bucket,
        "S3_PATH": "opt-125m",
    }
    # The chart's own wait container (only its /data mount moved into a temp dir): aws fails, grep finds
    # nothing, the loop ends and, without pipefail, the init container succeeds on an empty volume.
    chart_args = [CHART_WAIT_ARGS[0], CHART_WAIT_ARGS[1].replace(" /data ", f" {tmp_path / 'data'} ")]
    chart = subprocess.run(["/bin/bash", *chart_args], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert "SignatureDoesNotMatch" in chart.stderr
    assert chart.returncode == 0  # the bug
    # Ours in the same situation: the download fails and so does the guard.
    objects = synth()
    model_dir = tmp_path / "cache" / "model"
    job = job_container(objects)
    secrets = {"s3endpoint": s3.endpoint, "s3bucketname": bucket, "s3accesskeyid": s3.access_key_id, "s3accesskey": "wrong-secret"}
    job_env = {k: (secrets[v["secretKeyRef"]["key"]] if isinstance(v, dict) else v) for k, v in env_of(job).items()}
    job_env["MODEL_DIR"] = str(model_dir)
    ours = subprocess.run([*job["command"], *job["args"]], env={**env, **job_env}, capture_output=True, text=True, timeout=60, check=False)
    assert ours.returncode == 1
    assert "SignatureDoesNotMatch" in ours.stderr and "ERROR: listing s3://" in ours.stderr
    guard = init(objects, "wait-for-model")
    guard_env = {**env_of(guard), "MODEL_DIR": str(model_dir), "WAIT_TIMEOUT_SECONDS": "0"}
    waited = subprocess.run(
        [*guard["command"], *guard["args"]], env={"PATH": env["PATH"], **guard_env}, capture_output=True, text=True, timeout=30, check=False
    )
    assert waited.returncode == 1
    assert (
        f"no completion marker for 'source=s3://$(model-store/s3bucketname)/opt-125m revision=2026-11-01' in {model_dir}" in waited.stderr
    )


# ---------------------------------------------------------------- chart bug 9: empty S3 path


def test_fails_when_s3_path_is_empty() -> None:
    assert config_error(model=ModelSource.chart_s3("model-store", "")) == (
        "test/srv: model.path='' is empty or only '/', so the download would copy the whole bucket. "
        "Allowed: a prefix such as 'models/opt-125m'. Fix: give the folder of the model inside the bucket."
    )


def test_fails_when_s3_path_is_only_a_slash() -> None:
    assert config_error(model=ModelSource.s3("/", bucket="models")) == (
        "test/srv: model.path='/' is empty or only '/', so the download would copy the whole bucket. "
        "Allowed: a prefix such as 'models/opt-125m'. Fix: give the folder of the model inside the bucket."
    )


def _run_s3_script(tmp_path: Path, s3_path: str | None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "MODEL_DIR": str(tmp_path / "m"), "SOURCE_URI": "s3://b/p", "REVISION": "r", "S3_BUCKET_NAME": "b"}
    if s3_path is not None:
        env["S3_PATH"] = s3_path
    return subprocess.run(["/bin/bash", "-c", download_script("s3")], env=env, capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.parametrize("s3_path", [None, ""])
def test_script_refuses_an_unset_or_empty_s3_path_clearly(tmp_path: Path, s3_path: str | None) -> None:
    result = _run_s3_script(tmp_path, s3_path)
    assert result.returncode != 0
    assert "S3_PATH is not set: an empty path would copy the whole bucket" in result.stderr
    assert "unbound variable" not in result.stderr
    assert not (tmp_path / "m").exists()


def test_script_refuses_a_bucket_root_s3_path(tmp_path: Path) -> None:
    result = _run_s3_script(tmp_path, "//")
    assert result.returncode == 1
    assert result.stderr == "ERROR: S3_PATH='//' is the bucket root: the download would copy the whole bucket; give the model's folder\n"


# ---------------------------------------------------------------- chart bug 10: one RWO volume, many pods


def test_fails_when_rwo_cache_has_several_replicas() -> None:
    assert config_error(replicas=2, cache=ModelCache.pvc("10Gi", access_mode="ReadWriteOnce")) == (
        "test/srv: cache.access_mode='ReadWriteOnce' attaches to one node, but 2 replicas would mount it (multi-attach error on a second node). "
        "Allowed: ReadWriteMany when several pods read the cache. "
        "Fix: use ModelCache.pvc(size, access_mode='ReadWriteMany') on an RWX storage class, or DownloadMode.INIT_CONTAINER."
    )


def test_fails_when_rwo_cache_has_a_surge_rollout() -> None:
    assert config_error(rollout=RolloutStrategy.rolling(max_surge=1)) == (
        "test/srv: rollout.max_surge=1 starts a new pod while the old one holds the ReadWriteOnce cache, possibly on another node. "
        "Allowed: max_surge=0 (or Recreate) with a ReadWriteOnce cache. Fix: keep RolloutStrategy.rolling() defaults or use a ReadWriteMany cache."
    )


def test_fails_when_rwo_cache_job_is_not_co_located() -> None:
    assert config_error(co_locate_download=False) == (
        "test/srv: co_locate_download=False lets the download Job run on another node than the server, which cannot attach the ReadWriteOnce cache. "
        "Allowed: True (or unset) with a ReadWriteOnce cache. Fix: leave co_locate_download unset, or use a ReadWriteMany cache."
    )


def test_fails_when_cache_is_read_write_once_pod() -> None:
    assert config_error(cache=ModelCache.pvc("10Gi", access_mode="ReadWriteOncePod")) == (
        "test/srv: cache.access_mode='ReadWriteOncePod' admits one pod, but the Job and the server both mount the cache. "
        "Allowed: ReadWriteOnce or ReadWriteMany. Fix: use ReadWriteMany."
    )


def test_fails_when_cache_is_read_only_many() -> None:
    assert config_error(cache=ModelCache.existing_claim("models", access_mode="ReadOnlyMany")) == (
        "test/srv: cache.access_mode='ReadOnlyMany' is read-only, but the download writes the model into the cache. "
        "Allowed: 'ReadWriteOnce' or 'ReadWriteMany'. "
        "Fix: use 'ReadWriteMany'; for a claim that already holds the model use ModelSource.pvc(claim_name) and no cache."
    )


def test_fails_when_a_job_should_fill_a_per_pod_cache() -> None:
    assert config_error(cache=ModelCache.empty_dir("10Gi")) == (
        "test/srv: cache='emptyDir' is per pod, so a download Job cannot fill it. "
        "Allowed: ModelCache.pvc(...) or ModelCache.existing_claim(...) with DownloadMode.JOB. "
        "Fix: use a shared cache, or download_mode=DownloadMode.INIT_CONTAINER."
    )


def test_fails_when_init_container_downloads_share_an_rwo_claim() -> None:
    assert config_error(
        download_mode=DownloadMode.INIT_CONTAINER, replicas=2, cache=ModelCache.pvc("10Gi", access_mode="ReadWriteOnce")
    ) == (
        "test/srv: cache.access_mode='ReadWriteOnce' is shared by every pod that downloads into it, and more than one pod would mount it. "
        "Allowed: ModelCache.empty_dir / ephemeral (per pod) or a ReadWriteMany claim. Fix: use a per-pod cache with DownloadMode.INIT_CONTAINER."
    )


def test_rwo_cache_pins_the_job_to_the_server_node() -> None:
    objects = synth()
    assert one(objects, "PersistentVolumeClaim")["spec"]["accessModes"] == ["ReadWriteOnce"]
    affinity = one(objects, "Job")["spec"]["template"]["spec"]["affinity"]
    selector = one(objects, "Deployment")["spec"]["selector"]["matchLabels"]
    assert affinity == {
        "podAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": selector}, "topologyKey": "kubernetes.io/hostname"}
            ]
        }
    }


def test_rwx_cache_allows_replicas_and_surge_without_pinning() -> None:
    objects = synth(replicas=3, rollout=RolloutStrategy.rolling(max_surge=1), cache=ModelCache.pvc("10Gi", storage_class="shared-rwx"))
    assert one(objects, "PersistentVolumeClaim")["spec"] == {
        "accessModes": ["ReadWriteMany"],
        "resources": {"requests": {"storage": "10Gi"}},
        "storageClassName": "shared-rwx",
    }
    assert "affinity" not in one(objects, "Job")["spec"]["template"]["spec"]


# ---------------------------------------------------------------- chart bug 11: a fixed Job name breaks upgrades


def test_job_name_is_stable_across_syntheses() -> None:
    assert job_name() == job_name()
    assert job_name().startswith("srv-download-")


@pytest.mark.parametrize(
    "change",
    [
        {"model": dataclasses.replace(S3_SOURCE, revision="2026-12-01")},
        {"model": ModelSource.chart_s3("model-store", "opt-350m", revision="2026-11-01")},
        {"download_image": Image("amazon/aws-cli", tag="2.18.0")},
        {"download_args": ("echo custom",)},
        {"download_env": {"AWS_MAX_ATTEMPTS": "5"}},
    ],
    ids=["revision", "source", "image", "script", "env"],
)
def test_job_name_changes_with_what_is_downloaded(change: dict[str, Any]) -> None:
    assert job_name(**change) != job_name()


def test_job_name_ignores_server_only_changes() -> None:
    assert job_name(replicas=1, service_port=8080) == job_name()


def test_chart_names_do_not_fix_the_job_name() -> None:
    names = ServerNames.helm_chart("demo")
    assert names.download_job_base == "demo-init-vllm"
    assert job_name(names=names).startswith("demo-init-vllm-download-")
    assert job_name(names=names) != job_name(names=names, model=ModelSource.chart_s3("demo-secrets", "other/"))


def test_job_is_bounded_and_hardened() -> None:
    job = one(synth(), "Job")
    spec = job["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"], spec["ttlSecondsAfterFinished"]) == (3, 7200, 86400)
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
    assert container["command"] == ["/bin/bash", "-c"] and container["args"] == [download_script("s3")]
    assert env_of(container)["DOWNLOAD_TIMEOUT_SECONDS"] == "7200"


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_download_objects_validate_strictly(version: str) -> None:
    objects = [
        *synth(),
        *synth(model=HF_SOURCE, hf_token=SecretKeyRef("hf", "token"), replicas=2),
        *synth(download_mode=DownloadMode.INIT_CONTAINER, cache=ModelCache.ephemeral("20Gi", storage_class="local-nvme")),
    ]
    assert {f"{o['kind']}/{o['metadata']['name']}": k8s_errors(o, version) for o in objects if k8s_errors(o, version)} == {}


# ---------------------------------------------------------------- the server and its guard


def test_server_reads_what_the_job_writes_offline_and_read_only() -> None:
    objects = synth()
    job_env = env_of(job_container(objects))
    guard = init(objects, "wait-for-model")
    guard_env = env_of(guard)
    assert guard["command"] == ["/bin/bash", "-c"] and guard["args"] == [wait_script()]
    for name in ("MODEL_DIR", "SOURCE_URI", "REVISION"):
        assert guard_env[name] == job_env[name], name
    assert job_env["SOURCE_URI"] == "s3://$(model-store/s3bucketname)/opt-125m" and job_env["REVISION"] == "2026-11-01"
    assert guard_env["WAIT_TIMEOUT_SECONDS"] == "7200"
    assert {"name": "model-cache", "mountPath": "/models", "readOnly": True} in guard["volumeMounts"]
    server = vllm(objects)
    assert server["args"][0] == job_env["MODEL_DIR"]
    assert env_of(server)["HF_HUB_OFFLINE"] == "1"
    mounts = [m for m in server["volumeMounts"] if m["name"] == "model-cache"]
    assert mounts == [{"name": "model-cache", "mountPath": "/models", "readOnly": True}]
    (job_mount,) = [m for m in job_container(objects)["volumeMounts"] if m["name"] == "model-cache"]
    assert job_mount.get("readOnly") is not True
    claim = one(objects, "PersistentVolumeClaim")["metadata"]["name"]
    volumes = {v["name"]: v for v in pod_spec(objects)["volumes"]}
    assert volumes["model-cache"]["persistentVolumeClaim"]["claimName"] == claim
    job_volumes = {v["name"]: v for v in one(objects, "Job")["spec"]["template"]["spec"]["volumes"]}
    assert job_volumes["model-cache"]["persistentVolumeClaim"]["claimName"] == claim


def test_hf_token_goes_to_the_download_only() -> None:
    objects = synth(model=HF_SOURCE, hf_token=SecretKeyRef("hf", "token"))
    job_env = env_of(job_container(objects))
    assert "HF_TOKEN" not in job_env, "the token is a file, never an environment variable"
    assert job_env["HF_TOKEN_PATH"] == "/var/run/secrets/huggingface/token"
    assert {"name": "hf-token", "mountPath": "/var/run/secrets/huggingface", "readOnly": True} in job_container(objects)["volumeMounts"]
    job_volumes = {v["name"]: v for v in one(objects, "Job")["spec"]["template"]["spec"]["volumes"]}
    assert job_volumes["hf-token"]["secret"] == {"secretName": "hf", "items": [{"key": "token", "path": "token"}], "defaultMode": 0o440}
    assert job_env["HF_REPO_ID"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert "HF_TOKEN" not in env_of(vllm(objects)) and "HF_TOKEN_PATH" not in env_of(vllm(objects))
    assert "hf-token" not in {v["name"] for v in pod_spec(objects)["volumes"]}, "the server never sees the token"
    assert job_container(objects)["image"] == "vllm/vllm-openai:v0.33.0"


def test_hf_token_file_in_init_container_mode_is_mounted_by_the_download_only() -> None:
    objects = synth(
        model=HF_SOURCE, hf_token=SecretKeyRef("hf", "token"), download_mode=DownloadMode.INIT_CONTAINER, cache=ModelCache.empty_dir("50Gi")
    )
    pod = pod_spec(objects)
    assert {v["name"]: v for v in pod["volumes"]}["hf-token"]["secret"]["secretName"] == "hf"
    download = next(c for c in pod["initContainers"] if c["name"] == "download-model")
    assert {"name": "hf-token", "mountPath": "/var/run/secrets/huggingface", "readOnly": True} in download["volumeMounts"]
    assert all(m["name"] != "hf-token" for m in vllm(objects)["volumeMounts"])


@pytest.mark.parametrize(
    "cache", [ModelCache.empty_dir("20Gi"), ModelCache.ephemeral("20Gi", storage_class="local-nvme")], ids=["emptyDir", "ephemeral"]
)
def test_init_container_mode_downloads_in_each_pod(cache: ModelCache) -> None:
    objects = synth(download_mode=DownloadMode.INIT_CONTAINER, cache=cache, replicas=2)
    assert by_kind(objects, "Job") == [] and by_kind(objects, "PersistentVolumeClaim") == []
    names = [c["name"] for c in pod_spec(objects)["initContainers"]]
    assert names == ["download-model"]
    download = init(objects, "download-model")
    assert download["args"] == [download_script("s3")]
    assert vllm(objects)["args"][0] == env_of(download)["MODEL_DIR"]
    volume = next(v for v in pod_spec(objects)["volumes"] if v["name"] == "model-cache")
    if cache.kind == "emptyDir":
        assert volume == {"name": "model-cache", "emptyDir": {"sizeLimit": "20Gi"}}
    else:
        assert volume["ephemeral"]["volumeClaimTemplate"]["spec"] == {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "20Gi"}},
            "storageClassName": "local-nvme",
        }


def test_custom_download_and_wait_commands_are_honoured() -> None:
    objects = synth(
        download_command=("/bin/sh", "-ec"),
        download_args=("my-fetch --to $MODEL_DIR",),
        download_env={"MY_MIRROR": "http://mirror:8080", "S3_PATH": "override/path"},
        wait_command=("/bin/sh", "-c"),
        wait_args=("test -f $MODEL_DIR/ok",),
        wait_env={"WAIT_INTERVAL_SECONDS": "2"},
    )
    job = job_container(objects)
    assert (job["command"], job["args"]) == (["/bin/sh", "-ec"], ["my-fetch --to $MODEL_DIR"])
    assert env_of(job)["MY_MIRROR"] == "http://mirror:8080" and env_of(job)["S3_PATH"] == "override/path"
    guard = init(objects, "wait-for-model")
    assert (guard["command"], guard["args"]) == (["/bin/sh", "-c"], ["test -f $MODEL_DIR/ok"])
    assert env_of(guard)["WAIT_INTERVAL_SECONDS"] == "2"


def test_pvc_source_needs_no_download() -> None:
    objects = synth(model=ModelSource.pvc("llama-weights", path="llama-8b"))
    assert by_kind(objects, "Job") == [] and by_kind(objects, "PersistentVolumeClaim") == []
    assert "initContainers" not in pod_spec(objects)
    assert vllm(objects)["args"][0] == "/models/llama-8b"
    assert env_of(vllm(objects))["HF_HUB_OFFLINE"] == "1"
    volume = next(v for v in pod_spec(objects)["volumes"] if v["name"] == "model")
    assert volume == {"name": "model", "persistentVolumeClaim": {"claimName": "llama-weights", "readOnly": True}}


def test_image_source_needs_no_download_and_no_volume() -> None:
    objects = synth(model=ModelSource.image("/opt/models/opt-125m"))
    assert by_kind(objects, "Job") == [] and by_kind(objects, "PersistentVolumeClaim") == []
    assert "initContainers" not in pod_spec(objects)
    assert vllm(objects)["args"][:3] == ["/opt/models/opt-125m", "--served-model-name", "opt-125m"]
    volumes = {v["name"] for v in pod_spec(objects)["volumes"]}
    assert "model-cache" not in volumes and "model" not in volumes
    assert env_of(vllm(objects))["HF_HUB_OFFLINE"] == "1"


def test_chart_s3_reads_the_chart_secret_keys() -> None:
    env = env_of(job_container(synth()))
    assert env["S3_ENDPOINT_URL"] == {"secretKeyRef": {"name": "model-store", "key": "s3endpoint"}}
    assert env["S3_BUCKET_NAME"] == {"secretKeyRef": {"name": "model-store", "key": "s3bucketname"}}
    assert env["AWS_ACCESS_KEY_ID"] == {"secretKeyRef": {"name": "model-store", "key": "s3accesskeyid"}}
    assert env["AWS_SECRET_ACCESS_KEY"] == {"secretKeyRef": {"name": "model-store", "key": "s3accesskey"}}
    assert env["S3_PATH"] == "opt-125m"
    assert S3Credentials.chart_secret("x") == S3Credentials(
        access_key_id=SecretKeyRef("x", "s3accesskeyid"), secret_access_key=SecretKeyRef("x", "s3accesskey")
    )


@pytest.mark.parametrize(("switch", "rendered"), [(True, "true"), (False, "false"), (None, None)])
def test_ec2_metadata_switch(switch: bool | None, rendered: str | None) -> None:
    env = env_of(job_container(synth(model=ModelSource.chart_s3("model-store", "opt-125m", ec2_metadata_disabled=switch))))
    assert env.get("AWS_EC2_METADATA_DISABLED") == rendered


def test_s3_without_credentials_uses_the_pod_identity() -> None:
    env = env_of(job_container(synth(model=ModelSource.s3("m/opt", bucket="models", region="eu-west-1", ec2_metadata_disabled=False))))
    assert "AWS_ACCESS_KEY_ID" not in env and "S3_ENDPOINT_URL" not in env
    assert (env["AWS_DEFAULT_REGION"], env["AWS_EC2_METADATA_DISABLED"], env["S3_BUCKET_NAME"]) == ("eu-west-1", "false", "models")


# ---------------------------------------------------------------- every validation message of model.py


def _source_error(source: ModelSource) -> str:
    with pytest.raises(ConfigError) as e:
        source.check(Checker("p"), "model")
    return str(e.value)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            ModelSource.huggingface("bad repo", revision="abc"),
            "p: model.repo_id='bad repo' is not a Hugging Face repository id. Allowed: 'owner/name' of letters, digits, '-', '_' and '.'. "
            "Fix: copy the id from the model page, e.g. 'meta-llama/Llama-3.1-8B-Instruct'.",
        ),
        (
            ModelSource.huggingface("a/b", revision=""),
            "p: model.revision='' is empty or malformed. Allowed: a commit hash (pins the files) or a branch or tag name. "
            "Fix: pin the commit hash shown under 'Files and versions'.",
        ),
        (
            ModelSource.huggingface("a/b", revision="main branch"),
            "p: model.revision='main branch' is empty or malformed. Allowed: a commit hash (pins the files) or a branch or tag name. "
            "Fix: pin the commit hash shown under 'Files and versions'.",
        ),
        (
            ModelSource.s3("m/x", bucket="Bad_Bucket"),
            "p: model.bucket='Bad_Bucket' is not an S3 bucket name. Allowed: 3-63 lower-case letters, digits, '.' and '-'. Fix: use the bucket's exact name.",
        ),
        (
            ModelSource.s3("m/x", bucket="models", endpoint="minio:9000"),
            "p: model.endpoint='minio:9000' is not an http(s) URL. Allowed: a URL such as 'http://minio.storage:9000'. Fix: add the scheme.",
        ),
        (
            ModelSource.s3("m/x", bucket="models", revision=""),
            "p: model.revision='' is empty. Allowed: a name for the version under the path. Fix: use e.g. '2026-11-01'.",
        ),
        (
            ModelSource.pvc("Bad_Claim"),
            "p: model.claim_name='Bad_Claim' is not a DNS-1123 subdomain. Allowed: lower-case letters, digits, '-' and '.', at most 253 characters. "
            "Fix: use a name such as 'hf-token'.",
        ),
        (
            ModelSource.image("models/x"),
            "p: model.path='models/x' is not an absolute path. Allowed: a path inside the image such as '/models/llama'. Fix: give the absolute path.",
        ),
        (
            ModelSource.s3("m/x", bucket="models", checksum_file="sums/SHA256SUMS"),
            "p: model.checksum_file='sums/SHA256SUMS' is not a file name. Allowed: a file name at the top of the model folder such as 'SHA256SUMS'. "
            "Fix: name the file without folders.",
        ),
        (
            ModelSource.huggingface("a/b", revision="main", checksum_file=""),
            "p: model.checksum_file='' is not a file name. Allowed: a file name at the top of the model folder such as 'SHA256SUMS'. "
            "Fix: name the file without folders.",
        ),
    ],
    ids=[
        "hf-repo",
        "hf-revision-empty",
        "hf-revision-space",
        "bucket",
        "endpoint",
        "s3-revision",
        "pvc-claim",
        "image-path",
        "checksum-folder",
        "checksum-empty",
    ],
)
def test_fails_when_model_source_is_invalid(source: ModelSource, message: str) -> None:
    assert _source_error(source) == message


@pytest.mark.parametrize(
    ("cache", "message"),
    [
        (
            ModelCache.pvc("lots"),
            "p: cache.size='lots' is not a Kubernetes quantity. Allowed: a string such as '500m', '4', '16Gi' or '1.5'. "
            "Fix: write the quantity as a string with a Kubernetes suffix.",
        ),
        (ModelCache.empty_dir("0"), "p: cache.size='0' is not positive. Allowed: a quantity above zero. Fix: use a larger value."),
        (
            ModelCache.pvc("10Gi", access_mode="RWX"),
            "p: cache.access_mode='RWX' is not an access mode. Allowed: 'ReadWriteOnce', 'ReadWriteMany' or 'ReadWriteOncePod'. Fix: use one of those.",
        ),
        (
            ModelCache.pvc("10Gi", storage_class="Fast_SSD"),
            "p: cache.storage_class='Fast_SSD' is not a DNS-1123 subdomain. Allowed: lower-case letters, digits, '-' and '.', at most 253 characters. "
            "Fix: use a name such as 'hf-token'.",
        ),
        (
            ModelCache.existing_claim("Bad_Claim"),
            "p: cache.claim_name='Bad_Claim' is not a DNS-1123 subdomain. Allowed: lower-case letters, digits, '-' and '.', at most 253 characters. "
            "Fix: use a name such as 'hf-token'.",
        ),
    ],
    ids=["size", "size-zero", "access-mode", "storage-class", "claim-name"],
)
def test_fails_when_model_cache_is_invalid(cache: ModelCache, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        cache.check(Checker("p"), "cache")
    assert str(e.value) == message


JOB = ModelInitJobProps(
    server_name="srv",
    source=ModelSource.s3("m/x", bucket="models"),
    claim_name="srv-model-cache",
    image=Image("amazon/aws-cli", tag="2.17.0"),
    identity=WorkloadIdentity(instance="srv"),
)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"source": ModelSource.pvc("models")},
            "top/Job: source='pvc' needs no download. Allowed: a Hugging Face or S3 source. Fix: drop the ModelInitJob.",
        ),
        (
            {"backoff_limit": -1},
            "top/Job: backoff_limit=-1 is out of range. Allowed: an integer >= 0 and <= 20. Fix: pick a value in range.",
        ),
        (
            {"backoff_limit": 21},
            "top/Job: backoff_limit=21 is out of range. Allowed: an integer >= 0 and <= 20. Fix: pick a value in range.",
        ),
        (
            {"active_deadline_seconds": 59},
            "top/Job: active_deadline_seconds=59 is out of range. Allowed: an integer >= 60. Fix: pick a value in range.",
        ),
        (
            {"ttl_seconds_after_finished": -1},
            "top/Job: ttl_seconds_after_finished=-1 is out of range. Allowed: an integer >= 0. Fix: pick a value in range.",
        ),
        (
            {"server_name": "x" * 46},
            f"top/Job: server_name='{'x' * 46}' is 46 characters, too long once suffixed with '-download-12345678'. Allowed: at most 45 characters. "
            "Fix: choose a shorter name.",
        ),
        (
            {"name": "Bad_Name"},
            "top/Job: name='Bad_Name' is not a DNS-1123 label. Allowed: lower-case letters, digits and '-', starting and ending with a letter or digit. "
            "Fix: use a name such as 'llama-8b'.",
        ),
        (
            {"env": {"1BAD": "x"}},
            "top/Job: download_env='1BAD' is not a valid environment variable name. Allowed: letters, digits, '_', '-' and '.', not starting with a digit. "
            "Fix: rename the variable.",
        ),
    ],
    ids=["no-download", "backoff-low", "backoff-high", "deadline", "ttl", "server-name-long", "fixed-name", "env-name"],
)
def test_fails_when_job_props_are_invalid(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as e:
        render_job("top/Job", dataclasses.replace(JOB, **change))
    assert str(e.value) == message


def test_fixed_job_name_is_used_verbatim() -> None:
    name, _ = render_job("top/Job", dataclasses.replace(JOB, name="demo-init-vllm"))
    assert name == "demo-init-vllm"


def test_server_name_of_45_characters_fits() -> None:
    name, _ = render_job("top/Job", dataclasses.replace(JOB, server_name="x" * 45))
    assert len(name) == 63


def test_cache_dir_differs_per_source_and_revision() -> None:
    a = S3_SOURCE.cache_dir_name
    assert a.startswith("opt-125m-") and len(a) == len("opt-125m-") + 8
    assert dataclasses.replace(S3_SOURCE, revision="other").cache_dir_name != a
    assert ModelSource.chart_s3("model-store", "opt-350m", revision="2026-11-01").cache_dir_name != a
