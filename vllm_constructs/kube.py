"""Typed values shared by the constructs: images, accelerators, env, ports, resources, probes, rollout.

Each value is a frozen dataclass (or a class with factory classmethods for union-like choices) that
knows how to check itself and how to render its Kubernetes JSON. Nothing here creates constructs.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from ._check import ENV_NAME_RE, LABEL_VALUE_RE, Checker, format_bytes

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
    "PullPolicy",
    "Resources",
    "RolloutStrategy",
    "SecretKeyRef",
    "SecurityProfile",
    "SharedMemory",
    "Toleration",
    "TopologySpread",
    "Volume",
]

JsonObject = dict[str, Any]


class PullPolicy(enum.StrEnum):
    """When the kubelet pulls the image."""

    IF_NOT_PRESENT = "IfNotPresent"
    ALWAYS = "Always"
    NEVER = "Never"


_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_REPO_RE = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)*$")


@dataclass(frozen=True, slots=True)
class Image:
    """A container image: repository plus a tag, a digest, or both. ``latest`` is refused.

    Example: ``Image("vllm/vllm-openai", tag="v0.33.0")``.
    """

    repository: str
    """Registry and repository, e.g. ``vllm/vllm-openai``. No default."""
    tag: str | None = None
    """A version tag. Default: none (then a digest is required)."""
    digest: str | None = None
    """``sha256:<64 hex>``; pins the exact image. Default: none."""
    pull_policy: PullPolicy = PullPolicy.IF_NOT_PRESENT
    """Default: IfNotPresent (multi-GB images are pulled once per node)."""

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
        """A label-safe version: the tag, else the first 12 hex digits of the digest."""
        if self.tag:
            return self.tag[:63] if LABEL_VALUE_RE.match(self.tag[:63]) else "unknown"
        return (self.digest or "sha256:unknown")[7:19]

    def check(self, check: Checker, fld: str) -> None:
        if not isinstance(self.repository, str) or not _REPO_RE.match(self.repository):
            check.fail(
                f"{fld}.repository",
                self.repository,
                "is not an image repository",
                "a reference such as 'vllm/vllm-openai' or 'registry.example.com:5000/team/vllm'",
                "give the repository without tag or digest",
            )
        if self.tag is None and self.digest is None:
            check.fail(
                f"{fld}.tag",
                None,
                "is missing and no digest is given",
                "a version tag such as 'v0.33.0', or digest='sha256:...'",
                "pin the image to a version so every node runs the same bits",
            )
        if self.tag is not None and (self.tag == "latest" or not _TAG_RE.match(self.tag)):
            check.fail(
                f"{fld}.tag",
                self.tag,
                "is mutable or malformed" if self.tag == "latest" else "is not a valid image tag",
                "a version tag other than 'latest' (letters, digits, '_', '.', '-')",
                "pin a released version such as 'v0.33.0', or set digest='sha256:...'",
            )
        if self.digest is not None and not _DIGEST_RE.match(self.digest):
            check.fail(
                f"{fld}.digest",
                self.digest,
                "is not an image digest",
                "'sha256:' followed by 64 lower-case hex digits",
                "copy the digest from your registry",
            )


@dataclass(frozen=True, slots=True)
class Accelerator:
    """An accelerator kind: the extended resource it is requested as and the node label naming its product."""

    resource: str
    """Extended resource name, e.g. ``nvidia.com/gpu``."""
    product_label: str
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


@dataclass(frozen=True, slots=True)
class GpuProductAffinity:
    """Node affinity on the accelerator's product label. Use :meth:`require` or :meth:`prefer`."""

    products: tuple[str, ...]
    required: bool = True
    weight: int = 100

    @classmethod
    def require(cls, *products: str) -> GpuProductAffinity:
        """Schedule only on nodes whose product label is one of ``products``."""
        return cls(tuple(products), required=True)

    @classmethod
    def prefer(cls, *products: str, weight: int = 100) -> GpuProductAffinity:
        """Prefer such nodes but schedule elsewhere if none is free."""
        return cls(tuple(products), required=False, weight=weight)

    def check(self, check: Checker, fld: str) -> None:
        if not self.products:
            check.fail(
                fld,
                self.products,
                "names no product",
                "one or more product label values such as 'NVIDIA-H100-80GB-HBM3'",
                "list the products, or pass gpu_products=None to schedule on any accelerator node",
            )
        for product in self.products:
            if (
                product == "TYPE_GPU_USED"
                or not isinstance(product, str)
                or not product
                or len(product) > 63
                or not LABEL_VALUE_RE.match(product)
            ):
                check.fail(
                    fld,
                    product,
                    "is a placeholder or not a label value" if product == "TYPE_GPU_USED" else "is not a label value",
                    "the exact value of the product label on your nodes, such as 'NVIDIA-A100-SXM4-80GB'",
                    "read it with: kubectl get nodes -L nvidia.com/gpu.product",
                )
        check.integer(f"{fld}.weight", self.weight, minimum=1, maximum=100)

    def to_affinity(self, label: str) -> JsonObject:
        expression = {"key": label, "operator": "In", "values": list(self.products)}
        if self.required:
            return {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [expression]}]}
                }
            }
        return {
            "nodeAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": self.weight, "preference": {"matchExpressions": [expression]}}
                ]
            }
        }


@dataclass(frozen=True, slots=True)
class Toleration:
    """A pod toleration."""

    key: str
    operator: str = "Exists"
    value: str | None = None
    effect: str | None = None
    toleration_seconds: int | None = None

    def check(self, check: Checker, fld: str) -> None:
        if self.operator not in ("Exists", "Equal"):
            check.fail(f"{fld}.operator", self.operator, "is not a toleration operator", "'Exists' or 'Equal'", "use one of those")
        if self.effect not in (None, "NoSchedule", "PreferNoSchedule", "NoExecute"):
            check.fail(
                f"{fld}.effect",
                self.effect,
                "is not a taint effect",
                "None, 'NoSchedule', 'PreferNoSchedule' or 'NoExecute'",
                "use one of those",
            )
        if self.operator == "Exists" and self.value is not None:
            check.fail(
                f"{fld}.value",
                self.value,
                "is set with operator 'Exists'",
                "no value with 'Exists'",
                "drop the value or use operator='Equal'",
            )

    def to_json(self) -> JsonObject:
        out: JsonObject = {"key": self.key, "operator": self.operator}
        if self.value is not None:
            out["value"] = self.value
        if self.effect is not None:
            out["effect"] = self.effect
        if self.toleration_seconds is not None:
            out["tolerationSeconds"] = self.toleration_seconds
        return out


@dataclass(frozen=True, slots=True)
class _KeyRef:
    name: str
    key: str
    optional: bool = False
    _source: ClassVar[str]

    def to_env_source(self) -> JsonObject:
        ref: JsonObject = {"name": self.name, "key": self.key}
        if self.optional:
            ref["optional"] = True
        return {self._source: ref}


@dataclass(frozen=True, slots=True)
class SecretKeyRef(_KeyRef):
    """A reference to one key of an existing Secret. The value never enters the manifests."""

    _source: ClassVar[str] = "secretKeyRef"


class _Redacted:
    """Stands for a rejected secret in an error message, so the message never repeats the secret."""

    def __init__(self, value: object) -> None:
        self.type_name = type(value).__name__

    def __repr__(self) -> str:
        return f"<{self.type_name}, redacted>"


def check_secret_ref(check: Checker, fld: str, value: object) -> None:
    """Refuse anything but a SecretKeyRef (or None) where a secret goes: a literal would be written into the manifests."""
    if value is not None and not isinstance(value, SecretKeyRef):
        check.fail(
            fld,
            _Redacted(value),
            "is not a SecretKeyRef; a literal would write the secret into the manifests",
            "SecretKeyRef(name, key) naming a key of an existing Secret, or None",
            "create the Secret outside the manifests (e.g. kubectl create secret generic) and pass SecretKeyRef(secret_name, key)",
        )


@dataclass(frozen=True, slots=True)
class ConfigMapKeyRef(_KeyRef):
    """A reference to one key of an existing ConfigMap."""

    _source: ClassVar[str] = "configMapKeyRef"


@dataclass(frozen=True, slots=True)
class FieldRef:
    """An environment value read from the pod's own fields (``status.podIP``, ``metadata.name``, ...)."""

    field_path: str

    def to_env_source(self) -> JsonObject:
        return {"fieldRef": {"fieldPath": self.field_path}}


EnvValue = str | SecretKeyRef | ConfigMapKeyRef | FieldRef
"""A literal string (never a secret: use SecretKeyRef) or a reference."""


def env_list(env: Mapping[str, EnvValue], check: Checker, fld: str) -> list[JsonObject]:
    """Render an env mapping in its own order, checking names and value types."""
    out: list[JsonObject] = []
    for name, value in env.items():
        if not isinstance(name, str) or not ENV_NAME_RE.match(name):
            check.fail(
                fld,
                name,
                "is not a valid environment variable name",
                "letters, digits, '_', '-' and '.', not starting with a digit",
                "rename the variable",
            )
        if isinstance(value, str):
            out.append({"name": name, "value": value})
        elif isinstance(value, SecretKeyRef | ConfigMapKeyRef | FieldRef):
            out.append({"name": name, "valueFrom": value.to_env_source()})
        else:
            check.fail(
                f"{fld}[{name!r}]",
                value,
                "is not a string or reference",
                "a str, SecretKeyRef, ConfigMapKeyRef or FieldRef",
                "quote numbers and booleans (e.g. '1'), and pass secrets as SecretKeyRef",
            )
    return out


@dataclass(frozen=True, slots=True)
class EnvFrom:
    """Import every key of a ConfigMap or Secret as environment. Use :meth:`config_map` or :meth:`secret`."""

    kind: str
    name: str
    prefix: str | None = None
    optional: bool = False

    @classmethod
    def config_map(cls, name: str, *, prefix: str | None = None, optional: bool = False) -> EnvFrom:
        return cls("configMapRef", name, prefix, optional)

    @classmethod
    def secret(cls, name: str, *, prefix: str | None = None, optional: bool = False) -> EnvFrom:
        return cls("secretRef", name, prefix, optional)

    def to_json(self) -> JsonObject:
        ref: JsonObject = {"name": self.name}
        if self.optional:
            ref["optional"] = True
        out: JsonObject = {self.kind: ref}
        if self.prefix:
            out["prefix"] = self.prefix
        return out


@dataclass(frozen=True, slots=True)
class ContainerPort:
    """A named container port. Probes and Services refer to it by name."""

    name: str
    port: int
    protocol: str = "TCP"

    def check(self, check: Checker, fld: str) -> None:
        if (
            not isinstance(self.name, str)
            or not re.match(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", self.name)
            or len(self.name) > 15
            or not re.search(r"[a-z]", self.name)
        ):
            check.fail(
                f"{fld}.name",
                self.name,
                "is not a port name",
                "an IANA service name: at most 15 lower-case letters, digits and '-', with a letter",
                "use a name such as 'http'",
            )
        check.integer(f"{fld}.port", self.port, minimum=1, maximum=65535)
        if self.protocol not in ("TCP", "UDP", "SCTP"):
            check.fail(f"{fld}.protocol", self.protocol, "is not a protocol", "'TCP', 'UDP' or 'SCTP'", "use one of those")

    def to_json(self) -> JsonObject:
        return {"name": self.name, "containerPort": self.port, "protocol": self.protocol}


@dataclass(frozen=True, kw_only=True, slots=True)
class Resources:
    """Compute resources of the main container. Accelerators are requested and limited alike."""

    cpu: str
    """CPU request, e.g. ``'8'``. No default."""
    memory: str
    """Memory request, e.g. ``'64Gi'``. No default."""
    accelerators: int = 0
    """Accelerators per pod; request equals limit. Default: 0 (CPU only)."""
    cpu_limit: str | None = None
    """Default: equal to ``cpu`` (Guaranteed QoS keeps GPU pods last in line for eviction)."""
    memory_limit: str | None = None
    """Default: equal to ``memory``."""
    ephemeral_storage: str | None = None
    """Ephemeral storage request and limit. Default: none."""

    def check(self, check: Checker, fld: str) -> tuple[Decimal, Decimal]:
        """Check quantities; return (memory request, memory limit) in bytes."""
        cpu = check.quantity(f"{fld}.cpu", self.cpu)
        mem = check.quantity(f"{fld}.memory", self.memory)
        check.integer(f"{fld}.accelerators", self.accelerators, minimum=0, maximum=64)
        mem_limit = mem
        if self.cpu_limit is not None:
            cpu_limit = check.quantity(f"{fld}.cpu_limit", self.cpu_limit)
            check.min_max(f"{fld}.cpu", cpu, f"{fld}.cpu_limit", cpu_limit, self.cpu)
        if self.memory_limit is not None:
            mem_limit = check.quantity(f"{fld}.memory_limit", self.memory_limit)
            check.min_max(f"{fld}.memory", mem, f"{fld}.memory_limit", mem_limit, self.memory)
        if self.ephemeral_storage is not None:
            check.quantity(f"{fld}.ephemeral_storage", self.ephemeral_storage)
        return mem, mem_limit

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


@dataclass(frozen=True, kw_only=True, slots=True)
class HealthChecks:
    """Probes for a server that loads for minutes.

    The startup probe owns the load: it allows ``startup_timeout_seconds`` before the kubelet gives
    up. Readiness and liveness start only after it succeeds, so they never kill a loading server.
    """

    path: str = "/health"
    """HTTP path for all three probes. Default: /health."""
    startup_timeout_seconds: int = 1800
    """Time budget for download wait, weight load, compile and CUDA graphs. Default: 1800 (30 min)."""
    startup_period_seconds: int = 10
    """Default: 10."""
    readiness_period_seconds: int = 5
    """Default: 5."""
    readiness_failure_threshold: int = 3
    """Default: 3 (out of rotation after 15 s of failures)."""
    liveness_period_seconds: int = 10
    """Default: 10."""
    liveness_failure_threshold: int = 6
    """Default: 6 (restart after a minute of failures, never during startup)."""
    timeout_seconds: int = 5
    """Per-probe timeout. Default: 5."""

    def check(self, check: Checker, fld: str) -> None:
        if not isinstance(self.path, str) or not self.path.startswith("/"):
            check.fail(f"{fld}.path", self.path, "is not an absolute HTTP path", "a path starting with '/'", "use '/health'")
        check.integer(f"{fld}.startup_period_seconds", self.startup_period_seconds, minimum=1, maximum=600)
        check.integer(
            f"{fld}.startup_timeout_seconds",
            self.startup_timeout_seconds,
            minimum=self.startup_period_seconds,
            maximum=86400,
        )
        check.integer(f"{fld}.readiness_period_seconds", self.readiness_period_seconds, minimum=1, maximum=600)
        check.integer(f"{fld}.readiness_failure_threshold", self.readiness_failure_threshold, minimum=1, maximum=100)
        check.integer(f"{fld}.liveness_period_seconds", self.liveness_period_seconds, minimum=1, maximum=600)
        check.integer(f"{fld}.liveness_failure_threshold", self.liveness_failure_threshold, minimum=1, maximum=100)
        check.integer(f"{fld}.timeout_seconds", self.timeout_seconds, minimum=1, maximum=600)

    @property
    def startup_failure_threshold(self) -> int:
        return -(-self.startup_timeout_seconds // self.startup_period_seconds)

    def probes(self, port_name: str) -> JsonObject:
        get = {"path": self.path, "port": port_name}
        return {
            "startupProbe": {
                "httpGet": dict(get),
                "periodSeconds": self.startup_period_seconds,
                "timeoutSeconds": self.timeout_seconds,
                "failureThreshold": self.startup_failure_threshold,
            },
            "readinessProbe": {
                "httpGet": dict(get),
                "periodSeconds": self.readiness_period_seconds,
                "timeoutSeconds": self.timeout_seconds,
                "failureThreshold": self.readiness_failure_threshold,
            },
            "livenessProbe": {
                "httpGet": dict(get),
                "periodSeconds": self.liveness_period_seconds,
                "timeoutSeconds": self.timeout_seconds,
                "failureThreshold": self.liveness_failure_threshold,
            },
        }


_PERCENT_RE = re.compile(r"^(100|[1-9]?[0-9])%$")


@dataclass(frozen=True, slots=True)
class RolloutStrategy:
    """How a new version replaces the old. Use :meth:`rolling` or :meth:`recreate`."""

    kind: str
    max_surge: int | str = 0
    max_unavailable: int | str = 1

    @classmethod
    def rolling(cls, *, max_surge: int | str = 0, max_unavailable: int | str = 1) -> RolloutStrategy:
        """Rolling update. The default (surge 0, unavailable 1) needs no spare accelerator."""
        return cls("RollingUpdate", max_surge, max_unavailable)

    @classmethod
    def recreate(cls) -> RolloutStrategy:
        """Stop every old pod before starting new ones (downtime, never two copies at once)."""
        return cls("Recreate", 0, 0)

    @property
    def surges(self) -> bool:
        return self.kind == "RollingUpdate" and self.max_surge not in (0, "0%")

    def check(self, check: Checker, fld: str) -> None:
        if self.kind == "Recreate":
            return
        for name, value in (("max_surge", self.max_surge), ("max_unavailable", self.max_unavailable)):
            ok = (isinstance(value, int) and not isinstance(value, bool) and value >= 0) or (
                isinstance(value, str) and _PERCENT_RE.match(value)
            )
            if not ok:
                check.fail(
                    f"{fld}.{name}",
                    value,
                    "is not a count or percentage",
                    "an integer >= 0 or a string such as '25%'",
                    "use e.g. 1 or '25%'",
                )
        if self.max_surge in (0, "0%") and self.max_unavailable in (0, "0%"):
            check.fail(
                f"{fld}.max_unavailable",
                self.max_unavailable,
                "is zero while max_surge is zero too, so a rollout can never progress",
                "max_surge > 0 or max_unavailable > 0",
                "keep max_unavailable=1 (no spare accelerator needed) or allow a surge",
            )

    def to_json(self) -> JsonObject:
        if self.kind == "Recreate":
            return {"type": "Recreate"}
        return {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": self.max_surge, "maxUnavailable": self.max_unavailable},
        }


@dataclass(frozen=True, slots=True)
class SharedMemory:
    """/dev/shm as a memory-backed emptyDir. It counts against the container's memory limit."""

    enabled: bool
    size: str | None = None

    @classmethod
    def of(cls, size: str) -> SharedMemory:
        return cls(True, size)

    @classmethod
    def disabled(cls) -> SharedMemory:
        return cls(False, None)

    @staticmethod
    def default_size(memory_limit: Decimal) -> str:
        """16Gi, but at most a quarter of the memory limit (rounded down to whole MiB)."""
        cap = Decimal(16 * 2**30)
        quarter = (memory_limit / 4) // Decimal(2**20) * Decimal(2**20)
        return format_bytes(min(cap, quarter))


@dataclass(frozen=True, kw_only=True, slots=True)
class SecurityProfile:
    """Pod and container security settings. The default is hardened; each relaxation is a named field."""

    run_as_user: int | None = 2000
    """Default: 2000, the non-root user of the vllm-openai image."""
    run_as_group: int | None = 2000
    """Default: 2000."""
    fs_group: int | None = 2000
    """Group that owns mounted volumes so the non-root user can write the model cache. Default: 2000."""
    run_as_non_root: bool = True
    """Default: True."""
    read_only_root_filesystem: bool = True
    """Default: True; writable HOME, caches and /tmp come from volumes."""
    add_capabilities: tuple[str, ...] = ()
    """Capabilities added after dropping ALL, e.g. ('IPC_LOCK',) for RDMA. Default: none."""
    seccomp_profile: str = "RuntimeDefault"
    """Default: RuntimeDefault."""

    @classmethod
    def hardened(cls) -> SecurityProfile:
        return cls()

    def check(self, check: Checker, fld: str) -> None:
        for cap in self.add_capabilities:
            if not re.match(r"^[A-Z_]+$", cap) or cap.startswith("CAP_"):
                check.fail(
                    f"{fld}.add_capabilities",
                    cap,
                    "is not a capability name",
                    "an upper-case name without 'CAP_', e.g. 'IPC_LOCK'",
                    "write it as Kubernetes expects",
                )
            if cap in ("SYS_ADMIN", "ALL", "NET_ADMIN"):
                check.fail(
                    f"{fld}.add_capabilities",
                    cap,
                    "grants near-root power",
                    "narrow capabilities such as 'IPC_LOCK' or 'SYS_PTRACE'",
                    "use a narrower capability",
                )
        if self.seccomp_profile not in ("RuntimeDefault", "Unconfined"):
            check.fail(
                f"{fld}.seccomp_profile",
                self.seccomp_profile,
                "is not supported",
                "'RuntimeDefault' or 'Unconfined'",
                "use 'RuntimeDefault'",
            )
        if self.run_as_non_root and self.run_as_user == 0:
            check.fail(
                f"{fld}.run_as_user",
                0,
                "is root while run_as_non_root is True",
                "a non-zero user id",
                "use 2000, or set run_as_non_root=False explicitly",
            )

    def pod_json(self) -> JsonObject:
        out: JsonObject = {"runAsNonRoot": self.run_as_non_root}
        if self.run_as_user is not None:
            out["runAsUser"] = self.run_as_user
        if self.run_as_group is not None:
            out["runAsGroup"] = self.run_as_group
        if self.fs_group is not None:
            out["fsGroup"] = self.fs_group
        out["seccompProfile"] = {"type": self.seccomp_profile}
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


@dataclass(frozen=True, kw_only=True, slots=True)
class Volume:
    """A pod volume mounted into the main container."""

    name: str
    mount_path: str
    source: Mapping[str, Any] = field(default_factory=lambda: {"emptyDir": {}})
    """The Kubernetes volume source, e.g. ``{"persistentVolumeClaim": {"claimName": "x"}}``. Default: emptyDir."""
    read_only: bool = False
    sub_path: str | None = None

    def volume_json(self) -> JsonObject:
        return {"name": self.name, **dict(self.source)}

    def mount_json(self) -> JsonObject:
        out: JsonObject = {"name": self.name, "mountPath": self.mount_path}
        if self.read_only:
            out["readOnly"] = True
        if self.sub_path:
            out["subPath"] = self.sub_path
        return out


@dataclass(frozen=True, kw_only=True, slots=True)
class TopologySpread:
    """Spread replicas over a topology key (zone, node). The selector is the workload's own."""

    topology_key: str = "kubernetes.io/hostname"
    max_skew: int = 1
    when_unsatisfiable: str = "ScheduleAnyway"

    def check(self, check: Checker, fld: str) -> None:
        check.integer(f"{fld}.max_skew", self.max_skew, minimum=1)
        if self.when_unsatisfiable not in ("ScheduleAnyway", "DoNotSchedule"):
            check.fail(
                f"{fld}.when_unsatisfiable",
                self.when_unsatisfiable,
                "is not a policy",
                "'ScheduleAnyway' or 'DoNotSchedule'",
                "use one of those",
            )

    def to_json(self, selector: Mapping[str, str]) -> JsonObject:
        return {
            "maxSkew": self.max_skew,
            "topologyKey": self.topology_key,
            "whenUnsatisfiable": self.when_unsatisfiable,
            "labelSelector": {"matchLabels": dict(selector)},
        }
