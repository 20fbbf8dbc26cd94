"""The generated download and wait scripts, run for real: exactly the command, args and environment a
VllmServer synthesizes (only MODEL_DIR, the endpoint and Secret values are filled in as the kubelet
would), against moto's S3 server with credential checking on and the real AWS CLI, and against a
stand-in ``hf`` command on PATH for the Hugging Face path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cdk8s
import pytest

from tests.conftest import by_kind, chart_objects, one
from tests.s3_server import BIN, S3Server, aws_cli, s3  # noqa: F401
from vllm_constructs import ModelCache, ModelDownload, ModelSource, Resources, S3Credentials, SecretKeyRef, VllmServer, VllmServerProps
from vllm_constructs.core.model import MARKER, download_script, wait_script

pytestmark = pytest.mark.real

MODEL_PATH = "models/opt-125m"
SHARD_1 = "model-00001-of-00002.safetensors"
SHARD_2 = "model-00002-of-00002.safetensors"
HF_REPO = "meta-llama/Llama-3.1-8B-Instruct"
HF_REVISION = "0e9e39f249a16976918f6564b8830bc894c89659"


def fake_model() -> dict[str, bytes]:
    """A small model as a loader expects it: config, sharded weights with their index, tokenizer."""
    index = {"metadata": {"total_size": 96}, "weight_map": {"decoder.embed.weight": SHARD_1, "decoder.head.weight": SHARD_2}}
    return {
        "config.json": json.dumps({"model_type": "opt", "hidden_size": 8}).encode(),
        "model.safetensors.index.json": json.dumps(index).encode(),
        SHARD_1: b"\x01" * 48,
        SHARD_2: b"\x02" * 48,
        "tokenizer.json": json.dumps({"version": "1.0"}).encode(),
    }


def with_checksums(files: dict[str, bytes]) -> dict[str, bytes]:
    sums = "".join(f"{hashlib.sha256(body).hexdigest()}  {name}\n" for name, body in sorted(files.items()))
    return {**files, "SHA256SUMS": sums.encode()}


def under(prefix: str, files: Mapping[str, bytes]) -> dict[str, bytes]:
    return {f"{prefix}/{name}": body for name, body in files.items()}


def synth(model: ModelSource, **props: Any) -> list[dict[str, Any]]:
    """The objects of one VllmServer in a fresh chart."""
    chart = cdk8s.Chart(cdk8s.App(), "test", namespace="test", disable_resource_name_hashes=True)
    VllmServer(chart, "srv", VllmServerProps(name="srv", model=model, resources=Resources(cpu="2", memory="4Gi"), **props))
    return chart_objects(chart)


def job_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (container,) = one(objects, "Job")["spec"]["template"]["spec"]["containers"]
    return dict(container)


def wait_init_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    inits = one(objects, "Deployment")["spec"]["template"]["spec"]["initContainers"]
    return dict(next(c for c in inits if c["name"] == "wait-for-model"))


def resolve_env(container: Mapping[str, Any], secrets: Mapping[tuple[str, str], str], **overrides: str) -> dict[str, str]:
    """The container's environment as the kubelet gives it (Secret references resolved), then overrides."""
    env: dict[str, str] = {}
    for item in container["env"]:
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = secrets[(ref["name"], ref["key"])]
    for name in overrides:
        assert name in env, f"{name} is not in the rendered environment, so overriding it would test something else"
    env.update(overrides)
    return env


@dataclass
class Result:
    code: int
    out: str
    err: str
    seconds: float


def run(container: Mapping[str, Any], env: Mapping[str, str], tmp: Path, *, path_first: Path | None = None, timeout: float = 60) -> Result:
    """Run a rendered container's command and args with its environment (nothing from this machine's
    AWS or Hugging Face configuration leaks in)."""
    assert container["command"] == ["/bin/bash", "-c"]
    nowhere = tmp / "does-not-exist"
    full = {
        "PATH": os.pathsep.join(p for p in (str(path_first or ""), str(BIN), "/usr/bin", "/bin") if p),
        "AWS_CONFIG_FILE": str(nowhere / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(nowhere / "credentials"),
        "LANG": "C.UTF-8",
        **env,
    }
    start = time.monotonic()
    proc = subprocess.run(
        [*container["command"], *container["args"]], env=full, capture_output=True, text=True, timeout=timeout, check=False
    )
    return Result(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


# ---------------------------------------------------------------- S3


@dataclass
class S3Case:
    """One S3 model in a bucket, and the rendered Job and waiter to fetch and guard it."""

    s3: S3Server
    tmp: Path
    bucket: str
    model_dir: Path
    secrets: dict[tuple[str, str], str]
    source: ModelSource

    def objects(self, **source_changes: Any) -> list[dict[str, Any]]:
        return synth(dataclasses.replace(self.source, **source_changes), cache=ModelCache.pvc("10Gi", access_mode="ReadWriteMany"))

    def download(self, **source_changes: Any) -> Result:
        container = job_container(self.objects(**source_changes))
        assert container["args"] == [download_script("s3")]
        overrides = {"MODEL_DIR": str(self.model_dir)}
        if "S3_ENDPOINT_URL" in {e["name"] for e in container["env"] if "value" in e}:
            overrides["S3_ENDPOINT_URL"] = self.s3.endpoint
        return run(container, resolve_env(container, self.secrets, **overrides), self.tmp)

    def wait(self, timeout_s: int = 1, **source_changes: Any) -> Result:
        container = wait_init_container(self.objects(**source_changes))
        assert container["args"] == [wait_script()]
        env = resolve_env(
            container, self.secrets, MODEL_DIR=str(self.model_dir), WAIT_TIMEOUT_SECONDS=str(timeout_s), WAIT_INTERVAL_SECONDS="1"
        )
        return run(container, env, self.tmp)


@pytest.fixture
def s3_case(s3: S3Server, aws_cli: str, tmp_path: Path) -> Callable[..., S3Case]:  # noqa: F811
    """A fresh bucket, a model folder, and a source in the chart's Secret layout (endpoint, bucket and
    keys all from Secret 'model-store', as ModelSource.chart_s3 renders them)."""

    def make(files: Mapping[str, bytes] | None = None, *, checksum_file: str | None = None, literal: bool = False) -> S3Case:
        bucket = s3.new_bucket()
        if files is None:
            files = under(MODEL_PATH, fake_model())
        s3.put(bucket, files)
        secrets = {
            ("model-store", "s3endpoint"): s3.endpoint,
            ("model-store", "s3bucketname"): bucket,
            ("model-store", "s3accesskeyid"): s3.access_key_id,
            ("model-store", "s3accesskey"): s3.secret_access_key,
        }
        if literal or checksum_file:
            source = ModelSource.s3(
                MODEL_PATH,
                bucket=bucket,
                endpoint="http://minio.storage:9000",
                credentials=S3Credentials.chart_secret("model-store"),
                revision="2026-11-01",
                checksum_file=checksum_file,
            )
        else:
            source = ModelSource.chart_s3("model-store", MODEL_PATH, revision="2026-11-01")
        return S3Case(s3, tmp_path, bucket, tmp_path / "cache" / "model", secrets, source)

    return make


def assert_not_ready(case: S3Case, download: Result, error: str) -> None:
    """The download failed loudly, wrote no marker, and the waiter fails afterwards saying what is missing."""
    assert download.code != 0, download.out + download.err
    assert error in download.err, download.err
    assert not (case.model_dir / MARKER).exists()
    waited = case.wait(timeout_s=0)  # nothing will write the marker: one look is enough (the bound is tested below)
    assert waited.code != 0, waited.out
    assert "ERROR: after 0s no completion marker for 'source=" in waited.err, waited.err
    assert "revision=2026-11-01' in " in waited.err


@pytest.mark.parametrize("literal", [False, True], ids=["chart-secret", "literal-bucket"])
def test_good_download_writes_marker_and_waiter_passes(s3_case: Callable[..., S3Case], literal: bool) -> None:
    case = s3_case(literal=literal)
    result = case.download()
    assert result.code == 0, result.err
    for name, body in fake_model().items():
        assert (case.model_dir / name).read_bytes() == body
    marker = (case.model_dir / MARKER).read_text()
    assert marker == f"source=s3://{case.bucket if literal else '$(model-store/s3bucketname)'}/{MODEL_PATH} revision=2026-11-01"
    assert f"model complete in {case.model_dir}" in result.out
    waited = case.wait()
    assert waited.code == 0, waited.err
    assert waited.out.strip() == f"model ready in {case.model_dir} ({marker})"


def test_second_run_is_idempotent_and_does_not_download_again(s3_case: Callable[..., S3Case]) -> None:
    case = s3_case()
    assert case.download().code == 0
    mtimes = {p.name: p.stat().st_mtime_ns for p in case.model_dir.iterdir()}
    case.s3.delete_bucket(case.bucket)  # a second download would now fail
    again = case.download()
    assert again.code == 0, again.err
    assert (
        again.out.strip()
        == f"model already complete in {case.model_dir} (source=s3://$(model-store/s3bucketname)/{MODEL_PATH} revision=2026-11-01)"
    )
    assert {p.name: p.stat().st_mtime_ns for p in case.model_dir.iterdir()} == mtimes
    assert case.wait().code == 0


def test_changed_revision_is_detected_and_downloaded_again(s3_case: Callable[..., S3Case]) -> None:
    case = s3_case()
    assert case.download().code == 0
    waited = case.wait(revision="2026-12-01")
    assert waited.code != 0
    expected_a = f"source=s3://$(model-store/s3bucketname)/{MODEL_PATH} revision=2026-11-01"
    expected_b = f"source=s3://$(model-store/s3bucketname)/{MODEL_PATH} revision=2026-12-01"
    assert f"ERROR: after 1s the model in {case.model_dir} is '{expected_a}', expected '{expected_b}'" in waited.err
    case.s3.put(case.bucket, {f"{MODEL_PATH}/tokenizer.json": b'{"version": "2.0", "new": true}'})
    result = case.download(revision="2026-12-01")
    assert result.code == 0, result.err
    assert "listing s3://" in result.out
    assert (case.model_dir / "tokenizer.json").read_bytes() == b'{"version": "2.0", "new": true}'
    assert (case.model_dir / MARKER).read_text() == expected_b
    assert case.wait(revision="2026-12-01").code == 0
    assert case.wait().code != 0  # a pod still expecting the old revision does not start on the new files


def test_fails_when_access_key_id_is_unknown(s3_case: Callable[..., S3Case]) -> None:
    case = s3_case()
    case.secrets[("model-store", "s3accesskeyid")] = "AKIAUNKNOWNKEY000000"
    result = case.download()
    assert_not_ready(case, result, "InvalidAccessKeyId")
    assert "ERROR: listing s3://" in result.err


def test_fails_when_secret_key_is_wrong(s3_case: Callable[..., S3Case]) -> None:
    case = s3_case()
    case.secrets[("model-store", "s3accesskey")] = "not-the-secret"
    result = case.download()
    assert_not_ready(case, result, "SignatureDoesNotMatch")
    assert "ERROR: listing s3://" in result.err


def test_fails_when_bucket_is_missing(s3_case: Callable[..., S3Case]) -> None:
    case = s3_case()
    case.secrets[("model-store", "s3bucketname")] = "no-such-bucket"
    assert_not_ready(case, case.download(), "NoSuchBucket")


def test_fails_when_path_is_missing(s3_case: Callable[..., S3Case]) -> None:
    case = s3_case(under("models/other-model", fake_model()))
    assert_not_ready(case, case.download(), f"ERROR: listing s3://{case.bucket}/{MODEL_PATH}/ failed (exit 1): ")


def test_fails_when_bucket_is_empty(s3_case: Callable[..., S3Case]) -> None:
    case = s3_case({})
    assert_not_ready(case, case.download(), f"ERROR: listing s3://{case.bucket}/{MODEL_PATH}/ failed (exit 1): ")


def test_fails_when_prefix_holds_only_a_folder_object(s3_case: Callable[..., S3Case]) -> None:
    case = s3_case({f"{MODEL_PATH}/": b""})
    assert_not_ready(case, case.download(), f"ERROR: model in {case.tmp}/cache/model is incomplete: the directory is empty")


def test_fails_when_a_prefix_only_shares_the_path_start(s3_case: Callable[..., S3Case]) -> None:
    # 'models/opt-125m-v2/...' must not count as 'models/opt-125m/'
    case = s3_case(under(f"{MODEL_PATH}-v2", fake_model()))
    assert_not_ready(case, case.download(), f"ERROR: listing s3://{case.bucket}/{MODEL_PATH}/ failed (exit 1): ")


def test_fails_when_a_shard_listed_in_the_index_is_missing(s3_case: Callable[..., S3Case]) -> None:
    files = fake_model()
    del files[SHARD_2]
    case = s3_case(under(MODEL_PATH, files))
    assert_not_ready(case, case.download(), f"incomplete: shard {SHARD_2} listed in model.safetensors.index.json is missing or empty")


def test_fails_when_a_weight_file_is_empty(s3_case: Callable[..., S3Case]) -> None:
    files = fake_model()
    del files["model.safetensors.index.json"], files[SHARD_1], files[SHARD_2]
    files["model.safetensors"] = b""
    case = s3_case(under(MODEL_PATH, files))
    assert_not_ready(case, case.download(), "incomplete: model.safetensors is empty")


def test_fails_when_a_sharded_weight_file_is_empty(s3_case: Callable[..., S3Case]) -> None:
    case = s3_case(under(MODEL_PATH, {**fake_model(), SHARD_1: b""}))
    assert_not_ready(case, case.download(), f"incomplete: shard {SHARD_1} listed in model.safetensors.index.json is missing or empty")


def test_fails_when_config_json_is_missing(s3_case: Callable[..., S3Case]) -> None:
    files = fake_model()
    del files["config.json"]
    case = s3_case(under(MODEL_PATH, files))
    assert_not_ready(case, case.download(), "incomplete: config.json is missing")


def test_checksums_pass_when_they_match(s3_case: Callable[..., S3Case]) -> None:
    case = s3_case(under(MODEL_PATH, with_checksums(fake_model())), checksum_file="SHA256SUMS")
    result = case.download()
    assert result.code == 0, result.err
    assert case.wait().code == 0


def test_fails_when_a_checksum_does_not_match(s3_case: Callable[..., S3Case]) -> None:
    files = with_checksums(fake_model())
    files[SHARD_2] = b"\x03" * 48  # same size, other bytes
    case = s3_case(under(MODEL_PATH, files), checksum_file="SHA256SUMS")
    assert_not_ready(case, case.download(), "incomplete: checksums in SHA256SUMS do not match")


def test_fails_when_the_checksum_file_is_missing(s3_case: Callable[..., S3Case]) -> None:
    case = s3_case(checksum_file="SHA256SUMS")
    assert_not_ready(case, case.download(), "incomplete: checksum file SHA256SUMS is missing")


def test_waiter_timeout_is_bounded(s3_case: Callable[..., S3Case]) -> None:
    case = s3_case()
    result = case.wait(timeout_s=3)
    assert result.code == 1
    assert result.out.count("waiting: no completion marker") >= 2
    # checks once a second; gives up after the timeout plus at most one interval and one clock tick
    assert 2 <= result.seconds < 3 + 1 + 1.5, result.seconds


# ---------------------------------------------------------------- Hugging Face

FAKE_HF = """\
#!{python}
# Stand-in for the 'hf' CLI: records argv and the token it finds the way huggingface_hub does (HF_TOKEN, else the
# file HF_TOKEN_PATH names), then behaves as FAKE_HF_MODE says.
import json, os, sys, time
token = os.environ.get("HF_TOKEN")
if token is None and os.environ.get("HF_TOKEN_PATH") and os.path.exists(os.environ["HF_TOKEN_PATH"]):
    token = open(os.environ["HF_TOKEN_PATH"]).read().strip()
with open(os.environ["FAKE_HF_LOG"], "a") as log:
    log.write(json.dumps({{"argv": sys.argv[1:], "token": token}}) + "\\n")
mode = os.environ["FAKE_HF_MODE"]
args = sys.argv[1:]
local_dir = args[args.index("--local-dir") + 1]
if mode == "fail":
    print("Repository Not Found for url: https://huggingface.co/api/models/x", file=sys.stderr)
    sys.exit(1)
if mode == "hang":
    time.sleep(120)
os.makedirs(os.path.join(local_dir, ".cache", "huggingface"), exist_ok=True)
with open(os.path.join(local_dir, "config.json"), "w") as f:
    f.write('{{"model_type": "llama"}}')
if mode == "ok":
    with open(os.path.join(local_dir, "model.safetensors"), "wb") as f:
        f.write(b"\\x01" * 64)
    with open(os.path.join(local_dir, "tokenizer.json"), "w") as f:
        f.write("{{}}")
"""


@dataclass
class HfCase:
    tmp: Path
    bin_dir: Path
    log: Path
    model_dir: Path
    container: dict[str, Any]
    waiter: dict[str, Any]
    secrets: dict[tuple[str, str], str]
    volumes: list[dict[str, Any]]

    def project_secret_files(self) -> dict[str, str]:
        """What the kubelet does: write each mounted Secret volume's items under a temp root, and map every env value
        that names a file under a mount to the projected copy."""
        volumes = {v["name"]: v for v in self.volumes}
        moved: dict[str, str] = {}
        for mount in self.container.get("volumeMounts", []):
            secret = volumes[mount["name"]].get("secret")
            if secret is None:
                continue
            root = self.tmp / "projected" / mount["mountPath"].lstrip("/")
            root.mkdir(parents=True, exist_ok=True)
            for item in secret["items"]:
                (root / item["path"]).write_text(self.secrets[(secret["secretName"], item["key"])])
            for env in self.container["env"]:
                if str(env.get("value", "")).startswith(mount["mountPath"] + "/"):
                    moved[env["name"]] = str(root / env["value"][len(mount["mountPath"]) + 1 :])
        return moved

    def download(self, mode: str, timeout_s: int | None = None) -> Result:
        overrides = {"MODEL_DIR": str(self.model_dir), **self.project_secret_files()}
        if timeout_s is not None:
            overrides["DOWNLOAD_TIMEOUT_SECONDS"] = str(timeout_s)
        env = resolve_env(self.container, self.secrets, **overrides)
        env.update(FAKE_HF_MODE=mode, FAKE_HF_LOG=str(self.log))
        return run(self.container, env, self.tmp, path_first=self.bin_dir)

    def wait(self, timeout_s: int = 1) -> Result:
        env = resolve_env(
            self.waiter, self.secrets, MODEL_DIR=str(self.model_dir), WAIT_TIMEOUT_SECONDS=str(timeout_s), WAIT_INTERVAL_SECONDS="1"
        )
        return run(self.waiter, env, self.tmp)

    def calls(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []


@pytest.fixture
def hf_case(tmp_path: Path) -> HfCase:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    hf = bin_dir / "hf"
    hf.write_text(FAKE_HF.format(python=sys.executable))
    hf.chmod(0o755)
    model = ModelSource.huggingface(HF_REPO, revision=HF_REVISION, include=("*.json", "*.safetensors"), exclude=("original/*",))
    objects = synth(model, hf_token=SecretKeyRef("hf-token", "token"), cache=ModelCache.pvc("50Gi"))
    assert by_kind(objects, "Job")
    secrets = {("hf-token", "token"): "hf_test_token_123"}
    return HfCase(
        tmp_path,
        bin_dir,
        tmp_path / "hf-calls.jsonl",
        tmp_path / "cache" / "llama",
        job_container(objects),
        wait_init_container(objects),
        secrets,
        one(objects, "Job")["spec"]["template"]["spec"]["volumes"],
    )


def test_hf_download_passes_patterns_revision_and_token(hf_case: HfCase) -> None:
    assert hf_case.container["args"] == [download_script("hf")]
    result = hf_case.download("ok")
    assert result.code == 0, result.err
    assert hf_case.calls() == [
        {
            "argv": [
                "download",
                HF_REPO,
                "--revision",
                HF_REVISION,
                "--local-dir",
                str(hf_case.model_dir),
                "--quiet",
                "--include",
                "*.json",
                "--include",
                "*.safetensors",
                "--exclude",
                "original/*",
            ],
            "token": "hf_test_token_123",
        }
    ]
    assert (hf_case.model_dir / MARKER).read_text() == f"source=hf://{HF_REPO} revision={HF_REVISION}"
    waited = hf_case.wait()
    assert waited.code == 0, waited.err
    again = hf_case.download("fail")
    assert again.code == 0 and "model already complete" in again.out
    assert len(hf_case.calls()) == 1


def test_hf_download_without_patterns_passes_no_filters(tmp_path: Path, hf_case: HfCase) -> None:
    objects = synth(ModelSource.huggingface(HF_REPO, revision=HF_REVISION), cache=ModelCache.pvc("50Gi"))
    container = job_container(objects)
    assert "HF_TOKEN" not in {e["name"] for e in container["env"]}
    env = resolve_env(container, {}, MODEL_DIR=str(hf_case.model_dir))
    env.update(FAKE_HF_MODE="ok", FAKE_HF_LOG=str(hf_case.log))
    result = run(container, env, tmp_path, path_first=hf_case.bin_dir)
    assert result.code == 0, result.err
    (call,) = hf_case.calls()
    assert call == {
        "argv": ["download", HF_REPO, "--revision", HF_REVISION, "--local-dir", str(hf_case.model_dir), "--quiet"],
        "token": None,
    }


def assert_hf_not_ready(case: HfCase, result: Result, error: str) -> None:
    assert result.code != 0, result.out
    assert error in result.err, result.err
    assert not (case.model_dir / MARKER).exists()
    waited = case.wait(timeout_s=0)
    assert waited.code != 0
    assert f"ERROR: after 0s no completion marker for 'source=hf://{HF_REPO} revision={HF_REVISION}' in {case.model_dir}" in waited.err


def test_hf_fails_when_hf_fails(hf_case: HfCase) -> None:
    result = hf_case.download("fail")
    assert "Repository Not Found" in result.err
    assert_hf_not_ready(hf_case, result, f"ERROR: hf download of {HF_REPO}@{HF_REVISION} failed (exit 1)")


def test_hf_fails_when_only_config_arrives(hf_case: HfCase) -> None:
    assert_hf_not_ready(hf_case, hf_case.download("config-only"), "incomplete: no weight files (*.safetensors, *.bin, *.pt, *.pth, *.gguf)")


def test_hf_hang_is_killed_by_the_timeout(hf_case: HfCase) -> None:
    result = hf_case.download("hang", timeout_s=2)
    assert result.seconds < 10, result.seconds
    assert_hf_not_ready(hf_case, result, f"ERROR: hf download of {HF_REPO}@{HF_REVISION} timed out after 2s")


def test_s3_without_endpoint_runs_with_an_empty_endpoint_array(s3: S3Server, aws_cli: str, tmp_path: Path) -> None:  # noqa: F811
    """No endpoint prop: the script's empty 'endpoint' array must expand to nothing under set -u; the endpoint
    comes from the AWS CLI's own AWS_ENDPOINT_URL, given through ModelDownload(env=...) (the chart's downloadJob.env)."""
    bucket = s3.new_bucket()
    s3.put(bucket, under(MODEL_PATH, fake_model()))
    source = ModelSource.s3(MODEL_PATH, bucket=bucket, credentials=S3Credentials.from_secret("s3"), revision="r1")
    objects = synth(source, cache=ModelCache.pvc("10Gi"), download=ModelDownload(env={"AWS_ENDPOINT_URL": "http://placeholder:9000"}))
    container = job_container(objects)
    assert "S3_ENDPOINT_URL" not in {e["name"] for e in container["env"]}
    secrets = {("s3", "AWS_ACCESS_KEY_ID"): s3.access_key_id, ("s3", "AWS_SECRET_ACCESS_KEY"): s3.secret_access_key}
    model_dir = tmp_path / "cache" / "model"
    env = resolve_env(container, secrets, MODEL_DIR=str(model_dir), AWS_ENDPOINT_URL=s3.endpoint)
    result = run(container, env, tmp_path)
    assert result.code == 0, result.err
    assert (model_dir / MARKER).read_text() == f"source=s3://{bucket}/{MODEL_PATH} revision=r1"
