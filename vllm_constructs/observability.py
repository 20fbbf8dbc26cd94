"""Observability: scrape, record, alert and chart one serving workload (VllmServer or RayCluster), all with the same
labels (see :mod:`vllm_constructs.core.observability`)."""

from __future__ import annotations

import cdk8s
from constructs import Construct

from ._construct import build
from .core.observability import AlertThresholds, MonitorKind, ObservabilityProps, plan_observability, recording_rules
from .core.promql import ServerSeries

__all__ = ["AlertThresholds", "MonitorKind", "Observability", "ObservabilityProps", "recording_rules"]


class Observability(Construct):
    """Monitor, recording rules, alerts and a dashboard for one serving workload.

    Handles: ``monitor`` (ServiceMonitor or PodMonitor), ``rules`` (PrometheusRule), ``dashboard`` (ConfigMap or None),
    ``series`` (the ServerSeries every expression uses).
    """

    def __init__(self, scope: Construct, construct_id: str, props: ObservabilityProps) -> None:
        exclusive = (
            f"observability of {props.server.serving.namespace or 'default'}/{props.server.serving.server_name}"
            if isinstance(props, ObservabilityProps)
            else None
        )
        plan, objs = build(
            self,
            scope,
            construct_id,
            props,
            ObservabilityProps,
            lambda path, ns: plan_observability(path, props),
            exclusive=lambda p: exclusive,
        )
        self.monitor: cdk8s.ApiObject = objs["Monitor"]
        self.rules: cdk8s.ApiObject = objs["Rules"]
        self.dashboard: cdk8s.ApiObject | None = objs.get("Dashboard")
        self.series: ServerSeries = plan.series
        self.node.default_child = self.monitor
