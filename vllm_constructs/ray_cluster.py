"""RayCluster: one model served by vLLM across several nodes (tensor parallel inside a node, pipeline
parallel across nodes), on an existing distributed runtime: KubeRay or LeaderWorkerSet.

Backends (``MultiNodeBackend``):

- ``KUBERAY``: a ``ray.io/v1`` RayCluster with one head group and one worker group of ``nodes - 1``
  pods. KubeRay normally builds each Ray container's command from ``rayStartParams`` (a ``ray start``
  it generates). We set the annotation ``ray.io/overwrite-container-cmd: "true"`` instead, so KubeRay
  runs our command verbatim: the head runs this library's leader script (``ray start --head``, wait
  until exactly ``nodes`` nodes are alive, bounded, then ``exec vllm serve ... --distributed-executor-backend
  ray``), each worker runs the worker script (wait for the head, ``ray start --block``, retried).
  The join logic is therefore ours, identical on both backends and tested against a real Ray, and
  never depends on a script path inside the vLLM image. GPU accounting is explicit: the head holds
  ``accelerators_per_node`` GPUs and takes part in the engine, so both the script's ``--num-gpus``
  and ``rayStartParams["num-gpus"]`` equal ``accelerators_per_node`` on the head as on the workers.
  Workers reach the head through the Service KubeRay creates for it, ``<name>-head-svc``: headless with
  ``publishNotReadyAddresses`` by default, so it resolves while the head is still waiting for them (an
  operator run with ``ENABLE_RAY_HEAD_CLUSTER_IP_SERVICE=true`` breaks that). KubeRay may also inject its
  own GCS wait init container and Ray health probes into workers; both are compatible with this design.
- ``LWS``: a ``leaderworkerset.x-k8s.io/v1`` LeaderWorkerSet of groups of ``nodes`` pods; the leader
  runs the same leader script, workers the worker script (head address from ``LWS_LEADER_ADDRESS``);
  ``RecreateGroupOnPodRestart`` restarts the whole gang when one pod fails. The startup policy is
  ``LeaderCreated``: with ``LeaderReady`` LWS would create the workers only once the leader is ready,
  and the leader is ready only once the workers joined, so that policy is refused.
- ``LWS_RAY_FREE``: the same LeaderWorkerSet without Ray: every pod runs ``vllm serve`` with
  ``--nnodes``, ``--node-rank $(LWS_WORKER_INDEX)`` and ``--master-addr $(LWS_LEADER_ADDRESS)``;
  workers add ``--headless``.

Only the serving pod (head or leader) has the OpenAI port, the probes and the Service; its startup
budget is the model-load budget plus ``cluster_timeout_seconds``. Workers get no readiness probe on a
port they do not serve. Weights come from one ModelInitJob into a ReadWriteMany cache that every pod
waits for, so a gang never downloads N times.

The layout rule enforced: ``tensor_parallel_size x pipeline_parallel_size == nodes x accelerators_per_node``.
The usual layout is tensor parallel inside a node and pipeline parallel across nodes (TP = accelerators
per node, PP = nodes); tensor parallel across nodes (TP = nodes x accelerators, PP = 1) is accepted too and
needs a fast interconnect (see ``Rdma``).
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import cdk8s
from constructs import Construct

from ._check import Checker
from ._emit import JsonObject, adopt, emit, path_of
from ._gvk import LEADER_WORKER_SET, RAY_CLUSTER
from .gpu_deployment import GpuDeploymentProps, PodOptions, WorkloadIdentity, claim_selector, render_deployment
from .kube import (
    Accelerator,
    ContainerPort,
    EnvValue,
    FieldRef,
    HealthChecks,
    Image,
    Resources,
    RolloutStrategy,
    SecretKeyRef,
    Volume,
    check_secret_ref,
)
from .model import (
    ModelCache,
    ModelInitJob,
    ModelInitJobProps,
    ModelSource,
    _script,
    claim_spec,
    deliver_by_job,
    deliver_local,
    download_image_for,
    with_token,
)
from .vllm_server import DEFAULT_VLLM_IMAGE, HOME, EngineArgs, ServerNetworkPolicy, _service_env_clash, network_policy_spec, server_base_env

__all__ = [
    "LwsRollout",
    "LwsStartupPolicy",
    "MultiNodeBackend",
    "NcclDebug",
    "NcclSettings",
    "RayCluster",
    "RayClusterProps",
    "Rdma",
    "leader_script",
    "worker_script",
]

OVERWRITE_CMD_ANNOTATION = "ray.io/overwrite-container-cmd"
LWS_NAME_LABEL = "leaderworkerset.sigs.k8s.io/name"
LWS_INDEX_LABEL = "leaderworkerset.sigs.k8s.io/worker-index"
_RESOURCE_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_RAY_FREE_FLAGS = ("--nnodes", "--node-rank", "--master-addr", "--master-port", "--headless", "--data-parallel-size")


def leader_script() -> str:
    """The bash program of the serving pod: start the Ray head, wait for the cluster, exec "$@"."""
    return _script("ray-leader.sh")


def worker_script() -> str:
    """The bash program of a worker pod: wait for the head, join with ``ray start --block``, retried."""
    return _script("ray-worker.sh")


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


@dataclass(frozen=True, kw_only=True, slots=True)
class NcclSettings:
    """NCCL (and Gloo) network settings, rendered as environment on every pod."""

    socket_ifname: str | None = None
    """NCCL_SOCKET_IFNAME and GLOO_SOCKET_IFNAME, e.g. 'eth0' or '^lo,docker'. Default: NCCL's choice."""
    ib_hca: str | None = None
    """NCCL_IB_HCA, e.g. 'mlx5' (also settable through Rdma). Default: NCCL's choice."""
    debug: NcclDebug | None = None
    """NCCL_DEBUG. Default: unset (NCCL prints warnings only)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Rdma:
    """InfiniBand/RoCE: the RDMA device resource, IPC_LOCK for pinned memory, and NCCL_IB_HCA."""

    resource: str = "rdma/ib"
    """Extended resource of the RDMA device plugin. Default: rdma/ib."""
    count: int = 1
    """Devices per pod (request equals limit). Default: 1."""
    hca: str | None = None
    """NCCL_IB_HCA, e.g. 'mlx5'. Default: NCCL's choice."""


@dataclass(frozen=True, kw_only=True, slots=True)
class LwsRollout:
    """rolloutStrategy.rollingUpdateConfiguration of a LeaderWorkerSet (counted in groups)."""

    partition: int | None = None
    """Groups with an index below it keep the old version. Default: unset (all groups update)."""
    max_surge: int | str = 0
    """Extra groups during a rollout. Default: 0 (no spare nodes needed)."""
    max_unavailable: int | str = 1
    """Groups down at once during a rollout. Default: 1."""


@dataclass(frozen=True, kw_only=True, slots=True)
class RayClusterProps:
    """Props of :class:`RayCluster`. ``name``, ``model``, ``engine`` and ``resources`` are required."""

    name: str
    """Name of the server: instance label and base of every object name. No default."""
    model: ModelSource
    """Where the weights come from. No default."""
    engine: EngineArgs
    """Engine arguments; tensor_parallel_size x pipeline_parallel_size must equal nodes x accelerators_per_node. No default."""
    resources: Resources
    """cpu and memory of each pod; ``accelerators`` may be left 0 (accelerators_per_node is used). No default."""
    nodes: int = 2
    """Pods in one serving group, one per node. Default: 2."""
    accelerators_per_node: int = 8
    """Accelerators each pod requests (and limits). Default: 8."""
    backend: MultiNodeBackend = MultiNodeBackend.KUBERAY
    """Default: KubeRay."""
    image: Image = DEFAULT_VLLM_IMAGE
    """Image of every pod (it has vllm, ray and python3). Default: vllm/vllm-openai:v0.33.0."""
    accelerator: Accelerator = field(default_factory=Accelerator.nvidia)
    """Default: nvidia.com/gpu."""
    nccl: NcclSettings = field(default_factory=NcclSettings)
    """Default: NCCL's own choices."""
    rdma: Rdma | None = None
    """InfiniBand/RoCE devices. Default: none (NCCL over TCP sockets)."""
    cluster_timeout_seconds: int = 900
    """How long the head waits for every node to join (and workers for the head). Default: 900."""
    ray_port: int = 6379
    """Port of the Ray head (GCS). Default: 6379."""
    health: HealthChecks = field(default_factory=HealthChecks)
    """Probes of the serving pod; its startup budget gets cluster_timeout_seconds added. Default: 30 min model load."""
    port: int = 8000
    """OpenAI API port of the serving pod (named 'http'). Default: 8000."""
    service_port: int = 80
    """Service port. Default: 80."""
    replicas: int = 1
    """Serving groups (LWS only; KubeRay: one RayCluster per group). Default: 1."""
    lws_rollout: LwsRollout = field(default_factory=LwsRollout)
    """LWS rollout. Default: maxSurge 0, maxUnavailable 1."""
    lws_startup_policy: LwsStartupPolicy = LwsStartupPolicy.LEADER_CREATED
    """Default: LeaderCreated."""
    cache: ModelCache | None = None
    """Where downloads are kept; must be ReadWriteMany. Default: a 1000Gi ReadWriteMany PVC."""
    download_image: Image | None = None
    """Default: amazon/aws-cli for S3, the server image for Hugging Face."""
    wait_timeout_seconds: int = 7200
    """How long each pod waits for the download. Default: 7200."""
    hf_token: SecretKeyRef | None = None
    """Hugging Face token, given to the download only. Default: none."""
    api_key: SecretKeyRef | None = None
    """VLLM_API_KEY of the serving pod. Default: none."""
    env: Mapping[str, EnvValue] = field(default_factory=dict)
    """More environment on every pod. Default: none."""
    part_of: str = "vllm"
    """app.kubernetes.io/part-of. Default: vllm."""
    pod: PodOptions = field(default_factory=PodOptions)
    """Scheduling, security, host_network, /dev/shm, metadata of every pod. Default: see PodOptions."""
    network_policy: ServerNetworkPolicy | None = None
    """Ingress to the serving port from the allowed namespaces and pods, all traffic among the cluster's own pods,
    optionally egress only to DNS, the peers and listed CIDRs. Default: none."""


@dataclass(frozen=True, slots=True)
class _Plan:
    identity: WorkloadIdentity
    worker_identity: WorkloadIdentity
    api_version: str
    kind: str
    annotations: dict[str, str]
    spec: JsonObject
    service: JsonObject
    pvc: JsonObject | None
    job: ModelInitJobProps | None
    served_name: str
    cache_claim: str
    network_policy: JsonObject | None


def _check_props(check: Checker, p: RayClusterProps) -> None:
    check.dns_label("name", p.name, longest_suffix="-download-12345678")
    clash = _service_env_clash(p.name)
    if clash:
        check.fail(
            "name",
            p.name,
            f"names the Service so that Kubernetes injects {clash}, which vLLM reads as its own setting",
            "a name that is not 'vllm' (or another vLLM variable prefix)",
            "rename the server, e.g. 'vllm-llama'",
        )
    check_secret_ref(check, "hf_token", p.hf_token)
    check_secret_ref(check, "api_key", p.api_key)
    if not isinstance(p.backend, MultiNodeBackend):
        check.fail("backend", p.backend, "is not a backend", "MultiNodeBackend.KUBERAY, LWS or LWS_RAY_FREE", "use one of those")
    check.integer("nodes", p.nodes, minimum=2, maximum=64)
    check.integer("accelerators_per_node", p.accelerators_per_node, minimum=1, maximum=64)
    if p.resources.accelerators not in (0, p.accelerators_per_node):
        check.fail(
            "resources.accelerators",
            p.resources.accelerators,
            f"differs from accelerators_per_node ({p.accelerators_per_node})",
            "0 (taken from accelerators_per_node) or the same number",
            "set the count once, in accelerators_per_node",
        )
    p.engine.check(check, "engine")
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
    for arg in p.engine.extra_args:
        flag = arg.split("=", 1)[0]
        if flag in _RAY_FREE_FLAGS:
            check.fail(
                "engine.extra_args",
                arg,
                "repeats a flag the construct renders for the multi-node layout",
                "flags other than " + ", ".join(_RAY_FREE_FLAGS),
                "drop it",
            )
    if p.pod.shared_memory is not None and not p.pod.shared_memory.enabled:
        check.fail(
            "pod.shared_memory",
            "disabled",
            "is off for a multi-node server; NCCL then fails on the 64Mi default /dev/shm",
            "SharedMemory.of(size), or unset (16Gi capped at a quarter of the memory limit)",
            "remove shared_memory=SharedMemory.disabled()",
        )
    check.integer("cluster_timeout_seconds", p.cluster_timeout_seconds, minimum=30, maximum=86400)
    check.integer("ray_port", p.ray_port, minimum=1, maximum=65535)
    check.integer("port", p.port, minimum=1, maximum=65535)
    if p.ray_port == p.port:
        check.fail("ray_port", p.ray_port, "is the API port too", "a port other than port", "keep the default 6379")
    check.integer("service_port", p.service_port, minimum=1, maximum=65535)
    check.integer("wait_timeout_seconds", p.wait_timeout_seconds, minimum=10)
    if p.backend is MultiNodeBackend.KUBERAY:
        if p.replicas != 1:
            check.fail(
                "replicas",
                p.replicas,
                "is not 1 with the KubeRay backend; a RayCluster is one serving group",
                "1 with KubeRay, or any count with LWS",
                "create one RayCluster per replica, or use MultiNodeBackend.LWS",
            )
    else:
        check.integer("replicas", p.replicas, minimum=0)
        if p.lws_startup_policy is LwsStartupPolicy.LEADER_READY:
            check.fail(
                "lws_startup_policy",
                str(p.lws_startup_policy),
                "would never start the workers: the leader becomes ready only after every worker joined",
                "LwsStartupPolicy.LEADER_CREATED",
                "leave lws_startup_policy unset",
            )
        r = p.lws_rollout
        if r.partition is not None:
            check.integer("lws_rollout.partition", r.partition, minimum=0)
        # Counted in groups, with the same rules (and messages) as a Deployment rollout.
        RolloutStrategy.rolling(max_surge=r.max_surge, max_unavailable=r.max_unavailable).check(check, "lws_rollout")
    if p.rdma is not None:
        if not isinstance(p.rdma.resource, str) or not _RESOURCE_NAME_RE.match(p.rdma.resource):
            check.fail(
                "rdma.resource",
                p.rdma.resource,
                "is not an extended resource name",
                "'<domain>/<name>' such as 'rdma/ib' or 'nvidia.com/hostdev'",
                "use the name your RDMA device plugin advertises",
            )
        check.integer("rdma.count", p.rdma.count, minimum=1, maximum=64)
        if p.rdma.hca is not None and p.nccl.ib_hca is not None and p.rdma.hca != p.nccl.ib_hca:
            check.fail("rdma.hca", p.rdma.hca, f"differs from nccl.ib_hca ({p.nccl.ib_hca!r})", "the HCA set once", "set it in one place")
    for fld in ("socket_ifname", "ib_hca"):
        value = getattr(p.nccl, fld)
        if value is not None and (not isinstance(value, str) or not re.match(r"^[\^=]?[A-Za-z0-9_.:,^-]+$", value)):
            check.fail(
                f"nccl.{fld}",
                value,
                "is not an interface list",
                "names such as 'eth0', 'mlx5' or '^lo,docker'",
                "write the names NCCL expects",
            )
    if p.nccl.debug is not None and not isinstance(p.nccl.debug, NcclDebug):
        check.fail("nccl.debug", p.nccl.debug, "is not an NCCL_DEBUG level", "NcclDebug.VERSION, WARN, INFO or TRACE", "use one of those")


def _model(
    check: Checker, path: str, p: RayClusterProps, identity: WorkloadIdentity
) -> tuple[str, dict[str, EnvValue], list[Volume], list[JsonObject], JsonObject | None, ModelInitJobProps | None, str]:
    """Model path, env, volumes and init containers shared by every pod, plus the PVC and the Job."""
    p.model.check(check, "model")
    env = server_base_env()
    volumes = [Volume(name="home", mount_path=HOME, source={"emptyDir": {}})]
    claim = f"{p.name}-model-cache"
    if p.model.downloads:
        cache = p.cache or ModelCache.pvc("1000Gi", access_mode="ReadWriteMany")
        cache.check(check, "cache")
        if not cache.shared:
            check.fail(
                "cache",
                cache.kind,
                "is per pod, so the one download Job cannot fill it for every node",
                "ModelCache.pvc(size, access_mode='ReadWriteMany') or ModelCache.existing_claim(name)",
                "use a ReadWriteMany claim",
            )
        mode = cache.resolved_access_mode(True)
        if mode != "ReadWriteMany":
            check.fail(
                "cache.access_mode",
                mode,
                f"attaches to one node, but the {p.nodes} pods of a group run on {p.nodes} nodes and all read the weights",
                "ReadWriteMany",
                "use ModelCache.pvc(size, access_mode='ReadWriteMany') on an RWX storage class (NFS, CephFS, Filestore, EFS, ...)",
            )
        image = download_image_for(p.model, p.download_image, p.image, check)
        claim = cache.claim_name or claim
        delivery = deliver_by_job(
            check,
            path,
            source=with_token(p.model, p.hf_token),
            cache=cache,
            claim_name=claim,
            job_name_base=p.name,
            server_image=p.image,
            download_image=image,
            identity=identity,
            security=p.pod.security,
            wait_timeout_seconds=p.wait_timeout_seconds,
        )
        env.update(delivery.env)
        volumes.extend(delivery.volumes)
        return delivery.model_path, env, volumes, list(delivery.init_containers), claim_spec(cache, mode), delivery.job, claim
    local = deliver_local(p.model)
    env.update(local.env)
    volumes.extend(local.volumes)
    return local.model_path, env, volumes, [], None, None, claim


def _pod_template(
    path: str,
    p: RayClusterProps,
    *,
    identity: WorkloadIdentity,
    serving: bool,
    command: tuple[str, ...],
    args: tuple[str, ...],
    env: Mapping[str, EnvValue],
    volumes: list[Volume],
    inits: list[JsonObject],
) -> JsonObject:
    """One pod template from the single-node machinery (probes, /dev/shm, security, tolerations, affinity)."""
    pod = p.pod
    if p.rdma is not None and "IPC_LOCK" not in pod.security.add_capabilities:
        pod = dataclasses.replace(
            pod, security=dataclasses.replace(pod.security, add_capabilities=(*pod.security.add_capabilities, "IPC_LOCK"))
        )
    pod = dataclasses.replace(pod, init_containers=(*inits, *pod.init_containers))
    extra_ports = (ContainerPort("gcs-server", p.ray_port),) if serving and p.backend is not MultiNodeBackend.LWS_RAY_FREE else ()
    health = dataclasses.replace(p.health, startup_timeout_seconds=p.health.startup_timeout_seconds + p.cluster_timeout_seconds)
    props = GpuDeploymentProps(
        name=p.name,
        image=p.image,
        resources=dataclasses.replace(p.resources, accelerators=p.accelerators_per_node),
        identity=identity,
        container_name="vllm" if serving else "worker",
        command=command,
        args=args,
        env=env,
        port=ContainerPort("http", p.port),
        extra_ports=extra_ports,
        accelerator=p.accelerator,
        parallel=True,
        health=health,
        volumes=tuple(volumes),
        pod=pod,
    )
    spec, _ = render_deployment(path, props)
    template: JsonObject = spec["template"]
    main = template["spec"]["containers"][0]
    if not serving:
        for key in ("ports", "startupProbe", "readinessProbe", "livenessProbe"):
            main.pop(key, None)
    if p.rdma is not None:
        for kind in ("requests", "limits"):
            main["resources"][kind][p.rdma.resource] = str(p.rdma.count)
    return template


def plan_cluster(path: str, p: RayClusterProps) -> _Plan:
    """Check every prop and compute every object. Pure: raises ConfigError, creates nothing."""
    check = Checker(path)
    _check_props(check, p)
    identity = WorkloadIdentity(instance=p.name, component="server", part_of=p.part_of, version=p.image.version_label)
    worker_identity = dataclasses.replace(identity, component="worker")
    model_path, env, volumes, inits, pvc, job, claim = _model(check, path, p, identity)
    served_name = p.engine.served_model_name or p.model.default_served_name

    env["VLLM_HOST_IP"] = FieldRef("status.podIP")
    nccl_hca = p.nccl.ib_hca or (p.rdma.hca if p.rdma else None)
    if p.nccl.socket_ifname:
        env["NCCL_SOCKET_IFNAME"] = p.nccl.socket_ifname
        env["GLOO_SOCKET_IFNAME"] = p.nccl.socket_ifname
    if nccl_hca:
        env["NCCL_IB_HCA"] = nccl_hca
    if p.nccl.debug is not None:
        env["NCCL_DEBUG"] = str(p.nccl.debug)
    ray = p.backend is not MultiNodeBackend.LWS_RAY_FREE
    if ray:
        env.update(
            {
                "RAY_NODE_IP": FieldRef("status.podIP"),
                "RAY_PORT": str(p.ray_port),
                "RAY_NUM_GPUS": str(p.accelerators_per_node),
                "RAY_CLUSTER_TIMEOUT_SECONDS": str(p.cluster_timeout_seconds),
            }
        )
    leader_env = dict(env)
    worker_env = dict(env)
    if p.api_key is not None:
        leader_env["VLLM_API_KEY"] = p.api_key
    if ray:
        leader_env["RAY_EXPECTED_NODES"] = str(p.nodes)
        if p.backend is MultiNodeBackend.KUBERAY:
            worker_env["RAY_HEAD_ADDRESS"] = f"{p.name}-head-svc"
    taken = sorted({*leader_env, *worker_env, "RAY_HEAD_ADDRESS", "LWS_LEADER_ADDRESS", "LWS_GROUP_SIZE", "LWS_WORKER_INDEX"})
    for key, value in p.env.items():
        if key in taken:
            check.fail(
                "env",
                key,
                "is set by the construct (or its runtime) already",
                "names the construct does not set (it sets " + ", ".join(taken) + ")",
                "use the typed prop or drop the variable",
            )
        leader_env[key] = value
        worker_env[key] = value

    serve = ["vllm", "serve", *p.engine.to_args(model_path=model_path, served_name=served_name, port=p.port)]
    bash = ("/bin/bash", "-c")
    leader_cmd: tuple[str, ...]
    worker_cmd: tuple[str, ...]
    worker_args: tuple[str, ...]
    if ray:
        serve += ["--distributed-executor-backend", "ray"]
        leader_cmd, leader_args = (*bash, leader_script(), "ray-leader"), tuple(serve)
        worker_cmd, worker_args = (*bash, worker_script(), "ray-worker"), ()
    else:
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
        leader_cmd, leader_args = ("vllm", "serve"), tuple(serve[2:])
        worker_cmd, worker_args = ("vllm", "serve"), (*serve[2:], "--headless")

    leader = _pod_template(
        f"{path}/Leader",
        p,
        identity=identity,
        serving=True,
        command=leader_cmd,
        args=leader_args,
        env=leader_env,
        volumes=volumes,
        inits=inits,
    )
    worker = _pod_template(
        f"{path}/Worker",
        p,
        identity=worker_identity,
        serving=False,
        command=worker_cmd,
        args=worker_args,
        env=worker_env,
        volumes=volumes,
        inits=inits,
    )

    service_ports = [{"name": "http", "port": p.service_port, "targetPort": "http", "protocol": "TCP"}]
    if p.backend is MultiNodeBackend.KUBERAY:
        gvk = RAY_CLUSTER
        gpus = str(p.accelerators_per_node)
        spec: JsonObject = {
            "headGroupSpec": {"rayStartParams": {"num-gpus": gpus, "port": str(p.ray_port)}, "template": leader},
            "workerGroupSpecs": [
                {
                    "groupName": "workers",
                    "replicas": p.nodes - 1,
                    "minReplicas": p.nodes - 1,
                    "maxReplicas": p.nodes - 1,
                    "rayStartParams": {"num-gpus": gpus},
                    "template": worker,
                }
            ],
        }
        annotations = {OVERWRITE_CMD_ANNOTATION: "true"}
        selector = {"ray.io/cluster": p.name, "ray.io/node-type": "head"}
    else:
        gvk = LEADER_WORKER_SET
        rolling: JsonObject = {}
        if p.lws_rollout.partition is not None:
            rolling["partition"] = p.lws_rollout.partition
        rolling["maxSurge"] = p.lws_rollout.max_surge
        rolling["maxUnavailable"] = p.lws_rollout.max_unavailable
        spec = {
            "replicas": p.replicas,
            "leaderWorkerTemplate": {
                "size": p.nodes,
                "restartPolicy": "RecreateGroupOnPodRestart",
                "leaderTemplate": leader,
                "workerTemplate": worker,
            },
            "rolloutStrategy": {"type": "RollingUpdate", "rollingUpdateConfiguration": rolling},
            "startupPolicy": str(p.lws_startup_policy),
        }
        annotations = {}
        selector = {LWS_NAME_LABEL: p.name, LWS_INDEX_LABEL: "0"}
    service: JsonObject = {"type": "ClusterIP", "selector": selector, "ports": service_ports}
    netpol: JsonObject | None = None
    if p.network_policy is not None:
        peers: JsonObject = {
            "matchLabels": {k: v for k, v in identity.selector.items() if k != "app.kubernetes.io/component"},
            "matchExpressions": [{"key": "app.kubernetes.io/component", "operator": "In", "values": ["server", "worker"]}],
        }
        netpol = network_policy_spec(p.network_policy, peers, p.port, Checker(path), peers=peers)
    return _Plan(
        identity=identity,
        worker_identity=worker_identity,
        api_version=gvk.api_version,
        kind=gvk.kind,
        annotations={**dict(p.pod.annotations), **annotations},
        spec=spec,
        service=service,
        pvc=pvc,
        job=job,
        served_name=served_name,
        cache_claim=claim,
        network_policy=netpol,
    )


class RayCluster(Construct):
    """One model served by vLLM across ``nodes`` pods (see the module docstring for the backends).

    Handles: ``resource`` (the RayCluster or LeaderWorkerSet), ``service`` (selects the serving pod only),
    ``service_name``, ``service_port``, ``port``, ``model_init_job`` (or None), ``cache_claim`` (or None),
    ``served_model_name``, ``selector_labels`` (the serving pod's labels the Service selects).
    """

    def __init__(self, scope: Construct, construct_id: str, props: RayClusterProps) -> None:
        super().__init__(scope, construct_id)
        adopt(self, scope, construct_id)
        plan = plan_cluster(path_of(self), props)
        claim_selector(self, path_of(self), plan.identity.selector)
        self.props = props
        self.served_model_name = plan.served_name
        self.identity = plan.identity
        labels = plan.identity.labels(props.pod.labels)
        self.cache_claim: cdk8s.ApiObject | None = None
        if plan.pvc is not None:
            self.cache_claim = emit(
                self,
                "ModelCache",
                api_version="v1",
                kind="PersistentVolumeClaim",
                name=plan.cache_claim,
                labels=labels,
                body={"spec": plan.pvc},
            )
        self.model_init_job: ModelInitJob | None = None
        if plan.job is not None:
            self.model_init_job = ModelInitJob(self, "ModelDownload", plan.job)
        self.resource = emit(
            self,
            "Resource",
            api_version=plan.api_version,
            kind=plan.kind,
            name=props.name,
            labels=labels,
            annotations=plan.annotations,
            body={"spec": plan.spec},
        )
        self.service = emit(self, "Service", api_version="v1", kind="Service", name=props.name, labels=labels, body={"spec": plan.service})
        self._selector = dict(plan.service["selector"])
        self._gvk = (plan.api_version, plan.kind)
        self.autoscaled = False
        self.network_policy: cdk8s.ApiObject | None = None
        if plan.network_policy is not None:
            self.network_policy = emit(
                self,
                "NetworkPolicy",
                api_version="networking.k8s.io/v1",
                kind="NetworkPolicy",
                name=props.name,
                labels=labels,
                body={"spec": plan.network_policy},
            )

    @property
    def selector_labels(self) -> dict[str, str]:
        return dict(self._selector)

    @property
    def api_version(self) -> str:
        return self._gvk[0]

    @property
    def kind(self) -> str:
        return self._gvk[1]

    @property
    def name(self) -> str:
        return self.props.name

    @property
    def scalable(self) -> bool:
        """Whether an autoscaler can own the replica count: a LeaderWorkerSet scales whole groups through its scale
        subresource; a KubeRay RayCluster has no group replica count to scale."""
        return self.props.backend is not MultiNodeBackend.KUBERAY

    def hand_replicas_to_autoscaler(self) -> None:
        """Drop the LeaderWorkerSet's ``spec.replicas`` so a GitOps sync never fights the autoscaler."""
        if self.scalable and not self.autoscaled:
            self.resource.add_json_patch(cdk8s.JsonPatch.remove("/spec/replicas"))
            self.autoscaled = True

    @property
    def service_name(self) -> str:
        return self.props.name

    @property
    def service_port(self) -> int:
        return self.props.service_port

    @property
    def port(self) -> ContainerPort:
        return ContainerPort("http", self.props.port)
