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
from tests.wrong_types import field_cases
from vllm_constructs import (
    ConfigError,
    DownloadMode,
    Image,
    ModelCache,
    ModelDownload,
    ModelInitJob,
    ModelInitJobProps,
    ModelSource,
    Resources,
    RolloutStrategy,
    S3Credentials,
    SecretKeyRef,
    ServerNames,
    VllmServer,
    VllmServerProps,
    WorkloadLabels,
)
from vllm_constructs.core.model import (
    EmptyDirCache,
    EphemeralCache,
    ExistingClaimCache,
    HuggingFaceModel,
    ImageModel,
    NewClaimCache,
    PvcModel,
    S3Model,
    download_script,
    wait_script,
)

S3_SOURCE = ModelSource.chart_s3("model-store", "opt-125m", revision="2026-11-01")
HF_SOURCE = ModelSource.huggingface("meta-llama/Llama-3.1-8B-Instruct", revision="0e9e39f249a16976918f6564b8830bc894c89659")


def synth(**props: Any) -> list[dict[str, Any]]:
    chart = cdk8s.Chart(cdk8s.App(), "test", namespace="test", disable_resource_name_hashes=True)
    full: dict[str, Any] = {"name": "srv", "model": S3_SOURCE, "resources": Resources(cpu="2", memory="4Gi"), **props}
    VllmServer(chart, "srv", VllmServerProps(**full))
    return chart_objects(chart)


def config_error(**props: Any) -> str:
    """The ConfigError of a VllmServer that must not be created; nothing may be added to its chart."""
    chart = cdk8s.Chart(cdk8s.App(), "test", namespace="test", disable_resource_name_hashes=True)
    full: dict[str, Any] = {"name": "srv", "model": S3_SOURCE, "resources": Resources(cpu="2", memory="4Gi"), **props}
    with pytest.raises(ConfigError) as e:
        VllmServer(chart, "srv", VllmServerProps(**full))
    assert chart_objects(chart) == [], "no object may be added when validation fails"
    assert len(chart.node.children) == 0
    return str(e.value)


def value_error(build: Any) -> str:
    """The ConfigError raised when a value class is built."""
    with pytest.raises(ConfigError) as e:
        build()
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


@pytest.mark.parametrize("path", ["/", "//", "s3://models/opt-125m", "models/../other"])
def test_fails_when_s3_path_is_empty_root_or_not_a_prefix(path: str) -> None:
    # "" (no prefix) is refused when planned unless custom download args fetch the model: tests/helm/test_download_steps.py
    message = (
        f"S3Model: path={path!r} is empty, '/', a URL or not a prefix, so the download would copy the wrong objects (or the whole "
        "bucket). Allowed: a prefix such as 'models/opt-125m'. Fix: give the folder of the model inside the bucket."
    )
    assert value_error(lambda: ModelSource.chart_s3("model-store", path)) == message
    assert value_error(lambda: ModelSource.s3(path, bucket="models")) == message


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
        "Fix: use ModelCache.pvc(size, access_mode='ReadWriteMany') on an RWX storage class, or a per-pod cache (ModelCache.empty_dir / ephemeral) "
        "with DownloadMode.INIT_CONTAINER."
    )


def test_fails_when_rwo_cache_has_a_surge_rollout() -> None:
    assert config_error(rollout=RolloutStrategy.rolling(max_surge=1)) == (
        "test/srv: rollout.max_surge=1 starts a new pod while the old one holds the ReadWriteOnce cache, possibly on another node. "
        "Allowed: max_surge=0 (or Recreate) with a ReadWriteOnce cache. Fix: keep RolloutStrategy.rolling() defaults or use a ReadWriteMany cache."
    )


def test_fails_when_rwo_cache_has_a_percentage_surge() -> None:
    assert config_error(rollout=RolloutStrategy.rolling(max_surge="25%", max_unavailable=0)).startswith(
        "test/srv: rollout.max_surge='25%' starts a new pod while the old one holds the ReadWriteOnce cache"
    )


def test_fails_when_rwo_cache_job_is_not_co_located() -> None:
    assert config_error(download=ModelDownload(co_locate=False)) == (
        "test/srv: download.co_locate=False lets the download Job run on another node than the server, which cannot attach the ReadWriteOnce cache. "
        "Allowed: True (or unset) with a ReadWriteOnce cache. Fix: leave co_locate unset, or use a ReadWriteMany cache."
    )


def test_co_locate_pins_the_job_to_the_server_node_even_with_rwx() -> None:
    objects = synth(cache=ModelCache.pvc("10Gi", access_mode="ReadWriteMany"), download=ModelDownload(co_locate=True))
    affinity = one(objects, "Job")["spec"]["template"]["spec"]["affinity"]["podAffinity"]
    selector = one(objects, "Deployment")["spec"]["selector"]["matchLabels"]
    assert affinity["requiredDuringSchedulingIgnoredDuringExecution"][0]["labelSelector"] == {"matchLabels": selector}


def test_fails_when_cache_is_read_write_once_pod() -> None:
    assert config_error(cache=ModelCache.pvc("10Gi", access_mode="ReadWriteOncePod")) == (
        "test/srv: cache.access_mode='ReadWriteOncePod' admits one pod, but the Job and the server both mount the cache. "
        "Allowed: ReadWriteOnce or ReadWriteMany. Fix: use ReadWriteMany."
    )


@pytest.mark.parametrize(
    ("build", "kind"),
    [
        (lambda: ModelCache.existing_claim("models", access_mode="ReadOnlyMany"), "ExistingClaimCache"),
        (lambda: ModelCache.pvc("10Gi", access_mode="ReadOnlyMany"), "NewClaimCache"),
    ],
    ids=["existing", "new"],
)
def test_fails_when_cache_is_read_only_many(build: Any, kind: str) -> None:
    assert value_error(build) == (
        f"{kind}: access_mode='ReadOnlyMany' is read-only, but the download writes the model into the cache. "
        "Allowed: 'ReadWriteOnce', 'ReadWriteMany' or 'ReadWriteOncePod'. "
        "Fix: use 'ReadWriteMany'; for a claim that already holds the model use ModelSource.pvc(claim_name) and no cache."
    )


@pytest.mark.parametrize(
    ("cache", "kind"),
    [(ModelCache.empty_dir("10Gi"), "EmptyDirCache"), (ModelCache.ephemeral("10Gi"), "EphemeralCache")],
    ids=["emptyDir", "ephemeral"],
)
def test_fails_when_a_job_should_fill_a_per_pod_cache(cache: ModelCache, kind: str) -> None:
    assert config_error(cache=cache) == (
        f"test/srv: cache={kind!r} is per pod, so a download Job cannot fill it. "
        "Allowed: ModelCache.pvc(...) or ModelCache.existing_claim(...) with DownloadMode.JOB. "
        "Fix: use a shared cache, or download=ModelDownload(mode=DownloadMode.INIT_CONTAINER)."
    )


def test_fails_when_init_container_downloads_share_an_rwo_claim() -> None:
    assert config_error(
        download=ModelDownload(mode=DownloadMode.INIT_CONTAINER), replicas=2, cache=ModelCache.pvc("10Gi", access_mode="ReadWriteOnce")
    ) == (
        "test/srv: cache.access_mode='ReadWriteOnce' attaches to one node, but 2 replicas would mount it (multi-attach error on a second node). "
        "Allowed: ReadWriteMany when several pods read the cache. "
        "Fix: use ModelCache.pvc(size, access_mode='ReadWriteMany') on an RWX storage class, or a per-pod cache (ModelCache.empty_dir / ephemeral) "
        "with DownloadMode.INIT_CONTAINER."
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
        {"download": ModelDownload(image=Image("amazon/aws-cli", tag="2.18.0"))},
        {"download": ModelDownload(args=("echo custom",))},
        {"download": ModelDownload(command=("/bin/sh", "-c"))},
        {"download": ModelDownload(env={"AWS_MAX_ATTEMPTS": "5"})},
        {"download": ModelDownload(timeout_seconds=3600)},
    ],
    ids=["revision", "source", "image", "script", "command", "env", "timeout"],
)
def test_job_name_changes_with_what_is_downloaded(change: dict[str, Any]) -> None:
    assert job_name(**change) != job_name()


def test_job_name_ignores_server_only_changes() -> None:
    assert job_name(replicas=1, service_port=8080) == job_name()
    assert job_name(download=ModelDownload(backoff_limit=5, ttl_seconds_after_finished=600)) == job_name()
    assert job_name(download=ModelDownload(wait_env={"TZ": "UTC"})) == job_name()


def test_chart_names_do_not_fix_the_job_name() -> None:
    names = ServerNames.helm_chart("demo")
    assert names.download_job_base == "demo-init-vllm"
    assert job_name(names=names).startswith("demo-init-vllm-download-")
    assert job_name(names=names) != job_name(names=names, model=ModelSource.chart_s3("demo-secrets", "other/"))


def test_job_is_bounded_and_hardened() -> None:
    job = one(synth(), "Job")
    spec = job["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"]) == (3, 7200)
    assert "ttlSecondsAfterFinished" not in spec, "a Job that Kubernetes deletes would be re-created by Argo CD or Flux and run again"
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


def test_job_ttl_backoff_and_timeout_are_set_when_asked() -> None:
    objects = synth(download=ModelDownload(ttl_seconds_after_finished=600, backoff_limit=0, timeout_seconds=600))
    spec = one(objects, "Job")["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"], spec["ttlSecondsAfterFinished"]) == (0, 600, 600)
    assert env_of(job_container(objects))["DOWNLOAD_TIMEOUT_SECONDS"] == "600"
    assert env_of(init(objects, "wait-for-model"))["WAIT_TIMEOUT_SECONDS"] == "600"
    assert list(spec) == ["backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished", "template"]
    for version in K8S_VERSIONS:
        assert k8s_errors(one(objects, "Job"), version) == []


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_download_objects_validate_strictly(version: str) -> None:
    objects = [
        *synth(),
        *synth(model=HF_SOURCE, hf_token=SecretKeyRef("hf", "token"), replicas=2),
        *synth(download=ModelDownload(mode=DownloadMode.INIT_CONTAINER), cache=ModelCache.ephemeral("20Gi", storage_class="local-nvme")),
        *synth(model=HF_SOURCE, hf_token=SecretKeyRef("hf", "token"), download=ModelDownload(mode=DownloadMode.SERVER)),
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
        model=HF_SOURCE,
        hf_token=SecretKeyRef("hf", "token"),
        download=ModelDownload(mode=DownloadMode.INIT_CONTAINER),
        cache=ModelCache.empty_dir("50Gi"),
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
    objects = synth(download=ModelDownload(mode=DownloadMode.INIT_CONTAINER), cache=cache, replicas=2)
    assert by_kind(objects, "Job") == [] and by_kind(objects, "PersistentVolumeClaim") == []
    names = [c["name"] for c in pod_spec(objects)["initContainers"]]
    assert names == ["download-model"]
    download = init(objects, "download-model")
    assert download["args"] == [download_script("s3")]
    assert vllm(objects)["args"][0] == env_of(download)["MODEL_DIR"]
    volume = next(v for v in pod_spec(objects)["volumes"] if v["name"] == "model-cache")
    if isinstance(cache, EmptyDirCache):
        assert volume == {"name": "model-cache", "emptyDir": {"sizeLimit": "20Gi"}}
    else:
        assert volume["ephemeral"]["volumeClaimTemplate"]["spec"] == {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "20Gi"}},
            "storageClassName": "local-nvme",
        }


def test_custom_download_and_wait_commands_are_honoured() -> None:
    objects = synth(
        download=ModelDownload(
            command=("/bin/sh", "-ec"),
            args=("my-fetch --to $MODEL_DIR",),
            env={"MY_MIRROR": "http://mirror:8080", "AWS_MAX_ATTEMPTS": "5"},
            wait_command=("/bin/sh", "-c"),
            wait_args=("test -f $MODEL_DIR/ok",),
            wait_env={"TZ": "UTC"},
        )
    )
    job = job_container(objects)
    assert (job["command"], job["args"]) == (["/bin/sh", "-ec"], ["my-fetch --to $MODEL_DIR"])
    assert env_of(job)["MY_MIRROR"] == "http://mirror:8080" and env_of(job)["AWS_MAX_ATTEMPTS"] == "5"
    assert env_of(job)["S3_PATH"] == "opt-125m"
    guard = init(objects, "wait-for-model")
    assert (guard["command"], guard["args"]) == (["/bin/sh", "-c"], ["test -f $MODEL_DIR/ok"])
    assert env_of(guard)["TZ"] == "UTC" and env_of(guard)["WAIT_INTERVAL_SECONDS"] == "10"
    assert guard["image"] == job["image"] == "amazon/aws-cli:2.17.0", "a custom wait command runs in the download's image (its tools)"


def test_wait_guard_runs_in_the_server_image_unless_told() -> None:
    objects = synth()
    assert init(objects, "wait-for-model")["image"] == "vllm/vllm-openai:v0.33.0"
    assert job_container(objects)["image"] == "amazon/aws-cli:2.17.0"
    told = synth(download=ModelDownload(wait_image=Image("busybox", tag="1.36")))
    assert init(told, "wait-for-model")["image"] == "busybox:1.36"


@pytest.mark.parametrize("field", ["env", "wait_env"])
@pytest.mark.parametrize("name", ["MODEL_DIR", "S3_PATH", "REVISION", "WAIT_INTERVAL_SECONDS", "HF_TOKEN_PATH"])
def test_fails_when_download_env_redefines_what_the_construct_sets(field: str, name: str) -> None:
    assert value_error(lambda: ModelDownload(**{field: {name: "x"}})) == (
        f"ModelDownload: {field}={{{name!r}: 'x'}} redefines {name}, which the construct sets so that the Job, the wait guard and the "
        "server agree. Allowed: names other than CHECKSUM_FILE, DOWNLOAD_TIMEOUT_SECONDS, HF_EXCLUDE, HF_INCLUDE, HF_REPO_ID, "
        "HF_TOKEN_PATH, LORA_MAX_RANK, MODEL_DIR, REVISION, S3_BUCKET_NAME, S3_ENDPOINT_URL, S3_PATH, SOURCE_URI, "
        "WAIT_INTERVAL_SECONDS, WAIT_TIMEOUT_SECONDS. Fix: use the typed prop (source, revision, timeout_seconds, ...) instead."
    )


def test_fails_when_download_env_holds_a_literal_secret() -> None:
    message = value_error(lambda: ModelDownload(env={"AWS_SECRET_ACCESS_KEY": "abc"}))
    assert message.startswith("ModelDownload: env['AWS_SECRET_ACCESS_KEY']=<str, redacted> is a literal secret;")
    assert "abc" not in message
    objects = synth(download=ModelDownload(env={"AWS_SESSION_TOKEN": SecretKeyRef("s3", "session")}))
    assert env_of(job_container(objects))["AWS_SESSION_TOKEN"] == {"secretKeyRef": {"name": "s3", "key": "session"}}


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


# ---------------------------------------------------------------- DownloadMode.SERVER: vLLM downloads at start


def test_server_mode_lets_vllm_download_with_revision_and_token_by_reference() -> None:
    objects = synth(model=HF_SOURCE, hf_token=SecretKeyRef("hf", "token"), download=ModelDownload(mode=DownloadMode.SERVER))
    assert by_kind(objects, "Job") == [], "no download Job"
    assert "initContainers" not in pod_spec(objects), "no wait guard and no download init container"
    server = vllm(objects)
    env = env_of(server)
    assert "HF_HUB_OFFLINE" not in env and "TRANSFORMERS_OFFLINE" not in env, "vLLM needs the hub"
    assert env["HF_TOKEN"] == {"secretKeyRef": {"name": "hf", "key": "token"}}
    assert env["HF_HUB_CACHE"] == "/models/hub"
    args = server["args"]
    assert args[0] == "meta-llama/Llama-3.1-8B-Instruct"
    assert args[args.index("--revision") + 1] == "0e9e39f249a16976918f6564b8830bc894c89659"
    assert {"name": "model-cache", "mountPath": "/models"} in server["volumeMounts"], "vLLM writes the hub cache"
    assert one(objects, "PersistentVolumeClaim")["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert "hf-token" not in {v["name"] for v in pod_spec(objects)["volumes"]}


def test_server_mode_without_token_sets_no_token_and_honours_the_source_token() -> None:
    env = env_of(vllm(synth(model=HF_SOURCE, download=ModelDownload(mode=DownloadMode.SERVER))))
    assert "HF_TOKEN" not in env
    with_token = dataclasses.replace(HF_SOURCE, token=SecretKeyRef("own", "t"))
    env = env_of(vllm(synth(model=with_token, download=ModelDownload(mode=DownloadMode.SERVER))))
    assert env["HF_TOKEN"] == {"secretKeyRef": {"name": "own", "key": "t"}}


def test_server_mode_with_a_per_pod_cache_scales_out() -> None:
    objects = synth(model=HF_SOURCE, download=ModelDownload(mode=DownloadMode.SERVER), cache=ModelCache.empty_dir("50Gi"), replicas=3)
    assert by_kind(objects, "PersistentVolumeClaim") == [] and by_kind(objects, "Job") == []
    volume = next(v for v in pod_spec(objects)["volumes"] if v["name"] == "model-cache")
    assert volume == {"name": "model-cache", "emptyDir": {"sizeLimit": "50Gi"}}


@pytest.mark.parametrize("name", ["HF_TOKEN", "HF_HUB_CACHE"])
def test_fails_when_server_mode_env_redefines_what_the_construct_sets(name: str) -> None:
    reason = {"HF_TOKEN": "hf_token", "HF_HUB_CACHE": "the hub cache on the model cache volume"}[name]
    server_mode = {"model": HF_SOURCE, "hf_token": SecretKeyRef("hf", "token"), "download": ModelDownload(mode=DownloadMode.SERVER)}
    assert config_error(**server_mode, env={name: SecretKeyRef("x", "y")}) == (
        f"test/srv: env={name!r} is set by the construct ({reason}). Allowed: names the construct does not own. "
        "Fix: use the typed prop or drop the variable."
    )


@pytest.mark.parametrize(
    ("model", "kind"),
    [
        (ModelSource.s3("m/x", bucket="models"), "S3Model"),
        (ModelSource.pvc("weights"), "PvcModel"),
        (ModelSource.image("/m"), "ImageModel"),
    ],
    ids=["s3", "pvc", "image"],
)
def test_fails_when_server_mode_is_asked_for_a_source_that_is_not_on_the_hub(model: ModelSource, kind: str) -> None:
    assert config_error(model=model, download=ModelDownload(mode=DownloadMode.SERVER)) == (
        f"test/srv: download.mode='server' lets vLLM download at start, but a {kind} is not a hub model. "
        "Allowed: DownloadMode.SERVER only with ModelSource.huggingface(...). "
        "Fix: use DownloadMode.JOB (or INIT_CONTAINER) for S3, or no download for pvc/image sources."
    )


@pytest.mark.parametrize(
    ("model", "kind"),
    [
        (ModelSource.s3("m/x", bucket="models"), "S3Model"),
        (ModelSource.pvc("weights"), "PvcModel"),
        (ModelSource.image("/m"), "ImageModel"),
    ],
    ids=["s3", "pvc", "image"],
)
def test_fails_when_hf_token_is_given_for_a_source_that_is_not_on_the_hub(model: ModelSource, kind: str) -> None:
    assert config_error(model=model, hf_token=SecretKeyRef("hf", "token")) == (
        f"test/srv: hf_token='hf' is set, but the model source ({kind}) never uses a Hugging Face token. "
        "Allowed: hf_token only with ModelSource.huggingface(...). Fix: drop hf_token (S3 credentials go in ModelSource.s3(credentials=...))."
    )


def test_fails_when_a_source_that_needs_no_download_gets_a_cache() -> None:
    assert config_error(model=ModelSource.pvc("weights"), cache=ModelCache.pvc("10Gi")) == (
        "test/srv: cache='NewClaimCache' is set, but a PvcModel downloads nothing into it. "
        "Allowed: a cache only with ModelSource.huggingface(...) or ModelSource.s3(...). Fix: drop cache."
    )


# ---------------------------------------------------------------- every validation message of the model values


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: ModelSource.huggingface("bad repo", revision="abc"),
            "HuggingFaceModel: repo_id='bad repo' is not a Hugging Face repository id. Allowed: 'owner/name' of letters, digits, '-', '_' and '.'. "
            "Fix: copy the id from the model page, e.g. 'meta-llama/Llama-3.1-8B-Instruct'.",
        ),
        (
            lambda: ModelSource.huggingface("a/b", revision=""),
            "HuggingFaceModel: revision='' is empty or malformed. Allowed: a commit hash (pins the files), or a branch, tag or version name "
            "of letters, digits, '.', '_', '-', '/'. Fix: pin the commit hash shown under 'Files and versions'.",
        ),
        (
            lambda: ModelSource.huggingface("a/b", revision="main branch"),
            "HuggingFaceModel: revision='main branch' is empty or malformed. Allowed: a commit hash (pins the files), or a branch, tag or "
            "version name of letters, digits, '.', '_', '-', '/'. Fix: pin the commit hash shown under 'Files and versions'.",
        ),
        (
            lambda: ModelSource.s3("m/x", bucket="Bad_Bucket"),
            "S3Model: bucket='Bad_Bucket' is not an S3 bucket name. Allowed: 3-63 lower-case letters, digits, '.' and '-'. Fix: use the bucket's exact name.",
        ),
        (
            lambda: ModelSource.s3("m/x", bucket="models", endpoint="minio:9000"),
            "S3Model: endpoint='minio:9000' is not an http(s) URL. Allowed: a URL such as 'http://prometheus.monitoring:9090'. "
            "Fix: add the scheme and host.",
        ),
        (
            lambda: ModelSource.s3("m/x", bucket=5),
            "S3Model: bucket=5 is an int. Allowed: a bucket name or a SecretKeyRef. Fix: pass the bucket's name.",
        ),
        (
            lambda: ModelSource.s3("m/x", bucket="models", endpoint=5),
            "S3Model: endpoint=5 is an int. Allowed: an http(s) URL or a SecretKeyRef. Fix: pass the endpoint URL.",
        ),
        (
            lambda: ModelSource.s3("m/x", bucket="models", revision=""),
            "S3Model: revision='' is empty or malformed. Allowed: a commit hash (pins the files), or a branch, tag or version name of "
            "letters, digits, '.', '_', '-', '/'. Fix: pin the commit hash shown under 'Files and versions'.",
        ),
        (
            lambda: ModelSource.s3("m/x", bucket="models", region="Europe West"),
            "S3Model: region='Europe West' is not a region name. Allowed: a region such as 'us-east-1'. Fix: use the store's region name.",
        ),
        (
            lambda: ModelSource.pvc("Bad_Claim"),
            "PvcModel: claim_name='Bad_Claim' is not a DNS-1123 subdomain. Allowed: at most 253 lower-case letters, digits, '-' and '.'. "
            "Fix: use a name such as 'hf-token'.",
        ),
        (
            lambda: ModelSource.pvc("models", path="/llama"),
            "PvcModel: path='/llama' is not a relative path inside the claim. Allowed: a path such as 'llama' or ''. Fix: drop the leading '/'.",
        ),
        (
            lambda: ModelSource.image("models/x"),
            "ImageModel: path='models/x' is not an absolute path. Allowed: a path inside the image such as '/models/llama'. Fix: give the absolute path.",
        ),
        (
            lambda: ModelSource.s3("m/x", bucket="models", checksum_file="sums/SHA256SUMS"),
            "S3Model: checksum_file='sums/SHA256SUMS' is not a file name. Allowed: a file name at the top of the model folder such as 'SHA256SUMS'. "
            "Fix: name the file without folders.",
        ),
        (
            lambda: ModelSource.huggingface("a/b", revision="main", checksum_file=""),
            "HuggingFaceModel: checksum_file='' is not a file name. Allowed: a file name at the top of the model folder such as 'SHA256SUMS'. "
            "Fix: name the file without folders.",
        ),
        (
            lambda: ModelSource.huggingface("a/b", revision="main", include="*.json"),
            "HuggingFaceModel: include='*.json' is a str, not a tuple. Allowed: a tuple of str. "
            "Fix: pass a tuple, e.g. ('a',) for one item (a str would be split into characters).",
        ),
        (
            lambda: ModelSource.huggingface("a/b", revision="main", token="hf_" + "x" * 30),
            "HuggingFaceModel: token=<str, redacted> is a str. Allowed: a SecretKeyRef or None. Fix: pass a SecretKeyRef or None.",
        ),
        (
            lambda: ModelSource.huggingface("a/b", revision="main", served_name="my model"),
            "HuggingFaceModel: served_name='my model' is empty or has spaces. Allowed: a non-empty name without spaces. Fix: use e.g. 'llama-3.1-8b'.",
        ),
    ],
    ids=[
        "hf-repo",
        "hf-revision-empty",
        "hf-revision-space",
        "bucket",
        "endpoint",
        "bucket-type",
        "endpoint-type",
        "s3-revision",
        "region",
        "pvc-claim",
        "pvc-path",
        "image-path",
        "checksum-folder",
        "checksum-empty",
        "include-str",
        "token-literal",
        "served-name",
    ],
)
def test_fails_when_model_source_is_invalid(build: Any, message: str) -> None:
    assert value_error(build) == message


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: ModelCache.pvc("lots"),
            "NewClaimCache: size='lots' is not a Kubernetes quantity. Allowed: a string such as '500m', '4', '16Gi' or '1.5'. "
            "Fix: write the quantity as a string with a Kubernetes suffix.",
        ),
        (
            lambda: ModelCache.empty_dir("0"),
            "EmptyDirCache: size='0' is not positive. Allowed: a quantity above zero. Fix: use a larger value.",
        ),
        (
            lambda: ModelCache.pvc("10Gi", access_mode="RWX"),
            "NewClaimCache: access_mode='RWX' is not one of the allowed values. Allowed: 'ReadWriteOnce', 'ReadWriteMany' or 'ReadWriteOncePod'. "
            "Fix: use the enum member or its exact value.",
        ),
        (
            lambda: ModelCache.pvc("10Gi", storage_class="Fast_SSD"),
            "NewClaimCache: storage_class='Fast_SSD' is not a DNS-1123 subdomain. Allowed: at most 253 lower-case letters, digits, '-' and '.'. "
            "Fix: use a name such as 'hf-token'.",
        ),
        (
            lambda: ModelCache.existing_claim("Bad_Claim"),
            "ExistingClaimCache: claim_name='Bad_Claim' is not a DNS-1123 subdomain. Allowed: at most 253 lower-case letters, digits, '-' and '.'. "
            "Fix: use a name such as 'hf-token'.",
        ),
        (
            lambda: ModelCache.ephemeral("1Ti", storage_class="Local_NVMe"),
            "EphemeralCache: storage_class='Local_NVMe' is not a DNS-1123 subdomain. Allowed: at most 253 lower-case letters, digits, '-' and '.'. "
            "Fix: use a name such as 'hf-token'.",
        ),
    ],
    ids=["size", "size-zero", "access-mode", "storage-class", "claim-name", "ephemeral-class"],
)
def test_fails_when_model_cache_is_invalid(build: Any, message: str) -> None:
    assert value_error(build) == message


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: ModelSource("org/model"),
            "ModelSource: (kind)='org/model' cannot be built directly; a ModelSource is one of its kinds. Allowed: "
            "ModelSource.huggingface(repo_id, revision=...), ModelSource.s3(path, bucket=...), ModelSource.chart_s3(secret, path), "
            "ModelSource.pvc(claim_name), ModelSource.image(path). Fix: use one of those factories.",
        ),
        (
            ModelCache,
            "ModelCache: (kind)={} cannot be built directly; a ModelCache is one of its kinds. Allowed: "
            "ModelCache.pvc(size, storage_class=..., access_mode=...), ModelCache.existing_claim(claim_name, access_mode=...), "
            "ModelCache.empty_dir(size), ModelCache.ephemeral(size, storage_class=...). Fix: use one of those factories.",
        ),
        (
            lambda: ModelCache(size="10Gi"),
            "ModelCache: (kind)={'size': '10Gi'} cannot be built directly; a ModelCache is one of its kinds. Allowed: "
            "ModelCache.pvc(size, storage_class=..., access_mode=...), ModelCache.existing_claim(claim_name, access_mode=...), "
            "ModelCache.empty_dir(size), ModelCache.ephemeral(size, storage_class=...). Fix: use one of those factories.",
        ),
    ],
    ids=["ModelSource", "ModelCache", "ModelCache-kwargs"],
)
def test_closed_unions_cannot_be_built_directly(build: Any, message: str) -> None:
    assert value_error(build) == message


def test_closed_union_factories_return_their_kinds() -> None:
    assert type(HF_SOURCE) is HuggingFaceModel
    assert type(S3_SOURCE) is S3Model and type(ModelSource.s3("m", bucket="models")) is S3Model
    assert type(ModelSource.pvc("c")) is PvcModel and type(ModelSource.image("/m")) is ImageModel
    assert type(ModelCache.pvc("1Gi")) is NewClaimCache and type(ModelCache.existing_claim("c")) is ExistingClaimCache
    assert type(ModelCache.empty_dir("1Gi")) is EmptyDirCache and type(ModelCache.ephemeral("1Gi")) is EphemeralCache


def test_fails_when_a_source_or_cache_is_not_one_of_the_kinds() -> None:
    assert config_error_props(model="hf://org/model") == (
        "VllmServerProps: model='hf://org/model' is a str. Allowed: ModelSource.huggingface(repo_id, revision=...), "
        "ModelSource.s3(path, bucket=...), ModelSource.chart_s3(secret, path), ModelSource.pvc(claim_name), ModelSource.image(path). "
        "Fix: use one of those factories."
    )
    assert config_error_props(cache=ModelSource.pvc("c")) == (
        "VllmServerProps: cache=PvcModel(claim_name='c', path='', served_name=None) is a PvcModel. Allowed: "
        "ModelCache.pvc(size, storage_class=..., access_mode=...), ModelCache.existing_claim(claim_name, access_mode=...), "
        "ModelCache.empty_dir(size), ModelCache.ephemeral(size, storage_class=...). Fix: use one of those factories."
    )


def config_error_props(**props: Any) -> str:
    full: dict[str, Any] = {"name": "srv", "model": S3_SOURCE, "resources": Resources(cpu="2", memory="4Gi"), **props}
    return value_error(lambda: VllmServerProps(**full))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"backoff_limit": -1},
            "ModelDownload: backoff_limit=-1 is out of range. Allowed: an integer >= 0 and <= 20. Fix: pick a value in range.",
        ),
        (
            {"backoff_limit": 21},
            "ModelDownload: backoff_limit=21 is out of range. Allowed: an integer >= 0 and <= 20. Fix: pick a value in range.",
        ),
        (
            {"timeout_seconds": 59},
            "ModelDownload: timeout_seconds=59 is out of range. Allowed: an integer >= 60 and <= 604800. Fix: pick a value in range.",
        ),
        (
            {"ttl_seconds_after_finished": -1},
            "ModelDownload: ttl_seconds_after_finished=-1 is out of range. Allowed: an integer >= 0 and <= 2147483647. Fix: pick a value in range.",
        ),
        (
            {"env": {"1BAD": "x"}},
            "ModelDownload: env['1BAD']='1BAD' is not a valid environment variable name. Allowed: letters, digits, '_', '-' and '.', "
            "not starting with a digit. Fix: rename the variable.",
        ),
        (
            {"mode": "sidecar"},
            "ModelDownload: mode='sidecar' is not one of the allowed values. Allowed: 'job', 'init-container' or 'server'. "
            "Fix: use the enum member or its exact value.",
        ),
    ],
    ids=["backoff-low", "backoff-high", "timeout", "ttl", "env-name", "mode"],
)
def test_fails_when_download_options_are_invalid(change: dict[str, Any], message: str) -> None:
    assert value_error(lambda: ModelDownload(**change)) == message


# ---------------------------------------------------------------- ModelInitJob on its own

JOB = ModelInitJobProps(
    server_name="srv",
    source=ModelSource.s3("m/x", bucket="models"),
    claim_name="srv-model-cache",
    image=Image("amazon/aws-cli", tag="2.17.0"),
    labels=WorkloadLabels(instance="srv"),
)


def init_job(props: ModelInitJobProps) -> tuple[ModelInitJob, dict[str, Any]]:
    chart = cdk8s.Chart(cdk8s.App(), "top", namespace="test", disable_resource_name_hashes=True)
    job = ModelInitJob(chart, "Job", props)
    return job, one(chart_objects(chart), "Job")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"source": ModelSource.pvc("models")},
            "ModelInitJobProps: source='PvcModel' needs no download. Allowed: ModelSource.huggingface(...) or ModelSource.s3(...). "
            "Fix: drop the ModelInitJob.",
        ),
        (
            {"server_name": "x" * 46},
            f"ModelInitJobProps: server_name='{'x' * 46}' is not a DNS-1123 label of at most 45 characters. Allowed: room for "
            "'-download-<hash>'. Fix: shorten it.",
        ),
        (
            {"name": "Bad_Name"},
            "ModelInitJobProps: name='Bad_Name' is not a DNS-1123 label. Allowed: at most 63 lower-case letters, digits and '-'. "
            "Fix: use a name such as 'llama-download'.",
        ),
        (
            {"identity": WorkloadLabels(instance="srv")},
            "ModelInitJobProps: identity=WorkloadLabels(name='vllm', instance='srv', component='server', part_of='vllm', version=None) "
            "is not a field of ModelInitJobProps. Allowed: server_name, source, claim_name, image, labels, download, security, "
            "co_locate_with, name. Fix: it is 'labels' since 0.2.0 (WorkloadLabels).",
        ),
    ],
    ids=["no-download", "server-name-long", "fixed-name", "identity-renamed"],
)
def test_fails_when_job_props_are_invalid(change: dict[str, Any], message: str) -> None:
    fields = {f.name: getattr(JOB, f.name) for f in dataclasses.fields(JOB)}
    assert value_error(lambda: ModelInitJobProps(**{**fields, **change})) == message


def test_fails_when_a_model_init_job_id_is_taken() -> None:
    chart = cdk8s.Chart(cdk8s.App(), "top", namespace="test", disable_resource_name_hashes=True)
    ModelInitJob(chart, "Job", JOB)
    before = chart_objects(chart)
    with pytest.raises(ConfigError) as e:
        ModelInitJob(chart, "Job", dataclasses.replace(JOB, server_name="other"))
    assert str(e.value) == (
        "top/Job: id='Job' is already used by another construct in top. Allowed: one construct per id in a scope. "
        "Fix: give each construct its own id."
    )
    assert chart_objects(chart) == before and len(chart.node.children) == 1


def test_fails_when_a_model_init_job_duplicates_a_job() -> None:
    chart = cdk8s.Chart(cdk8s.App(), "top", namespace="test", disable_resource_name_hashes=True)
    first = ModelInitJob(chart, "a", JOB)
    before = chart_objects(chart)
    with pytest.raises(ConfigError) as e:
        ModelInitJob(chart, "b", JOB)
    assert str(e.value).startswith(
        f"top/b: Job/{first.job_name}={first.job_name!r} is emitted by top/a already in namespace 'test', and Kubernetes keeps one "
        "object per kind, namespace and name."
    )
    assert chart_objects(chart) == before and len(chart.node.children) == 1


def test_model_init_job_renders_the_same_job_as_a_server() -> None:
    job, rendered = init_job(JOB)
    assert rendered["metadata"]["name"] == job.job_name and job.job_name.startswith("srv-download-")
    assert cdk8s.ApiObject.of(job) is job.resource
    assert job.model_dir.startswith("/models/m-x-")
    spec = rendered["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"]) == (3, 7200) and "ttlSecondsAfterFinished" not in spec
    assert rendered["metadata"]["labels"]["app.kubernetes.io/component"] == "model-download"
    assert spec["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == "model-download"
    assert "affinity" not in spec["template"]["spec"]
    _, timed = init_job(dataclasses.replace(JOB, download=ModelDownload(ttl_seconds_after_finished=300, backoff_limit=1)))
    assert (timed["spec"]["backoffLimit"], timed["spec"]["ttlSecondsAfterFinished"]) == (1, 300)
    _, pinned = init_job(dataclasses.replace(JOB, co_locate_with={"app.kubernetes.io/instance": "srv"}))
    term = pinned["spec"]["template"]["spec"]["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert term["labelSelector"] == {"matchLabels": {"app.kubernetes.io/instance": "srv"}}
    for version in K8S_VERSIONS:
        assert k8s_errors(rendered, version) == []


def test_fixed_job_name_is_used_verbatim() -> None:
    job, rendered = init_job(dataclasses.replace(JOB, name="demo-init-vllm"))
    assert job.job_name == rendered["metadata"]["name"] == "demo-init-vllm"


def test_server_name_of_45_characters_fits() -> None:
    job, _ = init_job(dataclasses.replace(JOB, server_name="x" * 45))
    assert len(job.job_name) == 63


def test_cache_dir_differs_per_source_and_revision() -> None:
    a = S3_SOURCE.cache_dir_name
    assert a.startswith("opt-125m-") and len(a) == len("opt-125m-") + 8
    assert dataclasses.replace(S3_SOURCE, revision="other").cache_dir_name != a
    assert ModelSource.chart_s3("model-store", "opt-350m", revision="2026-11-01").cache_dir_name != a


# ---------------------------------------------------------------- wrong types for every field

VALID: dict[type[Any], Any] = {
    HuggingFaceModel: lambda **kw: HuggingFaceModel(**{"repo_id": "a/b", "revision": "main", **kw}),
    S3Model: lambda **kw: S3Model(**{"path": "m/x", "bucket": "models", **kw}),
    PvcModel: lambda **kw: PvcModel(**{"claim_name": "c", **kw}),
    ImageModel: lambda **kw: ImageModel(**{"path": "/m", **kw}),
    NewClaimCache: lambda **kw: NewClaimCache(**{"size": "1Gi", **kw}),
    ExistingClaimCache: lambda **kw: ExistingClaimCache(**{"claim_name": "c", **kw}),
    EmptyDirCache: lambda **kw: EmptyDirCache(**{"size": "1Gi", **kw}),
    EphemeralCache: lambda **kw: EphemeralCache(**{"size": "1Gi", **kw}),
    ModelDownload: ModelDownload,
    S3Credentials: lambda **kw: S3Credentials(
        **{"access_key_id": SecretKeyRef("s", "a"), "secret_access_key": SecretKeyRef("s", "b"), **kw}
    ),
    ModelInitJobProps: lambda **kw: ModelInitJobProps(**{f.name: getattr(JOB, f.name) for f in dataclasses.fields(JOB)} | kw),
}
WRONG_TYPE_CASES = [(cls, name) for cls in VALID for name in sorted({f for f, _ in field_cases(cls)})]


def test_every_model_value_class_builds_and_every_field_has_wrong_types() -> None:
    for cls, make in VALID.items():
        assert type(make()) is cls
        assert {f for f, _ in field_cases(cls)} == {f.name for f in dataclasses.fields(cls)}, cls


@pytest.mark.parametrize(("cls", "field"), WRONG_TYPE_CASES, ids=[f"{c.__name__}.{f}" for c, f in WRONG_TYPE_CASES])
def test_fails_when_any_field_gets_a_wrong_type(cls: type[Any], field: str) -> None:
    for value in [v for name, v in field_cases(cls) if name == field]:
        with pytest.raises(ConfigError) as info:
            VALID[cls](**{field: value})
        assert [(p.path, p.field) for p in info.value.problems] == [(cls.__name__, field)], (value, str(info.value))
