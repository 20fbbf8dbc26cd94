"""Every hostile-but-realistic input reported against the untyped API, one test each: it now raises ConfigError (never
another exception), is refused instead of being accepted into invalid YAML, or is honoured instead of being lost."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import cdk8s
import pytest

from tests.conftest import chart_objects
from vllm_constructs import (
    Accelerator,
    Autoscaler,
    AutoscalerProps,
    ConfigError,
    EngineArgs,
    EnvFrom,
    LwsStartupPolicy,
    ModelCache,
    ModelDownload,
    ModelSource,
    MultiNodeBackend,
    Observability,
    ObservabilityProps,
    PodOptions,
    RayCluster,
    RayClusterProps,
    Resources,
    RolloutStrategy,
    Scaling,
    SecretKeyRef,
    SecurityProfile,
    ServerNames,
    ServerNetworkPolicy,
    VllmServer,
    VllmServerProps,
)
from vllm_constructs.core.observability import AlertThresholds
from vllm_constructs.core.server import plan_server

RES = Resources(cpu="1", memory="4Gi")
IMG = ModelSource.image("/models/m")


def props(**extra: Any) -> VllmServerProps:
    return VllmServerProps(**{"name": "srv", "model": IMG, "resources": RES, **extra})


def refused(build: Any) -> str:
    with pytest.raises(ConfigError) as info:
        build()
    return str(info.value)


def app_state(app: cdk8s.App) -> tuple[list[str], list[Any]]:
    return sorted(c.node.path for c in app.node.find_all()), [d for ch in app.charts for d in ch.to_json()]


# ------------------------------------------------------------------------------------------------ crashes


def test_two_servers_with_one_construct_id() -> None:
    app = cdk8s.App()
    chart = cdk8s.Chart(app, "t", namespace="t")
    VllmServer(chart, "srv", props())
    before = app_state(app)
    assert refused(lambda: VllmServer(chart, "srv", props(name="other"))) == (
        "t/srv: id='srv' is already used by another construct in t. Allowed: one construct per id in a scope. "
        "Fix: give each construct its own id."
    )
    assert app_state(app) == before


def test_keda_target_infinity_is_refused() -> None:
    message = refused(lambda: Scaling.keda("http://prom:9090", {"vllm:num_requests_waiting": math.inf}))
    assert message.startswith("KedaScaling: targets['vllm:num_requests_waiting']=inf is not a positive number")


def test_model_given_as_a_string() -> None:
    assert refused(lambda: props(model="org/m")).startswith("VllmServerProps: model='org/m' is a str. Allowed: ModelSource.huggingface(")


# ------------------------------------------------------------------------------------------------ accepted before, refused now


@pytest.mark.parametrize(
    ("build", "start"),
    [
        (lambda: ModelSource("hugginface", "org/m", revision="main"), "ModelSource: (kind)='hugginface' cannot be built directly"),
        (lambda: ModelCache(kind="pvc"), "ModelCache: (kind)={'kind': 'pvc'} cannot be built directly"),
        (
            lambda: EngineArgs(extra_args="--enable-prefix-caching"),
            "EngineArgs: extra_args='--enable-prefix-caching' is a str, not a tuple",
        ),
        (lambda: SecurityProfile(add_capabilities="IPC_LOCK"), "SecurityProfile: add_capabilities='IPC_LOCK' is a str, not a tuple"),
        (lambda: PodOptions(image_pull_secrets="regcred"), "PodOptions: image_pull_secrets='regcred' is a str, not a tuple"),
        (
            lambda: ModelSource.huggingface("org/m", revision="main", include="*.safetensors"),
            "HuggingFaceModel: include='*.safetensors' is a str",
        ),
        (lambda: Resources(cpu="1", memory="16Gi\n"), "Resources: memory='16Gi\\n' is not a Kubernetes quantity"),
        (lambda: Resources(cpu="\uff18", memory="1Gi"), "Resources: cpu='\uff18' is not a Kubernetes quantity"),
        (lambda: props(name="srv\n"), "VllmServerProps: name='srv\\n' is not a DNS-1035 label"),
        (lambda: props(replicas=2**31), "VllmServerProps: replicas=2147483648 is out of range"),
        (lambda: EngineArgs(max_model_len=10**15), "EngineArgs: max_model_len=1000000000000000 is out of range"),
        (lambda: SecurityProfile(fs_group="2000"), "SecurityProfile: fs_group='2000' is a str"),
        (lambda: SecurityProfile(run_as_user=-5), "SecurityProfile: run_as_user=-5 is out of range"),
        (lambda: PodOptions(pod_annotations={"a": 1}), "PodOptions: pod_annotations['a']=1 is an int"),
        (lambda: ServerNetworkPolicy(egress_cidrs=("not-a-cidr",)), "ServerNetworkPolicy: egress_cidrs[0]='not-a-cidr' is not a CIDR"),
        (lambda: SecretKeyRef("", ""), "SecretKeyRef: name='' is not a DNS-1123 subdomain"),
        (lambda: AlertThresholds(waiting_requests=math.nan), "AlertThresholds: waiting_requests=nan is not a finite number"),
        (lambda: RolloutStrategy("recreate"), "RolloutStrategy: (kind)='recreate' cannot be built directly"),
        (lambda: Accelerator("memory", "x"), "Accelerator: resource='memory' is not an extended resource name"),
        (lambda: ModelDownload(env={"MODEL_DIR": "/elsewhere"}), "ModelDownload: env={'MODEL_DIR': '/elsewhere'} redefines MODEL_DIR"),
        (
            lambda: PodOptions(labels={"app.kubernetes.io/name": "x"}),
            "PodOptions: labels['app.kubernetes.io/name']='app.kubernetes.io/name' is a label the construct sets",
        ),
        (lambda: props(env={"HF_TOKEN": "hf_" + "a" * 34}), "VllmServerProps: env['HF_TOKEN']=<str, redacted> is a literal secret"),
        (lambda: props(env_config={"HF_TOKEN": "x"}), "VllmServerProps: env_config['HF_TOKEN']=<str, redacted> is a secret"),
        (lambda: EngineArgs(extra_args=("--hf-token=hf_" + "a" * 34,)), "EngineArgs: extra_args=<str, redacted> holds a secret"),
        (
            lambda: EngineArgs(extra_args=("--max-model-len 4096",)),
            "EngineArgs: extra_args='--max-model-len 4096' puts a flag and its value in one string",
        ),
        (
            lambda: EngineArgs(enforce_eager=True, extra_args=("--no-enforce-eager",)),
            "EngineArgs: extra_args='--no-enforce-eager' repeats or contradicts",
        ),
        (
            lambda: EngineArgs(extra_args=("--data-parallel-size=2",)),
            "EngineArgs: extra_args='--data-parallel-size' repeats or contradicts",
        ),
        (lambda: EnvFrom("configMapRef", "x"), "EnvFrom: (kind)='configMapRef' cannot be built directly"),
    ],
)
def test_refused_at_construction(build: Any, start: str) -> None:
    message = refused(build)
    assert message.startswith(start), message
    assert "hf_aaaa" not in message


def test_chart_namespace_is_checked_when_the_server_is_created() -> None:
    app = cdk8s.App()
    chart = cdk8s.Chart(app, "t", namespace="Bad_NS")
    assert refused(lambda: VllmServer(chart, "s", props())).startswith("t/s: namespace='Bad_NS' (the chart's) is not a DNS-1123 label")
    assert chart_objects(chart) == []


def test_lws_leader_ready_given_as_a_plain_string_still_hits_the_deadlock_guard() -> None:
    p = RayClusterProps(
        name="ray",
        model=IMG,
        resources=Resources(cpu="8", memory="64Gi"),
        engine=EngineArgs(tensor_parallel_size=8, pipeline_parallel_size=2),
        backend="lws",  # type: ignore[arg-type]
        lws_startup_policy="LeaderReady",  # type: ignore[arg-type]
    )
    assert p.backend is MultiNodeBackend.LWS and p.lws_startup_policy is LwsStartupPolicy.LEADER_READY
    app = cdk8s.App()
    chart = cdk8s.Chart(app, "t", namespace="t")
    assert "lws_startup_policy='LeaderReady' would never start the workers" in refused(lambda: RayCluster(chart, "r", p))


def test_data_parallel_beyond_the_accelerators_is_refused() -> None:
    p = props(engine=EngineArgs(data_parallel_size=2), resources=Resources(cpu="4", memory="16Gi", accelerators=1))
    assert "= 2 does not match the 1 accelerators per pod" in refused(lambda: plan_server("t/srv", "t", p))


def test_multinode_flags_in_extra_args_are_refused() -> None:
    p = RayClusterProps(
        name="ray",
        model=IMG,
        resources=Resources(cpu="8", memory="64Gi"),
        engine=EngineArgs(tensor_parallel_size=8, pipeline_parallel_size=2, extra_args=("--nnodes", "3")),
    )
    app = cdk8s.App()
    chart = cdk8s.Chart(app, "t", namespace="t")
    assert "t/r: engine.extra_args='--nnodes' repeats a flag the construct renders for the multi-node layout" in refused(
        lambda: RayCluster(chart, "r", p)
    )


# ------------------------------------------------------------------------------------------------ lost before, honoured or refused now


def test_recreate_and_download_mode_strings_are_honoured() -> None:
    assert ModelDownload(mode="job").mode.value == "job"  # type: ignore[arg-type]
    plan = plan_server("t/srv", "t", props(rollout=RolloutStrategy.recreate()))
    deployment = next(o for o in plan.objects if o.kind == "Deployment")
    assert deployment.body["spec"]["strategy"] == {"type": "Recreate"}


def test_hf_token_on_an_s3_model_is_refused() -> None:
    p = props(model=ModelSource.s3("models/m", bucket="bucket-1"), hf_token=SecretKeyRef("hf", "token"))
    assert "hf_token='hf' is set, but the model source (S3Model) never uses a Hugging Face token" in refused(
        lambda: plan_server("t/srv", "t", p)
    )


# ------------------------------------------------------------------------------------------------ collisions


def test_two_servers_sharing_explicit_names_are_refused() -> None:
    app = cdk8s.App()
    chart = cdk8s.Chart(app, "t", namespace="t")
    names = ServerNames(deployment="a", service="shared", pdb="a", cache_claim="a-c", config_map="a-e", network_policy="a")
    VllmServer(chart, "one", props(name="one", names=names))
    before = app_state(app)
    other = dataclasses.replace(names, deployment="b", pdb="b", cache_claim="b-c", config_map="b-e", network_policy="b")
    assert "t/two: Service/shared='shared' is emitted by t/one already" in refused(
        lambda: VllmServer(chart, "two", props(name="two", names=other))
    )
    assert app_state(app) == before


def test_two_autoscalers_with_one_name_collide() -> None:
    app = cdk8s.App()
    chart = cdk8s.Chart(app, "t", namespace="t")
    a = VllmServer(chart, "a", props(name="a"))
    b = VllmServer(chart, "b", props(name="b"))
    Autoscaler(chart, "sa", AutoscalerProps(target=a, scaling=Scaling.cpu_memory(), max_replicas=1, name="hpa"))
    before = app_state(app)
    assert "HorizontalPodAutoscaler/hpa='hpa' is emitted by t/sa already" in refused(
        lambda: Autoscaler(chart, "sb", AutoscalerProps(target=b, scaling=Scaling.cpu_memory(), max_replicas=1, name="hpa"))
    )
    assert app_state(app) == before


def test_observability_added_twice_is_refused() -> None:
    app = cdk8s.App()
    chart = cdk8s.Chart(app, "t", namespace="t")
    server = VllmServer(chart, "s", props())
    Observability(chart, "o1", ObservabilityProps(server=server))
    before = app_state(app)
    assert "t/o2: server='srv' already has Observability (t/o1)" in refused(
        lambda: Observability(chart, "o2", ObservabilityProps(server=server))
    )
    assert app_state(app) == before


def test_no_namespace_and_default_namespace_are_one_namespace() -> None:
    app = cdk8s.App()
    VllmServer(cdk8s.Chart(app, "a"), "s", props())
    before = app_state(app)
    assert "in namespace 'default'" in refused(lambda: VllmServer(cdk8s.Chart(app, "b", namespace="default"), "s", props()))
    assert sorted(c.node.path for c in app.node.find_all()) == [*before[0], "b"]


def test_a_duplicate_server_name_leaves_no_half_manifest() -> None:
    app = cdk8s.App()
    chart = cdk8s.Chart(app, "t", namespace="t")
    hub = ModelSource.huggingface("org/m", revision="main")
    VllmServer(chart, "a", props(model=hub))
    before = app_state(app)
    refused(lambda: VllmServer(chart, "b", props(model=hub)))
    assert app_state(app) == before


# ------------------------------------------------------------------------------------------------ messages point at the input


def test_shared_memory_problem_names_the_memory_the_user_set() -> None:
    p = props(resources=Resources(cpu="4", memory="1Mi", accelerators=2), engine=EngineArgs(tensor_parallel_size=2))
    message = refused(lambda: plan_server("t/srv", "t", p))
    assert message.startswith("t/srv: resources.memory='1Mi' leaves no room for the /dev/shm")


def test_kubernetes_json_is_refused_in_the_same_words_from_props_and_from_a_values_file(tmp_path: Any) -> None:
    from vllm_constructs.chart import template  # noqa: PLC0415

    with pytest.raises(ConfigError) as from_props:
        PodOptions(affinity={"nodeAffinity": {"weight": math.nan}})
    values = tmp_path / "values.yaml"
    values.write_text("affinity:\n  nodeAffinity:\n    weight: .nan\n")
    with pytest.raises(ConfigError) as from_values:
        template("demo", files=[values])
    for err in (from_props.value, from_values.value):
        assert "holds a non-finite number at nodeAffinity.weight" in str(err), str(err)
        assert "Fix: remove NaN or infinity (.nan, .inf)." in str(err), str(err)
    with pytest.raises(ConfigError, match=r"has the key 1, which is not a string"):
        PodOptions(affinity={"nodeAffinity": {1: "x"}})
