"""Autoscaler: the three scaling paths, GPU-fit behavior, validation, and strict schema validity."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import cdk8s
import pytest
import yaml

from tests.conftest import by_kind, chart_objects, chart_yaml, one
from tests.refusals import refused
from tests.schemas import K8S_VERSIONS, crd_errors, is_builtin, k8s_errors
from vllm_constructs import (
    Autoscaler,
    AutoscalerProps,
    GpuDeployment,
    GpuDeploymentProps,
    HealthChecks,
    Image,
    KedaAuthentication,
    ModelCache,
    ModelSource,
    Resources,
    Scaling,
    ScalingBehavior,
    VllmServer,
    VllmServerProps,
)
from vllm_constructs.chart import load_values, plan_release
from vllm_constructs.core.promql import adapter_metric_name

PROM = "http://prometheus-operated.monitoring:9090"
REV = "0123456789abcdef0123456789abcdef01234567"

NewChart = Callable[..., cdk8s.Chart]


def server(chart: cdk8s.Chart, name: str = "llama", *, rwx: bool = True, startup: int = 900) -> VllmServer:
    return VllmServer(
        chart,
        name,
        VllmServerProps(
            name=name,
            model=ModelSource.huggingface("org/model", revision=REV),
            resources=Resources(cpu="4", memory="32Gi", accelerators=1),
            cache=ModelCache.pvc("50Gi", access_mode="ReadWriteMany") if rwx else ModelCache.pvc("50Gi"),
            health=HealthChecks(startup_timeout_seconds=startup),
        ),
    )


def scaler(chart: cdk8s.Chart, target: Any, scaling: Scaling, **kw: Any) -> Autoscaler:
    kw.setdefault("max_replicas", 4)
    return Autoscaler(chart, "scaler", AutoscalerProps(target=target, scaling=scaling, **kw))


def fails(chart: cdk8s.Chart, fn: Callable[[], object]) -> str:
    """The ConfigError message of ``fn``; the chart is exactly as before (no construct, no object, replicas kept)."""
    return str(refused(chart, fn))


def deployment(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return one(objects, "Deployment")


# --- CPU / memory (the upstream chart's autoscaling.*) ---


def test_cpu_memory_hpa_targets_the_deployment_and_takes_over_replicas(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart)
    scaler(chart, srv, Scaling.cpu_memory(cpu_percent=70, memory_percent=85), min_replicas=2, max_replicas=5)
    objects = chart_objects(chart)
    hpa = one(objects, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["metadata"]["name"] == "llama"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "llama"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 5)
    assert hpa["spec"]["metrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}},
        {"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 85}}},
    ]
    assert "replicas" not in deployment(objects)["spec"]
    srv.hand_replicas_to_autoscaler()  # handing over twice is harmless: the Deployment still synthesizes without replicas
    assert "replicas" not in deployment(chart_objects(chart))["spec"]


def test_unscaled_server_keeps_its_replicas(new_chart: NewChart) -> None:
    chart = new_chart()
    server(chart)
    assert deployment(chart_objects(chart))["spec"]["replicas"] == 1


def _chart_hpas(tmp_path: Path, autoscaling: dict[str, Any]) -> list[dict[str, Any]]:
    """The HorizontalPodAutoscalers of an upstream-chart release with these ``autoscaling`` values (vllm_constructs.chart)."""
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"autoscaling": autoscaling}))
    plan = plan_release("demo", "test", load_values([values]))
    return [o.manifest("test") for o in plan.objects if o.kind == "HorizontalPodAutoscaler"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"enabled": True, "minReplicas": 1, "maxReplicas": 100, "targetCPUUtilizationPercentage": 80},
            (1, 100, [("cpu", 80)]),
        ),
        (
            {
                "enabled": True,
                "minReplicas": 2,
                "maxReplicas": 6,
                "targetCPUUtilizationPercentage": 60,
                "targetMemoryUtilizationPercentage": 75,
            },
            (2, 6, [("cpu", 60), ("memory", 75)]),
        ),
        (
            {
                "enabled": True,
                "minReplicas": 1,
                "maxReplicas": 3,
                "targetCPUUtilizationPercentage": 0,
                "targetMemoryUtilizationPercentage": 75,
            },
            (1, 3, [("memory", 75)]),
        ),
        # Neither target: the chart renders an empty metrics list, which the API defaults to 80% CPU.
        ({"enabled": True, "minReplicas": 1, "maxReplicas": 3, "targetCPUUtilizationPercentage": 0}, (1, 3, [("cpu", 80)])),
    ],
)
def test_chart_autoscaling_values_map_to_the_cpu_memory_path(tmp_path: Path, values: dict[str, Any], expected: Any) -> None:
    (hpa,) = _chart_hpas(tmp_path, values)
    spec = hpa["spec"]
    got = [(m["resource"]["name"], m["resource"]["target"]["averageUtilization"]) for m in spec["metrics"]]
    assert (spec["minReplicas"], spec["maxReplicas"], got) == expected
    assert spec["scaleTargetRef"]["kind"] == "Deployment"


def test_chart_autoscaling_disabled_maps_to_no_autoscaler(tmp_path: Path) -> None:
    assert _chart_hpas(tmp_path, {"enabled": False, "minReplicas": 1, "maxReplicas": 100}) == []


# --- behavior ---


def test_behavior_paces_scale_up_by_the_startup_budget(new_chart: NewChart) -> None:
    chart = new_chart()
    scaler(chart, server(chart, startup=900), Scaling.cpu_memory())
    behavior = one(chart_objects(chart), "HorizontalPodAutoscaler")["spec"]["behavior"]
    assert behavior["scaleUp"]["policies"] == [{"type": "Pods", "value": 1, "periodSeconds": 900}]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 600
    assert behavior["scaleDown"]["policies"] == [{"type": "Pods", "value": 1, "periodSeconds": 300}]


def test_behavior_caps_the_period_at_the_hpa_limit(new_chart: NewChart) -> None:
    chart = new_chart()
    scaler(chart, server(chart, startup=3600), Scaling.cpu_memory())
    behavior = one(chart_objects(chart), "HorizontalPodAutoscaler")["spec"]["behavior"]
    assert behavior["scaleUp"]["policies"][0]["periodSeconds"] == 1800


# --- HPA on vLLM metrics + Prometheus Adapter ---


def test_vllm_metrics_hpa_and_adapter_rules_name_the_same_metrics(new_chart: NewChart) -> None:
    chart = new_chart()
    scaler(
        chart,
        server(chart),
        Scaling.vllm_metrics({"vllm:num_requests_waiting": 4, "vllm:kv_cache_usage_perc": 0.8, "vllm:generation_tokens_total": 2500}),
    )
    objects = chart_objects(chart)
    hpa = one(objects, "HorizontalPodAutoscaler")["spec"]
    asked = [m["pods"]["metric"]["name"] for m in hpa["metrics"]]
    assert asked == ["vllm_num_requests_waiting", "vllm_kv_cache_usage_perc", "vllm_generation_tokens_per_second"]
    assert [m["pods"]["target"] for m in hpa["metrics"]] == [
        {"type": "AverageValue", "averageValue": "4"},
        {"type": "AverageValue", "averageValue": "800m"},
        {"type": "AverageValue", "averageValue": "2500"},
    ]
    cm = one(objects, "ConfigMap")
    assert cm["metadata"]["name"] == "llama-adapter-rules"
    rules = yaml.safe_load(cm["data"]["config.yaml"])["rules"]
    assert [r["name"]["as"] for r in rules] == asked
    assert rules[0]["seriesQuery"] == 'vllm:num_requests_waiting{namespace!="",pod!="",server!=""}'
    assert rules[0]["metricsQuery"] == "sum by (<<.GroupBy>>) (<<.Series>>{<<.LabelMatchers>>})"
    assert rules[2]["metricsQuery"] == "sum by (<<.GroupBy>>) (rate(<<.Series>>{<<.LabelMatchers>>}[2m]))"
    assert all(r["resources"] == {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}} for r in rules)
    assert "replicas" not in deployment(objects)["spec"]


def test_adapter_metric_names_have_no_colon() -> None:
    assert adapter_metric_name("vllm:num_requests_running") == "vllm_num_requests_running"
    assert adapter_metric_name("vllm:num_preemptions_total") == "vllm_num_preemptions_per_second"


def test_vllm_metrics_snapshot(new_chart: NewChart, yaml_snapshot: Any) -> None:
    chart = new_chart()
    scaler(chart, server(chart), Scaling.vllm_metrics())
    assert chart_yaml(chart) == yaml_snapshot


# --- KEDA ---


def test_keda_queries_sum_this_servers_pods_and_treat_missing_data_as_an_error(new_chart: NewChart) -> None:
    chart = new_chart()
    scaler(chart, server(chart), Scaling.keda(PROM, {"vllm:num_requests_waiting": 8, "vllm:kv_cache_usage_perc": 0.85}), min_replicas=2)
    so = one(chart_objects(chart), "ScaledObject")
    assert so["apiVersion"] == "keda.sh/v1alpha1"
    spec = so["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "llama"}
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (2, 4)
    assert "idleReplicaCount" not in spec
    assert spec["fallback"] == {"failureThreshold": 3, "replicas": 2, "behavior": "currentReplicasIfHigher"}
    assert spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleUp"]["policies"][0]["periodSeconds"] == 900
    assert [t["metadata"]["query"] for t in spec["triggers"]] == [
        'sum(vllm:num_requests_waiting{namespace="test",server="llama"})',
        'sum(vllm:kv_cache_usage_perc{namespace="test",server="llama"})',
    ]
    for trigger in spec["triggers"]:
        assert trigger["type"] == "prometheus"
        assert trigger["metricType"] == "AverageValue"
        assert trigger["metadata"]["ignoreNullValues"] == "false"
        assert trigger["metadata"]["serverAddress"] == PROM
        assert trigger["metadata"]["activationThreshold"] == "0"
        assert "authenticationRef" not in trigger
    assert [t["metadata"]["threshold"] for t in spec["triggers"]] == ["8", "0.85"]


def test_keda_counter_targets_scale_on_a_rate(new_chart: NewChart) -> None:
    chart = new_chart()
    scaler(chart, server(chart), Scaling.keda(PROM, {"vllm:prompt_tokens_total": 20000}))
    trigger = one(chart_objects(chart), "ScaledObject")["spec"]["triggers"][0]
    assert trigger["metadata"]["query"] == 'sum(rate(vllm:prompt_tokens_total{namespace="test",server="llama"}[2m]))'


def test_keda_scale_to_zero_with_wake_query_and_authentication(new_chart: NewChart, yaml_snapshot: Any) -> None:
    chart = new_chart()
    scaling = Scaling.keda(
        PROM,
        activation_threshold=1,
        fallback_replicas=2,
        failure_threshold=5,
        authentication=KedaAuthentication(name="prometheus-auth", modes="basic"),
        idle_replica_count=0,
        wake_query='rate(gateway_requests_total{model="llama"}[1m])',
    )
    scaler(chart, server(chart), scaling)
    spec = one(chart_objects(chart), "ScaledObject")["spec"]
    assert spec["idleReplicaCount"] == 0
    assert spec["minReplicaCount"] == 1
    assert spec["fallback"]["replicas"] == 2
    assert spec["fallback"]["failureThreshold"] == 5
    queries = [t["metadata"]["query"] for t in spec["triggers"]]
    assert queries == [
        'sum(vllm:num_requests_waiting{namespace="test",server="llama"}) or vector(0)',
        'clamp_max(sum(rate(gateway_requests_total{model="llama"}[1m])), 1)',
    ]
    for trigger in spec["triggers"]:
        assert trigger["authenticationRef"] == {"name": "prometheus-auth", "kind": "TriggerAuthentication"}
        assert trigger["metadata"]["authModes"] == "basic"
    assert chart_yaml(chart) == yaml_snapshot


def test_keda_can_target_any_scale_target_with_an_explicit_startup_budget(new_chart: NewChart) -> None:
    chart = new_chart()
    workload = GpuDeployment(
        chart,
        "worker",
        GpuDeploymentProps(name="worker", image=Image("vllm/vllm-openai", tag="v0.33.0"), resources=Resources(cpu="1", memory="1Gi")),
    )
    scaler(chart, workload, Scaling.keda(PROM), startup_seconds=300)
    objects = chart_objects(chart)
    spec = one(objects, "ScaledObject")["spec"]
    assert spec["scaleTargetRef"]["name"] == "worker"
    assert spec["triggers"][0]["metadata"]["query"] == 'sum(vllm:num_requests_waiting{namespace="test",server="worker"})'
    assert "replicas" not in deployment(objects)["spec"]


# --- validation: props refused when built (the value class names itself) ---


def test_fails_when_min_is_above_max(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart)
    msg = fails(chart, lambda: scaler(chart, srv, Scaling.cpu_memory(), min_replicas=5, max_replicas=3))
    assert msg == (
        "AutoscalerProps: min_replicas=5 is above max_replicas. Allowed: min_replicas <= max_replicas. "
        "Fix: lower min_replicas or raise max_replicas."
    )


def test_fails_when_min_is_zero_on_an_hpa(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart)
    msg = fails(chart, lambda: scaler(chart, srv, Scaling.cpu_memory(), min_replicas=0))
    assert msg == (
        "AutoscalerProps: min_replicas=0 is out of range. Allowed: an integer >= 1 and <= 2147483647. Fix: pick a value in range."
    )


def test_fails_when_a_threshold_is_not_positive(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart)
    msg = fails(chart, lambda: scaler(chart, srv, Scaling.keda(PROM, {"vllm:num_requests_waiting": 0})))
    assert msg == (
        "KedaScaling: targets['vllm:num_requests_waiting']=0 is not a positive number. Allowed: a finite number above zero. "
        "Fix: use the per-pod value at which to add pods."
    )


def test_fails_when_activation_threshold_is_negative(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart)
    msg = fails(chart, lambda: scaler(chart, srv, Scaling.keda(PROM, activation_threshold=-1)))
    assert msg == (
        "KedaScaling: activation_threshold=-1 is out of range. Allowed: a number in [0, 1000000000000.0]. Fix: pick a value in range."
    )


def test_fails_when_cpu_percent_is_zero(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart)
    msg = fails(chart, lambda: scaler(chart, srv, Scaling.cpu_memory(cpu_percent=0)))
    assert msg == "CpuMemoryScaling: cpu_percent=0 is out of range. Allowed: an integer >= 1 and <= 1000. Fix: pick a value in range."


def test_fails_when_cpu_memory_has_no_target(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart)
    msg = fails(chart, lambda: scaler(chart, srv, Scaling.cpu_memory(cpu_percent=None)))
    assert msg == (
        "CpuMemoryScaling: cpu_percent=None and memory_percent are both unset. "
        "Allowed: cpu_percent and/or memory_percent. Fix: pass cpu_percent=80."
    )


METRICS = (
    "vllm:num_requests_waiting, vllm:num_requests_running, vllm:kv_cache_usage_perc, vllm:prompt_tokens_total, "
    "vllm:generation_tokens_total, vllm:num_preemptions_total, vllm:request_success_total"
)


def test_fails_when_a_metric_name_is_unknown(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart)
    msg = fails(chart, lambda: scaler(chart, srv, Scaling.vllm_metrics({"vllm:num_requests_queued": 3})))
    assert msg == (
        "VllmMetricsScaling: targets['vllm:num_requests_queued']='vllm:num_requests_queued' is not a known vLLM metric. "
        f"Allowed: {METRICS}. "
        "Fix: use one of those names."
    )


def test_fails_when_a_metric_name_is_deprecated(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart)
    msg = fails(chart, lambda: scaler(chart, srv, Scaling.keda(PROM, {"vllm:gpu_cache_usage_perc": 0.8})))
    assert msg == (
        "KedaScaling: targets['vllm:gpu_cache_usage_perc']='vllm:gpu_cache_usage_perc' is deprecated in vLLM's V1 metrics. "
        f"Allowed: {METRICS}. "
        "Fix: use 'vllm:kv_cache_usage_perc'."
    )


def test_fails_when_kv_cache_target_is_a_percentage(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart)
    msg = fails(chart, lambda: scaler(chart, srv, Scaling.vllm_metrics({"vllm:kv_cache_usage_perc": 80})))
    assert msg == (
        "VllmMetricsScaling: targets['vllm:kv_cache_usage_perc']=80 is above 1, but the metric is a fraction (0..1). "
        "Allowed: a fraction such as 0.8. Fix: divide the percentage by 100."
    )


@pytest.mark.parametrize(
    ("targets", "problem"),
    [
        ({"vllm:num_requests_waiting": float("nan")}, "['vllm:num_requests_waiting']=nan is not a positive number"),
        ({"vllm:num_requests_waiting": float("inf")}, "['vllm:num_requests_waiting']=inf is not a positive number"),
        ({"vllm:num_requests_waiting": True}, "['vllm:num_requests_waiting']=True is not a positive number"),
        ({"vllm:num_requests_waiting": "5"}, "['vllm:num_requests_waiting']='5' is not a positive number"),
        ({"vllm:num_requests_waiting": 1e13}, "['vllm:num_requests_waiting']=10000000000000.0 is not a positive number"),
    ],
    ids=["nan", "inf", "bool", "str", "huge"],
)
def test_fails_when_a_target_is_not_a_positive_number(new_chart: NewChart, targets: dict[str, Any], problem: str) -> None:
    chart = new_chart()
    srv = server(chart)
    msg = fails(chart, lambda: scaler(chart, srv, Scaling.vllm_metrics(targets)))
    assert msg == (
        f"VllmMetricsScaling: targets{problem}. Allowed: a finite number above zero. Fix: use the per-pod value at which to add pods."
    )


@pytest.mark.parametrize("targets", [[("vllm:num_requests_waiting", 5)], "vllm:num_requests_waiting", 5], ids=["list", "str", "int"])
def test_fails_when_the_targets_are_not_a_mapping(new_chart: NewChart, targets: Any) -> None:
    chart = new_chart()
    srv = server(chart)
    msg = fails(chart, lambda: scaler(chart, srv, Scaling.keda(PROM, targets)))
    assert msg == (
        f"KedaScaling: targets={targets!r} is a {type(targets).__name__}. "
        "Allowed: a mapping of vLLM metric name to its per-pod target, e.g. {'vllm:num_requests_waiting': 5}. "
        "Fix: pass the mapping to Scaling.vllm_metrics(...) or Scaling.keda(address, ...)."
    )


def test_integer_targets_keep_their_value(new_chart: NewChart) -> None:
    chart = new_chart()
    scaler(chart, server(chart), Scaling.keda(PROM, {"vllm:num_requests_waiting": 8}))
    assert one(chart_objects(chart), "ScaledObject")["spec"]["triggers"][0]["metadata"]["threshold"] == "8"


def test_fails_when_targets_are_empty(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart)
    msg = fails(chart, lambda: scaler(chart, srv, Scaling.keda(PROM, {})))
    assert msg == (
        "KedaScaling: targets={} is empty. Allowed: at least one vLLM metric and its per-pod target. "
        "Fix: pass e.g. {'vllm:num_requests_waiting': 5}."
    )


def test_fails_when_scale_to_zero_has_no_wake_query(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart)
    msg = fails(chart, lambda: scaler(chart, srv, Scaling.keda(PROM, idle_replica_count=0)))
    assert msg == (
        "KedaScaling: wake_query=None is missing, but a server scaled to zero has no pods to report demand. "
        "Allowed: PromQL measuring demand outside the pods, e.g. a gateway's request rate for this model. "
        "Fix: pass wake_query=... or drop idle_replica_count."
    )


def test_fails_when_idle_replica_count_is_not_zero(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart)
    msg = fails(chart, lambda: scaler(chart, srv, Scaling.keda(PROM, idle_replica_count=1, wake_query="x")))  # type: ignore[arg-type]
    assert msg == "KedaScaling: idle_replica_count=1 is not one of the allowed values. Allowed: 0. Fix: use one of those."


def test_fails_when_prometheus_address_is_not_a_url(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart)
    msg = fails(chart, lambda: scaler(chart, srv, Scaling.keda("prometheus:9090")))
    assert msg == (
        "KedaScaling: prometheus_address='prometheus:9090' is not an http(s) URL. "
        "Allowed: a URL such as 'http://prometheus.monitoring:9090'. Fix: add the scheme and host."
    )


def test_fails_when_fallback_exceeds_max(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart)
    msg = fails(chart, lambda: scaler(chart, srv, Scaling.keda(PROM, fallback_replicas=9), max_replicas=4))
    assert msg == (
        "AutoscalerProps: scaling.fallback_replicas=9 is above max_replicas. "
        "Allowed: 1 <= fallback_replicas <= max_replicas. Fix: lower it."
    )


def test_fails_when_the_target_is_not_a_serving_workload(new_chart: NewChart) -> None:
    chart = new_chart()
    msg = fails(chart, lambda: scaler(chart, "llama", Scaling.cpu_memory(), startup_seconds=60))
    assert msg == "AutoscalerProps: target='llama' is a str. Allowed: a ServingWorkload. Fix: pass a ServingWorkload."


# --- validation: refused when the construct is created (needs the target's facts or the App) ---


def test_fails_when_a_workload_gets_a_second_autoscaler(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart)
    scaler(chart, srv, Scaling.cpu_memory())
    msg = fails(chart, lambda: Autoscaler(chart, "again", AutoscalerProps(target=srv, scaling=Scaling.keda(PROM), max_replicas=2)))
    assert msg == (
        "test/again: target='llama' already has an autoscaler (test/scaler). Allowed: one autoscaler per workload. "
        "Fix: combine the metrics into one Autoscaler: two would fight over its replicas."
    )
    assert len(by_kind(chart_objects(chart), "HorizontalPodAutoscaler")) == 1
    assert by_kind(chart_objects(chart), "ScaledObject") == []


def test_fails_when_scale_up_period_is_shorter_than_the_startup_budget(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart, startup=900)
    msg = fails(chart, lambda: scaler(chart, srv, Scaling.cpu_memory(), behavior=ScalingBehavior(scale_up_period_seconds=60)))
    assert msg == (
        "test/scaler: behavior.scale_up_period_seconds=60 is shorter than the startup budget (900 s), so new pods would be added "
        "before the previous ones could serve. Allowed: an integer >= 900. "
        "Fix: leave it unset, or lower the server's health.startup_timeout_seconds."
    )


def test_fails_when_a_read_write_once_cache_would_scale_past_one(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart, rwx=False)
    assert srv.cache_access_mode == "ReadWriteOnce"
    msg = fails(chart, lambda: scaler(chart, srv, Scaling.cpu_memory(), max_replicas=3))
    assert msg == (
        "test/scaler: max_replicas=3 would start pods on other nodes, but the model cache is ReadWriteOnce and attaches to one node. "
        "Allowed: max_replicas <= 1. "
        "Fix: give the server a ReadWriteMany cache: ModelCache.pvc(size, access_mode='ReadWriteMany')."
    )
    assert deployment(chart_objects(chart))["spec"]["replicas"] == 1


def test_fails_when_keda_server_has_no_namespace(new_chart: NewChart) -> None:
    chart = new_chart(namespace=None)
    srv = server(chart)
    msg = fails(chart, lambda: scaler(chart, srv, Scaling.keda(PROM)))
    assert msg == (
        "test/scaler: target='llama' is in a chart without a namespace, so its metrics cannot be told apart from a namesake's "
        "in another namespace. Allowed: a chart with namespace=.... Fix: set the chart's namespace."
    )


def test_a_generic_target_paces_scale_up_by_its_own_startup_budget(new_chart: NewChart) -> None:
    """A GpuDeployment is a ServingWorkload: its startup budget is its health's, unless startup_seconds says otherwise."""
    chart = new_chart()
    props = GpuDeploymentProps(
        name="worker",
        image=Image("vllm/vllm-openai", tag="v0.33.0"),
        resources=Resources(cpu="1", memory="1Gi"),
        health=HealthChecks(startup_timeout_seconds=600),
    )
    scaler(chart, GpuDeployment(chart, "worker", props), Scaling.cpu_memory())
    assert one(chart_objects(chart), "HorizontalPodAutoscaler")["spec"]["behavior"]["scaleUp"]["policies"][0]["periodSeconds"] == 600
    other = new_chart()
    scaler(other, GpuDeployment(other, "worker", props), Scaling.cpu_memory(), startup_seconds=120)
    assert one(chart_objects(other), "HorizontalPodAutoscaler")["spec"]["behavior"]["scaleUp"]["policies"][0]["periodSeconds"] == 120


# --- schemas ---


def _all_modes_chart(new_chart: NewChart) -> cdk8s.Chart:
    chart = new_chart()
    scaler(chart, server(chart, "a"), Scaling.cpu_memory(cpu_percent=80, memory_percent=90))
    Autoscaler(chart, "b-scaler", AutoscalerProps(target=server(chart, "b"), scaling=Scaling.vllm_metrics(), max_replicas=3))
    Autoscaler(chart, "c-scaler", AutoscalerProps(target=server(chart, "c"), scaling=Scaling.keda(PROM), max_replicas=3))
    Autoscaler(
        chart,
        "d-scaler",
        AutoscalerProps(
            target=server(chart, "d"),
            scaling=Scaling.keda(
                PROM, authentication=KedaAuthentication(name="auth", cluster_scoped=True), idle_replica_count=0, wake_query="vector(1)"
            ),
            max_replicas=3,
        ),
    )
    return chart


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_every_builtin_object_validates_strictly(new_chart: NewChart, version: str) -> None:
    objects = [o for o in chart_objects(_all_modes_chart(new_chart)) if is_builtin(o)]
    assert len(by_kind(objects, "HorizontalPodAutoscaler")) == 2
    assert {f"{o['kind']}/{o['metadata']['name']}": k8s_errors(o, version) for o in objects} == {
        f"{o['kind']}/{o['metadata']['name']}": [] for o in objects
    }


def test_every_scaled_object_validates_against_its_crd(new_chart: NewChart, crd_dir: Path) -> None:
    objects = [o for o in chart_objects(_all_modes_chart(new_chart)) if not is_builtin(o)]
    assert len(by_kind(objects, "ScaledObject")) == 2
    assert [crd_errors(o, crd_dir) for o in objects] == [[], []]
