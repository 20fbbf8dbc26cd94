"""Operations against a real vLLM (the CPU build in .venv-vllm): JSON logs and the post-deploy load test.

One server for the module: a CPU VllmServer with ``json_logs=JsonLogs(level=DEBUG, log_requests=True)`` and an API
key from a Secret, its vLLM container run as rendered (tests/real_vllm.py says what is changed and why; the
logging ConfigMap's keys are written into the folder that stands for its volume, as the kubelet projects them).
Against it:

- requests by hand (with an X-Request-Id, a marker in the prompt, one without the key) and the LoadTest's Job;
- the Job's container run as synthesized: ``python3 -c <runner> timeout ... vllm bench serve ...`` with its env
  resolved like the kubelet does (the API key from the test's Secret). Replaced: the value of ``--base-url`` (the
  Service's cluster DNS name -> the local server), and paths on the pod's volumes (the tokenizer on its claim, the
  result folder and HOME on emptyDirs) -> local folders standing for those volumes, the rule tests/real_vllm.py
  applies to the server's model path and env. ``python3`` and ``vllm`` are the .venv-vllm interpreter and the
  harness's stand-in for the image's console script. The Job pushes to a Pushgateway stand-in on 127.0.0.1.

Then: every line vLLM printed after /health answered is a JSON object with time, level, logger, process and
message; access lines carry method, path, status and client; request lines carry the request id; the prompt never
appears (not even at DEBUG); the load test completed every request, printed its summary and pushed valid metrics.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cdk8s
import pytest

from tests.conftest import chart_objects
from tests.real_vllm import (
    VLLM_PYTHON,
    RunningServer,
    expand,
    http,
    localize,
    prepare,
    require_vllm,
    resolve_env,
    running,
    stop_group,
    write_standin,
)
from tests.test_load_test import Gateway, promtool, pushgateway
from vllm_constructs import (
    EngineArgs,
    Image,
    JsonLogs,
    LoadTest,
    LoadTestProps,
    ModelSource,
    Pushgateway,
    Resources,
    SecretKeyRef,
    VllmServer,
    VllmServerProps,
)

pytestmark = pytest.mark.vllm

NS = "llm"
SERVER = "tiny-ops"
SERVED = "tiny-chat"
API_KEY = f"test-key-{secrets.token_hex(8)}"
SECRETS = {"tiny-api": {"key": API_KEY}}
AUTH = {"Authorization": f"Bearer {API_KEY}"}
MARKER = f"SECRET-PROMPT-{secrets.token_hex(6)}"
REQUEST_ID = f"ops-test-{secrets.token_hex(4)}"
NUM_PROMPTS = 8
LOAD_TEST_BOUND_S = 900  # the test's own bound on the Job's command (its timeout is larger: pull and import allowances)


def build_objects(pushgateway_url: str) -> list[dict[str, Any]]:
    chart = cdk8s.Chart(cdk8s.App(), "ops", namespace=NS, disable_resource_name_hashes=True)
    server = VllmServer(
        chart,
        SERVER,
        VllmServerProps(
            name=SERVER,
            image=Image("public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo", tag="v0.33.0"),
            model=ModelSource.pvc("models", path="tiny"),
            resources=Resources(cpu="2", memory="4Gi"),
            engine=EngineArgs(served_model_name=SERVED, max_model_len=256, dtype="float32"),
            api_key=SecretKeyRef("tiny-api", "key"),
            env_config={"VLLM_CPU_KVCACHE_SPACE": 1},
            json_logs=JsonLogs(level="DEBUG", log_requests=True),
        ),
    )
    load = LoadTestProps(
        target=server,
        num_prompts=NUM_PROMPTS,
        input_len=32,
        output_len=8,
        max_concurrency=2,
        ready_timeout_seconds=120,
        timeout_seconds=300,
        pushgateway=Pushgateway(url=pushgateway_url),
    )
    LoadTest(chart, "load", load)
    return chart_objects(chart)


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    return found


def project_config_maps(pod: Mapping[str, Any], container_name: str, objects: list[dict[str, Any]], work: Path) -> list[str]:
    """Write each configMap volume's keys into the local folder that stands for the volume (as the kubelet projects
    them); the folders are the ones tests/real_vllm.localize made for the container's mounts."""
    container = next(c for c in pod["containers"] if c["name"] == container_name)
    mounted = {m["name"] for m in container.get("volumeMounts", [])}
    written = []
    for volume in pod.get("volumes", []):
        if "configMap" not in volume or volume["name"] not in mounted:
            continue
        data = one(objects, "ConfigMap", volume["configMap"]["name"])["data"]
        folder = work / "volumes" / volume["name"]
        for key, text in data.items():
            (folder / key).write_text(text)
            written.append(key)
    return written


# --- the load-test Job, localized ---------------------------------------------------------------------------


@dataclass
class LocalJob:
    argv: list[str]
    env: dict[str, str]
    replaced: dict[str, tuple[str, str]]


def localize_job(
    job: Mapping[str, Any], objects: list[dict[str, Any]], *, base_url: str, model_dir: Path, work: Path, bin_dir: Path
) -> LocalJob:
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = resolve_env(container, objects, SECRETS)
    argv = [expand(a, env) for a in [*container["command"], *container["args"]]]
    mounts = {m["mountPath"].rstrip("/"): work / "volumes" / m["name"] for m in container["volumeMounts"]}
    for local in mounts.values():
        local.mkdir(parents=True, exist_ok=True)
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v}
    for name, claim in claims.items():  # the tiny model stands for the model folder on the claim the server reads
        assert claim == "models", claim
        (work / "volumes" / name / "tiny").symlink_to(model_dir, target_is_directory=True)

    def local_path(path: str) -> str | None:
        for mount, local in mounts.items():
            if path == mount or path.startswith(mount + "/"):
                return str(local) + path[len(mount) :]
        return None

    replaced: dict[str, tuple[str, str]] = {}
    at = argv.index("--base-url") + 1
    replaced["--base-url"] = (argv[at], base_url)
    argv[at] = base_url
    for i, arg in enumerate(argv):
        local = local_path(arg) if i > 2 else None  # argv[2] is the runner's source
        if local is not None:
            replaced[argv[i - 1]] = (arg, local)
            argv[i] = local
    for name, value in list(env.items()):
        local = local_path(value)
        if local is not None:
            replaced[f"env {name}"] = (value, local)
            env[name] = local
    env["PATH"] = f"{bin_dir}:/usr/bin:/bin"
    return LocalJob(argv, env, replaced)


def job_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The image's `python3` (the interpreter with vLLM) and `vllm` console script, as stand-ins."""
    bin_dir = tmp_path_factory.mktemp("job-bin")
    write_standin(bin_dir, VLLM_PYTHON)
    (bin_dir / "python3").symlink_to(VLLM_PYTHON)
    return bin_dir


@dataclass
class Ran:
    code: int
    output: str
    seconds: float
    replaced: dict[str, tuple[str, str]]


def run_job(local: LocalJob, work: Path) -> Ran:
    began = time.monotonic()
    log = work / "job.log"
    with log.open("wb") as out:
        process = subprocess.Popen(local.argv, env=local.env, cwd=work, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        process.wait(timeout=LOAD_TEST_BOUND_S)
    except subprocess.TimeoutExpired:
        stop_group(process)
        pytest.fail(f"the load test did not finish within {LOAD_TEST_BOUND_S} s:\n{log.read_text(errors='replace')[-4000:]}")
    finally:
        if process.poll() is None:
            stop_group(process)
    return Ran(process.returncode, log.read_text(errors="replace"), time.monotonic() - began, local.replaced)


# --- the module's server and traffic ------------------------------------------------------------------------


@dataclass
class World:
    objects: list[dict[str, Any]]
    server: RunningServer
    work: Path
    log_offset: int
    gateway: Gateway
    projected: list[str]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tiny_model, vllm_bin = prepare(tmp_path_factory)
    with pushgateway() as gateway:
        objects = build_objects(gateway.url)
        pod = one(objects, "Deployment", SERVER)["spec"]["template"]["spec"]
        work = tmp_path_factory.mktemp("server")
        local = localize(pod, "vllm", objects, SECRETS, model_dir=tiny_model, work=work, bin_dir=vllm_bin)
        projected = project_config_maps(pod, "vllm", objects, work)
        with running(local, work) as server:
            yield World(objects, server, work, server.log.stat().st_size, gateway, projected)


@dataclass
class Traffic:
    completion: tuple[int, str]
    unauthorized: tuple[int, str]
    load_test: Ran
    lines: list[str]


def _log_lines(world: World) -> list[str]:
    with world.server.log.open("rb") as log:
        log.seek(world.log_offset)
        return log.read().decode(errors="replace").splitlines()


def _access_paths(lines: list[str]) -> list[tuple[str, int]]:
    out = []
    for line in lines:
        record = json.loads(line) if line.startswith("{") else {}
        if record.get("logger") == "uvicorn.access":
            out.append((record.get("path"), record.get("status")))
    return out


@pytest.fixture(scope="module")
def traffic(world: World, tmp_path_factory: pytest.TempPathFactory) -> Traffic:
    base = world.server.base
    request = {"model": SERVED, "prompt": f"{MARKER} The quick brown fox", "max_tokens": 4, "temperature": 0}
    completion = http("POST", f"{base}/v1/completions", request, headers={**AUTH, "X-Request-Id": REQUEST_ID}, timeout=120)
    unauthorized = http("POST", f"{base}/v1/completions", request, timeout=120)
    http("GET", f"{base}/metrics")
    http("GET", f"{base}/health")
    job = one(world.objects, "Job")
    work = tmp_path_factory.mktemp("load-test")
    tiny = world.server.local.replaced_args["model path"][1]
    local = localize_job(job, world.objects, base_url=base, model_dir=Path(tiny).resolve(), work=work, bin_dir=job_bin(tmp_path_factory))
    ran = run_job(local, work)
    # wait (bounded) until uvicorn logged the last requests: the access line is written after the response
    deadline = time.monotonic() + 30
    while sum(1 for p, _ in _access_paths(_log_lines(world)) if p == "/v1/completions") < 2 + NUM_PROMPTS + 1:
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    print(f"\nvLLM started in {world.server.started_in_s:.0f} s; the load-test Job's command ran in {ran.seconds:.0f} s")
    return Traffic(completion, unauthorized, ran, _log_lines(world))


# --- JSON logs ----------------------------------------------------------------------------------------------


def test_only_model_path_host_port_and_the_volumes_are_localized(world: World) -> None:
    local = world.server.local
    assert set(local.replaced_args) == {"model path", "--host", "--port"}
    assert set(world.projected) == {"logging.json", "vllm_json_log.py"}
    assert {"VLLM_LOGGING_CONFIG_PATH", "PYTHONPATH"} <= set(local.remapped_env)
    assert local.remapped_env["VLLM_LOGGING_CONFIG_PATH"][0] == "/etc/vllm-logging/logging.json"
    assert local.env["VLLM_LOGGING_LEVEL"] == "DEBUG" and local.env["VLLM_CONFIGURE_LOGGING"] == "1"
    assert "--enable-log-requests" in local.argv


def test_every_line_after_startup_is_json_with_the_common_fields(traffic: Traffic) -> None:
    assert len(traffic.lines) > 20
    for number, line in enumerate(traffic.lines):
        try:
            record = json.loads(line)
        except ValueError:
            pytest.fail(f"line {number} after startup is not JSON: {line[:300]!r}")
        assert isinstance(record, dict)
        assert {"time", "level", "logger", "process", "message"} <= set(record), record
        assert isinstance(record["process"], int) and record["time"].endswith("Z")
    processes = {json.loads(line).get("process_name") for line in traffic.lines}
    assert "APIServer" in processes and "EngineCore" in processes  # the engine's own process logs JSON too


def test_access_lines_carry_method_path_status_and_client(traffic: Traffic) -> None:
    assert traffic.completion[0] == 200 and traffic.unauthorized[0] == 401
    access = [json.loads(x) for x in traffic.lines if '"uvicorn.access"' in x]
    completions = [a for a in access if a["path"] == "/v1/completions"]
    assert completions[0]["method"] == "POST" and completions[0]["status"] == 200
    assert completions[0]["client"].startswith("127.0.0.1:")
    assert [a["status"] for a in completions[:2]] == [200, 401]
    assert not any(a["path"] in ("/health", "/metrics") for a in access)  # probes and scrapes are dropped


def test_request_lines_carry_the_request_id_and_sampling_and_never_the_prompt(traffic: Traffic) -> None:
    records = [json.loads(x) for x in traffic.lines]
    received = [r for r in records if r["message"].startswith("Received request")]
    mine = [r for r in received if REQUEST_ID in str(r.get("request_id", ""))]  # vLLM prefixes it ('cmpl-')
    assert mine, [r.get("request_id") for r in received]
    assert mine[0]["sampling"]["max_tokens"] == 4 and mine[0]["sampling"]["temperature"] == 0.0
    assert sum(1 for r in received if "-bench-" in str(r.get("request_id", ""))) >= NUM_PROMPTS
    assert any(r["level"] == "DEBUG" for r in records)  # the level reached vLLM, and still no prompt:
    assert not any(MARKER in line for line in traffic.lines)
    assert MARKER not in traffic.completion[1]


# --- the load test ------------------------------------------------------------------------------------------


def test_the_load_test_command_ran_as_synthesized(traffic: Traffic) -> None:
    replaced = traffic.load_test.replaced
    assert replaced["--base-url"][0] == f"http://{SERVER}.{NS}.svc:80"
    assert replaced["--tokenizer"][0] == "/tokenizer/tiny" and replaced["--result-dir"][0] == "/tmp/load-test"
    assert set(replaced) - {"--base-url", "--tokenizer", "--result-dir"} == {
        f"env {n}" for n in ("HOME", "XDG_CACHE_HOME", "HF_HOME", "VLLM_CACHE_ROOT", "VLLM_CONFIG_ROOT", "LOAD_TEST_RESULT_FILE")
    }


def test_the_load_test_completes_every_request_and_prints_the_summary(traffic: Traffic) -> None:
    ran = traffic.load_test
    assert ran.code == 0, ran.output[-4000:]
    assert "Serving Benchmark Result" in ran.output
    (line,) = [x for x in ran.output.splitlines() if x.startswith("load-test result: ")]
    result = json.loads(line.removeprefix("load-test result: "))
    assert (result["completed"], result["failed"]) == (NUM_PROMPTS, 0), result
    assert result["total_output_tokens"] == NUM_PROMPTS * 8
    assert result["request_throughput"] > 0


def test_the_load_test_pushed_valid_metrics(world: World, traffic: Traffic) -> None:
    assert traffic.load_test.code == 0, traffic.load_test.output[-2000:]
    ((method, path, _, body),) = world.gateway.received
    assert method == "PUT" and path == f"/metrics/job/vllm-load-test/namespace/{NS}/server/{SERVER}/load_test/{SERVER}-loadtest"
    text = body.decode()
    samples = {line.split()[0]: float(line.split()[1]) for line in text.splitlines() if not line.startswith("#")}
    assert samples["vllm_load_test_success"] == 1 and samples["vllm_load_test_completed"] == NUM_PROMPTS
    assert samples["vllm_load_test_mean_ttft_seconds"] > 0
    checked = subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True, text=True, timeout=60, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_load_tests_requests_were_logged_as_json_access_lines(traffic: Traffic) -> None:
    statuses = [s for p, s in _access_paths(traffic.lines) if p == "/v1/completions"]
    assert statuses.count(200) >= 1 + NUM_PROMPTS, statuses  # ours and the benchmark's (plus its ready check)


# --- vLLM's own request logger under our logging file ----------------------------------------------------------

REQUEST_LOGGER = r"""
import sys
from vllm.config.logging import LoggingConfig
from vllm.logger import configure_logging
from vllm.entrypoints.serve.utils.request_logger import RequestLogger
from vllm.sampling_params import SamplingParams

configure_logging(LoggingConfig())  # reads VLLM_LOGGING_CONFIG_PATH, as the server does at start
max_log_len = int(sys.argv[1]) if sys.argv[1] != "none" else None
RequestLogger(max_log_len=max_log_len).log_inputs(
    "cmpl-direct-1", sys.argv[2], [11, 12, 13], None, SamplingParams(max_tokens=7, temperature=0.5), None
)
"""


def run_request_logger(tmp_path: Path, logs: JsonLogs, max_log_len: str, prompt: str) -> list[dict[str, Any]]:
    """vLLM's RequestLogger.log_inputs (the code --enable-log-requests runs per request), configured from the logging
    ConfigMap's files through vLLM's own loader (VLLM_LOGGING_CONFIG_PATH), in the .venv-vllm interpreter."""
    chart = cdk8s.Chart(cdk8s.App(), "direct", namespace=NS, disable_resource_name_hashes=True)
    props = VllmServerProps(
        name="direct", model=ModelSource.pvc("models", path="tiny"), resources=Resources(cpu="1", memory="1Gi"), json_logs=logs
    )
    VllmServer(chart, "direct", props)
    folder = tmp_path / "logging"
    folder.mkdir(parents=True)
    for key, text in one(chart_objects(chart), "ConfigMap", "direct-logging")["data"].items():
        (folder / key).write_text(text)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": str(folder),
        "VLLM_LOGGING_CONFIG_PATH": str(folder / "logging.json"),
        "VLLM_LOGGING_LEVEL": str(logs.level),
    }
    done = subprocess.run(
        [str(VLLM_PYTHON), "-c", REQUEST_LOGGER, max_log_len, prompt], capture_output=True, text=True, timeout=300, env=env, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_vllms_request_logger_never_logs_the_prompt_unless_asked(tmp_path: Path) -> None:
    require_vllm()
    prompt = f"{MARKER} and more words of the prompt"
    hidden = run_request_logger(tmp_path / "hidden", JsonLogs(level="DEBUG", log_requests=True), "none", prompt)
    received = [r for r in hidden if r["message"].startswith("Received request")]
    assert [r["request_id"] for r in received] == ["cmpl-direct-1"]
    assert received[0]["sampling"]["max_tokens"] == 7 and received[0]["sampling"]["temperature"] == 0.5
    assert not any(MARKER in json.dumps(r) for r in hidden)
    shown = run_request_logger(
        tmp_path / "shown", JsonLogs(level="DEBUG", log_requests=True, log_prompts=True, max_log_len=20), "20", prompt
    )
    details = [r for r in shown if r["message"].startswith("Request cmpl-direct-1 details")]
    assert len(details) == 1 and repr(prompt[:20]) in details[0]["message"] and prompt[:21] not in details[0]["message"]
    assert details[0]["request_id"] == "cmpl-direct-1"
