"""The one place that knows which labels a server's metrics carry, and which vLLM metrics exist.

Every PromQL expression the library writes (KEDA queries, Prometheus Adapter rules, recording rules,
alerts, dashboard panels) takes its label matchers from :class:`ServerSeries`, so they cannot
disagree with each other or with the scrape configuration that puts the labels there:

- ``namespace`` and ``pod`` are the target labels the Prometheus Operator adds to every series;
- ``server`` is copied from the pod label ``app.kubernetes.io/instance`` by the relabelling of the
  ServiceMonitor/PodMonitor that :class:`~vllm_constructs.observability.Observability` emits
  (:func:`identity_relabelings`);
- ``model_name`` is vLLM's own label (not ``model``); the selector does not need it, since one server
  serves one model.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

JsonObject = dict[str, Any]

__all__ = ["SERVER_LABEL", "VLLM_METRICS", "MetricKind", "ServerSeries", "identity_relabelings"]

SERVER_LABEL = "server"
"""Series label that names the server (copied from the pod label app.kubernetes.io/instance)."""

_INSTANCE_META = "__meta_kubernetes_pod_label_app_kubernetes_io_instance"


class MetricKind(enum.StrEnum):
    GAUGE = "gauge"
    COUNTER = "counter"


VLLM_METRICS: dict[str, MetricKind] = {
    "vllm:num_requests_waiting": MetricKind.GAUGE,
    "vllm:num_requests_running": MetricKind.GAUGE,
    "vllm:kv_cache_usage_perc": MetricKind.GAUGE,
    "vllm:prompt_tokens_total": MetricKind.COUNTER,
    "vllm:generation_tokens_total": MetricKind.COUNTER,
    "vllm:num_preemptions_total": MetricKind.COUNTER,
    "vllm:request_success_total": MetricKind.COUNTER,
}
"""vLLM per-pod metrics a scaler may use by name: gauges as they are, counters as a per-second rate."""

RENAMED_METRICS = {"vllm:gpu_cache_usage_perc": "vllm:kv_cache_usage_perc"}
"""Deprecated names and their replacements (vLLM V1 metrics)."""

RATE_WINDOW = "2m"
"""Window of rate() over counters in scaling queries (several scrapes at the default 15 s interval)."""


def identity_relabelings() -> list[JsonObject]:
    """Relabelling (Prometheus Operator RelabelConfig) that puts the server identity on every series."""
    return [
        {"sourceLabels": [_INSTANCE_META], "targetLabel": SERVER_LABEL, "action": "replace"},
        {"sourceLabels": ["__meta_kubernetes_namespace"], "targetLabel": "namespace", "action": "replace"},
        {"sourceLabels": ["__meta_kubernetes_pod_name"], "targetLabel": "pod", "action": "replace"},
    ]


@dataclass(frozen=True, slots=True)
class ServerSeries:
    """The series of one server: its namespace, its instance name and the name pattern of its pods."""

    namespace: str
    server: str
    pod_regex: str

    @classmethod
    def for_deployment(cls, namespace: str, instance: str, deployment: str) -> ServerSeries:
        # Deployment pods are '<deployment>-<pod-template-hash>-<suffix>', both parts alphanumeric.
        return cls(namespace, instance, f"{deployment}-[a-z0-9]+-[a-z0-9]+")

    @property
    def matchers(self) -> str:
        """Matchers for series scraped by our monitor (vLLM metrics and ``up``)."""
        return f'namespace="{self.namespace}",{SERVER_LABEL}="{self.server}"'

    @property
    def pod_matchers(self) -> str:
        """Matchers for series about the pods from other exporters (kube-state-metrics)."""
        return f'namespace="{self.namespace}",pod=~"{self.pod_regex}"'

    def of(self, metric: str, extra: str = "") -> str:
        """``metric{namespace=...,server=...}``, optionally with more matchers."""
        more = f",{extra}" if extra else ""
        return f"{metric}{{{self.matchers}{more}}}"

    def per_second(self, metric: str) -> str:
        return f"rate({self.of(metric)}[{RATE_WINDOW}])"

    def total(self, metric: str) -> str:
        """One series for the whole server: the sum over its pods (a rate for counters)."""
        inner = self.per_second(metric) if VLLM_METRICS.get(metric) is MetricKind.COUNTER else self.of(metric)
        return f"sum({inner})"


def adapter_metric_name(metric: str) -> str:
    """The name Prometheus Adapter exposes for a vLLM metric (no ':'; counters become per-second rates)."""
    base = metric.replace(":", "_")
    if VLLM_METRICS.get(metric) is MetricKind.COUNTER:
        return base.removesuffix("_total") + "_per_second"
    return base


def adapter_rule(metric: str) -> JsonObject:
    """One Prometheus Adapter rule exposing ``metric`` per pod, only for series our monitor scraped."""
    series = f'{metric}{{namespace!="",pod!="",{SERVER_LABEL}!=""}}'
    if VLLM_METRICS.get(metric) is MetricKind.COUNTER:
        query = f"sum by (<<.GroupBy>>) (rate(<<.Series>>{{<<.LabelMatchers>>}}[{RATE_WINDOW}]))"
    else:
        query = "sum by (<<.GroupBy>>) (<<.Series>>{<<.LabelMatchers>>})"
    return {
        "seriesQuery": series,
        "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
        "name": {"matches": f"^{metric}$", "as": adapter_metric_name(metric)},
        "metricsQuery": query,
    }
