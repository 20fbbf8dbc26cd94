"""RayCluster: one model served by vLLM across several nodes (tensor parallel inside a node, pipeline parallel across
nodes), on an existing distributed runtime: KubeRay or LeaderWorkerSet.

Backends (``MultiNodeBackend``):

- ``KUBERAY``: a ``ray.io/v1`` RayCluster with one head group and one worker group of ``nodes - 1`` pods. KubeRay
  normally builds each Ray container's command from ``rayStartParams``; the annotation
  ``ray.io/overwrite-container-cmd: "true"`` makes it run our command verbatim instead: the head runs this library's
  leader script (``ray start --head``, wait until exactly ``nodes`` nodes are alive, bounded, then ``exec vllm serve ...
  --distributed-executor-backend ray``), each worker runs the worker script (wait for the head, ``ray start --block``,
  retried). The join logic is therefore ours, identical on both backends and tested against a real Ray. The head holds
  ``accelerators_per_node`` GPUs and takes part in the engine. Workers reach the head through the Service KubeRay
  creates for it, ``<name>-head-svc`` (headless with ``publishNotReadyAddresses`` by default, so it resolves while the
  head is still waiting for them).
- ``LWS``: a ``leaderworkerset.x-k8s.io/v1`` LeaderWorkerSet of groups of ``nodes`` pods; the leader runs the same
  leader script, workers the worker script (head address from ``LWS_LEADER_ADDRESS``); ``RecreateGroupOnPodRestart``
  restarts the whole gang when one pod fails. The startup policy is ``LeaderCreated``: with ``LeaderReady`` LWS would
  create the workers only once the leader is ready, and the leader is ready only once the workers joined.
- ``LWS_RAY_FREE``: the same LeaderWorkerSet without Ray: every pod runs ``vllm serve`` with ``--nnodes``,
  ``--node-rank $(LWS_WORKER_INDEX)`` and ``--master-addr $(LWS_LEADER_ADDRESS)``; workers add ``--headless``.

Only the serving pod (head or leader) has the OpenAI port, the probes and the Service; its startup budget is the
model-load budget plus ``cluster_timeout_seconds``. Weights come from one download Job into a ReadWriteMany cache that
every pod waits for, so a gang never downloads N times. The layout rule: ``tensor_parallel_size x
pipeline_parallel_size == nodes x accelerators_per_node``.
"""

from __future__ import annotations

import cdk8s
import cdk8s_plus_27 as kplus
import jsii
from constructs import Construct

from ._adapter import hand_over_replicas
from ._construct import ServingConstruct
from .core.cluster import (
    LWS_INDEX_LABEL,
    LWS_NAME_LABEL,
    ClusterPlan,
    LwsRollout,
    LwsStartupPolicy,
    MultiNodeBackend,
    NcclDebug,
    NcclSettings,
    RayClusterProps,
    Rdma,
    leader_script,
    plan_cluster,
    worker_script,
)

__all__ = [
    "LWS_INDEX_LABEL",
    "LWS_NAME_LABEL",
    "LwsRollout",
    "LwsStartupPolicy",
    "MultiNodeBackend",
    "NcclDebug",
    "NcclSettings",
    "RayCluster",
    "RayClusterProps",
    "Rdma",
    "leader_script",
    "worker_script",
]


@jsii.implements(kplus.IPodSelector, kplus.INetworkPolicyPeer)
class RayCluster(ServingConstruct):
    """One model served by vLLM across ``nodes`` pods (see the module docstring for the backends).

    Handles: ``serving`` (the ServingWorkload facts), ``resource`` (the RayCluster or LeaderWorkerSet), ``service``
    (selects the serving pod only), ``model_init_job``, ``cache_claim``, ``network_policy`` (or None),
    ``selector_labels`` (the serving pods), ``service_name``, ``service_port``, ``port``, ``served_model_name``.
    ``cdk8s.ApiObject.of(cluster)`` is the RayCluster or LeaderWorkerSet.
    """

    def __init__(self, scope: Construct, construct_id: str, props: RayClusterProps) -> None:
        self._plan: ClusterPlan = self._build_serving(
            scope, construct_id, props, RayClusterProps, lambda path, ns: plan_cluster(path, ns, props)
        )

    @property
    def resource(self) -> cdk8s.ApiObject:
        return self._objs["Resource"]

    def hand_replicas_to_autoscaler(self) -> None:
        """Drop the LeaderWorkerSet's ``spec.replicas`` so a GitOps sync never fights the autoscaler."""
        hand_over_replicas(self._plan, self.resource)
