"""The chart's container, scheduling and security keys as the library's value classes (Image, Resources, env,
SecurityProfile, Toleration, RolloutStrategy, SharedMemory). Each library error is re-rooted at the values key."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from ..core.validation import Redacted, looks_like_secret, names_a_secret
from ..core.values import (
    ConfigMapKeyRef,
    EnvValue,
    FieldRef,
    Image,
    Resources,
    RolloutStrategy,
    SecretKeyRef,
    SecurityProfile,
    SharedMemory,
    Toleration,
)
from .defaults import PLACEHOLDER_GPU
from .sources import Key, Origins
from .values import ChartValues, EnvVar, SecurityContextValues
from .values import Toleration as TolerationValues

__all__ = [
    "PINNED_VLLM_TAG",
    "env_map",
    "gpu_count",
    "rollout",
    "security",
    "server_image",
    "server_resources",
    "shared_memory",
    "tolerations",
]

PINNED_VLLM_TAG = "v0.33.0"
"""What the chart's default image tag 'latest' becomes: the vLLM release the chart ships with."""


def server_image(values: ChartValues, origins: Origins) -> Image:
    tag = values.image.tag
    if tag == "latest":
        if origins.given(("image", "tag")):
            origins.fail(
                ("image", "tag"),
                "latest",
                "is mutable: every node may run different bits",
                "a released version tag",
                f"pin it, e.g. image.tag: {PINNED_VLLM_TAG}",
            )
        tag = PINNED_VLLM_TAG
    fields = {"repository": ("image", "repository"), "tag": ("image", "tag")}
    return origins.within(fields, lambda: Image(values.image.repository, tag=tag), ("image",))


def gpu_count(values: ChartValues, origins: Origins) -> int:
    """GPUs per pod: the chart requests them only when both requests and limits are above 0."""
    requests, limits = values.resources.requests.gpu or 0, values.resources.limits.gpu or 0
    if requests > 0 and limits > 0 and requests != limits:
        origins.fail(
            ("resources", "limits", "nvidia.com/gpu"),
            limits,
            f"differs from resources.requests.nvidia.com/gpu ({requests})",
            "the same GPU count in requests and limits",
            "set both to the same number",
        )
    return requests if requests > 0 and limits > 0 else 0


def server_resources(values: ChartValues, origins: Origins) -> Resources:
    req, lim = values.resources.requests, values.resources.limits
    fields = {
        "cpu": ("resources", "requests", "cpu"),
        "memory": ("resources", "requests", "memory"),
        "cpu_limit": ("resources", "limits", "cpu"),
        "memory_limit": ("resources", "limits", "memory"),
        "accelerators": ("resources", "requests", "nvidia.com/gpu"),
    }
    gpus = gpu_count(values, origins)
    return origins.within(
        fields,
        lambda: Resources(cpu=req.cpu, memory=req.memory, cpu_limit=lim.cpu, memory_limit=lim.memory, accelerators=gpus),
        ("resources",),
    )


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _env_value(item: EnvVar, key: Key, origins: Origins) -> EnvValue:
    source = item.value_from
    if source is None:
        text = _literal(item.value) if item.value is not None else ""
        if text and (names_a_secret(item.name) or looks_like_secret(text)):
            origins.fail(
                (*key, "value"),
                Redacted("str"),
                "is a literal secret; it would be written into the manifests in clear text",
                "a valueFrom.secretKeyRef for secrets",
                f"create a Secret (kubectl create secret generic NAME --from-literal={item.name}=...) and use valueFrom.secretKeyRef",
            )
        return text
    if item.value is not None:
        origins.fail((*key, "value"), item.value, "is set together with valueFrom", "value or valueFrom", "keep one of them")
    refs = [r for r in (source.secret_key_ref, source.config_map_key_ref, source.field_ref) if r is not None]
    if len(refs) != 1:
        origins.fail(
            (*key, "valueFrom"),
            "(references)",
            f"names {len(refs)} sources",
            "exactly one of secretKeyRef, configMapKeyRef, fieldRef",
            "keep one",
        )
    if source.field_ref is not None:
        path = source.field_ref.field_path
        return origins.within({"field_path": (*key, "valueFrom", "fieldRef", "fieldPath")}, lambda: FieldRef(path), (*key, "valueFrom"))
    secret = source.secret_key_ref is not None
    ref = source.secret_key_ref or source.config_map_key_ref
    assert ref is not None
    sub = (*key, "valueFrom", "secretKeyRef" if secret else "configMapKeyRef")
    kind = SecretKeyRef if secret else ConfigMapKeyRef
    fields = {"name": (*sub, "name"), "key": (*sub, "key")}
    return origins.within(fields, lambda: kind(ref.name, ref.key, bool(ref.optional)), sub)


def env_map(items: Sequence[EnvVar] | None, key: Key, origins: Origins) -> dict[str, EnvValue]:
    """An env list as the library's env mapping (literals as strings, references typed); repeated names refused."""
    out: dict[str, EnvValue] = {}
    for i, item in enumerate(items or ()):
        if item.name in out:
            origins.fail((*key, i, "name"), item.name, "repeats a variable", "each name once", "remove one of them")
        out[item.name] = _env_value(item, (*key, i), origins)
    return out


_CTX = ("image", "securityContext")


def _user(values: ChartValues) -> tuple[int | None, Key]:
    ctx = values.image.security_context
    if ctx is not None and ctx.run_as_user is not None:
        return ctx.run_as_user, (*_CTX, "runAsUser")
    if values.run_as_user is not None:
        return values.run_as_user, ("runAsUser",)
    return values.image.run_as_user, ("image", "runAsUser")


def _ctx_checks(ctx: SecurityContextValues, origins: Origins) -> None:
    if ctx.privileged:
        origins.fail(
            (*_CTX, "privileged"), True, "asks for a privileged vLLM container", "false", "remove it (add narrow capabilities instead)"
        )
    if ctx.allow_privilege_escalation:
        origins.fail((*_CTX, "allowPrivilegeEscalation"), True, "lets the server escalate privileges", "false", "remove it")
    if ctx.seccomp_profile is not None and ctx.seccomp_profile.type == "Localhost":
        origins.fail(
            (*_CTX, "seccompProfile", "type"),
            "Localhost",
            "needs a node-local profile, which is not offered",
            "RuntimeDefault or Unconfined",
            "use RuntimeDefault",
        )


def security(values: ChartValues, origins: Origins) -> SecurityProfile:
    """The server's security profile: hardened, with what image.securityContext / runAsUser set."""
    ctx = values.image.security_context or SecurityContextValues.model_validate({})
    _ctx_checks(ctx, origins)
    user, user_key = _user(values)
    kwargs: dict[str, Any] = {}
    if user is not None:
        kwargs["run_as_user"] = user
    if ctx.run_as_group is not None:
        kwargs["run_as_group"] = ctx.run_as_group
    if ctx.run_as_non_root is not None:
        kwargs["run_as_non_root"] = ctx.run_as_non_root
    elif user == 0:
        kwargs["run_as_non_root"] = False
    if ctx.read_only_root_filesystem is not None:
        kwargs["read_only_root_filesystem"] = ctx.read_only_root_filesystem
    if ctx.capabilities is not None and ctx.capabilities.add:
        kwargs["add_capabilities"] = tuple(ctx.capabilities.add)
    if ctx.seccomp_profile is not None:
        kwargs["seccomp_profile"] = ctx.seccomp_profile.type
    fields = {
        "run_as_user": user_key,
        "run_as_group": (*_CTX, "runAsGroup"),
        "run_as_non_root": (*_CTX, "runAsNonRoot"),
        "add_capabilities": (*_CTX, "capabilities", "add"),
    }
    return origins.within(fields, lambda: SecurityProfile(**kwargs), _CTX)


def tolerations(values: ChartValues, origins: Origins) -> tuple[Toleration, ...]:
    out = []
    for i, t in enumerate(values.tolerations or ()):
        key: Key = ("tolerations", i)
        fields = {
            name: (*key, alias)
            for name, alias in (
                ("key", "key"),
                ("value", "value"),
                ("effect", "effect"),
                ("toleration_seconds", "tolerationSeconds"),
                ("operator", "operator"),
            )
        }
        out.append(origins.within(fields, partial(_toleration, t), key))
    return tuple(out)


def _toleration(t: TolerationValues) -> Toleration:
    operator: Any = t.operator or "Equal"  # Kubernetes' default
    effect: Any = t.effect
    return Toleration(t.key, operator, t.value, effect, t.toleration_seconds)


_DEFAULT_SURGE = "25%"  # Kubernetes' default for a field of rollingUpdate left unset


def rollout(values: ChartValues, origins: Origins) -> RolloutStrategy:
    strategy = values.deployment_strategy
    key: Key = ("deploymentStrategy",)
    if strategy is None or (strategy.type is None and strategy.rolling_update is None):
        return RolloutStrategy.rolling()
    if strategy.type == "Recreate":
        if strategy.rolling_update is not None:
            origins.fail(
                (*key, "rollingUpdate"),
                "(set)",
                "is given with type Recreate",
                "rollingUpdate only with type RollingUpdate",
                "remove rollingUpdate",
            )
        return RolloutStrategy.recreate()
    ru = strategy.rolling_update
    surge = ru.max_surge if ru is not None and ru.max_surge is not None else _DEFAULT_SURGE
    unavailable = ru.max_unavailable if ru is not None and ru.max_unavailable is not None else _DEFAULT_SURGE
    fields = {"max_surge": (*key, "rollingUpdate", "maxSurge"), "max_unavailable": (*key, "rollingUpdate", "maxUnavailable")}
    return origins.within(fields, lambda: RolloutStrategy.rolling(max_surge=surge, max_unavailable=unavailable), key)


def shared_memory(values: ChartValues, origins: Origins) -> SharedMemory | None:
    """/dev/shm: shm.* (the shm branch) or dshmSizeLimit (the KEDA branch); unset: the library's default."""
    shm_given = origins.given(("shm",))
    if values.dshm_size_limit is not None:
        if shm_given:
            origins.fail(
                ("dshmSizeLimit",),
                values.dshm_size_limit,
                "sizes /dev/shm a second way",
                "shm.* or dshmSizeLimit",
                "keep shm.enabled/shm.size only",
            )
        size = values.dshm_size_limit
        return origins.within({"size": ("dshmSizeLimit",)}, lambda: SharedMemory.of(size), ("dshmSizeLimit",))
    if not shm_given:
        return None
    if not values.shm.enabled:
        return SharedMemory.disabled()
    given = values.shm.size if origins.given(("shm", "size")) else None
    size = given or SharedMemory.default_size(server_resources(values, origins).memory_limit_bytes)
    return origins.within({"size": ("shm", "size")}, lambda: SharedMemory.of(size), ("shm",))


def gpu_products(values: ChartValues) -> tuple[str, ...]:
    """The gpuModels that name real products (the chart's TYPE_GPU_USED placeholder never matches a node)."""
    return tuple(m for m in values.gpu_models or () if m != PLACEHOLDER_GPU)
