"""A CPU VllmServer built through the public API, run by a real vLLM, scraped by a real Prometheus.

The server uses every option we support on CPU: served model name, max model len, dtype, extra args, an API key
(a SecretKeyRef, resolved to a value this test chooses) and env from a ConfigMap (env_config: a ConfigMap plus
envFrom). Its vLLM container runs exactly as rendered (tests/real_vllm.py says what is changed and why). Then
every vLLM metric and label our PromQL uses is checked against the real /metrics page, and a real Prometheus
scrapes the server with our monitor's interval, path and relabelling: the KEDA queries, the recording rules, the
Prometheus Adapter queries and the `up` series each yield exactly one series for this server, and no alert fires.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cdk8s
import pytest

from apps.main import build_app
from tests.conftest import chart_objects
from tests.real_prometheus import (
    Prometheus,
    RenderedPromQL,
    adapter_query,
    exposed_series,
    relabel_configs,
    rendered_promql,
    require_prometheus,
    running_prometheus,
    vllm_label_uses,
)
from tests.real_vllm import RunningServer, http, localize, prepare, running
from vllm_constructs import (
    Autoscaler,
    AutoscalerProps,
    EngineArgs,
    Image,
    ModelSource,
    Observability,
    ObservabilityProps,
    Resources,
    Scaling,
    SecretKeyRef,
    VllmServer,
    VllmServerProps,
)
from vllm_constructs.promql import RENAMED_METRICS, VLLM_METRICS

pytestmark = pytest.mark.vllm

NS = "llm"
SERVER = "tiny-cpu"
SERVED = "tiny-chat"
API_KEY = f"test-key-{secrets.token_hex(8)}"
SECRETS = {"tiny-api": {"key": API_KEY}}
AUTH = {"Authorization": f"Bearer {API_KEY}"}
POD = f"{SERVER}-5d8f7c9b4-x7k2p"  # a Deployment pod's name: <deployment>-<pod template hash>-<suffix>
REMAPPED_ENV = {"HOME", "XDG_CACHE_HOME", "HF_HOME", "VLLM_CACHE_ROOT", "VLLM_CONFIG_ROOT"}


def _server(chart: cdk8s.Chart, name: str, **props: Any) -> VllmServer:
    return VllmServer(
        chart,
        name,
        VllmServerProps(
            name=name,
            image=Image("public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo", tag="v0.33.0"),
            model=ModelSource.pvc("models", path="tiny"),
            resources=Resources(cpu="2", memory="4Gi"),
            **props,
        ),
    )


def build_objects() -> list[dict[str, Any]]:
    """The server under test with its monitor, rules, dashboard and KEDA autoscaler on every vLLM metric; and a
    second server (never started) whose HPA brings the Prometheus Adapter rules for the same metrics."""
    chart = cdk8s.Chart(cdk8s.App(), "real", namespace=NS, disable_resource_name_hashes=True)
    server = _server(
        chart,
        SERVER,
        engine=EngineArgs(served_model_name=SERVED, max_model_len=256, dtype="float32", extra_args=("--max-num-seqs", "8", "--seed=1234")),
        api_key=SecretKeyRef("tiny-api", "key"),
        env_config={"VLLM_CPU_KVCACHE_SPACE": 1, "VLLM_LOGGING_LEVEL": "INFO"},
    )
    Observability(chart, "observe", ObservabilityProps(server=server, scrape_interval_seconds=1))
    targets = dict.fromkeys(VLLM_METRICS, 1.0)
    keda = Scaling.keda("http://prometheus.monitoring:9090", targets)
    Autoscaler(chart, "scale", AutoscalerProps(target=server, scaling=keda, max_replicas=2))
    other = _server(chart, "tiny-hpa")
    Autoscaler(chart, "hpa", AutoscalerProps(target=other, scaling=Scaling.vllm_metrics(targets), max_replicas=2))
    return chart_objects(chart)


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


@dataclass
class World:
    objects: list[dict[str, Any]]
    server: RunningServer
    work: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tiny_model, vllm_bin = prepare(tmp_path_factory)
    objects = build_objects()
    pod = one(objects, "Deployment", SERVER)["spec"]["template"]["spec"]
    work = tmp_path_factory.mktemp("server")
    local = localize(pod, "vllm", objects, SECRETS, model_dir=tiny_model, work=work, bin_dir=vllm_bin)
    with running(local, work) as server:
        yield World(objects, server, work)


def complete(server: RunningServer, headers: dict[str, str] | None = AUTH) -> tuple[int, str]:
    request = {"model": SERVED, "prompt": "The quick brown fox", "max_tokens": 4, "temperature": 0}
    return http("POST", f"{server.base}/v1/completions", request, headers=headers, timeout=120)


# --- the rendered command, env and probes ------------------------------------------------------------------


def test_only_model_path_host_and_port_are_replaced(world: World) -> None:
    local = world.server.local
    assert set(local.replaced_args) == {"model path", "--host", "--port"}
    assert local.replaced_args["model path"][0] == "/models/tiny"
    assert set(local.remapped_env) == REMAPPED_ENV
    assert local.env["VLLM_API_KEY"] == API_KEY  # secretKeyRef resolved from the test's Secret
    assert local.env["VLLM_CPU_KVCACHE_SPACE"] == "1"  # env_config: ConfigMap + envFrom
    assert local.env["HF_HUB_OFFLINE"] == "1"


def test_every_rendered_engine_flag_reached_vllm(world: World) -> None:
    """vLLM logs the arguments it parsed that differ from its defaults: each rendered flag is among them."""
    log = world.server.log.read_text(errors="replace")
    (line,) = [x for x in log.splitlines() if "non-default args:" in x][:1]
    rendered = ("'max_model_len': 256", "'dtype': 'float32'", f"'served_model_name': ['{SERVED}']", "'max_num_seqs': 8", "'seed': 1234")
    for expected in rendered:
        assert expected in line, f"{expected} not in {line}"
    status, body = http("GET", f"{world.server.base}/v1/models", headers=AUTH)
    assert status == 200, body
    assert json.loads(body)["data"][0]["max_model_len"] == 256


def test_probes_answer_without_the_api_key(world: World) -> None:
    """The kubelet sends no Authorization header: every probe path must answer 200 with the key set."""
    assert set(world.server.local.probes) == {"startupProbe", "readinessProbe", "livenessProbe"}
    for kind, (path, port) in world.server.local.probes.items():
        status, body = http("GET", f"http://127.0.0.1:{port}{path}", timeout=10)
        assert status == 200, f"{kind} {path}: {status} {body[:200]}"


def test_api_key_is_required_and_accepted(world: World) -> None:
    base = world.server.base
    assert http("GET", f"{base}/v1/models")[0] == 401
    assert http("GET", f"{base}/v1/models", headers={"Authorization": "Bearer wrong"})[0] == 401
    assert complete(world.server, headers={})[0] == 401
    status, body = http("GET", f"{base}/v1/models", headers=AUTH)
    assert status == 200, body
    assert [m["id"] for m in json.loads(body)["data"]] == [SERVED]


def test_completion_returns(world: World) -> None:
    status, body = complete(world.server)
    assert status == 200, body
    answer = json.loads(body)
    assert answer["model"] == SERVED
    assert answer["usage"]["completion_tokens"] >= 1


# --- metric names and labels against the real exporter -------------------------------------------------------


@pytest.fixture(scope="module")
def exposed(world: World) -> dict[str, set[str]]:
    for _ in range(3):  # traffic, so that every counter and histogram has moved
        assert complete(world.server)[0] == 200
    status, text = http("GET", f"{world.server.base}/metrics")  # the monitor sends no key either
    assert status == 200, text[:300]
    (world.work / "metrics.txt").write_text(text)
    return exposed_series(text)


def _target_labels(objects: list[dict[str, Any]]) -> set[str]:
    monitors = [o for o in objects if o["kind"] in ("ServiceMonitor", "PodMonitor")]
    assert monitors
    endpoints = [e for m in monitors for e in m["spec"].get("endpoints", []) + m["spec"].get("podMetricsEndpoints", [])]
    return {r["targetLabel"] for e in endpoints for r in e["relabelings"]} | {"job", "instance"}


def _check_uses(promql: RenderedPromQL, exposed: dict[str, set[str]], target_labels: set[str]) -> dict[str, set[str]]:
    uses = vllm_label_uses(promql.expressions())
    missing = sorted(name for name in uses if name not in exposed)
    assert not missing, f"metrics our PromQL uses that vLLM does not expose: {missing}"
    wrong = {name: sorted(labels - exposed[name] - target_labels) for name, labels in uses.items()}
    assert not {k: v for k, v in wrong.items() if v}, f"labels vLLM does not put on these metrics: {wrong}"
    return uses


def test_metrics_of_the_scaler_and_rules_exist_with_their_labels(world: World, exposed: dict[str, set[str]]) -> None:
    promql = rendered_promql(world.objects)
    uses = _check_uses(promql, exposed, _target_labels(world.objects))
    scaler_metrics = {name for q in promql.keda for name in re.findall(r"vllm:[A-Za-z0-9_:]+", q)}
    assert scaler_metrics == set(VLLM_METRICS)  # every metric a scaler accepts, by its exact name
    assert "le" in uses["vllm:time_to_first_token_seconds_bucket"]
    assert "model_name" in exposed["vllm:num_requests_waiting"]
    for old, new in RENAMED_METRICS.items():  # the names a scaler refuses as renamed are indeed gone
        assert old not in exposed and new in exposed


def test_metrics_of_every_app_exist_with_their_labels(world: World, exposed: dict[str, set[str]]) -> None:
    app = build_app(outdir=str(world.work / "dist"))
    objects = [o for chart in app.node.children if isinstance(chart, cdk8s.Chart) for o in chart_objects(chart)]
    uses = _check_uses(rendered_promql(objects), exposed, _target_labels(objects))
    assert uses  # the apps do use vLLM metrics


# --- a real Prometheus scraping the real server --------------------------------------------------------------


@pytest.fixture(scope="module")
def prometheus(world: World, exposed: dict[str, set[str]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    binary = require_prometheus()
    monitor = one(world.objects, "ServiceMonitor", SERVER)
    (endpoint,) = monitor["spec"]["endpoints"]
    service = one(world.objects, "Service", SERVER)
    container = one(world.objects, "Deployment", SERVER)["spec"]["template"]["spec"]["containers"][0]
    # ServiceMonitor port (a Service port name) -> the Service's targetPort -> the container port vLLM listens on.
    (service_port,) = [p for p in service["spec"]["ports"] if p["name"] == endpoint["port"]]
    (container_port,) = [p for p in container["ports"] if p["name"] == service_port["targetPort"]]
    assert str(container_port["containerPort"]) == world.server.local.replaced_args["--port"][0]
    deployment = one(world.objects, "Deployment", SERVER)
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    meta = {f"__meta_kubernetes_pod_label_{re.sub(r'[^A-Za-z0-9_]', '_', k)}": v for k, v in pod_labels.items()}
    meta |= {"__meta_kubernetes_namespace": NS, "__meta_kubernetes_pod_name": POD}
    config = {
        "global": {"scrape_interval": endpoint["interval"], "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": "vllm",
                "metrics_path": endpoint["path"],
                "scheme": endpoint["scheme"],
                "scrape_interval": endpoint["interval"],
                "static_configs": [{"targets": [f"127.0.0.1:{world.server.local.port}"], "labels": meta}],
                "relabel_configs": relabel_configs(endpoint["relabelings"]),
            }
        ],
    }
    # Rule groups as rendered, evaluated every second instead of every 30 s so that the test need not wait.
    groups = [{**g, "interval": "1s"} for g in rendered_promql(world.objects).rule_groups]
    work = tmp_path_factory.mktemp("prometheus")
    with running_prometheus(binary, work, config, groups) as prom:
        yield prom


def test_scrape_labels_the_series_with_namespace_pod_and_server(prometheus: Prometheus) -> None:
    (up,) = prometheus.wait_for(f'up{{namespace="{NS}",server="{SERVER}"}} == 1')
    assert up["metric"]["pod"] == POD
    (series,) = prometheus.wait_for('vllm:num_requests_waiting{namespace!=""}')
    labels = series["metric"]
    assert (labels["namespace"], labels["pod"], labels["server"], labels["model_name"]) == (NS, POD, SERVER, SERVED)
    assert not any(name.startswith("__meta_") for name in labels)


def test_keda_queries_yield_exactly_one_series(world: World, prometheus: Prometheus) -> None:
    queries = rendered_promql(world.objects).keda
    assert len(queries) == len(VLLM_METRICS)
    prometheus.wait_for(f'count_over_time(up{{server="{SERVER}"}}[1m]) > 2')  # rate() needs two samples
    for query in queries:
        result = prometheus.wait_for(query, timeout_s=30)
        assert len(result) == 1, f"{query}: {result}"
        assert result[0]["metric"] == {}


def test_recording_rules_yield_exactly_one_series_each(world: World, prometheus: Prometheus) -> None:
    records = [r["record"] for r in rendered_promql(world.objects).recording]
    assert records
    for record in records:
        result = prometheus.wait_for(f'{record}{{namespace="{NS}",server="{SERVER}"}}', timeout_s=60)
        assert len(result) == 1, f"{record}: {result}"
    health = {r["name"]: (r["health"], r.get("lastError", "")) for r in prometheus.rules()}
    assert all(h == "ok" for h, _ in health.values()), health


def test_no_alert_fires_for_a_healthy_server(world: World, prometheus: Prometheus) -> None:
    prometheus.wait_for(f'count_over_time(up{{server="{SERVER}"}}[1m]) > 2')
    for rule in rendered_promql(world.objects).alerts:
        assert prometheus.query(rule["expr"]) == [], rule["alert"]


def test_adapter_queries_find_this_pod(world: World, prometheus: Prometheus) -> None:
    adapter = rendered_promql(world.objects).adapter
    assert {r["name"]["matches"].strip("^$") for r in adapter} == set(VLLM_METRICS)
    prometheus.wait_for(f'count_over_time(up{{server="{SERVER}"}}[1m]) > 2')
    for rule in adapter:
        series = prometheus.wait_for(rule["seriesQuery"], timeout_s=30)
        assert {s["metric"]["pod"] for s in series} == {POD}, rule["seriesQuery"]  # several series: one per label set
        query = adapter_query(rule, f'namespace="{NS}",pod=~"{POD}"', "pod")
        result = prometheus.wait_for(query, timeout_s=30)
        assert [r["metric"] for r in result] == [{"pod": POD}], query
