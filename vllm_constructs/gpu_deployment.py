"""GpuDeployment: a Deployment for one accelerator workload, with defaults fit for GPU servers."""

from __future__ import annotations

import cdk8s
from constructs import Construct

from ._adapter import hand_over_replicas
from ._construct import build
from .core.deployment import DeploymentPlan, GpuDeploymentProps, plan_gpu_deployment
from .core.serving import ServingFacts
from .core.values import ContainerPort, PodOptions, WorkloadLabels

__all__ = ["GpuDeployment", "GpuDeploymentProps", "PodOptions", "WorkloadLabels"]


class GpuDeployment(Construct):
    """A Deployment for one accelerator workload.

    Defaults fit a GPU server that loads for minutes: a startup probe with an explicit budget, readiness and liveness
    that start only after it, a preStop drain, ``enableServiceLinks: false``, a rollout that needs no spare accelerator,
    /dev/shm when parallel, hardened security context, accelerator request equal to limit, and a selector unique to
    this workload. ``cdk8s.ApiObject.of(deployment)`` is its Deployment.
    """

    def __init__(self, scope: Construct, construct_id: str, props: GpuDeploymentProps) -> None:
        plan, objs = build(
            self,
            scope,
            construct_id,
            props,
            GpuDeploymentProps,
            lambda path, ns: plan_gpu_deployment(path, ns, props),
            selector=lambda p: p.serving.selector_labels,
        )
        self._plan: DeploymentPlan = plan
        self.resource: cdk8s.ApiObject = objs["Resource"]

    @property
    def serving(self) -> ServingFacts:
        return self._plan.serving

    @property
    def name(self) -> str:
        return self.resource.name

    @property
    def labels(self) -> WorkloadLabels:
        return self._plan.serving.labels

    @property
    def selector_labels(self) -> dict[str, str]:
        """The labels that select exactly this workload's pods (a copy)."""
        return dict(self._plan.serving.selector_labels)

    @property
    def port(self) -> ContainerPort:
        return self._plan.serving.port

    def hand_replicas_to_autoscaler(self) -> None:
        """Drop ``spec.replicas`` so a GitOps sync never fights the autoscaler that now owns it."""
        hand_over_replicas(self._plan, self.resource)
