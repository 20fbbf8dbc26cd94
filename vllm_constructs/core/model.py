"""Model artifacts, pure: where weights come from (a closed union of sources), where they are kept (a closed union
of caches), how they are downloaded (:class:`ModelDownload`), and the download and wait containers and the Job spec.

A source or cache is one small class per kind, built through the factories of :class:`ModelSource` and
:class:`ModelCache`, so an unknown kind cannot be represented.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import field
from functools import cache
from importlib.resources import files
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BeforeValidator, PlainValidator

from .validation import (
    INT32_MAX,
    ClaimName,
    DnsSubdomain,
    Quantity,
    _a,
    _http_url,
    content_hash,
    dns_label_ok,
    fail,
    in_range,
    problem,
    value_class,
)
from .values import (
    EnvMap,
    EnvValue,
    FactoryOnly,
    Image,
    Lax,
    SecretKeyRef,
    SecurityProfile,
    WorkloadLabels,
    closed,
    env_list,
)

__all__ = [
    "DEFAULT_S3_IMAGE",
    "MODEL_MOUNT",
    "AccessMode",
    "DownloadMode",
    "EmptyDirCache",
    "EphemeralCache",
    "ExistingClaimCache",
    "HuggingFaceModel",
    "ImageModel",
    "ModelCache",
    "ModelDownload",
    "ModelSource",
    "NewClaimCache",
    "PvcModel",
    "S3Credentials",
    "S3Model",
]

JsonObject = dict[str, Any]
MODEL_MOUNT = "/models"
MARKER = ".vllm-constructs-complete"
HF_TOKEN_DIR = "/var/run/secrets/huggingface"  # noqa: S105 - a mount path, not a secret
HF_TOKEN_VOLUME = "hf-token"  # noqa: S105 - a volume name
DEFAULT_S3_IMAGE = Image("amazon/aws-cli", tag="2.17.0")
DOWNLOAD_RESOURCES: JsonObject = {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
WAIT_RESOURCES: JsonObject = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}
DOWNLOAD_ENV_NAMES = frozenset(
    {
        "MODEL_DIR",
        "SOURCE_URI",
        "REVISION",
        "DOWNLOAD_TIMEOUT_SECONDS",
        "WAIT_TIMEOUT_SECONDS",
        "WAIT_INTERVAL_SECONDS",
        "HF_REPO_ID",
        "HF_INCLUDE",
        "HF_EXCLUDE",
        "HF_TOKEN_PATH",
        "S3_BUCKET_NAME",
        "S3_PATH",
        "S3_ENDPOINT_URL",
        "CHECKSUM_FILE",
        "LORA_MAX_RANK",
    }
)
"""Environment the download and wait scripts read from the construct; user env may not redefine them."""


_INCLUDE = "# vllm-constructs: include "


@cache
def script(name: str) -> str:
    """A bash program shipped in ``vllm_constructs/scripts``. A line ``# vllm-constructs: include OTHER.sh`` stands for
    the text of OTHER.sh below its first blank line (its own header stays out): one copy of code two programs share."""
    lines = files("vllm_constructs.scripts").joinpath(name).read_text().splitlines(keepends=True)
    return "".join(_included(line[len(_INCLUDE) :].strip()) if line.startswith(_INCLUDE) else line for line in lines)


def _included(name: str) -> str:
    text = files("vllm_constructs.scripts").joinpath(name).read_text()
    return text[text.index("\n\n") + 2 :]


def download_script(kind: str, *, lora_adapter: bool = False) -> str:
    """The bash program a download runs for ``kind`` ('s3' or 'hf'): fetch, verify, mark. A LoRA adapter is verified
    as one first (adapter_config.json, adapter weights, rank), then by the shared checks without config.json."""
    adapter = script("verify-lora-adapter.sh") if lora_adapter else ""
    return script(f"download-{kind}.sh") + adapter + script("verify-and-mark.sh")


def wait_script() -> str:
    """The bash program of the guard init container."""
    return script("wait-for-model.sh")


# ------------------------------------------------------------------------------------------------ scalar rules


def _hf_repo(value: str) -> str:
    if len(value) > 96 or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?", value) or ".." in value:
        raise problem(
            "hf_repo",
            "is not a Hugging Face repository id",
            "'owner/name' of letters, digits, '-', '_' and '.'",
            "copy the id from the model page, e.g. 'meta-llama/Llama-3.1-8B-Instruct'",
        )
    return value


def _revision(value: str) -> str:
    if not value or len(value) > 128 or not re.fullmatch(r"[A-Za-z0-9._/-]+", value) or ".." in value:
        raise problem(
            "revision",
            "is empty or malformed",
            "a commit hash (pins the files), or a branch, tag or version name of letters, digits, '.', '_', '-', '/'",
            "pin the commit hash shown under 'Files and versions'",
        )
    return value


def _glob(value: str) -> str:
    if not value or len(value) > 256 or re.search(r"[\x00-\x1f\n]", value):
        raise problem("glob", "is not a file pattern", "a pattern such as '*.safetensors'", "write one pattern per item")
    return value


def _file_name(value: str) -> str:
    if not value or "/" in value or value in (".", "..") or re.search(r"[\x00-\x1f]", value):
        raise problem(
            "file_name",
            "is not a file name",
            "a file name at the top of the model folder such as 'SHA256SUMS'",
            "name the file without folders",
        )
    return value


def _s3_path(value: str) -> str:
    if value == "":
        return value  # only with your own download args (check_s3_prefix): they decide what to fetch
    if not value.strip("/") or value.startswith("s3://") or re.search(r"[\x00-\x1f]", value) or ".." in value.split("/"):
        raise problem(
            "s3_path",
            "is empty, '/', a URL or not a prefix, so the download would copy the wrong objects (or the whole bucket)",
            "a prefix such as 'models/opt-125m'",
            "give the folder of the model inside the bucket",
        )
    return value


def _bucket(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value) or ".." in value:
        raise problem(
            "s3_bucket", "is not an S3 bucket name", "3-63 lower-case letters, digits, '.' and '-'", "use the bucket's exact name"
        )
    return value


def _served_name(value: str) -> str:
    if not value or len(value) > 256 or re.search(r"[\s\x00-\x1f]", value):
        raise problem("served_name", "is empty or has spaces", "a non-empty name without spaces", "use e.g. 'llama-3.1-8b'")
    return value


def _relative(value: str) -> str:
    if value.startswith("/") or ".." in value.split("/") or re.search(r"[\x00-\x1f]", value):
        raise problem("relative_path", "is not a relative path inside the claim", "a path such as 'llama' or ''", "drop the leading '/'")
    return value


def _absolute(value: str) -> str:
    if not value.startswith("/") or ".." in value.split("/") or re.search(r"[\x00-\x1f\s]", value):
        raise problem("path", "is not an absolute path", "a path inside the image such as '/models/llama'", "give the absolute path")
    return value


def _region(value: str) -> str:
    if not re.fullmatch(r"[a-z]{2}(-[a-z0-9]+)+-[0-9]+|[a-z0-9-]{2,32}", value):
        raise problem("region", "is not a region name", "a region such as 'us-east-1'", "use the store's region name")
    return value


HfRepoId = Annotated[str, AfterValidator(_hf_repo)]
Revision = Annotated[str, AfterValidator(_revision)]
Glob = Annotated[str, AfterValidator(_glob)]
FileName = Annotated[str, AfterValidator(_file_name)]
ServedName = Annotated[str, AfterValidator(_served_name)]


# ------------------------------------------------------------------------------------------------ sources


@value_class(kw_only=True)
class S3Credentials:
    """Where the download reads S3 credentials. Values stay in the Secret; only references are written."""

    access_key_id: SecretKeyRef
    secret_access_key: SecretKeyRef

    @classmethod
    def from_secret(
        cls,
        name: Any,
        *,
        access_key_id_key: str = "AWS_ACCESS_KEY_ID",
        secret_access_key_key: str = "AWS_SECRET_ACCESS_KEY",  # noqa: S107 - the name of a key in the Secret, not a secret
    ) -> S3Credentials:
        return cls(access_key_id=SecretKeyRef(name, access_key_id_key), secret_access_key=SecretKeyRef(name, secret_access_key_key))

    @classmethod
    def chart_secret(cls, name: Any) -> S3Credentials:
        """The upstream chart's keys: s3accesskeyid and s3accesskey."""
        return cls.from_secret(name, access_key_id_key="s3accesskeyid", secret_access_key_key="s3accesskey")  # noqa: S106 - key names


class ModelSource(FactoryOnly):
    """Where the weights come from. Build one with a factory: :meth:`huggingface`, :meth:`s3`, :meth:`chart_s3`,
    :meth:`pvc` or :meth:`image`."""

    __choices__ = (
        "ModelSource.huggingface(repo_id, revision=...), ModelSource.s3(path, bucket=...), ModelSource.chart_s3(secret, path), "
        "ModelSource.pvc(claim_name), ModelSource.image(path)"
    )
    kind: ClassVar[str] = ""
    downloads: ClassVar[bool] = False
    """Whether a download (Job or init container) must fetch the weights."""

    @staticmethod
    def huggingface(
        repo_id: str,
        *,
        revision: str,
        token: SecretKeyRef | None = None,
        include: tuple[str, ...] = (),
        exclude: tuple[str, ...] = (),
        checksum_file: str | None = None,
        served_name: str | None = None,
    ) -> HuggingFaceModel:
        """A Hugging Face Hub repository at ``revision`` (a commit hash pins it; a branch does not)."""
        return HuggingFaceModel(
            repo_id=repo_id,
            revision=revision,
            token=token,
            include=include,
            exclude=exclude,
            checksum_file=checksum_file,
            served_name=served_name,
        )

    @staticmethod
    def s3(
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
    ) -> S3Model:
        """Objects under ``s3://bucket/path/`` of AWS S3 or any S3-compatible store.

        ``revision`` is your name for what is under the path (bump it when you replace the files).
        ``credentials=None`` uses the pod's identity (IRSA, or an instance profile with ec2_metadata_disabled=False).
        """
        return S3Model(
            path=path,
            bucket=bucket,
            endpoint=endpoint,
            region=region,
            credentials=credentials,
            revision=revision,
            ec2_metadata_disabled=ec2_metadata_disabled,
            checksum_file=checksum_file,
            served_name=served_name,
        )

    @staticmethod
    def chart_s3(secret_name: Any, path: str, *, revision: str = "unversioned", ec2_metadata_disabled: bool | None = True) -> S3Model:
        """The upstream chart's layout: endpoint, bucket and keys in one Secret (s3endpoint, s3bucketname, s3accesskeyid,
        s3accesskey)."""
        return S3Model(
            path=path,
            bucket=SecretKeyRef(secret_name, "s3bucketname"),
            endpoint=SecretKeyRef(secret_name, "s3endpoint"),
            credentials=S3Credentials.chart_secret(secret_name),
            revision=revision,
            ec2_metadata_disabled=ec2_metadata_disabled,
        )

    @staticmethod
    def pvc(claim_name: Any, *, path: str = "", served_name: str | None = None) -> PvcModel:
        """A model already on an existing PersistentVolumeClaim (no download), at ``path`` inside the claim."""
        return PvcModel(claim_name=claim_name, path=path, served_name=served_name)

    @staticmethod
    def image(path: str, *, served_name: str | None = None) -> ImageModel:
        """A model baked into the server image at ``path`` (no download, no cache)."""
        return ImageModel(path=path, served_name=served_name)

    # --- what every kind answers

    @property
    def uri(self) -> str:
        raise NotImplementedError

    @property
    def revision_name(self) -> str:
        """The revision the completion marker records ('' when nothing is downloaded)."""
        return ""

    @property
    def default_served_name(self) -> str:
        raise NotImplementedError

    @property
    def cache_dir_name(self) -> str:
        """Folder under the cache mount: a readable slug plus a hash of source and revision."""
        slug = re.sub(r"[^a-z0-9]+", "-", self.uri.split("://", 1)[-1].lower()).strip("-")[:40] or "model"
        return f"{slug}-{content_hash([self.uri, self.revision_name], 8)}"

    @property
    def accepts_token(self) -> bool:
        """Whether a Hugging Face token means anything for this source."""
        return False

    def with_token(self, token: SecretKeyRef | None) -> ModelSource:
        return self

    def download_env(self) -> dict[str, EnvValue]:
        return {}

    def secret_volumes(self) -> list[JsonObject]:
        return []

    def secret_mounts(self) -> list[JsonObject]:
        return []


@value_class(kw_only=True)
class HuggingFaceModel(ModelSource):
    """A Hugging Face Hub repository at a revision (see :meth:`ModelSource.huggingface`)."""

    kind: ClassVar[str] = "hf"
    downloads: ClassVar[bool] = True
    repo_id: HfRepoId
    revision: Revision
    token: SecretKeyRef | None = None
    include: tuple[Glob, ...] = ()
    exclude: tuple[Glob, ...] = ()
    checksum_file: FileName | None = None
    served_name: ServedName | None = None

    @property
    def uri(self) -> str:
        return f"hf://{self.repo_id}"

    @property
    def revision_name(self) -> str:
        return self.revision

    @property
    def default_served_name(self) -> str:
        return self.served_name or self.repo_id

    @property
    def cache_dir_name(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.repo_id.lower()).strip("-")[:40] or "model"
        return f"{slug}-{content_hash([self.uri, self.revision], 8)}"

    @property
    def accepts_token(self) -> bool:
        return True

    def with_token(self, token: SecretKeyRef | None) -> ModelSource:
        if token is None or self.token is not None:
            return self
        return HuggingFaceModel(
            repo_id=self.repo_id,
            revision=self.revision,
            token=token,
            include=self.include,
            exclude=self.exclude,
            checksum_file=self.checksum_file,
            served_name=self.served_name,
        )

    def download_env(self) -> dict[str, EnvValue]:
        env: dict[str, EnvValue] = {"HF_REPO_ID": self.repo_id}
        if self.include:
            env["HF_INCLUDE"] = "\n".join(self.include)
        if self.exclude:
            env["HF_EXCLUDE"] = "\n".join(self.exclude)
        if self.token is not None:
            env["HF_TOKEN_PATH"] = f"{HF_TOKEN_DIR}/token"  # a file projected from the Secret, never an env value
        env["HF_HUB_DISABLE_TELEMETRY"] = "1"
        if self.checksum_file:
            env["CHECKSUM_FILE"] = self.checksum_file
        return env

    def secret_volumes(self) -> list[JsonObject]:
        return [hf_token_volume(self.token)] if self.token is not None else []

    def secret_mounts(self) -> list[JsonObject]:
        return [hf_token_mount()] if self.token is not None else []


def hf_token_mount() -> JsonObject:
    """Where a container reads the Hugging Face token file (HF_TOKEN_PATH points into it)."""
    return {"name": HF_TOKEN_VOLUME, "mountPath": HF_TOKEN_DIR, "readOnly": True}


def hf_token_volume(token: SecretKeyRef) -> JsonObject:
    """The Secret volume that projects the Hugging Face token as a file readable by the pod's group only."""
    secret: JsonObject = {"secretName": str(token.name), "items": [{"key": token.key, "path": "token"}], "defaultMode": 0o440}
    if token.optional:
        secret["optional"] = True
    return {"name": HF_TOKEN_VOLUME, "secret": secret}


def _bucket_or_ref(value: Any) -> Any:
    if isinstance(value, SecretKeyRef):
        return value
    if isinstance(value, str):
        return _bucket(value)
    raise problem("s3_bucket", f"is {_a(type(value).__name__)}", "a bucket name or a SecretKeyRef", "pass the bucket's name")


def _endpoint_or_ref(value: Any) -> Any:
    if isinstance(value, SecretKeyRef):
        return value
    if isinstance(value, str):
        return _http_url(value)
    raise problem("s3_endpoint", f"is {_a(type(value).__name__)}", "an http(s) URL or a SecretKeyRef", "pass the endpoint URL")


@value_class(kw_only=True)
class S3Model(ModelSource):
    """Objects under a prefix of an S3-compatible store (see :meth:`ModelSource.s3`)."""

    kind: ClassVar[str] = "s3"
    downloads: ClassVar[bool] = True
    path: Annotated[str, AfterValidator(_s3_path)]
    # one validator per union field: a pydantic union would report once per member, with internal member names
    bucket: Annotated[str | SecretKeyRef, PlainValidator(_bucket_or_ref)]
    endpoint: Annotated[str | SecretKeyRef, PlainValidator(_endpoint_or_ref)] | None = None
    region: Annotated[str, AfterValidator(_region)] | None = None
    credentials: S3Credentials | None = None
    revision: Revision = "unversioned"
    ec2_metadata_disabled: bool | None = True
    checksum_file: FileName | None = None
    served_name: ServedName | None = None

    @property
    def uri(self) -> str:
        bucket = self.bucket if isinstance(self.bucket, str) else f"$({self.bucket.name}/{self.bucket.key})"
        return f"s3://{bucket}/{self.path.strip('/')}"

    @property
    def revision_name(self) -> str:
        return self.revision

    @property
    def default_served_name(self) -> str:
        return self.served_name or self.path.rstrip("/").rsplit("/", 1)[-1] or "model"

    @property
    def cache_dir_name(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.path.lower()).strip("-")[:40] or "model"
        return f"{slug}-{content_hash([self.uri, self.revision], 8)}"

    def download_env(self) -> dict[str, EnvValue]:
        env: dict[str, EnvValue] = {}
        if self.endpoint is not None:
            env["S3_ENDPOINT_URL"] = self.endpoint
        env["S3_BUCKET_NAME"] = self.bucket
        env["S3_PATH"] = self.path
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


@value_class(kw_only=True)
class PvcModel(ModelSource):
    """A model already on an existing claim, mounted read-only (see :meth:`ModelSource.pvc`)."""

    kind: ClassVar[str] = "pvc"
    claim_name: ClaimName
    path: Annotated[str, AfterValidator(_relative)] = ""
    served_name: ServedName | None = None

    @property
    def uri(self) -> str:
        return f"pvc://{self.claim_name}/{self.path.strip('/')}"

    @property
    def default_served_name(self) -> str:
        return self.served_name or self.path.rstrip("/").rsplit("/", 1)[-1] or "model"

    @property
    def model_path(self) -> str:
        return f"{MODEL_MOUNT}/{self.path.strip('/')}".rstrip("/")


@value_class(kw_only=True)
class ImageModel(ModelSource):
    """A model baked into the server image (see :meth:`ModelSource.image`)."""

    kind: ClassVar[str] = "image"
    path: Annotated[str, AfterValidator(_absolute)]
    served_name: ServedName | None = None

    @property
    def uri(self) -> str:
        return f"file://{self.path}"

    @property
    def default_served_name(self) -> str:
        return self.served_name or self.path.rstrip("/").rsplit("/", 1)[-1] or "model"


AnyModelSource = Annotated[ModelSource, closed(ModelSource)]


# ------------------------------------------------------------------------------------------------ caches


class AccessMode(enum.StrEnum):
    READ_WRITE_ONCE = "ReadWriteOnce"
    READ_WRITE_MANY = "ReadWriteMany"
    READ_WRITE_ONCE_POD = "ReadWriteOncePod"


def _access_mode(value: Any) -> Any:
    if value == "ReadOnlyMany":
        raise problem(
            "access_mode",
            "is read-only, but the download writes the model into the cache",
            "'ReadWriteOnce', 'ReadWriteMany' or 'ReadWriteOncePod'",
            "use 'ReadWriteMany'; for a claim that already holds the model use ModelSource.pvc(claim_name) and no cache",
        )
    return value


class ModelCache(FactoryOnly):
    """Where downloaded weights are kept. Use a factory: :meth:`pvc`, :meth:`existing_claim`, :meth:`empty_dir` or
    :meth:`ephemeral`."""

    __choices__ = (
        "ModelCache.pvc(size, storage_class=..., access_mode=...), ModelCache.existing_claim(claim_name, access_mode=...), "
        "ModelCache.empty_dir(size), ModelCache.ephemeral(size, storage_class=...)"
    )
    shared: ClassVar[bool] = False
    """Whether the cache is one claim that several pods (and the download Job) mount."""

    @staticmethod
    def pvc(size: str, *, storage_class: str | None = None, access_mode: AccessMode | str | None = None) -> NewClaimCache:
        """A PersistentVolumeClaim created with the server. access_mode None: ReadWriteOnce for one replica,
        ReadWriteMany for more."""
        return NewClaimCache(size=size, storage_class=storage_class, access_mode=access_mode)  # type: ignore[arg-type]

    @staticmethod
    def existing_claim(claim_name: Any, *, access_mode: AccessMode | str = AccessMode.READ_WRITE_MANY) -> ExistingClaimCache:
        """A claim you manage (by name or a cdk8s-plus PersistentVolumeClaim); say its access mode so layouts are checked."""
        return ExistingClaimCache(claim_name=claim_name, access_mode=access_mode)  # type: ignore[arg-type]

    @staticmethod
    def empty_dir(size: str) -> EmptyDirCache:
        """Per-pod scratch space (with DownloadMode.INIT_CONTAINER): lost when the pod goes."""
        return EmptyDirCache(size=size)

    @staticmethod
    def ephemeral(size: str, *, storage_class: str | None = None) -> EphemeralCache:
        """A per-pod generic ephemeral volume, e.g. on a node-local NVMe storage class."""
        return EphemeralCache(size=size, storage_class=storage_class)

    def resolved_access_mode(self, many_readers: bool) -> AccessMode | None:
        return None

    def claim(self, default_name: str) -> str | None:
        """The claim the pods and the Job mount (None for per-pod caches)."""
        return None

    def volume_source(self, claim_name: str) -> JsonObject:
        raise NotImplementedError


@value_class(kw_only=True)
class NewClaimCache(ModelCache):
    """A claim created with the server (see :meth:`ModelCache.pvc`)."""

    shared: ClassVar[bool] = True
    size: Quantity
    storage_class: DnsSubdomain | None = None
    access_mode: Annotated[AccessMode, Lax, BeforeValidator(_access_mode)] | None = None

    def resolved_access_mode(self, many_readers: bool) -> AccessMode:
        if self.access_mode is not None:
            return self.access_mode
        return AccessMode.READ_WRITE_MANY if many_readers else AccessMode.READ_WRITE_ONCE

    def claim(self, default_name: str) -> str | None:
        return default_name

    def volume_source(self, claim_name: str) -> JsonObject:
        return {"persistentVolumeClaim": {"claimName": claim_name}}

    def claim_spec(self, access_mode: AccessMode) -> JsonObject:
        spec: JsonObject = {"accessModes": [str(access_mode)], "resources": {"requests": {"storage": self.size}}}
        if self.storage_class:
            spec["storageClassName"] = self.storage_class
        return spec


@value_class(kw_only=True)
class ExistingClaimCache(ModelCache):
    """A claim you manage (see :meth:`ModelCache.existing_claim`)."""

    shared: ClassVar[bool] = True
    claim_name: ClaimName
    access_mode: Annotated[AccessMode, Lax, BeforeValidator(_access_mode)] = AccessMode.READ_WRITE_MANY

    def resolved_access_mode(self, many_readers: bool) -> AccessMode | None:
        return self.access_mode

    def claim(self, default_name: str) -> str | None:
        return str(self.claim_name)

    def volume_source(self, claim_name: str) -> JsonObject:
        return {"persistentVolumeClaim": {"claimName": str(self.claim_name)}}


@value_class(kw_only=True)
class EmptyDirCache(ModelCache):
    """Per-pod scratch space (see :meth:`ModelCache.empty_dir`)."""

    size: Quantity

    def volume_source(self, claim_name: str) -> JsonObject:
        return {"emptyDir": {"sizeLimit": self.size}}


@value_class(kw_only=True)
class EphemeralCache(ModelCache):
    """A per-pod generic ephemeral volume (see :meth:`ModelCache.ephemeral`)."""

    size: Quantity
    storage_class: DnsSubdomain | None = None

    def volume_source(self, claim_name: str) -> JsonObject:
        spec: JsonObject = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": self.size}}}
        if self.storage_class:
            spec["storageClassName"] = self.storage_class
        return {"ephemeral": {"volumeClaimTemplate": {"spec": spec}}}


AnyModelCache = Annotated[ModelCache, closed(ModelCache)]


# ------------------------------------------------------------------------------------------------ download options


class DownloadMode(enum.StrEnum):
    """Who downloads the weights."""

    JOB = "job"
    """One Job fills a shared cache once, verified; every server pod waits for its marker and runs offline."""
    INIT_CONTAINER = "init-container"
    """Each pod downloads into its own cache (emptyDir or node-local) before starting."""
    SERVER = "server"
    """vLLM itself downloads from the hub when it starts (no verification, no marker; the pod needs the hub). The
    chart's ``extraInit.modelDownload.enabled: false`` with a hub model id."""


def _owned_download_env(env: Mapping[str, Any]) -> Mapping[str, Any]:
    for name in env:
        if name in DOWNLOAD_ENV_NAMES:
            raise problem(
                "owned_env",
                f"redefines {name}, which the construct sets so that the Job, the wait guard and the server agree",
                "names other than " + ", ".join(sorted(DOWNLOAD_ENV_NAMES)),
                "use the typed prop (source, revision, timeout_seconds, ...) instead",
            )
    return env


DownloadEnv = Annotated[EnvMap, AfterValidator(_owned_download_env)]


@value_class(kw_only=True)
class ModelDownload:
    """How the weights are downloaded and waited for. Every field has a default that fits a GPU cluster."""

    mode: Annotated[DownloadMode, Lax] = DownloadMode.JOB
    """Default: one Job per source and revision; pods wait for its marker."""
    image: Image | None = None
    """Image of the download. Default: amazon/aws-cli for S3, the server image (it has 'hf') for Hugging Face."""
    co_locate: bool | None = None
    """Pin the Job to the server's node. Default: True exactly when the cache is ReadWriteOnce."""
    timeout_seconds: Annotated[int, in_range(60, 7 * 86400)] = 7200
    """Deadline of the download, and how long server pods wait for it. Default: 7200."""
    backoff_limit: Annotated[int, in_range(0, 20)] = 3
    """Retries of the download Job. Default: 3."""
    ttl_seconds_after_finished: Annotated[int, in_range(0, INT32_MAX)] | None = None
    """Let Kubernetes delete the finished Job after this long. Default: never: a Job committed to Git that Kubernetes
    deletes is re-created by Argo CD or Flux and runs again. Set it only for manifests applied by hand."""
    env: DownloadEnv = field(default_factory=dict)
    """Extra env of the download (the chart's downloadJob.env). Default: none."""
    command: tuple[str, ...] = ()
    """Custom download command. Default: /bin/bash -c."""
    args: tuple[str, ...] = ()
    """Custom download args. Default: the generated script (fetch, verify, mark)."""
    wait_env: DownloadEnv = field(default_factory=dict)
    """Extra env of the wait guard. Default: none."""
    wait_command: tuple[str, ...] = ()
    """Custom wait command. Default: /bin/bash -c."""
    wait_args: tuple[str, ...] = ()
    """Custom wait args. Default: the generated guard script."""
    wait_image: Image | None = None
    """Image of the wait guard. Default: the server image, or the download image when a custom wait command is given
    (it usually calls the download's tools)."""

    @property
    def custom_download(self) -> bool:
        return bool(self.command or self.args)

    @property
    def custom_wait(self) -> bool:
        return bool(self.wait_command or self.wait_args)


# ------------------------------------------------------------------------------------------------ containers and Job


def download_image_for(source: ModelSource, download: ModelDownload, server_image: Image) -> Image:
    """The download's image: as given, else the AWS CLI for S3 and the server image (it has 'hf') for the Hub."""
    return download.image or (DEFAULT_S3_IMAGE if isinstance(source, S3Model) else server_image)


def wait_image_for(download: ModelDownload, download_image: Image, server_image: Image) -> Image:
    return download.wait_image or (download_image if download.custom_wait else server_image)


def download_container(
    name: str,
    source: ModelSource,
    model_dir: str,
    image: Image,
    download: ModelDownload,
    security: SecurityProfile,
    *,
    lora_rank: int | None = None,
) -> JsonObject:
    """The container that downloads, verifies and marks (used by the Job and by init-container mode). With
    ``lora_rank`` the download is verified as a LoRA adapter of at most that rank; default: as a base model."""
    env: dict[str, EnvValue] = {
        "MODEL_DIR": model_dir,
        "SOURCE_URI": source.uri,
        "REVISION": source.revision_name,
        "DOWNLOAD_TIMEOUT_SECONDS": str(download.timeout_seconds),
        "HOME": "/tmp",
        **({"LORA_MAX_RANK": str(lora_rank)} if lora_rank is not None else {}),
        **source.download_env(),
        **dict(download.env),
    }
    mounts = [{"name": "model-cache", "mountPath": MODEL_MOUNT}, {"name": "tmp", "mountPath": "/tmp"}, *source.secret_mounts()]
    return {
        "name": name,
        "image": image.ref,
        "imagePullPolicy": str(image.pull_policy),
        "command": list(download.command) or ["/bin/bash", "-c"],
        "args": list(download.args) or [download_script(source.kind, lora_adapter=lora_rank is not None)],
        "env": env_list(env),
        "resources": DOWNLOAD_RESOURCES,
        "securityContext": security.container_json(),
        "volumeMounts": mounts,
    }


def wait_container(
    source: ModelSource,
    model_dir: str,
    image: Image,
    download: ModelDownload,
    security: SecurityProfile,
    *,
    name: str = "wait-for-model",
    volume: str = "model-cache",
    mount: str = MODEL_MOUNT,
) -> JsonObject:
    """The guard init container: waits for the marker of exactly this source and revision (in ``model_dir``, on
    ``volume`` mounted read-only at ``mount``)."""
    env: dict[str, EnvValue] = {
        "MODEL_DIR": model_dir,
        "SOURCE_URI": source.uri,
        "REVISION": source.revision_name,
        "WAIT_TIMEOUT_SECONDS": str(download.timeout_seconds),
        "WAIT_INTERVAL_SECONDS": "10",
        **dict(download.wait_env),
    }
    return {
        "name": name,
        "image": image.ref,
        "imagePullPolicy": str(image.pull_policy),
        "command": list(download.wait_command) or ["/bin/bash", "-c"],
        "args": list(download.wait_args) or [wait_script()],
        "env": env_list(env),
        "resources": WAIT_RESOURCES,
        "securityContext": security.container_json(),
        "volumeMounts": [{"name": volume, "mountPath": mount, "readOnly": True}],
    }


def job_pod_spec(
    container: JsonObject, claim_name: str, source: ModelSource, security: SecurityProfile, co_locate: Mapping[str, str] | None
) -> JsonObject:
    pod: JsonObject = {
        "restartPolicy": "Never",
        "enableServiceLinks": False,
        "automountServiceAccountToken": False,
        "securityContext": security.pod_json(),
    }
    if co_locate:
        term = {"labelSelector": {"matchLabels": dict(co_locate)}, "topologyKey": "kubernetes.io/hostname"}
        pod["affinity"] = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}
    pod["containers"] = [container]
    pod["volumes"] = [
        {"name": "model-cache", "persistentVolumeClaim": {"claimName": claim_name}},
        {"name": "tmp", "emptyDir": {}},
        *source.secret_volumes(),
    ]
    return pod


def job_labels(labels: WorkloadLabels) -> WorkloadLabels:
    """The download Job's identity: the server's, with component 'model-download' (never the server's selector)."""
    return WorkloadLabels(name=labels.name, instance=labels.instance, component="model-download", part_of=labels.part_of)


def check_s3_prefix(source: ModelSource, download: ModelDownload, field_name: str = "model.path") -> None:
    """Refuse an empty S3 prefix unless custom download args fetch the model (the generated script would copy the
    whole bucket)."""
    if isinstance(source, S3Model) and not source.path and not download.args:
        fail(
            field_name,
            "",
            "is empty, so the generated download would copy the whole bucket",
            "a prefix such as 'models/opt-125m', or your own download args that fetch the model",
            "give the folder of the model inside the bucket, or ModelDownload(command=..., args=...)",
        )


def check_download_fits(source: ModelSource, download: ModelDownload) -> None:
    """Refuse a download mode the source cannot use."""
    check_s3_prefix(source, download)
    if download.mode is DownloadMode.SERVER and not isinstance(source, HuggingFaceModel):
        fail(
            "download.mode",
            str(download.mode),
            f"lets vLLM download at start, but a {type(source).__name__} is not a hub model",
            "DownloadMode.SERVER only with ModelSource.huggingface(...)",
            "use DownloadMode.JOB (or INIT_CONTAINER) for S3, or no download for pvc/image sources",
        )


def download_job(
    *,
    job_base: str,
    source: ModelSource,
    claim_name: str,
    image: Image,
    download: ModelDownload,
    security: SecurityProfile,
    labels: WorkloadLabels,
    co_locate_with: Mapping[str, str] | None,
    name: str | None = None,
    lora_rank: int | None = None,
) -> tuple[str, JsonObject]:
    """The download Job's name and spec. The name is content-addressed: it changes exactly when what is downloaded
    (or how) changes, so an upgrade creates a new Job instead of patching an immutable template."""
    model_dir = f"{MODEL_MOUNT}/{source.cache_dir_name}"
    container = download_container("download", source, model_dir, image, download, security, lora_rank=lora_rank)
    job_name = name or f"{job_base}-download-{content_hash([container, claim_name], 8)}"
    pod = job_pod_spec(container, claim_name, source, security, co_locate_with)
    spec: JsonObject = {"backoffLimit": download.backoff_limit, "activeDeadlineSeconds": download.timeout_seconds}
    if download.ttl_seconds_after_finished is not None:
        spec["ttlSecondsAfterFinished"] = download.ttl_seconds_after_finished
    spec["template"] = {"metadata": {"labels": job_labels(labels).labels()}, "spec": pod}
    return job_name, spec


JOB_BASE_MAX = 45
"""63 less '-download-' and an 8-character hash."""


def _job_base_name(value: str) -> str:
    if not dns_label_ok(value, JOB_BASE_MAX):
        raise problem(
            "dns_label", f"is not a DNS-1123 label of at most {JOB_BASE_MAX} characters", "room for '-download-<hash>'", "shorten it"
        )
    return value


JobBase = Annotated[str, AfterValidator(_job_base_name)]
"""Base of a download Job's name: room is left for '-download-<hash>'."""


def _job_name(value: str) -> str:
    if not dns_label_ok(value):
        raise problem(
            "dns_label", "is not a DNS-1123 label", "at most 63 lower-case letters, digits and '-'", "use a name such as 'llama-download'"
        )
    return value


@value_class(kw_only=True)
class ModelInitJobProps:
    """Props of :class:`~vllm_constructs.ModelInitJob`: a download Job on its own (e.g. to fill a shared cache)."""

    server_name: JobBase
    """Name of the server the weights are for; the Job is named ``<server_name>-download-<hash>``."""
    source: AnyModelSource
    """Hugging Face or S3 source. No default."""
    claim_name: ClaimName
    """The cache claim to write into. No default."""
    image: Image
    """Image with bash and the source's CLI ('hf' or 'aws'). No default."""
    labels: WorkloadLabels
    """The server's labels; the component becomes 'model-download'."""
    download: ModelDownload = field(default_factory=ModelDownload)
    """Timeout (the Job's deadline), retries, TTL, custom command, args and env. Default: see ModelDownload."""
    security: SecurityProfile = field(default_factory=SecurityProfile)
    """Default: hardened."""
    co_locate_with: Annotated[Mapping[str, str], AfterValidator(lambda v: v)] | None = None
    """Server pod labels to share a node with (needed for a ReadWriteOnce cache). Default: none."""
    name: Annotated[str, AfterValidator(_job_name)] | None = None
    """Fixed Job name (compatibility); default: content-addressed."""

    def __post_init__(self) -> None:
        if not self.source.downloads:
            fail(
                "source",
                type(self.source).__name__,
                "needs no download",
                "ModelSource.huggingface(...) or ModelSource.s3(...)",
                "drop the ModelInitJob",
            )
        check_s3_prefix(self.source, self.download, "source.path")


def plan_init_job(props: ModelInitJobProps) -> tuple[str, JsonObject]:
    return download_job(
        job_base=props.server_name,
        source=props.source,
        claim_name=str(props.claim_name),
        image=props.image,
        download=props.download,
        security=props.security,
        labels=props.labels,
        co_locate_with=props.co_locate_with,
        name=props.name,
    )
