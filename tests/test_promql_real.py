"""Every PromQL expression the library emits, evaluated by Prometheus's own engine (promtool).

Synthetic series for two servers in one namespace (alpha: three pods, beta: two pods), a namesake of
alpha in another namespace, a server whose name extends alpha's (alpha-x) and a foreign series without
the ``server`` label stand side by side. The tests check that:

- ``promtool check rules`` accepts the generated rule groups;
- each alert fires when its condition holds and stays quiet at its threshold and for the other server;
- each KEDA query yields exactly one series, the sum over this server's pods only;
- each Prometheus Adapter query (template markers filled in as the adapter does) yields one series per
  pod of this server, and its series query finds only series our monitor scraped;
- each dashboard panel query returns this server's values only.

A second world holds two multi-node servers (RayCluster on KubeRay and on LeaderWorkerSet), whose monitors scrape
the head/leader pods only: their rules are checked the same way, the restart alert and the pod-not-serving alert name
serving pods only (never a worker, never a namesake-prefixed cluster's pod), the LeaderWorkerSet's KEDA query sums its
leaders, and the dashboard counts the serving pods.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cdk8s
import pytest
import yaml

from tests.conftest import IN_CI, chart_objects
from vllm_constructs import (
    Autoscaler,
    AutoscalerProps,
    EngineArgs,
    HealthChecks,
    ModelSource,
    MultiNodeBackend,
    Observability,
    ObservabilityProps,
    RayCluster,
    RayClusterProps,
    Resources,
    Scaling,
    VllmServer,
    VllmServerProps,
)

pytestmark = pytest.mark.real

NS = "llm"
WAKE = 'rate(gateway_requests_total{model="gamma"}[1m])'


def pod(server: str, i: int) -> str:
    return f"{server}-7c9d5f8b6-p{i}xyz"


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if IN_CI:
            pytest.fail("promtool is missing: run scripts/test-deps.sh (Debian package 'prometheus')")
        pytest.skip("promtool is not installed (Debian package 'prometheus'; scripts/test-deps.sh installs it)")
    return path


def _server(chart: cdk8s.Chart, name: str, startup: int) -> VllmServer:
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


@dataclass
class Emitted:
    rules: dict[str, list[dict[str, Any]]]  # server -> rule groups
    keda: dict[str, list[str]]  # server -> trigger queries
    adapter_rules: list[dict[str, Any]]
    dashboards: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def emitted() -> Emitted:
    app = cdk8s.App()
    chart = cdk8s.Chart(app, "llm", namespace=NS, disable_resource_name_hashes=True)
    alpha = _server(chart, "alpha", startup=600)
    beta = _server(chart, "beta", startup=1800)
    gamma = _server(chart, "gamma", startup=600)
    for srv in (alpha, beta):
        Observability(chart, f"{srv.node.id}-obs", ObservabilityProps(server=srv))
    targets = {"vllm:num_requests_waiting": 5, "vllm:kv_cache_usage_perc": 0.8, "vllm:prompt_tokens_total": 1000}
    Autoscaler(chart, "alpha-scaler", AutoscalerProps(target=alpha, scaling=Scaling.keda("http://prom:9090", targets), max_replicas=4))
    Autoscaler(chart, "beta-scaler", AutoscalerProps(target=beta, scaling=Scaling.vllm_metrics(targets), max_replicas=4))
    Autoscaler(
        chart,
        "gamma-scaler",
        AutoscalerProps(target=gamma, scaling=Scaling.keda("http://prom:9090", idle_replica_count=0, wake_query=WAKE), max_replicas=2),
    )
    return _collect(chart_objects(chart))


def _collect(objects: list[dict[str, Any]]) -> Emitted:
    server_of = lambda o: o["metadata"]["labels"]["app.kubernetes.io/instance"]  # noqa: E731
    return Emitted(
        rules={server_of(o): o["spec"]["groups"] for o in objects if o["kind"] == "PrometheusRule"},
        keda={server_of(o): [t["metadata"]["query"] for t in o["spec"]["triggers"]] for o in objects if o["kind"] == "ScaledObject"},
        adapter_rules=next(
            (yaml.safe_load(o["data"]["config.yaml"])["rules"] for o in objects if o["metadata"]["name"].endswith("-adapter-rules")), []
        ),
        dashboards={
            server_of(o): yaml.safe_load(next(iter(o["data"].values()))) for o in objects if o["metadata"]["name"].endswith("-dashboard")
        },
    )


def _labels(**kw: str) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in kw.items()) + "}"


def vllm(metric: str, server: str, i: int, values: str, ns: str = NS, **extra: str) -> dict[str, str]:
    """A series as our monitor scrapes it: target labels namespace, server, pod; vLLM's own model_name."""
    return {"series": metric + _labels(namespace=ns, server=server, pod=pod(server, i), model_name=server, **extra), "values": values}


def up(server: str, i: int, values: str, ns: str = NS) -> dict[str, str]:
    return {"series": "up" + _labels(namespace=ns, server=server, pod=pod(server, i)), "values": values}


def restarts(pod_name: str, values: str) -> dict[str, str]:
    return {"series": "kube_pod_container_status_restarts_total" + _labels(namespace=NS, pod=pod_name, container="vllm"), "values": values}


def healthy(server: str, pods: int, ns: str = NS, overrides: dict[str, str] | None = None) -> Iterator[dict[str, str]]:
    """A server under light load: every threshold comfortably met; ``overrides`` replaces pod 1's values."""
    first = overrides or {}
    for i in range(1, pods + 1):

        def pick(metric: str, values: str, i: int = i) -> str:
            return first.get(metric, values) if i == 1 else values

        yield up(server, i, pick("up", "1x60"), ns)
        yield vllm("vllm:num_requests_waiting", server, i, pick("vllm:num_requests_waiting", "1x60"), ns)
        yield vllm("vllm:num_requests_running", server, i, "4x60", ns)
        yield vllm("vllm:kv_cache_usage_perc", server, i, pick("vllm:kv_cache_usage_perc", "0.25x60"), ns)
        yield vllm("vllm:prompt_tokens_total", server, i, "0+600x60", ns)  # 10/s
        yield vllm("vllm:generation_tokens_total", server, i, "0+1200x60", ns)  # 20/s
        yield vllm("vllm:num_preemptions_total", server, i, "0x60", ns)
        for le, step in (("1", 60), ("5", 60), ("10", 60), ("+Inf", 60)):  # every request under 1 s
            yield vllm("vllm:time_to_first_token_seconds_bucket", server, i, f"0+{step}x60", ns, le=le)
            yield vllm("vllm:e2e_request_latency_seconds_bucket", server, i, f"0+{step}x60", ns, le=le)
        if ns == NS:
            yield restarts(pod(server, i), "0x60")


def neighbours() -> list[dict[str, str]]:
    """Series that must never leak into alpha's or beta's expressions."""
    stressed = {"vllm:num_requests_waiting": "500x60", "vllm:kv_cache_usage_perc": "0.99x60", "up": "0x60"}
    return [
        *healthy("alpha", 2, ns="other", overrides=stressed),
        restarts(pod("alpha-x", 1), "0+1x60"),
        {"series": "vllm:num_requests_waiting" + _labels(namespace=NS, pod="stray-pod", model_name="alpha"), "values": "77x60"},
    ]


def run_promtool(promtool: str, tmp_path: Path, emitted: Emitted, series: list[dict[str, str]], tests: dict[str, Any]) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": [g for groups in emitted.rules.values() for g in groups]}, sort_keys=False))
    checked = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    test_file = tmp_path / "test.yaml"
    test_file.write_text(
        yaml.safe_dump(
            {"rule_files": [rules.name], "evaluation_interval": "1m", "tests": [{"interval": "1m", "input_series": series, **tests}]},
            sort_keys=False,
        )
    )
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    result = subprocess.run(
        [promtool, "test", "rules", test_file.name], capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def alert_rule(emitted: Emitted, server: str, name: str) -> dict[str, Any]:
    return next(r for g in emitted.rules[server] for r in g["rules"] if r.get("alert") == name)


def all_alerts(emitted: Emitted, server: str) -> list[str]:
    return [r["alert"] for g in emitted.rules[server] for r in g["rules"] if "alert" in r]


def expect(emitted: Emitted, server: str, name: str, at: str, *label_sets: dict[str, str]) -> dict[str, Any]:
    rule = alert_rule(emitted, server, name)
    return {
        "eval_time": at,
        "alertname": name,
        "exp_alerts": [{"exp_labels": {**labels, **rule["labels"]}, "exp_annotations": rule["annotations"]} for labels in label_sets],
    }


def test_check_rules_accepts_every_group(promtool: str, tmp_path: Path, emitted: Emitted) -> None:
    assert set(emitted.rules) == {"alpha", "beta"}
    run_promtool(promtool, tmp_path, emitted, list(healthy("alpha", 1)), {})


def test_alerts_fire_for_the_server_in_trouble_only(promtool: str, tmp_path: Path, emitted: Emitted) -> None:
    a = "alpha"
    series = [
        up(a, 1, "1x60"),
        up(a, 2, "0x60"),  # never answers: longer than the 10-minute startup budget
        up(a, 3, "1x60"),
        vllm("vllm:num_requests_waiting", a, 1, "8x60"),
        vllm("vllm:num_requests_waiting", a, 3, "5x60"),  # 13 waiting in all
        vllm("vllm:kv_cache_usage_perc", a, 1, "0.95x60"),
        vllm("vllm:kv_cache_usage_perc", a, 3, "0.5x60"),
        vllm("vllm:num_preemptions_total", a, 1, "0+30x60"),  # 0.5/s
        restarts(pod(a, 2), "0+1x60"),
        *neighbours(),
        *healthy("beta", 2),
    ]
    for le, step in (("1", 0), ("5", 0), ("10", 10), ("+Inf", 10)):  # every first token between 5 and 10 s
        series.append(vllm("vllm:time_to_first_token_seconds_bucket", a, 1, f"0+{step}x60", le=le))
    ident = {"namespace": NS, "server": a}
    tests = [
        expect(emitted, a, "VllmPodNotServing", "20m", {**ident, "pod": pod(a, 2)}),
        expect(emitted, a, "VllmRequestsQueued", "20m", ident),
        expect(emitted, a, "VllmKvCacheNearlyFull", "20m", ident),
        expect(emitted, a, "VllmTimeToFirstTokenHigh", "20m", ident),
        expect(emitted, a, "VllmPreempting", "20m", ident),
        expect(emitted, a, "VllmContainerRestarting", "20m", {"namespace": NS, "pod": pod(a, 2)}),
        expect(emitted, a, "VllmServerDown", "20m"),
        # Not yet: each 'for' still pending (pending alerts are not listed).
        expect(emitted, a, "VllmRequestsQueued", "5m"),
        expect(emitted, a, "VllmPodNotServing", "5m"),
    ]
    # promtool matches alerts by name across all groups: each list above is complete, so beta (healthy,
    # same alert names) and alpha's namesake in another namespace provably stay quiet.
    run_promtool(promtool, tmp_path, emitted, series, {"alert_rule_test": tests})


def test_alerts_stay_quiet_at_their_thresholds(promtool: str, tmp_path: Path, emitted: Emitted) -> None:
    a = "alpha"
    series = [
        *(up(a, i, "1x60") for i in (1, 2)),
        vllm("vllm:num_requests_waiting", a, 1, "6x60"),
        vllm("vllm:num_requests_waiting", a, 2, "4x60"),  # exactly 10: not above
        vllm("vllm:kv_cache_usage_perc", a, 1, "0.9x60"),  # exactly 0.9: not above
        vllm("vllm:num_preemptions_total", a, 1, "0+5x60"),  # 0.083/s
        restarts(pod(a, 1), "0x15 1x10 2x40"),  # two restarts within the window: below three
        *neighbours(),
        *healthy("beta", 2),
    ]
    for le, step in (("1", 0), ("5", 10), ("+Inf", 10)):  # p95 below 5 s
        series.append(vllm("vllm:time_to_first_token_seconds_bucket", a, 1, f"0+{step}x60", le=le))
    assert all_alerts(emitted, "alpha") == all_alerts(emitted, "beta")
    tests = [expect(emitted, a, name, "40m") for name in all_alerts(emitted, a)]  # none fires, for either server
    run_promtool(promtool, tmp_path, emitted, series, {"alert_rule_test": tests})


def test_server_down_fires_when_no_pod_answers(promtool: str, tmp_path: Path, emitted: Emitted) -> None:
    series = [up("beta", i, "0x60") for i in (1, 2)] + list(healthy("alpha", 3)) + neighbours()
    tests = [
        expect(emitted, "beta", "VllmServerDown", "10m", {}),
        expect(emitted, "beta", "VllmServerDown", "3m"),  # pending for 5m
        expect(emitted, "beta", "VllmPodNotServing", "10m"),  # pending for beta's 30-minute startup budget
        *(
            expect(emitted, "alpha", name, "10m")
            for name in all_alerts(emitted, "alpha")
            if name not in ("VllmServerDown", "VllmPodNotServing")
        ),
    ]
    run_promtool(promtool, tmp_path, emitted, series, {"alert_rule_test": tests})


def test_server_down_fires_when_the_server_has_no_targets_at_all(promtool: str, tmp_path: Path, emitted: Emitted) -> None:
    series = list(healthy("alpha", 3)) + neighbours()
    run_promtool(promtool, tmp_path, emitted, series, {"alert_rule_test": [expect(emitted, "beta", "VllmServerDown", "10m", {})]})


def _steady_world() -> list[dict[str, str]]:
    return [
        *healthy("alpha", 3),
        *healthy("beta", 2),
        *neighbours(),
        {"series": "gateway_requests_total" + _labels(model="gamma"), "values": "0+120x60"},
    ]


def test_keda_queries_yield_exactly_one_series_for_their_server(promtool: str, tmp_path: Path, emitted: Emitted) -> None:
    alpha, gamma = emitted.keda["alpha"], emitted.keda["gamma"]
    assert len(alpha) == 3
    assert len(gamma) == 2
    exprs = [
        {"expr": alpha[0], "eval_time": "10m", "exp_samples": [{"labels": "{}", "value": 3}]},  # 3 pods x 1 waiting
        {"expr": alpha[1], "eval_time": "10m", "exp_samples": [{"labels": "{}", "value": 0.75}]},  # 3 x 0.25
        {"expr": alpha[2], "eval_time": "10m", "exp_samples": [{"labels": "{}", "value": 30}]},  # 3 x 10 prompt tokens/s
        # gamma has no pods: its vLLM query reads 0 (scale-to-zero), and the wake query sees demand, clamped to 1.
        {"expr": gamma[0], "eval_time": "10m", "exp_samples": [{"labels": "{}", "value": 0}]},
        {"expr": gamma[1], "eval_time": "10m", "exp_samples": [{"labels": "{}", "value": 1}]},
    ]
    run_promtool(promtool, tmp_path, emitted, _steady_world(), {"promql_expr_test": exprs})


def test_keda_query_is_empty_not_zero_when_metrics_are_missing(promtool: str, tmp_path: Path, emitted: Emitted) -> None:
    """With ignoreNullValues "false", an empty result is an error in KEDA (then the fallback), never a silent 0."""
    series = [*healthy("beta", 2), *neighbours()]
    exprs = [{"expr": q, "eval_time": "10m", "exp_samples": []} for q in emitted.keda["alpha"]]
    run_promtool(promtool, tmp_path, emitted, series, {"promql_expr_test": exprs})


def _adapter_fill(query: str, pods: list[str]) -> str:
    """The adapter's template markers as it fills them for an HPA on one Deployment's pods."""
    matchers = f'namespace="{NS}",pod=~"{"|".join(pods)}"'
    return query.replace("<<.LabelMatchers>>", matchers).replace("<<.GroupBy>>", "pod").replace("<<.Series>>", "{series}")


def test_adapter_queries_yield_one_series_per_pod_of_the_server(promtool: str, tmp_path: Path, emitted: Emitted) -> None:
    pods = [pod("beta", 1), pod("beta", 2)]
    per_pod = {"vllm:num_requests_waiting": 1, "vllm:kv_cache_usage_perc": 0.25, "vllm:prompt_tokens_total": 10}
    exprs = []
    for rule in emitted.adapter_rules:
        metric = rule["name"]["matches"].strip("^$")
        query = _adapter_fill(rule["metricsQuery"], pods).replace("{series}", metric)
        exprs.append(
            {"expr": query, "eval_time": "10m", "exp_samples": [{"labels": f'{{pod="{p}"}}', "value": per_pod[metric]} for p in pods]}
        )
        # The series query discovers only series carrying our scrape labels (not the stray pod's).
        found = [
            {"labels": metric + _labels(namespace=ns, server=srv, pod=pod(srv, i), model_name=srv), "value": v}
            for ns, srv, n in ((NS, "alpha", 3), (NS, "beta", 2), ("other", "alpha", 2))
            for i in range(1, n + 1)
            for v in [_healthy_value(metric, ns, srv, i)]
        ]
        exprs.append({"expr": rule["seriesQuery"], "eval_time": "10m", "exp_samples": found})
    run_promtool(promtool, tmp_path, emitted, _steady_world(), {"promql_expr_test": exprs})


def _healthy_value(metric: str, ns: str, server: str, i: int) -> float:
    if ns == "other" and server == "alpha" and i == 1:
        overrides = {"vllm:num_requests_waiting": 500.0, "vllm:kv_cache_usage_perc": 0.99}
        if metric in overrides:
            return overrides[metric]
    return {"vllm:num_requests_waiting": 1.0, "vllm:kv_cache_usage_perc": 0.25, "vllm:prompt_tokens_total": 6000.0}[metric]


def test_dashboard_queries_return_this_servers_values(promtool: str, tmp_path: Path, emitted: Emitted) -> None:
    board = emitted.dashboards["alpha"]
    queries = {p["title"]: [t["expr"] for t in p["targets"]] for p in board["panels"]}
    per_pod = [pod("alpha", i) for i in (1, 2, 3)]

    def by_pod(value: float) -> list[dict[str, Any]]:
        return [{"labels": f'{{pod="{p}"}}', "value": value} for p in per_pod]

    ident = _labels(namespace=NS, server="alpha")
    expected = {
        "Requests waiting and running": [by_pod(1), by_pod(4)],
        "KV cache usage": [by_pod(0.25)],
        "Time to first token p95": [[{"labels": "server:vllm_time_to_first_token_seconds:p95_5m" + ident, "value": 0.95}]],
        "End-to-end latency p95": [[{"labels": "server:vllm_e2e_request_latency_seconds:p95_5m" + ident, "value": 0.95}]],
        "Generated tokens per second": [[{"labels": "server:vllm_generation_tokens:rate5m" + ident, "value": 60}]],
        "Preemptions per second": [[{"labels": "server:vllm_num_preemptions:rate5m" + ident, "value": 0}]],
        "Pods answering scrapes": [[{"labels": "{}", "value": 3}]],
    }
    assert set(queries) == set(expected)
    # round() to 1/1000 only absorbs float noise of histogram_quantile (0.9499999999999998); promtool 2.42 compares exactly.
    exprs = [
        {"expr": f"round({q}, 0.001)", "eval_time": "20m", "exp_samples": [{**x, "labels": _drop_name(x["labels"])} for x in samples]}
        for title, qs in queries.items()
        for q, samples in zip(qs, expected[title], strict=True)
    ]
    run_promtool(promtool, tmp_path, emitted, _steady_world(), {"promql_expr_test": exprs})


def _drop_name(labels: str) -> str:
    """round() drops the metric name, as every PromQL function does."""
    return labels[labels.index("{") :]


def test_recording_rules_aggregate_per_server(promtool: str, tmp_path: Path, emitted: Emitted) -> None:
    records = [r["record"] for g in emitted.rules["alpha"] for r in g["rules"] if "record" in r]
    assert len(records) == 8
    exprs = [
        {
            "expr": f"count by (namespace, server) ({name})",
            "eval_time": "20m",
            "exp_samples": [{"labels": _labels(namespace=NS, server=s), "value": 1} for s in ("alpha", "beta")],
        }
        for name in records
    ]
    run_promtool(promtool, tmp_path, emitted, _steady_world(), {"promql_expr_test": exprs})


# --- multi-node servers: only the head (KubeRay) or the leaders (LeaderWorkerSet) serve and are scraped ---------------

# Pod names as the operators make them: KubeRay's head '<cluster>-head-<5>' and workers '<cluster>-<group>-worker-<5>';
# LeaderWorkerSet's leaders '<lws>-<group>' and workers '<lws>-<group>-<index>'.
RAY_HEAD = "kuberay-head-x7k2p"
RAY_WORKER = "kuberay-workers-worker-q2w3e"
LWS_LEADERS = ("lws-0", "lws-1")
LWS_WORKERS = ("lws-0-1", "lws-1-1")


@pytest.fixture(scope="module")
def multinode() -> Emitted:
    app = cdk8s.App()
    chart = cdk8s.Chart(app, "llm", namespace=NS, disable_resource_name_hashes=True)
    clusters = {}
    for name, backend in (("kuberay", MultiNodeBackend.KUBERAY), ("lws", MultiNodeBackend.LWS)):
        clusters[name] = RayCluster(
            chart,
            name,
            RayClusterProps(
                name=name,
                backend=backend,
                model=ModelSource.pvc("weights", path=name),
                engine=EngineArgs(tensor_parallel_size=8, pipeline_parallel_size=2),
                resources=Resources(cpu="8", memory="64Gi"),
                health=HealthChecks(startup_timeout_seconds=600),
                cluster_timeout_seconds=300,  # a serving pod's budget: 600 + 300 s = 15 minutes
                replicas=1 if backend is MultiNodeBackend.KUBERAY else 2,
            ),
        )
        Observability(chart, f"{name}-obs", ObservabilityProps(server=clusters[name]))
    targets = {"vllm:num_requests_waiting": 5}
    Autoscaler(
        chart, "lws-scaler", AutoscalerProps(target=clusters["lws"], scaling=Scaling.keda("http://prom:9090", targets), max_replicas=4)
    )
    return _collect(chart_objects(chart))


def scraped(metric: str, server: str, pod_name: str, values: str, **extra: str) -> dict[str, str]:
    return {"series": metric + _labels(namespace=NS, server=server, pod=pod_name, model_name=server, **extra), "values": values}


def scraped_up(server: str, pod_name: str, values: str) -> dict[str, str]:
    return {"series": "up" + _labels(namespace=NS, server=server, pod=pod_name), "values": values}


def container_restarts(pod_name: str, container: str, values: str) -> dict[str, str]:
    series = "kube_pod_container_status_restarts_total" + _labels(namespace=NS, pod=pod_name, container=container)
    return {"series": series, "values": values}


def serving_pod(server: str, pod_name: str, waiting: str = "1x60") -> Iterator[dict[str, str]]:
    """One healthy serving pod (head or leader) as our monitor scrapes it, and its container restarts."""
    yield scraped_up(server, pod_name, "1x60")
    yield scraped("vllm:num_requests_waiting", server, pod_name, waiting)
    yield scraped("vllm:num_requests_running", server, pod_name, "4x60")
    yield scraped("vllm:kv_cache_usage_perc", server, pod_name, "0.25x60")
    yield scraped("vllm:generation_tokens_total", server, pod_name, "0+1200x60")
    yield scraped("vllm:num_preemptions_total", server, pod_name, "0x60")
    for le in ("1", "5", "10", "+Inf"):
        yield scraped("vllm:time_to_first_token_seconds_bucket", server, pod_name, "0+60x60", le=le)
        yield scraped("vllm:e2e_request_latency_seconds_bucket", server, pod_name, "0+60x60", le=le)
    yield container_restarts(pod_name, "vllm", "0x60")


def _steady_multinode() -> list[dict[str, str]]:
    return [*serving_pod("kuberay", RAY_HEAD), *(s for leader in LWS_LEADERS for s in serving_pod("lws", leader))]


def test_multinode_rules_are_accepted_and_record_per_server(promtool: str, tmp_path: Path, multinode: Emitted) -> None:
    assert set(multinode.rules) == {"kuberay", "lws"}
    records = [r["record"] for g in multinode.rules["lws"] for r in g["rules"] if "record" in r]
    exprs = [
        {
            "expr": f"count by (namespace, server) ({name})",
            "eval_time": "20m",
            "exp_samples": [{"labels": _labels(namespace=NS, server=s), "value": 1} for s in ("kuberay", "lws")],
        }
        for name in records
    ]
    run_promtool(promtool, tmp_path, multinode, _steady_multinode(), {"promql_expr_test": exprs})


def test_multinode_alerts_name_serving_pods_only(promtool: str, tmp_path: Path, multinode: Emitted) -> None:
    """A restarting head fires; restarting workers (container 'worker') and a namesake-prefixed cluster's leader do not;
    a leader that never answers fires after the load budget plus cluster formation (15 minutes), not before."""
    series = [
        *serving_pod("kuberay", RAY_HEAD),
        *serving_pod("lws", LWS_LEADERS[0]),
        scraped_up("lws", LWS_LEADERS[1], "0x60"),
        container_restarts(RAY_HEAD, "vllm", "0+1x60"),
        container_restarts(RAY_WORKER, "worker", "0+1x60"),
        *(container_restarts(w, "worker", "0+1x60") for w in LWS_WORKERS),
        container_restarts("lws-x-0", "vllm", "0+1x60"),  # the leader of another LeaderWorkerSet, 'lws-x'
    ]
    tests = [
        expect(multinode, "kuberay", "VllmContainerRestarting", "20m", {"namespace": NS, "pod": RAY_HEAD}),
        expect(multinode, "lws", "VllmPodNotServing", "20m", {"namespace": NS, "server": "lws", "pod": LWS_LEADERS[1]}),
        expect(multinode, "lws", "VllmPodNotServing", "10m"),  # still within the 15-minute budget: pending
        *(expect(multinode, "lws", name, "20m") for name in ("VllmServerDown", "VllmRequestsQueued", "VllmKvCacheNearlyFull")),
    ]
    run_promtool(promtool, tmp_path, multinode, series, {"alert_rule_test": tests})


def test_multinode_server_down_fires_for_the_silent_cluster_only(promtool: str, tmp_path: Path, multinode: Emitted) -> None:
    series = [*(s for leader in LWS_LEADERS for s in serving_pod("lws", leader))]
    tests = [expect(multinode, "kuberay", "VllmServerDown", "10m", {}), expect(multinode, "kuberay", "VllmServerDown", "3m")]
    run_promtool(promtool, tmp_path, multinode, series, {"alert_rule_test": tests})


def test_multinode_keda_query_sums_the_leaders_of_its_server(promtool: str, tmp_path: Path, multinode: Emitted) -> None:
    (query,) = multinode.keda["lws"]
    series = [
        *serving_pod("kuberay", RAY_HEAD, waiting="100x60"),
        *serving_pod("lws", LWS_LEADERS[0], waiting="3x60"),
        *serving_pod("lws", LWS_LEADERS[1], waiting="4x60"),
    ]
    exprs = [{"expr": query, "eval_time": "10m", "exp_samples": [{"labels": "{}", "value": 7}]}]
    run_promtool(promtool, tmp_path, multinode, series, {"promql_expr_test": exprs})


def test_multinode_dashboards_count_the_serving_pods(promtool: str, tmp_path: Path, multinode: Emitted) -> None:
    exprs = []
    for server, pods in (("kuberay", 1), ("lws", 2)):
        panel = next(p for p in multinode.dashboards[server]["panels"] if p["title"] == "Pods answering scrapes")
        exprs.append({"expr": panel["targets"][0]["expr"], "eval_time": "10m", "exp_samples": [{"labels": "{}", "value": pods}]})
    run_promtool(promtool, tmp_path, multinode, _steady_multinode(), {"promql_expr_test": exprs})
