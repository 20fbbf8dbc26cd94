"""Typed values shared by every workload: image, accelerator, environment, ports, resources, probes, rollout,
shared memory, security, volumes, scheduling, and the pod options that gather them.

Each is a frozen, strictly validated dataclass (see :mod:`~vllm_constructs.core.validation`): a wrong type, a value
out of bounds or a malformed Kubernetes name raises :class:`~vllm_constructs.errors.ConfigError` when the value is
built. Closed unions (rollout strategy, environment sources) are small classes behind factories, so a wrong kind
cannot be represented. Each value renders its own Kubernetes JSON. Nothing here creates constructs.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import field
from decimal import Decimal
from typing import Annotated, Any, ClassVar, NoReturn

from pydantic import AfterValidator, PlainValidator, Strict

from ..errors import ConfigError
from .validation import (
    INT32_MAX,
    AbsolutePath,
    Annotations,
    ConfigMapName,
    DnsLabel,
    DnsSubdomain,
    IntOrPercent,
    LabelKey,
    Labels,
    LabelValue,
    Port,
    Quantity,
    Redacted,
    SecretName,
    ServiceAccountName,
    check_json,
    dns_label_ok,
    fail,
    format_bytes,
    in_range,
    label_key_ok,
    looks_like_secret,
    names_a_secret,
    parse_quantity,
    problem,
    value_class,
)

__all__ = [
    "Accelerator",
    "ConfigMapKeyRef",
    "ContainerPort",
    "EnvFrom",
    "EnvValue",
    "FieldRef",
    "GpuProductAffinity",
    "HealthChecks",
    "Image",
    "PodOptions",
    "PullPolicy",
    "Recreate",
    "Resources",
    "RollingUpdate",
    "RolloutStrategy",
    "SecretKeyRef",
    "SecurityProfile",
    "SharedMemory",
    "Toleration",
    "TopologySpread",
    "Volume",
    "WorkloadLabels",
]

JsonObject = dict[str, Any]
Lax = Strict(False)
"""Enum fields accept the member or its exact value, nothing else."""

MANAGED_BY = "vllm-constructs"
RESERVED_LABELS = frozenset(
    {
        "app.kubernetes.io/name",
        "app.kubernetes.io/instance",
        "app.kubernetes.io/component",
        "app.kubernetes.io/part-of",
        "app.kubernetes.io/managed-by",
        "app.kubernetes.io/version",
    }
)


class FactoryOnly:
    """Base of a closed union: the base itself cannot be built, only its kinds through the factories."""

    __slots__ = ()
    __choices__: ClassVar[str] = ""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls.__dict__.get("__choices__"):
            raise ConfigError(
                path=cls.__name__,
                field="(kind)",
                value=args[0] if args else kwargs,
                problem=f"cannot be built directly; {_article(cls.__name__)} is one of its kinds",
                allowed=cls.__choices__,
                fix="use one of those factories",
            )
        return super().__new__(cls)


def closed(base: type[Any]) -> PlainValidator:
    """Field metadata: only instances of ``base``'s kinds (each already validated when built)."""

    def check(value: Any) -> Any:
        if not isinstance(value, base) or type(value) is base:
            raise problem("one_of", f"is {_article(type(value).__name__)}", base.__choices__, "use one of those factories")
        return value

    return PlainValidator(check)


def _article(name: str) -> str:
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


# ------------------------------------------------------------------------------------------------ image


class PullPolicy(enum.StrEnum):
    """When the kubelet pulls the image."""

    IF_NOT_PRESENT = "IfNotPresent"
    ALWAYS = "Always"
    NEVER = "Never"


_REPO_RE = re.compile(r"[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)*")
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")


def _repository(value: str) -> str:
    if len(value) > 255 or not _REPO_RE.fullmatch(value):
        raise problem(
            "image_repository",
            "is not an image repository",
            "a reference such as 'vllm/vllm-openai' or 'registry.example.com:5000/team/vllm'",
            "give the repository without tag or digest",
        )
    return value


def _tag(value: str) -> str:
    if value == "latest" or not _TAG_RE.fullmatch(value):
        raise problem(
            "image_tag",
            "is mutable or malformed" if value == "latest" else "is not a valid image tag",
            "a version tag other than 'latest' (letters, digits, '_', '.', '-')",
            "pin a released version such as 'v0.33.0', or set digest='sha256:...'",
        )
    return value


def _digest(value: str) -> str:
    if not _DIGEST_RE.fullmatch(value):
        raise problem(
            "image_digest", "is not an image digest", "'sha256:' followed by 64 lower-case hex digits", "copy it from your registry"
        )
    return value


@value_class
class Image:
    """A container image: repository plus a tag, a digest, or both. ``latest`` is refused.

    Example: ``Image("vllm/vllm-openai", tag="v0.33.0")``.
    """

    repository: Annotated[str, AfterValidator(_repository)]
    """Registry and repository, e.g. ``vllm/vllm-openai``. No default."""
    tag: Annotated[str, AfterValidator(_tag)] | None = None
    """A version tag. Default: none (then a digest is required)."""
    digest: Annotated[str, AfterValidator(_digest)] | None = None
    """``sha256:<64 hex>``; pins the exact image. Default: none."""
    pull_policy: Annotated[PullPolicy, Lax] = PullPolicy.IF_NOT_PRESENT
    """Default: IfNotPresent (multi-GB images are pulled once per node)."""

    def __post_init__(self) -> None:
        if self.tag is None and self.digest is None:
            fail(
                "tag",
                None,
                "is missing and no digest is given",
                "a version tag such as 'v0.33.0', or digest='sha256:...'",
                "pin the image to a version so every node runs the same bits",
            )

    @property
    def ref(self) -> str:
        ref = self.repository
        if self.tag:
            ref += f":{self.tag}"
        if self.digest:
            ref += f"@{self.digest}"
        return ref

    @property
    def version_label(self) -> str:
        """A label-safe version: the tag (when it is a valid label value), else the first 12 hex digits of the digest."""
        if self.tag and re.fullmatch(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?", self.tag[:63]):
            return self.tag[:63]
        return (self.digest or "sha256:unknown")[7:19] if self.digest else "unknown"


# ------------------------------------------------------------------------------------------------ accelerator

_CORE_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage", "storage", "pods", "hugepages"})


def _extended_resource(value: str) -> str:
    prefix, _, name = value.partition("/")
    if (
        not name
        or not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", prefix)
        or not re.fullmatch(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?", name)
        or len(value) > 253
        or prefix == "kubernetes.io"
        or prefix.endswith(".kubernetes.io")
        or value.startswith("requests.")
        or name in _CORE_RESOURCES
    ):
        raise problem(
            "extended_resource",
            "is not an extended resource name",
            "'<domain>/<name>' outside kubernetes.io, such as 'nvidia.com/gpu' (never cpu or memory)",
            "use the name your device plugin advertises",
        )
    return value


@value_class
class Accelerator:
    """An accelerator kind: the extended resource it is requested as and the node label naming its product.

    Use a factory: :meth:`nvidia`, :meth:`amd`, :meth:`intel_gaudi`, :meth:`google_tpu` or :meth:`custom`.
    """

    resource: Annotated[str, AfterValidator(_extended_resource)]
    """Extended resource name, e.g. ``nvidia.com/gpu``."""
    product_label: LabelKey
    """Node label whose value names the product, e.g. ``nvidia.com/gpu.product`` (set by GPU feature discovery)."""

    @classmethod
    def nvidia(cls) -> Accelerator:
        return cls("nvidia.com/gpu", "nvidia.com/gpu.product")

    @classmethod
    def amd(cls) -> Accelerator:
        return cls("amd.com/gpu", "amd.com/gpu.product-name")

    @classmethod
    def intel_gaudi(cls) -> Accelerator:
        return cls("habana.ai/gaudi", "habana.ai/gaudi.product")

    @classmethod
    def google_tpu(cls) -> Accelerator:
        return cls("google.com/tpu", "cloud.google.com/gke-tpu-accelerator")

    @classmethod
    def custom(cls, resource: str, product_label: str) -> Accelerator:
        return cls(resource, product_label)


def _product(value: str) -> str:
    if value == "TYPE_GPU_USED" or not value or len(value) > 63 or not re.fullmatch(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?", value):
        raise problem(
            "gpu_product",
            "is a placeholder or not a label value" if value == "TYPE_GPU_USED" else "is not a label value",
            "the exact value of the product label on your nodes, such as 'NVIDIA-A100-SXM4-80GB'",
            "read it with: kubectl get nodes -L nvidia.com/gpu.product",
        )
    return value


@value_class
class GpuProductAffinity:
    """Node affinity on the accelerator's product label. Use :meth:`require` or :meth:`prefer`."""

    products: tuple[Annotated[str, AfterValidator(_product)], ...]
    required: bool = True
    weight: Annotated[int, in_range(1, 100)] = 100

    def __post_init__(self) -> None:
        if not self.products:
            fail(
                "products",
                (),
                "names no product",
                "one or more product label values such as 'NVIDIA-H100-80GB-HBM3'",
                "list the products, or pass gpu_products=None to schedule on any accelerator node",
            )
        if len(set(self.products)) != len(self.products):
            fail("products", self.products, "repeats a product", "each product once", "remove the repeated product")

    @classmethod
    def require(cls, *products: str) -> GpuProductAffinity:
        """Schedule only on nodes whose product label is one of ``products``."""
        return cls(tuple(products), required=True)

    @classmethod
    def prefer(cls, *products: str, weight: int = 100) -> GpuProductAffinity:
        """Prefer such nodes but schedule elsewhere if none is free."""
        return cls(tuple(products), required=False, weight=weight)

    def to_affinity(self, label: str) -> JsonObject:
        expression = {"key": label, "operator": "In", "values": list(self.products)}
        if self.required:
            terms = {"nodeSelectorTerms": [{"matchExpressions": [expression]}]}
            return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": terms}}
        preference = {"weight": self.weight, "preference": {"matchExpressions": [expression]}}
        return {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [preference]}}


class TolerationOperator(enum.StrEnum):
    EXISTS = "Exists"
    EQUAL = "Equal"


class TaintEffect(enum.StrEnum):
    NO_SCHEDULE = "NoSchedule"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    NO_EXECUTE = "NoExecute"


@value_class
class Toleration:
    """A pod toleration. ``key=None`` with ``Exists`` tolerates every taint."""

    key: LabelKey | None
    operator: Annotated[TolerationOperator, Lax] = TolerationOperator.EXISTS
    value: LabelValue | None = None
    effect: Annotated[TaintEffect, Lax] | None = None
    toleration_seconds: Annotated[int, in_range(0, INT32_MAX)] | None = None

    def __post_init__(self) -> None:
        if self.operator is TolerationOperator.EXISTS and self.value is not None:
            fail("value", self.value, "is set with operator 'Exists'", "no value with 'Exists'", "drop the value or use operator='Equal'")
        if self.operator is TolerationOperator.EQUAL and self.key is None:
            fail("key", None, "is missing with operator 'Equal'", "a taint key", "give the key, or use operator='Exists'")
        if self.toleration_seconds is not None and self.effect is not TaintEffect.NO_EXECUTE:
            fail(
                "toleration_seconds",
                self.toleration_seconds,
                "is set without effect 'NoExecute'",
                "toleration_seconds only with effect='NoExecute'",
                "set effect='NoExecute' or drop toleration_seconds",
            )

    def to_json(self) -> JsonObject:
        out: JsonObject = {}
        if self.key is not None:
            out["key"] = self.key
        out["operator"] = str(self.operator)
        if self.value is not None:
            out["value"] = self.value
        if self.effect is not None:
            out["effect"] = str(self.effect)
        if self.toleration_seconds is not None:
            out["tolerationSeconds"] = self.toleration_seconds
        return out


# ------------------------------------------------------------------------------------------------ environment


def _config_key(value: str) -> str:
    if len(value) > 253 or not re.fullmatch(r"[-._a-zA-Z0-9]+", value):
        raise problem("config_key", "is not a Secret or ConfigMap key", "letters, digits, '-', '_' and '.'", "use the key's exact name")
    return value


ConfigKey = Annotated[str, AfterValidator(_config_key)]


@value_class
class SecretKeyRef:
    """A reference to one key of an existing Secret (by name or a cdk8s-plus Secret). The value never enters the manifests."""

    name: SecretName
    key: ConfigKey
    optional: bool = False

    def to_env_source(self) -> JsonObject:
        return _key_ref("secretKeyRef", str(self.name), self.key, self.optional)


@value_class
class ConfigMapKeyRef:
    """A reference to one key of an existing ConfigMap (by name or a cdk8s-plus ConfigMap)."""

    name: ConfigMapName
    key: ConfigKey
    optional: bool = False

    def to_env_source(self) -> JsonObject:
        return _key_ref("configMapKeyRef", str(self.name), self.key, self.optional)


def _key_ref(kind: str, name: str, key: str, optional: bool) -> JsonObject:
    """An env ``valueFrom`` source of one key of a Secret or ConfigMap (``optional`` written only when true)."""
    ref: JsonObject = {"name": name, "key": key}
    if optional:
        ref["optional"] = True
    return {kind: ref}


_FIELD_PATH_RE = re.compile(
    r"metadata\.(name|namespace|uid)|metadata\.(labels|annotations)\['[^'\s]+'\]"
    r"|spec\.(nodeName|serviceAccountName)|status\.(hostIP|hostIPs|podIP|podIPs)"
)


def _field_path(value: str) -> str:
    if not _FIELD_PATH_RE.fullmatch(value):
        raise problem(
            "field_path",
            "is not a downward-API field",
            "metadata.name, metadata.namespace, metadata.uid, metadata.labels['k'], spec.nodeName, status.podIP, status.hostIP, ...",
            "use one of those paths",
        )
    return value


@value_class
class FieldRef:
    """An environment value read from the pod's own fields (``status.podIP``, ``metadata.name``, ...)."""

    field_path: Annotated[str, AfterValidator(_field_path)]

    def to_env_source(self) -> JsonObject:
        return {"fieldRef": {"fieldPath": self.field_path}}


EnvValue = str | SecretKeyRef | ConfigMapKeyRef | FieldRef
"""A literal string (never a secret: use SecretKeyRef) or a reference."""


def _env_value(value: Any) -> Any:
    if isinstance(value, str | SecretKeyRef | ConfigMapKeyRef | FieldRef):
        return value
    raise problem(
        "env_value",
        f"is {_article(type(value).__name__)}, not a string or reference",
        "a str, SecretKeyRef, ConfigMapKeyRef or FieldRef",
        "quote numbers and booleans (e.g. '1'), and pass secrets as SecretKeyRef",
    )


def _env_map(env: Mapping[str, Any]) -> Mapping[str, Any]:
    for name, value in env.items():
        if isinstance(value, str) and (names_a_secret(name) or looks_like_secret(value)):
            raise ConfigError(
                path="",
                field=f"[{name!r}]",
                value=Redacted("str"),
                problem="is a literal secret; it would be written into the manifests in clear text",
                allowed="SecretKeyRef(secret_name, key) for secret values; literal strings only for non-secret settings",
                fix="create the Secret outside the manifests (kubectl create secret generic ...) and pass SecretKeyRef(name, key)",
            )
    return env


def _env_name(value: str) -> str:
    if not re.fullmatch(r"[-._a-zA-Z][-._a-zA-Z0-9]*", value):
        raise problem(
            "env_name",
            "is not a valid environment variable name",
            "letters, digits, '_', '-' and '.', not starting with a digit",
            "rename the variable",
        )
    return value


EnvName = Annotated[str, AfterValidator(_env_name)]
EnvMap = Annotated[Mapping[EnvName, Annotated[EnvValue, PlainValidator(_env_value)]], AfterValidator(_env_map)]
"""Environment in order: names by Kubernetes' rules, literal strings (never a secret) or references."""


def env_list(env: Mapping[str, EnvValue]) -> list[JsonObject]:
    """Render an (already validated) env mapping in its own order."""
    out: list[JsonObject] = []
    for name, value in env.items():
        if isinstance(value, str):
            out.append({"name": name, "value": value})
        else:
            out.append({"name": name, "valueFrom": value.to_env_source()})
    return out


class EnvFrom(FactoryOnly):
    """Import every key of a ConfigMap or Secret as environment. Use :meth:`config_map` or :meth:`secret`."""

    __choices__ = "EnvFrom.config_map(name, prefix=..., optional=...) or EnvFrom.secret(name, prefix=..., optional=...)"

    @staticmethod
    def config_map(name: Any, *, prefix: str | None = None, optional: bool = False) -> EnvFromConfigMap:
        return EnvFromConfigMap(name, prefix, optional)

    @staticmethod
    def secret(name: Any, *, prefix: str | None = None, optional: bool = False) -> EnvFromSecret:
        return EnvFromSecret(name, prefix, optional)

    def to_json(self) -> JsonObject:
        raise NotImplementedError


def _env_prefix(value: str) -> str:
    if not re.fullmatch(r"[-._a-zA-Z][-._a-zA-Z0-9]*", value):
        raise problem("env_prefix", "is not a valid environment name prefix", "letters, digits, '_', '-', '.'", "e.g. 'VLLM_'")
    return value


EnvPrefix = Annotated[str, AfterValidator(_env_prefix)]


def _env_from_json(source: str, name: str, prefix: str | None, optional: bool) -> JsonObject:
    ref: JsonObject = {"name": name}
    if optional:
        ref["optional"] = True
    out: JsonObject = {source: ref}
    if prefix:
        out["prefix"] = prefix
    return out


@value_class
class EnvFromConfigMap(EnvFrom):
    """Every key of a ConfigMap as environment (see :meth:`EnvFrom.config_map`)."""

    name: ConfigMapName
    prefix: EnvPrefix | None = None
    optional: bool = False

    def to_json(self) -> JsonObject:
        return _env_from_json("configMapRef", str(self.name), self.prefix, self.optional)


@value_class
class EnvFromSecret(EnvFrom):
    """Every key of a Secret as environment (see :meth:`EnvFrom.secret`)."""

    name: SecretName
    prefix: EnvPrefix | None = None
    optional: bool = False

    def to_json(self) -> JsonObject:
        return _env_from_json("secretRef", str(self.name), self.prefix, self.optional)


AnyEnvFrom = Annotated[EnvFrom, closed(EnvFrom)]


# ------------------------------------------------------------------------------------------------ ports, resources


class Protocol(enum.StrEnum):
    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"


def _port_name(value: str) -> str:
    if not dns_label_ok(value, 15) or not re.search(r"[a-z]", value) or "--" in value:
        raise problem(
            "port_name",
            "is not a port name",
            "an IANA service name: at most 15 lower-case letters, digits and '-', with a letter",
            "use a name such as 'http'",
        )
    return value


PortName = Annotated[str, AfterValidator(_port_name)]


@value_class
class ContainerPort:
    """A named container port. Probes and Services refer to it by name."""

    name: PortName
    port: Port
    protocol: Annotated[Protocol, Lax] = Protocol.TCP

    def to_json(self) -> JsonObject:
        return {"name": self.name, "containerPort": self.port, "protocol": str(self.protocol)}


@value_class(kw_only=True)
class Resources:
    """Compute resources of the main container. Accelerators are requested and limited alike."""

    cpu: Quantity
    """CPU request, e.g. ``'8'``. No default."""
    memory: Quantity
    """Memory request, e.g. ``'64Gi'``. No default."""
    accelerators: Annotated[int, in_range(0, 64)] = 0
    """Accelerators per pod; request equals limit. Default: 0 (CPU only)."""
    cpu_limit: Quantity | None = None
    """Default: equal to ``cpu`` (Guaranteed QoS keeps GPU pods last in line for eviction)."""
    memory_limit: Quantity | None = None
    """Default: equal to ``memory``."""
    ephemeral_storage: Quantity | None = None
    """Ephemeral storage request and limit. Default: none."""

    def __post_init__(self) -> None:
        for low, high in (("cpu", "cpu_limit"), ("memory", "memory_limit")):
            limit = getattr(self, high)
            if limit is not None and _q(getattr(self, low)) > _q(limit):
                fail(low, getattr(self, low), f"is above {high}", f"{low} <= {high}", f"lower {low} or raise {high}")

    @property
    def memory_limit_bytes(self) -> Decimal:
        return _q(self.memory_limit or self.memory)

    def to_json(self, accelerator: Accelerator) -> JsonObject:
        requests: JsonObject = {"cpu": self.cpu, "memory": self.memory}
        limits: JsonObject = {"cpu": self.cpu_limit or self.cpu, "memory": self.memory_limit or self.memory}
        if self.ephemeral_storage:
            requests["ephemeral-storage"] = self.ephemeral_storage
            limits["ephemeral-storage"] = self.ephemeral_storage
        if self.accelerators > 0:
            requests[accelerator.resource] = str(self.accelerators)
            limits[accelerator.resource] = str(self.accelerators)
        return {"requests": requests, "limits": limits}


def _q(text: str) -> Decimal:
    parsed = parse_quantity(text)
    assert parsed is not None  # validated on construction
    return parsed


def _http_path(value: str) -> str:
    if not value.startswith("/") or len(value) > 2048 or re.search(r"[\s\x00-\x1f\x7f]", value):
        raise problem("http_path", "is not an absolute HTTP path", "a path starting with '/' without spaces", "use '/health'")
    return value


HttpPath = Annotated[str, AfterValidator(_http_path)]
SECONDS_MAX = 86400
"""A day: the bound of every probe and timeout in seconds."""
Seconds = Annotated[int, in_range(1, SECONDS_MAX)]


@value_class(kw_only=True)
class HealthChecks:
    """Probes for a server that loads for minutes.

    The startup probe owns the load: it allows ``startup_timeout_seconds`` before the kubelet gives
    up. Readiness and liveness start only after it succeeds, so they never kill a loading server.
    """

    path: HttpPath = "/health"
    """HTTP path for all three probes. Default: /health."""
    startup_timeout_seconds: Seconds = 1800
    """Time budget for download wait, weight load, compile and CUDA graphs. Default: 1800 (30 min)."""
    startup_period_seconds: Annotated[int, in_range(1, 600)] = 10
    """Default: 10."""
    readiness_period_seconds: Annotated[int, in_range(1, 600)] = 5
    """Default: 5."""
    readiness_failure_threshold: Annotated[int, in_range(1, 100)] = 3
    """Default: 3 (out of rotation after 15 s of failures)."""
    liveness_period_seconds: Annotated[int, in_range(1, 600)] = 10
    """Default: 10."""
    liveness_failure_threshold: Annotated[int, in_range(1, 100)] = 6
    """Default: 6 (restart after a minute of failures, never during startup)."""
    timeout_seconds: Annotated[int, in_range(1, 600)] = 5
    """Per-probe timeout. Default: 5."""

    def __post_init__(self) -> None:
        if self.startup_timeout_seconds < self.startup_period_seconds:
            fail(
                "startup_timeout_seconds",
                self.startup_timeout_seconds,
                f"is shorter than one startup period ({self.startup_period_seconds} s)",
                f"an integer >= {self.startup_period_seconds}",
                "raise the budget or shorten the period",
            )

    @property
    def startup_failure_threshold(self) -> int:
        return -(-self.startup_timeout_seconds // self.startup_period_seconds)

    def probes(self, port_name: str) -> JsonObject:
        get = {"path": self.path, "port": port_name}
        timing = (
            ("startupProbe", self.startup_period_seconds, self.startup_failure_threshold),
            ("readinessProbe", self.readiness_period_seconds, self.readiness_failure_threshold),
            ("livenessProbe", self.liveness_period_seconds, self.liveness_failure_threshold),
        )
        return {
            key: {"httpGet": dict(get), "periodSeconds": period, "timeoutSeconds": self.timeout_seconds, "failureThreshold": threshold}
            for key, period, threshold in timing
        }


# ------------------------------------------------------------------------------------------------ rollout


class RolloutStrategy(FactoryOnly):
    """How a new version replaces the old. Use :meth:`rolling` or :meth:`recreate`."""

    __choices__ = "RolloutStrategy.rolling(max_surge=..., max_unavailable=...) or RolloutStrategy.recreate()"

    @staticmethod
    def rolling(*, max_surge: int | str = 0, max_unavailable: int | str = 1) -> RollingUpdate:
        """Rolling update. The default (surge 0, unavailable 1) needs no spare accelerator."""
        return RollingUpdate(max_surge=max_surge, max_unavailable=max_unavailable)

    @staticmethod
    def recreate() -> Recreate:
        """Stop every old pod before starting new ones (downtime, never two copies at once)."""
        made: Recreate = Recreate()
        return made

    @property
    def surges(self) -> bool:
        return False

    def to_json(self) -> JsonObject:
        raise NotImplementedError


@value_class(kw_only=True)
class RollingUpdate(RolloutStrategy):
    """A rolling update (see :meth:`RolloutStrategy.rolling`)."""

    max_surge: IntOrPercent = 0
    max_unavailable: IntOrPercent = 1

    def __post_init__(self) -> None:
        if self.max_surge in (0, "0%") and self.max_unavailable in (0, "0%"):
            fail(
                "max_unavailable",
                self.max_unavailable,
                "is zero while max_surge is zero too, so a rollout can never progress",
                "max_surge > 0 or max_unavailable > 0",
                "keep max_unavailable=1 (no spare accelerator needed) or allow a surge",
            )

    @property
    def surges(self) -> bool:
        return self.max_surge not in (0, "0%")

    def to_json(self) -> JsonObject:
        return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": self.max_surge, "maxUnavailable": self.max_unavailable}}


@value_class
class Recreate(RolloutStrategy):
    """Stop every old pod first (see :meth:`RolloutStrategy.recreate`)."""

    def to_json(self) -> JsonObject:
        return {"type": "Recreate"}


AnyRollout = Annotated[RolloutStrategy, closed(RolloutStrategy)]


# ------------------------------------------------------------------------------------------------ pod-level values


@value_class
class SharedMemory:
    """/dev/shm as a memory-backed emptyDir (counts against the memory limit). Use :meth:`of` or :meth:`disabled`."""

    enabled: bool
    size: Quantity | None = None

    def __post_init__(self) -> None:
        if self.enabled and self.size is None:
            fail("size", None, "is missing while enabled", "a quantity such as '16Gi'", "use SharedMemory.of(size)")
        if not self.enabled and self.size is not None:
            fail("size", self.size, "is set while disabled", "no size when disabled", "use SharedMemory.disabled()")

    @classmethod
    def of(cls, size: str) -> SharedMemory:
        return cls(True, size)

    @classmethod
    def disabled(cls) -> SharedMemory:
        return cls(False, None)

    @staticmethod
    def default_size(memory_limit: Decimal) -> str:
        """16Gi, but at most a quarter of the memory limit (rounded down to whole MiB, at least 1Mi)."""
        cap = Decimal(16 * 2**30)
        quarter = (memory_limit / 4) // Decimal(2**20) * Decimal(2**20)
        return format_bytes(max(min(cap, quarter), Decimal(2**20)))


class Seccomp(enum.StrEnum):
    RUNTIME_DEFAULT = "RuntimeDefault"
    UNCONFINED = "Unconfined"


def _capability(value: str) -> str:
    if not re.fullmatch(r"[A-Z][A-Z_]*", value) or value.startswith("CAP_"):
        raise problem(
            "capability", "is not a capability name", "an upper-case name without 'CAP_', e.g. 'IPC_LOCK'", "write it as Kubernetes expects"
        )
    if value in ("SYS_ADMIN", "ALL", "NET_ADMIN", "SYS_MODULE", "SYS_RAWIO", "DAC_READ_SEARCH"):
        raise problem(
            "capability", "grants near-root power", "narrow capabilities such as 'IPC_LOCK' or 'SYS_PTRACE'", "use a narrower capability"
        )
    return value


Id = Annotated[int, in_range(0, INT32_MAX)]


@value_class(kw_only=True)
class SecurityProfile:
    """Pod and container security settings. The default is hardened; each relaxation is a named field."""

    run_as_user: Id | None = 2000
    """Default: 2000, the non-root user of the vllm-openai image."""
    run_as_group: Id | None = 2000
    """Default: 2000."""
    fs_group: Id | None = 2000
    """Group that owns mounted volumes so the non-root user can write the model cache. Default: 2000."""
    run_as_non_root: bool = True
    """Default: True."""
    read_only_root_filesystem: bool = True
    """Default: True; writable HOME, caches and /tmp come from volumes."""
    add_capabilities: tuple[Annotated[str, AfterValidator(_capability)], ...] = ()
    """Capabilities added after dropping ALL, e.g. ('IPC_LOCK',) for RDMA. Default: none."""
    seccomp_profile: Annotated[Seccomp, Lax] = Seccomp.RUNTIME_DEFAULT
    """Default: RuntimeDefault."""

    def __post_init__(self) -> None:
        if self.run_as_non_root and self.run_as_user == 0:
            fail(
                "run_as_user",
                0,
                "is root while run_as_non_root is True",
                "a non-zero user id",
                "use 2000, or set run_as_non_root=False explicitly",
            )
        if len(set(self.add_capabilities)) != len(self.add_capabilities):
            fail("add_capabilities", self.add_capabilities, "repeats a capability", "each capability once", "remove the repeat")

    @classmethod
    def hardened(cls) -> SecurityProfile:
        return cls()

    def pod_json(self) -> JsonObject:
        out: JsonObject = {"runAsNonRoot": self.run_as_non_root}
        if self.run_as_user is not None:
            out["runAsUser"] = self.run_as_user
        if self.run_as_group is not None:
            out["runAsGroup"] = self.run_as_group
        if self.fs_group is not None:
            out["fsGroup"] = self.fs_group
        out["seccompProfile"] = {"type": str(self.seccomp_profile)}
        return out

    def container_json(self) -> JsonObject:
        caps: JsonObject = {"drop": ["ALL"]}
        if self.add_capabilities:
            caps["add"] = list(self.add_capabilities)
        return {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": self.read_only_root_filesystem,
            "runAsNonRoot": self.run_as_non_root,
            "capabilities": caps,
        }


def _kube_json(value: Mapping[str, Any]) -> Mapping[str, Any]:
    check_json(value)
    return value


def _raw_container(value: Mapping[str, Any]) -> Mapping[str, Any]:
    check_json(value)
    name = value.get("name")
    if not isinstance(name, str) or not dns_label_ok(name):
        raise problem("container", "has no valid 'name'", "a Kubernetes container with a DNS-1123 label name", "add name: ...")
    if not isinstance(value.get("image"), str) or not value["image"]:
        raise problem("container", f"{name!r} has no 'image'", "a Kubernetes container with an image", "add image: ...")
    return value


def _raw_volume(value: Mapping[str, Any]) -> Mapping[str, Any]:
    check_json(value)
    name = value.get("name")
    if not isinstance(name, str) or not dns_label_ok(name):
        raise problem("volume", "has no valid 'name'", "a Kubernetes volume with a DNS-1123 label name", "add name: ...")
    if len(value) != 2:
        raise problem(
            "volume", f"{name!r} needs exactly one volume source", "name plus one source such as emptyDir or secret", "fix the volume"
        )
    return value


KubeJson = Annotated[Mapping[str, Any], AfterValidator(_kube_json)]
"""A Kubernetes JSON fragment passed through verbatim (checked to be plain JSON)."""
RawContainer = Annotated[Mapping[str, Any], AfterValidator(_raw_container)]
RawVolume = Annotated[Mapping[str, Any], AfterValidator(_raw_volume)]


def _volume_source(value: Mapping[str, Any]) -> Mapping[str, Any]:
    check_json(value)
    if len(value) != 1:
        raise problem(
            "volume_source", "is not one volume source", "one key such as emptyDir, persistentVolumeClaim or secret", "give one source"
        )
    return value


def _sub_path(value: str) -> str:
    if not value or value.startswith("/") or ".." in value.split("/"):
        raise problem("sub_path", "is not a relative path inside the volume", "a relative path without '..'", "e.g. 'models/llama'")
    return value


@value_class(kw_only=True)
class Volume:
    """A pod volume mounted into the main container."""

    name: DnsLabel
    mount_path: AbsolutePath
    source: Annotated[Mapping[str, Any], AfterValidator(_volume_source)] = field(default_factory=lambda: {"emptyDir": {}})
    """The Kubernetes volume source, e.g. ``{"persistentVolumeClaim": {"claimName": "x"}}``. Default: emptyDir."""
    read_only: bool = False
    sub_path: Annotated[str, AfterValidator(_sub_path)] | None = None

    def volume_json(self) -> JsonObject:
        return {"name": self.name, **dict(self.source)}

    def mount_json(self) -> JsonObject:
        out: JsonObject = {"name": self.name, "mountPath": self.mount_path}
        if self.read_only:
            out["readOnly"] = True
        if self.sub_path:
            out["subPath"] = self.sub_path
        return out


class WhenUnsatisfiable(enum.StrEnum):
    SCHEDULE_ANYWAY = "ScheduleAnyway"
    DO_NOT_SCHEDULE = "DoNotSchedule"


@value_class(kw_only=True)
class TopologySpread:
    """Spread replicas over a topology key (zone, node). The selector is the workload's own."""

    topology_key: LabelKey = "kubernetes.io/hostname"
    max_skew: Annotated[int, in_range(1, INT32_MAX)] = 1
    when_unsatisfiable: Annotated[WhenUnsatisfiable, Lax] = WhenUnsatisfiable.SCHEDULE_ANYWAY

    def to_json(self, selector: Mapping[str, str]) -> JsonObject:
        return {
            "maxSkew": self.max_skew,
            "topologyKey": self.topology_key,
            "whenUnsatisfiable": str(self.when_unsatisfiable),
            "labelSelector": {"matchLabels": dict(selector)},
        }


def _user_labels(labels: Mapping[str, str]) -> Mapping[str, str]:
    for key in labels:
        if key in RESERVED_LABELS:
            raise ConfigError(
                path="",
                field=f"[{key!r}]",
                value=key,
                problem="is a label the construct sets itself (selector and identity labels), so yours would be lost",
                allowed="labels outside " + ", ".join(sorted(RESERVED_LABELS)),
                fix="use another key (e.g. 'team'), or set the server's name / part_of for the identity labels",
            )
    return labels


UserLabels = Annotated[Labels, AfterValidator(_user_labels)]


@value_class(kw_only=True)
class PodOptions:
    """Pod-level options shared by every workload construct (scheduling, security, sidecars, metadata)."""

    gpu_products: GpuProductAffinity | None = None
    """Node affinity on the product label. Default: none (any node with the resource)."""
    affinity: KubeJson | None = None
    """A full Kubernetes affinity (node, pod, anti-affinity). With gpu_products, its nodeAffinity must be empty (the
    product affinity fills it). Default: none."""
    tolerate_accelerator_taint: bool = True
    """Tolerate the ``<resource>:NoSchedule`` taint that GPU node pools carry. Default: True when accelerators > 0."""
    tolerations: tuple[Toleration, ...] = ()
    """More tolerations. Default: none."""
    node_selector: Labels = field(default_factory=dict)
    """Default: none."""
    runtime_class_name: DnsSubdomain | None = None
    """Opt-in RuntimeClass (e.g. 'nvidia'). Default: none: the cluster's default runtime."""
    shared_memory: SharedMemory | None = None
    """/dev/shm. Default: on when parallel, 16Gi capped at a quarter of the memory limit."""
    drain_seconds: Annotated[int, in_range(0, 3600)] = 15
    """preStop sleep so endpoints drop the pod before SIGTERM. Default: 15."""
    termination_grace_period_seconds: Annotated[int, in_range(1, 86400)] = 120
    """Time for in-flight requests to finish after SIGTERM, including the drain. Default: 120."""
    init_containers: tuple[RawContainer, ...] = ()
    """Init containers (Kubernetes JSON), run in order before the server. Default: none."""
    extra_containers: tuple[RawContainer, ...] = ()
    """Sidecar containers (Kubernetes JSON). Default: none."""
    extra_volumes: tuple[RawVolume, ...] = ()
    """Pod volumes (Kubernetes JSON) for init and sidecar containers, not mounted into the main container. Default: none."""
    security: SecurityProfile = field(default_factory=SecurityProfile)
    """Default: hardened (non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp)."""
    service_account: ServiceAccountName | None = None
    """A ServiceAccount by name or a cdk8s-plus ServiceAccount. Default: none (the namespace default, no token mounted)."""
    automount_service_account_token: bool = False
    """Default: False; vLLM never talks to the Kubernetes API."""
    priority_class_name: DnsSubdomain | None = None
    """Default: none."""
    topology_spread: tuple[TopologySpread, ...] = ()
    """Default: none."""
    image_pull_secrets: tuple[SecretName, ...] = ()
    """docker-registry Secrets (names or cdk8s-plus Secrets). Default: none."""
    labels: UserLabels = field(default_factory=dict)
    """Extra labels on the workload and its pods (never in the selector; app.kubernetes.io identity keys refused). Default: none."""
    annotations: Annotations = field(default_factory=dict)
    """Annotations on the workload. Default: none."""
    pod_annotations: Annotations = field(default_factory=dict)
    """Annotations on the pods. Default: none."""
    host_network: bool = False
    """Use the node's network namespace. Default: False."""

    def __post_init__(self) -> None:
        if self.termination_grace_period_seconds <= self.drain_seconds:
            fail(
                "termination_grace_period_seconds",
                self.termination_grace_period_seconds,
                f"is not above drain_seconds ({self.drain_seconds})",
                f"an integer > {self.drain_seconds}",
                "raise the grace period or shorten the drain",
            )
        if self.gpu_products is not None and self.affinity is not None and self.affinity.get("nodeAffinity"):
            fail(
                "affinity",
                "nodeAffinity",
                "sets a node affinity while gpu_products sets one too",
                "gpu_products or affinity.nodeAffinity, not both",
                "put the product rule into your affinity and drop gpu_products",
            )
        _unique("extra_containers", [str(c["name"]) for c in (*self.init_containers, *self.extra_containers)], "container")
        _unique("extra_volumes", [str(v["name"]) for v in self.extra_volumes], "volume")
        for i, spread in enumerate(self.topology_spread):
            if spread in self.topology_spread[:i]:
                fail("topology_spread", spread.topology_key, "repeats a constraint", "each constraint once", "remove the repeat")


def _unique(field_name: str, names: list[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            fail(
                field_name,
                name,
                f"is a duplicate {what} name",
                f"each {what} name once per pod",
                f"rename or remove one of the {what}s named {name!r}",
            )
        seen.add(name)


def _nonempty_label(value: str) -> str:
    if not value or len(value) > 63 or not re.fullmatch(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?", value):
        raise problem("label_value", "is not a valid label value", "1-63 letters, digits, '-', '_' or '.'", "use the server's name")
    return value


@value_class(kw_only=True)
class WorkloadLabels:
    """The ``app.kubernetes.io`` labels of one workload. The selector uses name, instance and component only."""

    name: LabelValue = "vllm"
    """app.kubernetes.io/name. Default: vllm."""
    instance: Annotated[str, AfterValidator(_nonempty_label)]
    """app.kubernetes.io/instance: unique per namespace (the server's name)."""
    component: LabelValue = "server"
    """app.kubernetes.io/component. Default: server."""
    part_of: LabelValue = "vllm"
    """app.kubernetes.io/part-of. Default: vllm."""
    version: LabelValue | None = None
    """app.kubernetes.io/version (never in a selector). Default: the image tag."""

    @property
    def selector(self) -> dict[str, str]:
        return {
            "app.kubernetes.io/name": self.name,
            "app.kubernetes.io/instance": self.instance,
            "app.kubernetes.io/component": self.component,
        }

    def labels(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        out = {
            **dict(extra or {}),
            **self.selector,
            "app.kubernetes.io/part-of": self.part_of,
            "app.kubernetes.io/managed-by": MANAGED_BY,
        }
        if self.version:
            out["app.kubernetes.io/version"] = self.version
        return out


def no_return(message: str) -> NoReturn:  # pragma: no cover - helper for exhaustive matches
    raise AssertionError(message)


__all__ += ["AnyEnvFrom", "AnyRollout", "EnvFromConfigMap", "EnvFromSecret", "EnvMap", "KubeJson", "label_key_ok"]
