"""The values of vLLM's example Helm chart as one typed model: the union of the keys of every version of the chart
(vllm-project/vllm ``examples/{,online_serving/,deployment/}chart-helm`` and its branches), with the chart's keys as
field aliases so every error names the user's own key path.

Pydantic v2 models, ``extra="forbid"``: an unknown key is refused (the loader adds the nearest known key). Keys the
project deliberately does not map (``proxy.*``, fork-only KEDA triggers, ...) are refused before this model with
their reason (see :mod:`vllm_constructs.chart.keys`). Free-form Kubernetes JSON (``affinity``, ``customObjects``,
containers) is checked to be plain JSON and passed on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from .types import (
    Bool,
    EnvNameStr,
    IntOrPercent,
    JsonObject,
    LabelMap,
    MaxUnavailable,
    PortNumber,
    PortOrName,
    Quantity,
    Scalar,
    Str,
    StrList,
    StrMap,
    chart_int,
    one_of,
)

__all__ = ["ChartValues"]

Count = Annotated[int, chart_int(0)]
Positive = Annotated[int, chart_int(1)]
Seconds = Annotated[int, chart_int(0, 86400 * 7)]


M = TypeVar("M", bound=BaseModel)


def _empty(model: type[M]) -> Callable[[], M]:
    """A block's defaults (the block absent from the values)."""
    return lambda: model.model_validate({})


class Values(BaseModel):
    """Base of every values block: strict, unknown keys refused, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=False, defer_build=True)


# ------------------------------------------------------------------------------------------------ environment


class KeyRef(Values):
    name: Str
    key: Str
    optional: Bool | None = None


class FieldRefValues(Values):
    field_path: Str = Field(alias="fieldPath")
    api_version: Str | None = Field(None, alias="apiVersion")


class EnvSource(Values):
    secret_key_ref: KeyRef | None = Field(None, alias="secretKeyRef")
    config_map_key_ref: KeyRef | None = Field(None, alias="configMapKeyRef")
    field_ref: FieldRefValues | None = Field(None, alias="fieldRef")


class EnvVar(Values):
    name: EnvNameStr
    value: Scalar | None = None
    value_from: EnvSource | None = Field(None, alias="valueFrom")


# ------------------------------------------------------------------------------------------------ image and container


class Capabilities(Values):
    add: StrList | None = None
    drop: StrList | None = None


class Seccomp(Values):
    type: Annotated[str, one_of("RuntimeDefault", "Unconfined", "Localhost")]


class SecurityContextValues(Values):
    run_as_user: Annotated[int, chart_int(0)] | None = Field(None, alias="runAsUser")
    run_as_group: Annotated[int, chart_int(0)] | None = Field(None, alias="runAsGroup")
    run_as_non_root: Bool | None = Field(None, alias="runAsNonRoot")
    read_only_root_filesystem: Bool | None = Field(None, alias="readOnlyRootFilesystem")
    allow_privilege_escalation: Bool | None = Field(None, alias="allowPrivilegeEscalation")
    privileged: Bool | None = None
    capabilities: Capabilities | None = None
    seccomp_profile: Seccomp | None = Field(None, alias="seccompProfile")


class ImageValues(Values):
    repository: Str
    tag: Str
    command: StrList | None = None
    env: list[EnvVar] | None = None
    security_context: SecurityContextValues | None = Field(None, alias="securityContext")
    run_as_user: Annotated[int, chart_int(0)] | None = Field(None, alias="runAsUser")


class ExtraPort(Values):
    name: Str
    container_port: PortNumber = Field(alias="containerPort")
    protocol: Annotated[str, one_of("TCP", "UDP", "SCTP")] | None = None


# ------------------------------------------------------------------------------------------------ probes


class HttpGet(Values):
    path: Str | None = None
    port: PortOrName | None = None
    scheme: Annotated[str, one_of("HTTP", "HTTPS")] | None = None


class Probe(Values):
    initial_delay_seconds: Seconds | None = Field(None, alias="initialDelaySeconds")
    period_seconds: Annotated[int, chart_int(1, 600)] | None = Field(None, alias="periodSeconds")
    timeout_seconds: Annotated[int, chart_int(1, 600)] | None = Field(None, alias="timeoutSeconds")
    success_threshold: Annotated[int, chart_int(1, 100)] | None = Field(None, alias="successThreshold")
    failure_threshold: Annotated[int, chart_int(1, 100000)] | None = Field(None, alias="failureThreshold")
    http_get: HttpGet | None = Field(None, alias="httpGet")
    exec: JsonObject | None = None
    """exec, tcpSocket and grpc are refused by the key table (HealthChecks probes HTTP); null is accepted."""
    tcp_socket: JsonObject | None = Field(None, alias="tcpSocket")
    grpc: JsonObject | None = None


# ------------------------------------------------------------------------------------------------ scheduling, rollout


class Toleration(Values):
    key: Str | None = None
    operator: Annotated[str, one_of("Exists", "Equal")] | None = None
    value: Str | None = None
    effect: Annotated[str, one_of("NoSchedule", "PreferNoSchedule", "NoExecute")] | None = None
    toleration_seconds: Annotated[int, chart_int(0)] | None = Field(None, alias="tolerationSeconds")


class RollingUpdateValues(Values):
    max_surge: IntOrPercent | None = Field(None, alias="maxSurge")
    max_unavailable: IntOrPercent | None = Field(None, alias="maxUnavailable")


class Strategy(Values):
    type: Annotated[str, one_of("RollingUpdate", "Recreate")] | None = None
    rolling_update: RollingUpdateValues | None = Field(None, alias="rollingUpdate")


class ResourceAmounts(Values):
    cpu: Quantity
    memory: Quantity
    gpu: Annotated[int, chart_int(0, 64)] | None = Field(None, alias="nvidia.com/gpu")


class ResourcesValues(Values):
    requests: ResourceAmounts
    limits: ResourceAmounts


class NamedRef(Values):
    name: Str


# ------------------------------------------------------------------------------------------------ scaling and monitoring


class Autoscaling(Values):
    enabled: Bool = False
    min_replicas: Positive = Field(1, alias="minReplicas")
    max_replicas: Positive = Field(100, alias="maxReplicas")
    target_cpu: Annotated[int, chart_int(0, 1000)] | None = Field(None, alias="targetCPUUtilizationPercentage")
    target_memory: Annotated[int, chart_int(0, 1000)] | None = Field(None, alias="targetMemoryUtilizationPercentage")


class Keda(Values):
    enabled: Bool = False
    min_replica_count: Count = Field(1, alias="minReplicaCount")
    max_replica_count: Positive = Field(3, alias="maxReplicaCount")
    polling_interval: Annotated[int, chart_int(1, 3600)] = Field(15, alias="pollingInterval")
    cooldown_period: Annotated[int, chart_int(0, 86400)] = Field(120, alias="cooldownPeriod")
    initial_cooldown_period: Annotated[int, chart_int(0, 86400)] = Field(0, alias="initialCooldownPeriod")
    prometheus_server_address: Str = Field("", alias="prometheusServerAddress")
    query: Str = "sum(vllm:num_requests_waiting)"
    threshold: Scalar = "2"


class MetricFilter(Values):
    regex: Str = ""
    action: Annotated[str, one_of("keep", "drop")] = "keep"


class ServiceMonitor(Values):
    enabled: Bool = False
    additional_labels: LabelMap = Field(default_factory=dict, alias="additionalLabels")
    port: Str = "service-port"
    path: Str = "/metrics"
    interval: Str = "30s"
    metric_filter: MetricFilter = Field(default_factory=_empty(MetricFilter), alias="metricFilter")


class Shm(Values):
    enabled: Bool = False
    size: Str | None = "16Gi"


# ------------------------------------------------------------------------------------------------ model download


class DownloadImage(Values):
    repository: Str
    tag: Str
    pull_policy: Annotated[str, one_of("IfNotPresent", "Always", "Never")] = Field("IfNotPresent", alias="pullPolicy")


class Commands(Values):
    command: StrList | None = None
    args: StrList | None = None
    env: list[EnvVar] | None = None


class ModelDownloadValues(Values):
    enabled: Bool = True
    image: DownloadImage
    wait_container: Commands = Field(default_factory=_empty(Commands), alias="waitContainer")
    download_job: Commands = Field(default_factory=_empty(Commands), alias="downloadJob")


class ExtraInit(Values):
    model_download: ModelDownloadValues = Field(alias="modelDownload")
    init_containers: list[JsonObject] = Field(default_factory=list, alias="initContainers")
    s3_model_path: Str | None = Field(None, alias="s3modelpath")
    pvc_storage: Quantity = Field("1Gi", alias="pvcStorage")
    aws_ec2_metadata_disabled: Bool | None = Field(None, alias="awsEc2MetadataDisabled")
    pvc_access_mode: Annotated[str, one_of("ReadWriteOnce", "ReadWriteMany", "ReadWriteOncePod")] | None = Field(
        None, alias="pvcAccessMode"
    )
    pvc_storage_class_name: Str | None = Field(None, alias="pvcStorageClassName")


class KeyRefName(Values):
    name: Str
    optional: Bool | None = None


class ExternalConfig(Values):
    config_map_ref: KeyRefName | None = Field(None, alias="configMapRef")
    secret_ref: KeyRefName | None = Field(None, alias="secretRef")
    prefix: Str | None = None


# ------------------------------------------------------------------------------------------------ the whole chart


class ChartValues(Values):
    """Every values key the chart's versions read (after the loader merged defaults, files and --set)."""

    image: ImageValues
    container_port: PortNumber = Field(8000, alias="containerPort")
    service_name: Str | None = Field(None, alias="serviceName")
    service_port: Annotated[int, chart_int(0, 65535)] | None = Field(80, alias="servicePort")
    extra_ports: list[ExtraPort] = Field(default_factory=list, alias="extraPorts")
    replica_count: Annotated[int, chart_int(0, 1000)] = Field(1, alias="replicaCount")
    deployment_strategy: Strategy | None = Field(None, alias="deploymentStrategy")
    progress_deadline_seconds: Annotated[int, chart_int(1)] = Field(alias="progressDeadlineSeconds")
    resources: ResourcesValues
    gpu_models: StrList | None = Field(None, alias="gpuModels")
    affinity: JsonObject | None = None
    node_selector: LabelMap | None = Field(None, alias="nodeSelector")
    tolerations: list[Toleration] | None = None
    labels: LabelMap | None = None
    pod_annotations: StrMap | None = Field(None, alias="podAnnotations")
    dshm_size_limit: Quantity | None = Field(None, alias="dshmSizeLimit")
    shm: Shm = Field(default_factory=_empty(Shm))
    readiness_probe: Probe | None = Field(None, alias="readinessProbe")
    liveness_probe: Probe | None = Field(None, alias="livenessProbe")
    startup_probe: Probe | None = Field(None, alias="startupProbe")
    autoscaling: Autoscaling = Field(default_factory=_empty(Autoscaling))
    keda: Keda = Field(default_factory=_empty(Keda))
    service_monitor: ServiceMonitor = Field(default_factory=_empty(ServiceMonitor), alias="serviceMonitor")
    configs: dict[EnvNameStr, Scalar] | None = None
    secrets: dict[Str, Str] | None = None
    external_configs: list[ExternalConfig] = Field(default_factory=list, alias="externalConfigs")
    custom_objects: list[JsonObject] = Field(default_factory=list, alias="customObjects")
    max_unavailable_pdb: MaxUnavailable = Field(None, alias="maxUnavailablePodDisruptionBudget")
    extra_containers: list[JsonObject] = Field(default_factory=list, alias="extraContainers")
    extra_init: ExtraInit | None = Field(None, alias="extraInit")
    run_as_user: Annotated[int, chart_int(0)] | None = Field(None, alias="runAsUser")
    image_pull_secrets: list[NamedRef] = Field(default_factory=list, alias="imagePullSecrets")
    termination_grace_period_seconds: Annotated[int, chart_int(1, 86400)] | None = Field(None, alias="terminationGracePeriodSeconds")
