"""VllmServer: one model served by vLLM on one node. The construct adds the objects of its pure plan
(:func:`~vllm_constructs.core.server.plan_server`) to the chart."""

from __future__ import annotations

import cdk8s
import cdk8s_plus_27 as kplus
import jsii
from constructs import Construct

from ._adapter import hand_over_replicas
from ._construct import ServingConstruct
from .core.server import ServerNames, ServerPlan, ServiceType, VllmServerProps, plan_server

__all__ = ["ServerNames", "ServiceType", "VllmServer", "VllmServerProps"]


@jsii.implements(kplus.IPodSelector, kplus.INetworkPolicyPeer)
class VllmServer(ServingConstruct):
    """One model served by vLLM: Deployment, Service, model cache and download, PDB, optional ConfigMap and
    NetworkPolicy, all derived from one selector.

    Handles: ``serving`` (the ServingWorkload facts), ``deployment``, ``service``, ``cache_claim``, ``model_init_job``,
    ``config_map``, ``pdb``, ``network_policy`` (ApiObjects or None), ``selector_labels``, ``port``, ``service_name``,
    ``service_port``, ``served_model_name``, ``names``. ``cdk8s.ApiObject.of(server)`` is the Deployment.
    """

    def __init__(self, scope: Construct, construct_id: str, props: VllmServerProps) -> None:
        self._plan: ServerPlan = self._build_serving(
            scope, construct_id, props, VllmServerProps, lambda path, ns: plan_server(path, ns, props)
        )

    @property
    def deployment(self) -> cdk8s.ApiObject:
        return self._objs["Resource"]

    @property
    def config_map(self) -> cdk8s.ApiObject | None:
        return self._objs.get("Env")

    @property
    def pdb(self) -> cdk8s.ApiObject | None:
        return self._objs.get("Disruption")

    @property
    def names(self) -> ServerNames:
        return self._plan.names

    @property
    def model_path(self) -> str:
        return self._plan.model_path

    @property
    def cache_access_mode(self) -> str | None:
        return self._plan.cache_access_mode

    def hand_replicas_to_autoscaler(self) -> None:
        """Drop ``spec.replicas`` so a GitOps sync never fights the autoscaler that now owns it."""
        hand_over_replicas(self._plan, self.deployment)
