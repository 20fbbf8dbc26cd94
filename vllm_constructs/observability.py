"""Observability: scrape, record, alert and chart one serving workload (VllmServer or RayCluster), all with the same
labels (see :mod:`vllm_constructs.core.observability`)."""

from __future__ import annotations

import cdk8s
from constructs import Construct

from ._adapter import Exclusive
from ._construct import build
from .core.observability import AlertThresholds, MonitorKind, ObservabilityPlan, ObservabilityProps, plan_observability, recording_rules
from .core.promql import ServerSeries

__all__ = ["AlertThresholds", "MonitorKind", "Observability", "ObservabilityProps", "recording_rules"]


class Observability(Construct):
    """Monitor, recording rules, alerts and a dashboard for one serving workload.

    Handles: ``monitor`` (ServiceMonitor or PodMonitor), ``rules`` (PrometheusRule), ``dashboard`` (ConfigMap or None),
    ``series`` (the ServerSeries every expression uses).
    """

    def __init__(self, scope: Construct, construct_id: str, props: ObservabilityProps) -> None:
        def exclusive(plan: object) -> Exclusive:
            facts = props.server.serving
            return Exclusive(
                key=f"observability of {facts.namespace or 'default'}/{facts.server_name}",
                field="server",
                value=facts.server_name,
                what="Observability",
                fix="keep one Observability per server (it emits the monitor, rules and dashboard once)",
            )

        def plan(path: str, namespace: str) -> ObservabilityPlan:
            return plan_observability(path, props)

        planned, objs = build(self, scope, construct_id, props, ObservabilityProps, plan, exclusive=exclusive)
        self.monitor: cdk8s.ApiObject = objs["Resource"]
        self.rules: cdk8s.ApiObject = objs["Rules"]
        self.dashboard: cdk8s.ApiObject | None = objs.get("Dashboard")
        self.series: ServerSeries = planned.series
