"""LoRA adapters: what a server renders for them (flags, mounts, guards, Jobs, cache), what it refuses, and the adapter
downloads run for real: the rendered Job container and wait guard against moto's S3 server with credential checking
and the real AWS CLI, and against a stand-in ``hf`` command, exactly as for base weights."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cdk8s
import pytest

from tests.conftest import chart_objects
from tests.s3_server import BIN, S3Server, aws_cli, s3  # noqa: F401
from tests.schemas import K8S_VERSIONS, crd_errors, is_builtin, k8s_errors
from vllm_constructs import (
    ConfigError,
    DownloadMode,
    EngineArgs,
    LoraAdapter,
    LoraOptions,
    ModelCache,
    ModelDownload,
    ModelSource,
    MultiNodeBackend,
    RayClusterProps,
    Resources,
    RolloutStrategy,
    S3Credentials,
    SecretKeyRef,
    VllmServer,
    VllmServerProps,
)
from vllm_constructs.core.cluster import plan_cluster
from vllm_constructs.core.downloads import CacheUse, Readers, cache_access
from vllm_constructs.core.lora import LoraFacts
from vllm_constructs.core.model import MARKER, download_script, wait_script
from vllm_constructs.core.server import ServerPlan, plan_server
from vllm_constructs.core.validation import Checker

NS = "llm"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
QWEN = ModelSource.huggingface("Qwen/Qwen3-8B", revision=COMMIT)
GPU = Resources(cpu="4", memory="32Gi", accelerators=1)


def serve(lora: LoraOptions | None, **kw: Any) -> ServerPlan:
    return plan_server("t/qwen", NS, VllmServerProps(name="qwen", model=QWEN, resources=GPU, lora=lora, **kw))


def docs(plan: Any) -> list[dict[str, Any]]:
    return [o.manifest(NS) for o in plan.objects]


def pod(plan: Any) -> dict[str, Any]:
    (dep,) = [d for d in docs(plan) if d["kind"] == "Deployment"]
    return dict(dep["spec"]["template"]["spec"])


def vllm_args(plan: Any) -> list[str]:
    return list(pod(plan)["containers"][0]["args"])


def three() -> LoraOptions:
    return LoraOptions(
        adapters=(
            LoraAdapter.huggingface("sql", "org/sql-lora", revision=COMMIT, rank=8),
            LoraAdapter.s3("support", "adapters/support", bucket="adapters", rank=64),
            LoraAdapter.pvc("legal", "team-adapters", path="legal/v2", rank=16),
        )
    )


# ---------------------------------------------------------------- rendering


def test_server_flags_are_derived_from_the_adapters() -> None:
    args = vllm_args(serve(three()))
    lora = args[args.index("--enable-lora") :]
    assert lora[:7] == ["--enable-lora", "--max-loras", "3", "--max-lora-rank", "64", "--max-cpu-loras", "3"]
    assert lora[7] == "--lora-modules" and len(lora) == 11
    modules = dict(item.split("=", 1) for item in lora[8:])
    assert list(modules) == ["sql", "support", "legal"]
    mounts = {m["mountPath"]: m for m in pod(serve(three()))["containers"][0]["volumeMounts"]}
    assert modules["legal"] == "/adapters/claim-1/legal/v2"
    assert modules["sql"].startswith("/adapters/cache/") and modules["support"].startswith("/adapters/cache/")
    for path in modules.values():
        root = next(m for p, m in mounts.items() if path.startswith(p + "/"))
        assert root.get("readOnly") is True


def test_rank_rounds_up_to_a_rank_vllm_accepts_and_explicit_limits_win() -> None:
    def flags(options: LoraOptions) -> dict[str, str]:
        args = vllm_args(serve(options))
        return {a: args[i + 1] for i, a in enumerate(args) if a in ("--max-loras", "--max-lora-rank", "--max-cpu-loras")}

    one = lambda rank: LoraOptions(adapters=(LoraAdapter.pvc("a", "c", rank=rank),))  # noqa: E731
    assert [flags(one(r))["--max-lora-rank"] for r in (1, 2, 8, 9, 300, 320, 321)] == ["1", "8", "8", "16", "320", "320", "512"]
    explicit = LoraOptions(adapters=(LoraAdapter.pvc("a", "c", rank=8),), max_loras=4, max_lora_rank=32, max_cpu_loras=10)
    assert flags(explicit) == {"--max-loras": "4", "--max-lora-rank": "32", "--max-cpu-loras": "10"}
    assert flags(LoraOptions(adapters=(LoraAdapter.pvc("a", "c", rank=8),), max_loras=6))["--max-cpu-loras"] == "6"


def test_limits_vllm_would_refuse_are_refused() -> None:
    adapter = LoraAdapter.pvc("a", "c", rank=64)
    with pytest.raises(ConfigError, match=r"max_lora_rank=48 is not a rank vLLM accepts"):
        LoraOptions(adapters=(adapter,), max_lora_rank=48)
    with pytest.raises(ConfigError, match=r"max_lora_rank=32 is below the rank of adapter 'a'"):
        LoraOptions(adapters=(adapter,), max_lora_rank=32)
    with pytest.raises(ConfigError, match=r"max_cpu_loras=2 is below max_loras \(4\)"):
        LoraOptions(adapters=(adapter,), max_loras=4, max_cpu_loras=2)
    with pytest.raises(ConfigError, match=r"is empty and runtime_updates is off"):
        LoraOptions()


def test_downloaded_adapters_get_a_verified_job_and_a_wait_guard_each() -> None:
    plan = serve(three())
    jobs = [d for d in docs(plan) if d["kind"] == "Job" and "-lora-download-" in d["metadata"]["name"]]
    assert len(jobs) == 2
    claims = {d["metadata"]["name"]: d for d in docs(plan) if d["kind"] == "PersistentVolumeClaim"}
    assert claims["qwen-lora-cache"]["spec"]["accessModes"] == ["ReadWriteOnce"]
    for job, rank, kind in zip(jobs, ("8", "64"), ("hf", "s3"), strict=True):
        (container,) = job["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["LORA_MAX_RANK"] == rank
        assert container["args"] == [download_script(kind, lora_adapter=True)]
        assert job["spec"]["template"]["spec"]["volumes"][0] == {
            "name": "model-cache",
            "persistentVolumeClaim": {"claimName": "qwen-lora-cache"},
        }
        # ReadWriteOnce: the Job runs on the server's node
        affinity = job["spec"]["template"]["spec"]["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
        assert affinity["labelSelector"]["matchLabels"]["app.kubernetes.io/instance"] == "qwen"
    inits = {c["name"]: c for c in pod(plan)["initContainers"]}
    assert list(inits) == ["wait-for-model", "wait-for-adapter-1", "wait-for-adapter-2"]
    args = vllm_args(plan)
    for i, name in ((1, "sql"), (2, "support")):
        guard = inits[f"wait-for-adapter-{i}"]
        assert guard["args"] == [wait_script()]
        env = {e["name"]: e["value"] for e in guard["env"] if "value" in e}
        assert f"{name}={env['MODEL_DIR']}" in args
        assert guard["volumeMounts"] == [{"name": "lora-adapters", "mountPath": "/adapters/cache", "readOnly": True}]


def test_adapter_jobs_honour_download_co_locate_like_the_model_job() -> None:
    def pinned(lora: LoraOptions) -> list[bool]:
        jobs = [d for d in docs(serve(lora)) if d["kind"] == "Job" and "-lora-download-" in d["metadata"]["name"]]
        return ["podAffinity" in job["spec"]["template"]["spec"].get("affinity", {}) for job in jobs]

    rwx = ModelCache.pvc("5Gi", access_mode="ReadWriteMany")
    assert pinned(LoraOptions(adapters=three().adapters, cache=rwx)) == [False, False]
    assert pinned(LoraOptions(adapters=three().adapters, cache=rwx, download=ModelDownload(co_locate=True))) == [True, True]
    with pytest.raises(ConfigError) as refused:
        serve(LoraOptions(adapters=three().adapters, download=ModelDownload(co_locate=False)))
    assert str(refused.value) == (
        "t/qwen: lora.download.co_locate=False lets the download Job run on another node than the server, which cannot attach the "
        "ReadWriteOnce lora.cache. Allowed: True (or unset) with a ReadWriteOnce lora.cache. Fix: leave co_locate unset, or use a "
        "ReadWriteMany lora.cache."
    )


def test_base_model_download_is_unchanged_by_lora() -> None:
    without, with_lora = docs(serve(None)), docs(serve(three()))
    base = lambda ds: [d for d in ds if d["kind"] == "Job" and "-lora-" not in d["metadata"]["name"]]  # noqa: E731
    assert base(without) == base(with_lora)
    assert base(without)[0]["spec"]["template"]["spec"]["containers"][0]["args"] == [download_script("hf")]
    assert "LORA_MAX_RANK" not in json.dumps(base(without))
    assert "--enable-lora" not in vllm_args(serve(None))


def test_cache_access_mode_follows_the_readers() -> None:
    claim = lambda plan: next(d for d in docs(plan) if d["metadata"]["name"] == "qwen-lora-cache")  # noqa: E731
    many = serve(three(), replicas=2, cache=ModelCache.pvc("100Gi", access_mode="ReadWriteMany"))
    assert claim(many)["spec"]["accessModes"] == ["ReadWriteMany"]
    rwo = LoraOptions(adapters=three().adapters, cache=ModelCache.pvc("5Gi", access_mode="ReadWriteOnce"))
    with pytest.raises(ConfigError) as many_pods:
        serve(rwo, replicas=2, cache=ModelCache.pvc("100Gi", access_mode="ReadWriteMany"))
    assert str(many_pods.value) == (
        "t/qwen: lora.cache.access_mode='ReadWriteOnce' attaches to one node, but 2 replicas would mount it (multi-attach error on a "
        "second node). Allowed: ReadWriteMany when several pods read the cache. Fix: use ModelCache.pvc(size, "
        "access_mode='ReadWriteMany') on an RWX storage class."
    )
    with pytest.raises(ConfigError) as surge:
        serve(
            rwo, rollout=RolloutStrategy.rolling(max_surge=1, max_unavailable=0), cache=ModelCache.pvc("100Gi", access_mode="ReadWriteMany")
        )
    assert str(surge.value).startswith(
        "t/qwen: rollout.max_surge=1 starts a new pod while the old one holds the ReadWriteOnce lora.cache, possibly on another node."
    )
    existing = LoraOptions(adapters=three().adapters, cache=ModelCache.existing_claim("shared-adapters"))
    plan = serve(existing)
    assert not [d for d in docs(plan) if d["metadata"]["name"] == "qwen-lora-cache"]
    volume = next(v for v in pod(plan)["volumes"] if v["name"] == "lora-adapters")
    assert volume == {"name": "lora-adapters", "persistentVolumeClaim": {"claimName": "shared-adapters"}}
    with pytest.raises(ConfigError, match=r"is per pod, so a download Job cannot fill it"):
        LoraOptions(adapters=three().adapters, cache=ModelCache.empty_dir("1Gi"))
    with pytest.raises(ConfigError, match=r"is set, but no adapter is downloaded"):
        LoraOptions(adapters=(LoraAdapter.pvc("a", "c", rank=8),), cache=ModelCache.pvc("1Gi"))
    with pytest.raises(ConfigError, match=r"download.mode='init-container' is not JOB"):
        LoraOptions(adapters=three().adapters, download=ModelDownload(mode=DownloadMode.INIT_CONTAINER))


def test_adapters_on_one_claim_share_one_volume() -> None:
    options = LoraOptions(
        adapters=(
            LoraAdapter.pvc("a", "team", rank=8, path="a"),
            LoraAdapter.pvc("b", "team", rank=8),
            LoraAdapter.pvc("c", "other", rank=8),
        )
    )
    plan = serve(options)
    claims = [v for v in pod(plan)["volumes"] if v["name"].startswith("lora-claim-")]
    assert claims == [
        {"name": "lora-claim-1", "persistentVolumeClaim": {"claimName": "team", "readOnly": True}},
        {"name": "lora-claim-2", "persistentVolumeClaim": {"claimName": "other", "readOnly": True}},
    ]
    args = vllm_args(plan)
    assert args[args.index("--lora-modules") + 1 :] == ["a=/adapters/claim-1/a", "b=/adapters/claim-1", "c=/adapters/claim-2"]
    assert not [d for d in docs(plan) if "lora" in d["metadata"]["name"]]


def test_runtime_loading_is_off_unless_asked_for_and_then_needs_an_api_key() -> None:
    env = lambda plan: {e["name"]: e.get("value") for e in pod(plan)["containers"][0]["env"]}  # noqa: E731
    assert "VLLM_ALLOW_RUNTIME_LORA_UPDATING" not in env(serve(three()))
    key = SecretKeyRef("vllm-api-key", "key")
    runtime = LoraOptions(runtime_updates=True)
    assert env(serve(runtime, api_key=key))["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] == "True"
    with pytest.raises(ConfigError, match=r"lora.runtime_updates=True lets any client load adapters"):
        serve(runtime)
    with pytest.raises(ConfigError, match=r"env=.*VLLM_ALLOW_RUNTIME_LORA_UPDATING.* is set by the construct \(lora.runtime_updates"):
        serve(None, env={"VLLM_ALLOW_RUNTIME_LORA_UPDATING": "1"})
    with pytest.raises(ConfigError, match=r"runs several API servers"):
        serve(runtime, api_key=key, engine=EngineArgs(extra_args=("--api-server-count", "2")))
    args = vllm_args(serve(runtime, api_key=key))
    assert "--enable-lora" in args and "--lora-modules" not in args


def test_lora_flags_in_extra_args_are_refused() -> None:
    for flags in (("--enable-lora",), ("--lora-modules", "a=/x"), ("--max-loras", "2"), ("--max-lora-rank", "8"), ("--max-cpu-loras", "4")):
        with pytest.raises(ConfigError, match=r"repeats or contradicts a flag the construct renders from the server's lora adapters"):
            EngineArgs(extra_args=flags)


def test_bad_adapters_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"is not a commit hash"):
        LoraAdapter.huggingface("sql", "org/sql", revision="main", rank=8)
    with pytest.raises(ConfigError, match=r"source=.*ImageModel.*is not an adapter source|is 'ImageModel', not an adapter source"):
        LoraAdapter(name="x", source=ModelSource.image("/adapters/x"), rank=8)
    with pytest.raises(ConfigError, match=r"is 'str', not an adapter source"):
        LoraAdapter(name="x", source="hf://org/x", rank=8)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"adapters='sql' names two adapters"):
        LoraOptions(adapters=(LoraAdapter.pvc("sql", "a", rank=8), LoraAdapter.pvc("sql", "b", rank=8)))
    with pytest.raises(ConfigError, match=r"is not an adapter name"):
        LoraAdapter.pvc("bad name", "a", rank=8)
    with pytest.raises(ConfigError, match=r"rank=0 is out of range"):
        LoraAdapter.pvc("a", "a", rank=0)
    with pytest.raises(ConfigError, match=r"adapters\[0\].source.path='' is empty, so the generated download would copy the whole"):
        LoraOptions(adapters=(LoraAdapter.s3("whole-bucket", "", bucket="adapters", rank=8),))
    with pytest.raises(ConfigError, match=r"lora.adapters='Qwen/Qwen3-8B' is the served model name too"):
        serve(LoraOptions(adapters=(LoraAdapter.pvc("Qwen/Qwen3-8B", "a", rank=8),)))


def test_facts_name_the_adapters() -> None:
    facts = serve(three()).serving.extras["lora"]
    assert facts == LoraFacts(("sql", "support", "legal"), False, 3)
    assert "lora" not in serve(None).serving.extras


@pytest.mark.parametrize("backend", [MultiNodeBackend.LWS, MultiNodeBackend.LWS_RAY_FREE, MultiNodeBackend.KUBERAY])
def test_multi_node_servers_load_adapters_on_every_node(backend: MultiNodeBackend) -> None:
    props = RayClusterProps(
        name="big", model=QWEN, engine=EngineArgs(tensor_parallel_size=2), resources=Resources(cpu="8", memory="64Gi"),
        nodes=2, accelerators_per_node=1, backend=backend, lora=three(),
    )  # fmt: skip
    plan = plan_cluster("t/big", NS, props)
    (res,) = [o for o in plan.objects if o.id == "Resource"]
    spec = res.body["spec"]
    if backend is MultiNodeBackend.KUBERAY:
        leader, worker = spec["headGroupSpec"]["template"], spec["workerGroupSpecs"][0]["template"]
    else:
        leader, worker = spec["leaderWorkerTemplate"]["leaderTemplate"], spec["leaderWorkerTemplate"]["workerTemplate"]
    for template in (leader, worker):  # every engine worker reads the adapter files itself
        volumes = {v["name"] for v in template["spec"]["volumes"]}
        assert {"lora-adapters", "lora-claim-1"} <= volumes
        assert [c["name"] for c in template["spec"]["initContainers"]][-2:] == ["wait-for-adapter-1", "wait-for-adapter-2"]
    leader_args = leader["spec"]["containers"][0]["args"]
    assert "--enable-lora" in leader_args and "--lora-modules" in leader_args
    if backend is MultiNodeBackend.LWS_RAY_FREE:
        assert "--enable-lora" in worker["spec"]["containers"][0]["args"]  # headless workers build the same engine config
    claim = next(o for o in plan.objects if o.name == "big-lora-cache")
    assert claim.body["spec"]["accessModes"] == ["ReadWriteMany"]
    assert plan.serving.extras["lora"].adapters == ("sql", "support", "legal")


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_lora_objects_validate_strictly(version: str, crd_dir: Path) -> None:
    objects = docs(serve(three(), replicas=2, cache=ModelCache.pvc("100Gi", access_mode="ReadWriteMany")))
    props = RayClusterProps(
        name="big", model=QWEN, engine=EngineArgs(tensor_parallel_size=2), resources=Resources(cpu="8", memory="64Gi"),
        nodes=2, accelerators_per_node=1, backend=MultiNodeBackend.LWS, lora=three(),
    )  # fmt: skip
    objects += docs(plan_cluster("t/big", NS, props))
    failures = {
        f"{d['kind']}/{d['metadata']['name']}": k8s_errors(d, version) if is_builtin(d) else crd_errors(d, crd_dir) for d in objects
    }
    assert {k: v for k, v in failures.items() if v} == {}


# ---------------------------------------------------------------- downloads, for real


def adapter_files(rank: int = 16, **config: Any) -> dict[str, bytes]:
    cfg = {"peft_type": "LORA", "r": rank, "lora_alpha": 32, "target_modules": ["q_proj", "v_proj"], "bias": "none", **config}
    return {"adapter_config.json": json.dumps(cfg, indent=2).encode(), "adapter_model.safetensors": b"\x07" * 64}


@dataclass
class Result:
    code: int
    out: str
    err: str


def run(container: Mapping[str, Any], env: Mapping[str, str], tmp: Path, *, path_first: Path | None = None) -> Result:
    """Run a rendered container's command and args with its environment (nothing from this machine's AWS or Hugging
    Face configuration leaks in)."""
    nowhere = tmp / "does-not-exist"
    full = {
        "PATH": os.pathsep.join(p for p in (str(path_first or ""), str(BIN), "/usr/bin", "/bin") if p),
        "AWS_CONFIG_FILE": str(nowhere / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(nowhere / "credentials"),
        "LANG": "C.UTF-8",
        **env,
    }
    proc = subprocess.run([*container["command"], *container["args"]], env=full, capture_output=True, text=True, timeout=90, check=False)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def rendered_env(container: Mapping[str, Any], secrets: Mapping[tuple[str, str], str], **overrides: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in container["env"]:
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = secrets[(ref["name"], ref["key"])]
    for name in overrides:
        assert name in env, f"{name} is not in the rendered environment"
    return {**env, **overrides}


@dataclass
class AdapterCase:
    """One adapter rendered into a server: its Job container and wait guard, and where the claim is 'mounted' here."""

    tmp: Path
    job: dict[str, Any]
    guard: dict[str, Any]
    secrets: dict[tuple[str, str], str]

    @property
    def folder(self) -> Path:
        # the claim is mounted at /models in the Job and at /adapters/cache in the server: one folder here
        return self.tmp / "claim" / Path(self.env_of(self.job)["MODEL_DIR"]).name

    def env_of(self, container: Mapping[str, Any]) -> dict[str, str]:
        return {e["name"]: e["value"] for e in container["env"] if "value" in e}

    def download(self, path_first: Path | None = None, **extra: str) -> Result:
        overrides = {"MODEL_DIR": str(self.folder), **{k: v for k, v in extra.items() if k in self.env_of(self.job)}}
        env = rendered_env(self.job, self.secrets, **overrides)
        env.update({k: v for k, v in extra.items() if k not in overrides})
        return run(self.job, env, self.tmp, path_first=path_first)

    def wait(self) -> Result:
        env = rendered_env(self.guard, self.secrets, MODEL_DIR=str(self.folder), WAIT_TIMEOUT_SECONDS="0", WAIT_INTERVAL_SECONDS="1")
        return run(self.guard, env, self.tmp)


def adapter_case(adapter: LoraAdapter, tmp: Path, secrets: dict[tuple[str, str], str]) -> AdapterCase:
    plan = serve(LoraOptions(adapters=(adapter,)))
    (job,) = [d for d in docs(plan) if d["kind"] == "Job" and "-lora-" in d["metadata"]["name"]]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    guard = next(c for c in pod(plan)["initContainers"] if c["name"] == "wait-for-adapter-1")
    assert guard["env"][0]["value"].startswith("/adapters/cache/") and container["env"][0]["value"].startswith("/models/")
    assert Path(guard["env"][0]["value"]).name == Path(container["env"][0]["value"]).name
    return AdapterCase(tmp, container, guard, secrets)


@pytest.fixture
def s3_adapter(s3: S3Server, aws_cli: str, tmp_path: Path) -> Any:  # noqa: F811
    def make(files: Mapping[str, bytes], rank: int = 16) -> AdapterCase:
        bucket = s3.new_bucket("adapters")
        s3.put(bucket, {f"adapters/support/{k}": v for k, v in files.items()})
        adapter = LoraAdapter.s3(
            "support",
            "adapters/support",
            bucket=bucket,
            endpoint="http://minio.storage:9000",
            credentials=S3Credentials.from_secret("s3"),
            revision="r1",
            rank=rank,
        )
        secrets = {("s3", "AWS_ACCESS_KEY_ID"): s3.access_key_id, ("s3", "AWS_SECRET_ACCESS_KEY"): s3.secret_access_key}
        case = adapter_case(adapter, tmp_path, secrets)
        case.job = {**case.job, "env": [e if e["name"] != "S3_ENDPOINT_URL" else {**e, "value": s3.endpoint} for e in case.job["env"]]}
        return case

    return make


@pytest.mark.real
def test_s3_adapter_download_is_verified_marked_and_waited_for(s3_adapter: Any) -> None:
    case = s3_adapter(adapter_files(rank=16))
    result = case.download()
    assert result.code == 0, result.err
    assert "LoRA adapter checks passed" in result.out and "(ranks: 16)" in result.out
    assert (case.folder / "adapter_config.json").exists()
    assert (case.folder / MARKER).read_text().endswith(" revision=r1")
    waited = case.wait()
    assert waited.code == 0, waited.err


@pytest.mark.real
@pytest.mark.parametrize(
    ("files", "error"),
    [
        ({"adapter_model.safetensors": b"\x01" * 8}, "adapter_config.json is missing or empty (not a PEFT LoRA adapter)"),
        ({"adapter_config.json": json.dumps({"r": 8, "bias": "none"}).encode()}, "no adapter weights"),
        ({**adapter_files(), "adapter_model.safetensors": b""}, "adapter_model.safetensors is empty"),
        (adapter_files(rank=64), "adapter_config.json uses rank 64, above the rank declared for it (16)"),
        (adapter_files(rank=8, rank_pattern={"q_proj": 8, "v_proj": 32}), "uses rank 32, above the rank declared for it (16)"),
        (adapter_files(bias="lora_only"), 'sets a bias other than "none"'),
        ({**adapter_files(), "adapter_config.json": b'{"peft_type": "LORA"}'}, 'declares no rank ("r")'),
        ({"config.json": b"{}", "model.safetensors": b"\x01" * 8}, "adapter_config.json is missing"),  # a base model is not an adapter
    ],
    ids=["no-config", "no-weights", "empty-weights", "rank-too-high", "rank-pattern-too-high", "bias", "no-rank", "base-model"],
)
def test_s3_adapter_download_refuses_what_vllm_could_not_load(s3_adapter: Any, files: dict[str, bytes], error: str) -> None:
    case = s3_adapter(files)
    result = case.download()
    assert result.code != 0, result.out
    assert f"ERROR: LoRA adapter in {case.folder} is incomplete: " in result.err and error in result.err, result.err
    assert not (case.folder / MARKER).exists()
    waited = case.wait()
    assert waited.code != 0 and "no completion marker" in waited.err


FAKE_HF = """\
#!{python}
# Stand-in for the 'hf' CLI: records argv, then writes an adapter (FAKE_HF_RANK) into --local-dir.
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_HF_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
local_dir = args[args.index("--local-dir") + 1]
os.makedirs(local_dir, exist_ok=True)
with open(os.path.join(local_dir, "adapter_config.json"), "w") as f:
    json.dump({{"peft_type": "LORA", "r": int(os.environ["FAKE_HF_RANK"]), "bias": "none"}}, f)
with open(os.path.join(local_dir, "adapter_model.safetensors"), "wb") as f:
    f.write(b"\\x01" * 32)
"""


@pytest.mark.real
def test_hf_adapter_download_fetches_the_pinned_commit(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "hf").write_text(FAKE_HF.format(python=sys.executable))
    (bin_dir / "hf").chmod(0o755)
    log = tmp_path / "calls.jsonl"
    case = adapter_case(LoraAdapter.huggingface("sql", "org/sql-lora", revision=COMMIT, rank=8), tmp_path, {})
    ok = case.download(bin_dir, FAKE_HF_LOG=str(log), FAKE_HF_RANK="8")
    assert ok.code == 0, ok.err
    (call,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert call[:4] == ["download", "org/sql-lora", "--revision", COMMIT]
    assert (case.folder / MARKER).read_text() == f"source=hf://org/sql-lora revision={COMMIT}"
    assert case.wait().code == 0
    (case.folder / MARKER).unlink()
    too_big = case.download(bin_dir, FAKE_HF_LOG=str(log), FAKE_HF_RANK="16")
    assert too_big.code != 0 and "uses rank 16, above the rank declared for it (8)" in too_big.err
    assert not (case.folder / MARKER).exists()


def test_a_refused_lora_server_adds_nothing() -> None:
    chart = cdk8s.Chart(cdk8s.App(), "test", namespace=NS, disable_resource_name_hashes=True)
    VllmServer(chart, "base", VllmServerProps(name="base", model=QWEN, resources=GPU))
    before = chart_objects(chart)
    with pytest.raises(ConfigError, match=r"test/qwen: lora.runtime_updates=True"):
        VllmServer(chart, "qwen", VllmServerProps(name="qwen", model=QWEN, resources=GPU, lora=LoraOptions(runtime_updates=True)))
    assert chart_objects(chart) == before and chart.node.try_find_child("qwen") is None
    server = VllmServer(chart, "qwen", VllmServerProps(name="qwen", model=QWEN, resources=GPU, lora=three()))
    assert server.serving.extras["lora"].adapters == ("sql", "support", "legal")
    assert {"LoraCache", "LoraDownload1", "LoraDownload2"} <= {c.node.id for c in server.node.children}


def test_a_one_node_adapter_cache_is_refused_for_every_pod_that_mounts_it() -> None:
    rwo = LoraOptions(adapters=three().adapters, cache=ModelCache.pvc("5Gi", access_mode="ReadWriteOnce"))
    props = RayClusterProps(
        name="big", model=QWEN, engine=EngineArgs(tensor_parallel_size=2), resources=Resources(cpu="8", memory="64Gi"),
        nodes=2, accelerators_per_node=1, backend=MultiNodeBackend.LWS, lora=rwo,
    )  # fmt: skip
    with pytest.raises(ConfigError) as group:
        plan_cluster("t/big", NS, props)
    assert str(group.value).startswith(
        "t/big: lora.cache.access_mode='ReadWriteOnce' attaches to one node, but the 2 pods of a group run on 2 nodes and all read "
        "the adapters. Allowed: ReadWriteMany."
    )
    # the shared rule counts pods, not only replicas, even where no access mode is required of the workload
    use = CacheUse(ModelCache.pvc("5Gi", access_mode="ReadWriteOnce"), DownloadMode.JOB, None, "lora.", "the adapters")
    with pytest.raises(ConfigError, match=r"lora.cache.access_mode='ReadWriteOnce' attaches to one node, but 3 pods would mount it"):
        cache_access(Checker("t/x"), use, Readers(replicas=1, surges=False, pods_per_replica=3))
    with pytest.raises(ConfigError, match=r"lora.cache=.EmptyDirCache. is per pod.*Fix: use a shared cache\.$"):
        per_pod = CacheUse(ModelCache.empty_dir("1Gi"), DownloadMode.JOB, None, "lora.", per_pod_alternative=False)
        cache_access(Checker("t/x"), per_pod, Readers(replicas=1, surges=False))
