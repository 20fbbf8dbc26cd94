"""LoRA adapters, pure: which adapters a server loads (:class:`LoraAdapter`), how vLLM serves them
(:class:`LoraOptions`), and one planning function, :func:`plan_lora`, that returns everything the server needs.

Downloaded adapters (Hugging Face at a pinned commit, or S3) go through the same verified download Job and wait guard
as base weights, into their own cache claim (``<server>-lora-cache``), and are verified as adapters
(``adapter_config.json``, adapter weights, no bias, every rank at most the declared one) before the completion marker
is written. Adapters already on a PersistentVolumeClaim are mounted read-only. vLLM gets ``--enable-lora``, one
``--lora-modules name=path ...`` and ``--max-loras`` / ``--max-lora-rank`` / ``--max-cpu-loras`` derived from the
adapters unless set. Runtime loading (``VLLM_ALLOW_RUNTIME_LORA_UPDATING``) stays off unless asked for, and then
needs an API key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, PlainValidator

from .downloads import CacheUse, GuardMount, Readers, cache_access, claim_objects, verified_download
from .model import (
    AnyModelCache,
    DownloadMode,
    HuggingFaceModel,
    ModelCache,
    ModelDownload,
    ModelSource,
    PvcModel,
    S3Credentials,
    S3Model,
    check_s3_prefix,
)
from .objects import KubeObject
from .validation import Checker, fail, in_range, problem, value_class
from .values import EnvValue, SecretKeyRef, Volume, WorkloadLabels

if TYPE_CHECKING:
    from .serving import Delivery, ServingFacts, ServingProps

__all__ = ["LORA_RANKS", "LoraAdapter", "LoraFacts", "LoraOptions", "LoraPlan", "plan_lora"]

JsonObject = dict[str, Any]
LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
"""The values vLLM accepts for ``--max-lora-rank`` (vLLM 0.33)."""
ADAPTER_MOUNT = "/adapters"
CACHE_MOUNT = f"{ADAPTER_MOUNT}/cache"
CACHE_VOLUME = "lora-adapters"
RUNTIME_ENV = "VLLM_ALLOW_RUNTIME_LORA_UPDATING"
RUNTIME_REASON = "lora.runtime_updates (runtime adapter loading needs an API key)"
DEFAULT_CACHE_SIZE = "20Gi"


def _adapter_name(value: str) -> str:
    if len(value) > 128 or not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?", value) or ".." in value or "//" in value:
        raise problem(
            "adapter_name",
            "is not an adapter name",
            "1-128 letters, digits, '.', '_', '-' and '/', starting and ending with a letter or digit",
            "use the name clients send as 'model', e.g. 'support-bot-v1'",
        )
    return value


def _source(value: Any) -> Any:
    if type(value) not in (HuggingFaceModel, S3Model, PvcModel):
        raise problem(
            "adapter_source",
            f"is {type(value).__name__!r}, not an adapter source",
            "LoraAdapter.huggingface(...), LoraAdapter.s3(...) or LoraAdapter.pvc(...)",
            "build the adapter with one of those factories",
        )
    return value


def _max_rank(value: int) -> int:
    if value not in LORA_RANKS:
        raise problem("lora_rank", "is not a rank vLLM accepts", ", ".join(map(str, LORA_RANKS)), "round up to the next allowed rank")
    return value


AdapterName = Annotated[str, AfterValidator(_adapter_name)]
AdapterSource = Annotated[ModelSource, PlainValidator(_source)]
LoraRank = Annotated[int, AfterValidator(_max_rank)]


@value_class(kw_only=True)
class LoraAdapter:
    """One LoRA adapter a server loads at start. Build it with :meth:`huggingface`, :meth:`s3` or :meth:`pvc`."""

    name: AdapterName
    """The name clients send as ``model`` (unique across everything behind one gateway). No default."""
    source: AdapterSource
    """Where the adapter comes from (Hugging Face at a pinned commit, S3, or an existing claim). No default."""
    rank: Annotated[int, in_range(1, 512)]
    """The adapter's LoRA rank (``r`` in adapter_config.json; the download refuses an adapter above it). No default."""

    def __post_init__(self) -> None:
        source = self.source
        if isinstance(source, HuggingFaceModel) and not re.fullmatch(r"[0-9a-f]{40}", source.revision):
            fail(
                "source.revision",
                source.revision,
                "is not a commit hash, so the adapter can change under a running server",
                "the 40-hex-digit commit of the adapter's repository",
                "pin the commit shown under 'Files and versions'",
            )
        served: object = getattr(source, "served_name", None)
        if served is not None:
            fail("source.served_name", served, "is set on an adapter", "no served_name", "name the adapter with name=")

    @classmethod
    def huggingface(
        cls,
        name: str,
        repo_id: str,
        *,
        revision: str,
        rank: int,
        token: SecretKeyRef | None = None,
        include: tuple[str, ...] = (),
        checksum_file: str | None = None,
    ) -> LoraAdapter:
        """A PEFT adapter repository on the Hugging Face Hub at a pinned commit."""
        source = ModelSource.huggingface(repo_id, revision=revision, token=token, include=include, checksum_file=checksum_file)
        return cls(name=name, source=source, rank=rank)

    @classmethod
    def s3(
        cls,
        name: str,
        path: str,
        *,
        bucket: str | SecretKeyRef,
        rank: int,
        endpoint: str | SecretKeyRef | None = None,
        region: str | None = None,
        credentials: S3Credentials | None = None,
        revision: str = "unversioned",
        checksum_file: str | None = None,
    ) -> LoraAdapter:
        """An adapter folder under ``s3://bucket/path/`` (``revision`` is your name for what is there)."""
        source = ModelSource.s3(
            path, bucket=bucket, endpoint=endpoint, region=region, credentials=credentials, revision=revision, checksum_file=checksum_file
        )
        return cls(name=name, source=source, rank=rank)

    @classmethod
    def pvc(cls, name: str, claim_name: Any, *, rank: int, path: str = "") -> LoraAdapter:
        """An adapter already on an existing PersistentVolumeClaim, at ``path`` inside it (mounted read-only)."""
        return cls(name=name, source=ModelSource.pvc(claim_name, path=path), rank=rank)

    @property
    def downloads(self) -> bool:
        return self.source.downloads


@value_class(kw_only=True)
class LoraOptions:
    """LoRA serving of one server: the adapters it loads and vLLM's LoRA limits."""

    adapters: tuple[LoraAdapter, ...] = ()
    """Adapters loaded at start. Default: none (then runtime_updates must be on)."""
    max_loras: Annotated[int, in_range(1, 256)] | None = None
    """Adapters in one batch (``--max-loras``; each slot costs accelerator memory). Default: the number of adapters."""
    max_lora_rank: LoraRank | None = None
    """``--max-lora-rank``. Default: the smallest rank vLLM accepts that covers every adapter's rank."""
    max_cpu_loras: Annotated[int, in_range(1, 4096)] | None = None
    """Adapters kept in CPU memory (``--max-cpu-loras``, at least max_loras). Default: max(max_loras, number of adapters)."""
    runtime_updates: bool = False
    """Allow loading and unloading adapters through the API (VLLM_ALLOW_RUNTIME_LORA_UPDATING; vLLM calls it a
    development feature). Needs the server's api_key. Default: False."""
    cache: AnyModelCache | None = None
    """Where downloaded adapters are kept: a shared claim. Default: a new 20Gi claim ``<server>-lora-cache``."""
    download: ModelDownload = field(default_factory=ModelDownload)
    """How adapters are downloaded (one verified Job per adapter). Default: see ModelDownload."""

    def __post_init__(self) -> None:
        names = [a.name for a in self.adapters]
        for name in names:
            if names.count(name) > 1:
                fail("adapters", name, "names two adapters", "each adapter name once", f"rename or remove one of the {name!r} adapters")
        if not self.adapters and not self.runtime_updates:
            fail("adapters", (), "is empty and runtime_updates is off, so LoRA would serve nothing", "one adapter or more", "add adapters")
        if self.max_lora_rank is not None:
            for adapter in self.adapters:
                if adapter.rank > self.max_lora_rank:
                    fail(
                        "max_lora_rank",
                        self.max_lora_rank,
                        f"is below the rank of adapter {adapter.name!r} ({adapter.rank}); vLLM would refuse to load it",
                        f"a rank of at least {adapter.rank}",
                        "raise max_lora_rank or leave it unset",
                    )
        if self.max_cpu_loras is not None and self.max_cpu_loras < self.resolved_max_loras:
            fail(
                "max_cpu_loras",
                self.max_cpu_loras,
                f"is below max_loras ({self.resolved_max_loras}); vLLM refuses that",
                f"an integer >= {self.resolved_max_loras}",
                "raise max_cpu_loras or leave it unset",
            )
        self._check_storage()

    def _check_storage(self) -> None:
        if self.download.mode is not DownloadMode.JOB:
            fail(
                "download.mode",
                str(self.download.mode),
                "is not JOB; adapters are downloaded by one verified Job each",
                "DownloadMode.JOB",
                "leave download.mode unset",
            )
        if self.cache is not None and not self.cache.shared:
            fail(
                "cache",
                type(self.cache).__name__,
                "is per pod, so a download Job cannot fill it",
                "ModelCache.pvc(...) or ModelCache.existing_claim(...)",
                "use a shared claim, or leave cache unset",
            )
        for i, adapter in enumerate(self.adapters):
            check_s3_prefix(adapter.source, self.download, f"adapters[{i}].source.path")
        if self.cache is not None and not any(a.downloads for a in self.adapters):
            fail("cache", type(self.cache).__name__, "is set, but no adapter is downloaded", "a cache only for downloads", "drop it")

    @property
    def resolved_max_loras(self) -> int:
        return self.max_loras or max(len(self.adapters), 1)

    @property
    def resolved_max_rank(self) -> int:
        if self.max_lora_rank is not None:
            return self.max_lora_rank
        highest = max((a.rank for a in self.adapters), default=16)
        return next(r for r in LORA_RANKS if r >= highest)

    @property
    def resolved_max_cpu_loras(self) -> int:
        return self.max_cpu_loras or max(self.resolved_max_loras, len(self.adapters))


@dataclass(frozen=True, slots=True)
class LoraFacts:
    """What a gateway reads about a server's LoRA serving (``ServingFacts.extras["lora"]``)."""

    adapters: tuple[str, ...]
    """Names of the adapters loaded at start."""
    runtime_updates: bool
    max_loras: int


@dataclass(frozen=True, slots=True)
class LoraPlan:
    """Everything a server needs for its adapters; empty for a server without LoRA."""

    objects: tuple[KubeObject, ...] = ()
    volumes: tuple[Volume, ...] = ()
    init_containers: tuple[JsonObject, ...] = ()
    args: tuple[str, ...] = ()
    env: Mapping[str, EnvValue] = field(default_factory=dict)
    owned_env: Mapping[str, str] = field(default_factory=lambda: {RUNTIME_ENV: RUNTIME_REASON})
    facts: LoraFacts | None = None

    def extend(self, delivery: Delivery) -> Delivery:
        """The server's model delivery with the adapters' volumes, guards, objects and environment added."""
        return replace(
            delivery,
            env={**delivery.env, **self.env},
            owned_env={**delivery.owned_env, **self.owned_env},
            volumes=(*delivery.volumes, *self.volumes),
            init_containers=(*delivery.init_containers, *self.init_containers),
            objects=(*delivery.objects, *self.objects),
        )

    def add_facts(self, facts: ServingFacts) -> ServingFacts:
        return facts if self.facts is None else replace(facts, extras={**facts.extras, "lora": self.facts})


def plan_lora(check: Checker, props: ServingProps, labels: WorkloadLabels, readers: Readers) -> LoraPlan:
    """What ``props.lora`` adds to a server (nothing but the refusal of VLLM_ALLOW_RUNTIME_LORA_UPDATING in env without
    it). Pure: raises ConfigError naming ``lora.*``."""
    lora = props.lora
    if lora is None:
        return LoraPlan()
    served = props.engine.served_model_name or props.model.default_served_name
    for adapter in lora.adapters:
        if adapter.name == served:
            check.fail(
                "lora.adapters",
                adapter.name,
                "is the served model name too, so requests for the base model would be ambiguous",
                "adapter names other than the served model name",
                "rename the adapter",
            )
    if lora.runtime_updates and props.api_key is None:
        check.fail(
            "lora.runtime_updates",
            True,
            "lets any client load adapters from arbitrary paths or Hub repositories, and the server has no api_key",
            "runtime_updates only with api_key set",
            "set api_key=SecretKeyRef(...) or leave runtime_updates off",
        )
    _check_api_servers(check, props)
    downloaded = _downloaded(check, props, labels, readers)
    claimed = _claimed(lora)
    modules = [f"{a.name}={downloaded.paths.get(a.name) or claimed.paths[a.name]}" for a in lora.adapters]
    args = ["--enable-lora", "--max-loras", str(lora.resolved_max_loras), "--max-lora-rank", str(lora.resolved_max_rank)]
    args += ["--max-cpu-loras", str(lora.resolved_max_cpu_loras)]
    if modules:
        args += ["--lora-modules", *modules]
    env: dict[str, EnvValue] = {RUNTIME_ENV: "True"} if lora.runtime_updates else {}
    facts = LoraFacts(tuple(a.name for a in lora.adapters), lora.runtime_updates, lora.resolved_max_loras)
    return LoraPlan(
        objects=downloaded.objects,
        volumes=(*downloaded.volumes, *claimed.volumes),
        init_containers=downloaded.guards,
        args=tuple(args),
        env=env,
        facts=facts,
    )


def _check_api_servers(check: Checker, props: ServingProps) -> None:
    lora = props.lora
    assert lora is not None
    for flag in props.engine.extra_flags:
        if lora.runtime_updates and flag.dest == "api_server_count" and flag.value not in (None, "1"):
            check.fail(
                "engine.extra_args",
                flag.option,
                "runs several API servers, which vLLM refuses with runtime LoRA updates",
                "one API server with lora.runtime_updates",
                "drop --api-server-count or runtime_updates",
            )


@dataclass(frozen=True, slots=True)
class _Placed:
    """Where a group of adapters is found in the serving pod, and what puts them there."""

    paths: dict[str, str] = field(default_factory=dict)
    volumes: tuple[Volume, ...] = ()
    guards: tuple[JsonObject, ...] = ()
    objects: tuple[KubeObject, ...] = ()


def _claimed(lora: LoraOptions) -> _Placed:
    """Adapters on existing claims: one read-only volume per claim, at /adapters/claim-<n>."""
    claims: dict[str, Volume] = {}
    paths: dict[str, str] = {}
    for adapter in lora.adapters:
        source = adapter.source
        if not isinstance(source, PvcModel):
            continue
        claim = str(source.claim_name)
        if claim not in claims:
            n = len(claims) + 1
            claims[claim] = Volume(
                name=f"lora-claim-{n}",
                mount_path=f"{ADAPTER_MOUNT}/claim-{n}",
                source={"persistentVolumeClaim": {"claimName": claim, "readOnly": True}},
                read_only=True,
            )
        root = claims[claim].mount_path
        paths[adapter.name] = f"{root}/{source.path}".rstrip("/") if source.path else root
    return _Placed(paths, tuple(claims.values()))


def _downloaded(check: Checker, props: ServingProps, labels: WorkloadLabels, readers: Readers) -> _Placed:
    """Downloaded adapters: one verified Job each into the adapter cache, one wait guard each, the cache read-only
    (the same cache rules and emitters as the model's download, with every field under ``lora.``)."""
    lora = props.lora
    assert lora is not None
    adapters = [a for a in lora.adapters if a.downloads]
    if not adapters:
        return _Placed()
    cache = lora.cache or ModelCache.pvc(DEFAULT_CACHE_SIZE)
    use = CacheUse(cache, DownloadMode.JOB, lora.download.co_locate, "lora.", "the adapters", per_pod_alternative=False)
    access = cache_access(check, use, readers)
    claim = cache.claim(f"{props.name}-lora-cache") or f"{props.name}-lora-cache"
    objects = list(claim_objects(cache, claim, labels.labels(props.pod.labels), access, "LoraCache"))
    paths: dict[str, str] = {}
    guards: list[JsonObject] = []
    for i, adapter in enumerate(adapters, start=1):
        source = adapter.source.with_token(props.hf_token)
        fetched = verified_download(
            props,
            source,
            lora.download,
            labels,
            access,
            object_id=f"LoraDownload{i}",
            job_base=f"{props.name[:40].rstrip('-')}-lora",
            claim=claim,
            guard=GuardMount(f"wait-for-adapter-{i}", CACHE_VOLUME, CACHE_MOUNT),
            lora_rank=adapter.rank,
        )
        objects.append(fetched.job)
        guards.append(fetched.guard)
        paths[adapter.name] = f"{CACHE_MOUNT}/{source.cache_dir_name}"
    volume = Volume(name=CACHE_VOLUME, mount_path=CACHE_MOUNT, source=cache.volume_source(claim), read_only=True)
    return _Placed(paths, (volume,), tuple(guards), tuple(objects))
