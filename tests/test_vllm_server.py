"""VllmServer: the composition for one model, its chart-bug fixes, invariants and exact validation messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cdk8s
import pytest

from tests.conftest import by_kind, chart_objects, chart_yaml, one
from tests.schemas import K8S_VERSIONS, k8s_errors
from vllm_constructs import (
    ConfigError,
    EngineArgs,
    EnvFrom,
    ModelCache,
    ModelSource,
    PodOptions,
    Resources,
    SecretKeyRef,
    ServerNames,
    ServerNetworkPolicy,
    ServiceType,
    VllmServer,
    VllmServerProps,
)

MakeChart = Callable[..., cdk8s.Chart]
HF = ModelSource.huggingface("org/model", revision="0123456789abcdef0123456789abcdef01234567")


def props(**overrides: Any) -> VllmServerProps:
    base: dict[str, Any] = {"name": "llm", "model": HF, "resources": Resources(cpu="8", memory="64Gi", accelerators=1)}
    base.update(overrides)
    return VllmServerProps(**base)


def objects(chart: cdk8s.Chart, p: VllmServerProps, construct_id: str = "srv") -> list[dict[str, Any]]:
    VllmServer(chart, construct_id, p)
    return chart_objects(chart)


def vllm_container(objs: list[dict[str, Any]]) -> dict[str, Any]:
    pod = one(objs, "Deployment")["spec"]["template"]["spec"]
    c: dict[str, Any] = next(c for c in pod["containers"] if c["name"] == "vllm")
    return c


def error(chart: cdk8s.Chart, p: VllmServerProps) -> str:
    with pytest.raises(ConfigError) as info:
        VllmServer(chart, "srv", p)
    assert chart_objects(chart) == [], "no object may be added when validation fails"
    return str(info.value)


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def test_defaults_snapshot(new_chart: MakeChart, yaml_snapshot: Any) -> None:
    chart = new_chart()
    VllmServer(chart, "srv", props())
    assert chart_yaml(chart) == yaml_snapshot


def test_fully_configured_snapshot(new_chart: MakeChart, yaml_snapshot: Any) -> None:
    chart = new_chart()
    VllmServer(
        chart,
        "srv",
        props(
            resources=Resources(cpu="32", memory="256Gi", accelerators=4),
            engine=EngineArgs(
                served_model_name="m",
                tensor_parallel_size=2,
                pipeline_parallel_size=2,
                max_model_len=8192,
                gpu_memory_utilization=0.85,
                dtype="bfloat16",
                quantization="fp8",
                enforce_eager=True,
                trust_remote_code=True,
                extra_args=("--enable-chunked-prefill",),
            ),
            replicas=2,
            cache=ModelCache.pvc("500Gi", storage_class="rwx", access_mode="ReadWriteMany"),
            hf_token=SecretKeyRef("hf", "token"),
            api_key=SecretKeyRef("api", "key"),
            env={"VLLM_LOGGING_LEVEL": "INFO"},
            env_config={"VLLM_ENGINE_READY_TIMEOUT_S": 900},
            env_from=(EnvFrom.secret("extra-env"),),
            service_type=ServiceType.LOAD_BALANCER,
            service_port=8080,
            pdb_max_unavailable="50%",
            network_policy=ServerNetworkPolicy(
                from_namespaces={"team": "apps"},
                from_pods={"role": "client"},
                restrict_egress=True,
                egress_cidrs=("10.0.0.0/8",),
            ),
        ),
    )
    assert chart_yaml(chart) == yaml_snapshot
    for obj in chart_objects(chart):
        for version in K8S_VERSIONS:
            assert k8s_errors(obj, version) == [], (obj["kind"], version)


def test_engine_args_render_into_vllm_serve(new_chart: MakeChart) -> None:
    objs = objects(
        new_chart(),
        props(
            resources=Resources(cpu="8", memory="64Gi", accelerators=2),
            engine=EngineArgs(
                tensor_parallel_size=2, max_model_len=4096, gpu_memory_utilization=1.0, dtype="half", extra_args=("--seed=1",)
            ),
            port=9000,
        ),
    )
    c = vllm_container(objs)
    assert c["command"] == ["vllm", "serve"]
    job = one(objs, "Job")
    model_dir = next(e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"] if e["name"] == "MODEL_DIR")
    assert c["args"] == [
        model_dir,
        "--served-model-name",
        "org/model",
        "--host",
        "0.0.0.0",
        "--port",
        "9000",
        "--tensor-parallel-size",
        "2",
        "--max-model-len",
        "4096",
        "--gpu-memory-utilization",
        "1.0",
        "--dtype",
        "half",
        "--seed=1",
    ]
    assert c["ports"][0] == {"name": "http", "containerPort": 9000, "protocol": "TCP"}


def test_chart_bug_2_two_servers_in_one_namespace_never_select_each_other(new_chart: MakeChart) -> None:
    chart = new_chart()
    VllmServer(chart, "a", props(name="alpha"))
    VllmServer(chart, "b", props(name="beta", pod=PodOptions(labels={"environment": "test", "release": "test"})))
    objs = chart_objects(chart)
    pods = {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"] for d in by_kind(objs, "Deployment")}
    for kind, selector_of in (
        ("Service", lambda o: o["spec"]["selector"]),
        ("PodDisruptionBudget", lambda o: o["spec"]["selector"]["matchLabels"]),
        ("Deployment", lambda o: o["spec"]["selector"]["matchLabels"]),
    ):
        for obj in by_kind(objs, kind):
            owner = obj["metadata"]["name"]
            matched = {name for name, labels in pods.items() if selects(selector_of(obj), labels)}
            assert matched == {owner}, f"{kind} {owner} selects {matched}"


def test_chart_bug_3_pdb_selects_this_servers_pods(new_chart: MakeChart) -> None:
    objs = objects(new_chart(), props())
    pdb = one(objs, "PodDisruptionBudget")
    pod_labels = one(objs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"]
    assert selects(pdb["spec"]["selector"]["matchLabels"], pod_labels)
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


def test_pdb_can_be_turned_off(new_chart: MakeChart) -> None:
    assert by_kind(objects(new_chart(), props(pdb_max_unavailable=None)), "PodDisruptionBudget") == []


def test_chart_bug_13_config_map_values_are_strings(new_chart: MakeChart) -> None:
    objs = objects(new_chart(), props(env_config={"PORT": 8000, "DEBUG": True, "RATIO": 0.5, "NAME": "x"}))
    cm = one(objs, "ConfigMap")
    assert cm["data"] == {"PORT": "8000", "DEBUG": "true", "RATIO": "0.5", "NAME": "x"}
    c = vllm_container(objs)
    assert c["envFrom"][0] == {"configMapRef": {"name": "llm-env"}}
    for version in K8S_VERSIONS:
        assert k8s_errors(cm, version) == []


def test_config_change_rolls_the_pods(new_chart: MakeChart) -> None:
    def config_hash(value: str) -> str:
        dep = one(objects(new_chart(), props(env_config={"A": value})), "Deployment")
        annotation: str = dep["spec"]["template"]["metadata"]["annotations"]["vllm-constructs.io/config-hash"]
        return annotation

    assert config_hash("1") == config_hash("1")
    assert config_hash("1") != config_hash("2")


def test_chart_bug_12_secrets_are_references_only(new_chart: MakeChart) -> None:
    objs = objects(new_chart(), props(hf_token=SecretKeyRef("hf", "token"), api_key=SecretKeyRef("api", "key")))
    assert by_kind(objs, "Secret") == []
    env = {e["name"]: e for e in vllm_container(objs)["env"]}
    assert env["VLLM_API_KEY"] == {"name": "VLLM_API_KEY", "valueFrom": {"secretKeyRef": {"name": "api", "key": "key"}}}
    assert "HF_TOKEN" not in env, "the server runs offline; only the download needs the token"
    job = one(objs, "Job")["spec"]["template"]["spec"]
    job_env = {e["name"]: e for e in job["containers"][0]["env"]}
    assert job_env["HF_TOKEN_PATH"]["value"] == "/var/run/secrets/huggingface/token"
    assert {"name": "hf-token", "secret": {"secretName": "hf", "items": [{"key": "token", "path": "token"}], "defaultMode": 0o440}} in job[
        "volumes"
    ]


def test_server_runs_offline_from_the_cache_with_writable_home(new_chart: MakeChart) -> None:
    objs = objects(new_chart(), props())
    c = vllm_container(objs)
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["HF_HUB_OFFLINE"] == "1"
    assert env["HOME"] == "/home/vllm"
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    assert mounts["/models"]["readOnly"] is True
    assert "/home/vllm" in mounts and "/tmp" in mounts


def test_service_is_cluster_ip_on_named_port(new_chart: MakeChart) -> None:
    svc = one(objects(new_chart(), props()), "Service")
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]


def test_cpu_only_server_has_no_accelerator_scheduling(new_chart: MakeChart) -> None:
    objs = objects(new_chart(), props(resources=Resources(cpu="2", memory="5Gi")))
    pod = one(objs, "Deployment")["spec"]["template"]["spec"]
    assert "gpu" not in str(pod["containers"][0]["resources"])
    for key in ("affinity", "runtimeClassName", "tolerations"):
        assert key not in pod


def test_helm_chart_names(new_chart: MakeChart) -> None:
    objs = objects(new_chart(), props(names=ServerNames.helm_chart("demo")))
    names = {(o["kind"], o["metadata"]["name"]) for o in objs}
    assert next(o["metadata"]["name"] for o in objs if o["kind"] == "Job").startswith("demo-init-vllm-download-")
    assert names == {
        ("Deployment", "demo-deployment-vllm"),
        ("Service", "demo-service"),
        ("PersistentVolumeClaim", "demo-storage-claim"),
        ("PodDisruptionBudget", "demo-pdb"),
        ("Job", next(o["metadata"]["name"] for o in objs if o["kind"] == "Job")),
    }


def test_existing_claim_and_pvc_source(new_chart: MakeChart) -> None:
    objs = objects(new_chart(), props(model=ModelSource.pvc("models", path="llama"), replicas=3))
    assert by_kind(objs, "Job") == [] and by_kind(objs, "PersistentVolumeClaim") == []
    c = vllm_container(objs)
    assert c["args"][0] == "/models/llama"
    pod = one(objs, "Deployment")["spec"]["template"]["spec"]
    assert {"name": "model", "persistentVolumeClaim": {"claimName": "models", "readOnly": True}} in pod["volumes"]


def test_handles(new_chart: MakeChart) -> None:
    server = VllmServer(new_chart(), "srv", props(port=9000, service_port=8080))
    assert server.selector_labels == {
        "app.kubernetes.io/name": "vllm",
        "app.kubernetes.io/instance": "llm",
        "app.kubernetes.io/component": "server",
    }
    assert server.port.port == 9000 and server.port.name == "http"
    assert server.service_port == 8080
    assert server.service_name == "llm"
    assert server.deployment.name == "llm"
    assert server.model_init_job is not None
    assert server.served_model_name == "org/model"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"resources": Resources(cpu="8", memory="64Gi", accelerators=2), "engine": EngineArgs(tensor_parallel_size=4)},
            "test/srv: engine.tensor_parallel_size=4 x pipeline_parallel_size 1 = 4 does not match the 2 accelerators per pod. "
            "Allowed: tensor_parallel_size x pipeline_parallel_size == resources.accelerators (2). "
            "Fix: set tensor_parallel_size=2 or resources.accelerators=4.",
        ),
        (
            {"resources": Resources(cpu="8", memory="64Gi"), "engine": EngineArgs(tensor_parallel_size=2)},
            "test/srv: engine.tensor_parallel_size=2 splits a CPU-only server. Allowed: tensor_parallel_size x "
            "pipeline_parallel_size == 1 without accelerators. Fix: request accelerators or set both sizes to 1.",
        ),
        (
            {"engine": EngineArgs(gpu_memory_utilization=0)},
            "test/srv: engine.gpu_memory_utilization=0 is outside (0, 1]. Allowed: a fraction above 0 and at most 1, e.g. 0.9. "
            "Fix: pass the fraction of accelerator memory vLLM may use.",
        ),
        (
            {"engine": EngineArgs(gpu_memory_utilization=1.5)},
            "test/srv: engine.gpu_memory_utilization=1.5 is outside (0, 1]. Allowed: a fraction above 0 and at most 1, e.g. 0.9. "
            "Fix: pass the fraction of accelerator memory vLLM may use.",
        ),
        (
            {"engine": EngineArgs(extra_args=("--tensor_parallel_size=2",))},
            "test/srv: engine.extra_args='--tensor_parallel_size=2' repeats a flag the construct renders from "
            "tensor_parallel_size. Allowed: flags without a typed prop. Fix: set tensor_parallel_size instead.",
        ),
        (
            {"engine": EngineArgs(extra_args=("--port", "9000"))},
            "test/srv: engine.extra_args='--port' repeats a flag the construct renders from port. Allowed: flags without a "
            "typed prop. Fix: set port instead.",
        ),
        (
            {"engine": EngineArgs(dtype="fp64")},
            "test/srv: engine.dtype='fp64' is not a vLLM dtype. Allowed: auto, half, float16, bfloat16, float, float32. "
            "Fix: use one of those.",
        ),
        (
            {"name": "vllm"},
            "test/srv: names.service='vllm' makes Kubernetes inject VLLM_PORT into pods of this namespace, which vLLM reads as "
            "its own setting and fails on. Allowed: a Service name that is not 'vllm' (or another vLLM variable prefix). "
            "Fix: rename the server or the Service, e.g. 'vllm-llama'.",
        ),
        (
            {"name": "a" * 50},
            f"test/srv: name={'a' * 50!r} is 50 characters, too long once suffixed with '-download-12345678'. "
            "Allowed: at most 45 characters. Fix: choose a shorter name.",
        ),
        (
            {"env": {"HF_HUB_OFFLINE": "0"}},
            "test/srv: env='HF_HUB_OFFLINE' is set by the construct already. Allowed: names the construct does not set (it sets "
            "DO_NOT_TRACK, HF_HOME, HF_HUB_OFFLINE, HOME, TRANSFORMERS_OFFLINE, USER, VLLM_CACHE_ROOT, VLLM_CONFIG_ROOT, "
            "VLLM_NO_USAGE_STATS, XDG_CACHE_HOME). Fix: use the typed prop (hf_token, api_key, ...) or drop the variable.",
        ),
        (
            {"env_config": {"A": ["x"]}},
            "test/srv: env_config['A']=['x'] is not a scalar. Allowed: a string, number or boolean. Fix: flatten the value into a string.",
        ),
        (
            {"port": 70000},
            "test/srv: port=70000 is out of range. Allowed: an integer >= 1 and <= 65535. Fix: pick a value in range.",
        ),
        (
            {"pdb_max_unavailable": "150%"},
            "test/srv: pdb_max_unavailable='150%' is not a count or percentage. Allowed: an integer >= 0 or a string such as "
            "'50%'. Fix: use e.g. 1 or '50%'.",
        ),
        (
            {"resources": Resources(cpu="8", memory="64Gi", accelerators=1), "extra_ports": ()}
            | {"model": ModelSource.huggingface("not a repo", revision="main")},
            "test/srv: model.repo_id='not a repo' is not a Hugging Face repository id. Allowed: 'owner/name' of letters, digits, "
            "'-', '_' and '.'. Fix: copy the id from the model page, e.g. 'meta-llama/Llama-3.1-8B-Instruct'.",
        ),
    ],
)
def test_fails_when_props_are_invalid(new_chart: MakeChart, overrides: dict[str, Any], message: str) -> None:
    assert error(new_chart(), props(**overrides)) == message
