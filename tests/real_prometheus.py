"""A real Prometheus server (Debian's `prometheus`) scraping a local target the way our monitors scrape pods,
and the PromQL the library renders, read back out of synthesized objects.

Scrape emulation: the target carries the Kubernetes meta labels service discovery would give a pod
(``__meta_kubernetes_namespace``, ``__meta_kubernetes_pod_name``, ``__meta_kubernetes_pod_label_<label>``), and
the monitor's own ``relabelings`` (translated field by field from the Prometheus Operator's RelabelConfig) turn
them into target labels, as the operator's generated configuration does. Interval and path are the monitor's.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import IN_CI
from tests.real_vllm import free_port, http, stop_group

START_TIMEOUT_S = 60.0


def require_prometheus() -> str:
    path = shutil.which("prometheus")
    if path is None:
        message = "the prometheus server is missing: run scripts/test-deps.sh (Debian package 'prometheus')"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


# --- PromQL out of synthesized objects -------------------------------------------------------------------------


@dataclass
class RenderedPromQL:
    recording: list[dict[str, Any]]  # rules with 'record'
    alerts: list[dict[str, Any]]  # rules with 'alert'
    rule_groups: list[dict[str, Any]]
    keda: list[str]
    dashboard: list[str]
    adapter: list[dict[str, Any]]

    def expressions(self) -> list[str]:
        rules = [r["expr"] for r in self.recording + self.alerts]
        adapter = [e for rule in self.adapter for e in (rule["seriesQuery"], adapter_query(rule, 'namespace!=""', "pod"))]
        return rules + self.keda + self.dashboard + adapter


def rendered_promql(objects: list[dict[str, Any]]) -> RenderedPromQL:
    groups = [g for o in objects if o["kind"] == "PrometheusRule" for g in o["spec"]["groups"]]
    rules = [r for g in groups for r in g["rules"]]
    keda = [t["metadata"]["query"] for o in objects if o["kind"] == "ScaledObject" for t in o["spec"]["triggers"]]
    dashboard, adapter = [], []
    for o in objects:
        if o["kind"] != "ConfigMap":
            continue
        if o["metadata"].get("labels", {}).get("grafana_dashboard") == "1":
            for text in o["data"].values():
                dashboard += [t["expr"] for p in json.loads(text)["panels"] for t in p["targets"]]
        elif "config.yaml" in o.get("data", {}) and "rules" in (cfg := yaml.safe_load(o["data"]["config.yaml"]) or {}):
            adapter += cfg["rules"]
    return RenderedPromQL(
        recording=[r for r in rules if "record" in r],
        alerts=[r for r in rules if "alert" in r],
        rule_groups=groups,
        keda=keda,
        dashboard=dashboard,
        adapter=adapter,
    )


def adapter_query(rule: Mapping[str, Any], label_matchers: str, group_by: str) -> str:
    """A Prometheus Adapter metricsQuery with its template markers filled as the adapter fills them."""
    series = rule["name"]["matches"].strip("^$")
    return (
        rule["metricsQuery"].replace("<<.Series>>", series).replace("<<.LabelMatchers>>", label_matchers).replace("<<.GroupBy>>", group_by)
    )


_SELECTOR = re.compile(r"(?P<name>[A-Za-z_:][A-Za-z0-9_:]*)\s*\{(?P<matchers>[^}]*)\}")
_MATCHER = re.compile(r"(?P<label>[A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*\"")
_BY = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
_VLLM_NAME = re.compile(r"vllm:[A-Za-z0-9_:]+")


def vllm_label_uses(expressions: list[str]) -> dict[str, set[str]]:
    """vLLM metric name -> label names our expressions select or group it by (by/without clauses apply to every
    vLLM metric in the same expression)."""
    uses: dict[str, set[str]] = {}
    for expr in expressions:
        names = set(_VLLM_NAME.findall(expr))
        grouped = {label.strip() for clause in _BY.findall(expr) for label in clause.split(",") if label.strip()}
        for name in names:
            uses.setdefault(name, set()).update(grouped)
        for selector in _SELECTOR.finditer(expr):
            if selector["name"].startswith("vllm:"):
                uses[selector["name"]].update(m["label"] for m in _MATCHER.finditer(selector["matchers"]))
    return uses


# --- the exposition format -------------------------------------------------------------------------------------

_SAMPLE = re.compile(r"^(?P<name>[A-Za-z_:][A-Za-z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+\S+")
_LABEL = re.compile(r"(?P<label>[A-Za-z_][A-Za-z0-9_]*)=\"(?:[^\"\\]|\\.)*\"")


def exposed_series(text: str) -> dict[str, set[str]]:
    """Metric name -> label names, from a /metrics page in Prometheus' text format."""
    series: dict[str, set[str]] = {}
    for line in text.splitlines():
        if line.startswith("#") or not (m := _SAMPLE.match(line)):
            continue
        series.setdefault(m["name"], set()).update(label["label"] for label in _LABEL.finditer(m["labels"] or ""))
    return series


# --- the server ------------------------------------------------------------------------------------------------


def relabel_configs(relabelings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Prometheus Operator RelabelConfig (camelCase) -> Prometheus relabel_config (snake_case)."""
    fields = {
        "sourceLabels": "source_labels",
        "targetLabel": "target_label",
        "separator": "separator",
        "regex": "regex",
        "replacement": "replacement",
        "modulus": "modulus",
        "action": "action",
    }
    out = []
    for r in relabelings:
        unknown = set(r) - set(fields)
        assert not unknown, f"relabeling fields this emulation does not translate: {unknown}"
        out.append({fields[k]: v for k, v in r.items()})
    return out


@dataclass
class Prometheus:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def query(self, promql: str) -> list[dict[str, Any]]:
        status, body = http("GET", f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql}), timeout=30)
        assert status == 200, f"{promql}: {status} {body[:500]}"
        return list(json.loads(body)["data"]["result"])

    def wait_for(self, promql: str, timeout_s: float = 90.0) -> list[dict[str, Any]]:
        """The query's result, as soon as it is not empty (bounded)."""
        deadline = time.monotonic() + timeout_s
        while True:
            result = self.query(promql)
            if result or time.monotonic() > deadline:
                return result
            time.sleep(0.5)

    def rules(self) -> list[dict[str, Any]]:
        status, body = http("GET", f"{self.url}/api/v1/rules", timeout=30)
        assert status == 200, body[:500]
        return [r for g in json.loads(body)["data"]["groups"] for r in g["rules"]]


@contextlib.contextmanager
def running_prometheus(binary: str, work: Path, config: dict[str, Any], rule_groups: list[dict[str, Any]]) -> Iterator[Prometheus]:
    (work / "rules.yaml").write_text(yaml.safe_dump({"groups": rule_groups}, sort_keys=False))
    (work / "prometheus.yaml").write_text(yaml.safe_dump({**config, "rule_files": ["rules.yaml"]}, sort_keys=False))
    port = free_port()
    log = work / "prometheus.log"
    argv = [
        binary,
        f"--config.file={work / 'prometheus.yaml'}",
        f"--storage.tsdb.path={work / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=info",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, cwd=work, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env={"PATH": "/usr/bin:/bin"}
        )
    prom = Prometheus(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _ready(prom):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"prometheus did not become ready:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield prom
    finally:
        _, left = stop_group(process, grace_s=15)
    assert not left, f"prometheus processes outlived SIGKILL: {left}"


def _ready(prom: Prometheus) -> bool:
    with contextlib.suppress(OSError):
        return http("GET", f"{prom.url}/-/ready", timeout=2)[0] == 200
    return False
