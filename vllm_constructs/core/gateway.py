"""Inference gateway, pure: one endpoint for many models behind an existing Gateway (Gateway API).

Per serving workload, an ``InferencePool`` that selects exactly its serving pods, with its own endpoint picker
(:mod:`~vllm_constructs.core.picker`); one ``HTTPRoute`` whose rule per model matches the model name (and the names of
its LoRA adapters) in the header the gateway's body-based router sets, and sends the requests to the model's pool,
or to two pools with weights (canary, blue-green); optionally an ``InferenceObjective`` per model (priority) and the
ConfigMaps the payload processor reads to map model and adapter names to base models. Without the Inference
Extension (:attr:`RoutingMode.SERVICE`), the route sends requests to the workloads' Services instead.

The planner reads only :class:`~vllm_constructs.core.serving.ServingFacts`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator

from ..errors import ConfigError
from .gvk import GATEWAY, HTTP_ROUTE, INFERENCE_OBJECTIVE, INFERENCE_POOL
from .lora import LoraFacts
from .objects import KubeObject
from .picker import (
    GATEWAY_LABEL,
    PICKER_GRPC_PORT,
    PICKER_METRICS_PORT,
    EndpointPicker,
    PickerTarget,
    picker_labels,
    picker_objects,
)
from .serving import ServingFacts, ServingWorkload
from .validation import (
    INT32_MAX,
    Checker,
    DnsLabel,
    DnsSubdomain,
    Labels,
    LabelValue,
    dns_subdomain_ok,
    fail,
    in_range,
    problem,
    value_class,
)
from .values import Lax, WorkloadLabels

__all__ = [
    "BASE_MODEL_HEADER",
    "Backend",
    "GatewayNetworkPolicy",
    "GatewayPlan",
    "GatewayRef",
    "InferenceGatewayProps",
    "ModelRoute",
    "RoutingMode",
    "model_names",
    "plan_gateway",
]

JsonObject = dict[str, Any]
BASE_MODEL_HEADER = "X-Gateway-Base-Model-Name"
"""The header the payload processor (body-based router) sets from the request body's model (an adapter maps to its base)."""
MODEL_MAP_LABEL = "inference.llm-d.ai/ipp-managed"
"""Label of the ConfigMaps the payload processor reads (data: baseModel, adapters)."""
MAX_RULES = 16
MAX_MATCHES_PER_RULE = 64
MAX_MATCHES = 128


class RoutingMode(enum.StrEnum):
    """Where the route sends a model's requests."""

    INFERENCE_POOL = "InferencePool"
    """To an InferencePool per workload, whose endpoint picker chooses the pod (needs the Inference Extension)."""
    SERVICE = "Service"
    """To the workloads' Services (a plain Gateway; the Service balances connections)."""


def _section(value: str) -> str:
    if not dns_subdomain_ok(value):
        raise problem("section_name", "is not a listener name", "a DNS-1123 subdomain such as 'https'", "use the listener's name")
    return value


def _duration(value: str) -> str:
    if not re.fullmatch(r"([0-9]{1,5}(h|m|s|ms)){1,4}", value):
        raise problem(
            "duration",
            "is not a Gateway API duration",
            "one to four number-unit pairs with units h, m, s, ms, e.g. '3600s', '1h30m' or '0s' (no timeout)",
            "write e.g. '3600s'",
        )
    return value


def _header(value: str) -> str:
    if len(value) > 256 or not re.fullmatch(r"[A-Za-z0-9!#$%&'*+\-.^_`|~]+", value):
        raise problem("header", "is not an HTTP header name", "letters, digits and !#$%&'*+-.^_`|~", "use e.g. 'X-Gateway-Model-Name'")
    return value


def _hostname(value: str) -> str:
    if len(value) > 253 or not re.fullmatch(r"(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", value):
        raise problem("hostname", "is not a hostname", "a lower-case DNS name, optionally starting with '*.'", "e.g. 'llm.example.com'")
    return value


Duration = Annotated[str, AfterValidator(_duration)]
HeaderName = Annotated[str, AfterValidator(_header)]
Hostname = Annotated[str, AfterValidator(_hostname)]


@value_class(kw_only=True)
class GatewayRef:
    """The existing Gateway the route attaches to (an HTTPRoute parentRef)."""

    name: DnsSubdomain
    """The Gateway's name. No default."""
    namespace: DnsLabel | None = None
    """Its namespace; its listener's allowedRoutes must admit the route's namespace. Default: the route's namespace."""
    section_name: Annotated[str, AfterValidator(_section)] | None = None
    """One listener of the Gateway. Default: every listener that admits the route."""

    def to_json(self) -> JsonObject:
        group = GATEWAY.api_version.split("/")[0]
        ref: JsonObject = {"group": group, "kind": GATEWAY.kind, "name": self.name}
        if self.namespace:
            ref["namespace"] = self.namespace
        if self.section_name:
            ref["sectionName"] = self.section_name
        return ref


@value_class(kw_only=True)
class Backend:
    """One serving workload of a model and the share of its requests."""

    workload: ServingWorkload
    """A VllmServer or RayCluster (anything with ServingFacts). No default."""
    weight: Annotated[int, in_range(0, 1_000_000)] = 1
    """Relative share of the model's requests (0: none, e.g. the idle side of blue-green). Default: 1."""


@value_class(kw_only=True)
class ModelRoute:
    """One model behind the gateway: one workload, or two versions of it with weights. Use :meth:`single`,
    :meth:`canary` or :meth:`blue_green`."""

    backends: tuple[Backend, ...]
    """One or two workloads serving the same model. No default."""
    name: DnsLabel | None = None
    """Name of the model's objects (objective, model map) and route rule. Default: the first workload's server name."""
    priority: Annotated[int, in_range(-(2**31), INT32_MAX)] | None = None
    """An InferenceObjective with this priority for the model's main pool (higher is served first when flow control is
    on); clients pick it with the header x-gateway-inference-objective: <name>. Default: none."""

    def __post_init__(self) -> None:
        if not 1 <= len(self.backends) <= 2:
            fail(
                "backends",
                len(self.backends),
                "is not one or two workloads",
                "one workload, or two versions of one model (canary, blue-green)",
                "use ModelRoute.single, ModelRoute.canary or ModelRoute.blue_green",
            )
        if sum(b.weight for b in self.backends) == 0:
            fail("backends", [b.weight for b in self.backends], "gives every workload weight 0", "a positive weight", "raise one weight")

    @classmethod
    def single(cls, workload: ServingWorkload, *, name: str | None = None, priority: int | None = None) -> ModelRoute:
        """All requests for the model (and its adapters) go to ``workload``."""
        return cls(backends=(Backend(workload=workload),), name=name, priority=priority)

    @classmethod
    def canary(
        cls, stable: ServingWorkload, canary: ServingWorkload, *, percent: int, name: str | None = None, priority: int | None = None
    ) -> ModelRoute:
        """``percent`` of the model's requests go to ``canary``, the rest to ``stable``."""
        if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
            raise ConfigError(
                path="ModelRoute.canary",
                field="percent",
                value=percent,
                problem="is not a percentage",
                allowed="an integer from 0 to 100",
                fix="e.g. percent=10",
            )
        backends = (Backend(workload=stable, weight=100 - percent), Backend(workload=canary, weight=percent))
        return cls(backends=backends, name=name, priority=priority)

    @classmethod
    def blue_green(
        cls,
        blue: ServingWorkload,
        green: ServingWorkload,
        *,
        active: Literal["blue", "green"] = "blue",
        name: str | None = None,
        priority: int | None = None,
    ) -> ModelRoute:
        """Every request goes to the ``active`` side; switching is one change of ``active`` (the other side stays up)."""
        if active not in ("blue", "green"):
            raise ConfigError(
                path="ModelRoute.blue_green",
                field="active",
                value=active,
                problem="is neither side",
                allowed="'blue' or 'green'",
                fix="pick the side that takes the traffic",
            )
        weights = (100, 0) if active == "blue" else (0, 100)
        backends = (Backend(workload=blue, weight=weights[0]), Backend(workload=green, weight=weights[1]))
        return cls(backends=backends, name=name, priority=priority)


@value_class(kw_only=True)
class GatewayNetworkPolicy:
    """NetworkPolicies for the pools (InferencePool mode): the pickers admit only the gateway (ext_proc) and the
    scrapers; the serving pods admit their picker (it reads /metrics), the gateway and the scrapers on the serving
    port. They add up with a server's own NetworkPolicy; a server without one becomes reachable only from these."""

    gateway_namespaces: Labels
    """Labels of the namespaces the gateway's proxies run in, e.g. {'kubernetes.io/metadata.name': 'gateway-system'}."""
    metrics_namespaces: Labels | None = None
    """Labels of the namespaces allowed to scrape the pickers and the servers. Default: none."""


@value_class(kw_only=True)
class InferenceGatewayProps:
    """Props of :class:`~vllm_constructs.InferenceGateway`. ``name``, ``gateway`` and ``models`` are required."""

    name: DnsLabel
    """Name of the HTTPRoute (and label of every object). No default."""
    gateway: GatewayRef
    """The existing Gateway to attach to. No default."""
    models: tuple[ModelRoute, ...]
    """The models behind the gateway, one route rule each (at most 16). No default."""
    mode: Annotated[RoutingMode, Lax] = RoutingMode.INFERENCE_POOL
    """Default: InferencePool (model-aware endpoint picking; needs the Inference Extension CRDs and a Gateway that
    supports InferencePool backends)."""
    picker: EndpointPicker = field(default_factory=EndpointPicker)
    """Endpoint picker of every pool (InferencePool mode). Default: see EndpointPicker."""
    request_timeout: Duration = "3600s"
    """Longest request, including a streamed generation ('0s': none). Default: 3600s (300 s cuts long reasoning streams)."""
    model_header: HeaderName = BASE_MODEL_HEADER
    """Header matched against model and adapter names. Default: X-Gateway-Base-Model-Name (set by the payload processor)."""
    hostnames: tuple[Annotated[str, AfterValidator(_hostname)], ...] = ()
    """Host names the route answers. Default: every host of the Gateway's listeners."""
    model_maps: bool = True
    """Emit the payload processor's model maps (one ConfigMap per model: base model and adapter names). Default: True."""
    network_policy: GatewayNetworkPolicy | None = None
    """NetworkPolicies for the pickers and the serving pods' gateway side (InferencePool mode). Default: none."""
    part_of: LabelValue = "vllm"
    """app.kubernetes.io/part-of. Default: vllm."""

    def __post_init__(self) -> None:
        if not 1 <= len(self.models) <= MAX_RULES:
            fail(
                "models",
                len(self.models),
                f"is not 1 to {MAX_RULES} models; an HTTPRoute holds at most {MAX_RULES} rules",
                f"1 to {MAX_RULES} models",
                "split the models over several InferenceGateways",
            )


@dataclass(frozen=True, slots=True)
class PlannedRoute:
    """One model's rule: its name, the names it matches, and its backends (pool or Service name, weight)."""

    name: str
    model: str
    adapters: tuple[str, ...]
    backends: tuple[tuple[str, int], ...]


@dataclass(slots=True)
class GatewayPlan:
    """Every object of one InferenceGateway, and what it routes."""

    objects: list[KubeObject]
    routes: list[PlannedRoute]
    pools: dict[str, str] = field(default_factory=dict)
    """Pool name by server name (InferencePool mode)."""
    namespace: str = ""

    @property
    def claims(self) -> tuple[str, ...]:
        """Model names this gateway claims (for the App-wide check that no two gateways route one model)."""
        return tuple(name for r in self.routes for name in (r.model, *r.adapters))


def model_names(facts: ServingFacts) -> tuple[str, tuple[str, ...]]:
    """The served model name and the names of the adapters the workload loads at start."""
    lora = facts.extras.get("lora")
    return facts.served_model_name, lora.adapters if isinstance(lora, LoraFacts) else ()


def _same_namespace(namespace: str, facts: ServingFacts) -> bool:
    return (facts.namespace or "default") == (namespace or "default")


def _check_workload(check: Checker, where: str, facts: ServingFacts, namespace: str, mode: RoutingMode) -> None:
    if not facts.served_model_name:
        check.fail(
            where,
            facts.server_name,
            "is not a vLLM server (it serves no model name)",
            "a VllmServer or RayCluster",
            "put the vLLM server behind the gateway",
        )
    if not _same_namespace(namespace, facts):
        check.fail(
            where,
            facts.server_name,
            f"is in namespace {facts.namespace or 'default'!r}, the gateway in {namespace or 'default'!r}; "
            "a pool selects pods of its own namespace only, and a route needs a ReferenceGrant to reach across",
            "workloads in the gateway's namespace",
            "create the InferenceGateway in a chart of the workloads' namespace",
        )
    selector, pod = dict(facts.selector_labels), dict(facts.pod_labels)
    if mode is RoutingMode.INFERENCE_POOL and len(facts.server_name) > 59:
        check.fail(where, facts.server_name, "is too long to name its endpoint picker '<name>-epp'", "at most 59 characters", "shorten it")
    if mode is RoutingMode.INFERENCE_POOL and (
        not selector or any(pod.get(k) != v for k, v in selector.items()) or selector.get("app.kubernetes.io/component") == "worker"
    ):
        check.fail(
            where,
            facts.server_name,
            f"has a selector ({selector}) that does not select exactly its serving pods (e.g. a Ray worker group)",
            "the serving pods' selector (ServingFacts.selector_labels within pod_labels)",
            "put the serving workload itself behind the gateway",
        )


def _check_pair(check: Checker, where: str, first: ServingFacts, second: ServingFacts) -> None:
    """Two versions behind one model: same model name, adapters and port; two distinct workloads."""
    for what, a, b in (
        ("served model name", first.served_model_name, second.served_model_name),
        ("adapters", model_names(first)[1], model_names(second)[1]),
        ("serving port", first.port.port, second.port.port),
    ):
        if a != b:
            check.fail(
                where,
                second.server_name,
                f"has another {what} ({b!r}) than {first.server_name} ({a!r}); both versions must answer the same requests",
                f"two workloads with the same {what}",
                f"give {second.server_name} the same {what}",
            )


def _workloads(check: Checker, props: InferenceGatewayProps, namespace: str) -> list[list[ServingFacts]]:
    seen: dict[str, str] = {}
    out: list[list[ServingFacts]] = []
    for i, route in enumerate(props.models):
        facts = [b.workload.serving for b in route.backends]
        for j, f in enumerate(facts):
            where = f"models[{i}].backends[{j}].workload"
            _check_workload(check, where, f, namespace, props.mode)
            if f.server_name in seen:
                check.fail(
                    where,
                    f.server_name,
                    f"is behind the gateway already ({seen[f.server_name]})",
                    "each workload once",
                    "remove the repeat",
                )
            seen[f.server_name] = where
        if len(facts) == 2:
            _check_pair(check, f"models[{i}].backends[1].workload", facts[0], facts[1])
        out.append(facts)
    _check_selectors(check, [f for group in out for f in group], props.mode)
    return out


def _check_selectors(check: Checker, facts: Sequence[ServingFacts], mode: RoutingMode) -> None:
    """No pool may select another workload's pods."""
    if mode is not RoutingMode.INFERENCE_POOL:
        return
    for a in facts:
        for b in facts:
            if a is not b and all(b.pod_labels.get(k) == v for k, v in a.selector_labels.items()):
                check.fail(
                    "models",
                    a.server_name,
                    f"has a selector that also selects the pods of {b.server_name}, so its pool would mix two models or versions",
                    "selectors that select one workload's pods",
                    "give the workloads distinct names",
                )


def _check_names(check: Checker, props: InferenceGatewayProps, groups: list[list[ServingFacts]]) -> None:
    """Model and adapter names are unique behind one gateway, and fit the route's match limits."""
    owner: dict[str, int] = {}
    total = 0
    for i, facts in enumerate(groups):
        model, adapters = model_names(facts[0])
        names = (model, *adapters)
        for name in names:
            if name in owner:
                check.fail(
                    f"models[{i}]",
                    name,
                    f"is also served by models[{owner[name]}]; the gateway could not tell their requests apart",
                    "model and adapter names unique behind one gateway",
                    "rename the model (engine.served_model_name) or the adapter",
                )
            owner[name] = i
        if len(names) > MAX_MATCHES_PER_RULE:
            check.fail(
                f"models[{i}]",
                len(names),
                f"names more than {MAX_MATCHES_PER_RULE} models and adapters; a route rule holds at most {MAX_MATCHES_PER_RULE} matches",
                f"at most {MAX_MATCHES_PER_RULE - 1} adapters per model",
                "load the rest at runtime, or serve them from a second workload",
            )
        total += len(names)
    if total >= MAX_MATCHES:
        check.fail(
            "models",
            total,
            f"are {total} model and adapter names; an HTTPRoute matches fewer than {MAX_MATCHES} in all",
            f"fewer than {MAX_MATCHES} names per gateway",
            "split the models over several InferenceGateways",
        )


def _check_route_names(check: Checker, props: InferenceGatewayProps, groups: list[list[ServingFacts]]) -> None:
    """Route names are unique: each names an HTTPRoute rule (and the model's objective and model map)."""
    first: dict[str, int] = {}
    for i, (route, facts) in enumerate(zip(props.models, groups, strict=True)):
        name = _route_name(route, facts)
        if name in first:
            check.fail(
                f"models[{i}].name",
                name,
                f"is also the route name of models[{first[name]}]; an HTTPRoute's rule names must be unique",
                "one route name per model behind a gateway",
                "give one of the routes its own name (ModelRoute.single(..., name='...'))",
            )
        first.setdefault(name, i)


def _route_name(route: ModelRoute, facts: Sequence[ServingFacts]) -> str:
    return route.name or facts[0].server_name


def _labels(props: InferenceGatewayProps, component: str) -> dict[str, str]:
    labels = WorkloadLabels(name="inference-gateway", instance=props.name, component=component, part_of=props.part_of)
    return {**labels.labels(), GATEWAY_LABEL: props.name}


def _pool(props: InferenceGatewayProps, facts: ServingFacts, labels: Mapping[str, str]) -> KubeObject:
    spec = {
        "selector": {"matchLabels": dict(facts.selector_labels)},
        "targetPorts": [{"number": facts.port.port}],
        "endpointPickerRef": {
            "kind": "Service",
            "name": f"{facts.server_name}-epp",
            "port": {"number": PICKER_GRPC_PORT},
            "failureMode": str(props.picker.failure_mode),
        },
    }
    return KubeObject(
        f"Pool-{facts.server_name}", INFERENCE_POOL.api_version, INFERENCE_POOL.kind, facts.server_name, labels, {"spec": spec}
    )


def _backend_ref(mode: RoutingMode, facts: ServingFacts, weight: int | None) -> JsonObject:
    if mode is RoutingMode.INFERENCE_POOL:
        ref: JsonObject = {"group": INFERENCE_POOL.api_version.split("/")[0], "kind": INFERENCE_POOL.kind, "name": facts.server_name}
    else:
        ref = {"kind": "Service", "name": facts.service_name, "port": facts.service_port}
    if weight is not None:
        ref["weight"] = weight
    return ref


def _rule(props: InferenceGatewayProps, route: PlannedRoute, refs: list[JsonObject]) -> JsonObject:
    matches = [{"headers": [{"type": "Exact", "name": props.model_header, "value": name}]} for name in (route.model, *route.adapters)]
    return {"name": route.name, "matches": matches, "backendRefs": refs, "timeouts": {"request": props.request_timeout}}


def _model_map(props: InferenceGatewayProps, route: PlannedRoute) -> KubeObject:
    labels = {**_labels(props, "model-map"), MODEL_MAP_LABEL: "true"}
    data = {"baseModel": route.model}
    if route.adapters:
        data["adapters"] = yaml.safe_dump(list(route.adapters), default_flow_style=False)
    return KubeObject(f"ModelMap-{route.name}", "v1", "ConfigMap", f"{props.name}-{route.name}-model-map", labels, {"data": data})


def _objective(route: PlannedRoute, priority: int, pool: str, labels: Mapping[str, str]) -> KubeObject:
    pool_ref = {"group": INFERENCE_POOL.api_version.split("/")[0], "kind": INFERENCE_POOL.kind, "name": pool}
    spec = {"priority": priority, "poolRef": pool_ref}
    return KubeObject(
        f"Objective-{route.name}", INFERENCE_OBJECTIVE.api_version, INFERENCE_OBJECTIVE.kind, route.name, labels, {"spec": spec}
    )


def _namespaces(labels: Mapping[str, str]) -> JsonObject:
    return {"namespaceSelector": {"matchLabels": dict(labels)}}


def _network_policies(np: GatewayNetworkPolicy, facts: ServingFacts, target: PickerTarget, picker: WorkloadLabels) -> list[KubeObject]:
    """The picker admits the gateway on gRPC and the scrapers on metrics; the serving pods admit the picker, the
    gateway and the scrapers on the serving port."""
    pods = {"matchLabels": picker.selector}
    scrapers = [_namespaces(np.metrics_namespaces)] if np.metrics_namespaces is not None else []
    grpc = {"from": [_namespaces(np.gateway_namespaces)], "ports": [{"protocol": "TCP", "port": PICKER_GRPC_PORT}]}
    picker_in = [grpc] + ([{"from": scrapers, "ports": [{"protocol": "TCP", "port": PICKER_METRICS_PORT}]}] if scrapers else [])
    picker_spec = {"podSelector": pods, "policyTypes": ["Ingress"], "ingress": picker_in}
    peers = [{"podSelector": pods}, _namespaces(np.gateway_namespaces), *scrapers]
    serving_in = [{"from": peers, "ports": [{"protocol": "TCP", "port": facts.port.port}]}]
    serving_spec = {"podSelector": {"matchLabels": dict(facts.selector_labels)}, "policyTypes": ["Ingress"], "ingress": serving_in}
    labels = {**picker.labels(), GATEWAY_LABEL: target.owner}
    s = target.id_suffix
    return [
        KubeObject(f"PickerNetworkPolicy{s}", "networking.k8s.io/v1", "NetworkPolicy", target.name, labels, {"spec": picker_spec}),
        KubeObject(
            f"PoolNetworkPolicy{s}", "networking.k8s.io/v1", "NetworkPolicy", f"{target.pool}-from-gateway", labels, {"spec": serving_spec}
        ),
    ]


def _pool_objects(props: InferenceGatewayProps, namespace: str, facts: ServingFacts) -> list[KubeObject]:
    lora = isinstance(facts.extras.get("lora"), LoraFacts)
    target = PickerTarget(facts.server_name, namespace, lora, props.part_of, props.name, f"-{facts.server_name}")
    out = [_pool(props, facts, _labels(props, "inference-pool")), *picker_objects(props.picker, target)]
    if props.network_policy is not None:
        out += _network_policies(props.network_policy, facts, target, picker_labels(target, props.picker.image))
    return out


def plan_gateway(path: str, namespace: str, props: InferenceGatewayProps) -> GatewayPlan:
    """Check every model in context and compute every object. Pure: raises ConfigError, creates nothing."""
    check = Checker(path)
    pools = props.mode is RoutingMode.INFERENCE_POOL
    if pools and not namespace:
        check.fail(
            "namespace",
            "",
            "is not set; the picker's flags and RoleBinding must name the pool's namespace",
            "a chart with a namespace",
            "create the chart with namespace='...'",
        )
    groups = _workloads(check, props, namespace)
    _check_names(check, props, groups)
    _check_route_names(check, props, groups)
    objects: list[KubeObject] = []
    routes: list[PlannedRoute] = []
    rules: list[JsonObject] = []
    plan = GatewayPlan(objects, routes, namespace=namespace)
    for route, facts in zip(props.models, groups, strict=True):
        model, adapters = model_names(facts[0])
        weights = [b.weight for b in route.backends] if len(facts) == 2 else [None]
        names = [f.server_name if pools else f.service_name for f in facts]
        planned = PlannedRoute(
            _route_name(route, facts), model, adapters, tuple((n, w if w is not None else 1) for n, w in zip(names, weights, strict=True))
        )
        routes.append(planned)
        rules.append(_rule(props, planned, [_backend_ref(props.mode, f, w) for f, w in zip(facts, weights, strict=True)]))
        if pools:
            for f in facts:
                objects += _pool_objects(props, namespace, f)
                plan.pools[f.server_name] = f.server_name
            if route.priority is not None:
                main = max(range(len(facts)), key=lambda k: (route.backends[k].weight, -k))
                objects.append(_objective(planned, route.priority, facts[main].server_name, _labels(props, "objective")))
        if props.model_maps:
            objects.append(_model_map(props, planned))
    spec: JsonObject = {"parentRefs": [props.gateway.to_json()]}
    if props.hostnames:
        spec["hostnames"] = list(props.hostnames)
    spec["rules"] = rules
    objects.append(KubeObject("Route", HTTP_ROUTE.api_version, HTTP_ROUTE.kind, props.name, _labels(props, "route"), {"spec": spec}))
    return plan
