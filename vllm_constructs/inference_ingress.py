"""InferenceIngress: one Ingress per serving workload for clusters without Gateway API (see
:mod:`vllm_constructs.core.ingress`)."""

from __future__ import annotations

import cdk8s
from constructs import Construct

from ._adapter import Exclusive
from ._construct import build
from .core.ingress import InferenceIngressProps, IngressController, IngressEndpoint, IngressPlan, plan_ingress

__all__ = ["InferenceIngress", "InferenceIngressProps", "IngressController", "IngressEndpoint"]


class InferenceIngress(Construct):
    """One ``networking.k8s.io/v1`` Ingress per endpoint, routed by host (or by a stripped path prefix with
    ingress-nginx), TLS from a Secret. Two ingresses may not claim one class, host and path in an App.

    Handles: ``ingresses`` (the Ingress ApiObjects by name).
    """

    def __init__(self, scope: Construct, construct_id: str, props: InferenceIngressProps) -> None:
        plan, objs = build(
            self,
            scope,
            construct_id,
            props,
            InferenceIngressProps,
            lambda path, ns: plan_ingress(path, ns, props),
            exclusive=lambda p: tuple(
                Exclusive(
                    key=claim,
                    field="endpoints",
                    value=claim.split(" ", 2)[2],
                    what=f"an Ingress of class {props.ingress_class_name}",
                    fix="give each endpoint its own host or path_prefix",
                    allowed="one Ingress per class, host and path",
                )
                for claim in p.claims
            ),
        )
        self.plan: IngressPlan = plan
        self.ingresses: dict[str, cdk8s.ApiObject] = {o.name: objs[o.id] for o in plan.objects}
        self.node.default_child = next(iter(self.ingresses.values()))
