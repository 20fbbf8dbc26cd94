"""Autoscaler: one HorizontalPodAutoscaler or KEDA ScaledObject for one vLLM workload.

Three ways to scale, chosen with :class:`Scaling`:

- ``Scaling.cpu_memory(...)``: HPA on CPU/memory utilization (the upstream chart's ``autoscaling.*``).
- ``Scaling.vllm_metrics(...)``: HPA ``Pods`` metrics on vLLM's own gauges/counters, plus the Prometheus
  Adapter rules (a ConfigMap) that expose exactly those metric names.
- ``Scaling.keda(...)``: a KEDA ScaledObject with Prometheus triggers; every query is a ``sum`` over this
  server's pods only, missing data is an error (``ignoreNullValues: "false"``) with a fallback that never
  scales down, and scale-to-zero is possible with a wake query.

The workload stops rendering ``spec.replicas`` so that a GitOps sync never fights the autoscaler.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol, runtime_checkable

import cdk8s
import yaml
from constructs import Construct, Node

from ._check import Checker
from ._emit import JsonObject, adopt, emit, namespace_of, path_of, root_of
from ._gvk import SCALED_OBJECT, TRIGGER_AUTHENTICATION
from .promql import RENAMED_METRICS, VLLM_METRICS, ServerSeries, adapter_metric_name, adapter_rule
from .ray_cluster import RayCluster
from .vllm_server import VllmServer

__all__ = [
    "Autoscaler",
    "AutoscalerProps",
    "KedaAuthentication",
    "ScaleTarget",
    "Scaling",
    "ScalingBehavior",
    "ScalingMode",
]

HPA_MAX_PERIOD_SECONDS = 1800
"""The HPA API's upper bound for a scaling policy's periodSeconds."""


@runtime_checkable
class ScaleTarget(Protocol):
    """Anything with a scale subresource that an autoscaler can own (GpuDeployment, a LeaderWorkerSet construct)."""

    @property
    def node(self) -> Node: ...
    @property
    def api_version(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def selector_labels(self) -> dict[str, str]: ...
    def hand_replicas_to_autoscaler(self) -> None: ...


class ScalingMode(enum.StrEnum):
    CPU_MEMORY = "cpu-memory"
    VLLM_METRICS = "vllm-metrics"
    KEDA = "keda"


@dataclass(frozen=True, kw_only=True, slots=True)
class KedaAuthentication:
    """A reference to an existing (Cluster)TriggerAuthentication holding Prometheus credentials."""

    name: str
    """Name of the TriggerAuthentication. No default."""
    cluster_scoped: bool = False
    """Refer to a ClusterTriggerAuthentication. Default: False."""
    modes: str = "bearer"
    """KEDA Prometheus authModes: bearer, basic, tls, custom (comma separated). Default: bearer."""


@dataclass(frozen=True, slots=True)
class Scaling:
    """How to scale. Use :meth:`cpu_memory`, :meth:`vllm_metrics` or :meth:`keda`."""

    mode: ScalingMode
    cpu_percent: int | None = None
    memory_percent: int | None = None
    targets: tuple[tuple[str, float], ...] = ()
    prometheus_address: str | None = None
    activation_threshold: float = 0.0
    failure_threshold: int = 3
    fallback_replicas: int | None = None
    authentication: KedaAuthentication | None = None
    idle_replica_count: int | None = None
    wake_query: str | None = None
    polling_interval_seconds: int = 15
    cooldown_seconds: int = 300

    @classmethod
    def cpu_memory(cls, cpu_percent: int | None = 80, memory_percent: int | None = None) -> Scaling:
        """HPA on average CPU and/or memory utilization of the requests (percent)."""
        return cls(ScalingMode.CPU_MEMORY, cpu_percent=cpu_percent, memory_percent=memory_percent)

    @classmethod
    def vllm_metrics(cls, targets: Mapping[str, float] | None = None) -> Scaling:
        """HPA ``Pods`` metrics: per-pod average target of each vLLM metric (counters as per-second rates).

        Default: 5 waiting requests per pod.
        """
        chosen = {"vllm:num_requests_waiting": 5.0} if targets is None else targets
        return cls(ScalingMode.VLLM_METRICS, targets=tuple(chosen.items()))

    @classmethod
    def keda(
        cls,
        prometheus_address: str,
        targets: Mapping[str, float] | None = None,
        *,
        activation_threshold: float = 0.0,
        failure_threshold: int = 3,
        fallback_replicas: int | None = None,
        authentication: KedaAuthentication | None = None,
        idle_replica_count: int | None = None,
        wake_query: str | None = None,
        polling_interval_seconds: int = 15,
        cooldown_seconds: int = 300,
    ) -> Scaling:
        """KEDA ScaledObject, one Prometheus trigger per target (per-pod average of the server's sum).

        ``fallback_replicas`` (default: min_replicas) is used, or the current count if higher, after
        ``failure_threshold`` failed queries. ``idle_replica_count=0`` scales to zero and needs
        ``wake_query``: PromQL measuring demand outside the pods (e.g. a gateway's request rate), since
        a server with no pods reports nothing.
        """
        chosen = {"vllm:num_requests_waiting": 5.0} if targets is None else targets
        return cls(
            ScalingMode.KEDA,
            targets=tuple(chosen.items()),
            prometheus_address=prometheus_address,
            activation_threshold=activation_threshold,
            failure_threshold=failure_threshold,
            fallback_replicas=fallback_replicas,
            authentication=authentication,
            idle_replica_count=idle_replica_count,
            wake_query=wake_query,
            polling_interval_seconds=polling_interval_seconds,
            cooldown_seconds=cooldown_seconds,
        )

    @classmethod
    def from_chart_values(cls, autoscaling: Mapping[str, object]) -> tuple[Scaling, int, int] | None:
        """The upstream chart's ``autoscaling`` values as (scaling, min_replicas, max_replicas); None when disabled."""
        if not autoscaling.get("enabled"):
            return None
        cpu = autoscaling.get("targetCPUUtilizationPercentage")
        mem = autoscaling.get("targetMemoryUtilizationPercentage")
        low, high = autoscaling.get("minReplicas", 1), autoscaling.get("maxReplicas", 100)
        scaling = cls.cpu_memory(
            cpu_percent=int(cpu) if cpu else (None if mem else 80),  # type: ignore[call-overload]
            memory_percent=int(mem) if mem else None,  # type: ignore[call-overload]
        )
        return scaling, int(low), int(high)  # type: ignore[call-overload]


@dataclass(frozen=True, kw_only=True, slots=True)
class ScalingBehavior:
    """HPA behavior: slow, bounded steps fit for pods that take minutes to load a model."""

    scale_up_pods: int = 1
    """Pods added per scale-up period. Default: 1."""
    scale_up_period_seconds: int | None = None
    """Scale-up period; never shorter than the startup budget. Default: the startup budget (at most 1800, the API's limit)."""
    scale_up_stabilization_seconds: int = 0
    """Default: 0 (react to the first high reading; the period bounds the pace)."""
    scale_down_pods: int = 1
    """Pods removed per scale-down period. Default: 1."""
    scale_down_period_seconds: int = 300
    """Default: 300."""
    scale_down_stabilization_seconds: int = 600
    """Highest recommendation of this window wins, so a short lull never drops a loaded pod. Default: 600."""


@dataclass(frozen=True, kw_only=True, slots=True)
class AutoscalerProps:
    """Props of :class:`Autoscaler`. ``target``, ``scaling`` and ``max_replicas`` are required."""

    target: VllmServer | RayCluster | ScaleTarget
    """The VllmServer, or any workload with a scale subresource. No default."""
    scaling: Scaling
    """What to scale on. No default."""
    max_replicas: int
    """No default."""
    min_replicas: int = 1
    """At least 1 (scale-to-zero is KEDA's idle_replica_count). Default: 1."""
    behavior: ScalingBehavior = field(default_factory=ScalingBehavior)
    """Default: +1 pod per startup budget, -1 pod per 5 min after 10 min of stability."""
    startup_seconds: int | None = None
    """Startup budget of one pod. Default: the VllmServer's health.startup_timeout_seconds (required for other targets)."""
    name: str | None = None
    """Name of the HPA/ScaledObject. Default: the workload's name."""


def _quantity(value: float) -> str:
    """A Kubernetes quantity for a positive number, in milli-units when fractional."""
    d = Decimal(str(value))
    if d == d.to_integral_value():
        return str(int(d))
    return f"{int((d * 1000).to_integral_value())}m"


def _number(value: float) -> str:
    """A number as KEDA reads it from its string metadata."""
    d = Decimal(str(value))
    return str(int(d)) if d == d.to_integral_value() else format(d.normalize(), "f")


@dataclass(frozen=True, slots=True)
class _Resolved:
    workload: ScaleTarget
    series: ServerSeries | None
    startup: int
    cache_access_mode: str | None


def _resolve(check: Checker, props: AutoscalerProps) -> _Resolved:
    target = props.target
    if isinstance(target, VllmServer):
        dep = target.deployment
        ns = namespace_of(target)
        series = ServerSeries.for_deployment(ns, dep.identity.instance, dep.name) if ns else None
        startup = props.startup_seconds if props.startup_seconds is not None else target.props.health.startup_timeout_seconds
        return _Resolved(dep, series, startup, target.cache_access_mode)
    if isinstance(target, RayCluster):
        if not target.scalable:
            check.fail(
                "target",
                target.kind,
                "has no scale subresource for whole serving groups (KubeRay scales Ray workers, not vLLM replicas)",
                "a VllmServer, or a RayCluster on MultiNodeBackend.LWS or LWS_RAY_FREE",
                "use backend=MultiNodeBackend.LWS to autoscale multi-node replicas",
            )
        ns = namespace_of(target)
        group = target.selector_labels.get("app.kubernetes.io/instance", target.name)
        # leaders ('<name>-<group index>') are the serving pods, so they alone carry vLLM's metrics
        leaders = ServerSeries(ns, group, f"{target.name}-[0-9]+") if ns else None
        budget = props.startup_seconds
        if budget is None:
            budget = target.props.health.startup_timeout_seconds + target.props.cluster_timeout_seconds
        return _Resolved(target, leaders, budget, "ReadWriteMany")
    if not isinstance(target, ScaleTarget):
        check.fail(
            "target",
            type(target).__name__,
            "has no scale subresource handle",
            "a VllmServer or an object with api_version, kind, name, selector_labels and hand_replicas_to_autoscaler()",
            "pass the VllmServer (or its workload construct)",
        )
    if props.startup_seconds is None:
        check.fail(
            "startup_seconds",
            None,
            f"is unknown for a {target.kind}",
            "the pod startup budget in seconds",
            "pass startup_seconds (the startup probe's budget)",
        )
    instance = target.selector_labels.get("app.kubernetes.io/instance")
    ns = namespace_of(target)  # type: ignore[arg-type]
    series = ServerSeries(ns, instance, f"{target.name}-.+") if ns and instance else None
    return _Resolved(target, series, props.startup_seconds, None)


def _claim(scope: Construct, check: Checker, workload: ScaleTarget, path: str) -> None:
    root = root_of(scope)
    reg: dict[str, str] | None = getattr(root, "_vllm_constructs_autoscalers", None)
    if reg is None:
        reg = {}
        root._vllm_constructs_autoscalers = reg  # type: ignore[attr-defined]
    key = path_of(workload) if isinstance(workload, Construct) else workload.node.path
    if key in reg:
        check.fail(
            "target",
            workload.name,
            f"is already scaled by {reg[key]}; two autoscalers would fight over its replicas",
            "one autoscaler per workload",
            "combine the metrics into one Autoscaler",
        )
    reg[key] = path


def _behavior(check: Checker, b: ScalingBehavior, startup: int) -> JsonObject:
    check.integer("behavior.scale_up_pods", b.scale_up_pods, minimum=1)
    check.integer("behavior.scale_down_pods", b.scale_down_pods, minimum=1)
    check.integer("behavior.scale_down_period_seconds", b.scale_down_period_seconds, minimum=1, maximum=HPA_MAX_PERIOD_SECONDS)
    check.integer("behavior.scale_up_stabilization_seconds", b.scale_up_stabilization_seconds, minimum=0, maximum=3600)
    check.integer("behavior.scale_down_stabilization_seconds", b.scale_down_stabilization_seconds, minimum=0, maximum=3600)
    floor = min(startup, HPA_MAX_PERIOD_SECONDS)
    up_period = b.scale_up_period_seconds if b.scale_up_period_seconds is not None else floor
    check.integer("behavior.scale_up_period_seconds", up_period, minimum=1, maximum=HPA_MAX_PERIOD_SECONDS)
    if up_period < floor:
        check.fail(
            "behavior.scale_up_period_seconds",
            up_period,
            f"is shorter than the startup budget ({startup} s), so new pods would be added before the previous ones could serve",
            f"an integer >= {floor}",
            "leave it unset, or lower the server's health.startup_timeout_seconds",
        )
    return {
        "scaleUp": {
            "stabilizationWindowSeconds": b.scale_up_stabilization_seconds,
            "selectPolicy": "Max",
            "policies": [{"type": "Pods", "value": b.scale_up_pods, "periodSeconds": up_period}],
        },
        "scaleDown": {
            "stabilizationWindowSeconds": b.scale_down_stabilization_seconds,
            "selectPolicy": "Max",
            "policies": [{"type": "Pods", "value": b.scale_down_pods, "periodSeconds": b.scale_down_period_seconds}],
        },
    }


def _check_targets(check: Checker, targets: tuple[tuple[str, float], ...]) -> None:
    if not targets:
        check.fail(
            "scaling.targets",
            {},
            "is empty",
            "at least one vLLM metric and its per-pod target",
            "pass e.g. {'vllm:num_requests_waiting': 5}",
        )
    for metric, value in targets:
        if metric in RENAMED_METRICS:
            check.fail(
                "scaling.targets",
                metric,
                "is deprecated in vLLM's V1 metrics",
                ", ".join(VLLM_METRICS),
                f"use {RENAMED_METRICS[metric]!r}",
            )
        if metric not in VLLM_METRICS:
            check.fail("scaling.targets", metric, "is not a known vLLM metric", ", ".join(VLLM_METRICS), "use one of those names")
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            check.fail(
                f"scaling.targets[{metric!r}]",
                value,
                "is not positive",
                "a number above zero",
                "use the per-pod value at which to add pods",
            )
        if metric == "vllm:kv_cache_usage_perc" and value > 1:
            check.fail(
                f"scaling.targets[{metric!r}]",
                value,
                "is above 1, but the metric is a fraction (0..1)",
                "a fraction such as 0.8",
                "divide the percentage by 100",
            )


def plan_autoscaler(path: str, props: AutoscalerProps, resolved: _Resolved) -> tuple[str, JsonObject, dict[str, str] | None]:
    """Check the props and build (kind, spec, adapter ConfigMap data). Pure: creates nothing."""
    check = Checker(path)
    s = props.scaling
    wl = resolved.workload
    check.integer("min_replicas", props.min_replicas, minimum=0)
    check.integer("max_replicas", props.max_replicas, minimum=1)
    if props.min_replicas == 0:
        check.fail(
            "min_replicas",
            0,
            "would scale to zero, which a HorizontalPodAutoscaler cannot do and KEDA expresses as idle_replica_count",
            "min_replicas >= 1",
            "use Scaling.keda(..., idle_replica_count=0, wake_query=...) for scale-to-zero",
        )
    check.min_max("min_replicas", props.min_replicas, "max_replicas", props.max_replicas, props.min_replicas)
    if resolved.cache_access_mode in ("ReadWriteOnce", "ReadWriteOncePod") and props.max_replicas > 1:
        check.fail(
            "max_replicas",
            props.max_replicas,
            f"would start pods on other nodes, but the model cache is {resolved.cache_access_mode} and attaches to one node",
            "max_replicas=1 with a ReadWriteOnce cache",
            "give the server a ReadWriteMany cache: ModelCache.pvc(size, access_mode='ReadWriteMany')",
        )
    check.integer("startup_seconds", resolved.startup, minimum=1)
    behavior = _behavior(check, props.behavior, resolved.startup)
    ref = {"apiVersion": wl.api_version, "kind": wl.kind, "name": wl.name}

    if s.mode is ScalingMode.CPU_MEMORY:
        metrics: list[JsonObject] = []
        for res, pct in (("cpu", s.cpu_percent), ("memory", s.memory_percent)):
            if pct is None:
                continue
            check.integer(f"scaling.{res}_percent", pct, minimum=1, maximum=1000)
            metrics.append({"type": "Resource", "resource": {"name": res, "target": {"type": "Utilization", "averageUtilization": pct}}})
        if not metrics:
            check.fail(
                "scaling",
                "cpu_memory()",
                "has neither a CPU nor a memory target",
                "cpu_percent and/or memory_percent",
                "pass cpu_percent=80",
            )
        return "HorizontalPodAutoscaler", _hpa(ref, props, metrics, behavior), None

    _check_targets(check, s.targets)
    if s.mode is ScalingMode.VLLM_METRICS:
        metrics = [
            {
                "type": "Pods",
                "pods": {"metric": {"name": adapter_metric_name(m)}, "target": {"type": "AverageValue", "averageValue": _quantity(v)}},
            }
            for m, v in s.targets
        ]
        rules = {"rules": [adapter_rule(m) for m, _ in s.targets]}
        return "HorizontalPodAutoscaler", _hpa(ref, props, metrics, behavior), {"config.yaml": yaml.safe_dump(rules, sort_keys=False)}

    series = resolved.series
    if series is None:
        check.fail(
            "target",
            wl.name,
            "is in a chart without a namespace, so its metrics cannot be told apart from a namesake's in another namespace",
            "a chart with namespace=...",
            "set the chart's namespace",
        )
    if not s.prometheus_address or not s.prometheus_address.startswith(("http://", "https://")):
        check.fail(
            "scaling.prometheus_address",
            s.prometheus_address,
            "is not an http(s) URL",
            "e.g. 'http://prometheus-operated.monitoring:9090'",
            "pass the Prometheus URL",
        )
    a = s.activation_threshold
    if isinstance(a, bool) or not isinstance(a, int | float) or a < 0:
        check.fail("scaling.activation_threshold", a, "is negative", "a number >= 0", "use 0 to activate on any demand")
    check.integer("scaling.failure_threshold", s.failure_threshold, minimum=1)
    check.integer("scaling.polling_interval_seconds", s.polling_interval_seconds, minimum=1, maximum=3600)
    check.integer("scaling.cooldown_seconds", s.cooldown_seconds, minimum=0)
    fallback = s.fallback_replicas if s.fallback_replicas is not None else props.min_replicas
    check.integer("scaling.fallback_replicas", fallback, minimum=1, maximum=props.max_replicas)
    to_zero = s.idle_replica_count is not None
    if to_zero:
        if s.idle_replica_count != 0:
            check.fail(
                "scaling.idle_replica_count",
                s.idle_replica_count,
                "is not 0",
                "0 (scale to zero when idle) or None",
                "use 0 or leave it unset",
            )
        if not s.wake_query:
            check.fail(
                "scaling.wake_query",
                s.wake_query,
                "is missing, but a server scaled to zero has no pods to report demand",
                "PromQL measuring demand outside the pods, e.g. a gateway's request rate for this model",
                "pass wake_query=... or drop idle_replica_count",
            )
    meta_base: dict[str, str] = {"serverAddress": s.prometheus_address, "ignoreNullValues": "false"}
    if s.authentication is not None:
        meta_base["authModes"] = s.authentication.modes
    triggers: list[JsonObject] = []
    for metric, value in s.targets:
        query = series.total(metric)
        if to_zero:
            query = f"{query} or vector(0)"  # zero pods report nothing: read as no load, the wake query decides
        triggers.append(
            _trigger(
                metric.removeprefix("vllm:").replace("_", "-"), query, _number(value), _number(a), base=meta_base, auth=s.authentication
            )
        )
    if to_zero and s.wake_query:
        triggers.append(_trigger("wake", f"clamp_max(sum({s.wake_query}), 1)", "1", "0", base=meta_base, auth=s.authentication))
    spec: JsonObject = {
        "scaleTargetRef": ref,
        "pollingInterval": s.polling_interval_seconds,
        "cooldownPeriod": s.cooldown_seconds,
        "minReplicaCount": props.min_replicas,
        "maxReplicaCount": props.max_replicas,
    }
    if to_zero:
        spec["idleReplicaCount"] = 0
    spec["fallback"] = {"failureThreshold": s.failure_threshold, "replicas": fallback, "behavior": "currentReplicasIfHigher"}
    spec["advanced"] = {"restoreToOriginalReplicaCount": False, "horizontalPodAutoscalerConfig": {"behavior": behavior}}
    spec["triggers"] = triggers
    return "ScaledObject", spec, None


def _trigger(
    name: str, query: str, threshold: str, activation: str, *, base: Mapping[str, str], auth: KedaAuthentication | None
) -> JsonObject:
    t: JsonObject = {
        "type": "prometheus",
        "name": name,
        "metricType": "AverageValue",
        "metadata": {**base, "query": query, "threshold": threshold, "activationThreshold": activation},
    }
    if auth is not None:
        t["authenticationRef"] = {
            "name": auth.name,
            "kind": "ClusterTriggerAuthentication" if auth.cluster_scoped else TRIGGER_AUTHENTICATION.kind,
        }
    return t


def _hpa(ref: JsonObject, props: AutoscalerProps, metrics: list[JsonObject], behavior: JsonObject) -> JsonObject:
    return {
        "scaleTargetRef": ref,
        "minReplicas": props.min_replicas,
        "maxReplicas": props.max_replicas,
        "metrics": metrics,
        "behavior": behavior,
    }


class Autoscaler(Construct):
    """The one autoscaler of a workload (HPA or KEDA ScaledObject, plus Prometheus Adapter rules).

    Handles: ``resource`` (the HPA or ScaledObject), ``adapter_rules`` (ConfigMap or None),
    ``series`` (the :class:`ServerSeries` its queries use, or None).
    """

    def __init__(self, scope: Construct, construct_id: str, props: AutoscalerProps) -> None:
        super().__init__(scope, construct_id)
        adopt(self, scope, construct_id)
        check = Checker(path_of(self))
        resolved = _resolve(check, props)
        kind, spec, adapter = plan_autoscaler(path_of(self), props, resolved)
        name = check.dns_label("name", props.name or resolved.workload.name)
        _claim(self, check, resolved.workload, path_of(self))
        self.props = props
        self.series = resolved.series
        labels = {**resolved.workload.selector_labels, "app.kubernetes.io/managed-by": "vllm-constructs"}
        if kind == "ScaledObject":
            api_version, kind = SCALED_OBJECT
        else:
            api_version = "autoscaling/v2"
        self.resource: cdk8s.ApiObject = emit(
            self, "Resource", api_version=api_version, kind=kind, name=name, labels=labels, body={"spec": spec}
        )
        self.adapter_rules: cdk8s.ApiObject | None = None
        if adapter is not None:
            self.adapter_rules = emit(
                self,
                "AdapterRules",
                api_version="v1",
                kind="ConfigMap",
                name=f"{name}-adapter-rules",
                labels=labels,
                body={"data": adapter},
            )
        resolved.workload.hand_replicas_to_autoscaler()
