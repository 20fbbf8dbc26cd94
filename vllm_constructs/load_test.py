"""LoadTest: a post-deploy load test of a serving workload, one content-addressed Job running ``vllm bench serve``
(see :mod:`vllm_constructs.core.load_test`)."""

from __future__ import annotations

import cdk8s
from constructs import Construct

from ._construct import build
from .core.load_test import LoadTestApi, LoadTestPlan, LoadTestProps, Pushgateway, Tokenizer, plan_load_test

__all__ = ["LoadTest", "LoadTestApi", "LoadTestProps", "Pushgateway", "Tokenizer"]


class LoadTest(Construct):
    """A Job that loads a VllmServer or RayCluster through its Service with vLLM's benchmark client, bounded in
    requests and time, and reports the result in its log (and to a Pushgateway when asked).

    Handles: ``job`` (the Job ApiObject), ``job_name`` (``<name>-<content hash>``: a changed test is a new Job),
    ``base_url`` (the Service URL it loads), ``deadline_seconds`` (the Job's activeDeadlineSeconds).
    ``cdk8s.ApiObject.of(load_test)`` is the Job.
    """

    def __init__(self, scope: Construct, construct_id: str, props: LoadTestProps) -> None:
        def plan(path: str, namespace: str) -> LoadTestPlan:
            return plan_load_test(path, namespace, props)

        planned, objs = build(self, scope, construct_id, props, LoadTestProps, plan)
        self.job: cdk8s.ApiObject = objs["Resource"]
        self.job_name: str = planned.job_name
        self.base_url: str = planned.base_url
        self.deadline_seconds: int = planned.deadline_seconds
