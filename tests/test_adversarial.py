"""Adversarial inputs for every public value and props class: wrong types and hostile values in every field.

Each generated input must either raise ConfigError (nothing else: no TypeError, AttributeError, OverflowError, jsii
error) or build a value that, planted into a server, plans to objects that validate strictly on every supported
Kubernetes version (or is refused by the plan with ConfigError). Constructs given hostile scopes, ids and props raise
ConfigError and leave the App exactly as it was.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vllm_constructs as vc
from tests.api_rules import api_rule_errors
from tests.schemas import K8S_VERSIONS, is_builtin, k8s_errors
from vllm_constructs.core import autoscaling, model, values
from vllm_constructs.core.server import plan_server
from vllm_constructs.errors import ConfigError

EXAMPLES = int(os.environ.get("ADVERSARIAL_EXAMPLES", "40"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
COUNTS: dict[str, int] = {"refused": 0, "accepted": 0}

SERVER = vc.VllmServerProps(name="srv", model=vc.ModelSource.image("/models/m"), resources=vc.Resources(cpu="1", memory="4Gi"))


def _plan() -> Any:
    return plan_server("adv/srv", "adv", SERVER)


# A valid instance of every public class (and every kind of every closed union), as keyword arguments.
VALID: dict[type[Any], Callable[[], dict[str, Any]]] = {
    vc.Image: lambda: {"repository": "vllm/vllm-openai", "tag": "v0.33.0"},
    vc.Accelerator: lambda: {"resource": "nvidia.com/gpu", "product_label": "nvidia.com/gpu.product"},
    vc.AlertThresholds: dict,
    vc.ConfigMapKeyRef: lambda: {"name": "cm", "key": "k"},
    vc.ContainerPort: lambda: {"name": "grpc", "port": 9000},
    vc.EngineArgs: dict,
    vc.FieldRef: lambda: {"field_path": "status.podIP"},
    vc.GpuProductAffinity: lambda: {"products": ("NVIDIA-L4",)},
    vc.HealthChecks: dict,
    vc.KedaAuthentication: lambda: {"name": "auth"},
    vc.LwsRollout: dict,
    vc.ModelDownload: dict,
    vc.NcclSettings: dict,
    vc.PodOptions: dict,
    vc.Rdma: dict,
    vc.Resources: lambda: {"cpu": "1", "memory": "4Gi"},
    vc.S3Credentials: lambda: {"access_key_id": vc.SecretKeyRef("s3", "id"), "secret_access_key": vc.SecretKeyRef("s3", "key")},
    vc.ScalingBehavior: dict,
    vc.SecretKeyRef: lambda: {"name": "api", "key": "key"},
    vc.SecurityProfile: dict,
    vc.ServerNames: lambda: {"deployment": "d", "service": "s", "pdb": "p", "cache_claim": "c", "config_map": "m", "network_policy": "n"},
    vc.ServerNetworkPolicy: dict,
    vc.SharedMemory: lambda: {"enabled": True, "size": "1Gi"},
    vc.Toleration: lambda: {"key": "k"},
    vc.TopologySpread: dict,
    vc.Volume: lambda: {"name": "data", "mount_path": "/data"},
    vc.WorkloadLabels: lambda: {"instance": "srv"},
    vc.VllmServerProps: lambda: {"name": "srv", "model": vc.ModelSource.image("/m"), "resources": vc.Resources(cpu="1", memory="4Gi")},
    vc.RayClusterProps: lambda: {
        "name": "ray",
        "model": vc.ModelSource.image("/m"),
        "resources": vc.Resources(cpu="8", memory="64Gi"),
        "engine": vc.EngineArgs(tensor_parallel_size=8, pipeline_parallel_size=2),
    },
    vc.GpuDeploymentProps: lambda: {"name": "gd", "image": vc.Image("x/y", tag="1"), "resources": vc.Resources(cpu="1", memory="1Gi")},
    vc.ModelInitJobProps: lambda: {
        "server_name": "srv",
        "source": vc.ModelSource.huggingface("org/m", revision="main"),
        "claim_name": "cache",
        "image": vc.Image("x/y", tag="1"),
        "labels": vc.WorkloadLabels(instance="srv"),
    },
    vc.AutoscalerProps: lambda: {"target": _plan(), "scaling": vc.Scaling.cpu_memory(), "max_replicas": 2},
    vc.ObservabilityProps: lambda: {"server": _plan()},
    model.HuggingFaceModel: lambda: {"repo_id": "org/m", "revision": "main"},
    model.S3Model: lambda: {"path": "models/m", "bucket": "bucket-1"},
    model.PvcModel: lambda: {"claim_name": "models"},
    model.ImageModel: lambda: {"path": "/models/m"},
    model.NewClaimCache: lambda: {"size": "10Gi"},
    model.ExistingClaimCache: lambda: {"claim_name": "cache"},
    model.EmptyDirCache: lambda: {"size": "10Gi"},
    model.EphemeralCache: lambda: {"size": "10Gi"},
    values.RollingUpdate: dict,
    values.EnvFromConfigMap: lambda: {"name": "cm"},
    values.EnvFromSecret: lambda: {"name": "sec"},
    autoscaling.CpuMemoryScaling: dict,
    autoscaling.VllmMetricsScaling: lambda: {"targets": (("vllm:num_requests_waiting", 5.0),)},
    autoscaling.KedaScaling: lambda: {"prometheus_address": "http://prom:9090", "targets": (("vllm:num_requests_waiting", 5.0),)},
}

# Where an accepted value goes in a server, to plan it and validate what it renders.
PLANT: dict[type[Any], Callable[[Any], dict[str, Any]]] = {
    vc.Image: lambda v: {"image": v},
    vc.Resources: lambda v: {"resources": v},
    vc.EngineArgs: lambda v: {"engine": v},
    vc.HealthChecks: lambda v: {"health": v},
    vc.PodOptions: lambda v: {"pod": v},
    vc.ModelDownload: lambda v: {"download": v, "model": vc.ModelSource.huggingface("org/m", revision="main")},
    vc.ServerNetworkPolicy: lambda v: {"network_policy": v},
    vc.ServerNames: lambda v: {"names": v},
    vc.SecretKeyRef: lambda v: {"api_key": v},
    vc.SecurityProfile: lambda v: {"pod": vc.PodOptions(security=v)},
    vc.Toleration: lambda v: {"pod": vc.PodOptions(tolerations=(v,))},
    vc.TopologySpread: lambda v: {"pod": vc.PodOptions(topology_spread=(v,))},
    vc.SharedMemory: lambda v: {"pod": vc.PodOptions(shared_memory=v)},
    vc.ContainerPort: lambda v: {"extra_ports": (v,)},
    vc.Accelerator: lambda v: {"accelerator": v},
    vc.GpuProductAffinity: lambda v: {
        "pod": vc.PodOptions(gpu_products=v),
        "resources": vc.Resources(cpu="1", memory="4Gi", accelerators=1),
    },
    vc.VllmServerProps: lambda v: {"__props__": v},
    model.HuggingFaceModel: lambda v: {"model": v},
    model.S3Model: lambda v: {"model": v},
    model.PvcModel: lambda v: {"model": v},
    model.ImageModel: lambda v: {"model": v},
    model.NewClaimCache: lambda v: {"cache": v, "model": vc.ModelSource.huggingface("org/m", revision="main")},
    values.RollingUpdate: lambda v: {"rollout": v},
    values.EnvFromConfigMap: lambda v: {"env_from": (v,)},
    values.EnvFromSecret: lambda v: {"env_from": (v,)},
}

_STRINGS = [
    "",
    " ",
    "latest",
    "x\n",
    "srv\n",
    "\uff18",
    "a" * 300,
    "Bad_Name",
    "-1",
    "1e309",
    "16Gi\n",
    "hf_" + "A" * 34,
    "sk-" + "a" * 40,
    "AKIAABCDEFGHIJKLMNOP",
    "../etc",
    "/abs/path",
    "*.safetensors",
    "--max-model-len 4096",
    "nvidia.com/gpu",
    "memory",
    "ReadOnlyMany",
    "always",
    "recreate",
    "job",
    "0.0.0.0/0",
    "not-a-cidr",
    "http://x",
    "{{ .Release.Name }}",
]
HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([-1, 0, 1, 2**31 - 1, 2**31, 2**63, 10**15]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.5, 1.0]),
    st.text(max_size=20),
    st.sampled_from(_STRINGS),
    st.binary(max_size=8),
    st.lists(st.one_of(st.text(max_size=5), st.integers()), max_size=3),
    st.tuples(st.one_of(st.text(max_size=5), st.integers(), st.none())),
    st.dictionaries(st.one_of(st.text(max_size=5), st.integers()), st.one_of(st.text(max_size=5), st.integers(), st.none()), max_size=3),
    st.builds(object),
    st.sampled_from(
        [vc.SecretKeyRef("a", "b"), vc.Image("x/y", tag="1"), vc.Resources(cpu="1", memory="1Gi"), vc.ModelCache.empty_dir("1Gi")]
    ),
)


def _fields(cls: type[Any]) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _validate_plan(props: vc.VllmServerProps) -> None:
    try:
        plan = plan_server("adv/srv", "adv", props)
    except ConfigError:
        COUNTS["refused"] += 1
        return
    for obj in plan.objects:
        manifest = obj.manifest("adv")
        assert api_rule_errors(manifest) == [], (obj.kind, obj.name)
        if is_builtin(manifest):
            for version in K8S_VERSIONS:
                assert k8s_errors(manifest, version) == [], (obj.kind, obj.name, version)


def _plant(cls: type[Any], value: Any) -> None:
    planted = PLANT.get(cls)
    if planted is None:
        return
    extra = planted(value)
    if "__props__" in extra:
        _validate_plan(extra["__props__"])
        return
    base = {"name": "srv", "model": vc.ModelSource.image("/models/m"), "resources": vc.Resources(cpu="1", memory="4Gi")}
    try:
        props = vc.VllmServerProps(**{**base, **extra})
    except ConfigError:
        COUNTS["refused"] += 1
        return
    _validate_plan(props)


@pytest.mark.parametrize("cls", list(VALID), ids=lambda c: c.__name__)
@SETTINGS
@given(data=st.data())
def test_hostile_field_values_are_refused_or_render_valid_objects(cls: type[Any], data: st.DataObject) -> None:
    base = VALID[cls]()
    for name in _fields(cls):
        value = data.draw(HOSTILE, label=name)
        try:
            built = cls(**{**base, name: value})
        except ConfigError as err:
            COUNTS["refused"] += 1
            assert err.path == cls.__name__ and err.problems, err
            assert "Traceback" not in str(err) and "    at " not in str(err)
            continue
        COUNTS["accepted"] += 1
        _plant(cls, built)


@pytest.mark.parametrize("cls", list(VALID), ids=lambda c: c.__name__)
def test_unknown_and_missing_fields_are_refused(cls: type[Any]) -> None:
    base = VALID[cls]()
    with pytest.raises(ConfigError) as info:
        cls(**base, no_such_field=1)
    assert "is not a field of" in str(info.value)
    required = [f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    for name in required:
        with pytest.raises(ConfigError) as info:
            cls(**{k: v for k, v in base.items() if k != name})
        assert f"{name}='(missing)' is required" in str(info.value)


@pytest.mark.parametrize("base", [vc.ModelSource, vc.ModelCache, vc.RolloutStrategy, vc.EnvFrom, vc.Scaling], ids=lambda c: c.__name__)
@SETTINGS
@given(args=st.lists(HOSTILE, max_size=3))
def test_closed_unions_cannot_be_built_directly(base: type[Any], args: list[Any]) -> None:
    with pytest.raises(ConfigError) as info:
        base(*args)
    assert "cannot be built directly" in str(info.value)


def test_replace_revalidates() -> None:
    image = vc.Image("vllm/vllm-openai", tag="v0.33.0")
    with pytest.raises(ConfigError):
        dataclasses.replace(image, tag="latest")
    with pytest.raises(dataclasses.FrozenInstanceError):
        image.tag = "x"  # type: ignore[misc]


def test_the_generated_cases_covered_both_outcomes() -> None:
    """Runs last in this module: the generator produced refusals and accepted values (so neither path is vacuous)."""
    print(f"adversarial cases: {COUNTS['refused']} refused with ConfigError, {COUNTS['accepted']} accepted and validated")
    assert COUNTS["refused"] > 100
    assert COUNTS["accepted"] > 50


CONSTRUCTS = ["VllmServer", "RayCluster", "GpuDeployment", "ModelInitJob", "Autoscaler", "Observability"]


def _snapshot(app: Any) -> tuple[list[str], list[Any]]:
    import cdk8s  # noqa: PLC0415 - only the construct tests start jsii

    paths = sorted(c.node.path for c in app.node.find_all())
    docs = [doc for chart in app.charts for doc in chart.to_json()]
    assert isinstance(app, cdk8s.App)
    return paths, docs


@pytest.mark.parametrize("name", CONSTRUCTS)
@settings(max_examples=max(EXAMPLES // 4, 5), deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(scope=st.one_of(HOSTILE, st.just("chart")), construct_id=st.one_of(HOSTILE, st.just("x"), st.just("taken")), props=HOSTILE)
def test_constructs_refuse_hostile_scope_id_and_props_without_changing_the_app(
    name: str, scope: Any, construct_id: Any, props: Any
) -> None:
    import cdk8s  # noqa: PLC0415

    app = cdk8s.App()
    chart = cdk8s.Chart(app, "adv", namespace="adv")
    vc.VllmServer(
        chart, "taken", vc.VllmServerProps(name="taken", model=vc.ModelSource.image("/m"), resources=vc.Resources(cpu="1", memory="1Gi"))
    )
    before = _snapshot(app)
    with pytest.raises(ConfigError) as info:
        getattr(vc, name)(chart if scope == "chart" else scope, construct_id, props)
    assert "    at " not in str(info.value)
    assert _snapshot(app) == before
