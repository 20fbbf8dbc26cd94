"""Planned Kubernetes objects and the small builders every serving workload shares: Service, PodDisruptionBudget,
cache claim, ConfigMap and NetworkPolicy. Pure: each returns a :class:`KubeObject`, which a construct adapter emits
as one ``cdk8s.ApiObject`` and the Node-free renderer writes as YAML."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .validation import Cidr, Labels, Port, value_class
from .values import WorkloadLabels

__all__ = ["KubeObject", "ServerNetworkPolicy", "network_policy_spec"]

JsonObject = dict[str, Any]
CLUSTER_SCOPED = frozenset({"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PriorityClass", "StorageClass"})


@dataclass(frozen=True, slots=True)
class KubeObject:
    """One object a plan emits: the construct id it gets under its owner, its identity and every top-level key but
    ``apiVersion``, ``kind`` and ``metadata``."""

    id: str
    api_version: str
    kind: str
    name: str
    labels: Mapping[str, str]
    body: JsonObject
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def group(self) -> str:
        return self.api_version.rsplit("/", 1)[0] if "/" in self.api_version else ""

    def key(self, namespace: str) -> tuple[str, str, str, str]:
        """What Kubernetes identifies the object by: (group, kind, namespace, name); '' namespace means 'default'."""
        ns = "" if self.kind in CLUSTER_SCOPED else (namespace or "default")
        return (self.group, self.kind, ns, self.name)

    def without_replicas(self) -> KubeObject:
        """This object without ``spec.replicas`` (an autoscaler owns the count); every other key kept."""
        spec = {k: v for k, v in self.body["spec"].items() if k != "replicas"}
        return KubeObject(self.id, self.api_version, self.kind, self.name, self.labels, {**self.body, "spec": spec}, self.annotations)

    def manifest(self, namespace: str | None) -> JsonObject:
        """The object as cdk8s writes it (namespace stamped the way a Chart stamps it)."""
        meta: JsonObject = {}
        if self.annotations:
            meta["annotations"] = dict(sorted(self.annotations.items()))
        if self.labels:
            meta["labels"] = dict(sorted(self.labels.items()))
        meta["name"] = self.name
        if namespace and self.kind not in CLUSTER_SCOPED:
            meta["namespace"] = namespace
        return {"apiVersion": self.api_version, "kind": self.kind, "metadata": meta, **copy.deepcopy(self.body)}


def service(
    obj_id: str, name: str, labels: Mapping[str, str], *, selector: Mapping[str, str], port: int, service_type: str = "ClusterIP"
) -> KubeObject:
    spec = {
        "type": service_type,
        "selector": dict(selector),
        "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
    }
    return KubeObject(obj_id, "v1", "Service", name, labels, {"spec": spec})


def disruption_budget(
    obj_id: str, name: str, labels: Mapping[str, str], *, selector: Mapping[str, str], max_unavailable: int | str
) -> KubeObject:
    spec = {"maxUnavailable": max_unavailable, "selector": {"matchLabels": dict(selector)}, "unhealthyPodEvictionPolicy": "AlwaysAllow"}
    return KubeObject(obj_id, "policy/v1", "PodDisruptionBudget", name, labels, {"spec": spec})


def claim(obj_id: str, name: str, labels: Mapping[str, str], spec: JsonObject) -> KubeObject:
    return KubeObject(obj_id, "v1", "PersistentVolumeClaim", name, labels, {"spec": spec})


def config_map(obj_id: str, name: str, labels: Mapping[str, str], data: Mapping[str, str]) -> KubeObject:
    return KubeObject(obj_id, "v1", "ConfigMap", name, labels, {"data": dict(data)})


@value_class(kw_only=True)
class ServerNetworkPolicy:
    """Ingress only to the serving port, from the namespaces and pods named here; optional egress limits."""

    from_namespaces: Labels | None = None
    """Namespace labels allowed in, e.g. {'kubernetes.io/metadata.name': 'gateway'}. Default: this namespace only."""
    from_pods: Labels | None = None
    """Pod labels allowed in (within the allowed namespaces). Default: any pod there."""
    metrics_from_namespaces: Labels | None = None
    """Namespace labels allowed to scrape (e.g. the monitoring namespace). Default: same as from_namespaces."""
    restrict_egress: bool = False
    """Limit egress to DNS and the CIDRs below. Default: False (downloads and hubs need egress)."""
    egress_cidrs: tuple[Cidr, ...] = ()
    """CIDRs reachable when egress is restricted (model store, proxies). Default: none."""
    egress_ports: tuple[Port, ...] = (443,)
    """Ports allowed to egress_cidrs. Default: 443."""


def _peer(namespaces: Mapping[str, str] | None, pods: Mapping[str, str] | None) -> JsonObject:
    peer: JsonObject = {}
    if namespaces is not None:
        peer["namespaceSelector"] = {"matchLabels": dict(namespaces)}
    peer["podSelector"] = {"matchLabels": dict(pods)} if pods else {}
    return peer


def _egress(np: ServerNetworkPolicy, peers: JsonObject | None) -> list[JsonObject]:
    dns = {
        "to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }
    egress: list[JsonObject] = [dns]
    if peers is not None:
        egress.append({"to": [{"podSelector": peers}]})
    if np.egress_cidrs:
        cidrs = [{"ipBlock": {"cidr": c}} for c in np.egress_cidrs]
        egress.append({"to": cidrs, "ports": [{"protocol": "TCP", "port": p} for p in np.egress_ports]})
    return egress


def network_policy_spec(np: ServerNetworkPolicy, pod_selector: JsonObject, port: int, *, peers: JsonObject | None = None) -> JsonObject:
    """NetworkPolicy spec: ingress to ``port`` from the allowed namespaces and pods (and metrics scrapers); with
    ``peers`` (a pod selector), all traffic among the peers (Ray, NCCL, torch.distributed use many ports); with
    ``restrict_egress``, egress only to DNS, the peers and the listed CIDRs."""
    ingress: list[JsonObject] = [{"from": [_peer(np.from_namespaces, np.from_pods)], "ports": [{"protocol": "TCP", "port": port}]}]
    if np.metrics_from_namespaces is not None:
        ingress.append({"from": [_peer(np.metrics_from_namespaces, None)], "ports": [{"protocol": "TCP", "port": port}]})
    if peers is not None:
        ingress.append({"from": [{"podSelector": peers}]})
    spec: JsonObject = {"podSelector": pod_selector, "policyTypes": ["Ingress"], "ingress": ingress}
    if np.restrict_egress:
        spec["policyTypes"] = ["Ingress", "Egress"]
        spec["egress"] = _egress(np, peers)
    return spec


def network_policy(obj_id: str, name: str, labels: Mapping[str, str], spec: JsonObject) -> KubeObject:
    return KubeObject(obj_id, "networking.k8s.io/v1", "NetworkPolicy", name, labels, {"spec": spec})


def job(obj_id: str, name: str, labels: WorkloadLabels, spec: JsonObject) -> KubeObject:
    return KubeObject(obj_id, "batch/v1", "Job", name, labels.labels(), {"spec": spec})


def hand_over_replicas(objects: list[KubeObject], object_id: str) -> None:
    """Drop ``spec.replicas`` from the planned object with this id, in place (what every plan's
    ``hand_replicas_to_autoscaler`` does to its workload)."""
    for i, obj in enumerate(objects):
        if obj.id == object_id:
            objects[i] = obj.without_replicas()
