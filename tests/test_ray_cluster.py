"""RayCluster: the synthesized KubeRay RayCluster / LeaderWorkerSet, their Services, strict CRD and
Kubernetes validation of many configurations, and every validation error by its exact message."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cdk8s
import pytest

from tests.conftest import chart_objects, chart_yaml, one
from tests.refusals import refused
from tests.schemas import K8S_VERSIONS, crd_errors, is_builtin, k8s_errors
from vllm_constructs import (
    DownloadMode,
    EngineArgs,
    HealthChecks,
    ModelCache,
    ModelDownload,
    ModelSource,
    PodOptions,
    Resources,
    SecretKeyRef,
    SharedMemory,
)
from vllm_constructs.errors import ConfigError
from vllm_constructs.ray_cluster import (
    LwsRollout,
    LwsStartupPolicy,
    MultiNodeBackend,
    NcclDebug,
    NcclSettings,
    RayCluster,
    RayClusterProps,
    Rdma,
    leader_script,
    worker_script,
)

REVISION = "e04e3022cdc89bfed0db7f9ac08a46f8ed1ee9e5"
MODEL = ModelSource.huggingface("meta-llama/Llama-3.1-405B-Instruct", revision=REVISION)


def props(**changes: Any) -> RayClusterProps:
    base = RayClusterProps(
        name="llama-405b",
        model=MODEL,
        engine=EngineArgs(tensor_parallel_size=8, pipeline_parallel_size=2, max_model_len=32768),
        resources=Resources(cpu="64", memory="1000Gi"),
    )
    return dataclasses.replace(base, **changes)


def synth(new_chart: Callable[..., cdk8s.Chart], p: RayClusterProps) -> list[dict[str, Any]]:
    chart = new_chart()
    RayCluster(chart, "llm", p)
    return chart_objects(chart)


def error(new_chart: Callable[..., cdk8s.Chart], p: RayClusterProps) -> str:
    """The message of a refusal when the construct is created (props built fine); nothing reaches the chart."""
    chart = new_chart()
    return str(refused(chart, lambda: RayCluster(chart, "llm", p)))


def built_error(new_chart: Callable[..., cdk8s.Chart], make: Callable[[], RayClusterProps]) -> str:
    """The message of a refusal while the props are built (the value class names itself); nothing reaches the chart."""
    chart = new_chart()
    return str(refused(chart, lambda: RayCluster(chart, "llm", make())))


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def templates(obj: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(serving pod template, worker pod template) of a RayCluster or LeaderWorkerSet."""
    if obj["kind"] == "RayCluster":
        return obj["spec"]["headGroupSpec"]["template"], obj["spec"]["workerGroupSpecs"][0]["template"]
    lwt = obj["spec"]["leaderWorkerTemplate"]
    return lwt["leaderTemplate"], lwt["workerTemplate"]


# --- KubeRay ---------------------------------------------------------------------------------------


def test_kuberay_runs_our_leader_and_worker_scripts(new_chart: Callable[..., cdk8s.Chart]) -> None:
    objs = synth(new_chart, props())
    rc = one(objs, "RayCluster")
    assert rc["apiVersion"] == "ray.io/v1"
    assert rc["metadata"]["annotations"]["ray.io/overwrite-container-cmd"] == "true"
    assert set(rc["metadata"]["annotations"]) == {"ray.io/overwrite-container-cmd", "vllm-constructs.io/capacity"}
    head, worker = templates(rc)
    vllm = head["spec"]["containers"][0]
    assert vllm["command"] == ["/bin/bash", "-c", leader_script(), "ray-leader"]
    assert vllm["args"][:3] == ["vllm", "serve", f"/models/{MODEL.cache_dir_name}"]
    assert vllm["args"][-2:] == ["--distributed-executor-backend", "ray"]
    assert "--tensor-parallel-size" in vllm["args"] and "--pipeline-parallel-size" in vllm["args"]
    w = worker["spec"]["containers"][0]
    assert w["command"] == ["/bin/bash", "-c", worker_script(), "ray-worker"]
    assert "args" not in w
    assert env_of(w)["RAY_HEAD_ADDRESS"] == "llama-405b-head-svc"
    assert "RAY_EXPECTED_NODES" not in env_of(w)
    assert env_of(vllm)["RAY_EXPECTED_NODES"] == "2"


def test_kuberay_states_gpu_accounting_on_the_head(new_chart: Callable[..., cdk8s.Chart]) -> None:
    rc = one(synth(new_chart, props(nodes=4, engine=EngineArgs(tensor_parallel_size=8, pipeline_parallel_size=4))), "RayCluster")
    assert rc["spec"]["headGroupSpec"]["rayStartParams"] == {"num-gpus": "8", "port": "6379"}
    group = rc["spec"]["workerGroupSpecs"][0]
    assert (group["replicas"], group["minReplicas"], group["maxReplicas"]) == (3, 3, 3)
    assert group["rayStartParams"] == {"num-gpus": "8"}
    head, worker = templates(rc)
    for template in (head, worker):
        c = template["spec"]["containers"][0]
        assert c["resources"]["limits"]["nvidia.com/gpu"] == "8"
        assert c["resources"]["requests"]["nvidia.com/gpu"] == "8"
        assert env_of(c)["RAY_NUM_GPUS"] == "8"


def test_kuberay_service_selects_the_head_only(new_chart: Callable[..., cdk8s.Chart]) -> None:
    svc = one(synth(new_chart, props()), "Service")
    assert svc["spec"]["selector"] == {"ray.io/cluster": "llama-405b", "ray.io/node-type": "head"}
    assert svc["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]


# --- probes, model, options (all backends) ---------------------------------------------------------


@pytest.mark.parametrize("backend", list(MultiNodeBackend))
def test_only_the_serving_pod_has_probes_and_the_api_port(new_chart: Callable[..., cdk8s.Chart], backend: MultiNodeBackend) -> None:
    objs = synth(new_chart, props(backend=backend, cluster_timeout_seconds=600))
    leader, worker = templates(next(o for o in objs if o["kind"] in ("RayCluster", "LeaderWorkerSet")))
    lc, wc = leader["spec"]["containers"][0], worker["spec"]["containers"][0]
    assert lc["startupProbe"]["failureThreshold"] * lc["startupProbe"]["periodSeconds"] == 1800 + 600
    assert lc["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert {"name": "http", "containerPort": 8000, "protocol": "TCP"} in lc["ports"]
    for key in ("startupProbe", "readinessProbe", "livenessProbe", "ports"):
        assert key not in wc


@pytest.mark.parametrize("backend", list(MultiNodeBackend))
def test_one_download_job_and_every_pod_waits_for_it(new_chart: Callable[..., cdk8s.Chart], backend: MultiNodeBackend) -> None:
    objs = synth(new_chart, props(backend=backend))
    assert len([o for o in objs if o["kind"] == "Job"]) == 1
    pvc = one(objs, "PersistentVolumeClaim")
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    for template in templates(next(o for o in objs if o["kind"] in ("RayCluster", "LeaderWorkerSet"))):
        spec = template["spec"]
        assert [c["name"] for c in spec["initContainers"]] == ["wait-for-model"]
        assert {"name": "model-cache", "persistentVolumeClaim": {"claimName": "llama-405b-model-cache"}} in spec["volumes"]
        assert {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "16Gi"}} in spec["volumes"]


@pytest.mark.parametrize("backend", list(MultiNodeBackend))
def test_rdma_and_nccl_settings_reach_every_pod(new_chart: Callable[..., cdk8s.Chart], backend: MultiNodeBackend) -> None:
    p = props(
        backend=backend,
        rdma=Rdma(resource="rdma/hca_shared_devices_a", count=2, hca="mlx5"),
        nccl=NcclSettings(socket_ifname="eth0", debug=NcclDebug.INFO),
        pod=PodOptions(host_network=True),
    )
    objs = synth(new_chart, p)
    for template in templates(next(o for o in objs if o["kind"] in ("RayCluster", "LeaderWorkerSet"))):
        c = template["spec"]["containers"][0]
        assert c["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["IPC_LOCK"]}
        assert c["resources"]["requests"]["rdma/hca_shared_devices_a"] == "2"
        assert c["resources"]["limits"]["rdma/hca_shared_devices_a"] == "2"
        env = env_of(c)
        assert (env["NCCL_IB_HCA"], env["NCCL_SOCKET_IFNAME"], env["GLOO_SOCKET_IFNAME"], env["NCCL_DEBUG"]) == (
            "mlx5",
            "eth0",
            "eth0",
            "INFO",
        )
        assert env["VLLM_HOST_IP"] == {"fieldRef": {"fieldPath": "status.podIP"}}
        assert template["spec"]["hostNetwork"] is True
        assert template["spec"]["dnsPolicy"] == "ClusterFirstWithHostNet"


# --- LeaderWorkerSet -------------------------------------------------------------------------------


def test_lws_gang_restart_startup_and_rollout(new_chart: Callable[..., cdk8s.Chart]) -> None:
    p = props(backend=MultiNodeBackend.LWS, replicas=3, lws_rollout=LwsRollout(partition=1, max_surge=1, max_unavailable=0))
    lws = one(synth(new_chart, p), "LeaderWorkerSet")
    assert lws["apiVersion"] == "leaderworkerset.x-k8s.io/v1"
    spec = lws["spec"]
    assert spec["replicas"] == 3
    assert spec["leaderWorkerTemplate"]["size"] == 2
    assert spec["leaderWorkerTemplate"]["restartPolicy"] == "RecreateGroupOnPodRestart"
    assert spec["startupPolicy"] == "LeaderCreated"
    assert spec["rolloutStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdateConfiguration": {"partition": 1, "maxSurge": 1, "maxUnavailable": 0},
    }
    leader, worker = templates(lws)
    lc, wc = leader["spec"]["containers"][0], worker["spec"]["containers"][0]
    assert lc["command"] == ["/bin/bash", "-c", leader_script(), "ray-leader"]
    assert wc["command"] == ["/bin/bash", "-c", worker_script(), "ray-worker"]
    assert "RAY_HEAD_ADDRESS" not in env_of(wc), "LWS workers take the head from LWS_LEADER_ADDRESS"


def test_lws_service_selects_leaders_only(new_chart: Callable[..., cdk8s.Chart]) -> None:
    svc = one(synth(new_chart, props(backend=MultiNodeBackend.LWS)), "Service")
    assert svc["spec"]["selector"] == {"leaderworkerset.sigs.k8s.io/name": "llama-405b", "leaderworkerset.sigs.k8s.io/worker-index": "0"}


def test_ray_free_mode_passes_rank_and_leader_address(new_chart: Callable[..., cdk8s.Chart]) -> None:
    lws = one(synth(new_chart, props(backend=MultiNodeBackend.LWS_RAY_FREE)), "LeaderWorkerSet")
    leader, worker = templates(lws)
    lc, wc = leader["spec"]["containers"][0], worker["spec"]["containers"][0]
    tail = [
        "--distributed-executor-backend",
        "mp",
        "--nnodes",
        "2",
        "--node-rank",
        "$(LWS_WORKER_INDEX)",
        "--master-addr",
        "$(LWS_LEADER_ADDRESS)",
    ]
    assert lc["command"] == ["vllm", "serve"] and wc["command"] == ["vllm", "serve"]
    assert lc["args"][-len(tail) :] == tail
    assert wc["args"] == [*lc["args"], "--headless"]
    assert not [k for k in env_of(lc) if k.startswith("RAY_")]
    assert "ports" in lc and "ports" not in wc


# --- strict validation of many generated configurations --------------------------------------------

CONFIGS = [
    pytest.param(backend, nodes, model, rdma, id=f"{backend}-{nodes}n-{model.kind}-{'rdma' if rdma else 'tcp'}")
    for backend, nodes, model, rdma in itertools.product(
        list(MultiNodeBackend),
        (2, 4),
        (MODEL, ModelSource.pvc("models", path="llama-405b"), ModelSource.image("/opt/model")),
        (None, Rdma(hca="mlx5")),
    )
]


@pytest.mark.parametrize(("backend", "nodes", "model", "rdma"), CONFIGS)
def test_every_configuration_validates_strictly(
    new_chart: Callable[..., cdk8s.Chart], crd_dir: Path, backend: MultiNodeBackend, nodes: int, model: ModelSource, rdma: Rdma | None
) -> None:
    p = props(backend=backend, nodes=nodes, model=model, rdma=rdma, engine=EngineArgs(tensor_parallel_size=8, pipeline_parallel_size=nodes))
    objs = synth(new_chart, p)
    custom = [o for o in objs if not is_builtin(o)]
    assert len(custom) == 1
    assert crd_errors(custom[0], crd_dir) == []
    for obj in (o for o in objs if is_builtin(o)):
        for version in K8S_VERSIONS:
            assert k8s_errors(obj, version) == [], f"{obj['kind']} {version}"


@pytest.mark.parametrize("backend", list(MultiNodeBackend))
def test_pod_templates_validate_as_kubernetes_pods(new_chart: Callable[..., cdk8s.Chart], backend: MultiNodeBackend) -> None:
    """The CRD schemas do not check pod templates deeply; wrap each in a Pod and check it strictly."""
    objs = synth(new_chart, props(backend=backend, rdma=Rdma()))
    for template in templates(next(o for o in objs if not is_builtin(o))):
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", **template["metadata"]}, "spec": template["spec"]}
        for version in K8S_VERSIONS:
            assert k8s_errors(pod, version) == []


def test_a_fault_is_caught_by_the_crd_check(new_chart: Callable[..., cdk8s.Chart], crd_dir: Path) -> None:
    rc = one(synth(new_chart, props()), "RayCluster")
    rc["spec"]["workerGroupSpecs"][0]["replicaz"] = 1
    assert crd_errors(rc, crd_dir) != []


# --- snapshots --------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", list(MultiNodeBackend))
def test_snapshot(new_chart: Callable[..., cdk8s.Chart], backend: MultiNodeBackend, yaml_snapshot: Any) -> None:
    chart = new_chart()
    RayCluster(chart, "llm", props(backend=backend, nccl=NcclSettings(socket_ifname="eth0")))
    assert chart_yaml(chart) == yaml_snapshot


# --- validation errors by exact message -------------------------------------------------------------


def test_fails_when_fewer_than_two_nodes(new_chart: Callable[..., cdk8s.Chart]) -> None:
    assert built_error(new_chart, lambda: props(nodes=1, engine=EngineArgs(tensor_parallel_size=8))) == (
        "RayClusterProps: nodes=1 is out of range. Allowed: an integer >= 2 and <= 64. Fix: pick a value in range."
    )


def test_fails_when_parallel_sizes_do_not_use_every_accelerator(new_chart: Callable[..., cdk8s.Chart]) -> None:
    assert error(new_chart, props(engine=EngineArgs(tensor_parallel_size=8, pipeline_parallel_size=1))) == (
        "test/llm: engine.tensor_parallel_size=8 x pipeline_parallel_size 1 = 8 does not use the 2 nodes x 8 accelerators = 16. "
        "Allowed: tensor_parallel_size x pipeline_parallel_size == nodes x accelerators_per_node. "
        "Fix: use tensor_parallel_size=8 with pipeline_parallel_size=2 (tensor parallel inside a node, the usual layout), "
        "or tensor_parallel_size=16 with pipeline_parallel_size=1 (needs a fast interconnect such as InfiniBand)."
    )


def test_tensor_parallel_across_nodes_is_the_documented_alternative(new_chart: Callable[..., cdk8s.Chart]) -> None:
    rc = one(synth(new_chart, props(engine=EngineArgs(tensor_parallel_size=16))), "RayCluster")
    args = rc["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--tensor-parallel-size") + 1] == "16"


def test_fails_when_shared_memory_is_disabled(new_chart: Callable[..., cdk8s.Chart]) -> None:
    assert error(new_chart, props(pod=PodOptions(shared_memory=SharedMemory.disabled()))) == (
        "test/llm: pod.shared_memory='disabled' is off for a multi-node server; NCCL then fails on the 64Mi default /dev/shm. "
        "Allowed: SharedMemory.of(size), or unset (16Gi capped at a quarter of the memory limit). "
        "Fix: remove shared_memory=SharedMemory.disabled()."
    )


def test_fails_when_the_cache_is_read_write_once(new_chart: Callable[..., cdk8s.Chart]) -> None:
    assert error(new_chart, props(cache=ModelCache.pvc("1000Gi", access_mode="ReadWriteOnce"))) == (
        "test/llm: cache.access_mode='ReadWriteOnce' attaches to one node, "
        "but the 2 pods of a group run on 2 nodes and all read the weights. "
        "Allowed: ReadWriteMany. "
        "Fix: use ModelCache.pvc(size, access_mode='ReadWriteMany') on an RWX storage class (NFS, CephFS, Filestore, EFS, ...)."
    )


def test_fails_when_the_cache_is_per_pod(new_chart: Callable[..., cdk8s.Chart]) -> None:
    assert error(new_chart, props(cache=ModelCache.empty_dir("900Gi"))) == (
        "test/llm: cache='EmptyDirCache' is per pod, so a download Job cannot fill it. "
        "Allowed: ModelCache.pvc(...) or ModelCache.existing_claim(...) with DownloadMode.JOB. "
        "Fix: use a shared cache, or download=ModelDownload(mode=DownloadMode.INIT_CONTAINER)."
    )


def test_fails_when_the_cluster_timeout_is_too_short(new_chart: Callable[..., cdk8s.Chart]) -> None:
    assert built_error(new_chart, lambda: props(cluster_timeout_seconds=0)) == (
        "RayClusterProps: cluster_timeout_seconds=0 is out of range. Allowed: an integer >= 30 and <= 86400. Fix: pick a value in range."
    )


def test_fails_when_resources_name_another_accelerator_count(new_chart: Callable[..., cdk8s.Chart]) -> None:
    assert error(new_chart, props(resources=Resources(cpu="64", memory="1000Gi", accelerators=4))) == (
        "test/llm: resources.accelerators=4 differs from accelerators_per_node (8). "
        "Allowed: 0 (taken from accelerators_per_node) or the same number. Fix: set the count once, in accelerators_per_node."
    )


def test_accelerator_request_equals_limit_on_every_pod(new_chart: Callable[..., cdk8s.Chart]) -> None:
    """Request equals limit by construction: Resources has a single accelerator count, so only the
    rendered output can show it."""
    rc = one(
        synth(new_chart, props(accelerators_per_node=4, engine=EngineArgs(tensor_parallel_size=4, pipeline_parallel_size=2))), "RayCluster"
    )
    for template in templates(rc):
        res = template["spec"]["containers"][0]["resources"]
        assert res["requests"]["nvidia.com/gpu"] == res["limits"]["nvidia.com/gpu"] == "4"


def test_fails_when_kuberay_gets_several_replicas(new_chart: Callable[..., cdk8s.Chart]) -> None:
    assert error(new_chart, props(replicas=2)) == (
        "test/llm: replicas=2 is not 1 with the KubeRay backend; a RayCluster is one serving group. "
        "Allowed: 1 with KubeRay, or any count with LWS. Fix: create one RayCluster per replica, or use MultiNodeBackend.LWS."
    )


def test_fails_when_lws_waits_for_a_ready_leader(new_chart: Callable[..., cdk8s.Chart]) -> None:
    assert error(new_chart, props(backend=MultiNodeBackend.LWS, lws_startup_policy=LwsStartupPolicy.LEADER_READY)) == (
        "test/llm: lws_startup_policy='LeaderReady' would never start the workers: "
        "the leader becomes ready only after every worker joined. "
        "Allowed: LwsStartupPolicy.LEADER_CREATED. Fix: leave lws_startup_policy unset."
    )


def test_fails_when_lws_rollout_cannot_progress(new_chart: Callable[..., cdk8s.Chart]) -> None:
    assert built_error(
        new_chart, lambda: props(backend=MultiNodeBackend.LWS, lws_rollout=LwsRollout(max_surge=0, max_unavailable="0%"))
    ) == (
        "LwsRollout: max_unavailable='0%' is zero while max_surge is zero too, so a rollout can never progress. "
        "Allowed: max_surge > 0 or max_unavailable > 0. Fix: keep max_unavailable=1 (no spare node group needed) or allow a surge."
    )


def test_fails_when_the_rdma_resource_is_not_a_resource_name(new_chart: Callable[..., cdk8s.Chart]) -> None:
    assert built_error(new_chart, lambda: props(rdma=Rdma(resource="rdma"))) == (
        "Rdma: resource='rdma' is not an extended resource name. "
        "Allowed: '<domain>/<name>' such as 'rdma/ib' or 'nvidia.com/hostdev'. Fix: use the name your RDMA device plugin advertises."
    )


def test_fails_when_extra_args_repeat_a_multi_node_flag(new_chart: Callable[..., cdk8s.Chart]) -> None:
    engine = EngineArgs(tensor_parallel_size=8, pipeline_parallel_size=2, extra_args=("--nnodes=3",))
    assert error(new_chart, props(backend=MultiNodeBackend.LWS_RAY_FREE, engine=engine)) == (
        "test/llm: engine.extra_args='--nnodes' repeats a flag the construct renders for the multi-node layout. "
        "Allowed: flags other than --data-parallel-size, --distributed-executor-backend, --headless, --master-addr, --master-port, "
        "--nnodes, --node-rank. Fix: drop it: nodes, accelerators_per_node and backend decide the layout."
    )


def test_fails_when_the_env_repeats_a_variable_the_construct_sets(new_chart: Callable[..., cdk8s.Chart]) -> None:
    assert error(new_chart, props(env={"RAY_HEAD_ADDRESS": "elsewhere"})) == (
        "test/llm: env='RAY_HEAD_ADDRESS' is set by the construct (the multi-node runtime). "
        "Allowed: names the construct does not own. Fix: use the typed prop or drop the variable."
    )


def test_user_env_reaches_every_pod(new_chart: Callable[..., cdk8s.Chart]) -> None:
    rc = one(synth(new_chart, props(env={"NCCL_P2P_LEVEL": "NVL"})), "RayCluster")
    for template in templates(rc):
        assert env_of(template["spec"]["containers"][0])["NCCL_P2P_LEVEL"] == "NVL"


def test_fails_when_the_ray_port_is_the_api_port(new_chart: Callable[..., cdk8s.Chart]) -> None:
    assert error(new_chart, props(ray_port=8000)) == (
        "test/llm: ray_port=8000 is the API port too. Allowed: a port other than port. Fix: keep the default 6379."
    )


def test_fails_when_the_name_makes_kubernetes_inject_a_vllm_variable(new_chart: Callable[..., cdk8s.Chart]) -> None:
    assert error(new_chart, props(name="vllm")) == (
        "test/llm: name='vllm' names the Service 'vllm', so Kubernetes injects VLLM_PORT into pods of this namespace, which vLLM "
        "reads as its own setting and fails on. Allowed: a Service name that is not 'vllm' (or another vLLM variable prefix). "
        "Fix: rename the server (or its Service), e.g. 'vllm-llama'."
    )


def test_a_name_starting_with_a_digit_is_refused_because_it_names_the_service() -> None:
    with pytest.raises(ConfigError) as info:
        props(name="8b-llama")
    assert "name='8b-llama' is not a DNS-1035 label" in str(info.value)
    assert "starting with a letter" in str(info.value)


def test_server_mode_hf_token_follows_the_same_rules_as_a_single_node_server(new_chart: Callable[..., cdk8s.Chart]) -> None:
    """vLLM downloads at start (DownloadMode.SERVER): without hf_token the user's own HF_TOKEN reaches the leader; with
    hf_token the construct owns HF_TOKEN and says so (not 'given to the download only')."""
    server_mode = ModelDownload(mode=DownloadMode.SERVER)
    own = SecretKeyRef("own", "t")
    rc = one(synth(new_chart, props(download=server_mode, env={"HF_TOKEN": own})), "RayCluster")
    leader, _ = templates(rc)
    assert env_of(leader["spec"]["containers"][0])["HF_TOKEN"] == {"secretKeyRef": {"name": "own", "key": "t"}}
    message = error(new_chart, props(download=server_mode, hf_token=SecretKeyRef("hf", "t"), env={"HF_TOKEN": own}))
    assert "env='HF_TOKEN' is set by the construct (hf_token)." in message


def test_the_probe_and_the_serving_facts_use_one_startup_budget(new_chart: Callable[..., cdk8s.Chart]) -> None:
    """The serving pod's startup probe allows the server's budget plus the group's wait, capped at a day; consumers
    (alerts, autoscaler, capacity) read the same figure from the serving facts."""
    chart = new_chart()
    p = props(health=HealthChecks(startup_timeout_seconds=86000), cluster_timeout_seconds=900)
    rc = RayCluster(chart, "llm", p)
    assert rc.serving.startup_seconds == 86400
    leader, _ = templates(one(chart_objects(chart), "RayCluster"))
    probe = leader["spec"]["containers"][0]["startupProbe"]
    assert probe["periodSeconds"] * probe["failureThreshold"] <= 86400 + probe["periodSeconds"]


def test_fails_when_the_hca_is_set_twice_differently(new_chart: Callable[..., cdk8s.Chart]) -> None:
    assert error(new_chart, props(rdma=Rdma(hca="mlx5_0"), nccl=NcclSettings(ib_hca="mlx5_1"))) == (
        "test/llm: rdma.hca='mlx5_0' differs from nccl.ib_hca ('mlx5_1'). Allowed: the HCA set once. Fix: set it in one place."
    )


def test_fails_when_the_socket_interface_is_malformed(new_chart: Callable[..., cdk8s.Chart]) -> None:
    assert built_error(new_chart, lambda: props(nccl=NcclSettings(socket_ifname="eth0; rm"))) == (
        "NcclSettings: socket_ifname='eth0; rm' is not an interface list. "
        "Allowed: names such as 'eth0', 'mlx5' or '^lo,docker'. Fix: write the names NCCL expects."
    )


def test_a_refused_cluster_claims_nothing(new_chart: Callable[..., cdk8s.Chart]) -> None:
    """A ConfigError leaves the App as it was: the same id and the same names are free for the next attempt."""
    chart = new_chart()
    refused(chart, lambda: RayCluster(chart, "llm", props(replicas=2)))
    RayCluster(chart, "llm", props())
    assert one(chart_objects(chart), "RayCluster")["metadata"]["name"] == "llama-405b"


def test_fails_when_the_props_are_not_ray_cluster_props(new_chart: Callable[..., cdk8s.Chart]) -> None:
    chart = new_chart()
    assert str(refused(chart, lambda: RayCluster(chart, "llm", {"name": "x"}))) == (  # type: ignore[arg-type]
        "test/llm: props={'name': 'x'} is a dict. Allowed: RayClusterProps. Fix: build the props with RayClusterProps(...)."
    )


def test_fails_when_two_clusters_in_a_namespace_share_a_name(new_chart: Callable[..., cdk8s.Chart]) -> None:
    chart = new_chart()
    RayCluster(chart, "llm", props())
    assert str(refused(chart, lambda: RayCluster(chart, "again", props(backend=MultiNodeBackend.LWS)))) == (
        "test/again: name='llama-405b' is already used by test/llm in namespace 'test', so the two would select each other's pods. "
        "Allowed: one server name per component and namespace. Fix: give each server a distinct name."
    )
    assert str(refused(chart, lambda: RayCluster(chart, "llm", props(name="other")))) == (
        "test/llm: id='llm' is already used by another construct in test. Allowed: one construct per id in a scope. "
        "Fix: give each construct its own id."
    )


@pytest.mark.parametrize("value", [1.5, True, None, -1, 2**31, "25", "101%"], ids=repr)
def test_fails_when_an_lws_rollout_count_is_not_a_count_or_percentage(new_chart: Callable[..., cdk8s.Chart], value: object) -> None:
    """One problem naming the field, whatever the wrong type (a union type would name 'max_surge['int']' and 'max_surge['str']')."""
    msg = built_error(new_chart, lambda: props(backend=MultiNodeBackend.LWS, lws_rollout=LwsRollout(max_surge=value)))  # type: ignore[arg-type]
    assert msg == (
        f"LwsRollout: max_surge={value!r} is not a count or percentage. Allowed: an integer >= 0 or a string such as '25%'. "
        "Fix: use e.g. 1 or '25%'."
    )
