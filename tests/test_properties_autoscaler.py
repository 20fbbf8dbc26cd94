"""Property tests of Autoscaler (CPU/memory HPA, vLLM-metrics HPA, KEDA) on generated VllmServer targets: the
HPA or ScaledObject validates (Kubernetes strict / CRD), its scale target exists in the chart and is the server's
Deployment, which no longer renders spec.replicas, and the PDB selects the pods; invalid props raise ConfigError
naming the field and add nothing."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import cdk8s
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.conftest import by_kind, chart_objects
from tests.schemas import K8S_VERSIONS, crd_errors, is_builtin, k8s_errors
from tests.test_properties import valid_props
from vllm_constructs import (
    Autoscaler,
    AutoscalerProps,
    ConfigError,
    DownloadMode,
    KedaAuthentication,
    ModelCache,
    RolloutStrategy,
    Scaling,
    ScalingBehavior,
    VllmServer,
    VllmServerProps,
)
from vllm_constructs.lint import Severity, lint
from vllm_constructs.promql import VLLM_METRICS

EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "200"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


@st.composite
def servers(draw: st.DrawFn) -> VllmServerProps:
    """A generated server whose pods may run on several nodes: a ReadWriteMany cache when a Job fills it."""
    props = draw(valid_props())
    if props.model.downloads and props.download_mode is DownloadMode.JOB:
        props = dataclasses.replace(props, cache=ModelCache.pvc(f"{draw(st.integers(10, 900))}Gi", access_mode="ReadWriteMany"))
    return props


@st.composite
def targets(draw: st.DrawFn) -> dict[str, float]:
    metrics = draw(st.lists(st.sampled_from(sorted(VLLM_METRICS)), min_size=1, max_size=3, unique=True))
    return {
        m: draw(st.floats(0.05, 0.95) if m == "vllm:kv_cache_usage_perc" else st.sampled_from([0.5, 1, 5, 20, 150.25])) for m in metrics
    }


@st.composite
def scalings(draw: st.DrawFn, max_replicas: int) -> Scaling:
    mode = draw(st.sampled_from(["cpu_memory", "vllm_metrics", "keda"]))
    if mode == "cpu_memory":
        cpu = draw(st.none() | st.integers(1, 1000))
        memory = draw(st.integers(1, 1000) if cpu is None else st.none() | st.integers(1, 1000))
        return Scaling.cpu_memory(cpu_percent=cpu, memory_percent=memory)
    if mode == "vllm_metrics":
        return Scaling.vllm_metrics(draw(targets()))
    to_zero = draw(st.booleans())
    return Scaling.keda(
        draw(st.sampled_from(["http://prometheus-operated.monitoring:9090", "https://thanos.example.com"])),
        draw(targets()),
        activation_threshold=draw(st.sampled_from([0.0, 1.0, 2.5])),
        failure_threshold=draw(st.integers(1, 10)),
        fallback_replicas=draw(st.none() | st.integers(1, max_replicas)),
        authentication=draw(st.none() | st.just(KedaAuthentication(name="prom-auth", cluster_scoped=draw(st.booleans())))),
        idle_replica_count=0 if to_zero else None,
        wake_query='rate(gateway_requests_total{model="m"}[2m])' if to_zero else None,
        polling_interval_seconds=draw(st.integers(1, 3600)),
        cooldown_seconds=draw(st.integers(0, 3600)),
    )


@st.composite
def autoscaled(draw: st.DrawFn) -> tuple[VllmServerProps, dict[str, Any]]:
    server = draw(servers())
    low = draw(st.integers(1, 3))
    high = draw(st.integers(low, 10))
    startup = server.health.startup_timeout_seconds
    behavior = draw(
        st.sampled_from(
            [
                ScalingBehavior(),
                ScalingBehavior(scale_up_pods=2, scale_up_period_seconds=1800, scale_down_stabilization_seconds=0),
                ScalingBehavior(scale_down_pods=3, scale_down_period_seconds=60, scale_up_stabilization_seconds=min(startup, 3600)),
            ]
        )
    )
    return server, {"scaling": draw(scalings(high)), "min_replicas": low, "max_replicas": high, "behavior": behavior}


def build(server: VllmServerProps) -> tuple[cdk8s.Chart, VllmServer]:
    app = cdk8s.App()
    chart = cdk8s.Chart(app, "c", namespace="ns", disable_resource_name_hashes=True)
    return chart, VllmServer(chart, "s", server)


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@SETTINGS
@given(autoscaled())
def test_autoscaled_servers_validate_and_target_their_deployment(crd_dir: Path, case: tuple[VllmServerProps, dict[str, Any]]) -> None:
    server_props, scaler_props = case
    chart, server = build(server_props)
    scaler = Autoscaler(chart, "a", AutoscalerProps(target=server, **scaler_props))
    objects = chart_objects(chart)
    for obj in objects:
        if is_builtin(obj):
            for version in K8S_VERSIONS:
                assert k8s_errors(obj, version) == [], (obj["kind"], version)
        else:
            assert crd_errors(obj, crd_dir) == [], obj["kind"]
    kind = "ScaledObject" if scaler_props["scaling"].mode == "keda" else "HorizontalPodAutoscaler"
    (resource,) = by_kind(objects, kind)
    (dep,) = by_kind(objects, "Deployment")
    ref = resource["spec"]["scaleTargetRef"]
    assert (ref["apiVersion"], ref["kind"], ref["name"]) == ("apps/v1", "Deployment", dep["metadata"]["name"])
    assert dep["metadata"]["name"] == server.deployment.name
    assert "replicas" not in dep["spec"]
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    for pdb in by_kind(objects, "PodDisruptionBudget"):
        assert _selects(pdb["spec"]["selector"]["matchLabels"], pod_labels)
    assert (scaler.adapter_rules is not None) == (scaler_props["scaling"].mode == "vllm-metrics")
    assert [f for f in lint(chart) if f.severity is Severity.ERROR] == []


INVALID: list[tuple[str, dict[str, Any]]] = [
    ("min_replicas", {"min_replicas": 0}),
    ("min_replicas", {"min_replicas": 5, "max_replicas": 4}),
    ("max_replicas", {"max_replicas": 0}),
    ("scaling.cpu_percent", {"scaling": Scaling.cpu_memory(cpu_percent=0)}),
    ("scaling", {"scaling": Scaling.cpu_memory(cpu_percent=None)}),
    ("scaling.targets", {"scaling": Scaling.vllm_metrics({"vllm:gpu_cache_usage_perc": 0.8})}),
    ("scaling.targets['vllm:kv_cache_usage_perc']", {"scaling": Scaling.keda("http://p:9090", {"vllm:kv_cache_usage_perc": 80})}),
    ("scaling.prometheus_address", {"scaling": Scaling.keda("prometheus:9090")}),
    ("scaling.idle_replica_count", {"scaling": Scaling.keda("http://p:9090", idle_replica_count=1)}),
    ("scaling.wake_query", {"scaling": Scaling.keda("http://p:9090", idle_replica_count=0)}),
    ("scaling.fallback_replicas", {"scaling": Scaling.keda("http://p:9090", fallback_replicas=99)}),
    ("behavior.scale_up_period_seconds", {"behavior": ScalingBehavior(scale_up_period_seconds=1)}),
    ("max_replicas", {"cache": "rwo"}),
]


@settings(max_examples=max(EXAMPLES // 4, 40), deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(servers(), st.sampled_from(INVALID))
def test_invalid_autoscalers_raise_config_error_naming_the_field(server_props: VllmServerProps, bad: tuple[str, dict[str, Any]]) -> None:
    field, overrides = bad
    overrides = dict(overrides)
    if overrides.pop("cache", None) == "rwo":
        # a single-replica server downloading into a ReadWriteOnce claim cannot scale past one node
        assume(server_props.model.downloads)
        server_props = dataclasses.replace(
            server_props,
            replicas=1,
            rollout=RolloutStrategy.rolling(),
            download_mode=DownloadMode.JOB,
            cache=ModelCache.pvc("10Gi", access_mode="ReadWriteOnce"),
        )
    chart, server = build(server_props)
    before = chart_objects(chart)
    props = {"target": server, "scaling": Scaling.cpu_memory(), "max_replicas": 3, **overrides}
    with pytest.raises(ConfigError) as info:
        Autoscaler(chart, "a", AutoscalerProps(**props))
    assert info.value.field == field, str(info.value)
    assert str(info.value).startswith(f"c/a: {field}=")
    assert chart_objects(chart) == before  # nothing added, and the Deployment keeps its replicas
