"""How the chart's model reaches the server: ``extraInit`` and the model named in ``image.command``.

- download on, the chart's own S3 commands: a verified S3 download Job (``ModelSource.chart_s3``), pods wait for it;
- download on, your own commands: they run in your image with your pull policy (an empty ``s3modelpath`` is fine),
  see the claim at ``/data`` like in the chart, and pods wait for them to finish;
- download off, a model under ``/data``: the chart's claim, read-only (``ModelSource.pvc``);
- download off, a Hugging Face model id: vLLM downloads it at start (``DownloadMode.SERVER``), onto the claim;
- download off, another path: the model is in the image (``ModelSource.image``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.model import DOWNLOAD_ENV_NAMES, DownloadMode, ModelCache, ModelDownload, ModelSource, NewClaimCache, S3Credentials
from ..core.values import EnvValue, Image, SecretKeyRef
from .defaults import DEFAULT_JOB_ARGS, DEFAULT_WAIT_ARGS
from .engine import ServeCommand
from .pod import env_map
from .sources import Key, Origins
from .values import ChartValues, Commands, ExtraInit

__all__ = ["Delivery", "claim_cache", "plan_model"]

_MD: Key = ("extraInit", "modelDownload")
_CHART_SHELL = ["/bin/bash"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """The model source, cache and download of the release, and what the chart layout still needs."""

    model: ModelSource
    cache: ModelCache | None
    download: ModelDownload
    chart_claim: bool
    """The chart's claim must be rendered by the release (nothing else creates it: download off, model on /data)."""
    custom_download: bool
    """Your own download command and args (they see the model folder at /data, like the chart's)."""
    custom_wait: bool
    """Your own wait command and args (idem)."""
    at_start: bool
    """vLLM downloads the model from the hub when the pod starts."""


def _custom(commands: Commands, default_args: list[str]) -> bool:
    return (commands.command not in (None, _CHART_SHELL)) or (commands.args not in (None, default_args))


def many_readers(values: ChartValues) -> bool:
    """Whether more than one pod may read the cache (replicas, or an autoscaler that can add pods)."""
    hpa = values.autoscaling.enabled and values.autoscaling.max_replicas > 1
    keda = values.keda.enabled and values.keda.max_replica_count > 1
    return values.replica_count > 1 or hpa or keda


def check_access_mode(values: ChartValues, extra: ExtraInit, origins: Origins) -> None:
    """A claim that attaches to one node cannot serve several pods (which may land on other nodes)."""
    if extra.pvc_access_mode in ("ReadWriteOnce", "ReadWriteOncePod") and many_readers(values):
        origins.fail(
            ("extraInit", "pvcAccessMode"),
            extra.pvc_access_mode,
            "attaches to one node, but several pods read the claim (replicaCount, or an autoscaler's maximum, is above 1)",
            "ReadWriteMany (on an RWX storage class) when several pods read it",
            "set extraInit.pvcAccessMode: ReadWriteMany, or run one pod",
        )


def claim_cache(values: ChartValues, extra: ExtraInit, origins: Origins) -> NewClaimCache:
    """The chart's claim as our cache, checked by its extraInit keys."""
    check_access_mode(values, extra, origins)
    mode = extra.pvc_access_mode or ("ReadWriteMany" if many_readers(values) else None)
    fields = {
        "size": ("extraInit", "pvcStorage"),
        "storage_class": ("extraInit", "pvcStorageClassName"),
        "access_mode": ("extraInit", "pvcAccessMode"),
    }
    storage_class = extra.pvc_storage_class_name or None
    return origins.within(fields, lambda: ModelCache.pvc(extra.pvc_storage, storage_class=storage_class, access_mode=mode), ("extraInit",))


def _download_env(commands: Commands, key: Key, origins: Origins) -> dict[str, EnvValue]:
    env = env_map(commands.env, key, origins)
    for i, name in enumerate(env):
        if name in DOWNLOAD_ENV_NAMES:
            origins.fail(
                (*key, i, "name"),
                name,
                "is set by the download itself, so the Job, the wait guard and the server agree on it",
                "names other than " + ", ".join(sorted(DOWNLOAD_ENV_NAMES)),
                "remove it (extraInit.s3modelpath and the Secret give the S3 location)",
            )
    return env


def _download_image(extra: ExtraInit, origins: Origins) -> Image:
    image = extra.model_download.image
    fields = {"repository": (*_MD, "image", "repository"), "tag": (*_MD, "image", "tag"), "pull_policy": (*_MD, "image", "pullPolicy")}
    policy: Any = image.pull_policy
    return origins.within(fields, lambda: Image(image.repository, tag=image.tag, pull_policy=policy), (*_MD, "image"))


def _s3_source(release: str, extra: ExtraInit, sub_path: str, optional: bool, origins: Origins) -> ModelSource:
    """The chart's S3 layout: endpoint, bucket and keys in Secret <release>-secrets. ``optional`` when your own
    download env replaces the chart's S3 env (the references then resolve only if the Secret exists)."""
    secret = f"{release}-secrets"
    given = extra.s3_model_path or ""
    prefix = "/".join(p for p in (given.strip("/"), sub_path) if p) if sub_path else given

    def ref(key: str) -> SecretKeyRef:
        return SecretKeyRef(secret, key, optional)

    ec2 = extra.aws_ec2_metadata_disabled
    key: Key = ("extraInit", "s3modelpath")
    return origins.within(
        {"path": key, "model.path": key},
        lambda: ModelSource.s3(
            prefix,
            bucket=ref("s3bucketname"),
            endpoint=ref("s3endpoint"),
            credentials=S3Credentials(access_key_id=ref("s3accesskeyid"), secret_access_key=ref("s3accesskey")),
            ec2_metadata_disabled=ec2,
        ),
        key,
    )


def _job_download(release: str, values: ChartValues, command: ServeCommand, origins: Origins) -> Delivery:
    extra = values.extra_init
    assert extra is not None
    md = extra.model_download
    sub = command.data_path
    if sub is None:
        origins.fail(
            ("image", "command"),
            command.model,
            "serves a model outside /data, but the download fills /data (the chart's claim)",
            "a model under /data while extraInit.modelDownload.enabled",
            "serve /data/, or set extraInit.modelDownload.enabled: false",
        )
    custom_job = _custom(md.download_job, DEFAULT_JOB_ARGS)
    custom_wait = _custom(md.wait_container, DEFAULT_WAIT_ARGS)
    if custom_job and sub:
        origins.fail(
            ("image", "command"),
            command.model,
            "serves a folder inside /data, but your download command decides what /data holds",
            "/data/ with a custom downloadJob",
            "serve /data/ and download the model into /data itself",
        )
    if not custom_job and not (extra.s3_model_path or "").strip("/"):
        origins.fail(
            ("extraInit", "s3modelpath"),
            extra.s3_model_path,
            "is empty, so the chart's download has no source path (chart bug 9)",
            "the model folder inside the bucket, e.g. 'opt-125m/'",
            "set extraInit.s3modelpath, give your own downloadJob command and args, or set extraInit.modelDownload.enabled: false",
        )
    source = _s3_source(release, extra, sub, optional=custom_job and md.download_job.env is not None, origins=origins)
    job, wait = md.download_job, md.wait_container
    image = _download_image(extra, origins)
    job_env = _download_env(job, (*_MD, "downloadJob", "env"), origins)
    wait_env = _download_env(wait, (*_MD, "waitContainer", "env"), origins)
    download = origins.within(
        {"env": (*_MD, "downloadJob", "env"), "wait_env": (*_MD, "waitContainer", "env"), "args": (*_MD, "downloadJob", "args")},
        lambda: ModelDownload(
            image=image,
            command=tuple(job.command or ()) if custom_job else (),
            args=tuple(job.args or ()) if custom_job else (),
            env=job_env,
            wait_command=tuple(wait.command or ()) if custom_wait else (),
            wait_args=tuple(wait.args or ()) if custom_wait else (),
            wait_env=wait_env,
        ),
        _MD,
    )
    cache = claim_cache(values, extra, origins)
    return Delivery(source, cache, download, False, custom_job, custom_wait, False)


def _no_download(release: str, values: ChartValues, command: ServeCommand, origins: Origins) -> Delivery:
    extra = values.extra_init
    assert extra is not None
    sub = command.data_path
    if sub is not None:
        key: Key = ("image", "command")
        model: ModelSource = origins.within({"path": key}, lambda: ModelSource.pvc(f"{release}-storage-claim", path=sub), key)
        return Delivery(model, None, ModelDownload(), True, False, False, False)
    if command.hub_model:
        revision = command.revision or "main"
        model = origins.within(
            {"repo_id": ("image", "command"), "revision": ("image", "command")},
            lambda: ModelSource.huggingface(command.model, revision=revision),
            ("image", "command"),
        )
        return Delivery(model, claim_cache(values, extra, origins), ModelDownload(mode=DownloadMode.SERVER), False, False, False, True)
    model = origins.within({"path": ("image", "command")}, lambda: ModelSource.image(command.model), ("image", "command"))
    return Delivery(model, None, ModelDownload(), False, False, False, False)


def plan_model(release: str, values: ChartValues, command: ServeCommand, origins: Origins) -> Delivery:
    """The model delivery the chart's values describe (see the module docstring)."""
    if values.extra_init is None:
        origins.fail(
            ("extraInit",),
            None,
            "is null, but the chart still mounts its claim at /data, so the pod would never start (chart bug 10)",
            "extraInit (with modelDownload.enabled: false to skip the download)",
            "remove extraInit: null",
        )
    if values.extra_init.model_download.enabled:
        return _job_download(release, values, command, origins)
    return _no_download(release, values, command, origins)
