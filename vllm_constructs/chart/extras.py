"""Objects of the release that are not the server's: the chart's claim when nothing else creates it, the
ServiceMonitor (``serviceMonitor.*``), a ScaledObject with your own query (``keda.query``), and ``customObjects``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..core.gvk import SCALED_OBJECT, SERVICE_MONITOR
from ..core.objects import KubeObject
from ..core.serving import ServingFacts
from .delivery import claim_cache, many_readers
from .sources import Key, Origins
from .values import ChartValues

__all__ = ["chart_claim", "custom_objects", "custom_scaled_object", "service_monitor"]

JsonObject = dict[str, Any]
_DURATION = re.compile(r"(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)")
SERVICE_PORTS = ("service-port", "http")
"""What serviceMonitor.port may name: the chart's Service port name, or ours (the same port)."""


def object_labels(facts: ServingFacts, values: ChartValues) -> dict[str, str]:
    """The labels every object of the release carries: the server's identity and your ``labels``."""
    return facts.labels.labels(values.labels or {})


def chart_claim(release: str, values: ChartValues, facts: ServingFacts, origins: Origins) -> KubeObject:
    """The chart's claim ``<release>-storage-claim`` that the server reads (download off, model under /data)."""
    extra = values.extra_init
    assert extra is not None
    cache = claim_cache(values, extra, origins)
    spec = cache.claim_spec(cache.resolved_access_mode(many_readers(values)))
    return KubeObject(
        "ModelStorage", "v1", "PersistentVolumeClaim", f"{release}-storage-claim", object_labels(facts, values), {"spec": spec}
    )


def service_monitor(values: ChartValues, facts: ServingFacts, origins: Origins) -> KubeObject:
    """The chart's ServiceMonitor: named like the Service, scraping its one port (named http) with your path,
    interval and metric filter."""
    sm = values.service_monitor
    key: Key = ("serviceMonitor",)
    if sm.port not in SERVICE_PORTS:
        origins.fail(
            (*key, "port"),
            sm.port,
            "names no port of the Service: its only port (the chart's service-port) is named http here",
            "service-port or http",
            "remove serviceMonitor.port",
        )
    if not _DURATION.fullmatch(sm.interval) or sm.interval in ("", "0"):
        origins.fail(
            (*key, "interval"), sm.interval, "is not a Prometheus duration", "a duration such as 30s, 1m or 1m30s", "write e.g. 30s"
        )
    if not sm.path.startswith("/"):
        origins.fail((*key, "path"), sm.path, "is not an absolute HTTP path", "a path such as /metrics", "start it with /")
    endpoint: JsonObject = {"port": "http", "path": sm.path, "interval": sm.interval}
    if sm.metric_filter.regex:
        try:
            re.compile(sm.metric_filter.regex)
        except re.error as exc:
            origins.fail(
                (*key, "metricFilter", "regex"),
                sm.metric_filter.regex,
                f"is not a regular expression ({exc})",
                "an RE2 expression such as vllm:.*",
                "fix the expression",
            )
        endpoint["metricRelabelings"] = [{"sourceLabels": ["__name__"], "action": sm.metric_filter.action, "regex": sm.metric_filter.regex}]
    spec = {"selector": {"matchLabels": dict(facts.selector_labels)}, "endpoints": [endpoint]}
    labels = {**object_labels(facts, values), **sm.additional_labels}
    return KubeObject("ServiceMonitor", SERVICE_MONITOR.api_version, SERVICE_MONITOR.kind, facts.service_name, labels, {"spec": spec})


def custom_scaled_object(release: str, values: ChartValues, facts: ServingFacts, threshold: str, origins: Origins) -> KubeObject:
    """The chart's ScaledObject with your own query, as the chart renders it (the library's KEDA scaling is used for the
    chart's default query)."""
    keda = values.keda
    target = facts.scale_target
    assert target is not None
    if target.max_replicas is not None and keda.max_replica_count > target.max_replicas:
        origins.fail(
            ("keda", "maxReplicaCount"),
            keda.max_replica_count,
            f"would start pods on other nodes, but {target.limit_reason}",
            f"at most {target.max_replicas}",
            "set extraInit.pvcAccessMode: ReadWriteMany",
        )
    if keda.min_replica_count > keda.max_replica_count:
        origins.fail(
            ("keda", "minReplicaCount"),
            keda.min_replica_count,
            "is above keda.maxReplicaCount",
            "minReplicaCount <= maxReplicaCount",
            "lower it",
        )
    spec: JsonObject = {
        "scaleTargetRef": {"apiVersion": target.api_version, "kind": target.kind, "name": target.name},
        "minReplicaCount": keda.min_replica_count,
        "maxReplicaCount": keda.max_replica_count,
        "pollingInterval": keda.polling_interval,
        "cooldownPeriod": keda.cooldown_period,
    }
    if keda.initial_cooldown_period:
        spec["initialCooldownPeriod"] = keda.initial_cooldown_period
    trigger = {"serverAddress": keda.prometheus_server_address, "query": keda.query, "threshold": threshold}
    spec["triggers"] = [{"type": "prometheus", "metadata": trigger}]
    labels = {**dict(facts.selector_labels), "app.kubernetes.io/managed-by": "vllm-constructs"}
    return KubeObject("ScaledObject", SCALED_OBJECT.api_version, SCALED_OBJECT.kind, f"{release}-scaledobject", labels, {"spec": spec})


_RELEASE = re.compile(r"\{\{-?\s*\.Release\.(Name|Namespace)\s*-?\}\}")


def _tpl(node: Any, release: str, namespace: str, key: Key, origins: Origins) -> Any:
    """The part of Helm's tpl that customObjects can use here: .Release.Name and .Release.Namespace."""
    if isinstance(node, str):
        text = _RELEASE.sub(lambda m: release if m.group(1) == "Name" else namespace, node)
        if "{{" in text:
            origins.fail(
                key,
                node,
                "holds a Helm template expression other than .Release.Name / .Release.Namespace, which only Helm can evaluate",
                "plain values, {{ .Release.Name }} or {{ .Release.Namespace }}",
                "write the value the expression stands for",
            )
        return text
    if isinstance(node, Mapping):
        return {_tpl(k, release, namespace, key, origins): _tpl(v, release, namespace, (*key, k), origins) for k, v in node.items()}
    if isinstance(node, list):
        return [_tpl(v, release, namespace, (*key, i), origins) for i, v in enumerate(node)]
    return node


def _custom(index: int, obj: Mapping[str, Any], namespace: str, origins: Origins) -> KubeObject:
    key: Key = ("customObjects", index)
    meta = obj.get("metadata")
    for name in ("apiVersion", "kind"):
        if not isinstance(obj.get(name), str) or not obj[name]:
            origins.fail(
                (*key, name), obj.get(name), "is missing", "a Kubernetes object with apiVersion, kind and metadata.name", f"add {name}"
            )
    if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str) or not meta["name"]:
        origins.fail(
            (*key, "metadata", "name"),
            None,
            "is missing",
            "a Kubernetes object with apiVersion, kind and metadata.name",
            "add metadata.name",
        )
    for field in meta:
        if field not in ("name", "namespace", "labels", "annotations"):
            origins.fail(
                (*key, "metadata", field),
                meta[field],
                "is not rendered here",
                "metadata.name, namespace, labels and annotations",
                f"remove metadata.{field}",
            )
    if meta.get("namespace") not in (None, namespace):
        origins.fail(
            (*key, "metadata", "namespace"),
            meta["namespace"],
            "differs from the release namespace, where every object is rendered",
            namespace,
            "remove it",
        )
    for part in ("labels", "annotations"):
        if not isinstance(meta.get(part) or {}, Mapping) or not all(isinstance(v, str) for v in (meta.get(part) or {}).values()):
            origins.fail((*key, "metadata", part), meta.get(part), "is not a mapping of strings", 'key: "value" pairs', "quote the values")
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    return KubeObject(
        f"Custom{index}",
        obj["apiVersion"],
        obj["kind"],
        meta["name"],
        dict(meta.get("labels") or {}),
        body,
        dict(meta.get("annotations") or {}),
    )


def custom_objects(release: str, namespace: str, values: ChartValues, origins: Origins) -> list[KubeObject]:
    """``customObjects`` as given, with the release's name and namespace expanded."""
    return [
        _custom(i, _tpl(obj, release, namespace, ("customObjects", i), origins), namespace, origins)
        for i, obj in enumerate(values.custom_objects)
    ]
