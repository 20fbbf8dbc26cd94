"""VllmServer: one model served by vLLM on one node (a GpuDeployment plus everything around it)."""

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
from .gpu_deployment import GpuDeployment, GpuDeploymentProps, PodOptions, WorkloadIdentity, content_hash, render_deployment
from .kube import (
    Accelerator,
    ContainerPort,
    EnvFrom,
    EnvValue,
    HealthChecks,
    Image,
    Resources,
    RolloutStrategy,
    SecretKeyRef,
    Volume,
    check_secret_ref,
)
from .model import (
    MODEL_MOUNT,
    DownloadMode,
    ModelCache,
    ModelDelivery,
    ModelInitJob,
    ModelInitJobProps,
    ModelSource,
    cache_volume,
    claim_spec,
    deliver_by_job,
    deliver_local,
    download_container,
    download_image_for,
    with_token,
)

__all__ = [
    "DEFAULT_VLLM_IMAGE",
    "EngineArgs",
    "ServerNames",
    "ServerNetworkPolicy",
    "ServiceType",
    "VllmServer",
    "VllmServerProps",
]

DEFAULT_VLLM_IMAGE = Image("vllm/vllm-openai", tag="v0.33.0")
HOME = "/home/vllm"

# Flags that typed props render; extra_args may not repeat them (aliases included).
TYPED_FLAGS = {
    "--model": "model",
    "--served-model-name": "served_model_name",
    "--tensor-parallel-size": "tensor_parallel_size",
    "-tp": "tensor_parallel_size",
    "--pipeline-parallel-size": "pipeline_parallel_size",
    "-pp": "pipeline_parallel_size",
    "--max-model-len": "max_model_len",
    "--gpu-memory-utilization": "gpu_memory_utilization",
    "--dtype": "dtype",
    "--quantization": "quantization",
    "-q": "quantization",
    "--host": "(the server's bind address)",
    "--port": "port",
    "--api-key": "api_key (a SecretKeyRef)",
    "--enforce-eager": "enforce_eager",
    "--trust-remote-code": "trust_remote_code",
    "--distributed-executor-backend": "(set by the construct)",
}
_DTYPES = ("auto", "half", "float16", "bfloat16", "float", "float32")
# Kubernetes injects <NAME>_PORT, <NAME>_SERVICE_HOST, ... for every Service; these names are vLLM's own.
_VLLM_ENV_NAMES = frozenset({"VLLM_PORT", "VLLM_HOST_IP", "VLLM_DP_MASTER_PORT", "VLLM_DP_MASTER_IP", "VLLM_DP_RPC_PORT"})


class ServiceType(enum.StrEnum):
    CLUSTER_IP = "ClusterIP"
    NODE_PORT = "NodePort"
    LOAD_BALANCER = "LoadBalancer"


@dataclass(frozen=True, kw_only=True, slots=True)
class EngineArgs:
    """vLLM engine arguments rendered into ``vllm serve``. ``extra_args`` is the one escape hatch."""

    served_model_name: str | None = None
    """Name clients use in requests. Default: the source's (repo id or folder name)."""
    tensor_parallel_size: int = 1
    """Default: 1."""
    pipeline_parallel_size: int = 1
    """Default: 1."""
    max_model_len: int | None = None
    """Default: vLLM's (from the model config)."""
    gpu_memory_utilization: float | None = None
    """Fraction in (0, 1]. Default: vLLM's (0.92 in 0.33)."""
    dtype: str | None = None
    """One of auto, half, float16, bfloat16, float, float32. Default: vLLM's (auto)."""
    quantization: str | None = None
    """e.g. 'fp8', 'awq'. Default: none."""
    enforce_eager: bool = False
    """Skip CUDA graphs (faster start, slower decode). Default: False."""
    trust_remote_code: bool = False
    """Default: False."""
    extra_args: tuple[str, ...] = ()
    """More flags, verbatim; may not repeat a typed flag. Default: none."""

    @property
    def world_size(self) -> int:
        return self.tensor_parallel_size * self.pipeline_parallel_size

    def check(self, check: Checker, fld: str) -> None:
        check.integer(f"{fld}.tensor_parallel_size", self.tensor_parallel_size, minimum=1, maximum=64)
        check.integer(f"{fld}.pipeline_parallel_size", self.pipeline_parallel_size, minimum=1, maximum=64)
        if self.max_model_len is not None:
            check.integer(f"{fld}.max_model_len", self.max_model_len, minimum=1)
        u = self.gpu_memory_utilization
        if u is not None and (isinstance(u, bool) or not isinstance(u, int | float) or not 0 < u <= 1):
            check.fail(
                f"{fld}.gpu_memory_utilization",
                u,
                "is outside (0, 1]",
                "a fraction above 0 and at most 1, e.g. 0.9",
                "pass the fraction of accelerator memory vLLM may use",
            )
        if self.dtype is not None and self.dtype not in _DTYPES:
            check.fail(f"{fld}.dtype", self.dtype, "is not a vLLM dtype", ", ".join(_DTYPES), "use one of those")
        if self.quantization is not None and not re.match(r"^[a-z0-9_-]+$", self.quantization):
            check.fail(
                f"{fld}.quantization",
                self.quantization,
                "is not a quantization method name",
                "a vLLM method such as 'fp8', 'awq' or 'gptq'",
                "use the name vLLM documents",
            )
        if self.served_model_name is not None and (not self.served_model_name or any(c.isspace() for c in self.served_model_name)):
            check.fail(
                f"{fld}.served_model_name",
                self.served_model_name,
                "is empty or has spaces",
                "a non-empty name without spaces",
                "use e.g. 'llama-3.1-8b'",
            )
        for arg in self.extra_args:
            if not isinstance(arg, str):
                check.fail(f"{fld}.extra_args", arg, "is not a string", "strings only", "quote numbers, e.g. '16'")
            flag = arg.split("=", 1)[0]
            norm = flag.replace("_", "-") if flag.startswith("--") else flag
            if norm in TYPED_FLAGS:
                check.fail(
                    f"{fld}.extra_args",
                    arg,
                    f"repeats a flag the construct renders from {TYPED_FLAGS[norm]}",
                    "flags without a typed prop",
                    f"set {TYPED_FLAGS[norm]} instead",
                )

    def to_args(self, *, model_path: str, served_name: str, port: int) -> list[str]:
        args = [model_path, "--served-model-name", served_name, "--host", "0.0.0.0", "--port", str(port)]
        if self.tensor_parallel_size != 1:
            args += ["--tensor-parallel-size", str(self.tensor_parallel_size)]
        if self.pipeline_parallel_size != 1:
            args += ["--pipeline-parallel-size", str(self.pipeline_parallel_size)]
        if self.max_model_len is not None:
            args += ["--max-model-len", str(self.max_model_len)]
        if self.gpu_memory_utilization is not None:
            args += ["--gpu-memory-utilization", repr(float(self.gpu_memory_utilization))]
        if self.dtype is not None:
            args += ["--dtype", self.dtype]
        if self.quantization is not None:
            args += ["--quantization", self.quantization]
        if self.enforce_eager:
            args.append("--enforce-eager")
        if self.trust_remote_code:
            args.append("--trust-remote-code")
        return args + list(self.extra_args)


@dataclass(frozen=True, kw_only=True, slots=True)
class ServerNames:
    """Kubernetes object names of one server. Use :meth:`for_server` (default) or :meth:`helm_chart`."""

    deployment: str
    service: str
    pdb: str
    cache_claim: str
    config_map: str
    network_policy: str
    download_job_base: str | None = None
    """Base of the download Job's name ``<base>-download-<content hash>``. Default: the deployment name."""

    @classmethod
    def for_server(cls, name: str) -> ServerNames:
        return cls(
            deployment=name, service=name, pdb=name, cache_claim=f"{name}-model-cache", config_map=f"{name}-env", network_policy=name
        )

    @classmethod
    def helm_chart(cls, release: str, *, service_name: str | None = None) -> ServerNames:
        """The upstream chart's names, so an in-place upgrade keeps its objects."""
        return cls(
            deployment=f"{release}-deployment-vllm",
            service=(service_name or f"{release}-service").strip().lower(),
            pdb=f"{release}-pdb",
            cache_claim=f"{release}-storage-claim",
            config_map=f"{release}-configs",
            network_policy=f"{release}-network-policy",
            download_job_base=f"{release}-init-vllm",
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class ServerNetworkPolicy:
    """Ingress only to the serving port, from the namespaces and pods named here; optional egress limits."""

    from_namespaces: Mapping[str, str] | None = None
    """Namespace labels allowed in, e.g. {'kubernetes.io/metadata.name': 'gateway'}. Default: this namespace only."""
    from_pods: Mapping[str, str] | None = None
    """Pod labels allowed in (within the allowed namespaces). Default: any pod there."""
    metrics_from_namespaces: Mapping[str, str] | None = None
    """Namespace labels allowed to scrape (e.g. the monitoring namespace). Default: same as from_namespaces."""
    restrict_egress: bool = False
    """Limit egress to DNS and the CIDRs below. Default: False (downloads and hubs need egress)."""
    egress_cidrs: tuple[str, ...] = ()
    """CIDRs reachable when egress is restricted (model store, proxies). Default: none."""
    egress_ports: tuple[int, ...] = (443,)
    """Ports allowed to egress_cidrs. Default: 443."""


@dataclass(frozen=True, kw_only=True, slots=True)
class VllmServerProps:
    """Props of :class:`VllmServer`. ``name``, ``model`` and ``resources`` are required."""

    name: str
    """Server name: instance label and base of every object name. No default."""
    model: ModelSource
    """Where the weights come from. No default."""
    resources: Resources
    """cpu, memory, accelerators per pod. No default."""
    engine: EngineArgs = field(default_factory=EngineArgs)
    """vLLM engine arguments. Default: vLLM's defaults."""
    image: Image = DEFAULT_VLLM_IMAGE
    """Default: vllm/vllm-openai:v0.33.0."""
    accelerator: Accelerator = field(default_factory=Accelerator.nvidia)
    """Default: nvidia.com/gpu."""
    replicas: int = 1
    """Default: 1."""
    rollout: RolloutStrategy = field(default_factory=RolloutStrategy.rolling)
    """Default: RollingUpdate, maxSurge 0, maxUnavailable 1."""
    health: HealthChecks = field(default_factory=HealthChecks)
    """Default: 30-minute startup budget on /health."""
    port: int = 8000
    """Container port (named 'http'). Default: 8000."""
    extra_ports: tuple[ContainerPort, ...] = ()
    """More ports on the vLLM container. Default: none."""
    service_port: int = 80
    """Service port. Default: 80."""
    service_type: ServiceType = ServiceType.CLUSTER_IP
    """Default: ClusterIP."""
    cache: ModelCache | None = None
    """Where downloads are kept. Default: a 100Gi PVC (ReadWriteOnce for 1 replica, ReadWriteMany for more)."""
    download_mode: DownloadMode = DownloadMode.JOB
    """Default: one Job per source and revision; pods wait for its marker."""
    download_image: Image | None = None
    """Image of the download. Default: amazon/aws-cli for S3, the server image (it has 'hf') for Hugging Face."""
    co_locate_download: bool | None = None
    """Pin the Job to the server's node. Default: True exactly when the cache is ReadWriteOnce."""
    wait_timeout_seconds: int = 7200
    """How long server pods wait for the download. Default: 7200."""
    download_env: Mapping[str, EnvValue] = field(default_factory=dict)
    """Extra env of the download (the chart's downloadJob.env). Default: none."""
    download_command: tuple[str, ...] = ()
    """Custom download command. Default: /bin/bash -c."""
    download_args: tuple[str, ...] = ()
    """Custom download args. Default: the generated script."""
    wait_env: Mapping[str, EnvValue] = field(default_factory=dict)
    """Extra env of the wait guard. Default: none."""
    wait_command: tuple[str, ...] = ()
    """Custom wait command. Default: /bin/bash -c."""
    wait_args: tuple[str, ...] = ()
    """Custom wait args. Default: the generated guard script."""
    hf_token: SecretKeyRef | None = None
    """Hugging Face token reference, given to the download only (the server runs offline). Default: none."""
    api_key: SecretKeyRef | None = None
    """VLLM_API_KEY reference; clients must send it as a bearer token. Default: none."""
    env: Mapping[str, EnvValue] = field(default_factory=dict)
    """More environment for vLLM. Default: none."""
    env_config: Mapping[str, str | int | float | bool] | None = None
    """Non-secret environment kept in a ConfigMap (values stringified). Default: none."""
    env_from: tuple[EnvFrom, ...] = ()
    """Existing ConfigMaps and Secrets imported whole. Default: none."""
    pdb_max_unavailable: int | str | None = 1
    """PodDisruptionBudget maxUnavailable; None: no PDB. Default: 1."""
    network_policy: ServerNetworkPolicy | None = None
    """Default: none."""
    names: ServerNames | None = None
    """Object names. Default: ServerNames.for_server(name)."""
    part_of: str = "vllm"
    """app.kubernetes.io/part-of. Default: vllm."""
    pod: PodOptions = field(default_factory=PodOptions)
    """Scheduling, security, sidecars, metadata. Default: see PodOptions."""


@dataclass(frozen=True, slots=True)
class _Plan:
    """Everything a VllmServer will emit, computed and checked before any construct exists."""

    names: ServerNames
    identity: WorkloadIdentity
    deployment: GpuDeploymentProps
    deployment_spec: JsonObject
    service: JsonObject
    pvc: JsonObject | None
    job: ModelInitJobProps | None
    config_map: dict[str, str] | None
    pdb: JsonObject | None
    network_policy: JsonObject | None
    model_path: str
    served_name: str
    cache_access_mode: str | None


def server_base_env() -> dict[str, EnvValue]:
    """Environment of every vLLM pod: a writable HOME and caches under a read-only root filesystem (USER for
    torch's cache paths under an arbitrary UID), and no usage reporting."""
    return {
        "HOME": HOME,
        "USER": "vllm",
        "XDG_CACHE_HOME": f"{HOME}/.cache",
        "HF_HOME": f"{HOME}/.cache/huggingface",
        "VLLM_CACHE_ROOT": f"{HOME}/.cache/vllm",
        "VLLM_CONFIG_ROOT": f"{HOME}/.config/vllm",
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
    }


def _service_env_clash(name: str) -> str | None:
    prefix = name.upper().replace("-", "_")
    for suffix in ("_PORT", "_SERVICE_HOST", "_SERVICE_PORT"):
        if prefix + suffix in _VLLM_ENV_NAMES:
            return prefix + suffix
    return None


def plan_server(path: str, props: VllmServerProps) -> _Plan:
    """Check every prop and compute every object. Pure: raises ConfigError, creates nothing."""
    check = Checker(path)
    names = props.names or ServerNames.for_server(props.name)
    check.dns_label("name", props.name, longest_suffix="-download-12345678")
    if names.download_job_base is not None:
        check.dns_label("names.download_job_base", names.download_job_base, longest_suffix="-download-12345678")
    for fld in ("deployment", "service", "pdb", "cache_claim", "config_map", "network_policy"):
        check.dns_label(f"names.{fld}", getattr(names, fld))
    clash = _service_env_clash(names.service)
    if clash:
        check.fail(
            "names.service",
            names.service,
            f"makes Kubernetes inject {clash} into pods of this namespace, which vLLM reads as its own setting and fails on",
            "a Service name that is not 'vllm' (or another vLLM variable prefix)",
            "rename the server or the Service, e.g. 'vllm-llama'",
        )
    props.model.check(check, "model")
    check_secret_ref(check, "hf_token", props.hf_token)
    check_secret_ref(check, "api_key", props.api_key)
    props.engine.check(check, "engine")
    props.resources.check(check, "resources")
    check.integer("replicas", props.replicas, minimum=0)
    check.integer("port", props.port, minimum=1, maximum=65535)
    check.integer("service_port", props.service_port, minimum=1, maximum=65535)
    check.integer("wait_timeout_seconds", props.wait_timeout_seconds, minimum=10)
    accel = props.resources.accelerators
    world = props.engine.world_size
    if accel > 0 and world != accel:
        check.fail(
            "engine.tensor_parallel_size",
            props.engine.tensor_parallel_size,
            f"x pipeline_parallel_size {props.engine.pipeline_parallel_size} = {world} does not match the {accel} accelerators per pod",
            f"tensor_parallel_size x pipeline_parallel_size == resources.accelerators ({accel})",
            f"set tensor_parallel_size={accel // props.engine.pipeline_parallel_size or 1} or resources.accelerators={world}",
        )
    if accel == 0 and world != 1:
        check.fail(
            "engine.tensor_parallel_size",
            props.engine.tensor_parallel_size,
            "splits a CPU-only server",
            "tensor_parallel_size x pipeline_parallel_size == 1 without accelerators",
            "request accelerators or set both sizes to 1",
        )

    identity = WorkloadIdentity(instance=props.name, part_of=props.part_of, version=props.image.version_label)
    served_name = props.engine.served_model_name or props.model.default_served_name
    env = server_base_env()
    volumes: list[Volume] = [Volume(name="home", mount_path=HOME, source={"emptyDir": {}})]
    init_containers: list[JsonObject] = []
    secret_volumes: list[JsonObject] = []  # mounted only by the download init container
    pvc: JsonObject | None = None
    job: ModelInitJobProps | None = None
    access_mode: str | None = None
    pod = props.pod

    cache = props.cache or ModelCache.pvc("100Gi")
    cache.check(check, "cache")
    many_readers = props.replicas > 1
    if props.model.downloads:
        image = download_image_for(props.model, props.download_image, props.image, check)
        source = with_token(props.model, props.hf_token)
        if props.download_mode is DownloadMode.JOB:
            if not cache.shared:
                check.fail(
                    "cache",
                    cache.kind,
                    "is per pod, so a download Job cannot fill it",
                    "ModelCache.pvc(...) or ModelCache.existing_claim(...) with DownloadMode.JOB",
                    "use a shared cache, or download_mode=DownloadMode.INIT_CONTAINER",
                )
            access_mode = cache.resolved_access_mode(many_readers)
            co_locate = props.co_locate_download
            if access_mode in ("ReadWriteOnce", "ReadWriteOncePod"):
                if access_mode == "ReadWriteOncePod":
                    check.fail(
                        "cache.access_mode",
                        access_mode,
                        "admits one pod, but the Job and the server both mount the cache",
                        "ReadWriteOnce or ReadWriteMany",
                        "use ReadWriteMany",
                    )
                if props.replicas > 1:
                    check.fail(
                        "cache.access_mode",
                        access_mode,
                        f"attaches to one node, but {props.replicas} replicas would mount it (multi-attach error on a second node)",
                        "ReadWriteMany when several pods read the cache",
                        "use ModelCache.pvc(size, access_mode='ReadWriteMany') on an RWX storage class, or DownloadMode.INIT_CONTAINER",
                    )
                if props.rollout.surges:
                    check.fail(
                        "rollout.max_surge",
                        props.rollout.max_surge,
                        "starts a new pod while the old one holds the ReadWriteOnce cache, possibly on another node",
                        "max_surge=0 (or Recreate) with a ReadWriteOnce cache",
                        "keep RolloutStrategy.rolling() defaults or use a ReadWriteMany cache",
                    )
                if co_locate is False:
                    check.fail(
                        "co_locate_download",
                        False,
                        "lets the download Job run on another node than the server, which cannot attach the ReadWriteOnce cache",
                        "True (or unset) with a ReadWriteOnce cache",
                        "leave co_locate_download unset, or use a ReadWriteMany cache",
                    )
                co_locate = True
            delivery = deliver_by_job(
                check,
                path,
                source=source,
                cache=cache,
                claim_name=names.cache_claim,
                job_name_base=names.download_job_base or names.deployment,
                server_image=props.image,
                download_image=image,
                identity=identity,
                security=pod.security,
                wait_timeout_seconds=props.wait_timeout_seconds,
                co_locate_with=identity.selector if co_locate else None,
                download_env=props.download_env,
                download_command=props.download_command,
                download_args=props.download_args,
                wait_env=props.wait_env,
                wait_command=props.wait_command,
                wait_args=props.wait_args,
            )
        else:
            access_mode = cache.resolved_access_mode(many_readers)
            if access_mode == "ReadWriteOnce" and (props.replicas > 1 or props.rollout.surges):
                check.fail(
                    "cache.access_mode",
                    access_mode,
                    "is shared by every pod that downloads into it, and more than one pod would mount it",
                    "ModelCache.empty_dir / ephemeral (per pod) or a ReadWriteMany claim",
                    "use a per-pod cache with DownloadMode.INIT_CONTAINER",
                )
            model_dir = f"{MODEL_MOUNT}/{props.model.cache_dir_name}"
            downloader = download_container(
                name="download-model",
                source=source,
                model_dir=model_dir,
                image=image,
                resources={"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
                security=pod.security,
                timeout_seconds=props.wait_timeout_seconds,
                check=check,
                extra_env=props.download_env,
                command=props.download_command,
                args=props.download_args,
            )
            offline: dict[str, EnvValue] = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
            delivery = ModelDelivery(model_dir, offline, (cache_volume(cache, names.cache_claim),), (downloader,))
            secret_volumes = source.secret_volumes()
        pvc = claim_spec(cache, access_mode)
    else:
        delivery = deliver_local(props.model)
    model_path = delivery.model_path
    env.update(delivery.env)
    volumes.extend(delivery.volumes)
    init_containers.extend(delivery.init_containers)
    job = delivery.job

    if props.api_key is not None:
        env["VLLM_API_KEY"] = props.api_key
    for key, value in props.env.items():
        if key in env:
            check.fail(
                "env",
                key,
                "is set by the construct already",
                "names the construct does not set (it sets " + ", ".join(sorted(env)) + ")",
                "use the typed prop (hf_token, api_key, ...) or drop the variable",
            )
        env[key] = value

    config_map: dict[str, str] | None = None
    env_from = list(props.env_from)
    pod_annotations = dict(pod.pod_annotations)
    if props.env_config:
        config_map = {}
        for key, raw in props.env_config.items():
            if isinstance(raw, bool):
                config_map[key] = "true" if raw else "false"
            elif isinstance(raw, int | float | str):
                config_map[key] = str(raw)
            else:
                check.fail(f"env_config[{key!r}]", raw, "is not a scalar", "a string, number or boolean", "flatten the value into a string")
            if key in env and env[key] != config_map[key]:
                check.fail(
                    "env_config",
                    key,
                    f"is set by the construct or env already (to {env[key]!r}), and container env wins over the ConfigMap",
                    "names not otherwise set, or the same value",
                    "remove one of the two",
                )
        env_from.insert(0, EnvFrom.config_map(names.config_map))
        pod_annotations["vllm-constructs.io/config-hash"] = content_hash(config_map)

    args = props.engine.to_args(model_path=model_path, served_name=served_name, port=props.port)
    pod = dataclasses.replace(
        pod,
        init_containers=(*init_containers, *pod.init_containers),
        pod_annotations=pod_annotations,
    )
    deployment = GpuDeploymentProps(
        name=names.deployment,
        image=props.image,
        resources=props.resources,
        identity=identity,
        container_name="vllm",
        command=("vllm", "serve"),
        args=tuple(args),
        env=env,
        env_from=tuple(env_from),
        port=ContainerPort("http", props.port),
        extra_ports=props.extra_ports,
        accelerator=props.accelerator,
        parallel=world > 1,
        health=props.health,
        replicas=props.replicas,
        rollout=props.rollout,
        volumes=tuple(volumes),
        extra_volumes=tuple(secret_volumes),
        pod=pod,
    )
    spec, _ = render_deployment(path, deployment)

    service: JsonObject = {
        "type": str(props.service_type),
        "selector": identity.selector,
        "ports": [{"name": "http", "port": props.service_port, "targetPort": "http", "protocol": "TCP"}],
    }
    pdb: JsonObject | None = None
    if props.pdb_max_unavailable is not None:
        mu = props.pdb_max_unavailable
        if not (
            (isinstance(mu, int) and not isinstance(mu, bool) and mu >= 0)
            or (isinstance(mu, str) and re.match(r"^(100|[1-9]?[0-9])%$", mu))
        ):
            check.fail(
                "pdb_max_unavailable",
                mu,
                "is not a count or percentage",
                "an integer >= 0 or a string such as '50%'",
                "use e.g. 1 or '50%'",
            )
        pdb = {"maxUnavailable": mu, "selector": {"matchLabels": identity.selector}, "unhealthyPodEvictionPolicy": "AlwaysAllow"}

    netpol: JsonObject | None = None
    if props.network_policy is not None:
        netpol = network_policy_spec(props.network_policy, {"matchLabels": dict(identity.selector)}, props.port, check)

    return _Plan(
        names=names,
        identity=identity,
        deployment=deployment,
        deployment_spec=spec,
        service=service,
        pvc=pvc,
        job=job,
        config_map=config_map,
        pdb=pdb,
        network_policy=netpol,
        model_path=model_path,
        served_name=served_name,
        cache_access_mode=access_mode,
    )


def _peer(namespaces: Mapping[str, str] | None, pods: Mapping[str, str] | None) -> JsonObject:
    peer: JsonObject = {}
    if namespaces is not None:
        peer["namespaceSelector"] = {"matchLabels": dict(namespaces)}
    peer["podSelector"] = {"matchLabels": dict(pods)} if pods else {}
    return peer


def network_policy_spec(
    np: ServerNetworkPolicy, pod_selector: JsonObject, port: int, check: Checker, *, peers: JsonObject | None = None
) -> JsonObject:
    """NetworkPolicy spec: ingress to ``port`` from the allowed namespaces and pods (and metrics scrapers); with
    ``peers`` (a pod selector), all traffic among the peers (Ray, NCCL, torch.distributed use many ports); with
    ``restrict_egress``, egress only to DNS, the peers and the listed CIDRs."""
    for fld in ("from_namespaces", "from_pods", "metrics_from_namespaces"):
        value = getattr(np, fld)
        if value is not None:
            check.label_map(f"network_policy.{fld}", dict(value))
    ingress: list[JsonObject] = [{"from": [_peer(np.from_namespaces, np.from_pods)], "ports": [{"protocol": "TCP", "port": port}]}]
    if np.metrics_from_namespaces is not None:
        ingress.append({"from": [_peer(np.metrics_from_namespaces, None)], "ports": [{"protocol": "TCP", "port": port}]})
    if peers is not None:
        ingress.append({"from": [{"podSelector": peers}]})
    spec: JsonObject = {"podSelector": pod_selector, "policyTypes": ["Ingress"], "ingress": ingress}
    if np.restrict_egress:
        spec["policyTypes"] = ["Ingress", "Egress"]
        egress: list[JsonObject] = [
            {
                "to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            }
        ]
        if peers is not None:
            egress.append({"to": [{"podSelector": peers}]})
        if np.egress_cidrs:
            egress.append(
                {
                    "to": [{"ipBlock": {"cidr": c}} for c in np.egress_cidrs],
                    "ports": [{"protocol": "TCP", "port": p} for p in np.egress_ports],
                }
            )
        spec["egress"] = egress
    return spec


class VllmServer(Construct):
    """One model served by vLLM: Deployment, Service, model cache and download, PDB, optional
    ConfigMap and NetworkPolicy, all derived from one selector.

    Handles: ``deployment`` (GpuDeployment), ``service`` (ApiObject), ``selector_labels``, ``port``
    (the container port), ``service_port``, ``model_init_job`` (or None), ``served_model_name``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: VllmServerProps) -> None:
        super().__init__(scope, construct_id)
        adopt(self, scope, construct_id)
        plan = plan_server(path_of(self), props)
        self.props = props
        self.names = plan.names
        self.served_model_name = plan.served_name
        self.model_path = plan.model_path
        self.cache_access_mode = plan.cache_access_mode
        labels = plan.identity.labels(props.pod.labels)
        self.config_map: cdk8s.ApiObject | None = None
        if plan.config_map is not None:
            self.config_map = emit(
                self, "Env", api_version="v1", kind="ConfigMap", name=plan.names.config_map, labels=labels, body={"data": plan.config_map}
            )
        self.cache_claim: cdk8s.ApiObject | None = None
        if plan.pvc is not None:
            self.cache_claim = emit(
                self,
                "ModelCache",
                api_version="v1",
                kind="PersistentVolumeClaim",
                name=plan.names.cache_claim,
                labels=labels,
                body={"spec": plan.pvc},
            )
        self.model_init_job: ModelInitJob | None = None
        if plan.job is not None:
            self.model_init_job = ModelInitJob(self, "ModelDownload", plan.job)
        self.deployment = GpuDeployment(self, "Deployment", plan.deployment)
        self.service = emit(
            self, "Service", api_version="v1", kind="Service", name=plan.names.service, labels=labels, body={"spec": plan.service}
        )
        self.pdb: cdk8s.ApiObject | None = None
        if plan.pdb is not None:
            self.pdb = emit(
                self,
                "Disruption",
                api_version="policy/v1",
                kind="PodDisruptionBudget",
                name=plan.names.pdb,
                labels=labels,
                body={"spec": plan.pdb},
            )
        self.network_policy: cdk8s.ApiObject | None = None
        if plan.network_policy is not None:
            self.network_policy = emit(
                self,
                "NetworkPolicy",
                api_version="networking.k8s.io/v1",
                kind="NetworkPolicy",
                name=plan.names.network_policy,
                labels=labels,
                body={"spec": plan.network_policy},
            )

    @property
    def selector_labels(self) -> dict[str, str]:
        return self.deployment.selector_labels

    @property
    def port(self) -> ContainerPort:
        return self.deployment.port

    @property
    def service_port(self) -> int:
        return self.props.service_port

    @property
    def service_name(self) -> str:
        return self.names.service
