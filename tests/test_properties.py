"""Property tests: generated configurations of VllmServer always synthesize objects that validate strictly for
every supported Kubernetes version and keep the invariants; generated invalid ones raise ConfigError naming the
field, never another exception, and never leave partial output."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import cdk8s
import pytest
from hypothesis import HealthCheck, given, settings

from tests.conftest import by_kind, chart_objects
from tests.refusals import refused
from tests.schemas import K8S_VERSIONS, k8s_errors
from tests.strategies import valid_props
from vllm_constructs import (
    ConfigError,
    EngineArgs,
    HealthChecks,
    Image,
    KedaAuthentication,
    ModelCache,
    ModelDownload,
    ModelSource,
    PodOptions,
    Resources,
    RolloutStrategy,
    SecretKeyRef,
    ServerNetworkPolicy,
    VllmServer,
    VllmServerProps,
    Volume,
    WorkloadLabels,
)

EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "1000"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


def _synth(props: VllmServerProps, namespace: str = "ns") -> list[dict[str, Any]]:
    app = cdk8s.App()
    chart = cdk8s.Chart(app, "c", namespace=namespace, disable_resource_name_hashes=True)
    VllmServer(chart, "s", props)
    return chart_objects(chart)


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


SECRETISH = re.compile(r"(hf_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}|sk-[A-Za-z0-9]{20,}|-----BEGIN [A-Z ]*PRIVATE KEY)")


@SETTINGS
@given(valid_props())
def test_valid_configurations_validate_and_keep_invariants(props: VllmServerProps) -> None:
    objects = _synth(props)
    for obj in objects:
        for version in K8S_VERSIONS:
            assert k8s_errors(obj, version) == [], (obj["kind"], version)
    (dep,) = by_kind(objects, "Deployment")
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    pod = dep["spec"]["template"]["spec"]
    main = pod["containers"][0]
    # selectors select exactly this server's pods
    assert _selects(dep["spec"]["selector"]["matchLabels"], pod_labels)
    for svc in by_kind(objects, "Service"):
        assert _selects(svc["spec"]["selector"], pod_labels)
    for pdb in by_kind(objects, "PodDisruptionBudget"):
        assert pdb["spec"]["selector"]["matchLabels"] and _selects(pdb["spec"]["selector"]["matchLabels"], pod_labels)
    for job in by_kind(objects, "Job"):
        assert not _selects(dep["spec"]["selector"]["matchLabels"], job["spec"]["template"]["metadata"]["labels"])
    # accelerator request == limit, present exactly when requested
    acc = props.accelerator.resource
    if props.resources.accelerators:
        assert main["resources"]["requests"][acc] == main["resources"]["limits"][acc] == str(props.resources.accelerators)
    else:
        assert acc not in main["resources"]["requests"] and acc not in main["resources"]["limits"]
    # /dev/shm whenever parallel
    if props.engine.world_size > 1:
        assert any(m["mountPath"] == "/dev/shm" for m in main["volumeMounts"])
    # probes name a port the container exposes
    port_names = {p["name"] for p in main["ports"]}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert main[probe]["httpGet"]["port"] in port_names
    assert main["startupProbe"]["periodSeconds"] * main["startupProbe"]["failureThreshold"] >= props.health.startup_timeout_seconds
    assert pod["enableServiceLinks"] is False
    # no secret values: no Secret objects, secret-bearing env only as references
    assert by_kind(objects, "Secret") == []
    secret_volumes = {v["name"] for v in pod.get("volumes", []) if "secret" in v}
    for container in [*pod.get("initContainers", []), *pod["containers"]]:
        secret_dirs = [m["mountPath"] + "/" for m in container.get("volumeMounts", []) if m["name"] in secret_volumes]
        for env in container.get("env", []):
            if any(word in env["name"] for word in ("TOKEN", "KEY", "SECRET", "PASSWORD")) and env["name"] != "AWS_EC2_METADATA_DISABLED":
                # a reference to a Secret: valueFrom, or a path into a mounted Secret volume
                assert "valueFrom" in env or any(env["value"].startswith(d) for d in secret_dirs), env
    assert not SECRETISH.search(str(objects))


# (where the ConfigError is raised: "construct" or the value class, field, the overrides built lazily)
Case = tuple[str, str, Callable[[], dict[str, Any]]]
INVALID: list[Case] = [
    # values a value class refuses when built
    ("VllmServerProps", "name", lambda: {"name": "Bad_Name"}),
    ("Resources", "memory", lambda: {"resources": Resources(cpu="1", memory="lots")}),
    ("EngineArgs", "gpu_memory_utilization", lambda: {"engine": EngineArgs(gpu_memory_utilization=2.0)}),
    ("EngineArgs", "extra_args", lambda: {"engine": EngineArgs(extra_args=("--dtype=half",))}),
    ("S3Model", "path", lambda: {"model": ModelSource.s3("/", bucket="b12")}),
    ("HealthChecks", "startup_timeout_seconds", lambda: {"health": HealthChecks(startup_timeout_seconds=1)}),
    ("VllmServerProps", "port", lambda: {"port": 0}),
    # values refused in context, when the construct is created
    ("construct", "engine.tensor_parallel_size", lambda: {"engine": EngineArgs(tensor_parallel_size=3)}),
    ("construct", "name", lambda: {"name": "vllm"}),
    ("construct", "cache.access_mode", lambda: {"replicas": 2}),
    ("construct", "rollout.max_surge", lambda: {"rollout": RolloutStrategy.rolling(max_surge=1)}),
    ("construct", "env", lambda: {"env": {"HF_HUB_OFFLINE": "0"}}),
    ("construct", "download.mode", lambda: {"model": ModelSource.s3("a/b", bucket="b12"), "download": ModelDownload(mode="server")}),
    ("construct", "cache", lambda: {"model": ModelSource.pvc("weights")}),
    # wrong types: a str where a tuple goes, a float or a bool where an int goes, NaN and infinity, ints beyond int32
    ("EngineArgs", "extra_args", lambda: {"engine": EngineArgs(extra_args="--enforce-eager")}),
    ("VllmServerProps", "extra_ports", lambda: {"extra_ports": "http"}),
    ("ModelDownload", "args", lambda: {"download": ModelDownload(args="echo hi")}),
    ("ServerNetworkPolicy", "egress_cidrs", lambda: {"network_policy": ServerNetworkPolicy(egress_cidrs="10.0.0.0/8")}),
    ("VllmServerProps", "replicas", lambda: {"replicas": 2.0}),
    ("VllmServerProps", "port", lambda: {"port": 8000.0}),
    ("HealthChecks", "startup_timeout_seconds", lambda: {"health": HealthChecks(startup_timeout_seconds=60.5)}),
    ("VllmServerProps", "replicas", lambda: {"replicas": True}),
    ("EngineArgs", "tensor_parallel_size", lambda: {"engine": EngineArgs(tensor_parallel_size=True)}),
    ("Resources", "accelerators", lambda: {"resources": Resources(cpu="4", memory="1Gi", accelerators=True)}),
    ("VllmServerProps", "pdb_max_unavailable", lambda: {"pdb_max_unavailable": True}),
    ("EngineArgs", "gpu_memory_utilization", lambda: {"engine": EngineArgs(gpu_memory_utilization=float("nan"))}),
    ("EngineArgs", "gpu_memory_utilization", lambda: {"engine": EngineArgs(gpu_memory_utilization=float("inf"))}),
    ("VllmServerProps", "env_config['A']", lambda: {"env_config": {"A": float("nan")}}),
    ("VllmServerProps", "replicas", lambda: {"replicas": 2**31}),
    ("VllmServerProps", "progress_deadline_seconds", lambda: {"progress_deadline_seconds": 2**40}),
    ("EngineArgs", "max_model_len", lambda: {"engine": EngineArgs(max_model_len=2**31)}),
    ("HealthChecks", "startup_timeout_seconds", lambda: {"health": HealthChecks(startup_timeout_seconds=2**63)}),
    # malformed names: a trailing newline, digits of other scripts, look-alike letters
    ("VllmServerProps", "name", lambda: {"name": "llama\n"}),
    ("VllmServerProps", "name", lambda: {"name": "llama-\u0663"}),
    ("VllmServerProps", "name", lambda: {"name": "\uff4clama"}),
    ("PvcModel", "claim_name", lambda: {"model": ModelSource.pvc("claim\n")}),
    ("HuggingFaceModel", "revision", lambda: {"model": ModelSource.huggingface("org/model", revision="main\n")}),
    ("SecretKeyRef", "name", lambda: {"api_key": SecretKeyRef("api\n", "key")}),
    ("PodOptions", "labels['team']", lambda: {"pod": PodOptions(labels={"team": "a\n"})}),
    ("VllmServerProps", "env['FOO\\n']", lambda: {"env": {"FOO\n": "x"}}),
    ("Resources", "memory", lambda: {"resources": Resources(cpu="4", memory="\u0664Gi")}),
    ("NewClaimCache", "size", lambda: {"cache": ModelCache.pvc("10Gi\n")}),
    ("Image", "tag", lambda: {"image": Image("vllm/vllm-openai", tag="v1\n")}),
    # other shapes where a value class goes
    ("VllmServerProps", "model", lambda: {"model": "org/model"}),
    ("VllmServerProps", "resources", lambda: {"resources": {"cpu": "4", "memory": "1Gi"}}),
    ("VllmServerProps", "rollout", lambda: {"rollout": "RollingUpdate"}),
    ("VllmServerProps", "engine", lambda: {"engine": None}),
    ("VllmServerProps", "env", lambda: {"env": [("FOO", "x")]}),
    ("VllmServerProps", "replica", lambda: {"replica": 2}),
]


@pytest.mark.parametrize("bad", INVALID, ids=[f"{c[0]}.{c[1]}-{i}" for i, c in enumerate(INVALID)])
@settings(max_examples=max(EXAMPLES // 100, 4), deadline=None, derandomize=True)
@given(props=valid_props())
def test_invalid_configurations_raise_config_error_naming_the_field(props: VllmServerProps, bad: Case) -> None:
    """Every case, on several generated servers: a ConfigError (never another exception) naming the field where it is
    refused (the value class when built, the construct path in context), one line per problem, and no object added."""
    where, field, overrides = bad
    base = {
        "name": props.name,
        "model": ModelSource.huggingface("org/model", revision="main"),
        "resources": Resources(cpu="4", memory="32Gi", accelerators=1),
        "cache": ModelCache.pvc("10Gi", access_mode="ReadWriteOnce"),
    }
    app = cdk8s.App()
    chart = cdk8s.Chart(app, "c", namespace="ns", disable_resource_name_hashes=True)
    error = refused(chart, lambda: VllmServer(chart, "s", VllmServerProps(**{**base, **overrides()})))
    assert error.field == field, str(error)
    path = "c/s" if where == "construct" else where
    assert error.path == path
    assert str(error).startswith(f"{path}: {field}=")
    assert "\n" not in str(error) or str(error).count("\n") == len(error.problems) - 1


# Value classes whose annotations name something defined later in their module: pydantic completes them on first use
# (and then installs its own __init__). Each must refuse with ConfigError on every construction, not only the first.
_IMAGE_MODEL = ModelSource.image("/opt/model")
DEFERRED: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
    (
        "VllmServerProps",
        lambda: VllmServerProps(name="ok", model=_IMAGE_MODEL, resources=Resources(cpu="1", memory="1Gi")),
        lambda: VllmServerProps(name="Bad_Name", model=_IMAGE_MODEL, resources=Resources(cpu="1", memory="1Gi")),
    ),
    ("KedaAuthentication", lambda: KedaAuthentication(name="auth"), lambda: KedaAuthentication(name="auth\n")),
    ("WorkloadLabels", lambda: WorkloadLabels(instance="llama"), lambda: WorkloadLabels(instance="llama\n")),
    ("Volume", lambda: Volume(name="data", mount_path="/data"), lambda: Volume(name="data", mount_path="data")),
]


@pytest.mark.parametrize(("name", "good", "bad"), DEFERRED, ids=[d[0] for d in DEFERRED])
def test_a_value_class_refuses_with_config_error_on_every_construction(
    name: str, good: Callable[[], object], bad: Callable[[], object]
) -> None:
    for _ in range(3):
        good()
        with pytest.raises(ConfigError) as info:
            bad()
        assert info.value.path == name
