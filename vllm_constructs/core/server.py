"""One model served by vLLM on one node, pure: :class:`VllmServerProps` in, a checked :class:`ServerPlan` (every object
and the serving facts) out. :class:`~vllm_constructs.vllm_server.VllmServer` adds the plan's objects to a chart;
``vllm-constructs template`` renders the same plan without Node."""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import AfterValidator, PlainValidator

from ..errors import ConfigError
from . import objects
from .capacity.server_plan import with_capacity
from .downloads import ONE_NODE, Readers
from .gitops import annotate
from .logs import LogsPlan, plan_json_logs
from .lora import LoraPlan, plan_lora
from .model import JOB_BASE_MAX, MODEL_MOUNT, JobBase
from .objects import KubeObject, network_policy_spec
from .pod import MainContainer, PodInputs, deployment_spec, pod_template, progress_deadline
from .promql import ServerSeries
from .serving import (
    Delivery,
    ScaleTarget,
    ServingFacts,
    ServingProps,
    base_env,
    check_service_name,
    check_shared,
    effective_home,
    home_volumes,
    merge_user_env,
    plan_delivery,
    revision_args,
    serving_facts,
    serving_owned_env,
)
from .validation import (
    Checker,
    EnvName,
    IntOrPercent,
    Redacted,
    content_hash,
    dns_label_ok,
    fail,
    looks_like_secret,
    names_a_secret,
    problem,
    value_class,
)
from .values import AnyEnvFrom, AnyRollout, ContainerPort, EnvFrom, EnvValue, Lax, RollingUpdate, WorkloadLabels

__all__ = ["ServerNames", "ServerPlan", "ServiceType", "VllmServerProps", "plan_server"]

JsonObject = dict[str, Any]


class ServiceType(enum.StrEnum):
    CLUSTER_IP = "ClusterIP"
    NODE_PORT = "NodePort"
    LOAD_BALANCER = "LoadBalancer"


def _label(value: str) -> str:
    if not dns_label_ok(value):
        raise problem(
            "dns_label", "is not a DNS-1123 label", "at most 63 lower-case letters, digits and '-'", "use a name such as 'llama-8b'"
        )
    return value


def _service(value: str) -> str:
    if len(value) > 63 or not re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", value):
        raise problem(
            "dns_1035",
            "is not a Service name (DNS-1035 label)",
            "at most 63 lower-case letters, digits and '-', starting with a letter",
            "start the name with a letter, e.g. 'llm-8b'",
        )
    return value


Name = Annotated[str, AfterValidator(_label)]


@value_class(kw_only=True)
class ServerNames:
    """Kubernetes object names of one server. Use :meth:`for_server` (default) or :meth:`helm_chart`."""

    deployment: Name
    service: Annotated[str, AfterValidator(_service)]
    pdb: Name
    cache_claim: Name
    config_map: Name
    network_policy: Name
    download_job_base: JobBase | None = None
    """Base of the download Job's name ``<base>-download-<content hash>``. Default: the deployment name."""

    def __post_init__(self) -> None:
        if self.download_job_base is None and len(self.deployment) > JOB_BASE_MAX:
            fail(
                "download_job_base",
                None,
                f"is unset, so the download Job is named after the deployment ({len(self.deployment)} characters), which "
                "leaves no room for '-download-<hash>' in a 63-character name",
                f"a download_job_base of at most {JOB_BASE_MAX} characters, or a deployment name that short",
                "set download_job_base, e.g. the server's name",
            )

    @classmethod
    def for_server(cls, name: str) -> ServerNames:
        return cls(
            deployment=name, service=name, pdb=name, cache_claim=f"{name}-model-cache", config_map=f"{name}-env", network_policy=name
        )

    @classmethod
    def helm_chart(cls, release: str, *, service_name: str | None = None) -> ServerNames:
        """The upstream chart's names, so an in-place upgrade keeps its objects."""
        return cls(
            deployment=f"{release}-deployment-vllm",
            service=(service_name or f"{release}-service").strip().lower(),
            pdb=f"{release}-pdb",
            cache_claim=f"{release}-storage-claim",
            config_map=f"{release}-configs",
            network_policy=f"{release}-network-policy",
            download_job_base=f"{release}-init-vllm",
        )


def _config_value(value: Any) -> Any:
    if isinstance(value, bool | int | str) or (isinstance(value, float) and math.isfinite(value)):
        return value
    raise problem("config_value", f"is a {type(value).__name__}", "a string, int, finite float or bool", "flatten the value into a string")


def _config(data: Mapping[str, Any]) -> Mapping[str, Any]:
    for key, value in data.items():
        if names_a_secret(key) or (isinstance(value, str) and looks_like_secret(value)):
            raise ConfigError(
                path="",
                field=f"[{key!r}]",
                value=Redacted("str"),
                problem="is a secret; a ConfigMap is stored and shown in clear text",
                allowed="non-secret settings only",
                fix="keep the value in a Secret and pass it as env={name: SecretKeyRef(secret, key)}",
            )
    return data


ConfigData = Annotated[Mapping[EnvName, Annotated[str | int | float | bool, PlainValidator(_config_value)]], AfterValidator(_config)]


def _positive(value: int) -> int:
    if not 1 <= value <= 2**31 - 1:
        raise problem("range", "is out of range", "an integer >= 1 and <= 2147483647", "pick a value in range")
    return value


@value_class(kw_only=True)
class VllmServerProps(ServingProps):
    """Props of :class:`~vllm_constructs.VllmServer`. ``name``, ``model`` and ``resources`` are required."""

    rollout: AnyRollout = field(default_factory=RollingUpdate)
    """Default: RollingUpdate, maxSurge 0, maxUnavailable 1 (needs no spare accelerator)."""
    progress_deadline_seconds: Annotated[int, AfterValidator(_positive)] | None = None
    """Default: the startup budget plus 600 s."""
    extra_ports: tuple[ContainerPort, ...] = ()
    """More ports on the vLLM container. Default: none."""
    service_type: Annotated[ServiceType, Lax] = ServiceType.CLUSTER_IP
    """Default: ClusterIP."""
    env_config: ConfigData | None = None
    """Non-secret environment kept in a ConfigMap (values stringified); pods roll when it changes. Default: none."""
    env_from: tuple[AnyEnvFrom, ...] = ()
    """Existing ConfigMaps and Secrets imported whole. Default: none."""
    pdb_max_unavailable: IntOrPercent | None = 1
    """PodDisruptionBudget maxUnavailable; None: no PDB. Default: 1."""
    names: ServerNames | None = None
    """Object names. Default: ServerNames.for_server(name)."""


@dataclass(slots=True)
class ServerPlan:
    """Every object one VllmServer emits, and its serving facts. Implements ServingWorkload."""

    objects: list[KubeObject]
    serving: ServingFacts
    names: ServerNames
    model_path: str
    cache_access_mode: str | None
    deployment_id: str = "Resource"
    autoscaled: bool = False
    warnings: list[str] = field(default_factory=list)

    def hand_replicas_to_autoscaler(self) -> None:
        """Drop the Deployment's replica count (once)."""
        if self.autoscaled:
            return
        self.autoscaled = True
        objects.hand_over_replicas(self.objects, self.deployment_id)


def _check_layout(check: Checker, props: VllmServerProps) -> None:
    accel, world, engine = props.resources.accelerators, props.engine.world_size, props.engine
    if accel > 0 and world != accel:
        dp = f" x data_parallel_size {engine.data_parallel_size}" if engine.data_parallel_size != 1 else ""
        check.fail(
            "engine.tensor_parallel_size",
            engine.tensor_parallel_size,
            f"x pipeline_parallel_size {engine.pipeline_parallel_size}{dp} = {world} does not match the {accel} accelerators per pod",
            f"tensor_parallel_size x pipeline_parallel_size x data_parallel_size == resources.accelerators ({accel})",
            f"set tensor_parallel_size={max(accel // (engine.pipeline_parallel_size * engine.data_parallel_size), 1)} "
            f"or resources.accelerators={world}",
        )
    if accel == 0 and world != 1:
        check.fail(
            "engine.tensor_parallel_size",
            engine.tensor_parallel_size,
            "splits a CPU-only server",
            "tensor_parallel_size x pipeline_parallel_size x data_parallel_size == 1 without accelerators",
            "request accelerators or set the sizes to 1",
        )


def _names(check: Checker, props: VllmServerProps) -> ServerNames:
    names = props.names or check.within(lambda: ServerNames.for_server(props.name), "names.")
    check_service_name(check, "names.service" if props.names else "name", names.service)
    return names


def _server_env(check: Checker, props: VllmServerProps, delivery: Delivery) -> dict[str, EnvValue]:
    env = base_env(effective_home(props.env))
    env.update(delivery.env)
    if props.api_key is not None:
        env["VLLM_API_KEY"] = props.api_key
    merge_user_env(check, env, props.env, serving_owned_env(delivery))
    return env


def _env_config(
    check: Checker, props: VllmServerProps, env: Mapping[str, EnvValue], names: ServerNames, labels: Mapping[str, str]
) -> tuple[KubeObject | None, dict[str, str]]:
    if not props.env_config:
        return None, {}
    data = {k: ("true" if v else "false") if isinstance(v, bool) else str(v) for k, v in props.env_config.items()}
    for key, value in data.items():
        if key in env and env[key] != value:
            check.fail(
                "env_config",
                key,
                f"is set by the construct or env already (to {env[key]!r}), and container env wins over the ConfigMap",
                "names not otherwise set, or the same value",
                "remove one of the two",
            )
    cm = objects.config_map("Env", names.config_map, labels, data)
    return cm, {"vllm-constructs.io/config-hash": content_hash(data)}


def _pdb(
    check: Checker, props: VllmServerProps, names: ServerNames, labels: Mapping[str, str], selector: Mapping[str, str]
) -> KubeObject | None:
    if props.pdb_max_unavailable is None:
        return None
    return objects.disruption_budget("Disruption", names.pdb, labels, selector=selector, max_unavailable=props.pdb_max_unavailable)


def _deliver(check: Checker, props: VllmServerProps, names: ServerNames, labels: WorkloadLabels) -> tuple[Delivery, LoraPlan]:
    """The weights (and LoRA adapters) every pod needs, and the objects that put them there."""
    readers = Readers(replicas=props.replicas, surges=props.rollout.surges, max_surge=getattr(props.rollout, "max_surge", 0))
    delivery = plan_delivery(
        check,
        props,
        labels,
        claim_name=names.cache_claim,
        job_base=names.download_job_base or names.deployment,
        readers=readers,
        default_size="100Gi",
    )
    lora = plan_lora(check, props, labels, readers)
    return lora.extend(delivery), lora


@dataclass(frozen=True, slots=True)
class _Pod:
    """What the serving pod is built from, once delivery, env, config and logs are planned."""

    delivery: Delivery
    lora: LoraPlan
    logs: LogsPlan
    env: dict[str, EnvValue]
    env_from: tuple[EnvFrom, ...]
    annotations: dict[str, str]
    served: str


def _template(check: Checker, props: VllmServerProps, labels: WorkloadLabels, pod: _Pod) -> JsonObject:
    """The serving pod's template: vLLM with its args, env, mounts and probes, under the pod options."""
    args = [
        *props.engine.to_args(model_path=pod.delivery.model_path, served_name=pod.served, port=props.port),
        *revision_args(props.model, pod.delivery),
        *pod.logs.args,
        *pod.lora.args,
    ]
    mounted = (*pod.delivery.volumes, *pod.logs.volumes)
    main = MainContainer(
        name="vllm",
        image=props.image,
        resources=props.resources,
        accelerator=props.accelerator,
        command=("vllm", "serve"),
        args=tuple(args),
        env=pod.env,
        env_from=pod.env_from,
        port=ContainerPort("http", props.port),
        extra_ports=props.extra_ports,
        health=props.health,
        volumes=(*home_volumes(check, props.env, mounted), *mounted),
    )
    parallel = props.engine.world_size > 1
    delivery = pod.delivery
    return pod_template(
        check, PodInputs(main, props.pod, labels, parallel, delivery.init_containers, delivery.extra_volumes, pod.annotations)
    )


def _workload(check: Checker, props: VllmServerProps, names: ServerNames, labels: WorkloadLabels, template: JsonObject) -> list[KubeObject]:
    """Deployment, Service, PDB and NetworkPolicy around the pod template."""
    obj_labels = labels.labels(props.pod.labels)
    deadline = progress_deadline(check, props.progress_deadline_seconds, props.health)
    spec = deployment_spec(replicas=props.replicas, deadline=deadline, selector=labels.selector, rollout=props.rollout, template=template)
    deployment = KubeObject("Resource", "apps/v1", "Deployment", names.deployment, obj_labels, {"spec": spec}, dict(props.pod.annotations))
    service_type = str(props.service_type)
    service = objects.service(
        "Service", names.service, obj_labels, selector=labels.selector, port=props.service_port, service_type=service_type
    )
    planned = [o for o in (deployment, service, _pdb(check, props, names, obj_labels, labels.selector)) if o is not None]
    if props.network_policy is not None:
        np_spec = network_policy_spec(props.network_policy, {"matchLabels": dict(labels.selector)}, props.port)
        planned.append(objects.network_policy("NetworkPolicy", names.network_policy, obj_labels, np_spec))
    return planned


def plan_server(path: str, namespace: str, props: VllmServerProps) -> ServerPlan:
    """Check every prop in context and compute every object. Pure: raises ConfigError, creates nothing."""
    check = Checker(path)
    names = _names(check, props)
    check_shared(check, props)
    _check_layout(check, props)
    labels = WorkloadLabels(instance=props.name, part_of=props.part_of, version=props.image.version_label)
    delivery, lora = _deliver(check, props, names, labels)
    env = _server_env(check, props, delivery)
    obj_labels = labels.labels(props.pod.labels)
    logs = plan_json_logs(check, props, obj_labels)
    logs.add_env(check, env, props.env)
    config, annotations = _env_config(check, props, env, names, obj_labels)
    served = props.engine.served_model_name or props.model.default_served_name
    env_from: tuple[EnvFrom, ...] = ((EnvFrom.config_map(names.config_map),) if config else ()) + props.env_from
    pod = _Pod(delivery, lora, logs, env, env_from, annotations | logs.pod_annotations, served)
    template = _template(check, props, labels, pod)
    supporting = [o for o in (config, logs.config_map, *delivery.objects) if o is not None]
    planned = [*supporting, *_workload(check, props, names, labels, template)]
    facts = lora.add_facts(_facts(props, namespace, names, labels, template, served, delivery))
    planned = with_capacity(check, facts, planned, "Resource")  # refuses what vLLM cannot start; annotates the plan
    access = str(delivery.access_mode) if delivery.access_mode else None
    return ServerPlan(annotate(_ordered(planned), props.gitops), facts, names, delivery.model_path, access)


_ORDER = {"Env": 0, "Logging": 0, "ModelCache": 1, "ModelDownload": 2, "Resource": 3, "Service": 4, "Disruption": 5, "NetworkPolicy": 6}


def _ordered(planned: list[KubeObject]) -> list[KubeObject]:
    return sorted(planned, key=lambda o: _ORDER.get(o.id, 99))


def _facts(
    props: VllmServerProps,
    namespace: str,
    names: ServerNames,
    labels: WorkloadLabels,
    template: JsonObject,
    served: str,
    delivery: Delivery,
) -> ServingFacts:
    access = delivery.access_mode
    one_node = access in ONE_NODE
    target = ScaleTarget(
        "apps/v1",
        "Deployment",
        names.deployment,
        max_replicas=1 if one_node else None,
        limit_reason=f"the model cache is {access} and attaches to one node" if one_node else "",
    )
    return serving_facts(
        props,
        namespace,
        labels,
        template["metadata"]["labels"],
        served,
        service_name=names.service,
        series=ServerSeries.for_deployment(namespace, props.name, names.deployment),
        scale_target=target,
        startup_seconds=props.health.startup_timeout_seconds,
        pods_per_replica=1,
        accelerators_per_pod=props.resources.accelerators,
    )


__all__ += ["MODEL_MOUNT"]
