"""Ingress, pure: for clusters without Gateway API, one ``networking.k8s.io/v1`` Ingress per serving workload, routed
by host (or, with ingress-nginx, by a path prefix that is stripped before vLLM sees it), with TLS from a Secret.

An Ingress balances connections over the Service's pods; it knows nothing of models, queues or caches. Prefer
:class:`~vllm_constructs.InferenceGateway` where Gateway API is available (community ingress-nginx reached its end of
maintenance in March 2026).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import AfterValidator

from .gateway import Hostname
from .objects import KubeObject
from .serving import ServingFacts, ServingWorkload
from .validation import Annotations, Checker, DnsLabel, DnsSubdomain, LabelValue, SecretName, fail, in_range, problem, value_class
from .values import Lax, WorkloadLabels

__all__ = ["IngressController", "IngressEndpoint", "IngressPlan", "InferenceIngressProps", "plan_ingress"]

JsonObject = dict[str, Any]
NGINX = "nginx.ingress.kubernetes.io"


class IngressController(enum.StrEnum):
    """Which controller serves the ingress class (decides the annotations written)."""

    GENERIC = "generic"
    """Any controller: no annotations; host routing only."""
    NGINX = "ingress-nginx"
    """Kubernetes ingress-nginx: streaming-friendly timeouts and buffering, body size, and path routing by rewrite."""


def _path(value: str) -> str:
    if value == "/" or not re.fullmatch(r"(/[A-Za-z0-9._~-]+)+", value):
        raise problem(
            "path_prefix",
            "is not a path prefix",
            "'/' followed by segments of letters, digits, '.', '_', '~' and '-', e.g. '/llama-8b' (not '/')",
            "use e.g. '/llama-8b', or route by host",
        )
    return value


def _body_size(value: str) -> str:
    if not re.fullmatch(r"[0-9]{1,6}[kmg]?", value):
        raise problem("body_size", "is not an nginx size", "a number with an optional k, m or g suffix, e.g. '64m'", "write e.g. '64m'")
    return value


@value_class(kw_only=True)
class IngressEndpoint:
    """One serving workload reachable through the Ingress."""

    workload: ServingWorkload
    """The VllmServer or RayCluster (its Service is the backend). No default."""
    host: Hostname | None = None
    """Host name clients use, e.g. 'llama.example.com'. Default: any host."""
    path_prefix: Annotated[str, AfterValidator(_path)] | None = None
    """Route '<prefix>/v1/...' to the server's '/v1/...' (ingress-nginx only: it rewrites the path). Default: none."""
    tls_secret: SecretName | None = None
    """A kubernetes.io/tls Secret (name or cdk8s-plus Secret) for ``host``. Default: none (plain HTTP)."""
    name: DnsLabel | None = None
    """Name of the Ingress. Default: the workload's server name."""

    def __post_init__(self) -> None:
        if self.tls_secret is not None and self.host is None:
            fail("tls_secret", str(self.tls_secret), "is set without a host", "tls_secret together with host", "set host=...")


@value_class(kw_only=True)
class InferenceIngressProps:
    """Props of :class:`~vllm_constructs.InferenceIngress`. ``ingress_class_name`` and ``endpoints`` are required."""

    ingress_class_name: DnsSubdomain
    """The IngressClass, e.g. 'nginx'. No default."""
    endpoints: tuple[IngressEndpoint, ...]
    """One Ingress each. No default."""
    controller: Annotated[IngressController, Lax] = IngressController.GENERIC
    """Default: generic (no controller annotations)."""
    request_timeout_seconds: Annotated[int, in_range(1, 86400)] = 3600
    """ingress-nginx: longest silence between two chunks of a streamed response (and of the request). Default: 3600."""
    max_body_size: Annotated[str, AfterValidator(_body_size)] = "64m"
    """ingress-nginx: largest request body (long prompts, images). Default: 64m."""
    annotations: Annotations = field(default_factory=dict)
    """More annotations on every Ingress (controller settings). Default: none."""
    part_of: LabelValue = "vllm"
    """app.kubernetes.io/part-of. Default: vllm."""

    def __post_init__(self) -> None:
        if not self.endpoints:
            fail("endpoints", (), "is empty", "one endpoint or more", "add IngressEndpoint(workload=...)")


@dataclass(slots=True)
class IngressPlan:
    objects: list[KubeObject]
    claims: tuple[str, ...]
    """'<class> <host><path>' of every endpoint, claimed App-wide."""


def _annotations(props: InferenceIngressProps, endpoint: IngressEndpoint) -> dict[str, str]:
    out: dict[str, str] = {}
    if props.controller is IngressController.NGINX:
        timeout = str(props.request_timeout_seconds)
        out.update(
            {
                f"{NGINX}/proxy-read-timeout": timeout,
                f"{NGINX}/proxy-send-timeout": timeout,
                f"{NGINX}/proxy-buffering": "off",
                f"{NGINX}/proxy-request-buffering": "off",
                f"{NGINX}/proxy-body-size": props.max_body_size,
            }
        )
        if endpoint.path_prefix:
            out[f"{NGINX}/use-regex"] = "true"
            out[f"{NGINX}/rewrite-target"] = "/$2"
    return {**out, **dict(props.annotations)}


def _ingress(props: InferenceIngressProps, endpoint: IngressEndpoint, facts: ServingFacts, labels: Mapping[str, str]) -> KubeObject:
    backend = {"service": {"name": facts.service_name, "port": {"number": facts.service_port}}}
    if endpoint.path_prefix:
        path: JsonObject = {"path": f"{endpoint.path_prefix}(/|$)(.*)", "pathType": "ImplementationSpecific", "backend": backend}
    else:
        path = {"path": "/", "pathType": "Prefix", "backend": backend}
    rule: JsonObject = {"host": endpoint.host} if endpoint.host else {}
    rule["http"] = {"paths": [path]}
    spec: JsonObject = {"ingressClassName": props.ingress_class_name}
    if endpoint.tls_secret is not None and endpoint.host:
        spec["tls"] = [{"hosts": [endpoint.host], "secretName": str(endpoint.tls_secret)}]
    spec["rules"] = [rule]
    name = endpoint.name or facts.server_name
    return KubeObject(f"Ingress-{name}", "networking.k8s.io/v1", "Ingress", name, labels, {"spec": spec}, _annotations(props, endpoint))


def _check(check: Checker, props: InferenceIngressProps, i: int, endpoint: IngressEndpoint, facts: ServingFacts, namespace: str) -> None:
    where = f"endpoints[{i}]"
    if (facts.namespace or "default") != (namespace or "default"):
        check.fail(
            f"{where}.workload",
            facts.server_name,
            f"is in namespace {facts.namespace or 'default'!r}; an Ingress reaches Services of its own namespace only",
            "workloads in the Ingress's namespace",
            "create the InferenceIngress in a chart of the workload's namespace",
        )
    if endpoint.path_prefix and props.controller is not IngressController.NGINX:
        check.fail(
            f"{where}.path_prefix",
            endpoint.path_prefix,
            "needs the prefix stripped before vLLM (which serves /v1/...), and a generic Ingress cannot rewrite paths",
            "path_prefix with controller=IngressController.NGINX",
            "route by host, use ingress-nginx, or use the InferenceGateway",
        )


def plan_ingress(path: str, namespace: str, props: InferenceIngressProps) -> IngressPlan:
    """Check every endpoint in context and compute its Ingress. Pure: raises ConfigError, creates nothing."""
    check = Checker(path)
    objects: list[KubeObject] = []
    claims: list[str] = []
    for i, endpoint in enumerate(props.endpoints):
        facts = endpoint.workload.serving
        _check(check, props, i, endpoint, facts, namespace)
        claim = f"Ingress {props.ingress_class_name} {endpoint.host or '*'}{endpoint.path_prefix or '/'}"
        if claim in claims:
            check.fail(
                f"endpoints[{i}]",
                claim,
                "routes the same host and path as an earlier endpoint",
                "one endpoint per host and path",
                "give each endpoint its own host or path_prefix",
            )
        claims.append(claim)
        labels = WorkloadLabels(
            name="inference-ingress", instance=endpoint.name or facts.server_name, component="ingress", part_of=props.part_of
        )
        objects.append(_ingress(props, endpoint, facts, labels.labels()))
    return IngressPlan(objects, tuple(claims))
