"""Property tests of RayCluster on every backend: generated valid configurations synthesize objects that validate
strictly (built-in kinds for every supported Kubernetes version, custom resources against their CRD) and keep the
invariants; generated invalid ones raise ConfigError naming the field and leave no objects."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cdk8s
import pytest
from hypothesis import HealthCheck, given, settings

from tests.conftest import by_kind, chart_objects
from tests.refusals import refused
from tests.schemas import K8S_VERSIONS, crd_errors, is_builtin, k8s_errors
from tests.strategies import ray_props
from tests.test_properties import SECRETISH
from vllm_constructs import (
    Accelerator,
    EngineArgs,
    LwsRollout,
    LwsStartupPolicy,
    ModelCache,
    ModelSource,
    MultiNodeBackend,
    NcclSettings,
    PodOptions,
    RayCluster,
    RayClusterProps,
    Rdma,
    Resources,
    SharedMemory,
)
from vllm_constructs.lint import Severity, lint
from vllm_constructs.ray_cluster import LWS_INDEX_LABEL, LWS_NAME_LABEL

EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "200"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
ACCELERATORS = (Accelerator.nvidia(), Accelerator.amd(), Accelerator.intel_gaudi())
SECRET_WORDS = re.compile(r"TOKEN|KEY|SECRET|PASSWORD|CREDENTIAL")


def _templates(obj: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    if obj["kind"] == "RayCluster":
        return obj["spec"]["headGroupSpec"]["template"], obj["spec"]["workerGroupSpecs"][0]["template"]
    lwt = obj["spec"]["leaderWorkerTemplate"]
    return lwt["leaderTemplate"], lwt["workerTemplate"]


def _containers(template: dict[str, Any]) -> list[dict[str, Any]]:
    pod = template["spec"]
    return [*pod.get("initContainers", []), *pod["containers"]]


def build(props: RayClusterProps) -> tuple[cdk8s.Chart, list[dict[str, Any]]]:
    app = cdk8s.App()
    chart = cdk8s.Chart(app, "c", namespace="ns", disable_resource_name_hashes=True)
    RayCluster(chart, "r", props)
    return chart, chart_objects(chart)


@SETTINGS
@given(ray_props())
def test_valid_multinode_configurations_validate_and_keep_invariants(crd_dir: Path, props: RayClusterProps) -> None:
    chart, objects = build(props)
    for obj in objects:
        if is_builtin(obj):
            for version in K8S_VERSIONS:
                assert k8s_errors(obj, version) == [], (obj["kind"], version)
        else:
            assert crd_errors(obj, crd_dir) == [], obj["kind"]
    kind = "RayCluster" if props.backend is MultiNodeBackend.KUBERAY else "LeaderWorkerSet"
    (workload,) = by_kind(objects, kind)
    (service,) = by_kind(objects, "Service")
    serving, worker = _templates(workload)
    name = workload["metadata"]["name"]
    # the Service selects the head/leader only: labels the operator forces on it and on no worker pod
    if kind == "RayCluster":
        assert service["spec"]["selector"] == {"ray.io/cluster": name, "ray.io/node-type": "head"}
    else:
        assert service["spec"]["selector"] == {LWS_NAME_LABEL: name, LWS_INDEX_LABEL: "0"}
    for template in (serving, worker):
        assert not set(service["spec"]["selector"]) & set(template["metadata"].get("labels", {}))
    acc = props.accelerator.resource
    for template, is_serving in ((serving, True), (worker, False)):
        pod = template["spec"]
        main = pod["containers"][0]
        # /dev/shm, memory-backed, on every pod template
        memory_volumes = {v["name"] for v in pod["volumes"] if v.get("emptyDir", {}).get("medium") == "Memory"}
        assert any(m["mountPath"] == "/dev/shm" and m["name"] in memory_volumes for m in main["volumeMounts"])
        # accelerator (and RDMA) request == limit
        res = main["resources"]
        assert res["requests"][acc] == res["limits"][acc] == str(props.accelerators_per_node)
        if props.rdma is not None:
            assert res["requests"][props.rdma.resource] == res["limits"][props.rdma.resource] == str(props.rdma.count)
        assert pod["enableServiceLinks"] is False
        # readiness only on the serving pod's main container
        for container in _containers(template):
            has_readiness = "readinessProbe" in container
            assert has_readiness == (is_serving and container is main), (container["name"], is_serving)
        # no secret values
        for container in _containers(template):
            for env in container.get("env", []):
                if SECRET_WORDS.search(env["name"]):
                    assert "valueFrom" in env and "value" not in env, env
    assert by_kind(objects, "Secret") == []
    assert not SECRETISH.search(str(objects))
    assert len(by_kind(objects, "Job")) == (1 if props.model.downloads else 0)
    for pvc in by_kind(objects, "PersistentVolumeClaim"):
        assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    assert [f for f in lint(chart) if f.severity is Severity.ERROR] == []


HF = ModelSource.huggingface("org/model", revision="a" * 40)
SECRETS = re.compile(r"hf_x|sk-y|hf_z|hf_q")
# (where the ConfigError is raised: "construct" or the value class, field, the change to a valid configuration built lazily)
Case = tuple[str, str, Callable[[RayClusterProps], RayClusterProps]]


def change(**overrides: Any) -> Callable[[RayClusterProps], RayClusterProps]:
    return lambda props: dataclasses.replace(props, **overrides)


INVALID: list[Case] = [
    # refused when the props are built
    ("RayClusterProps", "name", change(name="Bad_Name")),
    ("RayClusterProps", "nodes", change(nodes=1)),
    ("RayClusterProps", "accelerators_per_node", change(accelerators_per_node=0)),
    ("RayClusterProps", "cluster_timeout_seconds", change(cluster_timeout_seconds=5)),
    ("RayClusterProps", "hf_token", change(hf_token="hf_" + "x" * 34)),
    ("RayClusterProps", "api_key", change(api_key="sk-" + "y" * 40)),
    ("HuggingFaceModel", "token", lambda p: dataclasses.replace(p, model=dataclasses.replace(HF, token="hf_" + "z" * 34))),
    ("RayClusterProps", "env['HF_TOKEN']", change(env={"HF_TOKEN": "hf_" + "q" * 34})),
    ("NcclSettings", "socket_ifname", lambda p: dataclasses.replace(p, nccl=NcclSettings(socket_ifname="eth0; rm -rf /"))),
    # refused in context, when the construct is created
    ("construct", "resources.accelerators", lambda p: dataclasses.replace(p, resources=Resources(cpu="4", memory="16Gi", accelerators=3))),
    # no generated layout has 5 accelerators
    ("construct", "engine.tensor_parallel_size", change(engine=EngineArgs(tensor_parallel_size=5))),
    ("construct", "engine.extra_args", lambda p: dataclasses.replace(p, engine=dataclasses.replace(p.engine, extra_args=("--nnodes=2",)))),
    ("construct", "ray_port", lambda p: dataclasses.replace(p, ray_port=p.port)),
    ("construct", "replicas", change(backend=MultiNodeBackend.KUBERAY, replicas=2)),
    ("construct", "lws_startup_policy", change(backend=MultiNodeBackend.LWS, lws_startup_policy=LwsStartupPolicy.LEADER_READY)),
    ("construct", "cache", lambda p: dataclasses.replace(p, model=HF, cache=ModelCache.empty_dir("10Gi"))),
    (
        "construct",
        "cache.access_mode",
        lambda p: dataclasses.replace(p, model=HF, cache=ModelCache.pvc("10Gi", access_mode="ReadWriteOnce")),
    ),
    ("construct", "pod.shared_memory", lambda p: dataclasses.replace(p, pod=PodOptions(shared_memory=SharedMemory.disabled()))),
    ("construct", "env", change(env={"VLLM_HOST_IP": "10.0.0.1"})),  # the pod IP, on every backend
    # wrong types: a str where a tuple goes, a float or a bool where an int goes, NaN and infinity, ints beyond int32
    (
        "HuggingFaceModel",
        "include",
        lambda p: dataclasses.replace(p, model=ModelSource.huggingface("org/model", revision="main", include="*.json")),
    ),
    ("EngineArgs", "extra_args", lambda p: dataclasses.replace(p, engine=EngineArgs(extra_args="--enable-chunked-prefill"))),
    ("RayClusterProps", "nodes", change(nodes=2.0)),
    ("RayClusterProps", "ray_port", change(ray_port=6379.0)),
    ("Rdma", "count", lambda p: dataclasses.replace(p, rdma=Rdma(count=1.0))),
    ("RayClusterProps", "nodes", change(nodes=True)),
    ("RayClusterProps", "replicas", change(replicas=False)),
    ("RayClusterProps", "ray_port", change(ray_port=float("nan"))),
    ("RayClusterProps", "cluster_timeout_seconds", change(cluster_timeout_seconds=float("inf"))),
    ("RayClusterProps", "accelerators_per_node", change(accelerators_per_node=2**32)),
    ("LwsRollout", "partition", lambda p: dataclasses.replace(p, lws_rollout=LwsRollout(partition=2**31))),
    ("LwsRollout", "max_surge", lambda p: dataclasses.replace(p, lws_rollout=LwsRollout(max_surge=0.5))),
    # malformed names: a trailing newline, digits of other scripts
    ("RayClusterProps", "name", change(name="big\n")),
    ("RayClusterProps", "name", change(name="big-\u0663")),
    ("NcclSettings", "socket_ifname", lambda p: dataclasses.replace(p, nccl=NcclSettings(socket_ifname="eth0\n"))),
    ("Rdma", "hca", lambda p: dataclasses.replace(p, rdma=Rdma(hca="mlx5\n"))),
    ("PvcModel", "claim_name", lambda p: dataclasses.replace(p, model=ModelSource.pvc("weights\n"))),
    # other shapes where a value class or an enum goes
    ("RayClusterProps", "backend", change(backend="slurm")),
    ("RayClusterProps", "nccl", change(nccl="eth0")),
    ("RayClusterProps", "model", change(model=("org/model",))),
]


@pytest.mark.parametrize("bad", INVALID, ids=[f"{c[0]}.{c[1]}-{i}" for i, c in enumerate(INVALID)])
@settings(max_examples=max(EXAMPLES // 40, 4), deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(props=ray_props())
def test_invalid_multinode_configurations_raise_config_error_naming_the_field(props: RayClusterProps, bad: Case) -> None:
    """Every case, on several generated clusters: a ConfigError (never another exception) naming the field where it is
    refused, a rejected secret never echoed, and no object added."""
    where, field, make = bad
    app = cdk8s.App()
    chart = cdk8s.Chart(app, "c", namespace="ns", disable_resource_name_hashes=True)
    error = refused(chart, lambda: RayCluster(chart, "r", make(props)))
    path = "c/r" if where == "construct" else where
    assert (error.path, error.field) == (path, field), str(error)
    assert str(error).startswith(f"{path}: {field}=")
    assert not SECRETS.search(str(error))  # a rejected secret is never echoed
