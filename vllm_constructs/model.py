"""Model artifacts: where weights come from (ModelSource), where they are kept (ModelCache), and
ModelInitJob, the download Job that fills the cache once, verified, with a completion marker that a
guard init container in every server pod waits for.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any

from constructs import Construct

from ._check import Checker
from ._emit import JsonObject, adopt, emit, path_of
from .gpu_deployment import WorkloadIdentity, content_hash
from .kube import EnvValue, Image, SecretKeyRef, SecurityProfile, Volume, check_secret_ref, env_list

__all__ = [
    "DownloadMode",
    "ModelCache",
    "ModelInitJob",
    "ModelInitJobProps",
    "ModelSource",
    "S3Credentials",
    "download_script",
    "wait_script",
]

MODEL_MOUNT = "/models"
MARKER = ".vllm-constructs-complete"
HF_TOKEN_DIR = "/var/run/secrets/huggingface"  # noqa: S105 - a mount path, not a secret
HF_TOKEN_VOLUME = "hf-token"  # noqa: S105 - a volume name
DEFAULT_S3_IMAGE = Image("amazon/aws-cli", tag="2.17.0")
_HF_REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


@cache
def _script(name: str) -> str:
    return files("vllm_constructs.scripts").joinpath(name).read_text()


def download_script(kind: str) -> str:
    """The bash program a download runs for ``kind`` ('s3' or 'hf'): fetch, verify, mark."""
    return _script(f"download-{kind}.sh") + _script("verify-and-mark.sh")


def wait_script() -> str:
    """The bash program of the guard init container."""
    return _script("wait-for-model.sh")


class DownloadMode(enum.StrEnum):
    """Who downloads the weights."""

    JOB = "job"
    """One Job fills a shared cache once; every server pod waits for its marker."""
    INIT_CONTAINER = "init-container"
    """Each pod downloads into its own cache (emptyDir or node-local) before starting."""


@dataclass(frozen=True, kw_only=True, slots=True)
class S3Credentials:
    """Where the download reads S3 credentials. Values stay in the Secret; only references are written."""

    access_key_id: SecretKeyRef
    secret_access_key: SecretKeyRef

    @classmethod
    def from_secret(
        cls,
        name: str,
        *,
        access_key_id_key: str = "AWS_ACCESS_KEY_ID",
        secret_access_key_key: str = "AWS_SECRET_ACCESS_KEY",  # noqa: S107 - the name of a key in the Secret, not a secret
    ) -> S3Credentials:
        return cls(access_key_id=SecretKeyRef(name, access_key_id_key), secret_access_key=SecretKeyRef(name, secret_access_key_key))

    @classmethod
    def chart_secret(cls, name: str) -> S3Credentials:
        """The upstream chart's keys: s3accesskeyid and s3accesskey."""
        return cls.from_secret(name, access_key_id_key="s3accesskeyid", secret_access_key_key="s3accesskey")  # noqa: S106 - key names


@dataclass(frozen=True, slots=True)
class ModelSource:
    """Where the weights come from. Build one with a factory: :meth:`huggingface`, :meth:`s3`,
    :meth:`pvc` or :meth:`image`."""

    kind: str
    location: str
    revision: str = ""
    token: SecretKeyRef | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    bucket: str | SecretKeyRef | None = None
    endpoint: str | SecretKeyRef | None = None
    region: str | None = None
    credentials: S3Credentials | None = None
    ec2_metadata_disabled: bool | None = True
    claim_name: str | None = None
    checksum_file: str | None = None
    served_name: str | None = None

    @classmethod
    def huggingface(
        cls,
        repo_id: str,
        *,
        revision: str,
        token: SecretKeyRef | None = None,
        include: tuple[str, ...] = (),
        exclude: tuple[str, ...] = (),
        checksum_file: str | None = None,
    ) -> ModelSource:
        """A Hugging Face Hub repository at ``revision`` (a commit hash pins it; a branch does not)."""
        return cls("hf", repo_id, revision=revision, token=token, include=include, exclude=exclude, checksum_file=checksum_file)

    @classmethod
    def s3(
        cls,
        path: str,
        *,
        bucket: str | SecretKeyRef,
        endpoint: str | SecretKeyRef | None = None,
        region: str | None = None,
        credentials: S3Credentials | None = None,
        revision: str = "unversioned",
        ec2_metadata_disabled: bool | None = True,
        checksum_file: str | None = None,
        served_name: str | None = None,
    ) -> ModelSource:
        """Objects under ``s3://bucket/path/`` of AWS S3 or any S3-compatible store.

        ``revision`` is your name for what is under the path (bump it when you replace the files).
        ``credentials=None`` uses the pod's identity (IRSA, instance profile with ec2_metadata_disabled=False).
        """
        return cls(
            "s3",
            path,
            revision=revision,
            bucket=bucket,
            endpoint=endpoint,
            region=region,
            credentials=credentials,
            ec2_metadata_disabled=ec2_metadata_disabled,
            checksum_file=checksum_file,
            served_name=served_name,
        )

    @classmethod
    def chart_s3(
        cls, secret_name: str, path: str, *, revision: str = "unversioned", ec2_metadata_disabled: bool | None = True
    ) -> ModelSource:
        """The upstream chart's layout: endpoint, bucket and keys in one Secret (s3endpoint, s3bucketname,
        s3accesskeyid, s3accesskey)."""
        return cls.s3(
            path,
            bucket=SecretKeyRef(secret_name, "s3bucketname"),
            endpoint=SecretKeyRef(secret_name, "s3endpoint"),
            credentials=S3Credentials.chart_secret(secret_name),
            revision=revision,
            ec2_metadata_disabled=ec2_metadata_disabled,
        )

    @classmethod
    def pvc(cls, claim_name: str, *, path: str = "", served_name: str | None = None) -> ModelSource:
        """A model already on an existing PersistentVolumeClaim (no download); ``path`` inside the claim."""
        return cls("pvc", path, claim_name=claim_name, served_name=served_name)

    @classmethod
    def image(cls, path: str, *, served_name: str | None = None) -> ModelSource:
        """A model baked into the server image at ``path`` (no download, no cache)."""
        return cls("image", path, served_name=served_name)

    @property
    def downloads(self) -> bool:
        return self.kind in ("hf", "s3")

    @property
    def uri(self) -> str:
        if self.kind == "hf":
            return f"hf://{self.location}"
        if self.kind == "s3":
            bucket = self.bucket if isinstance(self.bucket, str) else f"$({self.bucket.name}/{self.bucket.key})" if self.bucket else ""
            return f"s3://{bucket}/{self.location.strip('/')}"
        if self.kind == "pvc":
            return f"pvc://{self.claim_name}/{self.location.strip('/')}"
        return f"file://{self.location}"

    @property
    def default_served_name(self) -> str:
        if self.served_name:
            return self.served_name
        if self.kind == "hf":
            return self.location
        return self.location.rstrip("/").rsplit("/", 1)[-1] or "model"

    @property
    def cache_dir_name(self) -> str:
        """Folder under the cache mount: readable slug plus a hash of source and revision."""
        slug = re.sub(r"[^a-z0-9]+", "-", self.location.lower()).strip("-")[:40] or "model"
        return f"{slug}-{content_hash([self.uri, self.revision], 8)}"

    def check(self, check: Checker, fld: str) -> None:
        check_secret_ref(check, f"{fld}.token", self.token)
        if self.credentials is not None:
            if not isinstance(self.credentials, S3Credentials):
                check_secret_ref(check, f"{fld}.credentials", self.credentials)
            check_secret_ref(check, f"{fld}.credentials.access_key_id", self.credentials.access_key_id)
            check_secret_ref(check, f"{fld}.credentials.secret_access_key", self.credentials.secret_access_key)
        if self.kind == "hf":
            if not _HF_REPO_RE.match(self.location) or len(self.location) > 96:
                check.fail(
                    f"{fld}.repo_id",
                    self.location,
                    "is not a Hugging Face repository id",
                    "'owner/name' of letters, digits, '-', '_' and '.'",
                    "copy the id from the model page, e.g. 'meta-llama/Llama-3.1-8B-Instruct'",
                )
            if not self.revision or not re.match(r"^[A-Za-z0-9._/-]+$", self.revision):
                check.fail(
                    f"{fld}.revision",
                    self.revision,
                    "is empty or malformed",
                    "a commit hash (pins the files) or a branch or tag name",
                    "pin the commit hash shown under 'Files and versions'",
                )
        elif self.kind == "s3":
            if not self.location.strip("/"):
                check.fail(
                    f"{fld}.path",
                    self.location,
                    "is empty or only '/', so the download would copy the whole bucket",
                    "a prefix such as 'models/opt-125m'",
                    "give the folder of the model inside the bucket",
                )
            if isinstance(self.bucket, str) and not re.match(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", self.bucket):
                check.fail(
                    f"{fld}.bucket",
                    self.bucket,
                    "is not an S3 bucket name",
                    "3-63 lower-case letters, digits, '.' and '-'",
                    "use the bucket's exact name",
                )
            if isinstance(self.endpoint, str) and not re.match(r"^https?://[^\s/]+", self.endpoint):
                check.fail(
                    f"{fld}.endpoint", self.endpoint, "is not an http(s) URL", "a URL such as 'http://minio.storage:9000'", "add the scheme"
                )
            if not self.revision:
                check.fail(f"{fld}.revision", self.revision, "is empty", "a name for the version under the path", "use e.g. '2026-11-01'")
        elif self.kind == "pvc":
            check.dns_subdomain(f"{fld}.claim_name", self.claim_name or "")
        elif self.kind == "image" and not self.location.startswith("/"):
            check.fail(
                f"{fld}.path",
                self.location,
                "is not an absolute path",
                "a path inside the image such as '/models/llama'",
                "give the absolute path",
            )
        if self.checksum_file is not None and ("/" in self.checksum_file or not self.checksum_file):
            check.fail(
                f"{fld}.checksum_file",
                self.checksum_file,
                "is not a file name",
                "a file name at the top of the model folder such as 'SHA256SUMS'",
                "name the file without folders",
            )

    def secret_volumes(self) -> list[JsonObject]:
        """Pod volumes the download needs: the Hugging Face token as a file (read through HF_TOKEN_PATH)."""
        if self.kind != "hf" or self.token is None:
            return []
        secret: JsonObject = {"secretName": self.token.name, "items": [{"key": self.token.key, "path": "token"}], "defaultMode": 0o440}
        if self.token.optional:
            secret["optional"] = True
        return [{"name": HF_TOKEN_VOLUME, "secret": secret}]

    def secret_mounts(self) -> list[JsonObject]:
        return [{"name": HF_TOKEN_VOLUME, "mountPath": HF_TOKEN_DIR, "readOnly": True}] if self.secret_volumes() else []

    def download_env(self) -> dict[str, EnvValue]:
        env: dict[str, EnvValue] = {}
        if self.kind == "hf":
            env["HF_REPO_ID"] = self.location
            if self.include:
                env["HF_INCLUDE"] = "\n".join(self.include)
            if self.exclude:
                env["HF_EXCLUDE"] = "\n".join(self.exclude)
            if self.token is not None:
                # the token is a file projected from the Secret, never an environment variable
                env["HF_TOKEN_PATH"] = f"{HF_TOKEN_DIR}/token"
            env["HF_HUB_DISABLE_TELEMETRY"] = "1"
        elif self.kind == "s3":
            if self.endpoint is not None:
                env["S3_ENDPOINT_URL"] = self.endpoint
            assert self.bucket is not None
            env["S3_BUCKET_NAME"] = self.bucket
            env["S3_PATH"] = self.location
            if self.region:
                env["AWS_DEFAULT_REGION"] = self.region
            if self.credentials is not None:
                env["AWS_ACCESS_KEY_ID"] = self.credentials.access_key_id
                env["AWS_SECRET_ACCESS_KEY"] = self.credentials.secret_access_key
            if self.ec2_metadata_disabled is not None:
                env["AWS_EC2_METADATA_DISABLED"] = "true" if self.ec2_metadata_disabled else "false"
        if self.checksum_file:
            env["CHECKSUM_FILE"] = self.checksum_file
        return env


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelCache:
    """Where downloaded weights are kept. Use a factory: :meth:`pvc`, :meth:`existing_claim`,
    :meth:`empty_dir` or :meth:`ephemeral`."""

    kind: str
    size: str | None = None
    storage_class: str | None = None
    access_mode: str | None = None
    claim_name: str | None = None

    @classmethod
    def pvc(cls, size: str, *, storage_class: str | None = None, access_mode: str | None = None) -> ModelCache:
        """A PersistentVolumeClaim created with the server. access_mode None: ReadWriteOnce for one
        replica, ReadWriteMany for more."""
        return cls(kind="pvc", size=size, storage_class=storage_class, access_mode=access_mode)

    @classmethod
    def existing_claim(cls, claim_name: str, *, access_mode: str = "ReadWriteMany") -> ModelCache:
        """A claim you manage; say its access mode so layouts are checked."""
        return cls(kind="existing", claim_name=claim_name, access_mode=access_mode)

    @classmethod
    def empty_dir(cls, size: str) -> ModelCache:
        """Per-pod scratch space (with DownloadMode.INIT_CONTAINER): lost when the pod goes."""
        return cls(kind="emptyDir", size=size)

    @classmethod
    def ephemeral(cls, size: str, *, storage_class: str | None = None) -> ModelCache:
        """A per-pod generic ephemeral volume, e.g. on a node-local NVMe storage class."""
        return cls(kind="ephemeral", size=size, storage_class=storage_class)

    @property
    def shared(self) -> bool:
        return self.kind in ("pvc", "existing")

    def resolved_access_mode(self, many_readers: bool) -> str | None:
        if not self.shared:
            return None
        return self.access_mode or ("ReadWriteMany" if many_readers else "ReadWriteOnce")

    def check(self, check: Checker, fld: str) -> None:
        if self.size is not None:
            check.quantity(f"{fld}.size", self.size)
        if self.access_mode == "ReadOnlyMany":
            check.fail(
                f"{fld}.access_mode",
                self.access_mode,
                "is read-only, but the download writes the model into the cache",
                "'ReadWriteOnce' or 'ReadWriteMany'",
                "use 'ReadWriteMany'; for a claim that already holds the model use ModelSource.pvc(claim_name) and no cache",
            )
        if self.access_mode not in (None, "ReadWriteOnce", "ReadWriteMany", "ReadWriteOncePod"):
            check.fail(
                f"{fld}.access_mode",
                self.access_mode,
                "is not an access mode",
                "'ReadWriteOnce', 'ReadWriteMany' or 'ReadWriteOncePod'",
                "use one of those",
            )
        if self.storage_class is not None:
            check.dns_subdomain(f"{fld}.storage_class", self.storage_class)
        if self.claim_name is not None:
            check.dns_subdomain(f"{fld}.claim_name", self.claim_name)

    def volume_source(self, claim_name: str) -> JsonObject:
        if self.kind in ("pvc", "existing"):
            return {"persistentVolumeClaim": {"claimName": self.claim_name or claim_name}}
        if self.kind == "emptyDir":
            return {"emptyDir": {"sizeLimit": self.size}}
        spec: JsonObject = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": self.size}}}
        if self.storage_class:
            spec["storageClassName"] = self.storage_class
        return {"ephemeral": {"volumeClaimTemplate": {"spec": spec}}}


def download_container(
    *,
    name: str,
    source: ModelSource,
    model_dir: str,
    image: Image,
    resources: Mapping[str, Any],
    security: SecurityProfile,
    timeout_seconds: int,
    check: Checker,
    extra_env: Mapping[str, EnvValue] = {},
    command: tuple[str, ...] = (),
    args: tuple[str, ...] = (),
) -> JsonObject:
    """The container that downloads, verifies and marks (used by the Job and by init-container mode)."""
    env: dict[str, EnvValue] = {
        "MODEL_DIR": model_dir,
        "SOURCE_URI": source.uri,
        "REVISION": source.revision,
        "DOWNLOAD_TIMEOUT_SECONDS": str(timeout_seconds),
        "HOME": "/tmp",
        **source.download_env(),
    }
    for key, value in extra_env.items():
        env[key] = value
    container: JsonObject = {
        "name": name,
        "image": image.ref,
        "imagePullPolicy": str(image.pull_policy),
        "command": list(command) or ["/bin/bash", "-c"],
        "args": list(args) or [download_script(source.kind)],
        "env": env_list(env, check, "download_env"),
        "resources": dict(resources),
        "securityContext": security.container_json(),
        "volumeMounts": [{"name": "model-cache", "mountPath": MODEL_MOUNT}, {"name": "tmp", "mountPath": "/tmp"}, *source.secret_mounts()],
    }
    return container


def wait_container(
    *,
    source: ModelSource,
    model_dir: str,
    image: Image,
    security: SecurityProfile,
    timeout_seconds: int,
    check: Checker,
    extra_env: Mapping[str, EnvValue] = {},
    command: tuple[str, ...] = (),
    args: tuple[str, ...] = (),
) -> JsonObject:
    """The guard init container: waits for the marker of exactly this source and revision."""
    env: dict[str, EnvValue] = {
        "MODEL_DIR": model_dir,
        "SOURCE_URI": source.uri,
        "REVISION": source.revision,
        "WAIT_TIMEOUT_SECONDS": str(timeout_seconds),
        "WAIT_INTERVAL_SECONDS": "10",
        **dict(extra_env),
    }
    return {
        "name": "wait-for-model",
        "image": image.ref,
        "imagePullPolicy": str(image.pull_policy),
        "command": list(command) or ["/bin/bash", "-c"],
        "args": list(args) or [wait_script()],
        "env": env_list(env, check, "wait_env"),
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
        "securityContext": security.container_json(),
        "volumeMounts": [{"name": "model-cache", "mountPath": MODEL_MOUNT, "readOnly": True}],
    }


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelInitJobProps:
    """Props of :class:`ModelInitJob`."""

    server_name: str
    """Name of the server the weights are for; the Job is named ``<server_name>-download-<hash>``."""
    source: ModelSource
    """Hugging Face or S3 source. No default."""
    claim_name: str
    """The cache claim to write into. No default."""
    image: Image
    """Image with bash and the source's CLI ('hf' or 'aws'). No default."""
    identity: WorkloadIdentity
    """Labels; the component becomes 'model-download'."""
    backoff_limit: int = 3
    """Retries before the Job fails. Default: 3."""
    active_deadline_seconds: int = 7200
    """Hard limit for the whole Job. Default: 7200."""
    ttl_seconds_after_finished: int = 86400
    """Keep the finished Job (and its logs) for a day. Default: 86400."""
    resources: Mapping[str, Any] = field(
        default_factory=lambda: {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
    )
    """Default: requests 500m/1Gi, limits 2/2Gi."""
    security: SecurityProfile = field(default_factory=SecurityProfile)
    """Default: hardened."""
    co_locate_with: Mapping[str, str] | None = None
    """Server pod labels to share a node with (needed for a ReadWriteOnce cache). Default: none."""
    env: Mapping[str, EnvValue] = field(default_factory=dict)
    """Extra environment (the chart's downloadJob.env). Default: none."""
    command: tuple[str, ...] = ()
    """Custom command (the chart's downloadJob.command). Default: /bin/bash -c."""
    args: tuple[str, ...] = ()
    """Custom args (the chart's downloadJob.args). Default: the generated download script."""
    name: str | None = None
    """Fixed Job name (compatibility); default: content-addressed."""


def render_job(path: str, props: ModelInitJobProps) -> tuple[str, JsonObject]:
    """The Job's name and spec. The name changes exactly when what is downloaded (or how) changes."""
    check = Checker(path)
    props.source.check(check, "source")
    if not props.source.downloads:
        check.fail("source", props.source.kind, "needs no download", "a Hugging Face or S3 source", "drop the ModelInitJob")
    check.integer("backoff_limit", props.backoff_limit, minimum=0, maximum=20)
    check.integer("active_deadline_seconds", props.active_deadline_seconds, minimum=60)
    check.integer("ttl_seconds_after_finished", props.ttl_seconds_after_finished, minimum=0)
    model_dir = f"{MODEL_MOUNT}/{props.source.cache_dir_name}"
    container = download_container(
        name="download",
        source=props.source,
        model_dir=model_dir,
        image=props.image,
        resources=props.resources,
        security=props.security,
        timeout_seconds=props.active_deadline_seconds,
        check=check,
        extra_env=props.env,
        command=props.command,
        args=props.args,
    )
    ident = WorkloadIdentity(
        name=props.identity.name, instance=props.identity.instance, component="model-download", part_of=props.identity.part_of
    )
    if props.name is not None:
        check.dns_label("name", props.name)
        name = props.name
    else:
        check.dns_label("server_name", props.server_name, longest_suffix="-download-12345678")
        name = f"{props.server_name}-download-{content_hash([container, props.claim_name], 8)}"
    pod: JsonObject = {
        "restartPolicy": "Never",
        "enableServiceLinks": False,
        "automountServiceAccountToken": False,
        "securityContext": props.security.pod_json(),
    }
    if props.co_locate_with:
        pod["affinity"] = {
            "podAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": dict(props.co_locate_with)}, "topologyKey": "kubernetes.io/hostname"}
                ]
            }
        }
    pod["containers"] = [container]
    pod["volumes"] = [
        {"name": "model-cache", "persistentVolumeClaim": {"claimName": props.claim_name}},
        {"name": "tmp", "emptyDir": {}},
        *props.source.secret_volumes(),
    ]
    spec: JsonObject = {
        "backoffLimit": props.backoff_limit,
        "activeDeadlineSeconds": props.active_deadline_seconds,
        "ttlSecondsAfterFinished": props.ttl_seconds_after_finished,
        "template": {"metadata": {"labels": ident.labels()}, "spec": pod},
    }
    return name, spec


class ModelInitJob(Construct):
    """A Job that downloads a model into a cache claim once, verifies it and writes a completion marker.

    Its name is content-addressed: it changes when the source, revision, image or script changes and
    is stable otherwise, so an upgrade creates a new Job instead of patching an immutable template.
    """

    def __init__(self, scope: Construct, construct_id: str, props: ModelInitJobProps) -> None:
        super().__init__(scope, construct_id)
        adopt(self, scope, construct_id)
        name, spec = render_job(path_of(self), props)
        self.props = props
        self.job_name = name
        self.model_dir = f"{MODEL_MOUNT}/{props.source.cache_dir_name}"
        labels = WorkloadIdentity(
            name=props.identity.name, instance=props.identity.instance, component="model-download", part_of=props.identity.part_of
        ).labels()
        self.resource = emit(self, "Resource", api_version="batch/v1", kind="Job", name=name, labels=labels, body={"spec": spec})


def cache_volume(cache: ModelCache, claim_name: str) -> Volume:
    return Volume(name="model-cache", mount_path=MODEL_MOUNT, source=cache.volume_source(claim_name), read_only=False)


@dataclass(frozen=True, slots=True)
class ModelDelivery:
    """What a serving pod needs to find its weights: the path vLLM serves, offline env, mounts, guard containers,
    and the download Job (if any). Shared by VllmServer and RayCluster."""

    model_path: str
    env: dict[str, EnvValue]
    volumes: tuple[Volume, ...]
    init_containers: tuple[JsonObject, ...] = ()
    job: ModelInitJobProps | None = None


def with_token(source: ModelSource, hf_token: SecretKeyRef | None) -> ModelSource:
    """The source with the construct-level Hugging Face token, unless the source names its own."""
    if source.kind == "hf" and hf_token is not None and source.token is None:
        return dataclasses.replace(source, token=hf_token)
    return source


def download_image_for(source: ModelSource, download_image: Image | None, server_image: Image, check: Checker) -> Image:
    """The download's image: as given, else the AWS CLI for S3 and the server image (it has 'hf') for the Hub."""
    image = download_image or (DEFAULT_S3_IMAGE if source.kind == "s3" else server_image)
    image.check(check, "download_image")
    return image


def deliver_local(source: ModelSource) -> ModelDelivery:
    """A model already on a claim (mounted read-only) or baked into the image: no download."""
    offline: dict[str, EnvValue] = {"HF_HUB_OFFLINE": "1"}
    if source.kind == "pvc":
        claim = {"persistentVolumeClaim": {"claimName": source.claim_name, "readOnly": True}}
        volume = Volume(name="model", mount_path=MODEL_MOUNT, source=claim, read_only=True)
        return ModelDelivery(f"{MODEL_MOUNT}/{source.location.strip('/')}".rstrip("/"), offline, (volume,))
    return ModelDelivery(source.location, offline, ())


def deliver_by_job(
    check: Checker,
    path: str,
    *,
    source: ModelSource,
    cache: ModelCache,
    claim_name: str,
    job_name_base: str,
    server_image: Image,
    download_image: Image,
    identity: WorkloadIdentity,
    security: SecurityProfile,
    wait_timeout_seconds: int,
    co_locate_with: Mapping[str, str] | None = None,
    download_env: Mapping[str, EnvValue] = {},
    download_command: tuple[str, ...] = (),
    download_args: tuple[str, ...] = (),
    wait_env: Mapping[str, EnvValue] = {},
    wait_command: tuple[str, ...] = (),
    wait_args: tuple[str, ...] = (),
) -> ModelDelivery:
    """One Job fills the shared cache; every serving pod mounts it read-only behind a wait guard and runs offline.
    The caller has checked that the cache's access mode fits its pods."""
    model_dir = f"{MODEL_MOUNT}/{source.cache_dir_name}"
    job = ModelInitJobProps(
        server_name=job_name_base,
        source=source,
        claim_name=cache.claim_name or claim_name,
        image=download_image,
        identity=identity,
        security=security,
        co_locate_with=co_locate_with,
        env=download_env,
        command=download_command,
        args=download_args,
        active_deadline_seconds=wait_timeout_seconds,
    )
    render_job(f"{path}/ModelDownload", job)
    guard = wait_container(
        source=source,
        model_dir=model_dir,
        image=server_image,
        security=security,
        timeout_seconds=wait_timeout_seconds,
        check=check,
        extra_env=wait_env,
        command=wait_command,
        args=wait_args,
    )
    volume = Volume(name="model-cache", mount_path=MODEL_MOUNT, source=cache.volume_source(claim_name), read_only=True)
    return ModelDelivery(model_dir, {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}, (volume,), (guard,), job)


def claim_spec(cache: ModelCache, access_mode: str | None) -> JsonObject | None:
    """The spec of the cache PVC the construct creates (None for existing claims and per-pod caches)."""
    if cache.kind != "pvc":
        return None
    spec: JsonObject = {"accessModes": [access_mode], "resources": {"requests": {"storage": cache.size}}}
    if cache.storage_class:
        spec["storageClassName"] = cache.storage_class
    return spec
