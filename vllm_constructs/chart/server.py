"""The chart's values as :class:`~vllm_constructs.core.server.VllmServerProps`: the same server, the chart's object
names, every chart bug fixed (docs/helm-migration.md lists each difference)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ..core.server import ServerNames, VllmServerProps
from ..core.values import ContainerPort, EnvFrom, EnvValue, GpuProductAffinity, PodOptions, SecretKeyRef
from .delivery import Delivery, plan_model
from .engine import ServeCommand, engine_with_revision, read_command
from .load import LoadedValues
from .pod import env_map, gpu_count, gpu_products, rollout, security, server_image, server_resources, shared_memory, tolerations
from .probes import health_checks
from .sources import Key, Origins
from .values import ChartValues

__all__ = ["S3_SECRET_KEYS", "ServerInputs", "server_inputs", "storage_volume"]

S3_SECRET_KEYS = ("s3endpoint", "s3bucketname", "s3accesskeyid", "s3accesskey")
"""Keys of <release>-secrets the chart's download reads (they never reach the server: chart bug 12)."""
_ENV: Key = ("image", "env")

_PROPS_FIELDS: dict[str, Key] = {
    "name": ("release",),
    "port": ("containerPort",),
    "service_port": ("servicePort",),
    "replicas": ("replicaCount",),
    "pdb_max_unavailable": ("maxUnavailablePodDisruptionBudget",),
    "progress_deadline_seconds": ("progressDeadlineSeconds",),
    "env_config": ("configs",),
    "env_from": ("externalConfigs",),
    "extra_ports": ("extraPorts",),
    "env": _ENV,
    "hf_token": _ENV,
    "api_key": _ENV,
}
_POD_FIELDS: dict[str, Key] = {
    "gpu_products": ("gpuModels",),
    "affinity": ("affinity",),
    "node_selector": ("nodeSelector",),
    "labels": ("labels",),
    "pod_annotations": ("podAnnotations",),
    "init_containers": ("extraInit", "initContainers"),
    "extra_containers": ("extraContainers",),
    "extra_volumes": ("extraContainers",),
    "image_pull_secrets": ("imagePullSecrets",),
    "termination_grace_period_seconds": ("terminationGracePeriodSeconds",),
    "shared_memory": ("shm",),
}


@dataclass(frozen=True, slots=True)
class ServerInputs:
    props: VllmServerProps
    delivery: Delivery
    command: ServeCommand
    notices: list[str] = field(default_factory=list)


def storage_volume(release: str, values: ChartValues) -> dict[str, Any] | None:
    """The chart's pod volume ``<release>-storage`` (its claim), when one of your containers mounts it by that name."""
    name = f"{release}-storage"
    containers = [*values.extra_containers, *(values.extra_init.init_containers if values.extra_init else [])]
    mounts = [m for c in containers for m in c.get("volumeMounts") or [] if isinstance(m, dict)]
    if not any(m.get("name") == name for m in mounts):
        return None
    return {"name": name, "persistentVolumeClaim": {"claimName": f"{release}-storage-claim"}}


def _pod(release: str, values: ChartValues, origins: Origins) -> PodOptions:
    gpus = gpu_count(values, origins)
    products = gpu_products(values)
    affinity = values.affinity or None
    volume = storage_volume(release, values)
    kwargs: dict[str, Any] = {
        "gpu_products": GpuProductAffinity.require(*products) if gpus and products and affinity is None else None,
        "affinity": affinity,
        "tolerations": tolerations(values, origins),
        "node_selector": dict(values.node_selector or {}),
        "labels": dict(values.labels or {}),
        "pod_annotations": dict(values.pod_annotations or {}),
        "init_containers": tuple(values.extra_init.init_containers if values.extra_init else ()),
        "extra_containers": tuple(values.extra_containers),
        "extra_volumes": (volume,) if volume is not None else (),
        "security": security(values, origins),
        "shared_memory": shared_memory(values, origins),
        "image_pull_secrets": tuple(s.name for s in values.image_pull_secrets),
    }
    if values.termination_grace_period_seconds is not None:
        kwargs["termination_grace_period_seconds"] = values.termination_grace_period_seconds
    return origins.within(_POD_FIELDS, lambda: PodOptions(**kwargs), ("extraContainers",))


def _secret_env(release: str, values: ChartValues, env: dict[str, EnvValue]) -> None:
    """Keys of ``secrets`` other than the download's S3 keys reach the server as env references (the chart imports the
    whole Secret with envFrom, S3 keys included: bug 12)."""
    for key in values.secrets or {}:
        if key not in S3_SECRET_KEYS and key not in env:
            env[key] = SecretKeyRef(f"{release}-secrets", key)


_CHART_REF_WORDS = {"ConfigMapKeyRef": "configMapKeyRef", "FieldRef": "fieldRef"}
"""How the chart's values spell the env sources that are not a Secret."""


def _take_ref(env: dict[str, EnvValue], name: str, values: ChartValues, origins: Origins, why: str) -> SecretKeyRef | None:
    value = env.pop(name, None)
    if value is None or isinstance(value, SecretKeyRef):
        return value
    index = next(i for i, e in enumerate(values.image.env or ()) if e.name == name)
    origins.fail(  # a literal never gets here: VLLM_API_KEY and HF_TOKEN name secrets, refused as literals by env_map
        (*_ENV, index, "valueFrom"),
        _CHART_REF_WORDS.get(type(value).__name__, type(value).__name__),
        f"must come from a Secret ({why})",
        "valueFrom.secretKeyRef",
        "reference the Secret that holds it",
    )


def _env(
    release: str, values: ChartValues, delivery: Delivery, origins: Origins
) -> tuple[dict[str, EnvValue], SecretKeyRef | None, SecretKeyRef | None]:
    """The server's env, its Hugging Face token and its API key (both only by reference)."""
    env = env_map(values.image.env, _ENV, origins)
    _secret_env(release, values, env)
    api_key = _take_ref(env, "VLLM_API_KEY", values, origins, "the server's API key")
    token = None
    if delivery.at_start:
        token = _take_ref(env, "HF_TOKEN", values, origins, "vLLM downloads the model with it")
    elif "HF_TOKEN" in env:
        index = next((i for i, e in enumerate(values.image.env or ()) if e.name == "HF_TOKEN"), None)
        where = (*_ENV, index, "name") if index is not None else ("secrets", "HF_TOKEN")
        origins.fail(
            where,
            "HF_TOKEN",
            "is given to a server that reads a downloaded copy offline and never calls the hub",
            "no HF_TOKEN here (it matters only when vLLM downloads a hub model itself: extraInit.modelDownload.enabled: false)",
            "remove it",
        )
    return env, token, api_key


def _ports(values: ChartValues, origins: Origins) -> tuple[ContainerPort, ...]:
    out = []
    for i, p in enumerate(values.extra_ports):
        key: Key = ("extraPorts", i)
        fields = {"name": (*key, "name"), "port": (*key, "containerPort"), "protocol": (*key, "protocol")}
        protocol: Any = p.protocol or "TCP"
        out.append(origins.within(fields, partial(ContainerPort, p.name, p.container_port, protocol), key))
    return tuple(out)


def _env_from(values: ChartValues, origins: Origins) -> tuple[EnvFrom, ...]:
    out: list[EnvFrom] = []
    for i, item in enumerate(values.external_configs):
        refs = [r for r in (item.config_map_ref, item.secret_ref) if r is not None]
        if len(refs) != 1:
            origins.fail(
                ("externalConfigs", i), "(references)", f"names {len(refs)} sources", "exactly one of configMapRef or secretRef", "keep one"
            )
        ref = refs[0]
        kind = "configMapRef" if item.config_map_ref is not None else "secretRef"
        make = EnvFrom.config_map if kind == "configMapRef" else EnvFrom.secret
        fields = {"name": ("externalConfigs", i, kind, "name"), "prefix": ("externalConfigs", i, "prefix")}
        out.append(
            origins.within(
                fields,
                partial(make, ref.name, prefix=item.prefix, optional=bool(ref.optional)),
                ("externalConfigs", i),
            )
        )
    return tuple(out)


def server_inputs(release: str, loaded: LoadedValues) -> ServerInputs:
    """VllmServerProps for the release (ConfigError on values the library cannot express, naming the key)."""
    values, origins = loaded.values, loaded.origins
    command = read_command(values.image.command, origins)
    delivery = plan_model(release, values, command, origins)
    env, token, api_key = _env(release, values, delivery, origins)
    health, notices = health_checks(values, origins)
    names = origins.within(
        {"service": ("serviceName",)}, lambda: ServerNames.helm_chart(release, service_name=values.service_name), ("serviceName",)
    )
    kwargs: dict[str, Any] = {
        "name": release, "names": names, "model": delivery.model, "image": server_image(values, origins),
        "engine": command.engine if delivery.at_start else engine_with_revision(command), "resources": server_resources(values, origins),
        "replicas": values.replica_count, "rollout": rollout(values, origins), "health": health, "port": values.container_port,
        "service_port": values.service_port or values.container_port, "extra_ports": _ports(values, origins), "cache": delivery.cache,
        "download": delivery.download, "hf_token": token, "api_key": api_key, "env": env, "env_config": values.configs or None,
        "env_from": _env_from(values, origins), "part_of": "chart-vllm", "pod": _pod(release, values, origins),
        "pdb_max_unavailable": values.max_unavailable_pdb if values.max_unavailable_pdb is not None else 1,
    }  # fmt: skip
    if origins.given(("progressDeadlineSeconds",)):
        kwargs["progress_deadline_seconds"] = values.progress_deadline_seconds
    props = origins.within(_PROPS_FIELDS, lambda: VllmServerProps(**kwargs), ("image",))
    return ServerInputs(props, delivery, command, notices)
