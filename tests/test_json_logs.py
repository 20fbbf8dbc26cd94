"""JSON logs (JsonLogs on every serving workload): the ConfigMap, volume, env, flags and roll annotation each server
renders; strict validation of every object; ConfigError for every combination that cannot work; and the shipped
logging file plus formatter module, applied by Python's own dictConfig in a fresh interpreter, turning uvicorn's and
vLLM's records (same logger names, templates and arguments as vLLM 0.32 emits them) into JSON lines.

The same files run under a real vLLM in tests/test_real_vllm_ops.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import cdk8s
import pytest
from hypothesis import given
from hypothesis import strategies as st

import vllm_constructs as vc
from tests.api_rules import api_rule_errors
from tests.conftest import chart_objects
from tests.schemas import K8S_VERSIONS, crd_errors, is_builtin, k8s_errors
from tests.test_adversarial import HOSTILE, SETTINGS
from vllm_constructs.core.cluster import plan_cluster
from vllm_constructs.core.logs import FORMATTER_MODULE, HASH_ANNOTATION, LOGGING_MOUNT, JsonLogs, LogLevel
from vllm_constructs.core.server import plan_server
from vllm_constructs.errors import ConfigError

MODEL = vc.ModelSource.pvc("models", path="tiny")
RESOURCES = vc.Resources(cpu="2", memory="4Gi")


def server_props(**props: Any) -> vc.VllmServerProps:
    return vc.VllmServerProps(name="tiny", model=MODEL, resources=RESOURCES, **props)


def ray_props(backend: str, extra_args: tuple[str, ...] = (), **props: Any) -> vc.RayClusterProps:
    return vc.RayClusterProps(
        name="big",
        model=MODEL,
        resources=vc.Resources(cpu="8", memory="64Gi"),
        engine=vc.EngineArgs(tensor_parallel_size=8, pipeline_parallel_size=2, extra_args=extra_args),
        backend=backend,
        **props,
    )


def manifests(props: vc.VllmServerProps) -> list[dict[str, Any]]:
    return [o.manifest("llm") for o in plan_server("c/tiny", "llm", props).objects]


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    return found


def vllm_container(deployment: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "vllm")


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


# --- what a server renders ------------------------------------------------------------------------------------


def test_a_server_with_json_logs_mounts_the_logging_config_map_and_points_vllm_at_it() -> None:
    objects = manifests(server_props(json_logs=JsonLogs(log_requests=True)))
    cm = find(objects, "ConfigMap", "tiny-logging")
    assert sorted(cm["data"]) == sorted(["logging.json", f"{FORMATTER_MODULE}.py"])
    config = json.loads(cm["data"]["logging.json"])
    assert config["formatters"]["default"]["()"] == f"{FORMATTER_MODULE}.JsonFormatter"
    assert config["disable_existing_loggers"] is False
    deployment = find(objects, "Deployment")
    container = vllm_container(deployment)
    env = env_of(container)
    assert env["VLLM_LOGGING_CONFIG_PATH"] == f"{LOGGING_MOUNT}/logging.json"
    assert env["PYTHONPATH"] == LOGGING_MOUNT
    assert env["VLLM_CONFIGURE_LOGGING"] == "1"
    assert env["VLLM_LOGGING_LEVEL"] == "INFO"
    assert "--enable-log-requests" in container["args"]
    assert {"name": "logging", "mountPath": LOGGING_MOUNT, "readOnly": True} in container["volumeMounts"]
    volume = next(v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == "logging")
    assert volume == {"name": "logging", "configMap": {"name": "tiny-logging", "defaultMode": 0o444}}
    assert HASH_ANNOTATION in deployment["spec"]["template"]["metadata"]["annotations"]


def test_without_json_logs_nothing_changes() -> None:
    objects = manifests(server_props())
    assert [o for o in objects if o["kind"] == "ConfigMap"] == []
    container = vllm_container(find(objects, "Deployment"))
    assert not {"VLLM_LOGGING_CONFIG_PATH", "PYTHONPATH", "VLLM_CONFIGURE_LOGGING"} & set(env_of(container))
    assert "--enable-log-requests" not in container["args"]
    assert "annotations" not in find(objects, "Deployment")["spec"]["template"]["metadata"]


def test_the_pods_roll_exactly_when_the_logging_config_changes() -> None:
    def pod_hash(logs: JsonLogs) -> str:
        deployment = find(manifests(server_props(json_logs=logs)), "Deployment")
        return str(deployment["spec"]["template"]["metadata"]["annotations"][HASH_ANNOTATION])

    assert pod_hash(JsonLogs()) == pod_hash(JsonLogs())
    assert pod_hash(JsonLogs()) != pod_hash(JsonLogs(level="WARNING"))
    assert pod_hash(JsonLogs()) != pod_hash(JsonLogs(exclude_paths=("/health",)))
    assert pod_hash(JsonLogs()) != pod_hash(JsonLogs(request_fields=False))


def test_env_config_and_json_logs_roll_the_pods_together() -> None:
    deployment = find(manifests(server_props(json_logs=JsonLogs(), env_config={"VLLM_CPU_KVCACHE_SPACE": 1})), "Deployment")
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert set(annotations) == {HASH_ANNOTATION, "vllm-constructs.io/config-hash"}


def test_prompts_lengths_and_levels_reach_vllm_as_flags_and_env() -> None:
    logs = JsonLogs(level="DEBUG", log_requests=True, log_prompts=True, max_log_len=64)
    objects = manifests(server_props(json_logs=logs))
    container = vllm_container(find(objects, "Deployment"))
    args = container["args"]
    assert args[args.index("--max-log-len") + 1] == "64"
    assert env_of(container)["VLLM_LOGGING_LEVEL"] == "DEBUG"
    config = json.loads(find(objects, "ConfigMap")["data"]["logging.json"])
    assert "no_prompts" not in config["filters"]
    assert config["loggers"]["vllm"]["level"] == "DEBUG"
    assert (
        "no_prompts"
        in json.loads(find(manifests(server_props(json_logs=JsonLogs(level="DEBUG"))), "ConfigMap")["data"]["logging.json"])["filters"]
    )


def test_the_default_excluded_access_paths_are_the_probe_path_and_metrics() -> None:
    health = vc.HealthChecks(path="/ready")
    config = json.loads(find(manifests(server_props(json_logs=JsonLogs(), health=health)), "ConfigMap")["data"]["logging.json"])
    assert config["filters"]["access_paths"]["exclude"] == ["/ready", "/metrics"]


def test_the_formatter_module_in_the_config_map_is_the_shipped_file() -> None:
    shipped = Path(vc.__file__).parent / "scripts" / f"{FORMATTER_MODULE}.py"
    cm = find(manifests(server_props(json_logs=JsonLogs())), "ConfigMap")
    assert cm["data"][f"{FORMATTER_MODULE}.py"] == shipped.read_text()


@pytest.mark.parametrize("backend", ["kuberay", "lws", "lws-ray-free"])
def test_a_multi_node_server_logs_json_from_its_serving_pod_only(backend: str) -> None:
    plan = plan_cluster("c/big", "llm", ray_props(backend, json_logs=JsonLogs(log_requests=True)))
    objects = [o.manifest("llm") for o in plan.objects]
    assert find(objects, "ConfigMap", "big-logging")
    workload = next(o for o in objects if o["kind"] in ("RayCluster", "LeaderWorkerSet"))
    if backend == "kuberay":
        leader, worker = workload["spec"]["headGroupSpec"]["template"], workload["spec"]["workerGroupSpecs"][0]["template"]
    else:
        template = workload["spec"]["leaderWorkerTemplate"]
        leader, worker = template["leaderTemplate"], template["workerTemplate"]
    lead = leader["spec"]["containers"][0]
    assert env_of(lead)["VLLM_LOGGING_CONFIG_PATH"] == f"{LOGGING_MOUNT}/logging.json"
    assert "--enable-log-requests" in lead["args"]
    assert any(m["mountPath"] == LOGGING_MOUNT for m in lead["volumeMounts"])
    assert HASH_ANNOTATION in leader["metadata"]["annotations"]
    work = worker["spec"]["containers"][0]
    assert "VLLM_LOGGING_CONFIG_PATH" not in env_of(work)
    assert "--enable-log-requests" not in work.get("args", [])
    assert HASH_ANNOTATION not in worker["metadata"].get("annotations", {})


@pytest.mark.parametrize("backend", ["kuberay", "lws"])
def test_without_json_logs_a_multi_node_template_is_unchanged(backend: str) -> None:
    workload = next(o for o in plan_cluster("c/big", "llm", ray_props(backend)).objects if o.id == "Resource")
    spec = workload.body["spec"]
    leader = spec["headGroupSpec"]["template"] if backend == "kuberay" else spec["leaderWorkerTemplate"]["leaderTemplate"]
    assert "annotations" not in leader["metadata"]
    assert not any(o.kind == "ConfigMap" for o in plan_cluster("c/big", "llm", ray_props(backend)).objects)


def test_every_object_validates_strictly(crd_dir: Path) -> None:
    plans = [
        plan_server("c/tiny", "llm", server_props(json_logs=JsonLogs(log_requests=True, exclude_paths=("/health", "/v1/models")))),
        plan_cluster("c/big", "llm", ray_props("lws", json_logs=JsonLogs(level="DEBUG"))),
        plan_cluster("c/big", "llm", ray_props("kuberay", json_logs=JsonLogs())),
    ]
    for plan in plans:
        for obj in plan.objects:
            manifest = obj.manifest("llm")
            assert api_rule_errors(manifest) == [], manifest["metadata"]["name"]
            if is_builtin(manifest):
                for version in K8S_VERSIONS:
                    assert k8s_errors(manifest, version) == [], (manifest["kind"], version)
            else:
                assert crd_errors(manifest, crd_dir) == [], manifest["kind"]


def test_the_construct_emits_the_config_map_with_a_handle_free_id(new_chart: Any) -> None:
    chart = new_chart("llm")
    vc.VllmServer(chart, "tiny", server_props(json_logs=JsonLogs()))
    objects = chart_objects(chart)
    assert find(objects, "ConfigMap", "tiny-logging")["metadata"]["namespace"] == "llm"
    assert isinstance(chart.node.find_child("tiny").node.find_child("Logging"), cdk8s.ApiObject)


# --- refusals -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "fix"),
    [
        (("--log-config-file", "/x.json"), "JsonLogs"),
        (("--logging-config.formatter", "json"), "JsonLogs"),
        (("--logging-config", '{"log_level": "DEBUG"}'), "JsonLogs"),
        (("--log-level", "DEBUG"), "level="),
        (("--enable-log-requests",), "log_requests=True"),
        (("--max-log-len", "10"), "max_log_len"),
        (("--disable-access-log-for-endpoints", "/health"), "exclude_paths"),
        (("--enable-log-outputs",), "prompts"),
    ],
)
def test_logging_flags_in_extra_args_are_refused(extra: tuple[str, ...], fix: str) -> None:
    props = server_props(json_logs=JsonLogs(), engine=vc.EngineArgs(extra_args=extra))
    with pytest.raises(ConfigError) as info:
        plan_server("c/tiny", "llm", props)
    assert info.value.problems[0].field == "engine.extra_args"
    assert info.value.problems[0].path == "c/tiny"
    assert fix in info.value.problems[0].fix
    with pytest.raises(ConfigError):
        plan_cluster("c/big", "llm", ray_props("lws", extra, json_logs=JsonLogs()))


def test_logging_flags_are_fine_without_json_logs() -> None:
    plan_server("c/tiny", "llm", server_props(engine=vc.EngineArgs(extra_args=("--enable-log-requests", "--log-level", "DEBUG"))))


def test_generated_text_may_be_logged_when_prompts_are_asked_for() -> None:
    logs = JsonLogs(level="DEBUG", log_requests=True, log_prompts=True)
    plan_server("c/tiny", "llm", server_props(json_logs=logs, engine=vc.EngineArgs(extra_args=("--enable-log-outputs",))))


@pytest.mark.parametrize("name", ["VLLM_LOGGING_CONFIG_PATH", "PYTHONPATH", "VLLM_CONFIGURE_LOGGING", "VLLM_LOGGING_LEVEL"])
def test_env_may_not_redefine_what_json_logs_sets(name: str) -> None:
    with pytest.raises(ConfigError) as info:
        plan_server("c/tiny", "llm", server_props(json_logs=JsonLogs(), env={name: "x"}))
    assert (info.value.problems[0].field, info.value.problems[0].value) == ("env", name)
    with pytest.raises(ConfigError):
        plan_cluster("c/big", "llm", ray_props("lws", json_logs=JsonLogs(), env={name: "x"}))


def test_env_config_may_not_switch_vllm_logging_off() -> None:
    with pytest.raises(ConfigError) as info:
        plan_server("c/tiny", "llm", server_props(json_logs=JsonLogs(), env_config={"VLLM_CONFIGURE_LOGGING": 0}))
    assert info.value.problems[0].field == "env_config"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"log_prompts": True}, "log_prompts"),
        ({"log_prompts": True, "log_requests": True}, "log_prompts"),
        ({"max_log_len": 10}, "max_log_len"),
        ({"level": "verbose"}, "level"),
        ({"level": "debug"}, "level"),
        ({"request_fields": "yes"}, "request_fields"),
        ({"log_requests": 1}, "log_requests"),
        ({"max_log_len": -1, "log_prompts": True, "log_requests": True, "level": "DEBUG"}, "max_log_len"),
        ({"max_log_len": 1.5}, "max_log_len"),
        ({"exclude_paths": ("health",)}, "exclude_paths[0]"),
        ({"exclude_paths": "/health"}, "exclude_paths"),
        ({"exclude_paths": ("/health", "/health")}, "exclude_paths"),
        ({"no_such": 1}, "no_such"),
    ],
)
def test_bad_json_logs_are_refused(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        JsonLogs(**kwargs)
    assert info.value.path == "JsonLogs"
    assert info.value.problems[0].field == field


def test_json_logs_must_be_a_json_logs_value() -> None:
    with pytest.raises(ConfigError) as info:
        server_props(json_logs={"level": "INFO"})
    assert info.value.problems[0].field == "json_logs"


@SETTINGS
@given(data=st.data())
def test_hostile_values_are_refused_or_render_valid_objects(data: st.DataObject) -> None:
    for name in ("level", "request_fields", "log_requests", "log_prompts", "max_log_len", "exclude_paths"):
        value = data.draw(st.one_of(HOSTILE, st.sampled_from([("/health",), ("/a", "/b?x"), "DEBUG", 0, 10**6])), label=name)
        try:
            logs = JsonLogs(**{name: value})
        except ConfigError as err:
            assert err.path == "JsonLogs" and err.problems
            continue
        for obj in plan_server("c/tiny", "llm", server_props(json_logs=logs)).objects:
            manifest = obj.manifest("llm")
            assert api_rule_errors(manifest) == []
            for version in K8S_VERSIONS:
                assert k8s_errors(manifest, version) == []


# --- the shipped logging file and formatter, applied by dictConfig ----------------------------------------------

# Records as uvicorn and vLLM 0.32 emit them (logger names, message templates, argument tuples).
EMIT = r"""
import json, logging, logging.config, sys, warnings

with open(sys.argv[1]) as f:
    logging.config.dictConfig(json.load(f))


class SamplingParams:  # the attributes vLLM's SamplingParams has (its repr is what the message shows)
    n, max_tokens, min_tokens, temperature, top_p, top_k, seed = 1, 16, 0, 0.0, 1.0, 0, None
    stop = ["SECRET-STOP"]

    def __repr__(self):
        return "SamplingParams(n=1, temperature=0.0, max_tokens=16, stop=['SECRET-STOP'])"


access = logging.getLogger("uvicorn.access")
access.info('%s - "%s %s HTTP/%s" %d', "10.0.0.7:5123", "POST", "/v1/completions?stream=false", "1.1", 200)
access.info('%s - "%s %s HTTP/%s" %d', "10.0.0.9:1", "GET", "/health", "1.1", 200)
access.info('%s - "%s %s HTTP/%s" %d', "10.0.0.9:2", "GET", "/metrics", "1.1", 200)
requests = logging.getLogger("vllm.entrypoints.serve.utils.request_logger")
requests.info("Received request %s: params: %s, lora_request: %s.", "cmpl-42", SamplingParams(), None)
requests.debug("Request %s details: prompt: %r, prompt_token_ids: %s, prompt_embeds shape: %s.", "cmpl-42", "SECRET-PROMPT", [1, 2], None)
requests.debug("Request %s JSON body: %s", "cmpl-42", '{"prompt": "SECRET-BODY"}')
logging.getLogger("vllm.v1.engine.async_llm").info("Added request %s.", "cmpl-42-abc")
logging.getLogger("vllm.v1.engine.core").debug("EngineCore loop active.")
logging.getLogger("vllm.v1.worker").info("two\nlines")
logging.getLogger("vllm.x").info("bad %d args", "not-a-number")
try:
    raise ValueError("boom")
except ValueError:
    logging.getLogger("vllm.engine").exception("failed")
warnings.warn("a python warning")
logging.getLogger("torch").info("third-party info is below the root level")
logging.getLogger("torch").warning("third-party warning")
print("END")
"""


def emitted(tmp_path: Path, logs: JsonLogs) -> list[dict[str, Any]]:
    """Write the ConfigMap's files where the pod mounts them (a temp folder), apply the logging file with
    dictConfig in a fresh interpreter whose PYTHONPATH is that folder, emit the records, parse every line."""
    cm = find(manifests(server_props(json_logs=logs)), "ConfigMap")
    folder = tmp_path / "etc-vllm-logging"
    folder.mkdir()
    for key, text in cm["data"].items():
        (folder / key).write_text(text)
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(folder)}
    done = subprocess.run(
        [sys.executable, "-c", EMIT, str(folder / "logging.json")], capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "END" and done.stderr == "", (done.stdout, done.stderr)
    return [json.loads(line) for line in lines[:-1]]


def test_every_record_becomes_one_json_line_with_the_common_fields(tmp_path: Path) -> None:
    records = emitted(tmp_path, JsonLogs(level="DEBUG", log_requests=True))
    for record in records:
        assert {"time", "level", "logger", "process", "message"} <= set(record), record
        assert record["time"].endswith("Z") and record["process"] == records[0]["process"]
    by_message = {r["message"]: r for r in records}
    assert by_message["two\nlines"]["level"] == "INFO"
    failed = by_message["failed"]
    assert failed["level"] == "ERROR" and "ValueError: boom" in failed["exception"]
    assert any("could not be formatted" in r["message"] for r in records)
    warning = next(r for r in records if r["logger"] == "py.warnings")
    assert "a python warning" in warning["message"]
    assert [r["message"] for r in records if r["logger"] == "torch"] == ["third-party warning"]


def test_access_lines_carry_method_path_status_and_client_and_probes_are_dropped(tmp_path: Path) -> None:
    records = emitted(tmp_path, JsonLogs())
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    assert len(access) == 1, access
    assert {k: access[0][k] for k in ("method", "path", "status", "client")} == {
        "method": "POST",
        "path": "/v1/completions",
        "status": 200,
        "client": "10.0.0.7:5123",
    }


def test_request_lines_carry_the_request_id_and_a_sampling_summary_and_no_prompt(tmp_path: Path) -> None:
    records = emitted(tmp_path, JsonLogs(level="DEBUG", log_requests=True))
    received = next(r for r in records if r["message"].startswith("Received request"))
    assert received["request_id"] == "cmpl-42"
    assert received["sampling"] == {"n": 1, "max_tokens": 16, "min_tokens": 0, "temperature": 0.0, "top_p": 1.0, "top_k": 0}
    assert next(r for r in records if r["message"].startswith("Added request"))["request_id"] == "cmpl-42-abc"
    text = json.dumps(records)
    assert "SECRET-PROMPT" not in text and "SECRET-BODY" not in text
    assert "SECRET-STOP" not in json.dumps(received["sampling"])
    assert any(r["message"] == "EngineCore loop active." for r in records)  # other DEBUG lines are kept


def test_prompts_are_kept_only_when_asked_for(tmp_path: Path) -> None:
    records = emitted(tmp_path, JsonLogs(level="DEBUG", log_requests=True, log_prompts=True))
    text = json.dumps(records)
    assert "SECRET-PROMPT" in text and "SECRET-BODY" in text


def test_request_fields_can_be_switched_off(tmp_path: Path) -> None:
    records = emitted(tmp_path, JsonLogs(request_fields=False, log_requests=True))
    access = next(r for r in records if r["logger"] == "uvicorn.access")
    assert "method" not in access and "request_id" not in next(r for r in records if r["message"].startswith("Received"))


def test_the_level_applies_to_vllm_and_other_libraries_and_access_lines_keep_uvicorns_level(tmp_path: Path) -> None:
    records = emitted(tmp_path, JsonLogs(level=LogLevel.WARNING))
    assert {r["level"] for r in records if r["logger"] != "uvicorn.access"} == {"WARNING", "ERROR"}
    # uvicorn's own level (vLLM's --uvicorn-log-level, default info) decides about access lines
    assert [r["path"] for r in records if r["logger"] == "uvicorn.access"] == ["/v1/completions"]
