"""ModelInitJob: a download Job on its own, filling a cache claim once, verified, with a completion marker."""

from __future__ import annotations

import cdk8s
from constructs import Construct

from ._construct import build
from .core.model import MODEL_MOUNT, ModelInitJobProps, job_labels, plan_init_job
from .core.objects import KubeObject, job

__all__ = ["ModelInitJob", "ModelInitJobProps"]


class ModelInitJob(Construct):
    """A Job that downloads a model into a cache claim once, verifies it and writes a completion marker.

    Its name is content-addressed: it changes when the source, revision, image or script changes and is stable
    otherwise, so an upgrade creates a new Job instead of patching an immutable template. Servers create their own
    download Job; use this construct to fill a shared cache on its own.
    """

    def __init__(self, scope: Construct, construct_id: str, props: ModelInitJobProps) -> None:
        def plan(path: str, namespace: str) -> list[KubeObject]:
            name, spec = plan_init_job(props)
            return [job("Resource", name, job_labels(props.labels), spec)]

        planned, objs = build(self, scope, construct_id, props, ModelInitJobProps, plan, objects=lambda p: p)
        self.job_name: str = planned[0].name
        self.model_dir = f"{MODEL_MOUNT}/{props.source.cache_dir_name}"
        self.resource: cdk8s.ApiObject = objs["Resource"]
