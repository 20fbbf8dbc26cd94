"""InferenceGateway: pools, endpoint pickers, the route, objectives and model maps; canary and blue-green; Service mode.

Most tests plan purely (plan_server, plan_cluster, plan_gateway) and check what would be applied as a whole: every
object valid against its schema, and the invariants that no schema can express (a pool selects exactly one
workload's serving pods and targets its port, a picker serves its own pool and is reachable through the pool's
reference, every backend exists, weights are as declared, RBAC has no wildcard, the picker config uses only known
plugins). The construct tests check the App-wide rules (two gateways, one model) and that a refused gateway adds
nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cdk8s
import pytest
import yaml

from tests.conftest import chart_objects
from tests.schemas import K8S_VERSIONS, crd_errors, is_builtin, k8s_errors
from vllm_constructs import (
    ConfigError,
    EndpointPicker,
    EndpointPickerConfig,
    EngineArgs,
    GatewayNetworkPolicy,
    GatewayRef,
    Image,
    InferenceGateway,
    InferenceGatewayProps,
    LoraAdapter,
    LoraOptions,
    ModelRoute,
    ModelSource,
    MultiNodeBackend,
    ObservabilityProps,
    RayClusterProps,
    Resources,
    RoutingMode,
    Scorer,
    VllmServer,
    VllmServerProps,
    WeightedScorer,
)
from vllm_constructs.core.cluster import plan_cluster
from vllm_constructs.core.gateway import GatewayPlan, plan_gateway
from vllm_constructs.core.gvk import ENDPOINT_PICKER_CONFIG, HTTP_ROUTE, INFERENCE_OBJECTIVE, INFERENCE_POOL
from vllm_constructs.core.observability import plan_observability
from vllm_constructs.core.server import ServerPlan, plan_server
from vllm_constructs.core.serving import ServingFacts

NS = "llm"
QWEN = "Qwen/Qwen3-8B"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
GATEWAY = GatewayRef(name="inference-gateway", namespace="gateway-system")
Doc = dict[str, Any]


def server(name: str, *, model: str = QWEN, lora: LoraOptions | None = None, namespace: str = NS, **kw: Any) -> ServerPlan:
    props = VllmServerProps(
        name=name,
        model=ModelSource.huggingface(model, revision=COMMIT),
        resources=Resources(cpu="4", memory="32Gi", accelerators=1),
        lora=lora,
        **kw,
    )
    return plan_server(f"test/{name}", namespace, props)


def adapters(*names: str) -> LoraOptions:
    return LoraOptions(adapters=tuple(LoraAdapter.huggingface(n, f"org/{n}", revision=COMMIT, rank=16) for n in names))


def cluster(name: str) -> Any:
    props = RayClusterProps(
        name=name,
        model=ModelSource.huggingface("meta-llama/Llama-3.1-70B-Instruct", revision=COMMIT),
        engine=EngineArgs(tensor_parallel_size=2),
        resources=Resources(cpu="8", memory="64Gi"),
        nodes=2,
        accelerators_per_node=1,
        backend=MultiNodeBackend.LWS,
    )
    return plan_cluster(f"test/{name}", NS, props)


@dataclasses.dataclass
class Scene:
    """Workloads and a gateway, and every manifest they would apply."""

    workloads: dict[str, Any]
    plan: GatewayPlan
    docs: list[Doc]

    def of(self, kind: str) -> list[Doc]:
        return [d for d in self.docs if d["kind"] == kind]

    def named(self, kind: str, name: str) -> Doc:
        (doc,) = [d for d in self.of(kind) if d["metadata"]["name"] == name]
        return doc


def scene(mode: RoutingMode = RoutingMode.INFERENCE_POOL, **props: Any) -> Scene:
    """Two versions of Qwen with two adapters (canary 10%), Llama 8B, and a multi-node LWS cluster behind one gateway."""
    blue = server("qwen-blue", lora=adapters("sql", "support"))
    green = server("qwen-green", lora=adapters("sql", "support"), image=Image("vllm/vllm-openai", tag="v0.34.0"))
    llama = server("llama", model="meta-llama/Llama-3.1-8B-Instruct")
    big = cluster("llama-70b")
    models = (
        ModelRoute.canary(blue, green, percent=10, name="qwen", priority=10),
        ModelRoute.single(llama),
        ModelRoute.single(big),
    )
    gateway = InferenceGatewayProps(**{"name": "models", "gateway": GATEWAY, "models": models, "mode": mode, **props})
    plan = plan_gateway("test/gw", NS, gateway)
    workloads = {"qwen-blue": blue, "qwen-green": green, "llama": llama, "llama-70b": big}
    docs = [o.manifest(NS) for w in workloads.values() for o in w.objects] + [o.manifest(NS) for o in plan.objects]
    return Scene(workloads, plan, docs)


def pod_templates(docs: list[Doc]) -> list[tuple[str, Doc]]:
    """Every pod template that would run: (owner/role, template)."""
    out: list[tuple[str, Doc]] = []
    for d in docs:
        name, spec = f"{d['kind']}/{d['metadata']['name']}", d.get("spec", {})
        if d["kind"] in ("Deployment", "Job"):
            out.append((name, spec["template"]))
        elif d["kind"] == "LeaderWorkerSet":
            out += [(f"{name}/leader", spec["leaderWorkerTemplate"]["leaderTemplate"])]
            out += [(f"{name}/worker", spec["leaderWorkerTemplate"]["workerTemplate"])]
    return out


def selects(selector: dict[str, str], template: Doc) -> bool:
    labels = template["metadata"].get("labels", {})
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.fixture(scope="module")
def full() -> Scene:
    return scene()


# ---------------------------------------------------------------- schemas


def test_every_custom_resource_validates_against_its_crd(crd_dir: Path) -> None:
    for s in (scene(), scene(RoutingMode.SERVICE, hostnames=("llm.example.com",))):
        custom = [d for d in s.docs if not is_builtin(d)]
        assert {d["kind"] for d in custom} >= {"HTTPRoute"}
        failures = {f"{d['kind']}/{d['metadata']['name']}": crd_errors(d, crd_dir) for d in custom}
        assert {k: v for k, v in failures.items() if v} == {}
    kinds = {d["kind"] for d in scene().docs}
    assert {INFERENCE_POOL.kind, INFERENCE_OBJECTIVE.kind, HTTP_ROUTE.kind} <= kinds


def test_the_crd_schema_check_catches_a_wrong_field(crd_dir: Path, full: Scene) -> None:
    """A control: the schema check above would see a typo (the v1alpha2 field name) or a missing required field."""
    pool = dict(full.named("InferencePool", "llama"))
    pool["spec"] = {**pool["spec"], "targetPortNumber": 8000}
    assert any("targetPortNumber" in e for e in crd_errors(pool, crd_dir))
    objective = full.named("InferenceObjective", "qwen")
    assert crd_errors({**objective, "spec": {"priority": 1}}, crd_dir)


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_every_builtin_object_validates_strictly(version: str) -> None:
    docs = scene(picker=EndpointPicker(replicas=2, metrics_auth=True)).docs
    builtin = [d for d in docs if is_builtin(d)]
    assert {"Deployment", "Service", "ConfigMap", "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"} <= {
        d["kind"] for d in builtin
    }
    failures = {f"{d['kind']}/{d['metadata']['name']}": k8s_errors(d, version) for d in builtin}
    assert {k: v for k, v in failures.items() if v} == {}


# ---------------------------------------------------------------- pools


def test_each_pool_selects_exactly_its_workloads_serving_pods_and_targets_its_port(full: Scene) -> None:
    templates = pod_templates(full.docs)
    expected = {
        "qwen-blue": ["Deployment/qwen-blue"],
        "qwen-green": ["Deployment/qwen-green"],
        "llama": ["Deployment/llama"],
        "llama-70b": ["LeaderWorkerSet/llama-70b/leader"],  # never the Ray workers
    }
    pools = full.of("InferencePool")
    assert sorted(p["metadata"]["name"] for p in pools) == sorted(expected)
    for pool in pools:
        name = pool["metadata"]["name"]
        assert pool["metadata"]["namespace"] == NS
        selector = pool["spec"]["selector"]["matchLabels"]
        assert [owner for owner, t in templates if selects(selector, t)] == expected[name]
        serving = next(t for owner, t in templates if owner == expected[name][0])
        (container,) = [c for c in serving["spec"]["containers"] if c["name"] == "vllm"]
        http = next(p["containerPort"] for p in container["ports"] if p["name"] == "http")
        assert pool["spec"]["targetPorts"] == [{"number": http}]
        assert full.workloads[name].serving.port.port == http


def test_pool_targets_a_custom_serving_port() -> None:
    srv = server("qwen", port=9000)
    plan = plan_gateway("test/gw", NS, InferenceGatewayProps(name="r", gateway=GATEWAY, models=(ModelRoute.single(srv),)))
    (pool,) = [o for o in plan.objects if o.kind == "InferencePool"]
    assert pool.body["spec"]["targetPorts"] == [{"number": 9000}]


def test_each_picker_is_started_for_its_own_pool_and_reachable_through_the_pools_reference(full: Scene) -> None:
    for pool in full.of("InferencePool"):
        name = pool["metadata"]["name"]
        ref = pool["spec"]["endpointPickerRef"]
        assert ref["kind"] == "Service" and ref["failureMode"] == "FailOpen"
        service = full.named("Service", ref["name"])
        (port,) = [p for p in service["spec"]["ports"] if p["port"] == ref["port"]["number"]]
        pickers = [t for owner, t in pod_templates(full.docs) if selects(service["spec"]["selector"], t)]
        assert len(pickers) == 1, "the picker Service selects exactly one picker Deployment"
        (container,) = pickers[0]["spec"]["containers"]
        named = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert named[port["targetPort"]] == 9002
        args = container["args"]
        flag = {args[i]: args[i + 1] for i in range(len(args) - 1) if args[i].startswith("--") and not args[i + 1].startswith("--")}
        assert flag["--pool-name"] == name
        assert flag["--pool-namespace"] == NS
        assert flag["--pool-group"] == "inference.networking.k8s.io"
        assert flag["--grpc-port"] == "9002" and flag["--grpc-health-port"] == "9003" and flag["--metrics-port"] == "9090"
        config = full.named("ConfigMap", f"{name}-epp")
        assert flag["--config-file"] == "/config/" + next(iter(config["data"]))
        volume = next(v for v in pickers[0]["spec"]["volumes"] if v["name"] == "config")
        assert volume["configMap"]["name"] == config["metadata"]["name"]
        assert pickers[0]["spec"]["serviceAccountName"] == f"{name}-epp"


def test_picker_pod_is_hardened_with_grpc_probes(full: Scene) -> None:
    picker = full.named("Deployment", "llama-epp")
    pod = picker["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "ghcr.io/llm-d/llm-d-router-endpoint-picker:v0.10.0"
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]}
    assert container["resources"]["requests"] == container["resources"]["limits"]
    assert container["livenessProbe"]["grpc"] == {"port": 9003, "service": "liveness"}
    assert container["readinessProbe"]["grpc"] == {"port": 9003, "service": "readiness"}
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert pod["automountServiceAccountToken"] is True  # the picker reads pods and its pool
    assert "--ha-enable-leader-election" not in container["args"]
    assert picker["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}


def test_picker_options_reach_the_flags() -> None:
    picker = EndpointPicker(replicas=2, secure_serving=False, log_verbosity=3, failure_mode="FailClose")
    s = scene(picker=picker)
    deployment = s.named("Deployment", "llama-epp")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert {"--secure-serving=false", "--ha-enable-leader-election", "--v=3", "--metrics-endpoint-auth=false", "--tracing=false"} <= set(
        args
    )
    assert deployment["spec"]["replicas"] == 2 and deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert s.named("InferencePool", "llama")["spec"]["endpointPickerRef"]["failureMode"] == "FailClose"


# ---------------------------------------------------------------- RBAC


def test_rbac_is_least_privilege_without_wildcards() -> None:
    def rules(s: Scene) -> dict[str, list[Doc]]:
        return {d["metadata"]["name"]: d["rules"] for d in s.docs if d["kind"] in ("Role", "ClusterRole")}

    one = rules(scene())
    assert sorted(one) == ["llama-70b-epp", "llama-epp", "qwen-blue-epp", "qwen-green-epp"]
    for rule_list in one.values():
        assert rule_list == [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["inference.networking.k8s.io"], "resources": ["inferencepools"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["llm-d.ai"], "resources": ["inferenceobjectives", "inferencemodelrewrites"], "verbs": ["get", "list", "watch"]},
        ]
    ha = rules(scene(picker=EndpointPicker(replicas=3, metrics_auth=True)))
    assert ha["llama-epp"][3:] == [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
    ]
    assert ha["llm-llama-epp-metrics-auth"] == [
        {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
        {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]},
    ]
    for rule_list in (*one.values(), *ha.values()):
        for rule in rule_list:
            assert "*" not in {*rule["apiGroups"], *rule["resources"], *rule["verbs"]}
            assert "nonResourceURLs" not in rule and "resourceNames" not in rule


def test_role_bindings_bind_each_pickers_account_to_its_role(full: Scene) -> None:
    for binding in full.of("RoleBinding"):
        name = binding["metadata"]["name"]
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": name, "namespace": NS}]
        assert full.named("ServiceAccount", name)


# ---------------------------------------------------------------- picker config

KNOWN_PLUGINS = {
    "queue-scorer",
    "kv-cache-utilization-scorer",
    "prefix-cache-scorer",
    "lora-affinity-scorer",
    "metrics-data-source",
    "core-metrics-extractor",
}
METRICS_SOURCE_PARAMETERS = {"scheme", "path", "insecureSkipVerify", "port", "interval", "families"}


def picker_config(s: Scene, pool: str) -> Doc:
    (text,) = s.named("ConfigMap", f"{pool}-epp")["data"].values()
    doc: Doc = yaml.safe_load(text)
    return doc


def test_endpoint_picker_config_parses_and_uses_only_known_plugins(full: Scene) -> None:
    for pool in full.plan.pools:
        doc = picker_config(full, pool)
        assert (doc["apiVersion"], doc["kind"]) == (ENDPOINT_PICKER_CONFIG.api_version, ENDPOINT_PICKER_CONFIG.kind)
        assert set(doc) <= {"apiVersion", "kind", "featureGates", "plugins", "schedulingProfiles"}
        names = {p.get("name", p["type"]) for p in doc["plugins"]}
        assert {p["type"] for p in doc["plugins"]} <= KNOWN_PLUGINS
        for plugin in doc["plugins"]:
            assert set(plugin) <= {"name", "type", "parameters"}
            if plugin["type"] == "metrics-data-source":
                assert set(plugin["parameters"]) <= METRICS_SOURCE_PARAMETERS
        (profile,) = doc["schedulingProfiles"]
        assert all(ref["pluginRef"] in names and ref["weight"] > 0 for ref in profile["plugins"])
        lora = "lora-affinity-scorer" in {ref["pluginRef"] for ref in profile["plugins"]}
        assert lora == pool.startswith("qwen"), "the LoRA affinity scorer only where adapters are served"
    assert [(r["pluginRef"], r["weight"]) for r in picker_config(full, "llama")["schedulingProfiles"][0]["plugins"]] == [
        ("queue-scorer", 2),
        ("kv-cache-utilization-scorer", 2),
        ("prefix-cache-scorer", 3),
    ]


def test_picker_config_is_typed() -> None:
    config = EndpointPickerConfig(scorers=(WeightedScorer(Scorer.QUEUE, 5), WeightedScorer("prefix-cache-scorer", 1)), flow_control=True)
    doc = scene(picker=EndpointPicker(config=config))
    parsed = picker_config(doc, "llama")
    assert parsed["featureGates"] == ["flowControl"]
    assert [(r["pluginRef"], r["weight"]) for r in parsed["schedulingProfiles"][0]["plugins"]] == [
        ("queue-scorer", 5),
        ("prefix-cache-scorer", 1),
    ]
    with pytest.raises(ConfigError, match=r"is not one of the allowed values"):
        WeightedScorer("random-scorer", 1)
    with pytest.raises(ConfigError, match=r"is listed twice"):
        EndpointPickerConfig(scorers=(WeightedScorer(Scorer.QUEUE), WeightedScorer(Scorer.QUEUE, 2)))


# ---------------------------------------------------------------- route


def route(s: Scene) -> Doc:
    (doc,) = s.of("HTTPRoute")
    return doc


def test_every_route_backend_exists(full: Scene) -> None:
    for rule in route(full)["spec"]["rules"]:
        for ref in rule["backendRefs"]:
            assert (ref["group"], ref["kind"]) == ("inference.networking.k8s.io", "InferencePool")
            assert full.named("InferencePool", ref["name"])
    service_mode = scene(RoutingMode.SERVICE)
    assert not service_mode.of("InferencePool") and not [d for d in service_mode.docs if d["metadata"]["name"].endswith("-epp")]
    for rule in route(service_mode)["spec"]["rules"]:
        for ref in rule["backendRefs"]:
            assert ref["kind"] == "Service" and "group" not in ref
            service = service_mode.named("Service", ref["name"])
            assert ref["port"] in [p["port"] for p in service["spec"]["ports"]]


def test_rules_match_model_and_adapter_names_and_send_them_to_the_base_models_pools(full: Scene) -> None:
    spec = route(full)["spec"]
    assert spec["parentRefs"] == [
        {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "inference-gateway", "namespace": "gateway-system"}
    ]
    by_rule = {r["name"]: r for r in spec["rules"]}
    assert list(by_rule) == ["qwen", "llama", "llama-70b"]
    headers = [m["headers"] for m in by_rule["qwen"]["matches"]]
    assert headers == [[{"type": "Exact", "name": "X-Gateway-Base-Model-Name", "value": v}] for v in (QWEN, "sql", "support")]
    assert [r["name"] for r in by_rule["qwen"]["backendRefs"]] == ["qwen-blue", "qwen-green"]
    assert all(r["timeouts"] == {"request": "3600s"} for r in spec["rules"])
    total = sum(len(r["matches"]) for r in spec["rules"])
    assert len(spec["rules"]) <= 16 and all(len(r["matches"]) <= 64 for r in spec["rules"]) and total <= 128


def test_weights_are_as_declared() -> None:
    blue, green = server("qwen-blue"), server("qwen-green")

    def weights(model: ModelRoute) -> list[int | None]:
        plan = plan_gateway("t/gw", NS, InferenceGatewayProps(name="r", gateway=GATEWAY, models=(model,)))
        (rt,) = [o for o in plan.objects if o.kind == "HTTPRoute"]
        return [ref.get("weight") for ref in rt.body["spec"]["rules"][0]["backendRefs"]]

    for percent in (0, 1, 10, 50, 99, 100):
        got = weights(ModelRoute.canary(blue, green, percent=percent))
        assert got == [100 - percent, percent] and sum(w or 0 for w in got) == 100
    assert weights(ModelRoute.blue_green(blue, green)) == [100, 0]
    assert weights(ModelRoute.blue_green(blue, green, active="green")) == [0, 100]
    assert weights(ModelRoute.single(blue)) == [None]  # the API default: all of it
    with pytest.raises(ConfigError, match=r"percent=101 is not a percentage"):
        ModelRoute.canary(blue, green, percent=101)
    with pytest.raises(ConfigError, match=r"active='purple' is neither side"):
        ModelRoute.blue_green(blue, green, active="purple")  # type: ignore[arg-type]


def test_route_options_timeout_header_hostnames_and_section() -> None:
    gw = GatewayRef(name="gw", section_name="https")
    s = scene(request_timeout="0s", model_header="X-Gateway-Model-Name", hostnames=("llm.example.com",), gateway=gw)
    spec = route(s)["spec"]
    assert spec["parentRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gw", "sectionName": "https"}]
    assert spec["hostnames"] == ["llm.example.com"]
    assert {r["timeouts"]["request"] for r in spec["rules"]} == {"0s"}
    assert {h["name"] for r in spec["rules"] for m in r["matches"] for h in m["headers"]} == {"X-Gateway-Model-Name"}
    for bad in ("1d", "3600", "-1s"):
        with pytest.raises(ConfigError, match=r"is not a Gateway API duration"):
            scene(request_timeout=bad)


def test_objective_names_the_models_main_pool(full: Scene) -> None:
    (objective,) = full.of("InferenceObjective")
    assert objective["metadata"]["name"] == "qwen"
    assert objective["spec"] == {
        "priority": 10,
        "poolRef": {"group": "inference.networking.k8s.io", "kind": "InferencePool", "name": "qwen-blue"},
    }
    blue, green = server("qwen-blue"), server("qwen-green")
    flipped = plan_gateway(
        "t/gw",
        NS,
        InferenceGatewayProps(name="r", gateway=GATEWAY, models=(ModelRoute.blue_green(blue, green, active="green", priority=-5),)),
    )
    (obj,) = [o for o in flipped.objects if o.kind == "InferenceObjective"]
    assert obj.body["spec"]["poolRef"]["name"] == "qwen-green" and obj.body["spec"]["priority"] == -5


def test_model_maps_tell_the_payload_processor_each_base_model_and_its_adapters(full: Scene) -> None:
    maps = {
        d["metadata"]["name"]: d for d in full.of("ConfigMap") if d["metadata"]["labels"].get("inference.llm-d.ai/ipp-managed") == "true"
    }
    assert sorted(maps) == ["models-llama-70b-model-map", "models-llama-model-map", "models-qwen-model-map"]
    assert maps["models-qwen-model-map"]["data"]["baseModel"] == QWEN
    assert yaml.safe_load(maps["models-qwen-model-map"]["data"]["adapters"]) == ["sql", "support"]
    assert "adapters" not in maps["models-llama-model-map"]["data"]
    assert not [o for o in scene(model_maps=False).docs if o["metadata"]["name"].endswith("-model-map")]


# ---------------------------------------------------------------- canary versions


def test_canary_versions_are_told_apart_by_monitoring_and_alerts() -> None:
    blue = server("qwen-blue")
    green = server("qwen-green", image=Image("vllm/vllm-openai", tag="v0.34.0"))
    assert blue.serving.version != green.serving.version and blue.serving.server_name != green.serving.server_name
    plans = [plan_observability(f"t/{w.serving.server_name}-obs", ObservabilityProps(server=w)) for w in (blue, green)]
    assert plans[0].series != plans[1].series
    rules = []
    for plan, name in zip(plans, ("qwen-blue", "qwen-green"), strict=True):
        (prom,) = [o for o in plan.objects if o.kind == "PrometheusRule"]
        exprs = [r["expr"] for g in prom.body["spec"]["groups"] for r in g["rules"]]
        assert all(f'server="{name}"' in e or "pod=~" in e for e in exprs)
        assert not any("qwen-blue" in e and "qwen-green" in e for e in exprs)
        alerts = [r for g in prom.body["spec"]["groups"] for r in g["rules"] if "alert" in r]
        assert any(a.get("labels", {}).get("server") == name for a in alerts)
        rules.append(prom)
    keys = [o.key(NS) for p in plans for o in p.objects]
    assert len(keys) == 6 and len(set(keys)) == 6, "the two versions' monitors, rules and dashboards do not collide"


# ---------------------------------------------------------------- refusals (pure)


def refused(models: tuple[ModelRoute, ...], namespace: str = NS, **props: Any) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        plan_gateway("test/gw", namespace, InferenceGatewayProps(name="r", gateway=GATEWAY, models=models, **props))
    return err.value


def test_refuses_a_canary_whose_model_names_differ() -> None:
    err = refused((ModelRoute.canary(server("qwen-blue"), server("qwen-green", model="Qwen/Qwen3-14B"), percent=10),))
    assert "has another served model name ('Qwen/Qwen3-14B') than qwen-blue ('Qwen/Qwen3-8B')" in str(err)


def test_refuses_a_canary_whose_adapters_or_port_differ() -> None:
    err = refused((ModelRoute.canary(server("a", lora=adapters("sql")), server("b", lora=adapters("sql", "x")), percent=5),))
    assert "has another adapters" in str(err)
    err = refused((ModelRoute.canary(server("a"), server("b", port=9000), percent=5),))
    assert "has another serving port (9000) than a (8000)" in str(err)


def test_refuses_a_pool_over_a_ray_worker_group() -> None:
    big = cluster("llama-70b")
    facts = big.serving
    worker_selector = {**facts.selector_labels, "app.kubernetes.io/component": "worker"}

    @dataclasses.dataclass
    class Workers:
        serving: ServingFacts

        def hand_replicas_to_autoscaler(self) -> None: ...

    workers = Workers(dataclasses.replace(facts, server_name="llama-70b-workers", selector_labels=worker_selector))
    err = refused((ModelRoute.single(workers),))
    assert "does not select exactly its serving pods (e.g. a Ray worker group)" in str(err)


def test_refuses_duplicate_model_and_adapter_names_behind_one_gateway() -> None:
    err = refused(
        (ModelRoute.single(server("a", lora=adapters("sql"))), ModelRoute.single(server("b", model="Qwen/Qwen3-14B", lora=adapters("sql"))))
    )
    assert "models[1]='sql' is also served by models[0]" in str(err)
    err = refused((ModelRoute.single(server("a")), ModelRoute.single(server("b"))))
    assert f"models[1]={QWEN!r} is also served by models[0]" in str(err)
    named_like_a_model = LoraOptions(adapters=(LoraAdapter.pvc("meta-llama/Llama-3.1-8B-Instruct", "adapters", rank=8),))
    err = refused(
        (ModelRoute.single(server("a", lora=named_like_a_model)), ModelRoute.single(server("b", model="meta-llama/Llama-3.1-8B-Instruct")))
    )
    assert "models[1]='meta-llama/Llama-3.1-8B-Instruct' is also served by models[0]" in str(err)


def test_refuses_two_routes_with_one_name() -> None:
    """The route name names the HTTPRoute rule; two rules of one name are refused by the API server, so by us first."""
    routes = (ModelRoute.single(server("a")), ModelRoute.single(server("b", model="Qwen/Qwen3-14B"), name="a"))
    err = refused(routes, model_maps=False)
    assert "models[1].name='a' is also the route name of models[0]" in str(err)


def test_refuses_one_workload_twice_and_a_workload_elsewhere() -> None:
    a = server("a")
    assert "is behind the gateway already" in str(refused((ModelRoute.single(a), ModelRoute.single(a))))
    other = server("b", model="Qwen/Qwen3-14B", namespace="other")
    assert "is in namespace 'other', the gateway in 'llm'" in str(refused((ModelRoute.single(other),)))


def test_refuses_pools_without_a_namespace_and_selectors_that_overlap() -> None:
    assert "namespace='' is not set" in str(refused((ModelRoute.single(server("a", namespace="")),), namespace=""))
    a = server("a")
    pods = {**a.serving.pod_labels, "app.kubernetes.io/instance": "wide"}
    wide = dataclasses.replace(
        a.serving, server_name="wide", served_model_name="other", selector_labels={"app.kubernetes.io/name": "vllm"}, pod_labels=pods
    )

    @dataclasses.dataclass
    class Wide:
        serving: ServingFacts

        def hand_replicas_to_autoscaler(self) -> None: ...

    assert "models='wide' has a selector that also selects the pods of a," in str(
        refused((ModelRoute.single(a), ModelRoute.single(Wide(wide))))
    )


def test_refuses_a_bare_gpu_deployment_and_too_many_names() -> None:
    a = server("a")
    bare = dataclasses.replace(a.serving, served_model_name="")

    @dataclasses.dataclass
    class Bare:
        serving: ServingFacts

        def hand_replicas_to_autoscaler(self) -> None: ...

    assert "is not a vLLM server" in str(refused((ModelRoute.single(Bare(bare)),)))
    many = LoraOptions(adapters=tuple(LoraAdapter.pvc(f"a{i}", "adapters", rank=8, path=f"a{i}") for i in range(64)))
    assert "names more than 64 models and adapters" in str(refused((ModelRoute.single(server("m", lora=many)),)))
    with pytest.raises(ConfigError, match=r"is not 1 to 16 models"):
        InferenceGatewayProps(name="r", gateway=GATEWAY, models=tuple(ModelRoute.single(server(f"s{i}")) for i in range(17)))


def test_refuses_props_of_the_wrong_type() -> None:
    with pytest.raises(ConfigError, match=r"workload"):
        ModelRoute.single("llama")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"section_name"):
        GatewayRef(name="gw", section_name="HTTPS!")


# ---------------------------------------------------------------- constructs


@pytest.fixture
def chart() -> cdk8s.Chart:
    return cdk8s.Chart(cdk8s.App(), "test", namespace=NS, disable_resource_name_hashes=True)


def construct_servers(chart: cdk8s.Chart) -> tuple[Any, Any]:
    res = Resources(cpu="4", memory="32Gi", accelerators=1)
    qwen = VllmServer(
        chart,
        "qwen",
        VllmServerProps(name="qwen", model=ModelSource.huggingface(QWEN, revision=COMMIT), resources=res, lora=adapters("sql")),
    )
    llama = VllmServer(
        chart,
        "llama",
        VllmServerProps(name="llama", model=ModelSource.huggingface("meta-llama/Llama-3.1-8B-Instruct", revision=COMMIT), resources=res),
    )
    return qwen, llama


def test_construct_emits_the_plan_and_exposes_handles(chart: cdk8s.Chart) -> None:
    qwen, llama = construct_servers(chart)
    gw = InferenceGateway(
        chart, "gw", InferenceGatewayProps(name="models", gateway=GATEWAY, models=(ModelRoute.single(qwen), ModelRoute.single(llama)))
    )
    kinds = sorted(
        d["kind"]
        for d in chart_objects(chart)
        if d["metadata"]["name"].startswith(("qwen-epp", "llama-epp")) or d["kind"] in ("HTTPRoute", "InferencePool")
    )
    assert kinds.count("InferencePool") == 2 and kinds.count("HTTPRoute") == 1
    assert sorted(gw.pools) == ["llama", "qwen"] and sorted(gw.pickers) == ["llama", "qwen"]
    assert cdk8s.ApiObject.of(gw) is gw.route
    assert gw.route.kind == "HTTPRoute"


def test_two_gateways_may_not_claim_one_model_and_a_refusal_adds_nothing(chart: cdk8s.Chart) -> None:
    qwen, llama = construct_servers(chart)
    InferenceGateway(
        chart, "gw", InferenceGatewayProps(name="a", gateway=GATEWAY, models=(ModelRoute.single(llama),), mode=RoutingMode.SERVICE)
    )
    before = chart_objects(chart)
    children = len(chart.node.children)
    # a second gateway on the same Gateway routing qwen (new) and llama (already routed by the first)
    props = InferenceGatewayProps(
        name="b", gateway=GATEWAY, models=(ModelRoute.single(qwen), ModelRoute.single(llama)), mode=RoutingMode.SERVICE
    )
    with pytest.raises(
        ConfigError,
        match=r"test/gw2: models='meta-llama/Llama-3.1-8B-Instruct' already has a route on Gateway "
        r"gateway-system/inference-gateway \(test/gw\)",
    ):
        InferenceGateway(chart, "gw2", props)
    assert chart_objects(chart) == before and len(chart.node.children) == children
    # another Gateway is fine
    other = dataclasses.replace(props, gateway=GatewayRef(name="internal", namespace="gateway-system"))
    InferenceGateway(chart, "gw3", other)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda q, other: ModelRoute.canary(q, other, percent=10), "has another served model name"),
        (lambda q, _: ModelRoute.single(q, name="Bad_Name"), "is not a DNS-1123 label"),
    ],
)
def test_refused_gateway_leaves_the_chart_unchanged(chart: cdk8s.Chart, make: Callable[[Any, Any], ModelRoute], message: str) -> None:
    qwen, llama = construct_servers(chart)
    before = chart_objects(chart)
    with pytest.raises(ConfigError, match=message):
        InferenceGateway(chart, "gw", InferenceGatewayProps(name="models", gateway=GATEWAY, models=(make(qwen, llama),)))
    assert chart_objects(chart) == before
    assert chart.node.try_find_child("gw") is None


# ---------------------------------------------------------------- network policies


def test_network_policies_admit_only_the_gateway_the_picker_and_the_scrapers() -> None:
    gateway_ns = {"kubernetes.io/metadata.name": "gateway-system"}
    monitoring = {"kubernetes.io/metadata.name": "monitoring"}
    s = scene(network_policy=GatewayNetworkPolicy(gateway_namespaces=gateway_ns, metrics_namespaces=monitoring))
    templates = pod_templates(s.docs)
    policies = {d["metadata"]["name"]: d["spec"] for d in s.of("NetworkPolicy")}
    for name, workload in s.workloads.items():
        picker = policies[f"{name}-epp"]
        assert [o for o, t in templates if selects(picker["podSelector"]["matchLabels"], t)] == [f"Deployment/{name}-epp"]
        assert picker["ingress"] == [
            {"from": [{"namespaceSelector": {"matchLabels": gateway_ns}}], "ports": [{"protocol": "TCP", "port": 9002}]},
            {"from": [{"namespaceSelector": {"matchLabels": monitoring}}], "ports": [{"protocol": "TCP", "port": 9090}]},
        ]
        serving = policies[f"{name}-from-gateway"]
        pool = s.named("InferencePool", name)
        assert serving["podSelector"]["matchLabels"] == pool["spec"]["selector"]["matchLabels"]
        (rule,) = serving["ingress"]
        assert rule["ports"] == [{"protocol": "TCP", "port": workload.serving.port.port}]
        picker_pods = rule["from"][0]["podSelector"]["matchLabels"]
        assert [o for o, t in templates if selects(picker_pods, t)] == [f"Deployment/{name}-epp"]
        assert rule["from"][1:] == [{"namespaceSelector": {"matchLabels": gateway_ns}}, {"namespaceSelector": {"matchLabels": monitoring}}]
    for version in K8S_VERSIONS:
        assert {
            n: k8s_errors(d, version) for n, d in ((d["metadata"]["name"], d) for d in s.of("NetworkPolicy")) if k8s_errors(d, version)
        } == {}
    assert not scene().of("NetworkPolicy")
    assert not scene(RoutingMode.SERVICE, network_policy=GatewayNetworkPolicy(gateway_namespaces=gateway_ns)).of("NetworkPolicy")
