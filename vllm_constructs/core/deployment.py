"""A Deployment for one accelerator workload, pure: :class:`GpuDeploymentProps` in, a :class:`DeploymentPlan` out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from .objects import KubeObject, hand_over_replicas
from .pod import MainContainer, PodInputs, deployment_spec, pod_template, progress_deadline
from .promql import ServerSeries
from .serving import ScaleTarget, ServingFacts
from .validation import INT32_MAX, Checker, DnsLabel, in_range, value_class
from .values import (
    Accelerator,
    AnyEnvFrom,
    AnyRollout,
    ContainerPort,
    EnvMap,
    HealthChecks,
    Image,
    PodOptions,
    Resources,
    RollingUpdate,
    Volume,
    WorkloadLabels,
)

__all__ = ["DeploymentPlan", "GpuDeploymentProps", "plan_gpu_deployment"]

JsonObject = dict[str, Any]


@value_class(kw_only=True)
class GpuDeploymentProps:
    """Props of :class:`~vllm_constructs.GpuDeployment`. Only ``name``, ``image`` and ``resources`` are required."""

    name: DnsLabel
    """Deployment name, a DNS-1123 label. No default."""
    image: Image
    """Container image; a tag other than 'latest' or a digest. No default."""
    resources: Resources
    """cpu, memory and accelerator count. No default."""
    labels: WorkloadLabels | None = None
    """Labels and selector. Default: name 'vllm', instance = ``name``, component 'server'."""
    container_name: DnsLabel = "server"
    """Name of the main container. Default: server."""
    command: tuple[str, ...] = ()
    """Entrypoint override. Default: the image's."""
    args: tuple[str, ...] = ()
    """Arguments. Default: none."""
    env: EnvMap = field(default_factory=dict)
    """Environment, in order: literal strings (never secrets) or references. Default: none."""
    env_from: tuple[AnyEnvFrom, ...] = ()
    """ConfigMaps and Secrets imported whole. Default: none."""
    port: ContainerPort = field(default_factory=lambda: ContainerPort("http", 8000))
    """The serving port; probes and Services use its name. Default: http/8000."""
    extra_ports: tuple[ContainerPort, ...] = ()
    """More ports on the main container. Default: none."""
    accelerator: Accelerator = field(default_factory=Accelerator.nvidia)
    """Accelerator kind. Default: nvidia.com/gpu."""
    parallel: bool | None = None
    """Whether the workload spans several accelerators. Default: accelerators > 1."""
    health: HealthChecks = field(default_factory=HealthChecks)
    """Startup, readiness and liveness probes. Default: see HealthChecks."""
    replicas: Annotated[int, in_range(0, INT32_MAX)] | None = 1
    """Replica count; None omits spec.replicas (an autoscaler owns it). Default: 1."""
    rollout: AnyRollout = field(default_factory=RollingUpdate)
    """Default: RollingUpdate with maxSurge 0, maxUnavailable 1 (needs no spare accelerator)."""
    progress_deadline_seconds: Annotated[int, in_range(1, INT32_MAX)] | None = None
    """Default: the startup budget plus 600 s."""
    volumes: tuple[Volume, ...] = ()
    """Volumes mounted into the main container. Default: none."""
    pod: PodOptions = field(default_factory=PodOptions)
    """Scheduling, security, sidecars and metadata of the pods. Default: see PodOptions."""


@dataclass(slots=True)
class DeploymentPlan:
    objects: list[KubeObject]
    serving: ServingFacts
    autoscaled: bool = False

    def hand_replicas_to_autoscaler(self) -> None:
        """Drop the Deployment's replica count (once)."""
        if self.autoscaled:
            return
        self.autoscaled = True
        hand_over_replicas(self.objects, self.objects[0].id)


def plan_gpu_deployment(path: str, namespace: str, props: GpuDeploymentProps) -> DeploymentPlan:
    """Check the props in context and build the Deployment. Pure: raises ConfigError, creates nothing."""
    check = Checker(path)
    labels = props.labels or WorkloadLabels(instance=props.name, version=props.image.version_label)
    main = MainContainer(
        name=props.container_name,
        image=props.image,
        resources=props.resources,
        accelerator=props.accelerator,
        command=props.command,
        args=props.args,
        env=props.env,
        env_from=props.env_from,
        port=props.port,
        extra_ports=props.extra_ports,
        health=props.health,
        volumes=props.volumes,
    )
    parallel = props.parallel if props.parallel is not None else props.resources.accelerators > 1
    template = pod_template(check, PodInputs(main, props.pod, labels, parallel))
    deadline = progress_deadline(check, props.progress_deadline_seconds, props.health)
    spec = deployment_spec(replicas=props.replicas, deadline=deadline, selector=labels.selector, rollout=props.rollout, template=template)
    obj = KubeObject(
        "Resource", "apps/v1", "Deployment", props.name, labels.labels(props.pod.labels), {"spec": spec}, dict(props.pod.annotations)
    )
    facts = ServingFacts(
        server_name=labels.instance,
        namespace=namespace,
        labels=labels,
        selector_labels=labels.selector,
        pod_labels=dict(template["metadata"]["labels"]),
        port=props.port,
        service_name="",
        service_port=0,
        startup_seconds=props.health.startup_timeout_seconds,
        scale_target=ScaleTarget("apps/v1", "Deployment", props.name),
        unscalable_reason="",
        series=ServerSeries.for_deployment(namespace, labels.instance, props.name),
        served_model_name="",
        container_name=props.container_name,
        model=None,
        engine=None,
        resources=props.resources,
        accelerator=props.accelerator,
        accelerators_per_pod=props.resources.accelerators,
        pods_per_replica=1,
        replicas=props.replicas or 0,
        gpu_products=props.pod.gpu_products.products if props.pod.gpu_products else (),
        version=props.image.version_label,
    )
    return DeploymentPlan([obj], facts, autoscaled=props.replicas is None)
