"""One model served by vLLM across several nodes, pure: :class:`RayClusterProps` in, a checked :class:`ClusterPlan` out.
See :mod:`vllm_constructs.ray_cluster` for the backends (KubeRay, LeaderWorkerSet with Ray, LeaderWorkerSet without)."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Annotated, Any

from pydantic import AfterValidator

from . import objects
from .capacity.server_plan import with_capacity
from .downloads import Readers
from .engine import ArgsCheck
from .gitops import annotate
from .gvk import LEADER_WORKER_SET, RAY_CLUSTER
from .logs import plan_json_logs
from .lora import plan_lora
from .model import AccessMode, script
from .objects import KubeObject, network_policy_spec
from .pod import MainContainer, PodInputs, pod_template
from .promql import ServerSeries
from .serving import (
    Delivery,
    ScaleTarget,
    ServingFacts,
    ServingProps,
    base_env,
    check_service_name,
    check_shared,
    effective_home,
    home_volumes,
    merge_user_env,
    plan_delivery,
    revision_args,
    serving_facts,
    serving_owned_env,
)
from .validation import Checker, IntOrPercent, Port, fail, in_range, problem, value_class
from .values import SECONDS_MAX, ContainerPort, EnvValue, FieldRef, Lax, WorkloadLabels

__all__ = [
    "ClusterPlan",
    "LwsRollout",
    "LwsStartupPolicy",
    "MultiNodeBackend",
    "NcclDebug",
    "NcclSettings",
    "RayClusterProps",
    "Rdma",
    "plan_cluster",
]

JsonObject = dict[str, Any]
OVERWRITE_CMD_ANNOTATION = "ray.io/overwrite-container-cmd"
LWS_NAME_LABEL = "leaderworkerset.sigs.k8s.io/name"
LWS_INDEX_LABEL = "leaderworkerset.sigs.k8s.io/worker-index"
MULTI_NODE_FLAGS = ArgsCheck(
    frozenset({"nnodes", "node_rank", "master_addr", "master_port", "headless", "data_parallel_size", "distributed_executor_backend"}),
    "repeats a flag the construct renders for the multi-node layout",
    "drop it: nodes, accelerators_per_node and backend decide the layout",
)
RUNTIME_ENV = {
    "RAY_HEAD_ADDRESS": "the KubeRay head Service",
    "LWS_LEADER_ADDRESS": "LeaderWorkerSet",
    "LWS_GROUP_SIZE": "LeaderWorkerSet",
    "LWS_WORKER_INDEX": "LeaderWorkerSet",
    "VLLM_HOST_IP": "the pod IP",
}


KUBERAY_UNSCALABLE = (
    "a KubeRay RayCluster has no scale subresource for whole serving groups (KubeRay scales Ray workers, not vLLM replicas)"
)


def leader_script() -> str:
    """The bash program of the serving pod: start the Ray head, wait for the cluster, exec "$@"."""
    return script("ray-leader.sh")


def worker_script() -> str:
    """The bash program of a worker pod: wait for the head, join with ``ray start --block``, retried."""
    return script("ray-worker.sh")


class MultiNodeBackend(enum.StrEnum):
    """Which distributed runtime forms the group of nodes."""

    KUBERAY = "kuberay"
    """A KubeRay RayCluster (needs the KubeRay operator)."""
    LWS = "lws"
    """A LeaderWorkerSet whose pods form a Ray cluster (needs the LWS controller)."""
    LWS_RAY_FREE = "lws-ray-free"
    """A LeaderWorkerSet whose pods run vLLM's own multi-node mode, without Ray."""


class LwsStartupPolicy(enum.StrEnum):
    """When LWS creates the workers of a group."""

    LEADER_CREATED = "LeaderCreated"
    """With the leader. The only policy that works here: the leader becomes ready only once its workers joined."""
    LEADER_READY = "LeaderReady"
    """After the leader is ready (refused: it would wait forever for workers it never gets)."""


class NcclDebug(enum.StrEnum):
    VERSION = "VERSION"
    WARN = "WARN"
    INFO = "INFO"
    TRACE = "TRACE"


def _ifnames(value: str) -> str:
    if not re.fullmatch(r"[\^=]?[A-Za-z0-9_.:,^-]{1,128}", value):
        raise problem("ifname", "is not an interface list", "names such as 'eth0', 'mlx5' or '^lo,docker'", "write the names NCCL expects")
    return value


Ifnames = Annotated[str, AfterValidator(_ifnames)]


@value_class(kw_only=True)
class NcclSettings:
    """NCCL (and Gloo) network settings, rendered as environment on every pod."""

    socket_ifname: Ifnames | None = None
    """NCCL_SOCKET_IFNAME and GLOO_SOCKET_IFNAME, e.g. 'eth0' or '^lo,docker'. Default: NCCL's choice."""
    ib_hca: Ifnames | None = None
    """NCCL_IB_HCA, e.g. 'mlx5' (also settable through Rdma). Default: NCCL's choice."""
    debug: Annotated[NcclDebug, Lax] | None = None
    """NCCL_DEBUG. Default: unset (NCCL prints warnings only)."""


def _rdma_resource(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?", value) or value.startswith(
        "kubernetes.io/"
    ):
        raise problem(
            "extended_resource",
            "is not an extended resource name",
            "'<domain>/<name>' such as 'rdma/ib' or 'nvidia.com/hostdev'",
            "use the name your RDMA device plugin advertises",
        )
    return value


@value_class(kw_only=True)
class Rdma:
    """InfiniBand/RoCE: the RDMA device resource, IPC_LOCK for pinned memory, and NCCL_IB_HCA."""

    resource: Annotated[str, AfterValidator(_rdma_resource)] = "rdma/ib"
    """Extended resource of the RDMA device plugin. Default: rdma/ib."""
    count: Annotated[int, in_range(1, 64)] = 1
    """Devices per pod (request equals limit). Default: 1."""
    hca: Ifnames | None = None
    """NCCL_IB_HCA, e.g. 'mlx5'. Default: NCCL's choice."""


@value_class(kw_only=True)
class LwsRollout:
    """rolloutStrategy.rollingUpdateConfiguration of a LeaderWorkerSet (counted in groups)."""

    partition: Annotated[int, in_range(0, 2**31 - 1)] | None = None
    """Groups with an index below it keep the old version. Default: unset (all groups update)."""
    max_surge: IntOrPercent = 0
    """Extra groups during a rollout. Default: 0 (no spare nodes needed)."""
    max_unavailable: IntOrPercent = 1
    """Groups down at once during a rollout. Default: 1."""

    def __post_init__(self) -> None:
        if self.max_surge in (0, "0%") and self.max_unavailable in (0, "0%"):
            fail(
                "max_unavailable",
                self.max_unavailable,
                "is zero while max_surge is zero too, so a rollout can never progress",
                "max_surge > 0 or max_unavailable > 0",
                "keep max_unavailable=1 (no spare node group needed) or allow a surge",
            )


@value_class(kw_only=True)
class RayClusterProps(ServingProps):
    """Props of :class:`~vllm_constructs.RayCluster`. ``name``, ``model``, ``engine`` and ``resources`` are required:
    tensor_parallel_size x pipeline_parallel_size must equal nodes x accelerators_per_node."""

    nodes: Annotated[int, in_range(2, 64)] = 2
    """Pods in one serving group, one per node. Default: 2."""
    accelerators_per_node: Annotated[int, in_range(1, 64)] = 8
    """Accelerators each pod requests (and limits). Default: 8."""
    backend: Annotated[MultiNodeBackend, Lax] = MultiNodeBackend.KUBERAY
    """Default: KubeRay."""
    nccl: NcclSettings = field(default_factory=NcclSettings)
    """Default: NCCL's own choices."""
    rdma: Rdma | None = None
    """InfiniBand/RoCE devices. Default: none (NCCL over TCP sockets)."""
    cluster_timeout_seconds: Annotated[int, in_range(30, 86400)] = 900
    """How long the head waits for every node to join (and workers for the head). Default: 900."""
    ray_port: Port = 6379
    """Port of the Ray head (GCS). Default: 6379."""
    lws_rollout: LwsRollout = field(default_factory=LwsRollout)
    """LWS rollout. Default: maxSurge 0, maxUnavailable 1."""
    lws_startup_policy: Annotated[LwsStartupPolicy, Lax] = LwsStartupPolicy.LEADER_CREATED
    """Default: LeaderCreated."""


@dataclass(slots=True)
class ClusterPlan:
    """Every object one RayCluster emits, and its serving facts. Implements ServingWorkload."""

    objects: list[KubeObject]
    serving: ServingFacts
    workload_id: str = "Resource"
    autoscaled: bool = False

    def hand_replicas_to_autoscaler(self) -> None:
        """Drop the LeaderWorkerSet's replica count (once; a KubeRay cluster has no scale target, so nothing)."""
        if self.serving.scale_target is None or self.autoscaled:
            return
        self.autoscaled = True
        objects.hand_over_replicas(self.objects, self.workload_id)


def _check_props(check: Checker, p: RayClusterProps) -> None:
    check_shared(check, p)
    check_service_name(check, "name", p.name)
    if p.resources.accelerators not in (0, p.accelerators_per_node):
        check.fail(
            "resources.accelerators",
            p.resources.accelerators,
            f"differs from accelerators_per_node ({p.accelerators_per_node})",
            "0 (taken from accelerators_per_node) or the same number",
            "set the count once, in accelerators_per_node",
        )
    _check_layout(check, p)
    check.within(lambda: MULTI_NODE_FLAGS.refuse(p.engine.extra_flags))
    if p.pod.shared_memory is not None and not p.pod.shared_memory.enabled:
        check.fail(
            "pod.shared_memory",
            "disabled",
            "is off for a multi-node server; NCCL then fails on the 64Mi default /dev/shm",
            "SharedMemory.of(size), or unset (16Gi capped at a quarter of the memory limit)",
            "remove shared_memory=SharedMemory.disabled()",
        )
    if p.ray_port == p.port:
        check.fail("ray_port", p.ray_port, "is the API port too", "a port other than port", "keep the default 6379")
    _check_backend(check, p)
    if p.rdma is not None and p.rdma.hca is not None and p.nccl.ib_hca is not None and p.rdma.hca != p.nccl.ib_hca:
        check.fail("rdma.hca", p.rdma.hca, f"differs from nccl.ib_hca ({p.nccl.ib_hca!r})", "the HCA set once", "set it in one place")


def _check_layout(check: Checker, p: RayClusterProps) -> None:
    total = p.nodes * p.accelerators_per_node
    tp, pp = p.engine.tensor_parallel_size, p.engine.pipeline_parallel_size
    if tp * pp != total:
        check.fail(
            "engine.tensor_parallel_size",
            tp,
            f"x pipeline_parallel_size {pp} = {tp * pp} does not use the {p.nodes} nodes x "
            f"{p.accelerators_per_node} accelerators = {total}",
            "tensor_parallel_size x pipeline_parallel_size == nodes x accelerators_per_node",
            f"use tensor_parallel_size={p.accelerators_per_node} with pipeline_parallel_size={p.nodes} "
            "(tensor parallel inside a node, the usual layout), "
            f"or tensor_parallel_size={total} with pipeline_parallel_size=1 (needs a fast interconnect such as InfiniBand)",
        )
    if p.engine.data_parallel_size != 1:
        check.fail(
            "engine.data_parallel_size",
            p.engine.data_parallel_size,
            "is not 1 on a multi-node server; one group is one engine",
            "1 (use replicas for more engines)",
            "set replicas instead",
        )


def _check_backend(check: Checker, p: RayClusterProps) -> None:
    if p.backend is MultiNodeBackend.KUBERAY and p.replicas != 1:
        check.fail(
            "replicas",
            p.replicas,
            "is not 1 with the KubeRay backend; a RayCluster is one serving group",
            "1 with KubeRay, or any count with LWS",
            "create one RayCluster per replica, or use MultiNodeBackend.LWS",
        )
    if p.backend is not MultiNodeBackend.KUBERAY and p.lws_startup_policy is LwsStartupPolicy.LEADER_READY:
        check.fail(
            "lws_startup_policy",
            str(p.lws_startup_policy),
            "would never start the workers: the leader becomes ready only after every worker joined",
            "LwsStartupPolicy.LEADER_CREATED",
            "leave lws_startup_policy unset",
        )


def _env(check: Checker, p: RayClusterProps, delivery: Delivery) -> tuple[dict[str, EnvValue], dict[str, EnvValue]]:
    env = base_env(effective_home(p.env))
    env.update(delivery.env)
    env["VLLM_HOST_IP"] = FieldRef("status.podIP")
    nccl_hca = p.nccl.ib_hca or (p.rdma.hca if p.rdma else None)
    if p.nccl.socket_ifname:
        env["NCCL_SOCKET_IFNAME"] = p.nccl.socket_ifname
        env["GLOO_SOCKET_IFNAME"] = p.nccl.socket_ifname
    if nccl_hca:
        env["NCCL_IB_HCA"] = nccl_hca
    if p.nccl.debug is not None:
        env["NCCL_DEBUG"] = str(p.nccl.debug)
    if p.backend is not MultiNodeBackend.LWS_RAY_FREE:
        env.update({"RAY_NODE_IP": FieldRef("status.podIP"), "RAY_PORT": str(p.ray_port), "RAY_NUM_GPUS": str(p.accelerators_per_node)})
        env["RAY_CLUSTER_TIMEOUT_SECONDS"] = str(p.cluster_timeout_seconds)
        env["RAY_STOP_TIMEOUT_SECONDS"] = str(ray_stop_seconds(p.pod.termination_grace_period_seconds, p.pod.drain_seconds))
    leader, worker = dict(env), dict(env)
    if p.api_key is not None:
        leader["VLLM_API_KEY"] = p.api_key
    if p.backend is not MultiNodeBackend.LWS_RAY_FREE:
        leader["RAY_EXPECTED_NODES"] = str(p.nodes)
        if p.backend is MultiNodeBackend.KUBERAY:
            worker["RAY_HEAD_ADDRESS"] = f"{p.name}-head-svc"
    owned = {
        **serving_owned_env(delivery),
        **RUNTIME_ENV,
        **{k: "the multi-node runtime" for k in (*leader, *worker) if k.startswith(("RAY_", "NCCL_", "GLOO_"))},
    }
    merge_user_env(check, leader, p.env, owned)
    merge_user_env(check, worker, p.env, owned)
    return leader, worker


def startup_budget(p: RayClusterProps) -> int:
    """The serving pod's startup budget: the server's plus the wait for the whole group (the probe's own limit, a day,
    caps it); the probe and the serving facts use this one figure."""
    return min(p.health.startup_timeout_seconds + p.cluster_timeout_seconds, SECONDS_MAX)


def ray_stop_seconds(grace_seconds: int, drain_seconds: int) -> int:
    """How long the leader and worker scripts wait for Ray to stop before SIGKILL: what the grace period leaves after
    the preStop drain, less 5 s for the script's own exit, at most 30 s (a failed gang exits promptly)."""
    return max(0, min(30, grace_seconds - drain_seconds - 5))


def _commands(
    p: RayClusterProps, delivery: Delivery, served: str, lora_args: tuple[str, ...] = ()
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(leader command, leader args, worker command, worker args)."""
    serve = [
        "vllm",
        "serve",
        *p.engine.to_args(model_path=delivery.model_path, served_name=served, port=p.port),
        *revision_args(p.model, delivery),
        *lora_args,
    ]
    bash = ("/bin/bash", "-c")
    if p.backend is not MultiNodeBackend.LWS_RAY_FREE:
        serve += ["--distributed-executor-backend", "ray"]
        return (*bash, leader_script(), "ray-leader"), tuple(serve), (*bash, worker_script(), "ray-worker"), ()
    serve += [
        "--distributed-executor-backend",
        "mp",
        "--nnodes",
        str(p.nodes),
        "--node-rank",
        "$(LWS_WORKER_INDEX)",
        "--master-addr",
        "$(LWS_LEADER_ADDRESS)",
    ]
    return ("vllm", "serve"), tuple(serve[2:]), ("vllm", "serve"), (*serve[2:], "--headless")


def _template(
    check: Checker,
    p: RayClusterProps,
    labels: WorkloadLabels,
    serving: bool,
    command: tuple[str, ...],
    args: tuple[str, ...],
    env: Mapping[str, EnvValue],
    delivery: Delivery,
    pod_annotations: Mapping[str, str] | None = None,
) -> JsonObject:
    """One pod template from the shared pod machinery (probes only on the serving pod, /dev/shm, RDMA, security)."""
    pod = p.pod
    if p.rdma is not None and "IPC_LOCK" not in pod.security.add_capabilities:
        pod = replace(pod, security=replace(pod.security, add_capabilities=(*pod.security.add_capabilities, "IPC_LOCK")))
    ray_port = (ContainerPort("gcs-server", p.ray_port),) if serving and p.backend is not MultiNodeBackend.LWS_RAY_FREE else ()
    health = replace(p.health, startup_timeout_seconds=startup_budget(p))
    main = MainContainer(
        name="vllm" if serving else "worker",
        image=p.image,
        resources=replace(p.resources, accelerators=p.accelerators_per_node),
        accelerator=p.accelerator,
        command=command,
        args=args,
        env=env,
        port=ContainerPort("http", p.port) if serving else None,
        extra_ports=ray_port,
        health=health if serving else None,
        volumes=(*home_volumes(check, p.env, delivery.volumes), *delivery.volumes),
        extra_resources={p.rdma.resource: str(p.rdma.count)} if p.rdma is not None else {},
    )
    inputs = PodInputs(main, pod, labels, True, delivery.init_containers, delivery.extra_volumes, pod_annotations or {})
    return pod_template(Checker(f"{check.path}/{'Leader' if serving else 'Worker'}"), inputs)


def _kuberay_spec(p: RayClusterProps, leader: JsonObject, worker: JsonObject) -> JsonObject:
    gpus = str(p.accelerators_per_node)
    group = {"groupName": "workers", "replicas": p.nodes - 1, "minReplicas": p.nodes - 1, "maxReplicas": p.nodes - 1}
    return {
        "headGroupSpec": {"rayStartParams": {"num-gpus": gpus, "port": str(p.ray_port)}, "template": leader},
        "workerGroupSpecs": [{**group, "rayStartParams": {"num-gpus": gpus}, "template": worker}],
    }


def _lws_spec(p: RayClusterProps, leader: JsonObject, worker: JsonObject) -> JsonObject:
    rolling: JsonObject = {}
    if p.lws_rollout.partition is not None:
        rolling["partition"] = p.lws_rollout.partition
    rolling["maxSurge"] = p.lws_rollout.max_surge
    rolling["maxUnavailable"] = p.lws_rollout.max_unavailable
    template = {"size": p.nodes, "restartPolicy": "RecreateGroupOnPodRestart", "leaderTemplate": leader, "workerTemplate": worker}
    return {
        "replicas": p.replicas,
        "leaderWorkerTemplate": template,
        "rolloutStrategy": {"type": "RollingUpdate", "rollingUpdateConfiguration": rolling},
        "startupPolicy": str(p.lws_startup_policy),
    }


def plan_cluster(path: str, namespace: str, p: RayClusterProps) -> ClusterPlan:
    """Check every prop in context and compute every object. Pure: raises ConfigError, creates nothing."""
    check = Checker(path)
    _check_props(check, p)
    labels = WorkloadLabels(instance=p.name, component="server", part_of=p.part_of, version=p.image.version_label)
    worker_labels = replace(labels, component="worker")
    readers = Readers(
        replicas=p.replicas,
        surges=False,
        pods_per_replica=p.nodes,
        required_mode=AccessMode.READ_WRITE_MANY,
        required_reason=f"the {p.nodes} pods of a group run on {p.nodes} nodes",
    )
    delivery = plan_delivery(check, p, labels, claim_name=f"{p.name}-model-cache", job_base=p.name, readers=readers, default_size="1000Gi")
    lora = plan_lora(check, p, labels, readers)
    delivery = lora.extend(delivery)
    served = p.engine.served_model_name or p.model.default_served_name
    leader_env, worker_env = _env(check, p, delivery)
    obj_labels = labels.labels(p.pod.labels)
    logs = plan_json_logs(check, p, obj_labels)  # the serving pod only
    logs.add_env(check, leader_env, p.env)
    lcmd, largs, wcmd, wargs = _commands(p, delivery, served, lora.args)
    leader_delivery = replace(delivery, volumes=(*delivery.volumes, *logs.volumes))
    leader = _template(check, p, labels, True, lcmd, (*largs, *logs.args), leader_env, leader_delivery, logs.pod_annotations)
    worker = _template(check, p, worker_labels, False, wcmd, wargs, worker_env, delivery)
    kuberay = p.backend is MultiNodeBackend.KUBERAY
    gvk = RAY_CLUSTER if kuberay else LEADER_WORKER_SET
    spec = _kuberay_spec(p, leader, worker) if kuberay else _lws_spec(p, leader, worker)
    annotations = {**dict(p.pod.annotations), **({OVERWRITE_CMD_ANNOTATION: "true"} if kuberay else {})}
    workload = KubeObject("Resource", gvk.api_version, gvk.kind, p.name, obj_labels, {"spec": spec}, annotations)
    selector = {"ray.io/cluster": p.name, "ray.io/node-type": "head"} if kuberay else {LWS_NAME_LABEL: p.name, LWS_INDEX_LABEL: "0"}
    service = objects.service("Service", p.name, obj_labels, selector=selector, port=p.service_port)
    planned = [*([logs.config_map] if logs.config_map else []), *delivery.objects, workload, service]
    if p.network_policy is not None:
        peers = {
            "matchLabels": {k: v for k, v in labels.selector.items() if k != "app.kubernetes.io/component"},
            "matchExpressions": [{"key": "app.kubernetes.io/component", "operator": "In", "values": ["server", "worker"]}],
        }
        np_spec = network_policy_spec(p.network_policy, peers, p.port, peers=peers)
        planned.append(objects.network_policy("NetworkPolicy", p.name, obj_labels, np_spec))
    facts = lora.add_facts(_facts(p, namespace, labels, leader, served))
    planned = with_capacity(check, facts, planned, "Resource")  # refuses what vLLM cannot start; annotates the plan
    return ClusterPlan(annotate(planned, p.gitops), facts)


def _facts(p: RayClusterProps, namespace: str, labels: WorkloadLabels, leader: JsonObject, served: str) -> ServingFacts:
    kuberay = p.backend is MultiNodeBackend.KUBERAY
    target = None if kuberay else ScaleTarget(LEADER_WORKER_SET.api_version, LEADER_WORKER_SET.kind, p.name)
    # serving pods: KubeRay's head '<name>-head-<suffix>'; LWS leaders '<name>-<group index>'
    pods = f"{p.name}-head-[a-z0-9]+" if kuberay else f"{p.name}-[0-9]+"
    return serving_facts(
        p,
        namespace,
        labels,
        leader["metadata"]["labels"],
        served,
        service_name=p.name,
        series=ServerSeries(namespace, p.name, pods),
        scale_target=target,
        unscalable_reason=KUBERAY_UNSCALABLE if kuberay else "",
        startup_seconds=startup_budget(p),
        pods_per_replica=p.nodes,
        accelerators_per_pod=p.accelerators_per_node,
    )
