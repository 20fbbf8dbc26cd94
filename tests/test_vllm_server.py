"""VllmServer: the composition for one model, its chart-bug fixes, invariants and exact validation messages."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import cdk8s
import cdk8s_plus_27 as kplus
import pytest

from tests.conftest import by_kind, chart_objects, chart_yaml, one
from tests.schemas import K8S_VERSIONS, k8s_errors
from tests.wrong_types import field_cases
from vllm_constructs import (
    ConfigError,
    DownloadMode,
    EngineArgs,
    EnvFrom,
    ModelCache,
    ModelDownload,
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


def test_the_service_env_rule_applies_to_the_service_the_server_really_has(new_chart: MakeChart) -> None:
    """A server named 'vllm' whose Service is 'demo-service' injects no VLLM_* variables, so it is accepted."""
    objs = objects(new_chart(), props(name="vllm", names=ServerNames.helm_chart("demo")))
    assert [o["metadata"]["name"] for o in objs if o["kind"] == "Service"] == ["demo-service"]


def test_a_long_deployment_name_without_a_job_base_is_refused() -> None:
    """The download Job is named '<deployment>-download-<hash>'; past 45 characters that is no longer a valid name."""
    long = "a" * 50
    with pytest.raises(ConfigError) as info:
        ServerNames(deployment=long, service="s", pdb="p", cache_claim="c", config_map="m", network_policy="n")
    assert "download_job_base=None" in str(info.value) and "45" in str(info.value)
    named = ServerNames(
        deployment=long, service="s", pdb="p", cache_claim="c", config_map="m", network_policy="n", download_job_base="short"
    )
    assert named.download_job_base == "short"


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


def test_default_child_is_the_deployment(new_chart: MakeChart) -> None:
    server = VllmServer(new_chart(), "srv", props())
    assert cdk8s.ApiObject.of(server) is server.deployment
    assert cdk8s.ApiObject.of(server).kind == "Deployment"


def test_more_handles(new_chart: MakeChart) -> None:
    server = VllmServer(new_chart(), "srv", props(env_config={"A": "1"}, network_policy=ServerNetworkPolicy()))
    assert (server.deployment.kind, server.service.kind) == ("Deployment", "Service")
    assert server.cache_claim is not None and server.cache_claim.name == "llm-model-cache"
    assert server.config_map is not None and server.config_map.name == "llm-env"
    assert server.pdb is not None and server.pdb.kind == "PodDisruptionBudget"
    assert server.network_policy is not None and server.network_policy.kind == "NetworkPolicy"
    assert server.names == ServerNames.for_server("llm")
    assert server.model_path.startswith("/models/org-model-")
    assert server.cache_access_mode == "ReadWriteOnce"
    facts = server.serving
    assert (facts.server_name, facts.namespace, facts.service_name, facts.service_port) == ("llm", "test", "llm", 80)
    assert facts.scale_target is not None and (facts.scale_target.kind, facts.scale_target.name, facts.scale_target.max_replicas) == (
        "Deployment",
        "llm",
        1,
    )
    bare = VllmServer(new_chart(), "srv", props(model=ModelSource.image("/m"), pdb_max_unavailable=None))
    assert (bare.cache_claim, bare.model_init_job, bare.config_map, bare.pdb, bare.network_policy) == (None, None, None, None, None)
    assert bare.cache_access_mode is None


@pytest.mark.parametrize("name", ["HOME", "HF_HOME", "XDG_CACHE_HOME", "VLLM_CACHE_ROOT", "VLLM_CONFIG_ROOT", "USER"])
def test_overridable_env_is_honoured_in_the_vllm_container(new_chart: MakeChart, name: str) -> None:
    default = {e["name"]: e["value"] for e in vllm_container(objects(new_chart(), props()))["env"] if "value" in e}
    assert name in default, "the construct sets a default for it"
    env = vllm_container(objects(new_chart(), props(env={name: "/data/custom"})))["env"]
    assert [e for e in env if e["name"] == name] == [{"name": name, "value": "/data/custom"}]
    others = {e["name"]: e.get("value") for e in env if e["name"] != name}
    if name != "HOME":
        assert others == {k: v for k, v in default.items() if k != name}, "only the overridden variable changes"


def test_home_override_moves_the_default_caches(new_chart: MakeChart) -> None:
    env = {e["name"]: e.get("value") for e in vllm_container(objects(new_chart(), props(env={"HOME": "/tmp/home"})))["env"]}
    assert (env["HOME"], env["XDG_CACHE_HOME"], env["HF_HOME"]) == ("/tmp/home", "/tmp/home/.cache", "/tmp/home/.cache/huggingface")
    assert (env["VLLM_CACHE_ROOT"], env["VLLM_CONFIG_ROOT"]) == ("/tmp/home/.cache/vllm", "/tmp/home/.config/vllm")


def test_user_env_follows_the_construct_env(new_chart: MakeChart) -> None:
    env = vllm_container(objects(new_chart(), props(env={"VLLM_LOGGING_LEVEL": "DEBUG", "POD": SecretKeyRef("s", "k"), "A": "1"})))["env"]
    assert [e["name"] for e in env][-3:] == ["VLLM_LOGGING_LEVEL", "POD", "A"]


def test_cdk8s_plus_objects_are_accepted_by_reference(new_chart: MakeChart) -> None:
    chart = new_chart()
    token = kplus.Secret.from_secret_name(chart, "hf", "hf-token")
    api = kplus.Secret.from_secret_name(chart, "api", "api-key")
    account = kplus.ServiceAccount.from_service_account_name(chart, "sa", "llm-sa")
    weights = kplus.PersistentVolumeClaim.from_claim_name(chart, "weights", "shared-weights")
    pull = kplus.Secret.from_secret_name(chart, "pull", "regcred")
    VllmServer(
        chart,
        "srv",
        props(
            hf_token=SecretKeyRef(token, "token"),
            api_key=SecretKeyRef(api, "key"),
            cache=ModelCache.existing_claim(weights),
            env_from=(EnvFrom.secret(api),),
            pod=PodOptions(service_account=account, image_pull_secrets=(pull,)),
        ),
    )
    VllmServer(chart, "pvc", props(name="from-pvc", model=ModelSource.pvc(weights, path="llama")))
    objs = chart_objects(chart)
    assert by_kind(objs, "Secret") == [] and by_kind(objs, "ServiceAccount") == [], "imported objects emit nothing"
    deployments = {d["metadata"]["name"]: d["spec"]["template"]["spec"] for d in by_kind(objs, "Deployment")}
    pod = deployments["llm"]
    assert pod["serviceAccountName"] == "llm-sa"
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    main = next(c for c in pod["containers"] if c["name"] == "vllm")
    assert {"name": "VLLM_API_KEY", "valueFrom": {"secretKeyRef": {"name": "api-key", "key": "key"}}} in main["env"]
    assert main["envFrom"] == [{"secretRef": {"name": "api-key"}}]
    assert {v["name"]: v for v in pod["volumes"]}["model-cache"] == {
        "name": "model-cache",
        "persistentVolumeClaim": {"claimName": "shared-weights"},
    }
    job = one(objs, "Job")["spec"]["template"]["spec"]
    assert {v["name"]: v for v in job["volumes"]}["hf-token"]["secret"]["secretName"] == "hf-token"
    assert {v["name"]: v for v in deployments["from-pvc"]["volumes"]}["model"] == {
        "name": "model",
        "persistentVolumeClaim": {"claimName": "shared-weights", "readOnly": True},
    }
    for obj in objs:
        for version in K8S_VERSIONS:
            assert k8s_errors(obj, version) == [], (obj["kind"], version)


@pytest.mark.parametrize(
    ("build", "kind"),
    [
        (lambda x: SecretKeyRef(x, "k"), kplus.Secret),
        (lambda x: PodOptions(service_account=x), kplus.ServiceAccount),
        (ModelSource.pvc, kplus.PersistentVolumeClaim),
        (EnvFrom.config_map, kplus.ConfigMap),
    ],
    ids=["Secret", "ServiceAccount", "PersistentVolumeClaim", "ConfigMap"],
)
def test_the_fix_for_a_wrong_reference_names_an_import_that_exists(build: Callable[[object], object], kind: type[Any]) -> None:
    with pytest.raises(ConfigError) as info:
        build(3)
    method = info.value.fix.split(f"kplus.{kind.__name__}.", 1)[1].split("(", 1)[0]
    assert callable(getattr(kind, method)), f"{kind.__name__} has no {method}"


def test_fails_when_a_cdk8s_plus_object_of_another_kind_is_passed(new_chart: MakeChart) -> None:
    chart = new_chart()
    account = kplus.ServiceAccount.from_service_account_name(chart, "sa", "llm-sa")
    with pytest.raises(ConfigError) as info:
        ModelCache.existing_claim(account)
    assert str(info.value) == (
        "ExistingClaimCache: claim_name=<cdk8s-plus-27.IServiceAccount 'llm-sa'> is neither a name nor a cdk8s-plus "
        "PersistentVolumeClaim. Allowed: the PersistentVolumeClaim's name (a DNS-1123 subdomain) or a cdk8s_plus_27 "
        "PersistentVolumeClaim (created or imported). Fix: pass the name, or e.g. "
        "kplus.PersistentVolumeClaim.from_claim_name(scope, id, name)."
    )
    created = kplus.ConfigMap(chart, "settings")
    with pytest.raises(ConfigError) as info:
        SecretKeyRef(created, "key")
    assert str(info.value).startswith(
        f"SecretKeyRef: name=<cdk8s-plus-27.ConfigMap {created.name!r}> is neither a name nor a cdk8s-plus Secret."
    )
    with pytest.raises(ConfigError) as info:
        VllmServer(chart, "srv", created)  # type: ignore[arg-type]
    assert str(info.value) == (
        f"test/srv: props=<cdk8s-plus-27.ConfigMap {created.name!r}> is a ConfigMap. Allowed: VllmServerProps. "
        "Fix: build the props with VllmServerProps(...)."
    )
    assert by_kind(chart_objects(chart), "Deployment") == []


# --- refused when a value is built: the class name is the path -------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: EngineArgs(gpu_memory_utilization=0),
            "EngineArgs: gpu_memory_utilization=0 is out of range. Allowed: a number in (0, 1]. Fix: pick a value in range.",
        ),
        (
            lambda: EngineArgs(gpu_memory_utilization=1.5),
            "EngineArgs: gpu_memory_utilization=1.5 is out of range. Allowed: a number in (0, 1]. Fix: pick a value in range.",
        ),
        (
            lambda: EngineArgs(gpu_memory_utilization=float("nan")),
            "EngineArgs: gpu_memory_utilization=nan is not a finite number. Allowed: a finite number (no NaN or infinity). "
            "Fix: pass a finite number.",
        ),
        (
            lambda: EngineArgs(extra_args=("--tensor_parallel_size=2",)),
            "EngineArgs: extra_args='--tensor_parallel_size' repeats or contradicts a flag the construct renders from "
            "engine.tensor_parallel_size. Allowed: flags without a typed prop. Fix: set engine.tensor_parallel_size instead.",
        ),
        (
            lambda: EngineArgs(extra_args=("--port", "9000")),
            "EngineArgs: extra_args='--port' repeats or contradicts a flag the construct renders from the server's port prop. "
            "Allowed: flags without a typed prop. Fix: set the server's port prop instead.",
        ),
        (
            lambda: EngineArgs(extra_args=("-tp", "2")),
            "EngineArgs: extra_args='-tp' repeats or contradicts a flag the construct renders from engine.tensor_parallel_size. "
            "Allowed: flags without a typed prop. Fix: set engine.tensor_parallel_size instead.",
        ),
        (
            lambda: EngineArgs(extra_args=("--max-num-seqs 64",)),
            "EngineArgs: extra_args='--max-num-seqs 64' puts a flag and its value in one string, which vLLM's parser does not "
            "read as that flag. Allowed: one list item per flag and per value. Fix: split it into two list items: '--max-num-seqs', '64'.",
        ),
        (
            lambda: EngineArgs(extra_args=("--api-key", "sk-" + "a" * 40)),
            "EngineArgs: extra_args=<str, redacted> holds a secret; it would be written into the manifests. Allowed: no secrets in "
            "extra_args. Fix: pass secrets as SecretKeyRef props (api_key, hf_token).",
        ),
        (
            lambda: EngineArgs(extra_args=("--api-key", "placeholder")),
            "EngineArgs: extra_args='--api-key' repeats or contradicts a flag the construct renders from api_key (a SecretKeyRef). "
            "Allowed: flags without a typed prop. Fix: set api_key (a SecretKeyRef) instead.",
        ),
        (
            lambda: EngineArgs(extra_args=("--tokenizer", "hf_" + "a" * 30)),
            "EngineArgs: extra_args=<str, redacted> holds a secret; it would be written into the manifests. Allowed: no secrets in "
            "extra_args. Fix: pass secrets as SecretKeyRef props (api_key, hf_token).",
        ),
        (
            lambda: EngineArgs(extra_args=("--tokenizer=hf_" + "a" * 30,)),
            "EngineArgs: extra_args=<str, redacted> holds a secret; it would be written into the manifests. Allowed: no secrets in "
            "extra_args. Fix: pass secrets as SecretKeyRef props (api_key, hf_token).",
        ),
        (
            lambda: EngineArgs(dtype="fp64"),
            "EngineArgs: dtype='fp64' is not one of the allowed values. Allowed: 'auto', 'half', 'float16', 'bfloat16', 'float' or "
            "'float32'. Fix: use the enum member or its exact value.",
        ),
        (
            lambda: props(name="a" * 50),
            f"VllmServerProps: name={'a' * 50!r} is not a DNS-1035 label short enough for every object name. Allowed: at most 45 "
            "lower-case letters, digits and '-', starting with a letter and ending with a letter or digit (it names Services). "
            "Fix: use a name such as 'llama-8b'.",
        ),
        (
            lambda: props(name="8b-llama"),
            "VllmServerProps: name='8b-llama' is not a DNS-1035 label. Allowed: at most 45 lower-case letters, digits and '-', "
            "starting with a letter and ending with a letter or digit (it names Services). Fix: use a name such as 'llama-8b'.",
        ),
        (
            lambda: props(env_config={"A": ["x"]}),
            "VllmServerProps: env_config['A']=['x'] is a list. Allowed: a string, int, finite float or bool. "
            "Fix: flatten the value into a string.",
        ),
        (
            lambda: props(env_config={"API_KEY": "x"}),
            "VllmServerProps: env_config['API_KEY']=<str, redacted> is a secret; a ConfigMap is stored and shown in clear text. "
            "Allowed: non-secret settings only. Fix: keep the value in a Secret and pass it as env={name: SecretKeyRef(secret, key)}.",
        ),
        (
            lambda: props(port=70000),
            "VllmServerProps: port=70000 is out of range. Allowed: an integer >= 1 and <= 65535. Fix: pick a value in range.",
        ),
        (
            lambda: props(pdb_max_unavailable="150%"),
            "VllmServerProps: pdb_max_unavailable='150%' is not a count or percentage. Allowed: an integer >= 0 or a string such as "
            "'25%'. Fix: use e.g. 1 or '25%'.",
        ),
        (
            lambda: props(pdb_max_unavailable=1.5),
            "VllmServerProps: pdb_max_unavailable=1.5 is not a count or percentage. Allowed: an integer >= 0 or a string such as "
            "'25%'. Fix: use e.g. 1 or '25%'.",
        ),
        (
            lambda: ModelSource.huggingface("not a repo", revision="main"),
            "HuggingFaceModel: repo_id='not a repo' is not a Hugging Face repository id. Allowed: 'owner/name' of letters, digits, "
            "'-', '_' and '.'. Fix: copy the id from the model page, e.g. 'meta-llama/Llama-3.1-8B-Instruct'.",
        ),
        (
            lambda: ServerNames.for_server("1llm").__class__(
                deployment="llm", service="1llm", pdb="llm", cache_claim="c", config_map="e", network_policy="n"
            ),
            "ServerNames: service='1llm' is not a Service name (DNS-1035 label). Allowed: at most 63 lower-case letters, digits and "
            "'-', starting with a letter. Fix: start the name with a letter, e.g. 'llm-8b'.",
        ),
        (
            lambda: props(model={"repo_id": "org/model"}),
            "VllmServerProps: model={'repo_id': 'org/model'} is a dict. Allowed: ModelSource.huggingface(repo_id, revision=...), "
            "ModelSource.s3(path, bucket=...), ModelSource.chart_s3(secret, path), ModelSource.pvc(claim_name), ModelSource.image(path). "
            "Fix: use one of those factories.",
        ),
        (
            lambda: props(hf_token="hf-token"),
            "VllmServerProps: hf_token=<str, redacted> is a str. Allowed: a SecretKeyRef or None. Fix: pass a SecretKeyRef or None.",
        ),
        (
            lambda: props(download_mode=DownloadMode.INIT_CONTAINER),
            "VllmServerProps: download_mode=<DownloadMode.INIT_CONTAINER: 'init-container'> is not a field of VllmServerProps. "
            "Allowed: name, model, resources, engine, image, accelerator, health, port, service_port, replicas, cache, download, "
            "hf_token, api_key, env, part_of, pod, network_policy, gitops, json_logs, lora, rollout, progress_deadline_seconds, "
            "extra_ports, service_type, env_config, env_from, pdb_max_unavailable, names. "
            "Fix: it is download=ModelDownload(mode=...) since 0.2.0.",
        ),
    ],
)
def test_fails_when_a_value_is_built_wrong(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        build()
    assert str(info.value) == message


VALID: dict[type[Any], Callable[..., object]] = {
    VllmServerProps: props,
    EngineArgs: EngineArgs,
    ServerNames: lambda **kw: ServerNames(
        **{"deployment": "d", "service": "s", "pdb": "p", "cache_claim": "c", "config_map": "m", "network_policy": "n", **kw}
    ),
}
WRONG_TYPE_CASES = [(cls, name) for cls in VALID for name in sorted({f for f, _ in field_cases(cls)})]


def test_every_field_has_wrong_types() -> None:
    for cls, make in VALID.items():
        assert type(make()) is cls
        assert {f for f, _ in field_cases(cls)} == {f.name for f in dataclasses.fields(cls)}, cls


@pytest.mark.parametrize(("cls", "field"), WRONG_TYPE_CASES, ids=[f"{c.__name__}.{f}" for c, f in WRONG_TYPE_CASES])
def test_fails_when_any_field_gets_a_wrong_type(cls: type[Any], field: str) -> None:
    for value in [v for name, v in field_cases(cls) if name == field]:
        with pytest.raises(ConfigError) as info:
            VALID[cls](**{field: value})
        assert [(p.path, p.field) for p in info.value.problems] == [(cls.__name__, field)], (value, str(info.value))


# --- refused when the construct is created: the construct path is the path ------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"resources": Resources(cpu="8", memory="64Gi", accelerators=2), "engine": EngineArgs(tensor_parallel_size=4)},
            "test/srv: engine.tensor_parallel_size=4 x pipeline_parallel_size 1 = 4 does not match the 2 accelerators per pod. "
            "Allowed: tensor_parallel_size x pipeline_parallel_size x data_parallel_size == resources.accelerators (2). "
            "Fix: set tensor_parallel_size=2 or resources.accelerators=4.",
        ),
        (
            {
                "resources": Resources(cpu="8", memory="64Gi", accelerators=4),
                "engine": EngineArgs(tensor_parallel_size=2, data_parallel_size=3),
            },
            "test/srv: engine.tensor_parallel_size=2 x pipeline_parallel_size 1 x data_parallel_size 3 = 6 does not match the 4 "
            "accelerators per pod. Allowed: tensor_parallel_size x pipeline_parallel_size x data_parallel_size == "
            "resources.accelerators (4). Fix: set tensor_parallel_size=1 or resources.accelerators=6.",
        ),
        (
            {"resources": Resources(cpu="8", memory="64Gi"), "engine": EngineArgs(tensor_parallel_size=2)},
            "test/srv: engine.tensor_parallel_size=2 splits a CPU-only server. Allowed: tensor_parallel_size x "
            "pipeline_parallel_size x data_parallel_size == 1 without accelerators. Fix: request accelerators or set the sizes to 1.",
        ),
        (
            {"name": "vllm"},
            "test/srv: name='vllm' names the Service 'vllm', so Kubernetes injects VLLM_PORT into pods of this namespace, which "
            "vLLM reads as its own setting and fails on. Allowed: a Service name that is not 'vllm' (or another vLLM variable "
            "prefix). Fix: rename the server (or its Service), e.g. 'vllm-llama'.",
        ),
        (
            {"env": {"HF_HUB_OFFLINE": "0"}},
            "test/srv: env='HF_HUB_OFFLINE' is set by the construct (the server runs offline from verified files). "
            "Allowed: names the construct does not own. Fix: use the typed prop or drop the variable.",
        ),
        (
            {"env": {"TRANSFORMERS_OFFLINE": "0"}},
            "test/srv: env='TRANSFORMERS_OFFLINE' is set by the construct (the server runs offline from verified files). "
            "Allowed: names the construct does not own. Fix: use the typed prop or drop the variable.",
        ),
        (
            {"env": {"VLLM_API_KEY": SecretKeyRef("api", "key")}},
            "test/srv: env='VLLM_API_KEY' is set by the construct (api_key). Allowed: names the construct does not own. "
            "Fix: use the typed prop or drop the variable.",
        ),
        (
            {"env": {"HF_TOKEN": SecretKeyRef("hf", "token")}},
            "test/srv: env='HF_TOKEN' is set by the construct (hf_token, given to the download only: the server runs offline). "
            "Allowed: names the construct does not own. Fix: use the typed prop or drop the variable.",
        ),
        (
            {"env": {"VLLM_NO_USAGE_STATS": "0"}},
            "test/srv: env='VLLM_NO_USAGE_STATS' is set by the construct already. Allowed: names the construct does not set (it sets "
            "DO_NOT_TRACK, HF_HOME, HF_HUB_OFFLINE, HOME, TRANSFORMERS_OFFLINE, USER, VLLM_CACHE_ROOT, VLLM_CONFIG_ROOT, "
            "VLLM_NO_USAGE_STATS, XDG_CACHE_HOME). Fix: use the typed prop (hf_token, api_key, ...) or drop the variable.",
        ),
        (
            {"env_config": {"HOME": "/x"}},
            "test/srv: env_config='HOME' is set by the construct or env already (to '/home/vllm'), and container env wins over the "
            "ConfigMap. Allowed: names not otherwise set, or the same value. Fix: remove one of the two.",
        ),
        (
            {"model": ModelSource.s3("m/x", bucket="models"), "hf_token": SecretKeyRef("hf", "token")},
            "test/srv: hf_token='hf' is set, but the model source (S3Model) never uses a Hugging Face token. Allowed: hf_token only "
            "with ModelSource.huggingface(...). Fix: drop hf_token (S3 credentials go in ModelSource.s3(credentials=...)).",
        ),
        (
            {"model": ModelSource.pvc("weights"), "hf_token": SecretKeyRef("hf", "token")},
            "test/srv: hf_token='hf' is set, but the model source (PvcModel) never uses a Hugging Face token. Allowed: hf_token only "
            "with ModelSource.huggingface(...). Fix: drop hf_token (S3 credentials go in ModelSource.s3(credentials=...)).",
        ),
        (
            {"model": ModelSource.image("/m"), "hf_token": SecretKeyRef("hf", "token")},
            "test/srv: hf_token='hf' is set, but the model source (ImageModel) never uses a Hugging Face token. Allowed: hf_token only "
            "with ModelSource.huggingface(...). Fix: drop hf_token (S3 credentials go in ModelSource.s3(credentials=...)).",
        ),
        (
            {"model": ModelSource.image("/m"), "cache": ModelCache.pvc("10Gi")},
            "test/srv: cache='NewClaimCache' is set, but a ImageModel downloads nothing into it. Allowed: a cache only with "
            "ModelSource.huggingface(...) or ModelSource.s3(...). Fix: drop cache.",
        ),
        (
            {"download": ModelDownload(mode=DownloadMode.SERVER), "model": ModelSource.s3("m/x", bucket="models")},
            "test/srv: download.mode='server' lets vLLM download at start, but a S3Model is not a hub model. Allowed: "
            "DownloadMode.SERVER only with ModelSource.huggingface(...). Fix: use DownloadMode.JOB (or INIT_CONTAINER) for S3, or no "
            "download for pvc/image sources.",
        ),
    ],
)
def test_fails_when_props_are_invalid(new_chart: MakeChart, overrides: dict[str, Any], message: str) -> None:
    assert error(new_chart(), props(**overrides)) == message


def test_fails_when_two_servers_share_a_name_in_one_namespace(new_chart: MakeChart) -> None:
    chart = new_chart()
    VllmServer(chart, "a", props())
    before = chart_objects(chart)
    with pytest.raises(ConfigError) as info:
        VllmServer(chart, "b", props(names=ServerNames.helm_chart("other")))  # distinct object names, same selector
    assert str(info.value) == (
        "test/b: name='llm' is already used by test/a in namespace 'test', so the two would select each other's pods. "
        "Allowed: one server name per component and namespace. Fix: give each server a distinct name."
    )
    assert chart_objects(chart) == before
    assert [c.node.id for c in chart.node.children] == ["a"]


def test_fails_when_two_servers_emit_the_same_object(new_chart: MakeChart) -> None:
    chart = new_chart()
    VllmServer(chart, "a", props())
    before = chart_objects(chart)
    with pytest.raises(ConfigError) as info:
        VllmServer(chart, "b", props(name="other", names=ServerNames.for_server("llm")))
    assert str(info.value).startswith(
        "test/b: PersistentVolumeClaim/llm-model-cache='llm-model-cache' is emitted by test/a already in namespace 'test', and "
        "Kubernetes keeps one object per kind, namespace and name."
    )
    assert chart_objects(chart) == before
    assert len(chart.node.children) == 1


def test_fails_when_a_construct_id_is_taken(new_chart: MakeChart) -> None:
    chart = new_chart()
    VllmServer(chart, "srv", props())
    before = chart_objects(chart)
    with pytest.raises(ConfigError) as info:
        VllmServer(chart, "srv", props(name="other"))
    assert str(info.value) == (
        "test/srv: id='srv' is already used by another construct in test. Allowed: one construct per id in a scope. "
        "Fix: give each construct its own id."
    )
    assert chart_objects(chart) == before
    assert len(chart.node.children) == 1
    VllmServer(chart, "srv2", props(name="other"))  # the refused server claimed nothing


def test_servers_with_one_name_in_two_namespaces_are_fine() -> None:
    app = cdk8s.App()
    for ns in ("a", "b"):
        VllmServer(cdk8s.Chart(app, ns, namespace=ns, disable_resource_name_hashes=True), "srv", props())
    assert len(app.charts) == 2


def test_home_volume_follows_an_overridden_home() -> None:
    from vllm_constructs.core.server import plan_server  # noqa: PLC0415

    plan = plan_server("t/s", "t", props(env={"HOME": "/var/lib/vllm"}))
    pod = next(o for o in plan.objects if o.kind == "Deployment").body["spec"]["template"]["spec"]
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert mounts["home"] == "/var/lib/vllm"
    assert env["HOME"] == "/var/lib/vllm" and env["HF_HOME"] == "/var/lib/vllm/.cache/huggingface"


def test_home_inside_tmp_needs_no_home_volume_and_home_in_a_read_only_mount_is_refused() -> None:
    from vllm_constructs.core.server import plan_server  # noqa: PLC0415

    plan = plan_server("t/s", "t", props(env={"HOME": "/tmp/home"}))
    pod = next(o for o in plan.objects if o.kind == "Deployment").body["spec"]["template"]["spec"]
    assert "home" not in {v["name"] for v in pod["volumes"]}
    hub = ModelSource.huggingface("org/m", revision="main")
    with pytest.raises(ConfigError) as info:
        plan_server("t/s", "t", props(model=hub, env={"HOME": "/models/home"}))
    assert str(info.value).startswith("t/s: env='HOME' is '/models/home', inside /models, which is mounted read-only")
