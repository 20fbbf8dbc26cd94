"""Verified downloads into a shared cache, one definition for the model and for LoRA adapters: who may mount the
cache (its access-mode rules), the claim, and one download Job with the wait guard the serving pods run before
they read it. Pure: raises ConfigError through the Checker, creates nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import objects
from .model import (
    MODEL_MOUNT,
    AccessMode,
    DownloadMode,
    ModelCache,
    ModelDownload,
    ModelSource,
    NewClaimCache,
    download_image_for,
    download_job,
    job_labels,
    wait_container,
    wait_image_for,
)
from .objects import KubeObject
from .validation import Checker
from .values import WorkloadLabels

if TYPE_CHECKING:
    from .serving import ServingProps

__all__ = ["ONE_NODE", "CacheUse", "GuardMount", "Readers", "VerifiedDownload", "cache_access", "claim_objects", "verified_download"]

JsonObject = dict[str, Any]
ONE_NODE = frozenset({AccessMode.READ_WRITE_ONCE, AccessMode.READ_WRITE_ONCE_POD})
"""Access modes that attach a volume to one node at a time."""


@dataclass(frozen=True, slots=True)
class Readers:
    """Who mounts a shared cache, for the access-mode rules."""

    replicas: int
    surges: bool
    max_surge: int | str = 0
    """The rollout's surge as the user gave it (for the message)."""
    pods_per_replica: int = 1
    required_mode: AccessMode | None = None
    required_reason: str = ""
    """Why every pod of a replica needs ``required_mode`` (e.g. 'the 2 pods of a group run on 2 nodes')."""


@dataclass(frozen=True, slots=True)
class CacheUse:
    """One shared cache as the user configured it: the model's (``prefix`` '') or the adapters' (``prefix`` 'lora.'),
    so each refusal names the user's own field."""

    cache: ModelCache
    mode: DownloadMode
    co_locate: bool | None
    prefix: str = ""
    contents: str = "the weights"
    per_pod_alternative: bool = True
    """Whether a per-pod cache filled by an init container is a way out (for the model; adapters always use Jobs)."""


def cache_access(check: Checker, use: CacheUse, readers: Readers) -> AccessMode | None:
    """The cache's access mode (ReadWriteMany chosen for a new claim that several pods read), refusing what cannot
    attach: a per-pod cache for a Job, ReadWriteOncePod for a Job and a server, one-node modes for several nodes."""
    cache, field = use.cache, f"{use.prefix}cache"
    if use.mode is DownloadMode.JOB and not cache.shared:
        check.fail(
            field,
            type(cache).__name__,
            "is per pod, so a download Job cannot fill it",
            "ModelCache.pvc(...) or ModelCache.existing_claim(...) with DownloadMode.JOB",
            "use a shared cache" + (", or download=ModelDownload(mode=DownloadMode.INIT_CONTAINER)" if use.per_pod_alternative else ""),
        )
    access = cache.resolved_access_mode(readers.replicas > 1 or readers.pods_per_replica > 1)
    if readers.required_mode is not None and cache.shared and access is not readers.required_mode:
        check.fail(
            f"{field}.access_mode",
            str(access),
            f"attaches to one node, but {readers.required_reason} and all read {use.contents}",
            str(readers.required_mode),
            "use ModelCache.pvc(size, access_mode='ReadWriteMany') on an RWX storage class (NFS, CephFS, Filestore, EFS, ...)",
        )
    if access is AccessMode.READ_WRITE_ONCE_POD and use.mode is DownloadMode.JOB:
        check.fail(
            f"{field}.access_mode",
            str(access),
            "admits one pod, but the Job and the server both mount the cache",
            "ReadWriteOnce or ReadWriteMany",
            "use ReadWriteMany",
        )
    if access in ONE_NODE:
        _check_one_node(check, use, access, readers)
    return access


_PER_POD = ", or a per-pod cache (ModelCache.empty_dir / ephemeral) with DownloadMode.INIT_CONTAINER"


def _check_one_node(check: Checker, use: CacheUse, access: AccessMode, readers: Readers) -> None:
    field = f"{use.prefix}cache"
    pods = readers.replicas * readers.pods_per_replica
    if pods > 1:
        who = f"{readers.replicas} replicas" if readers.pods_per_replica == 1 else f"{pods} pods"
        check.fail(
            f"{field}.access_mode",
            str(access),
            f"attaches to one node, but {who} would mount it (multi-attach error on a second node)",
            "ReadWriteMany when several pods read the cache",
            "use ModelCache.pvc(size, access_mode='ReadWriteMany') on an RWX storage class" + _PER_POD * use.per_pod_alternative,
        )
    if readers.surges:
        check.fail(
            "rollout.max_surge",
            readers.max_surge,
            f"starts a new pod while the old one holds the ReadWriteOnce {field}, possibly on another node",
            f"max_surge=0 (or Recreate) with a ReadWriteOnce {field}",
            f"keep RolloutStrategy.rolling() defaults or use a ReadWriteMany {field}",
        )
    if use.mode is DownloadMode.JOB and use.co_locate is False:
        check.fail(
            f"{use.prefix}download.co_locate",
            False,
            f"lets the download Job run on another node than the server, which cannot attach the ReadWriteOnce {field}",
            f"True (or unset) with a ReadWriteOnce {field}",
            f"leave co_locate unset, or use a ReadWriteMany {field}",
        )


def claim_objects(
    cache: ModelCache, claim_name: str, labels: Mapping[str, str], access: AccessMode | None, object_id: str = "ModelCache"
) -> tuple[KubeObject, ...]:
    """The PersistentVolumeClaim of a new cache (none for an existing claim or a per-pod cache)."""
    if isinstance(cache, NewClaimCache) and access is not None:
        return (KubeObject(object_id, "v1", "PersistentVolumeClaim", claim_name, labels, {"spec": cache.claim_spec(access)}),)
    return ()


@dataclass(frozen=True, slots=True)
class VerifiedDownload:
    """One download Job into the shared cache and the guard init container that waits for its marker."""

    job: KubeObject
    guard: JsonObject


@dataclass(frozen=True, slots=True)
class GuardMount:
    """Where the serving pod's guard finds the cache: its container name, volume and mount path."""

    name: str = "wait-for-model"
    volume: str = "model-cache"
    mount: str = MODEL_MOUNT


def verified_download(
    props: ServingProps,
    source: ModelSource,
    download: ModelDownload,
    labels: WorkloadLabels,
    access: AccessMode | None,
    *,
    object_id: str,
    job_base: str,
    claim: str,
    guard: GuardMount | None = None,
    lora_rank: int | None = None,
) -> VerifiedDownload:
    """The Job that fills ``claim`` (on the server's node when the cache attaches to one node or
    ``download.co_locate`` asks), and the guard that waits for ``source`` in ``guard.mount`` (default: the model's)."""
    guard = guard or GuardMount()
    image = download_image_for(source, download, props.image)
    co_locate = access in ONE_NODE or download.co_locate is True
    name, spec = download_job(
        job_base=job_base,
        source=source,
        claim_name=claim,
        image=image,
        download=download,
        security=props.pod.security,
        labels=labels,
        co_locate_with=labels.selector if co_locate else None,
        lora_rank=lora_rank,
    )
    job = objects.job(object_id, name, job_labels(labels), spec)
    wait = wait_image_for(download, image, props.image)
    folder = f"{guard.mount}/{source.cache_dir_name}"
    container = wait_container(source, folder, wait, download, props.pod.security, name=guard.name, volume=guard.volume, mount=guard.mount)
    return VerifiedDownload(job, container)
