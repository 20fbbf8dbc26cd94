"""Autoscaling the multi-node construct: a LeaderWorkerSet scales whole serving groups through its scale
subresource; KubeRay is refused with a clear error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cdk8s
import pytest

from tests.conftest import by_kind, chart_objects, one
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

MakeChart = Callable[..., cdk8s.Chart]


def cluster(chart: cdk8s.Chart, backend: MultiNodeBackend) -> RayCluster:
    return RayCluster(
        chart,
        "rc",
        RayClusterProps(
            name="big",
            backend=backend,
            model=ModelSource.huggingface("org/model", revision="0" * 40),
            engine=EngineArgs(tensor_parallel_size=8, pipeline_parallel_size=2),
            resources=Resources(cpu="8", memory="64Gi"),
            cache=ModelCache.pvc("100Gi", access_mode="ReadWriteMany"),
            replicas=2 if backend is not MultiNodeBackend.KUBERAY else 1,
        ),
    )


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
    with pytest.raises(ConfigError) as info:
        Autoscaler(chart, "scale", AutoscalerProps(target=rc, scaling=Scaling.cpu_memory(), max_replicas=4))
    assert str(info.value) == (
        "test/scale: target='RayCluster' has no scale subresource for whole serving groups (KubeRay scales Ray workers, "
        "not vLLM replicas). Allowed: a VllmServer, or a RayCluster on MultiNodeBackend.LWS or LWS_RAY_FREE. "
        "Fix: use backend=MultiNodeBackend.LWS to autoscale multi-node replicas."
    )
    assert by_kind(chart_objects(chart), "HorizontalPodAutoscaler") == []
