"""What every serving workload shares: the props both servers take (:class:`ServingProps`), the facts consumers read
(:class:`ServingFacts`, behind the :class:`ServingWorkload` protocol), and the shared planning of model delivery,
environment, cache claim, download Job, Service and NetworkPolicy.

Consumers (Autoscaler, Observability, the gateway, lint) take a :class:`ServingWorkload` and read only its
:class:`ServingFacts`; they never branch on the concrete class or read ``props``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol, runtime_checkable

from pydantic import AfterValidator

from .downloads import CacheUse, Readers, cache_access, claim_objects, verified_download
from .engine import EngineArgs
from .gitops import GitOpsOptions
from .logs import JsonLogs
from .lora import LoraOptions
from .model import (
    MODEL_MOUNT,
    AccessMode,
    AnyModelCache,
    AnyModelSource,
    DownloadMode,
    HuggingFaceModel,
    ImageModel,
    ModelCache,
    ModelDownload,
    ModelSource,
    PvcModel,
    check_download_fits,
    download_container,
    download_image_for,
)
from .objects import KubeObject, ServerNetworkPolicy
from .promql import ServerSeries
from .validation import INT32_MAX, Checker, LabelValue, Port, dns_label_ok, in_range, problem, value_class
from .values import (
    Accelerator,
    ContainerPort,
    EnvMap,
    EnvValue,
    HealthChecks,
    Image,
    PodOptions,
    Resources,
    SecretKeyRef,
    Volume,
    WorkloadLabels,
)

__all__ = ["DEFAULT_VLLM_IMAGE", "ScaleTarget", "ServingFacts", "ServingProps", "ServingWorkload"]

JsonObject = dict[str, Any]
DEFAULT_VLLM_IMAGE = Image("vllm/vllm-openai", tag="v0.33.0")
HOME = "/home/vllm"
JOB_SUFFIX = "-download-12345678"
OVERRIDABLE_ENV = frozenset({"HOME", "USER", "XDG_CACHE_HOME", "HF_HOME", "VLLM_CACHE_ROOT", "VLLM_CONFIG_ROOT"})
"""Defaults the construct sets for a read-only root filesystem; user env wins, in every container that uses them."""
# Kubernetes injects <NAME>_PORT, <NAME>_SERVICE_HOST, ... for every Service; these names are vLLM's own settings.
_VLLM_ENV_NAMES = frozenset({"VLLM_PORT", "VLLM_HOST_IP", "VLLM_DP_MASTER_PORT", "VLLM_DP_MASTER_IP", "VLLM_DP_RPC_PORT"})


def _server_name(value: str) -> str:
    """Base of every object name, Services included, so a DNS-1035 label (a Service name starts with a letter)."""
    limit = 63 - len(JOB_SUFFIX)
    if not dns_label_ok(value, limit) or value[0].isdigit():
        raise problem(
            "server_name",
            "is not a DNS-1035 label short enough for every object name" if len(value) > limit else "is not a DNS-1035 label",
            f"at most {limit} lower-case letters, digits and '-', starting with a letter and ending with a letter or digit "
            "(it names Services)",
            "use a name such as 'llama-8b'",
        )
    return value


ServerName = Annotated[str, AfterValidator(_server_name)]


@value_class(kw_only=True)
class ServingProps:
    """The props every vLLM serving workload shares (VllmServer, RayCluster)."""

    name: ServerName
    """Server name: instance label and base of every object name. No default."""
    model: AnyModelSource
    """Where the weights come from. No default."""
    resources: Resources
    """cpu, memory (and accelerators) per pod. No default."""
    engine: EngineArgs = field(default_factory=EngineArgs)
    """vLLM engine arguments. Default: vLLM's defaults."""
    image: Image = DEFAULT_VLLM_IMAGE
    """Default: vllm/vllm-openai:v0.33.0."""
    accelerator: Accelerator = field(default_factory=Accelerator.nvidia)
    """Default: nvidia.com/gpu."""
    health: HealthChecks = field(default_factory=HealthChecks)
    """Probes of the serving pod. Default: a 30-minute startup budget on /health."""
    port: Port = 8000
    """OpenAI API port of the serving container (named 'http'). Default: 8000."""
    service_port: Port = 80
    """Service port. Default: 80."""
    replicas: Annotated[int, in_range(0, INT32_MAX)] = 1
    """Serving replicas (pods, or whole groups for multi-node). Default: 1."""
    cache: AnyModelCache | None = None
    """Where downloads are kept. Default: a PVC sized for the server (see each construct)."""
    download: ModelDownload = field(default_factory=ModelDownload)
    """How weights are downloaded and waited for. Default: one verified download Job; pods wait for it."""
    hf_token: SecretKeyRef | None = None
    """Hugging Face token reference, for Hugging Face sources only (the download, or vLLM in DownloadMode.SERVER). Default: none."""
    api_key: SecretKeyRef | None = None
    """VLLM_API_KEY reference; clients must send it as a bearer token. Default: none."""
    env: EnvMap = field(default_factory=dict)
    """More environment for vLLM (HOME, HF_HOME, XDG_CACHE_HOME, VLLM_CACHE_ROOT, VLLM_CONFIG_ROOT override the
    construct's defaults). Default: none."""
    part_of: LabelValue = "vllm"
    """app.kubernetes.io/part-of. Default: vllm."""
    pod: PodOptions = field(default_factory=PodOptions)
    """Scheduling, security, sidecars, metadata. Default: see PodOptions."""
    network_policy: ServerNetworkPolicy | None = None
    """Ingress only to the serving port from the allowed namespaces and pods; optional egress limits. Default: none."""
    gitops: GitOpsOptions | None = None
    """Argo CD sync waves and forced re-creation of the cache claim. Default: none (plain objects)."""
    json_logs: JsonLogs | None = None
    """vLLM's and uvicorn's logs as JSON lines (serving pods), configured from a ConfigMap. Default: none (vLLM's text)."""
    lora: LoraOptions | None = None
    """LoRA adapters served next to the base model (``--enable-lora``). Default: none."""


@dataclass(frozen=True, slots=True)
class ScaleTarget:
    """The object an autoscaler scales, through its scale subresource."""

    api_version: str
    kind: str
    name: str
    max_replicas: int | None = None
    """The most replicas the workload can run (e.g. 1 with a ReadWriteOnce cache); None: no limit."""
    limit_reason: str = ""


@dataclass(frozen=True, slots=True)
class ServingFacts:
    """What consumers need from a serving workload, and nothing else."""

    server_name: str
    """The server's name (its ``app.kubernetes.io/instance`` label)."""
    namespace: str
    """The namespace its objects go to ('' for a chart without a namespace)."""
    labels: WorkloadLabels
    selector_labels: Mapping[str, str]
    """Labels that select exactly the serving pods (never workers, never another server's)."""
    pod_labels: Mapping[str, str]
    """Every label on the serving pods' template."""
    port: ContainerPort
    """The serving port (named; probes, Services and monitors use the name)."""
    service_name: str
    service_port: int
    startup_seconds: int
    """Budget for one serving pod (or group) to become ready."""
    scale_target: ScaleTarget | None
    unscalable_reason: str
    """Why ``scale_target`` is None."""
    series: ServerSeries
    """The metric series of this server (every PromQL matcher comes from it)."""
    served_model_name: str
    """'' for a workload that is not a vLLM server (a bare GpuDeployment)."""
    container_name: str
    model: ModelSource | None
    engine: EngineArgs | None
    resources: Resources
    accelerator: Accelerator
    accelerators_per_pod: int
    pods_per_replica: int
    replicas: int
    gpu_products: tuple[str, ...]
    version: str
    """The image's version label (tells two versions of one model apart)."""
    extras: Mapping[str, Any] = field(default_factory=dict)
    """Capability-specific facts (e.g. LoRA adapters) keyed by capability."""


@runtime_checkable
class ServingWorkload(Protocol):
    """A vLLM serving workload: VllmServer, RayCluster (every backend) and their pure plans implement it."""

    @property
    def serving(self) -> ServingFacts: ...

    def hand_replicas_to_autoscaler(self) -> None:
        """Stop rendering the replica count: an autoscaler owns it from now on."""
        ...


# ------------------------------------------------------------------------------------------------ shared checks


def check_shared(check: Checker, props: ServingProps) -> None:
    """The rules both servers enforce the same way."""
    if props.hf_token is not None and not props.model.accepts_token:
        check.fail(
            "hf_token",
            props.hf_token.name,
            f"is set, but the model source ({type(props.model).__name__}) never uses a Hugging Face token",
            "hf_token only with ModelSource.huggingface(...)",
            "drop hf_token (S3 credentials go in ModelSource.s3(credentials=...))",
        )
    check.within(lambda: check_download_fits(props.model, props.download))
    if props.cache is not None and not props.model.downloads:
        check.fail(
            "cache",
            type(props.cache).__name__,
            f"is set, but a {type(props.model).__name__} downloads nothing into it",
            "a cache only with ModelSource.huggingface(...) or ModelSource.s3(...)",
            "drop cache",
        )


def client_facts(props: ServingProps) -> dict[str, Any]:
    """ServingFacts.extras for clients of the server (e.g. a load test): the API key a client sends, the Hugging Face
    token of the model's tokenizer, and the NetworkPolicy a client pod must pass."""
    return {"api_key": props.api_key, "hf_token": props.hf_token, "network_policy": props.network_policy}


def serving_facts(
    props: ServingProps,
    namespace: str,
    labels: WorkloadLabels,
    pod_labels: Mapping[str, str],
    served: str,
    *,
    service_name: str,
    series: ServerSeries,
    scale_target: ScaleTarget | None,
    unscalable_reason: str = "",
    startup_seconds: int,
    pods_per_replica: int,
    accelerators_per_pod: int,
) -> ServingFacts:
    """ServingFacts of a vLLM server: what every server reads from the shared props, plus what its workload shape sets."""
    gpu = props.pod.gpu_products.products if props.pod.gpu_products is not None else ()
    return ServingFacts(
        server_name=props.name,
        namespace=namespace,
        labels=labels,
        selector_labels=labels.selector,
        pod_labels=dict(pod_labels),
        port=ContainerPort("http", props.port),
        service_name=service_name,
        service_port=props.service_port,
        startup_seconds=startup_seconds,
        scale_target=scale_target,
        unscalable_reason=unscalable_reason,
        series=series,
        served_model_name=served,
        container_name="vllm",
        model=props.model,
        engine=props.engine,
        resources=props.resources,
        accelerator=props.accelerator,
        accelerators_per_pod=accelerators_per_pod,
        pods_per_replica=pods_per_replica,
        replicas=props.replicas,
        gpu_products=gpu,
        version=props.image.version_label,
        extras=client_facts(props),
    )


def check_service_name(check: Checker, field_name: str, service: str) -> None:
    """Refuse a Service name for which Kubernetes injects variables (``<NAME>_PORT``, ...) that are vLLM's settings."""
    clash = service_env_clash(service)
    if clash:
        check.fail(
            field_name,
            service,
            f"names the Service {service!r}, so Kubernetes injects {clash} into pods of this namespace, which vLLM reads "
            "as its own setting and fails on",
            "a Service name that is not 'vllm' (or another vLLM variable prefix)",
            "rename the server (or its Service), e.g. 'vllm-llama'",
        )


def service_env_clash(name: str) -> str | None:
    prefix = name.upper().replace("-", "_")
    for suffix in ("_PORT", "_SERVICE_HOST", "_SERVICE_PORT"):
        if prefix + suffix in _VLLM_ENV_NAMES:
            return prefix + suffix
    return None


# ------------------------------------------------------------------------------------------------ environment


def base_env(home: str = HOME) -> dict[str, EnvValue]:
    """Environment of every vLLM container: a writable HOME and caches under a read-only root filesystem (USER for
    torch's cache paths under an arbitrary UID), and no usage reporting."""
    return {
        "HOME": home,
        "USER": "vllm",
        "XDG_CACHE_HOME": f"{home}/.cache",
        "HF_HOME": f"{home}/.cache/huggingface",
        "VLLM_CACHE_ROOT": f"{home}/.cache/vllm",
        "VLLM_CONFIG_ROOT": f"{home}/.config/vllm",
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
    }


def merge_user_env(
    check: Checker, env: dict[str, EnvValue], user: Mapping[str, EnvValue], owned: Mapping[str, str], field_name: str = "env"
) -> None:
    """Add the user's env: overridable defaults are replaced, names the construct owns are refused with the reason."""
    for key, value in user.items():
        if key in owned:
            check.fail(
                field_name,
                key,
                f"is set by the construct ({owned[key]})",
                "names the construct does not own",
                "use the typed prop or drop the variable",
            )
        if key in env and key not in OVERRIDABLE_ENV:
            check.fail(
                field_name,
                key,
                "is set by the construct already",
                "names the construct does not set (it sets " + ", ".join(sorted(env)) + ")",
                "use the typed prop (hf_token, api_key, ...) or drop the variable",
            )
        env[key] = value


def home_volumes(check: Checker, user: Mapping[str, EnvValue], mounted: tuple[Volume, ...]) -> tuple[Volume, ...]:
    """The writable HOME emptyDir, mounted where HOME is (the user's HOME when set). None when HOME lies in /tmp or a
    writable mounted volume; a HOME inside a read-only mount or not absolute is refused."""
    home = effective_home(user)
    if not home.startswith("/"):
        check.fail(
            "env", "HOME", f"is {home!r}, not an absolute path", "an absolute path such as /home/vllm", "set HOME to an absolute path"
        )
    for volume in (*mounted, Volume(name="tmp", mount_path="/tmp")):
        if home == volume.mount_path or home.startswith(volume.mount_path.rstrip("/") + "/"):
            if volume.read_only:
                check.fail(
                    "env",
                    "HOME",
                    f"is {home!r}, inside {volume.mount_path}, which is mounted read-only, so vLLM could not write its caches",
                    "a HOME outside read-only mounts",
                    "leave HOME unset (a writable emptyDir) or point it at a writable volume",
                )
            return ()
    return (Volume(name="home", mount_path=home, source={"emptyDir": {}}),)


def serving_owned_env(delivery: Delivery) -> dict[str, str]:
    """Env names the serving container owns, with the reason: the delivery's, the API key, and HF_TOKEN unless vLLM
    downloads at start (then the delivery sets it from hf_token, or the user may)."""
    owned = {**delivery.owned_env, "VLLM_API_KEY": "api_key"}
    if not delivery.downloads_at_start:
        owned["HF_TOKEN"] = "hf_token, given to the download only: the server runs offline"  # noqa: S105 - a reason, not a secret
    return owned


def effective_home(user: Mapping[str, EnvValue]) -> str:
    home = user.get("HOME")
    return home if isinstance(home, str) else HOME


# ------------------------------------------------------------------------------------------------ model delivery


@dataclass(frozen=True, slots=True)
class Delivery:
    """What serving pods need to find their weights, and the objects that put them there."""

    model_path: str
    env: dict[str, EnvValue]
    owned_env: dict[str, str]
    volumes: tuple[Volume, ...]
    init_containers: tuple[JsonObject, ...] = ()
    extra_volumes: tuple[JsonObject, ...] = ()
    objects: tuple[KubeObject, ...] = ()
    access_mode: AccessMode | None = None
    downloads_at_start: bool = False


OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
_OFFLINE_REASON = "the server runs offline from verified files"


def plan_delivery(
    check: Checker, props: ServingProps, labels: WorkloadLabels, *, claim_name: str, job_base: str, readers: Readers, default_size: str
) -> Delivery:
    """How the weights reach every serving pod: a verified Job, a per-pod download, vLLM itself, or nothing to fetch."""
    source = props.model.with_token(props.hf_token)
    if isinstance(source, PvcModel):
        volume = Volume(
            name="model",
            mount_path=MODEL_MOUNT,
            source={"persistentVolumeClaim": {"claimName": str(source.claim_name), "readOnly": True}},
            read_only=True,
        )
        return Delivery(source.model_path, {"HF_HUB_OFFLINE": "1"}, {"HF_HUB_OFFLINE": _OFFLINE_REASON}, (volume,))
    if isinstance(source, ImageModel):
        return Delivery(source.path, {"HF_HUB_OFFLINE": "1"}, {"HF_HUB_OFFLINE": _OFFLINE_REASON}, ())
    cache = props.cache or ModelCache.pvc(default_size)
    if props.download.mode is DownloadMode.SERVER:
        return _deliver_at_start(check, props, source, cache, claim_name, readers, labels)
    access = cache_access(check, CacheUse(cache, props.download.mode, props.download.co_locate), readers)
    if props.download.mode is DownloadMode.JOB:
        return _deliver_by_job(props, source, cache, labels, claim_name, job_base, access)
    return _deliver_in_pod(props, source, cache, labels, claim_name, access)


def _deliver_by_job(
    props: ServingProps,
    source: ModelSource,
    cache: ModelCache,
    labels: WorkloadLabels,
    claim_name: str,
    job_base: str,
    access: AccessMode | None,
) -> Delivery:
    """One Job fills the shared cache; every serving pod mounts it read-only behind a wait guard and runs offline."""
    claim = cache.claim(claim_name) or claim_name
    fetched = verified_download(props, source, props.download, labels, access, object_id="ModelDownload", job_base=job_base, claim=claim)
    volume = Volume(name="model-cache", mount_path=MODEL_MOUNT, source=cache.volume_source(claim), read_only=True)
    claims = claim_objects(cache, claim, labels.labels(props.pod.labels), access)
    owned = dict.fromkeys(OFFLINE, _OFFLINE_REASON)
    model_dir = f"{MODEL_MOUNT}/{source.cache_dir_name}"
    return Delivery(model_dir, dict(OFFLINE), owned, (volume,), (fetched.guard,), (), (*claims, fetched.job), access)


def _deliver_in_pod(
    props: ServingProps, source: ModelSource, cache: ModelCache, labels: WorkloadLabels, claim_name: str, access: AccessMode | None
) -> Delivery:
    """Each pod downloads into its own (or a shared RWX) cache before vLLM starts."""
    model_dir = f"{MODEL_MOUNT}/{source.cache_dir_name}"
    image = download_image_for(source, props.download, props.image)
    downloader = download_container("download-model", source, model_dir, image, props.download, props.pod.security)
    claim = cache.claim(claim_name) or claim_name
    volume = Volume(name="model-cache", mount_path=MODEL_MOUNT, source=cache.volume_source(claim), read_only=False)
    claims = claim_objects(cache, claim, labels.labels(props.pod.labels), access)
    owned = dict.fromkeys(OFFLINE, _OFFLINE_REASON)
    return Delivery(model_dir, dict(OFFLINE), owned, (volume,), (downloader,), tuple(source.secret_volumes()), claims, access)


def _deliver_at_start(
    check: Checker, props: ServingProps, source: ModelSource, cache: ModelCache, claim_name: str, readers: Readers, labels: WorkloadLabels
) -> Delivery:
    """vLLM downloads the hub model itself at start into HF_HOME on the cache (no offline switches)."""
    assert isinstance(source, HuggingFaceModel)
    access = cache_access(check, CacheUse(cache, DownloadMode.SERVER, None), readers)
    claim = cache.claim(claim_name) or claim_name
    volume = Volume(name="model-cache", mount_path=MODEL_MOUNT, source=cache.volume_source(claim), read_only=False)
    env: dict[str, EnvValue] = {"HF_HUB_CACHE": f"{MODEL_MOUNT}/hub"}
    owned = {"HF_HUB_CACHE": "the hub cache on the model cache volume"}
    if source.token is not None:
        env["HF_TOKEN"] = source.token
        owned["HF_TOKEN"] = "hf_token"  # noqa: S105 - the prop that sets it, not a secret
    claims = claim_objects(cache, claim, labels.labels(props.pod.labels), access)
    return Delivery(source.repo_id, env, owned, (volume,), (), (), claims, access, downloads_at_start=True)


def revision_args(source: ModelSource, delivery: Delivery) -> list[str]:
    """``--revision`` for a hub model vLLM downloads itself (pins the files it fetches)."""
    if delivery.downloads_at_start and isinstance(source, HuggingFaceModel):
        return ["--revision", source.revision]
    return []
