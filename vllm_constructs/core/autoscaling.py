"""Autoscaling, pure: one HorizontalPodAutoscaler or KEDA ScaledObject for one serving workload.

Three kinds of :class:`Scaling` (a closed union behind factories):

- ``Scaling.cpu_memory(...)``: HPA on CPU/memory utilization (the upstream chart's ``autoscaling.*``).
- ``Scaling.vllm_metrics(...)``: HPA ``Pods`` metrics on vLLM's own gauges/counters, plus the Prometheus Adapter rules
  (a ConfigMap) that expose exactly those metric names.
- ``Scaling.keda(...)``: a KEDA ScaledObject with Prometheus triggers; every query is a ``sum`` over this server's pods
  only, missing data is an error (``ignoreNullValues: "false"``) with a fallback that never scales down, and
  scale-to-zero is possible with a wake query.

The planner reads only the workload's :class:`~vllm_constructs.core.serving.ServingFacts`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, PlainValidator

from .gvk import SCALED_OBJECT, TRIGGER_AUTHENTICATION
from .objects import KubeObject
from .promql import RENAMED_METRICS, VLLM_METRICS, adapter_metric_name, adapter_rule
from .serving import ServingFacts, ServingWorkload
from .validation import INT32_MAX, Checker, DnsLabel, DnsSubdomain, HttpUrl, fail, in_range, number_range, problem, value_class
from .values import FactoryOnly, closed

__all__ = [
    "AutoscalerPlan",
    "AutoscalerProps",
    "CpuMemoryScaling",
    "KedaAuthentication",
    "KedaScaling",
    "Scaling",
    "ScalingBehavior",
    "VllmMetricsScaling",
    "plan_autoscaler",
]

JsonObject = dict[str, Any]
HPA_MAX_PERIOD_SECONDS = 1800
"""The HPA API's upper bound for a scaling policy's periodSeconds."""


def _target_pairs(value: object) -> tuple[tuple[str, float], ...]:
    """The whole check of ``targets`` (a plain validator), so that each problem names the metric as the user wrote it,
    ``targets['vllm:num_requests_waiting']``, never its position in the tuple of pairs the factories store."""
    pairs = tuple(value.items()) if isinstance(value, Mapping) else value
    if not isinstance(pairs, tuple) or not all(isinstance(p, tuple) and len(p) == 2 for p in pairs):
        raise problem(
            "targets",
            f"is a {type(value).__name__}",
            "a mapping of vLLM metric name to its per-pod target, e.g. {'vllm:num_requests_waiting': 5}",
            "pass the mapping to Scaling.vllm_metrics(...) or Scaling.keda(address, ...)",
        )
    for metric, target in pairs:
        where, known = f"[{metric!r}]", ", ".join(VLLM_METRICS)
        if isinstance(metric, str) and metric in RENAMED_METRICS:
            fail(where, metric, "is deprecated in vLLM's V1 metrics", known, f"use {RENAMED_METRICS[metric]!r}")
        if not isinstance(metric, str) or metric not in VLLM_METRICS:
            fail(where, metric, "is not a known vLLM metric", known, "use one of those names")
        if isinstance(target, bool) or not isinstance(target, int | float) or not (math.isfinite(target) and 0 < target <= 1e12):
            fail(where, target, "is not a positive number", "a finite number above zero", "use the per-pod value at which to add pods")
    return pairs


Targets = Annotated[tuple[tuple[str, float], ...], PlainValidator(_target_pairs)]


def _targets(chosen: Mapping[str, float] | None) -> Any:
    if chosen is None:
        return (("vllm:num_requests_waiting", 5.0),)
    if not isinstance(chosen, Mapping):
        return chosen  # refused by the field's type check, with the field's name
    return tuple(chosen.items())


def _check_targets(targets: tuple[tuple[str, float], ...]) -> None:
    if not targets:
        fail("targets", {}, "is empty", "at least one vLLM metric and its per-pod target", "pass e.g. {'vllm:num_requests_waiting': 5}")
    for metric, value in targets:
        if metric == "vllm:kv_cache_usage_perc" and value > 1:
            fail(
                f"targets[{metric!r}]",
                value,
                "is above 1, but the metric is a fraction (0..1)",
                "a fraction such as 0.8",
                "divide the percentage by 100",
            )
    if len({m for m, _ in targets}) != len(targets):
        fail("targets", [m for m, _ in targets], "names a metric twice", "each metric once", "remove the repeat")


def _auth_modes(value: str) -> str:
    modes = value.split(",")
    if not modes or any(m.strip() not in ("bearer", "basic", "tls", "custom") for m in modes):
        raise problem("auth_modes", "is not a list of KEDA auth modes", "bearer, basic, tls or custom, comma separated", "e.g. 'bearer'")
    return value


@value_class(kw_only=True)
class KedaAuthentication:
    """A reference to an existing (Cluster)TriggerAuthentication holding Prometheus credentials."""

    name: DnsSubdomain
    """Name of the TriggerAuthentication. No default."""
    cluster_scoped: bool = False
    """Refer to a ClusterTriggerAuthentication. Default: False."""
    modes: Annotated[str, AfterValidator(_auth_modes)] = "bearer"
    """KEDA Prometheus authModes: bearer, basic, tls, custom (comma separated). Default: bearer."""


class Scaling(FactoryOnly):
    """How to scale. Use :meth:`cpu_memory`, :meth:`vllm_metrics` or :meth:`keda`."""

    __choices__ = "Scaling.cpu_memory(...), Scaling.vllm_metrics({...}) or Scaling.keda(prometheus_address, {...})"

    @staticmethod
    def cpu_memory(cpu_percent: int | None = 80, memory_percent: int | None = None) -> CpuMemoryScaling:
        """HPA on average CPU and/or memory utilization of the requests (percent)."""
        return CpuMemoryScaling(cpu_percent=cpu_percent, memory_percent=memory_percent)

    @staticmethod
    def vllm_metrics(targets: Mapping[str, float] | None = None) -> VllmMetricsScaling:
        """HPA ``Pods`` metrics: per-pod average target of each vLLM metric (counters as per-second rates).
        Default: 5 waiting requests per pod."""
        return VllmMetricsScaling(targets=_targets(targets))

    @staticmethod
    def keda(
        prometheus_address: str,
        targets: Mapping[str, float] | None = None,
        *,
        activation_threshold: float = 0.0,
        failure_threshold: int = 3,
        fallback_replicas: int | None = None,
        authentication: KedaAuthentication | None = None,
        idle_replica_count: Literal[0] | None = None,
        wake_query: str | None = None,
        polling_interval_seconds: int = 15,
        cooldown_seconds: int = 300,
    ) -> KedaScaling:
        """KEDA ScaledObject, one Prometheus trigger per target (per-pod average of the server's sum).

        ``fallback_replicas`` (default: min_replicas) is used, or the current count if higher, after ``failure_threshold``
        failed queries. ``idle_replica_count=0`` scales to zero and needs ``wake_query``: PromQL measuring demand outside
        the pods (e.g. a gateway's request rate), since a server with no pods reports nothing.
        """
        return KedaScaling(
            prometheus_address=prometheus_address,
            targets=_targets(targets),
            activation_threshold=activation_threshold,
            failure_threshold=failure_threshold,
            fallback_replicas=fallback_replicas,
            authentication=authentication,
            idle_replica_count=idle_replica_count,
            wake_query=wake_query,
            polling_interval_seconds=polling_interval_seconds,
            cooldown_seconds=cooldown_seconds,
        )


Percent = Annotated[int, in_range(1, 1000)]


@value_class(kw_only=True)
class CpuMemoryScaling(Scaling):
    """HPA on CPU and/or memory utilization (see :meth:`Scaling.cpu_memory`)."""

    cpu_percent: Percent | None = 80
    memory_percent: Percent | None = None

    def __post_init__(self) -> None:
        if self.cpu_percent is None and self.memory_percent is None:
            fail("cpu_percent", None, "and memory_percent are both unset", "cpu_percent and/or memory_percent", "pass cpu_percent=80")


@value_class(kw_only=True)
class VllmMetricsScaling(Scaling):
    """HPA on vLLM metrics through Prometheus Adapter (see :meth:`Scaling.vllm_metrics`)."""

    targets: Targets

    def __post_init__(self) -> None:
        _check_targets(self.targets)


def _wake(value: str) -> str:
    if not value.strip() or "\n" in value or len(value) > 4096:
        raise problem(
            "promql", "is not a one-line PromQL expression", "a PromQL expression measuring demand", "write the query on one line"
        )
    return value


@value_class(kw_only=True)
class KedaScaling(Scaling):
    """A KEDA ScaledObject with Prometheus triggers (see :meth:`Scaling.keda`)."""

    prometheus_address: HttpUrl
    targets: Targets
    activation_threshold: Annotated[float, number_range(0, 1e12)] = 0.0
    failure_threshold: Annotated[int, in_range(1, 100)] = 3
    fallback_replicas: Annotated[int, in_range(1, INT32_MAX)] | None = None
    authentication: KedaAuthentication | None = None
    idle_replica_count: Literal[0] | None = None
    wake_query: Annotated[str, AfterValidator(_wake)] | None = None
    polling_interval_seconds: Annotated[int, in_range(1, 3600)] = 15
    cooldown_seconds: Annotated[int, in_range(0, 86400)] = 300

    def __post_init__(self) -> None:
        _check_targets(self.targets)
        if self.idle_replica_count is not None and not self.wake_query:
            fail(
                "wake_query",
                self.wake_query,
                "is missing, but a server scaled to zero has no pods to report demand",
                "PromQL measuring demand outside the pods, e.g. a gateway's request rate for this model",
                "pass wake_query=... or drop idle_replica_count",
            )


AnyScaling = Annotated[Scaling, closed(Scaling)]


@value_class(kw_only=True)
class ScalingBehavior:
    """HPA behavior: slow, bounded steps fit for pods that take minutes to load a model."""

    scale_up_pods: Annotated[int, in_range(1, 1000)] = 1
    """Pods added per scale-up period. Default: 1."""
    scale_up_period_seconds: Annotated[int, in_range(1, HPA_MAX_PERIOD_SECONDS)] | None = None
    """Scale-up period; never shorter than the startup budget. Default: the startup budget (at most 1800, the API's limit)."""
    scale_up_stabilization_seconds: Annotated[int, in_range(0, 3600)] = 0
    """Default: 0 (react to the first high reading; the period bounds the pace)."""
    scale_down_pods: Annotated[int, in_range(1, 1000)] = 1
    """Pods removed per scale-down period. Default: 1."""
    scale_down_period_seconds: Annotated[int, in_range(1, HPA_MAX_PERIOD_SECONDS)] = 300
    """Default: 300."""
    scale_down_stabilization_seconds: Annotated[int, in_range(0, 3600)] = 600
    """Highest recommendation of this window wins, so a short lull never drops a loaded pod. Default: 600."""


@value_class(kw_only=True)
class AutoscalerProps:
    """Props of :class:`~vllm_constructs.Autoscaler`. ``target``, ``scaling`` and ``max_replicas`` are required."""

    target: ServingWorkload
    """The serving workload (VllmServer, RayCluster on LeaderWorkerSet, GpuDeployment). No default."""
    scaling: AnyScaling
    """What to scale on. No default."""
    max_replicas: Annotated[int, in_range(1, INT32_MAX)]
    """No default."""
    min_replicas: Annotated[int, in_range(1, INT32_MAX)] = 1
    """At least 1 (scale-to-zero is KEDA's idle_replica_count). Default: 1."""
    behavior: ScalingBehavior = field(default_factory=ScalingBehavior)
    """Default: +1 pod per startup budget, -1 pod per 5 min after 10 min of stability."""
    startup_seconds: Annotated[int, in_range(1, 86400)] | None = None
    """Startup budget of one pod. Default: the workload's."""
    name: DnsLabel | None = None
    """Name of the HPA/ScaledObject. Default: the workload's name."""

    def __post_init__(self) -> None:
        if self.min_replicas > self.max_replicas:
            fail(
                "min_replicas",
                self.min_replicas,
                "is above max_replicas",
                "min_replicas <= max_replicas",
                "lower min_replicas or raise max_replicas",
            )
        fallback = getattr(self.scaling, "fallback_replicas", None)
        if fallback is not None and fallback > self.max_replicas:
            fail("scaling.fallback_replicas", fallback, "is above max_replicas", "1 <= fallback_replicas <= max_replicas", "lower it")


@dataclass(frozen=True, slots=True)
class AutoscalerPlan:
    objects: tuple[KubeObject, ...]
    name: str


def _quantity(value: float) -> str:
    """A Kubernetes quantity for a positive number, in milli-units when fractional."""
    d = Decimal(str(value))
    if d == d.to_integral_value():
        return str(int(d))
    return f"{int((d * 1000).to_integral_value()) or 1}m"


def _number(value: float) -> str:
    """A number as KEDA reads it from its string metadata."""
    d = Decimal(str(value))
    return str(int(d)) if d == d.to_integral_value() else format(d.normalize(), "f")


def _behavior(check: Checker, b: ScalingBehavior, startup: int) -> JsonObject:
    floor = min(startup, HPA_MAX_PERIOD_SECONDS)
    up_period = b.scale_up_period_seconds if b.scale_up_period_seconds is not None else floor
    if up_period < floor:
        check.fail(
            "behavior.scale_up_period_seconds",
            up_period,
            f"is shorter than the startup budget ({startup} s), so new pods would be added before the previous ones could serve",
            f"an integer >= {floor}",
            "leave it unset, or lower the server's health.startup_timeout_seconds",
        )
    up = {"type": "Pods", "value": b.scale_up_pods, "periodSeconds": up_period}
    down = {"type": "Pods", "value": b.scale_down_pods, "periodSeconds": b.scale_down_period_seconds}
    return {
        "scaleUp": {"stabilizationWindowSeconds": b.scale_up_stabilization_seconds, "selectPolicy": "Max", "policies": [up]},
        "scaleDown": {"stabilizationWindowSeconds": b.scale_down_stabilization_seconds, "selectPolicy": "Max", "policies": [down]},
    }


def _check_target(check: Checker, facts: ServingFacts, props: AutoscalerProps) -> JsonObject:
    target = facts.scale_target
    if target is None:
        check.fail(
            "target",
            facts.server_name,
            f"cannot be autoscaled: {facts.unscalable_reason}",
            "a workload with a scale subresource",
            "use a VllmServer, or a RayCluster on MultiNodeBackend.LWS or LWS_RAY_FREE",
        )
    if target.max_replicas is not None and props.max_replicas > target.max_replicas:
        check.fail(
            "max_replicas",
            props.max_replicas,
            f"would start pods on other nodes, but {target.limit_reason}",
            f"max_replicas <= {target.max_replicas}",
            "give the server a ReadWriteMany cache: ModelCache.pvc(size, access_mode='ReadWriteMany')",
        )
    return {"apiVersion": target.api_version, "kind": target.kind, "name": target.name}


def _hpa(ref: JsonObject, props: AutoscalerProps, metrics: list[JsonObject], behavior: JsonObject) -> JsonObject:
    return {
        "scaleTargetRef": ref,
        "minReplicas": props.min_replicas,
        "maxReplicas": props.max_replicas,
        "metrics": metrics,
        "behavior": behavior,
    }


def _cpu_memory(s: CpuMemoryScaling) -> list[JsonObject]:
    metrics: list[JsonObject] = []
    for res, pct in (("cpu", s.cpu_percent), ("memory", s.memory_percent)):
        if pct is not None:
            metrics.append({"type": "Resource", "resource": {"name": res, "target": {"type": "Utilization", "averageUtilization": pct}}})
    return metrics


def _pods_metrics(s: VllmMetricsScaling) -> list[JsonObject]:
    return [
        {
            "type": "Pods",
            "pods": {"metric": {"name": adapter_metric_name(m)}, "target": {"type": "AverageValue", "averageValue": _quantity(v)}},
        }
        for m, v in s.targets
    ]


def _trigger(
    name: str, query: str, threshold: str, activation: str, base: Mapping[str, str], auth: KedaAuthentication | None
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


def _keda_triggers(s: KedaScaling, facts: ServingFacts) -> list[JsonObject]:
    base: dict[str, str] = {"serverAddress": s.prometheus_address, "ignoreNullValues": "false"}
    if s.authentication is not None:
        base["authModes"] = s.authentication.modes
    to_zero = s.idle_replica_count is not None
    triggers = []
    for metric, value in s.targets:
        query = facts.series.total(metric)
        if to_zero:
            query = f"{query} or vector(0)"  # zero pods report nothing: read as no load, the wake query decides
        name = metric.removeprefix("vllm:").replace("_", "-")
        triggers.append(_trigger(name, query, _number(value), _number(s.activation_threshold), base, s.authentication))
    if to_zero and s.wake_query:
        triggers.append(_trigger("wake", f"clamp_max(sum({s.wake_query}), 1)", "1", "0", base, s.authentication))
    return triggers


def _keda(check: Checker, s: KedaScaling, facts: ServingFacts, props: AutoscalerProps, ref: JsonObject, behavior: JsonObject) -> JsonObject:
    if not facts.namespace:
        check.fail(
            "target",
            facts.server_name,
            "is in a chart without a namespace, so its metrics cannot be told apart from a namesake's in another namespace",
            "a chart with namespace=...",
            "set the chart's namespace",
        )
    spec: JsonObject = {"scaleTargetRef": ref, "pollingInterval": s.polling_interval_seconds, "cooldownPeriod": s.cooldown_seconds}
    spec["minReplicaCount"] = props.min_replicas
    spec["maxReplicaCount"] = props.max_replicas
    if s.idle_replica_count is not None:
        spec["idleReplicaCount"] = 0
    fallback = s.fallback_replicas if s.fallback_replicas is not None else props.min_replicas
    spec["fallback"] = {"failureThreshold": s.failure_threshold, "replicas": fallback, "behavior": "currentReplicasIfHigher"}
    spec["advanced"] = {"restoreToOriginalReplicaCount": False, "horizontalPodAutoscalerConfig": {"behavior": behavior}}
    spec["triggers"] = _keda_triggers(s, facts)
    return spec


def plan_autoscaler(path: str, props: AutoscalerProps) -> AutoscalerPlan:
    """Check the props against the target's facts and build the autoscaler (and adapter rules). Pure: creates nothing."""
    check = Checker(path)
    facts = props.target.serving
    ref = _check_target(check, facts, props)
    startup = props.startup_seconds if props.startup_seconds is not None else facts.startup_seconds
    behavior = _behavior(check, props.behavior, startup)
    name = props.name or str(ref["name"])
    labels = {**dict(facts.selector_labels), "app.kubernetes.io/managed-by": "vllm-constructs"}
    s = props.scaling
    if isinstance(s, KedaScaling):
        spec = _keda(check, s, facts, props, ref, behavior)
        return AutoscalerPlan((KubeObject("Resource", SCALED_OBJECT.api_version, SCALED_OBJECT.kind, name, labels, {"spec": spec}),), name)
    metrics = _cpu_memory(s) if isinstance(s, CpuMemoryScaling) else _pods_metrics(s)  # type: ignore[arg-type]
    hpa = KubeObject("Resource", "autoscaling/v2", "HorizontalPodAutoscaler", name, labels, {"spec": _hpa(ref, props, metrics, behavior)})
    if not isinstance(s, VllmMetricsScaling):
        return AutoscalerPlan((hpa,), name)
    rules = yaml.safe_dump({"rules": [adapter_rule(m) for m, _ in s.targets]}, sort_keys=False)
    adapter = KubeObject("AdapterRules", "v1", "ConfigMap", f"{name}-adapter-rules", labels, {"data": {"config.yaml": rules}})
    return AutoscalerPlan((hpa, adapter), name)
