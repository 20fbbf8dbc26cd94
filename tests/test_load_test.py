"""LoadTest: the Job it plans from a serving workload's facts (target, sizes, bounds, API key, tokenizer, NetworkPolicy
label), strict validation of the Job, ConfigError for bad input, and the Job's runner program (taken from the
synthesized Job) run for real with a stand-in benchmark: result line, exit codes, and the push to a local HTTP server
checked by promtool as Prometheus text format.

The Job's command against a real vLLM is in tests/test_real_vllm_ops.py.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import cdk8s
import pytest
from hypothesis import given
from hypothesis import strategies as st

import vllm_constructs as vc
from tests.api_rules import api_rule_errors
from tests.conftest import IN_CI, chart_objects
from tests.schemas import K8S_VERSIONS, k8s_errors
from tests.test_adversarial import HOSTILE, SETTINGS
from vllm_constructs.core.cluster import plan_cluster
from vllm_constructs.core.deployment import GpuDeploymentProps, plan_gpu_deployment
from vllm_constructs.core.load_test import (
    CLIENT_START_SECONDS,
    KILL_AFTER_SECONDS,
    PULL_ALLOWANCE_SECONDS,
    LoadTestApi,
    LoadTestProps,
    Pushgateway,
    Tokenizer,
    plan_load_test,
)
from vllm_constructs.core.server import plan_server
from vllm_constructs.errors import ConfigError

NS = "llm"


def server(**props: Any) -> Any:
    base = {"name": "tiny", "model": vc.ModelSource.pvc("models", path="tiny"), "resources": vc.Resources(cpu="2", memory="4Gi")}
    return plan_server("c/tiny", NS, vc.VllmServerProps(**{**base, **props}))


def job_of(props: LoadTestProps, namespace: str = NS) -> dict[str, Any]:
    (job,) = plan_load_test("c/load", namespace, props).objects
    return job.manifest(namespace)


def container_of(job: dict[str, Any]) -> dict[str, Any]:
    (container,) = job["spec"]["template"]["spec"]["containers"]
    return dict(container)


def flag(args: list[str], name: str) -> str:
    assert args.count(name) == 1, (name, args)
    return args[args.index(name) + 1]


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


# --- the Job --------------------------------------------------------------------------------------------------


def test_the_job_runs_vllm_bench_against_the_servers_service_bounded_in_requests_and_time() -> None:
    props = LoadTestProps(target=server(), num_prompts=50, input_len=256, output_len=64, max_concurrency=4, timeout_seconds=600)
    job = job_of(props)
    container = container_of(job)
    args = container["args"]
    assert container["command"][:2] == ["python3", "-c"]
    assert args[:4] == ["timeout", "--signal=INT", f"--kill-after={KILL_AFTER_SECONDS}", str(CLIENT_START_SECONDS + 1800 + 600)]
    assert args[4:7] == ["vllm", "bench", "serve"]
    assert flag(args, "--base-url") == "http://tiny.llm.svc:80"
    assert flag(args, "--backend") == "openai" and flag(args, "--endpoint") == "/v1/completions"
    assert flag(args, "--model") == "tiny"
    assert flag(args, "--dataset-name") == "random"
    assert (flag(args, "--random-input-len"), flag(args, "--random-output-len")) == ("256", "64")
    assert (flag(args, "--num-prompts"), flag(args, "--max-concurrency")) == ("50", "4")
    assert flag(args, "--ready-check-timeout-sec") == "1800"  # the server's startup budget
    assert "--request-rate" not in args
    assert "--save-result" in args and flag(args, "--result-dir") == "/tmp/load-test"
    spec = job["spec"]
    assert spec["backoffLimit"] == 0
    assert spec["activeDeadlineSeconds"] == CLIENT_START_SECONDS + 1800 + 600 + KILL_AFTER_SECONDS + PULL_ALLOWANCE_SECONDS
    assert "ttlSecondsAfterFinished" not in spec
    assert env_of(container)["LOAD_TEST_NUM_PROMPTS"] == "50"


def test_the_pod_is_hardened_like_the_servers() -> None:
    job = job_of(LoadTestProps(target=server()))
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["automountServiceAccountToken"] is False and pod["enableServiceLinks"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    container = container_of(job)
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["capabilities"] == {"drop": ["ALL"]}
    assert security["allowPrivilegeEscalation"] is False
    assert container["resources"]["requests"] == container["resources"]["limits"] == {"cpu": "1", "memory": "2Gi"}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts["/tmp"]] == {"name": "tmp", "emptyDir": {}}
    home = env_of(container)["HOME"]
    assert volumes[mounts[home]]["emptyDir"] == {}


def test_the_labels_identify_the_load_test_and_never_match_the_servers_selector() -> None:
    target = server()
    job = job_of(LoadTestProps(target=target, pod_labels={"llm-client": "true"}))
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/component"] == "load-test" and labels["app.kubernetes.io/instance"] == "tiny"
    assert labels["llm-client"] == "true" and job["metadata"]["labels"] == labels
    assert not all(labels.get(k) == v for k, v in target.serving.selector_labels.items())


def test_the_api_key_of_the_server_is_sent_from_its_secret() -> None:
    with_key = env_of(container_of(job_of(LoadTestProps(target=server(api_key=vc.SecretKeyRef("llm-api", "token"))))))
    assert with_key["OPENAI_API_KEY"] == {"secretKeyRef": {"name": "llm-api", "key": "token"}}
    assert "OPENAI_API_KEY" not in env_of(container_of(job_of(LoadTestProps(target=server()))))


def test_the_tokenizer_of_a_pvc_model_is_read_from_its_claim_read_only() -> None:
    job = job_of(LoadTestProps(target=server()))
    container = container_of(job)
    assert flag(container["args"], "--tokenizer") == "/tokenizer/tiny"
    assert {"name": "tokenizer", "mountPath": "/tokenizer", "readOnly": True} in container["volumeMounts"]
    volume = next(v for v in job["spec"]["template"]["spec"]["volumes"] if v["name"] == "tokenizer")
    assert volume["persistentVolumeClaim"] == {"claimName": "models", "readOnly": True}
    assert env_of(container)["HF_HUB_OFFLINE"] == "1"


def test_the_tokenizer_of_a_hub_model_comes_from_the_hub_with_the_servers_token_as_a_file() -> None:
    target = server(model=vc.ModelSource.huggingface("org/llama", revision="main"), hf_token=vc.SecretKeyRef("hf", "token"))
    job = job_of(LoadTestProps(target=target))
    container = container_of(job)
    assert flag(container["args"], "--tokenizer") == "org/llama"
    env = env_of(container)
    assert env["HF_TOKEN_PATH"] == "/var/run/secrets/huggingface/token" and "HF_TOKEN" not in env
    secret = next(v for v in job["spec"]["template"]["spec"]["volumes"] if v["name"] == "hf-token")["secret"]
    assert secret["secretName"] == "hf" and secret["items"] == [{"key": "token", "path": "token"}]
    assert "HF_HUB_OFFLINE" not in env


def test_an_explicit_tokenizer_wins() -> None:
    target = server(model=vc.ModelSource.image("/models/m"))
    assert flag(container_of(job_of(LoadTestProps(target=target, tokenizer=Tokenizer.hub("org/tok"))))["args"], "--tokenizer") == "org/tok"
    claim = Tokenizer.claim("tokenizers", path="llama/v3")
    assert flag(container_of(job_of(LoadTestProps(target=target, tokenizer=claim)))["args"], "--tokenizer") == "/tokenizer/llama/v3"


def test_a_model_without_a_known_tokenizer_needs_one() -> None:
    for model in (vc.ModelSource.image("/models/m"), vc.ModelSource.s3("models/m", bucket="model-store", revision="r1")):
        with pytest.raises(ConfigError) as info:
            plan_load_test("c/load", NS, LoadTestProps(target=server(model=model)))
        assert info.value.problems[0].field == "tokenizer"
        assert "Tokenizer.hub" in info.value.problems[0].fix


def test_chat_rate_seed_and_extra_args_are_rendered() -> None:
    props = LoadTestProps(target=server(), api="openai-chat", request_rate=2.5, seed=7, extra_args=("--temperature", "0"))
    args = container_of(job_of(props))["args"]
    assert flag(args, "--backend") == "openai-chat" and flag(args, "--endpoint") == "/v1/chat/completions"
    assert (flag(args, "--request-rate"), flag(args, "--seed")) == ("2.5", "7")
    assert args[-2:] == ["--temperature", "0"]
    assert LoadTestApi.CHAT.endpoint == "/v1/chat/completions"


def test_the_pushgateway_gets_the_url_and_a_grouping_key_per_load_test() -> None:
    props = LoadTestProps(target=server(), pushgateway=Pushgateway(url="http://pushgateway.monitoring:9091"), name="smoke")
    env = env_of(container_of(job_of(props)))
    assert env["PUSHGATEWAY_URL"] == "http://pushgateway.monitoring:9091"
    assert json.loads(env["PUSHGATEWAY_GROUPING"]) == {"job": "vllm-load-test", "namespace": "llm", "server": "tiny", "load_test": "smoke"}
    assert "PUSHGATEWAY_URL" not in env_of(container_of(job_of(LoadTestProps(target=server()))))


def test_the_name_is_content_addressed() -> None:
    target = server()
    first, same = job_of(LoadTestProps(target=target)), job_of(LoadTestProps(target=target))
    changed = job_of(LoadTestProps(target=target, num_prompts=201))
    assert first["metadata"]["name"] == same["metadata"]["name"]
    assert first["metadata"]["name"] != changed["metadata"]["name"]
    assert first["metadata"]["name"].startswith("tiny-loadtest-") and len(first["metadata"]["name"]) == len("tiny-loadtest-") + 8
    assert job_of(LoadTestProps(target=target, name="nightly"))["metadata"]["name"].startswith("nightly-")


def test_ttl_only_when_asked() -> None:
    assert job_of(LoadTestProps(target=server(), ttl_seconds_after_finished=3600))["spec"]["ttlSecondsAfterFinished"] == 3600


@pytest.mark.parametrize("backend", ["kuberay", "lws", "lws-ray-free"])
def test_a_multi_node_server_is_loaded_through_its_service(backend: str) -> None:
    props = vc.RayClusterProps(
        name="big",
        model=vc.ModelSource.pvc("models", path="big"),
        resources=vc.Resources(cpu="8", memory="64Gi"),
        engine=vc.EngineArgs(tensor_parallel_size=8, pipeline_parallel_size=2),
        backend=backend,
        service_port=8080,
    )
    args = container_of(job_of(LoadTestProps(target=plan_cluster("c/big", NS, props))))["args"]
    assert flag(args, "--base-url") == "http://big.llm.svc:8080"
    assert flag(args, "--model") == "big"


def test_the_constructs_work_with_the_construct_targets(new_chart: Any) -> None:
    chart = new_chart(NS)
    target = vc.VllmServer(
        chart,
        "tiny",
        vc.VllmServerProps(name="tiny", model=vc.ModelSource.pvc("m", path="t"), resources=vc.Resources(cpu="1", memory="1Gi")),
    )
    load = vc.LoadTest(chart, "load", LoadTestProps(target=target))
    jobs = [o for o in chart_objects(chart) if o["kind"] == "Job"]
    assert [j["metadata"]["name"] for j in jobs] == [load.job_name]
    assert load.base_url == "http://tiny.llm.svc:80" and cdk8s.ApiObject.of(load) is load.job
    assert load.deadline_seconds == jobs[0]["spec"]["activeDeadlineSeconds"]
    with pytest.raises(ConfigError):  # the same test twice is the same Job
        vc.LoadTest(chart, "load-again", LoadTestProps(target=target))
    vc.LoadTest(chart, "other", LoadTestProps(target=target, num_prompts=10))


def test_every_object_validates_strictly() -> None:
    targets = [
        server(api_key=vc.SecretKeyRef("a", "k")),
        server(model=vc.ModelSource.huggingface("o/m", revision="main"), hf_token=vc.SecretKeyRef("h", "t")),
    ]
    for target in targets:
        props = LoadTestProps(
            target=target, pushgateway=Pushgateway(url="http://pg:9091"), node_selector={"pool": "cpu"}, ttl_seconds_after_finished=1
        )
        job = job_of(props)
        assert api_rule_errors(job) == []
        for version in K8S_VERSIONS:
            assert k8s_errors(job, version) == [], version


# --- NetworkPolicy --------------------------------------------------------------------------------------------


def test_a_server_network_policy_that_admits_only_labelled_pods_needs_the_label() -> None:
    target = server(network_policy=vc.ServerNetworkPolicy(from_pods={"llm-client": "true"}))
    with pytest.raises(ConfigError) as info:
        plan_load_test("c/load", NS, LoadTestProps(target=target))
    assert info.value.problems[0].field == "pod_labels" and "llm-client" in info.value.problems[0].fix
    job = job_of(LoadTestProps(target=target, pod_labels={"llm-client": "true"}))
    assert job["spec"]["template"]["metadata"]["labels"]["llm-client"] == "true"


def test_a_server_network_policy_of_its_own_namespace_refuses_a_load_test_elsewhere() -> None:
    target = server(network_policy=vc.ServerNetworkPolicy())
    with pytest.raises(ConfigError) as info:
        plan_load_test("c/load", "elsewhere", LoadTestProps(target=target))
    assert info.value.problems[0].field == "target"
    plan_load_test("c/load", NS, LoadTestProps(target=target))
    other = server(network_policy=vc.ServerNetworkPolicy(from_namespaces={"team": "ml"}))
    plan_load_test("c/load", "elsewhere", LoadTestProps(target=other))


# --- refusals -------------------------------------------------------------------------------------------------


def test_a_workload_that_serves_no_vllm_model_is_refused() -> None:
    gpu = plan_gpu_deployment(
        "c/gd", NS, GpuDeploymentProps(name="gd", image=vc.Image("x/y", tag="1"), resources=vc.Resources(cpu="1", memory="1Gi"))
    )
    with pytest.raises(ConfigError) as info:
        plan_load_test("c/load", NS, LoadTestProps(target=gpu))
    assert info.value.problems[0].field == "target"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"target": "tiny"}, "target"),
        ({"target": None}, "target"),
        ({"num_prompts": 0}, "num_prompts"),
        ({"num_prompts": 100_001}, "num_prompts"),
        ({"num_prompts": "10"}, "num_prompts"),
        ({"num_prompts": True}, "num_prompts"),
        ({"input_len": 0}, "input_len"),
        ({"output_len": 1.0}, "output_len"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"request_rate": 0.0}, "request_rate"),
        ({"request_rate": float("inf")}, "request_rate"),
        ({"timeout_seconds": 5}, "timeout_seconds"),
        ({"ready_timeout_seconds": -1}, "ready_timeout_seconds"),
        ({"max_failed_requests": 200}, "max_failed_requests"),
        ({"api": "vllm"}, "api"),
        ({"tokenizer": "org/tok"}, "tokenizer"),
        ({"pushgateway": "http://pg:9091"}, "pushgateway"),
        ({"resources": vc.Resources(cpu="1", memory="1Gi", cpu_limit="2")}, "resources.cpu_limit"),
        ({"resources": vc.Resources(cpu="1", memory="1Gi", memory_limit="2Gi")}, "resources.memory_limit"),
        ({"name": "x" * 55}, "name"),
        ({"name": "Bad_Name"}, "name"),
        ({"pod_labels": {"app.kubernetes.io/component": "x"}}, "pod_labels['app.kubernetes.io/component']"),
        ({"extra_args": ("--num-prompts", "5")}, "extra_args"),
        ({"extra_args": ("--base-url=http://x",)}, "extra_args"),
        ({"extra_args": ("--temperature 0",)}, "extra_args"),
        ({"extra_args": "--temperature"}, "extra_args"),
        ({"ttl_seconds_after_finished": -1}, "ttl_seconds_after_finished"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_props_are_refused(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        LoadTestProps(**{"target": server(), **kwargs})
    assert info.value.path == "LoadTestProps"
    assert info.value.problems[0].field == field


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Pushgateway(url="pushgateway:9091"), "url"),
        (lambda: Pushgateway(url="http://pg:9091", job=""), "job"),
        (lambda: Tokenizer.hub("not-a-repo"), "repo_id"),
        (lambda: Tokenizer.claim("Bad Claim"), "claim_name"),
        (lambda: Tokenizer.claim("c", path="../etc"), "path"),
        (lambda: Tokenizer("x"), "(kind)"),
    ],
)
def test_bad_values_are_refused(make: Any, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        make()
    assert info.value.problems[0].field == field


def test_the_construct_refuses_other_props(new_chart: Any) -> None:
    chart = new_chart(NS)
    with pytest.raises(ConfigError) as info:
        vc.LoadTest(chart, "load", {"target": "tiny"})  # type: ignore[arg-type]
    assert info.value.problems[0].field == "props"


LOAD_FIELDS = [
    f.name for f in dataclasses.fields(LoadTestProps) if f.name not in ("target", "pushgateway", "image", "resources", "security")
]


@SETTINGS
@given(data=st.data())
def test_hostile_values_are_refused_or_render_a_valid_job(data: st.DataObject) -> None:
    target = server()
    for name in LOAD_FIELDS:
        value = data.draw(HOSTILE, label=name)
        try:
            props = LoadTestProps(target=target, **{name: value})
            job = job_of(props)
        except ConfigError as err:
            assert err.problems and "Traceback" not in str(err)
            continue
        assert api_rule_errors(job) == []
        for version in K8S_VERSIONS:
            assert k8s_errors(job, version) == []


# --- the runner, for real, with a stand-in benchmark ----------------------------------------------------------

FAKE_BENCH = r"""
import json, os, sys
completed, failed, code = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
if completed == -2:  # a result without counts
    completed = "many"
if code == 0 and completed != -1:
    with open(os.environ["LOAD_TEST_RESULT_FILE"], "w") as f:
        json.dump({"date": "x", "completed": completed, "failed": failed, "request_throughput": 2.5, "mean_ttft_ms": 12.0,
                   "request_goodput": None, "request_rate": "inf", "ok": True, "latencies": [0.1],
                   "max_output_tokens_per_s": 64.0}, f)
print("fake bench ran, no newline at the end", end="")
sys.exit(code)
"""


@dataclass
class Gateway:
    url: str
    received: list[tuple[str, str, str, bytes]] = field(default_factory=list)  # method, path, content type, body


@contextlib.contextmanager
def pushgateway() -> Iterator[Gateway]:
    """A tiny Pushgateway stand-in on 127.0.0.1 that records every request and answers 200."""
    gateway = Gateway("")

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            gateway.received.append(("PUT", self.path, self.headers.get("Content-Type", ""), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    gateway.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if IN_CI:
            pytest.fail("promtool is missing: run scripts/test-deps.sh (Debian package 'prometheus')")
        pytest.skip("promtool is not installed (Debian package 'prometheus'; scripts/test-deps.sh installs it)")
    return path


def run_runner(tmp_path: Path, command: list[str], push_url: str | None = None, max_failed: int = 0) -> subprocess.CompletedProcess[str]:
    """The runner exactly as the Job's container command carries it, with the test's command in place of the benchmark."""
    props = LoadTestProps(
        target=server(), num_prompts=10, max_failed_requests=max_failed, pushgateway=Pushgateway(url=push_url) if push_url else None
    )
    container = container_of(job_of(props))
    runner = container["command"]
    assert runner[:2] == ["python3", "-c"]
    env = {k: v for k, v in env_of(container).items() if isinstance(v, str)}
    env["LOAD_TEST_RESULT_FILE"] = str(tmp_path / "result.json")
    env["PATH"] = "/usr/bin:/bin"
    return subprocess.run([sys.executable, "-c", runner[2], *command], capture_output=True, text=True, timeout=60, env=env, check=False)


def result_line(stdout: str) -> dict[str, Any]:
    (line,) = [x for x in stdout.splitlines() if x.startswith("load-test result: ")]
    return dict(json.loads(line.removeprefix("load-test result: ")))


def test_the_runner_prints_the_result_and_exits_zero(tmp_path: Path) -> None:
    done = run_runner(tmp_path, [sys.executable, "-c", FAKE_BENCH, "10", "0", "0"])
    assert done.returncode == 0, done.stderr
    assert "fake bench ran" in done.stdout
    result = result_line(done.stdout)
    assert result["completed"] == 10 and result["request_throughput"] == 2.5 and result["mean_ttft_ms"] == 12.0
    assert "ok" not in result and "request_goodput" not in result and "latencies" not in result
    assert result["verdict"] == "10 of 10 requests completed, 0 failed"


@pytest.mark.parametrize(
    ("bench", "max_failed", "code", "verdict"),
    [
        (["10", "0", "7"], 0, 7, "exited with 7"),
        (["8", "2", "0"], 0, 3, "8 of 10 requests completed, 2 failed"),
        (["8", "2", "0"], 2, 0, "8 of 10 requests completed, 2 failed"),
        (["-1", "0", "0"], 0, 4, "no result"),
        (["-2", "0", "0"], 0, 4, "no request counts"),
    ],
)
def test_the_runner_fails_the_job_when_the_benchmark_fails(
    tmp_path: Path, bench: list[str], max_failed: int, code: int, verdict: str
) -> None:
    done = run_runner(tmp_path, [sys.executable, "-c", FAKE_BENCH, *bench], max_failed=max_failed)
    assert done.returncode == code, (done.stdout, done.stderr)
    assert verdict in result_line(done.stdout)["verdict"]


def test_the_timeout_around_the_command_ends_a_hanging_benchmark(tmp_path: Path) -> None:
    done = run_runner(tmp_path, ["timeout", "--signal=INT", "--kill-after=5", "1", sys.executable, "-c", "import time; time.sleep(60)"])
    assert done.returncode == 124
    assert "(timed out)" in result_line(done.stdout)["verdict"]


def test_the_runner_pushes_the_numbers_in_prometheus_text_format(tmp_path: Path) -> None:
    with pushgateway() as gateway:
        done = run_runner(tmp_path, [sys.executable, "-c", FAKE_BENCH, "10", "0", "0"], push_url=gateway.url)
    assert done.returncode == 0, done.stderr
    ((method, path, content_type, body),) = gateway.received
    assert method == "PUT"
    assert path == "/metrics/job/vllm-load-test/namespace/llm/server/tiny/load_test/tiny-loadtest"
    assert content_type.startswith("text/plain; version=0.0.4")
    text = body.decode()
    samples = {line.split()[0]: float(line.split()[1]) for line in text.splitlines() if not line.startswith("#")}
    assert samples["vllm_load_test_success"] == 1 and samples["vllm_load_test_completed"] == 10
    assert samples["vllm_load_test_request_throughput"] == 2.5
    assert samples["vllm_load_test_mean_ttft_seconds"] == 0.012  # milliseconds in the result, seconds in Prometheus
    assert samples["vllm_load_test_max_output_tokens_per_second"] == 64.0
    checked = subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True, text=True, timeout=60, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_failed_run_is_pushed_as_unsuccessful(tmp_path: Path) -> None:
    with pushgateway() as gateway:
        done = run_runner(tmp_path, [sys.executable, "-c", FAKE_BENCH, "8", "2", "0"], push_url=gateway.url)
    assert done.returncode == 3
    body = gateway.received[0][3].decode()
    assert "vllm_load_test_success 0" in body and "vllm_load_test_failed 2" in body


def test_a_failed_push_fails_the_job(tmp_path: Path) -> None:
    with pushgateway() as gateway:
        url = gateway.url
    done = run_runner(tmp_path, [sys.executable, "-c", FAKE_BENCH, "10", "0", "0"], push_url=url)  # the gateway is gone
    assert done.returncode == 5
    assert "push to" in done.stderr
