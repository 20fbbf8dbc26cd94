"""VllmChartRelease: one release of vLLM's example Helm chart as a construct (it runs no Helm). It plans the release
with :func:`vllm_constructs.chart.plan_release` (pure: any ConfigError leaves the App unchanged) and composes the same
parts as ``vllm-constructs template`` renders and ``migrate`` writes: a VllmServer, its Autoscaler, and the release's
own objects."""

from __future__ import annotations

import dataclasses

import cdk8s
from constructs import Construct

from ._adapter import claim, create, emit_all, path_of, prepare
from .autoscaler import Autoscaler
from .chart import LoadedValues, ReleasePlan, plan_release
from .chart.patches import Patch
from .errors import ConfigError
from .vllm_server import VllmServer

__all__ = ["VllmChartRelease"]


def _json_patch(patch: Patch) -> cdk8s.JsonPatch:
    if patch.op == "add":
        return cdk8s.JsonPatch.add(patch.path, patch.value)
    if patch.op == "replace":
        return cdk8s.JsonPatch.replace(patch.path, patch.value)
    return cdk8s.JsonPatch.remove(patch.path)


class VllmChartRelease(Construct):
    """A release of vLLM's example chart, from its values, with the chart's object names and its bugs fixed.

    Handles: ``plan`` (the ReleasePlan, with its notices), ``server`` (the VllmServer), ``autoscaler`` (the Autoscaler
    or None), ``objects`` (every other ApiObject of the release, by id: ModelStorage, ScaledObject, ServiceMonitor,
    Custom0, ...).
    """

    def __init__(self, scope: Construct, construct_id: str, *, release: str, values: LoadedValues) -> None:
        path, namespace = prepare(scope, construct_id, type(self).__name__)
        if not namespace:
            raise ConfigError(
                path=path,
                field="scope",
                value=namespace,
                problem="is in a chart without a namespace, but a release lives in one (its monitors and scaling queries name it)",
                allowed="a cdk8s Chart with namespace=...",
                fix="create the chart with namespace='...', as helm --namespace",
            )
        self.plan: ReleasePlan = plan_release(release, namespace, values)
        claim(scope, path, namespace, self.plan.objects)  # everything the release adds is free before anything is added
        create(self, scope, construct_id, path)
        try:
            self._compose()
        except ConfigError:
            scope.node.try_remove_child(construct_id)
            raise
        self.node.default_child = self.server.deployment

    def _compose(self) -> None:
        self.server = VllmServer(self, "Server", self.plan.inputs.props)
        self.autoscaler: Autoscaler | None = None
        if self.plan.autoscaler is not None:
            props = dataclasses.replace(self.plan.autoscaler, target=self.server)
            self.autoscaler = Autoscaler(self, "Autoscaler", props)
        targets = {"Deployment": self.server.deployment, "Job": self.server.model_init_job}
        if self.autoscaler is not None:
            targets["ScaledObject"] = self.autoscaler.resource
        for patch in self.plan.patches:
            target = targets[patch.target]
            assert target is not None
            target.add_json_patch(_json_patch(patch))
        commit = claim(self, path_of(self), self.plan.namespace, self.plan.extras)
        self.objects: dict[str, cdk8s.ApiObject] = emit_all(self, self.plan.extras)
        commit()
        if "ScaledObject" in self.objects:
            self.server.hand_replicas_to_autoscaler()
