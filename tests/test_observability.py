"""Observability: monitors, rules and dashboard of one server, and that every query uses the same labels."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cdk8s
import pytest

from tests.conftest import by_kind, chart_objects, chart_yaml, one
from tests.refusals import refused
from tests.schemas import K8S_VERSIONS, crd_errors, is_builtin, k8s_errors
from vllm_constructs import (
    AlertThresholds,
    ConfigError,
    EngineArgs,
    HealthChecks,
    ModelSource,
    MonitorKind,
    MultiNodeBackend,
    Observability,
    ObservabilityProps,
    RayCluster,
    RayClusterProps,
    Resources,
    VllmServer,
    VllmServerProps,
)
from vllm_constructs.core.cluster import plan_cluster
from vllm_constructs.core.observability import plan_observability
from vllm_constructs.core.promql import SERVER_LABEL, ServerSeries

NewChart = Callable[..., cdk8s.Chart]


def server(chart: cdk8s.Chart, name: str = "llama", startup: int = 1200) -> VllmServer:
    return VllmServer(
        chart,
        name,
        VllmServerProps(
            name=name,
            model=ModelSource.pvc("weights", path=name),
            resources=Resources(cpu="4", memory="32Gi", accelerators=1),
            health=HealthChecks(startup_timeout_seconds=startup),
        ),
    )


def observe(chart: cdk8s.Chart, srv: VllmServer, **kw: Any) -> Observability:
    return Observability(chart, "obs", ObservabilityProps(server=srv, **kw))


def fails(chart: cdk8s.Chart, fn: Callable[[], object]) -> str:
    """The ConfigError message of ``fn``; the chart is exactly as before."""
    return str(refused(chart, fn))


def rules_of(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for g in one(objects, "PrometheusRule")["spec"]["groups"] for r in g["rules"]]


def test_service_monitor_scrapes_the_named_port_and_relabels_identity(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart)
    observe(chart, srv, monitor_labels={"release": "prom"})
    objects = chart_objects(chart)
    sm = one(objects, "ServiceMonitor")
    assert sm["apiVersion"] == "monitoring.coreos.com/v1"
    assert sm["metadata"]["labels"]["release"] == "prom"
    assert sm["spec"]["selector"] == {"matchLabels": srv.selector_labels}
    assert sm["spec"]["namespaceSelector"] == {"matchNames": ["test"]}
    service = one(objects, "Service")
    assert all(service["metadata"]["labels"][k] == v for k, v in srv.selector_labels.items())
    (endpoint,) = sm["spec"]["endpoints"]
    assert endpoint["port"] == "http" == service["spec"]["ports"][0]["name"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["interval"] == "15s"
    assert endpoint["relabelings"][0] == {
        "sourceLabels": ["__meta_kubernetes_pod_label_app_kubernetes_io_instance"],
        "targetLabel": SERVER_LABEL,
        "action": "replace",
    }
    assert [r["targetLabel"] for r in endpoint["relabelings"]] == ["server", "namespace", "pod"]
    assert srv.selector_labels["app.kubernetes.io/instance"] == "llama"
    assert one(objects, "PrometheusRule")["metadata"]["labels"]["release"] == "prom"


def test_pod_monitor_when_chosen(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart)
    observe(chart, srv, monitor=MonitorKind.POD_MONITOR, scrape_interval_seconds=30)
    objects = chart_objects(chart)
    assert by_kind(objects, "ServiceMonitor") == []
    pm = one(objects, "PodMonitor")
    (endpoint,) = pm["spec"]["podMetricsEndpoints"]
    assert (endpoint["port"], endpoint["interval"]) == ("http", "30s")
    assert pm["spec"]["selector"] == {"matchLabels": srv.selector_labels}


def test_alerts_cover_down_backlog_kv_cache_ttft_preemption_and_restarts(new_chart: NewChart) -> None:
    chart = new_chart()
    observe(chart, server(chart, startup=1200), alerts=AlertThresholds(waiting_requests=20, kv_cache_usage=0.95, ttft_p95_seconds=2.5))
    alerts = {r["alert"]: r for r in rules_of(chart_objects(chart)) if "alert" in r}
    assert list(alerts) == [
        "VllmServerDown",
        "VllmPodNotServing",
        "VllmRequestsQueued",
        "VllmKvCacheNearlyFull",
        "VllmTimeToFirstTokenHigh",
        "VllmPreempting",
        "VllmContainerRestarting",
    ]
    assert alerts["VllmServerDown"]["expr"] == 'absent(up{namespace="test",server="llama"} == 1)'
    assert alerts["VllmServerDown"]["labels"] == {"severity": "critical", "namespace": "test", "server": "llama"}
    assert alerts["VllmPodNotServing"]["for"] == "20m"  # the startup budget
    assert alerts["VllmRequestsQueued"]["expr"].endswith(" > 20")
    assert alerts["VllmRequestsQueued"]["annotations"]["summary"].startswith("vLLM server llama in test has had more than 20 requests")
    assert alerts["VllmKvCacheNearlyFull"]["expr"] == 'server:vllm_kv_cache_usage_perc:max{namespace="test",server="llama"} > 0.95'
    assert alerts["VllmTimeToFirstTokenHigh"]["expr"].endswith(" > 2.5")
    assert alerts["VllmContainerRestarting"]["expr"] == (
        'sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total{namespace="test",pod=~"llama-[a-z0-9]+-[a-z0-9]+",'
        'container="vllm"}[30m])) >= 3'
    )


@pytest.mark.parametrize(
    ("given", "written"),
    [(20, " > 20"), (20.0, " > 20.0"), (2.5, " > 2.5"), (10**6, " > 1000000")],
    ids=["int", "float", "fraction", "big"],
)
def test_thresholds_are_written_as_given(new_chart: NewChart, given: float, written: str) -> None:
    """A threshold reaches PromQL as the user wrote it: an int stays an int (20, not 20.0)."""
    chart = new_chart()
    observe(chart, server(chart), alerts=AlertThresholds(waiting_requests=given, preemptions_per_second=given, kv_cache_usage=1))
    alerts = {r["alert"]: r["expr"] for r in rules_of(chart_objects(chart)) if "alert" in r}
    assert alerts["VllmRequestsQueued"].endswith(written)
    assert alerts["VllmPreempting"].endswith(written)
    assert alerts["VllmKvCacheNearlyFull"].endswith(" > 1")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (True, "is a bool. Allowed: a finite number. Fix: pass a number such as 10 or 0.5."),
        ("20", "is a str. Allowed: a finite number. Fix: pass a number such as 10 or 0.5."),
        (float("nan"), "is not a finite number. Allowed: a finite number (no NaN or infinity). Fix: pass a finite number."),
        (float("inf"), "is not a finite number. Allowed: a finite number (no NaN or infinity). Fix: pass a finite number."),
        (-1, "is out of range. Allowed: a number in (0, 1000000000000.0]. Fix: pick a value in range."),
    ],
    ids=["bool", "str", "nan", "inf", "negative"],
)
def test_fails_when_a_threshold_is_not_a_finite_number(value: object, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        AlertThresholds(waiting_requests=value)  # type: ignore[arg-type]
    assert str(info.value) == f"AlertThresholds: waiting_requests={value!r} {problem}"


def test_restart_alert_can_be_left_out(new_chart: NewChart) -> None:
    chart = new_chart()
    observe(chart, server(chart), restart_alert=False, dashboard=False)
    objects = chart_objects(chart)
    assert "VllmContainerRestarting" not in [r.get("alert") for r in rules_of(objects)]
    assert by_kind(objects, "ConfigMap") == []


def test_down_alert_can_be_left_out_for_scale_to_zero(new_chart: NewChart) -> None:
    chart = new_chart()
    observe(chart, server(chart), down_alert=False)
    alerts = [r.get("alert") for r in rules_of(chart_objects(chart)) if "alert" in r]
    assert "VllmServerDown" not in alerts
    assert "VllmPodNotServing" in alerts


def test_every_expression_selects_by_one_selector(new_chart: NewChart) -> None:
    """Every vLLM or up series in rules and dashboard carries exactly this server's namespace and server matchers."""
    chart = new_chart()
    obs = observe(chart, server(chart))
    objects = chart_objects(chart)
    exprs = [r["expr"] for r in rules_of(objects)]
    board = json.loads(one(objects, "ConfigMap")["data"]["llama.json"])
    exprs += [t["expr"] for p in board["panels"] for t in p["targets"]]
    assert obs.series == ServerSeries.for_deployment("test", "llama", "llama")
    selectors = re.findall(r"((?:vllm:|server:|up\b)[a-z_:0-9]*)\{([^}]*)\}", " ".join(exprs))
    assert len(selectors) > 20
    for metric, matchers in selectors:
        assert matchers == 'namespace="test",server="llama"', metric


def test_dashboard_config_map_is_labelled_for_grafana(new_chart: NewChart) -> None:
    chart = new_chart()
    observe(chart, server(chart))
    cm = one(chart_objects(chart), "ConfigMap")
    assert cm["metadata"]["name"] == "llama-dashboard"
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    board = json.loads(cm["data"]["llama.json"])
    assert board["uid"] == "vllm-test-llama"
    assert len(board["panels"]) == 7
    assert {p["datasource"]["uid"] for p in board["panels"]} == {"${datasource}"}


def test_observability_snapshot(new_chart: NewChart, yaml_snapshot: Any) -> None:
    chart = new_chart()
    observe(chart, server(chart), monitor_labels={"release": "kube-prometheus-stack"})
    assert chart_yaml(chart) == yaml_snapshot


def test_fails_when_kv_cache_threshold_is_a_percentage(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart)
    msg = fails(chart, lambda: observe(chart, srv, alerts=AlertThresholds(kv_cache_usage=90)))
    assert msg == "AlertThresholds: kv_cache_usage=90 is out of range. Allowed: a number in (0, 1]. Fix: pick a value in range."


def test_fails_when_a_threshold_is_not_positive(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart)
    msg = fails(chart, lambda: observe(chart, srv, alerts=AlertThresholds(ttft_p95_seconds=0)))
    assert msg == (
        "AlertThresholds: ttft_p95_seconds=0 is out of range. Allowed: a number in (0, 1000000000000.0]. Fix: pick a value in range."
    )


def test_fails_when_a_duration_is_zero(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart)
    msg = fails(chart, lambda: observe(chart, srv, alerts=AlertThresholds(down_minutes=0)))
    assert msg == "AlertThresholds: down_minutes=0 is out of range. Allowed: an integer >= 1 and <= 1440. Fix: pick a value in range."


def test_fails_when_the_server_has_no_namespace(new_chart: NewChart) -> None:
    chart = new_chart(namespace=None)
    srv = server(chart)
    msg = fails(chart, lambda: observe(chart, srv))
    assert msg == (
        "test/obs: server='llama' is in a chart without a namespace, so alerts could not tell it from a namesake in another "
        "namespace. Allowed: a chart with namespace=.... Fix: set the chart's namespace."
    )
    assert by_kind(chart_objects(chart), "PrometheusRule") == []


def test_fails_when_monitor_labels_are_invalid(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart)
    msg = fails(chart, lambda: observe(chart, srv, monitor_labels={"release": "not ok"}))
    assert msg == (
        "ObservabilityProps: monitor_labels['release']='not ok' is not a valid label value. "
        "Allowed: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit. Fix: shorten or clean the value."
    )


def _both_monitors(new_chart: NewChart) -> list[dict[str, Any]]:
    chart = new_chart()
    Observability(chart, "a-obs", ObservabilityProps(server=server(chart, "a")))
    Observability(chart, "b-obs", ObservabilityProps(server=server(chart, "b"), monitor=MonitorKind.POD_MONITOR))
    return chart_objects(chart)


def test_every_monitor_and_rule_validates_against_its_crd(new_chart: NewChart, crd_dir: Path) -> None:
    objects = [o for o in _both_monitors(new_chart) if not is_builtin(o)]
    assert sorted(o["kind"] for o in objects) == ["PodMonitor", "PrometheusRule", "PrometheusRule", "ServiceMonitor"]
    assert [crd_errors(o, crd_dir) for o in objects] == [[]] * 4


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_dashboards_validate_strictly(new_chart: NewChart, version: str) -> None:
    maps = by_kind(_both_monitors(new_chart), "ConfigMap")
    assert len(maps) == 2
    assert [k8s_errors(o, version) for o in maps] == [[], []]


def test_fails_when_the_server_is_observed_twice(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart)
    observe(chart, srv)
    msg = fails(chart, lambda: Observability(chart, "again", ObservabilityProps(server=srv, monitor=MonitorKind.POD_MONITOR)))
    assert msg == (
        "test/again: server='llama' already has Observability (test/obs). Allowed: one Observability per workload. "
        "Fix: keep one Observability per server (it emits the monitor, rules and dashboard once)."
    )
    assert by_kind(chart_objects(chart), "PodMonitor") == []


def test_fails_when_the_server_is_not_a_serving_workload(new_chart: NewChart) -> None:
    chart = new_chart()
    msg = fails(chart, lambda: Observability(chart, "obs", ObservabilityProps(server="llama")))  # type: ignore[arg-type]
    assert msg == "ObservabilityProps: server='llama' is a str. Allowed: a ServingWorkload. Fix: pass a ServingWorkload."


# --- a multi-node server (RayCluster), every backend ---------------------------------------------------------------

# Pod names the operators give: KubeRay's head '<cluster>-head-<5 random>' and workers '<cluster>-<group>-worker-<5>';
# LeaderWorkerSet's leaders '<lws>-<group index>' and workers '<lws>-<group index>-<worker index>'.
POD_NAMES = {
    MultiNodeBackend.KUBERAY: (["big-head-x7k2p", "big-head-0abcd"], ["big-workers-worker-x7k2p", "big-2-head-x7k2p"]),
    MultiNodeBackend.LWS: (["big-0", "big-12"], ["big-0-1", "big-12-3", "big-2-0"]),
    MultiNodeBackend.LWS_RAY_FREE: (["big-0", "big-12"], ["big-0-1", "big-12-3", "big-2-0"]),
}


def cluster_props(backend: MultiNodeBackend) -> RayClusterProps:
    return RayClusterProps(
        name="big",
        backend=backend,
        model=ModelSource.pvc("weights", path="big"),
        engine=EngineArgs(tensor_parallel_size=8, pipeline_parallel_size=2),
        resources=Resources(cpu="8", memory="64Gi"),
        cluster_timeout_seconds=600,
        health=HealthChecks(startup_timeout_seconds=1200),
    )


def cluster(chart: cdk8s.Chart, backend: MultiNodeBackend) -> RayCluster:
    return RayCluster(chart, "big", cluster_props(backend))


def operator_labels(workload: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(serving pod labels, worker pod labels) as the pods carry them: the template's plus the operator's."""
    name = workload["metadata"]["name"]
    if workload["kind"] == "RayCluster":
        head = workload["spec"]["headGroupSpec"]["template"]["metadata"]["labels"]
        worker = workload["spec"]["workerGroupSpecs"][0]["template"]["metadata"]["labels"]
        return (
            {**head, "ray.io/cluster": name, "ray.io/node-type": "head", "ray.io/group": "headgroup"},
            {**worker, "ray.io/cluster": name, "ray.io/node-type": "worker", "ray.io/group": "workers"},
        )
    lwt = workload["spec"]["leaderWorkerTemplate"]
    group = {"leaderworkerset.sigs.k8s.io/name": name, "leaderworkerset.sigs.k8s.io/group-index": "0"}
    return (
        {**lwt["leaderTemplate"]["metadata"]["labels"], **group, "leaderworkerset.sigs.k8s.io/worker-index": "0"},
        {**lwt["workerTemplate"]["metadata"]["labels"], **group, "leaderworkerset.sigs.k8s.io/worker-index": "1"},
    )


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("monitor", list(MonitorKind))
@pytest.mark.parametrize("backend", list(MultiNodeBackend))
def test_a_ray_cluster_is_observed_through_its_serving_pods_only(
    new_chart: NewChart, crd_dir: Path, backend: MultiNodeBackend, monitor: MonitorKind
) -> None:
    chart = new_chart()
    rc = cluster(chart, backend)
    obs = Observability(chart, "obs", ObservabilityProps(server=rc, monitor=monitor))
    objects = chart_objects(chart)
    workload = next(o for o in objects if o["kind"] in ("RayCluster", "LeaderWorkerSet"))
    serving, worker = operator_labels(workload)
    mon = one(objects, str(monitor))
    assert mon["spec"]["selector"] == {"matchLabels": rc.selector_labels}
    assert mon["metadata"]["name"] == "big"
    (endpoint,) = mon["spec"]["endpoints" if monitor is MonitorKind.SERVICE_MONITOR else "podMetricsEndpoints"]
    assert endpoint["port"] == "http"
    if monitor is MonitorKind.POD_MONITOR:  # the monitor selects pods: the head/leaders, never a worker
        assert selects(rc.selector_labels, serving) and not selects(rc.selector_labels, worker)
    else:  # the monitor selects our Service, whose endpoints are the head/leaders only
        service = one(objects, "Service")
        assert selects(rc.selector_labels, service["metadata"]["labels"])
        assert selects(service["spec"]["selector"], serving) and not selects(service["spec"]["selector"], worker)
    # the named port exists on the serving container only
    serving_template, worker_template = (
        (workload["spec"]["headGroupSpec"]["template"], workload["spec"]["workerGroupSpecs"][0]["template"])
        if workload["kind"] == "RayCluster"
        else (workload["spec"]["leaderWorkerTemplate"]["leaderTemplate"], workload["spec"]["leaderWorkerTemplate"]["workerTemplate"])
    )
    assert "http" in [p["name"] for p in serving_template["spec"]["containers"][0]["ports"]]
    assert "ports" not in worker_template["spec"]["containers"][0]
    # every series of rules and dashboard carries this server's matchers; the pod regex matches the serving pods only
    assert obs.series == rc.serving.series
    exprs = [r["expr"] for r in rules_of(objects)]
    board = json.loads(one(objects, "ConfigMap")["data"]["big.json"])
    exprs += [t["expr"] for p in board["panels"] for t in p["targets"]]
    for metric, matchers in re.findall(r"((?:vllm:|server:|up\b)[a-z_:0-9]*)\{([^}]*)\}", " ".join(exprs)):
        assert matchers == 'namespace="test",server="big"', metric
    serving_names, other_names = POD_NAMES[backend]
    assert all(re.fullmatch(obs.series.pod_regex, n) for n in serving_names), obs.series.pod_regex
    assert not any(re.fullmatch(obs.series.pod_regex, n) for n in other_names), obs.series.pod_regex
    restart = next(r for r in rules_of(objects) if r.get("alert") == "VllmContainerRestarting")
    assert f'pod=~"{obs.series.pod_regex}",container="{serving_template["spec"]["containers"][0]["name"]}"' in restart["expr"]
    assert serving_template["spec"]["containers"][0]["name"] == "vllm" != worker_template["spec"]["containers"][0]["name"]
    # a serving pod may take the model-load budget plus cluster formation before it answers
    assert next(r for r in rules_of(objects) if r.get("alert") == "VllmPodNotServing")["for"] == "30m"
    for obj in objects:
        if not is_builtin(obj):
            assert crd_errors(obj, crd_dir) == [], obj["kind"]


def test_fails_when_a_ray_cluster_is_observed_twice(new_chart: NewChart) -> None:
    chart = new_chart()
    rc = cluster(chart, MultiNodeBackend.LWS)
    Observability(chart, "obs", ObservabilityProps(server=rc))
    msg = fails(chart, lambda: Observability(chart, "again", ObservabilityProps(server=rc)))
    assert msg == (
        "test/again: server='big' already has Observability (test/obs). Allowed: one Observability per workload. "
        "Fix: keep one Observability per server (it emits the monitor, rules and dashboard once)."
    )


@pytest.mark.parametrize("backend", list(MultiNodeBackend))
def test_the_pure_plans_observe_like_the_constructs(new_chart: NewChart, backend: MultiNodeBackend) -> None:
    """plan_observability on plan_cluster gives exactly the monitor, rules and dashboard the construct synthesizes."""
    chart = new_chart()
    Observability(chart, "obs", ObservabilityProps(server=cluster(chart, backend)))
    synthesized = [o for o in chart_objects(chart) if o["kind"] in ("ServiceMonitor", "PrometheusRule", "ConfigMap")]
    plan = plan_cluster("test/big", "test", cluster_props(backend))
    planned = plan_observability("test/obs", ObservabilityProps(server=plan))
    assert [o.manifest("test") for o in planned.objects] == synthesized
