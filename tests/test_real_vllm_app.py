"""The CPU app (apps/cpu_opt_125m.py) as synthesized for dist/, run by a real vLLM: the vLLM container's command,
args and environment exactly as rendered (see tests/real_vllm.py for the three things changed and why)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import cdk8s
import pytest

from apps.main import build_app
from tests.conftest import chart_objects
from tests.real_vllm import RunningServer, http, localize, prepare, running

pytestmark = pytest.mark.vllm

CHART = "cpu-opt-125m"
# Environment of the pod that names folders on its volumes: HOME and the caches, all on the 'home' emptyDir.
REMAPPED_ENV = {"HOME", "XDG_CACHE_HOME", "HF_HOME", "VLLM_CACHE_ROOT", "VLLM_CONFIG_ROOT"}


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    tiny_model, vllm_bin = prepare(tmp_path_factory)
    app = build_app(outdir=str(tmp_path_factory.mktemp("dist")))
    chart = next(c for c in app.node.children if isinstance(c, cdk8s.Chart) and c.node.id == CHART)
    objects = chart_objects(chart)
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    work = tmp_path_factory.mktemp("app-server")
    local = localize(deployment["spec"]["template"]["spec"], "vllm", objects, {}, model_dir=tiny_model, work=work, bin_dir=vllm_bin)
    with running(local, work) as server:
        yield server


def test_only_model_path_host_and_port_are_replaced(app_server: RunningServer) -> None:
    local = app_server.local
    assert set(local.replaced_args) == {"model path", "--host", "--port"}
    assert local.replaced_args["--host"][0] == "0.0.0.0"
    assert set(local.remapped_env) == REMAPPED_ENV
    assert all(rendered.startswith("/home/vllm") for rendered, _ in local.remapped_env.values())


def test_server_runs_offline_without_usage_stats(app_server: RunningServer) -> None:
    env = app_server.local.env
    assert env["HF_HUB_OFFLINE"] == "1"
    assert env["VLLM_NO_USAGE_STATS"] == "1"
    assert env["VLLM_CPU_KVCACHE_SPACE"] == "1"  # from the env ConfigMap, through envFrom


def test_probes_answer_on_the_named_port(app_server: RunningServer) -> None:
    assert set(app_server.local.probes) == {"startupProbe", "readinessProbe", "livenessProbe"}
    for kind, (path, port) in app_server.local.probes.items():
        status, body = http("GET", f"http://127.0.0.1:{port}{path}", timeout=10)
        assert status == 200, f"{kind} {path}: {status} {body[:200]}"


def test_models_lists_the_served_name(app_server: RunningServer) -> None:
    status, body = http("GET", f"{app_server.base}/v1/models")
    assert status == 200, body
    assert [m["id"] for m in json.loads(body)["data"]] == [app_server.local.served_model_name] == ["opt-125m"]


def test_completion_returns(app_server: RunningServer) -> None:
    request = {"model": app_server.local.served_model_name, "prompt": "Hello, world", "max_tokens": 5, "temperature": 0}
    status, body = http("POST", f"{app_server.base}/v1/completions", request, timeout=120)
    assert status == 200, body
    choice = json.loads(body)["choices"][0]
    assert choice["finish_reason"] in ("length", "stop")
    assert json.loads(body)["usage"]["completion_tokens"] >= 1
