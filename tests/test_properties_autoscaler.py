"""Property tests of Autoscaler (CPU/memory HPA, vLLM-metrics HPA, KEDA) on generated VllmServer targets: the
HPA or ScaledObject validates (Kubernetes strict / CRD), its scale target exists in the chart and is the server's
Deployment, which no longer renders spec.replicas, and the PDB selects the pods; invalid props raise ConfigError
naming the field and add nothing."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cdk8s
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.conftest import by_kind, chart_objects
from tests.refusals import refused
from tests.schemas import K8S_VERSIONS, crd_errors, is_builtin, k8s_errors
from tests.strategies import valid_props
from vllm_constructs import (
    Autoscaler,
    AutoscalerProps,
    DownloadMode,
    KedaAuthentication,
    ModelCache,
    ModelDownload,
    RolloutStrategy,
    Scaling,
    ScalingBehavior,
    VllmServer,
    VllmServerProps,
)
from vllm_constructs.autoscaler import KedaScaling, VllmMetricsScaling
from vllm_constructs.core.promql import VLLM_METRICS
from vllm_constructs.lint import Severity, lint

EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "200"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


@st.composite
def servers(draw: st.DrawFn) -> VllmServerProps:
    """A generated server whose pods may run on several nodes: a ReadWriteMany cache when a Job fills it."""
    props = draw(valid_props())
    if props.model.downloads and props.download.mode is DownloadMode.JOB:
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
    kind = "ScaledObject" if isinstance(scaler_props["scaling"], KedaScaling) else "HorizontalPodAutoscaler"
    (resource,) = by_kind(objects, kind)
    (dep,) = by_kind(objects, "Deployment")
    ref = resource["spec"]["scaleTargetRef"]
    assert (ref["apiVersion"], ref["kind"], ref["name"]) == ("apps/v1", "Deployment", dep["metadata"]["name"])
    assert dep["metadata"]["name"] == server.deployment.name
    assert "replicas" not in dep["spec"]
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    for pdb in by_kind(objects, "PodDisruptionBudget"):
        assert _selects(pdb["spec"]["selector"]["matchLabels"], pod_labels)
    assert (scaler.adapter_rules is not None) == isinstance(scaler_props["scaling"], VllmMetricsScaling)
    # labelled with the serving pods' identity
    assert resource["metadata"]["labels"] == {**server.selector_labels, "app.kubernetes.io/managed-by": "vllm-constructs"}
    assert [f for f in lint(chart) if f.severity is Severity.ERROR] == []


PROM = "http://p:9090"
# (where the ConfigError is raised: "construct" or the value class, field, the overrides of the autoscaler props built lazily)
Case = tuple[str, str, Callable[[], dict[str, Any]]]
INVALID: list[Case] = [
    # refused when the props are built
    ("AutoscalerProps", "min_replicas", lambda: {"min_replicas": 0}),
    ("AutoscalerProps", "min_replicas", lambda: {"min_replicas": 5, "max_replicas": 4}),
    ("AutoscalerProps", "max_replicas", lambda: {"max_replicas": 0}),
    ("CpuMemoryScaling", "cpu_percent", lambda: {"scaling": Scaling.cpu_memory(cpu_percent=0)}),
    ("CpuMemoryScaling", "cpu_percent", lambda: {"scaling": Scaling.cpu_memory(cpu_percent=None)}),
    (
        "VllmMetricsScaling",
        "targets['vllm:gpu_cache_usage_perc']",
        lambda: {"scaling": Scaling.vllm_metrics({"vllm:gpu_cache_usage_perc": 0.8})},
    ),
    ("KedaScaling", "targets['vllm:kv_cache_usage_perc']", lambda: {"scaling": Scaling.keda(PROM, {"vllm:kv_cache_usage_perc": 80})}),
    ("KedaScaling", "prometheus_address", lambda: {"scaling": Scaling.keda("prometheus:9090")}),
    ("KedaScaling", "idle_replica_count", lambda: {"scaling": Scaling.keda(PROM, idle_replica_count=1)}),
    ("KedaScaling", "wake_query", lambda: {"scaling": Scaling.keda(PROM, idle_replica_count=0)}),
    ("AutoscalerProps", "scaling.fallback_replicas", lambda: {"scaling": Scaling.keda(PROM, fallback_replicas=99)}),
    # refused in context, when the construct is created
    ("construct", "behavior.scale_up_period_seconds", lambda: {"behavior": ScalingBehavior(scale_up_period_seconds=1)}),
    ("construct", "max_replicas", lambda: {}),  # on a server whose cache is ReadWriteOnce (below)
    # wrong types: a str where a mapping goes, a float or a bool where an int goes, NaN and infinity, ints beyond int32
    ("VllmMetricsScaling", "targets", lambda: {"scaling": Scaling.vllm_metrics("vllm:num_requests_waiting")}),
    ("AutoscalerProps", "max_replicas", lambda: {"max_replicas": 3.0}),
    ("AutoscalerProps", "startup_seconds", lambda: {"startup_seconds": 60.0}),
    ("CpuMemoryScaling", "cpu_percent", lambda: {"scaling": Scaling.cpu_memory(cpu_percent=80.0)}),
    ("KedaScaling", "polling_interval_seconds", lambda: {"scaling": Scaling.keda(PROM, polling_interval_seconds=15.0)}),
    ("AutoscalerProps", "max_replicas", lambda: {"max_replicas": True}),
    ("KedaScaling", "failure_threshold", lambda: {"scaling": Scaling.keda(PROM, failure_threshold=True)}),
    ("ScalingBehavior", "scale_up_pods", lambda: {"behavior": ScalingBehavior(scale_up_pods=True)}),
    ("AutoscalerProps", "startup_seconds", lambda: {"startup_seconds": float("nan")}),
    ("KedaScaling", "activation_threshold", lambda: {"scaling": Scaling.keda(PROM, activation_threshold=float("nan"))}),
    (
        "KedaScaling",
        "targets['vllm:num_requests_waiting']",
        lambda: {"scaling": Scaling.keda(PROM, {"vllm:num_requests_waiting": float("inf")})},
    ),
    ("AutoscalerProps", "min_replicas", lambda: {"min_replicas": 2**31}),
    ("ScalingBehavior", "scale_down_period_seconds", lambda: {"behavior": ScalingBehavior(scale_down_period_seconds=2**31)}),
    # malformed names and addresses: a trailing newline, digits of other scripts
    ("AutoscalerProps", "name", lambda: {"name": "s\n"}),
    ("AutoscalerProps", "name", lambda: {"name": "s-\u0663"}),
    ("KedaAuthentication", "name", lambda: {"scaling": Scaling.keda(PROM, authentication=KedaAuthentication(name="auth\n"))}),
    ("KedaScaling", "prometheus_address", lambda: {"scaling": Scaling.keda(PROM + "\n")}),
    ("KedaScaling", "wake_query", lambda: {"scaling": Scaling.keda(PROM, idle_replica_count=0, wake_query="up\n")}),
    # other shapes where a value class goes
    ("AutoscalerProps", "scaling", lambda: {"scaling": "cpu"}),
    ("AutoscalerProps", "behavior", lambda: {"behavior": {"scale_up_pods": 2}}),
    ("AutoscalerProps", "target", lambda: {"target": None}),
    ("AutoscalerProps", "max_replica", lambda: {"max_replica": 3}),
]


@pytest.mark.parametrize("bad", INVALID, ids=[f"{c[0]}.{c[1]}-{i}" for i, c in enumerate(INVALID)])
@settings(max_examples=max(EXAMPLES // 40, 4), deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(server_props=servers())
def test_invalid_autoscalers_raise_config_error_naming_the_field(server_props: VllmServerProps, bad: Case) -> None:
    """Every case, on several generated servers: a ConfigError (never another exception) naming the field where it is
    refused, nothing added to the chart, and the Deployment keeps its replicas."""
    where, field, make = bad
    if (where, field) == ("construct", "max_replicas"):
        # a single-replica server downloading into a ReadWriteOnce claim cannot scale past one node
        assume(server_props.model.downloads)
        server_props = dataclasses.replace(
            server_props,
            replicas=1,
            rollout=RolloutStrategy.rolling(),
            download=ModelDownload(mode=DownloadMode.JOB),
            cache=ModelCache.pvc("10Gi", access_mode="ReadWriteOnce"),
        )
    chart, server = build(server_props)
    # the overrides are built inside: a value class refusing its value is part of what must leave the chart unchanged
    error = refused(
        chart,
        lambda: Autoscaler(chart, "a", AutoscalerProps(**{"target": server, "scaling": Scaling.cpu_memory(), "max_replicas": 3, **make()})),
    )
    path = "c/a" if where == "construct" else where
    assert (error.path, error.field) == (path, field), str(error)
    assert str(error).startswith(f"{path}: {field}=")
    assert "replicas" in by_kind(chart_objects(chart), "Deployment")[0]["spec"]
