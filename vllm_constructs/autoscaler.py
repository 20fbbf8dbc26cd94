"""Autoscaler: the one HorizontalPodAutoscaler or KEDA ScaledObject of a serving workload (see
:mod:`vllm_constructs.core.autoscaling`). The workload stops rendering its replica count so a GitOps sync never
fights the autoscaler."""

from __future__ import annotations

import cdk8s
from constructs import Construct

from ._adapter import Exclusive
from ._construct import build
from .core.autoscaling import (
    AutoscalerProps,
    CpuMemoryScaling,
    KedaAuthentication,
    KedaScaling,
    Scaling,
    ScalingBehavior,
    VllmMetricsScaling,
    plan_autoscaler,
)
from .core.promql import ServerSeries

__all__ = [
    "Autoscaler",
    "AutoscalerProps",
    "CpuMemoryScaling",
    "KedaAuthentication",
    "KedaScaling",
    "Scaling",
    "ScalingBehavior",
    "VllmMetricsScaling",
]


class Autoscaler(Construct):
    """The one autoscaler of a workload (HPA or KEDA ScaledObject, plus Prometheus Adapter rules).

    Handles: ``resource`` (the HPA or ScaledObject), ``adapter_rules`` (ConfigMap or None), ``series`` (the
    ServerSeries its queries use). ``cdk8s.ApiObject.of(autoscaler)`` is the HPA or ScaledObject.
    """

    def __init__(self, scope: Construct, construct_id: str, props: AutoscalerProps) -> None:
        def exclusive(plan: object) -> Exclusive:
            facts = props.target.serving
            return Exclusive(
                key=f"autoscaler of {facts.namespace or 'default'}/{facts.server_name}",
                field="target",
                value=facts.server_name,
                what="an autoscaler",
                fix="combine the metrics into one Autoscaler: two would fight over its replicas",
            )

        _, objs = build(
            self, scope, construct_id, props, AutoscalerProps, lambda path, ns: plan_autoscaler(path, props), exclusive=exclusive
        )
        self.resource: cdk8s.ApiObject = objs["Resource"]
        self.adapter_rules: cdk8s.ApiObject | None = objs.get("AdapterRules")
        self.series: ServerSeries = props.target.serving.series
        props.target.hand_replicas_to_autoscaler()


__all__ += ["ServerSeries"]
