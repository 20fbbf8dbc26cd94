"""Observability, pure: scrape, record, alert and chart one serving workload, all with the same labels.

Emits a ServiceMonitor (or PodMonitor) scraping ``/metrics`` on the named port, relabelled so every
series carries ``namespace``, ``pod`` and ``server``; a PrometheusRule with per-server recording rules
and alerts; and a Grafana dashboard ConfigMap (label ``grafana_dashboard: "1"``). Every expression takes
its matchers from :class:`~vllm_constructs.promql.ServerSeries`.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import PlainValidator

from .gvk import POD_MONITOR, PROMETHEUS_RULE, SERVICE_MONITOR
from .objects import KubeObject
from .promql import ServerSeries, identity_relabelings
from .serving import ServingFacts, ServingWorkload
from .validation import Checker, Labels, in_range, number_range, problem, value_class
from .values import Lax

__all__ = ["AlertThresholds", "MonitorKind", "ObservabilityPlan", "ObservabilityProps", "plan_observability", "recording_rules"]

JsonObject = dict[str, Any]
Minutes = Annotated[int, in_range(1, 1440)]


def _as_given(value: object) -> int | float:
    """An int (never a bool) or a finite float, kept as given: thresholds are written into PromQL and alert text as the
    user wrote them (a strict float field would turn 20 into 20.0)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise problem("number", f"is a {type(value).__name__}", "a finite number", "pass a number such as 10 or 0.5")
    if not math.isfinite(value):
        raise problem("number", "is not a finite number", "a finite number (no NaN or infinity)", "pass a finite number")
    return value


Number = Annotated[int | float, PlainValidator(_as_given)]
Positive = Annotated[Number, number_range(0, 1e12, low_open=True)]


class MonitorKind(enum.StrEnum):
    SERVICE_MONITOR = "ServiceMonitor"
    POD_MONITOR = "PodMonitor"


@value_class(kw_only=True)
class AlertThresholds:
    """When the alerts fire. Durations are minutes."""

    down_minutes: Minutes = 5
    """No pod of the server answers its scrape for this long. Default: 5."""
    pod_not_serving_minutes: Minutes | None = None
    """One pod does not answer for this long. Default: the startup budget (a loading pod answers nothing)."""
    waiting_requests: Positive = 10
    """Requests waiting in the server's queues (all pods). Default: 10."""
    waiting_minutes: Minutes = 10
    """Default: 10."""
    kv_cache_usage: Annotated[Number, number_range(0, 1, low_open=True)] = 0.9
    """Highest pod's KV cache usage, a fraction (0..1]. Default: 0.9."""
    kv_cache_minutes: Minutes = 10
    """Default: 10."""
    ttft_p95_seconds: Positive = 5.0
    """Time to first token, 95th percentile over 5 minutes. Default: 5."""
    ttft_minutes: Minutes = 10
    """Default: 10."""
    preemptions_per_second: Positive = 0.1
    """Preemption rate of the server (all pods). Default: 0.1."""
    preemptions_minutes: Minutes = 10
    """Default: 10."""
    restarts: Annotated[int, in_range(1, 1000)] = 3
    """Container restarts of one pod within restarts_window_minutes (kube-state-metrics). Default: 3."""
    restarts_window_minutes: Minutes = 30
    """Default: 30."""

    def not_serving_minutes(self, startup_seconds: int) -> int:
        """The pod-not-serving window: as set, else the startup budget in minutes (at most a day)."""
        if self.pod_not_serving_minutes is not None:
            return self.pod_not_serving_minutes
        return min(-(-startup_seconds // 60), 1440)


@value_class(kw_only=True)
class ObservabilityProps:
    """Props of :class:`~vllm_constructs.Observability`. Only ``server`` is required."""

    server: ServingWorkload
    """The serving workload to observe (VllmServer or RayCluster, every backend). No default."""
    monitor: Annotated[MonitorKind, Lax] = MonitorKind.SERVICE_MONITOR
    """Scrape through the Service's endpoints or the pods directly. Default: ServiceMonitor."""
    scrape_interval_seconds: Annotated[int, in_range(1, 3600)] = 15
    """Default: 15."""
    monitor_labels: Labels = field(default_factory=dict)
    """Labels your Prometheus selects monitors and rules by (e.g. {'release': 'kube-prometheus-stack'}). Default: none."""
    alerts: AlertThresholds = field(default_factory=AlertThresholds)
    """Default: see AlertThresholds."""
    restart_alert: bool = True
    """Alert on container restarts (needs kube-state-metrics). Default: True."""
    down_alert: bool = True
    """Alert when no pod answers; turn off for a server KEDA scales to zero (idle means no pods). Default: True."""
    dashboard: bool = True
    """Emit the Grafana dashboard ConfigMap. Default: True."""


def _duration(minutes: int) -> str:
    return f"{minutes // 60}h" if minutes % 60 == 0 and minutes >= 60 else f"{minutes}m"


BY = "namespace, server"


def recording_rules(s: ServerSeries) -> list[JsonObject]:
    """Per-server series: ``server:<metric>:<aggregation>`` with labels namespace and server."""

    def quantile(metric: str) -> str:
        return f"histogram_quantile(0.95, sum by ({BY}, le) (rate({s.of(metric + '_bucket')}[5m])))"

    return [
        {"record": "server:vllm_num_requests_waiting:sum", "expr": f"sum by ({BY}) ({s.of('vllm:num_requests_waiting')})"},
        {"record": "server:vllm_num_requests_running:sum", "expr": f"sum by ({BY}) ({s.of('vllm:num_requests_running')})"},
        {"record": "server:vllm_kv_cache_usage_perc:max", "expr": f"max by ({BY}) ({s.of('vllm:kv_cache_usage_perc')})"},
        {"record": "server:vllm_kv_cache_usage_perc:avg", "expr": f"avg by ({BY}) ({s.of('vllm:kv_cache_usage_perc')})"},
        {"record": "server:vllm_time_to_first_token_seconds:p95_5m", "expr": quantile("vllm:time_to_first_token_seconds")},
        {"record": "server:vllm_e2e_request_latency_seconds:p95_5m", "expr": quantile("vllm:e2e_request_latency_seconds")},
        {"record": "server:vllm_generation_tokens:rate5m", "expr": f"sum by ({BY}) (rate({s.of('vllm:generation_tokens_total')}[5m]))"},
        {"record": "server:vllm_num_preemptions:rate5m", "expr": f"sum by ({BY}) (rate({s.of('vllm:num_preemptions_total')}[5m]))"},
    ]


def _alert(name: str, expr: str, minutes: int | None, severity: str, summary: str, labels: Mapping[str, str] | None = None) -> JsonObject:
    rule: JsonObject = {"alert": name, "expr": expr}
    if minutes:
        rule["for"] = _duration(minutes)
    rule["labels"] = {"severity": severity, **dict(labels or {})}
    rule["annotations"] = {"summary": summary}
    return rule


def _health_alerts(s: ServerSeries, a: AlertThresholds, not_serving_minutes: int, down_alert: bool) -> list[JsonObject]:
    where = f"{s.server} in {s.namespace}"
    down = _alert(
        "VllmServerDown",
        f"absent({s.of('up')} == 1)",
        a.down_minutes,
        "critical",
        f"No pod of vLLM server {where} has answered a metrics scrape for {a.down_minutes} minutes.",
        {"namespace": s.namespace, "server": s.server},
    )
    not_serving = _alert(
        "VllmPodNotServing",
        f"{s.of('up')} == 0",
        not_serving_minutes,
        "warning",
        f"A pod of vLLM server {where} has not answered for longer than its startup budget.",
    )
    return [down, not_serving] if down_alert else [not_serving]


def _load_alerts(s: ServerSeries, a: AlertThresholds) -> list[JsonObject]:
    where = f"{s.server} in {s.namespace}"
    kv = f"A pod of vLLM server {where} has used more than {a.kv_cache_usage:.0%} of its KV cache for {a.kv_cache_minutes} minutes."
    preempting = f"vLLM server {where} preempts more than {a.preemptions_per_second} requests per second (KV cache too small for the load)."
    return [
        _alert(
            "VllmRequestsQueued",
            f"{s.of('server:vllm_num_requests_waiting:sum')} > {a.waiting_requests}",
            a.waiting_minutes,
            "warning",
            f"vLLM server {where} has had more than {a.waiting_requests} requests waiting for {a.waiting_minutes} minutes.",
        ),
        _alert(
            "VllmKvCacheNearlyFull",
            f"{s.of('server:vllm_kv_cache_usage_perc:max')} > {a.kv_cache_usage}",
            a.kv_cache_minutes,
            "warning",
            kv,
        ),
        _alert(
            "VllmTimeToFirstTokenHigh",
            f"{s.of('server:vllm_time_to_first_token_seconds:p95_5m')} > {a.ttft_p95_seconds}",
            a.ttft_minutes,
            "warning",
            f"vLLM server {where} has a p95 time to first token above {a.ttft_p95_seconds} s.",
        ),
        _alert(
            "VllmPreempting",
            f"{s.of('server:vllm_num_preemptions:rate5m')} > {a.preemptions_per_second}",
            a.preemptions_minutes,
            "warning",
            preempting,
        ),
    ]


def _restart_alert(s: ServerSeries, a: AlertThresholds, container: str) -> JsonObject:
    window = _duration(a.restarts_window_minutes)
    restarts = f'kube_pod_container_status_restarts_total{{{s.pod_matchers},container="{container}"}}'
    return _alert(
        "VllmContainerRestarting",
        f"sum by (namespace, pod) (increase({restarts}[{window}])) >= {a.restarts}",
        None,
        "warning",
        f"A pod of vLLM server {s.server} in {s.namespace} restarted {a.restarts} or more times within {window}.",
        {"server": s.server},
    )


def alert_rules(
    s: ServerSeries, a: AlertThresholds, not_serving_minutes: int, container: str, *, restart_alert: bool = True, down_alert: bool = True
) -> list[JsonObject]:
    """The server's alerts: down, a pod not serving, queue, KV cache, TTFT, preemptions and (optionally) restarts."""
    health = _health_alerts(s, a, not_serving_minutes, down_alert)
    rules = [*health[:-1], health[-1], *_load_alerts(s, a)]
    if restart_alert:
        rules.append(_restart_alert(s, a, container))
    return rules


def _panel(i: int, title: str, unit: str, targets: list[tuple[str, str]]) -> JsonObject:
    return {
        "id": i + 1,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i // 2) * 8},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + n), "expr": expr, "legendFormat": legend, "datasource": {"type": "prometheus", "uid": "${datasource}"}}
            for n, (expr, legend) in enumerate(targets)
        ],
    }


def dashboard_queries(s: ServerSeries) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(title, unit, [(expr, legend)]) for each panel."""
    return [
        (
            "Requests waiting and running",
            "short",
            [
                (f"sum by (pod) ({s.of('vllm:num_requests_waiting')})", "waiting {{pod}}"),
                (f"sum by (pod) ({s.of('vllm:num_requests_running')})", "running {{pod}}"),
            ],
        ),
        ("KV cache usage", "percentunit", [(f"max by (pod) ({s.of('vllm:kv_cache_usage_perc')})", "{{pod}}")]),
        ("Time to first token p95", "s", [(s.of("server:vllm_time_to_first_token_seconds:p95_5m"), "p95")]),
        ("End-to-end latency p95", "s", [(s.of("server:vllm_e2e_request_latency_seconds:p95_5m"), "p95")]),
        ("Generated tokens per second", "short", [(s.of("server:vllm_generation_tokens:rate5m"), "tokens/s")]),
        ("Preemptions per second", "short", [(s.of("server:vllm_num_preemptions:rate5m"), "preemptions/s")]),
        ("Pods answering scrapes", "short", [(f"sum({s.of('up')})", "up")]),
    ]


def dashboard_json(s: ServerSeries, title: str) -> JsonObject:
    return {
        "uid": f"vllm-{s.namespace}-{s.server}"[:40],
        "title": title,
        "tags": ["vllm", "vllm-constructs"],
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "templating": {"list": [{"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus"}]},
        "panels": [_panel(i, t, u, targets) for i, (t, u, targets) in enumerate(dashboard_queries(s))],
    }


@dataclass(frozen=True, slots=True)
class ObservabilityPlan:
    objects: tuple[KubeObject, ...]
    series: ServerSeries


def _monitor(facts: ServingFacts, props: ObservabilityProps, name: str, labels: Mapping[str, str]) -> KubeObject:
    endpoint: JsonObject = {
        "port": facts.port.name,
        "path": "/metrics",
        "scheme": "http",
        "interval": f"{props.scrape_interval_seconds}s",
        "relabelings": identity_relabelings(),
    }
    spec: JsonObject = {"selector": {"matchLabels": dict(facts.selector_labels)}, "namespaceSelector": {"matchNames": [facts.namespace]}}
    if props.monitor is MonitorKind.SERVICE_MONITOR:
        gvk, spec["endpoints"] = SERVICE_MONITOR, [endpoint]
    else:
        gvk, spec["podMetricsEndpoints"] = POD_MONITOR, [endpoint]
    return KubeObject("Resource", gvk.api_version, gvk.kind, name, labels, {"spec": spec})


def _rules(facts: ServingFacts, props: ObservabilityProps, name: str, labels: Mapping[str, str]) -> KubeObject:
    s = facts.series
    alerts = alert_rules(
        s,
        props.alerts,
        props.alerts.not_serving_minutes(facts.startup_seconds),
        facts.container_name,
        restart_alert=props.restart_alert,
        down_alert=props.down_alert,
    )
    groups = [
        {"name": f"vllm-{s.namespace}-{s.server}.recording", "interval": "30s", "rules": recording_rules(s)},
        {"name": f"vllm-{s.namespace}-{s.server}.alerts", "rules": alerts},
    ]
    return KubeObject("Rules", PROMETHEUS_RULE.api_version, PROMETHEUS_RULE.kind, name, labels, {"spec": {"groups": groups}})


def plan_observability(path: str, props: ObservabilityProps) -> ObservabilityPlan:
    """Monitor, rules and dashboard for one serving workload. Pure: raises ConfigError, creates nothing."""
    check = Checker(path)
    facts = props.server.serving
    if not facts.namespace:
        check.fail(
            "server",
            facts.server_name,
            "is in a chart without a namespace, so alerts could not tell it from a namesake in another namespace",
            "a chart with namespace=...",
            "set the chart's namespace",
        )
    name = facts.scale_target.name if facts.scale_target is not None else facts.server_name
    labels = {**facts.labels.labels(), **dict(props.monitor_labels)}
    planned = [_monitor(facts, props, name, labels), _rules(facts, props, name, labels)]
    if props.dashboard:
        board = dashboard_json(facts.series, f"vLLM {facts.series.server} ({facts.namespace})")
        data = {f"{name}.json": json.dumps(board, indent=2, sort_keys=True)}
        planned.append(
            KubeObject("Dashboard", "v1", "ConfigMap", f"{name}-dashboard", {**labels, "grafana_dashboard": "1"}, {"data": data})
        )
    return ObservabilityPlan(tuple(planned), facts.series)
