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
from tests.schemas import K8S_VERSIONS, crd_errors, is_builtin, k8s_errors
from vllm_constructs import (
    AlertThresholds,
    ConfigError,
    HealthChecks,
    ModelSource,
    MonitorKind,
    Observability,
    ObservabilityProps,
    Resources,
    VllmServer,
    VllmServerProps,
)
from vllm_constructs.promql import SERVER_LABEL, ServerSeries

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


def fails(fn: Callable[[], object]) -> str:
    with pytest.raises(ConfigError) as e:
        fn()
    return str(e.value)


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
    assert alerts["VllmKvCacheNearlyFull"]["expr"] == 'server:vllm_kv_cache_usage_perc:max{namespace="test",server="llama"} > 0.95'
    assert alerts["VllmTimeToFirstTokenHigh"]["expr"].endswith(" > 2.5")
    assert alerts["VllmContainerRestarting"]["expr"] == (
        'sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total{namespace="test",pod=~"llama-[a-z0-9]+-[a-z0-9]+",'
        'container="vllm"}[30m])) >= 3'
    )


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
    msg = fails(lambda: observe(chart, srv, alerts=AlertThresholds(kv_cache_usage=90)))
    assert msg == (
        "test/obs: alerts.kv_cache_usage=90 is above 1, but vllm:kv_cache_usage_perc is a fraction. "
        "Allowed: a fraction in (0, 1], e.g. 0.9. Fix: divide the percentage by 100."
    )


def test_fails_when_a_threshold_is_not_positive(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart)
    msg = fails(lambda: observe(chart, srv, alerts=AlertThresholds(ttft_p95_seconds=0)))
    assert msg == "test/obs: alerts.ttft_p95_seconds=0 is not positive. Allowed: a number above zero. Fix: use a positive threshold."


def test_fails_when_a_duration_is_zero(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart)
    msg = fails(lambda: observe(chart, srv, alerts=AlertThresholds(down_minutes=0)))
    assert msg == "test/obs: alerts.down_minutes=0 is out of range. Allowed: an integer >= 1 and <= 1440. Fix: pick a value in range."


def test_fails_when_the_server_has_no_namespace(new_chart: NewChart) -> None:
    chart = new_chart(namespace=None)
    srv = server(chart)
    msg = fails(lambda: observe(chart, srv))
    assert msg == (
        "test/obs: server='test/llama' is in a chart without a namespace, so alerts could not tell it from a namesake in another "
        "namespace. Allowed: a chart with namespace=.... Fix: set the chart's namespace."
    )
    assert by_kind(chart_objects(chart), "PrometheusRule") == []


def test_fails_when_monitor_labels_are_invalid(new_chart: NewChart) -> None:
    chart = new_chart()
    srv = server(chart)
    msg = fails(lambda: observe(chart, srv, monitor_labels={"release": "not ok"}))
    assert msg == (
        "test/obs: monitor_labels['release']='not ok' is not a valid label value. "
        "Allowed: a string of at most 63 letters, digits, '-', '_' or '.'. Fix: shorten or clean the value."
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
