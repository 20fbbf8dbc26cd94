"""Autoscaling the multi-node construct: a LeaderWorkerSet scales whole serving groups through its scale
subresource; KubeRay is refused with a clear error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cdk8s
import pytest

from tests.conftest import by_kind, chart_objects, one
from tests.refusals import refused
from tests.schemas import K8S_VERSIONS, crd_errors, k8s_errors
from vllm_constructs import (
    Autoscaler,
    AutoscalerProps,
    ConfigError,
    EngineArgs,
    ModelCache,
    ModelSource,
    MultiNodeBackend,
    RayCluster,
    RayClusterProps,
    Resources,
    Scaling,
)
from vllm_constructs.core.autoscaling import plan_autoscaler
from vllm_constructs.core.cluster import plan_cluster

MakeChart = Callable[..., cdk8s.Chart]


def cluster_props(backend: MultiNodeBackend) -> RayClusterProps:
    return RayClusterProps(
        name="big",
        backend=backend,
        model=ModelSource.huggingface("org/model", revision="0" * 40),
        engine=EngineArgs(tensor_parallel_size=8, pipeline_parallel_size=2),
        resources=Resources(cpu="8", memory="64Gi"),
        cache=ModelCache.pvc("100Gi", access_mode="ReadWriteMany"),
        replicas=2 if backend is not MultiNodeBackend.KUBERAY else 1,
    )


def cluster(chart: cdk8s.Chart, backend: MultiNodeBackend) -> RayCluster:
    return RayCluster(chart, "rc", cluster_props(backend))


@pytest.mark.parametrize("backend", [MultiNodeBackend.LWS, MultiNodeBackend.LWS_RAY_FREE])
@pytest.mark.parametrize("scaling", [Scaling.cpu_memory(), Scaling.keda("http://prometheus.monitoring:9090")], ids=["hpa", "keda"])
def test_leaderworkerset_is_scaled_through_its_scale_subresource(
    new_chart: MakeChart, crd_dir: Path, backend: MultiNodeBackend, scaling: Scaling
) -> None:
    chart = new_chart()
    rc = cluster(chart, backend)
    Autoscaler(chart, "scale", AutoscalerProps(target=rc, scaling=scaling, min_replicas=1, max_replicas=4))
    objects = chart_objects(chart)
    lws = one(objects, "LeaderWorkerSet")
    assert "replicas" not in lws["spec"], "the autoscaler owns the group count"
    scalers = by_kind(objects, "HorizontalPodAutoscaler") + by_kind(objects, "ScaledObject")
    (scaler,) = scalers
    assert scaler["spec"]["scaleTargetRef"] == {"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet", "name": "big"}
    # labelled with the serving pods' identity (the leaders'), like every object observing or scaling the server
    assert scaler["metadata"]["labels"] == {**rc.selector_labels, "app.kubernetes.io/managed-by": "vllm-constructs"}
    assert rc.selector_labels["app.kubernetes.io/component"] == "server"
    up = (scaler["spec"].get("behavior") or scaler["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"])["scaleUp"]
    assert up["policies"][0]["periodSeconds"] == min(1800 + 900, 1800), "a new group needs the load budget plus cluster formation"
    for obj in objects:
        if obj["kind"] in ("LeaderWorkerSet", "ScaledObject"):
            assert crd_errors(obj, crd_dir) == []
        else:
            for version in K8S_VERSIONS:
                assert k8s_errors(obj, version) == [], (obj["kind"], version)


def test_fails_when_autoscaling_a_kuberay_cluster(new_chart: MakeChart) -> None:
    chart = new_chart()
    rc = cluster(chart, MultiNodeBackend.KUBERAY)
    assert rc.serving.scale_target is None
    reason = rc.serving.unscalable_reason
    assert reason == (
        "a KubeRay RayCluster has no scale subresource for whole serving groups (KubeRay scales Ray workers, not vLLM replicas)"
    )
    error = refused(chart, lambda: Autoscaler(chart, "scale", AutoscalerProps(target=rc, scaling=Scaling.cpu_memory(), max_replicas=4)))
    assert str(error) == (
        f"test/scale: target='big' cannot be autoscaled: {reason}. Allowed: a workload with a scale subresource. "
        "Fix: use a VllmServer, or a RayCluster on MultiNodeBackend.LWS or LWS_RAY_FREE."
    )
    assert one(chart_objects(chart), "RayCluster")["spec"]["workerGroupSpecs"][0]["replicas"] == 1


def test_fails_when_autoscaling_the_pure_plan_of_a_kuberay_cluster() -> None:
    """The pure plan is a ServingWorkload too, and is refused for the same reason, without cdk8s."""
    plan = plan_cluster("test/rc", "test", cluster_props(MultiNodeBackend.KUBERAY))
    with pytest.raises(ConfigError) as info:
        plan_autoscaler("test/scale", AutoscalerProps(target=plan, scaling=Scaling.cpu_memory(), max_replicas=4))
    assert info.value.field == "target"
    assert plan.serving.unscalable_reason in str(info.value)


@pytest.mark.parametrize("backend", [MultiNodeBackend.LWS, MultiNodeBackend.LWS_RAY_FREE])
def test_the_pure_plan_autoscales_like_the_construct(new_chart: MakeChart, backend: MultiNodeBackend) -> None:
    """plan_autoscaler on plan_cluster gives the objects the constructs synthesize, and handing the replicas over
    drops spec.replicas from the planned LeaderWorkerSet."""
    chart = new_chart()
    rc = cluster(chart, backend)
    Autoscaler(chart, "scale", AutoscalerProps(target=rc, scaling=Scaling.cpu_memory(), max_replicas=4))
    plan = plan_cluster("test/rc", "test", cluster_props(backend))
    scaled = plan_autoscaler("test/scale", AutoscalerProps(target=plan, scaling=Scaling.cpu_memory(), max_replicas=4))
    plan.hand_replicas_to_autoscaler()
    planned = [o.manifest("test") for o in [*plan.objects, *scaled.objects]]
    assert sorted(planned, key=str) == sorted(chart_objects(chart), key=str)


def test_fails_when_a_leaderworkerset_gets_a_second_autoscaler(new_chart: MakeChart) -> None:
    chart = new_chart()
    rc = cluster(chart, MultiNodeBackend.LWS)
    Autoscaler(chart, "scale", AutoscalerProps(target=rc, scaling=Scaling.cpu_memory(), max_replicas=4))
    keda = Scaling.keda("http://prometheus.monitoring:9090")
    error = refused(chart, lambda: Autoscaler(chart, "again", AutoscalerProps(target=rc, scaling=keda, max_replicas=4)))
    assert str(error) == (
        "test/again: target='big' already has an autoscaler (test/scale). Allowed: one autoscaler per workload. "
        "Fix: combine the metrics into one Autoscaler: two would fight over its replicas."
    )
    assert by_kind(chart_objects(chart), "ScaledObject") == []
