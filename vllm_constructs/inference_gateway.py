"""InferenceGateway: one endpoint for many models behind an existing Gateway (see
:mod:`vllm_constructs.core.gateway`). The construct adds the objects of its pure plan to the chart."""

from __future__ import annotations

import cdk8s
from constructs import Construct

from ._adapter import Exclusive
from ._construct import build
from .core.gateway import (
    BASE_MODEL_HEADER,
    Backend,
    GatewayNetworkPolicy,
    GatewayPlan,
    GatewayRef,
    InferenceGatewayProps,
    ModelRoute,
    RoutingMode,
    plan_gateway,
)
from .core.picker import EndpointPicker, EndpointPickerConfig, FailureMode, Scorer, WeightedScorer

__all__ = [
    "BASE_MODEL_HEADER",
    "Backend",
    "EndpointPicker",
    "EndpointPickerConfig",
    "FailureMode",
    "GatewayNetworkPolicy",
    "GatewayRef",
    "InferenceGateway",
    "InferenceGatewayProps",
    "ModelRoute",
    "RoutingMode",
    "Scorer",
    "WeightedScorer",
]


class InferenceGateway(Construct):
    """Model-aware routing for serving workloads behind an existing Gateway: per workload an InferencePool and its
    endpoint picker (or, in Service mode, its Service), one HTTPRoute with a weighted rule per model.

    Handles: ``route`` (the HTTPRoute), ``pools`` (InferencePools by server name), ``pickers`` (picker Deployments by
    server name), ``plan`` (what is routed where). Two gateways on one Gateway may not claim one model name.
    """

    def __init__(self, scope: Construct, construct_id: str, props: InferenceGatewayProps) -> None:
        def claims(plan: GatewayPlan) -> tuple[Exclusive, ...]:
            gw = props.gateway
            where = f"{gw.namespace or plan.namespace or 'default'}/{gw.name}"
            return tuple(
                Exclusive(
                    key=f"model {name!r} on Gateway {where}",
                    field="models",
                    value=name,
                    what=f"a route on Gateway {where}",
                    fix="route each model through one InferenceGateway per Gateway (or attach the second to another Gateway)",
                    allowed="one route per model name and Gateway",
                )
                for name in plan.claims
            )

        plan, objs = build(
            self,
            scope,
            construct_id,
            props,
            InferenceGatewayProps,
            lambda path, ns: plan_gateway(path, ns, props),
            exclusive=claims,
        )
        self.plan: GatewayPlan = plan
        self.route: cdk8s.ApiObject = objs["Route"]
        self.pools: dict[str, cdk8s.ApiObject] = {name: objs[f"Pool-{name}"] for name in plan.pools}
        self.pickers: dict[str, cdk8s.ApiObject] = {name: objs[f"Picker-{name}"] for name in plan.pools}
        self.node.default_child = self.route
