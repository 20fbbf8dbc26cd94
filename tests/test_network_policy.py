"""NetworkPolicy per server: ingress only to the serving port from the allowed peers; for multi-node, all traffic
among the cluster's own pods (and nothing from its download Job); egress limited to DNS, peers and listed CIDRs."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import cdk8s
import cdk8s_plus_27 as kplus
import pytest

from tests.conftest import by_kind, chart_objects, one
from tests.schemas import K8S_VERSIONS, k8s_errors
from tests.wrong_types import field_cases
from vllm_constructs import (
    ConfigError,
    EngineArgs,
    ModelCache,
    ModelSource,
    MultiNodeBackend,
    RayCluster,
    RayClusterProps,
    Resources,
    ServerNetworkPolicy,
    VllmServer,
    VllmServerProps,
)

MakeChart = Callable[..., cdk8s.Chart]
POLICY = ServerNetworkPolicy(
    from_namespaces={"kubernetes.io/metadata.name": "gateway"},
    metrics_from_namespaces={"kubernetes.io/metadata.name": "monitoring"},
    restrict_egress=True,
    egress_cidrs=("10.20.0.0/16",),
)


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    ok = all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())
    for expr in selector.get("matchExpressions", []):
        assert expr["operator"] == "In"
        ok = ok and labels.get(expr["key"]) in expr["values"]
    return ok


def pod_templates(objects: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for obj in objects:
        spec = obj.get("spec", {})
        if obj["kind"] in ("Deployment", "Job"):
            out[f"{obj['kind']}"] = spec["template"]["metadata"]["labels"]
        elif obj["kind"] == "RayCluster":
            out["head"] = spec["headGroupSpec"]["template"]["metadata"]["labels"]
            out["worker"] = spec["workerGroupSpecs"][0]["template"]["metadata"]["labels"]
        elif obj["kind"] == "LeaderWorkerSet":
            out["leader"] = spec["leaderWorkerTemplate"]["leaderTemplate"]["metadata"]["labels"]
            out["worker"] = spec["leaderWorkerTemplate"]["workerTemplate"]["metadata"]["labels"]
    return out


def test_single_server_admits_only_the_serving_port(new_chart: MakeChart) -> None:
    chart = new_chart()
    props = VllmServerProps(name="llm", model=ModelSource.image("/m"), resources=Resources(cpu="1", memory="4Gi"), network_policy=POLICY)
    VllmServer(chart, "s", props)
    objects = chart_objects(chart)
    policy = one(objects, "NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert all(rule["ports"] == [{"protocol": "TCP", "port": 8000}] for rule in policy["ingress"])
    assert [e["to"] for e in policy["egress"]][1] == [{"ipBlock": {"cidr": "10.20.0.0/16"}}]
    assert matches(policy["podSelector"], pod_templates(objects)["Deployment"])


@pytest.mark.parametrize("backend", list(MultiNodeBackend))
def test_multinode_peers_talk_to_each_other_and_the_download_job_is_not_a_peer(new_chart: MakeChart, backend: MultiNodeBackend) -> None:
    chart = new_chart()
    RayCluster(
        chart,
        "rc",
        RayClusterProps(
            name="big",
            backend=backend,
            model=ModelSource.huggingface("org/model", revision="0" * 40),
            engine=EngineArgs(tensor_parallel_size=8, pipeline_parallel_size=2),
            resources=Resources(cpu="8", memory="64Gi"),
            cache=ModelCache.pvc("100Gi", access_mode="ReadWriteMany"),
            network_policy=POLICY,
        ),
    )
    objects = chart_objects(chart)
    (policy_obj,) = by_kind(objects, "NetworkPolicy")
    for version in K8S_VERSIONS:
        assert k8s_errors(policy_obj, version) == []
    policy = policy_obj["spec"]
    templates = pod_templates(objects)
    peers = [rule["from"][0]["podSelector"] for rule in policy["ingress"] if "ports" not in rule]
    assert len(peers) == 1
    for name, labels in templates.items():
        expected = name != "Job"
        assert matches(policy["podSelector"], labels) is expected, name
        assert matches(peers[0], labels) is expected, name
    assert {"to": [{"podSelector": peers[0]}]} in policy["egress"]


def test_no_policy_unless_asked(new_chart: MakeChart) -> None:
    chart = new_chart()
    VllmServer(chart, "s", VllmServerProps(name="llm", model=ModelSource.image("/m"), resources=Resources(cpu="1", memory="4Gi")))
    assert by_kind(chart_objects(chart), "NetworkPolicy") == []


def ray_cluster(chart: cdk8s.Chart, backend: MultiNodeBackend, network_policy: ServerNetworkPolicy | None = None) -> RayCluster:
    return RayCluster(
        chart,
        "rc",
        RayClusterProps(
            name="big",
            backend=backend,
            model=ModelSource.huggingface("org/model", revision="0" * 40),
            engine=EngineArgs(tensor_parallel_size=8, pipeline_parallel_size=2),
            resources=Resources(cpu="8", memory="64Gi"),
            cache=ModelCache.pvc("100Gi", access_mode="ReadWriteMany"),
            network_policy=network_policy,
        ),
    )


def vllm_server(chart: cdk8s.Chart, name: str = "llm") -> VllmServer:
    props = VllmServerProps(
        name=name, model=ModelSource.huggingface("org/model", revision="0" * 40), resources=Resources(cpu="1", memory="4Gi")
    )
    return VllmServer(chart, name, props)


def test_a_cdk8s_plus_policy_selects_exactly_the_serving_pods(new_chart: MakeChart) -> None:
    chart = new_chart()
    vllm_server(chart)
    other = vllm_server(chart, "other")
    kplus.NetworkPolicy(chart, "p", selector=other)
    objects = chart_objects(chart)
    policy = one(objects, "NetworkPolicy")["spec"]
    deployments = {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"] for d in by_kind(objects, "Deployment")}
    assert {name for name, labels in deployments.items() if matches(policy["podSelector"], labels)} == {"other"}
    jobs = [j["spec"]["template"]["metadata"]["labels"] for j in by_kind(objects, "Job")]
    assert len(jobs) == 2 and not any(matches(policy["podSelector"], labels) for labels in jobs), "download Jobs are not serving pods"


@pytest.mark.parametrize("backend", list(MultiNodeBackend))
def test_a_cdk8s_plus_policy_selects_only_the_serving_pod_of_a_multinode_server(new_chart: MakeChart, backend: MultiNodeBackend) -> None:
    chart = new_chart()
    cluster = ray_cluster(chart, backend)
    kplus.NetworkPolicy(chart, "p", selector=cluster)
    objects = chart_objects(chart)
    policy = one(objects, "NetworkPolicy")["spec"]
    selected = {role for role, labels in pod_templates(objects).items() if matches(policy["podSelector"], labels)}
    assert selected == ({"head"} if backend is MultiNodeBackend.KUBERAY else {"leader"})


def test_connections_allow_to_the_server_render_policies_that_select_its_pods(new_chart: MakeChart) -> None:
    chart = new_chart()
    server = vllm_server(chart)
    vllm_server(chart, "other")
    client = kplus.Deployment(chart, "client", containers=[kplus.ContainerProps(image="curlimages/curl:8.10.1")])
    client.connections.allow_to(server, ports=[kplus.NetworkPolicyPort.tcp(8000)])
    objects = chart_objects(chart)
    policies = {tuple(p["spec"]["policyTypes"]): p["spec"] for p in by_kind(objects, "NetworkPolicy")}
    assert set(policies) == {("Egress",), ("Ingress",)}
    deployments = {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"] for d in by_kind(objects, "Deployment")}
    servers = {k: v for k, v in deployments.items() if k in ("llm", "other")}
    client_labels = next(v for k, v in deployments.items() if k not in servers)
    ingress = policies[("Ingress",)]
    assert {name for name, labels in servers.items() if matches(ingress["podSelector"], labels)} == {"llm"}
    (rule,) = ingress["ingress"]
    assert rule["ports"] == [{"port": 8000, "protocol": "TCP"}]
    (peer,) = rule["from"]
    assert matches(peer["podSelector"], client_labels) and peer["namespaceSelector"] == {
        "matchLabels": {"kubernetes.io/metadata.name": "test"}
    }
    egress = policies[("Egress",)]
    assert matches(egress["podSelector"], client_labels)
    ((to,),) = [r["to"] for r in egress["egress"]]
    assert {name for name, labels in servers.items() if matches(to["podSelector"], labels)} == {"llm"}
    assert to["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "test"}}
    for obj in by_kind(objects, "NetworkPolicy"):
        for version in K8S_VERSIONS:
            assert k8s_errors(obj, version) == []


def test_the_server_as_a_pod_selector_names_its_namespace(new_chart: MakeChart) -> None:
    server = vllm_server(new_chart())
    config = server.to_pod_selector_config()
    assert config.label_selector is not None and not config.label_selector.is_empty()
    assert config.namespaces is not None and config.namespaces.names == ["test"]
    assert server.to_pod_selector() is server
    assert server.to_network_policy_peer_config().pod_selector is not None
    unnamespaced = vllm_server(new_chart(None)).to_pod_selector_config()
    assert unnamespaced.namespaces is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"egress_ports": (70000,)},
            "ServerNetworkPolicy: egress_ports[0]=70000 is out of range. Allowed: an integer >= 1 and <= 65535. "
            "Fix: pick a value in range.",
        ),
        (
            {"egress_ports": (0,)},
            "ServerNetworkPolicy: egress_ports[0]=0 is out of range. Allowed: an integer >= 1 and <= 65535. Fix: pick a value in range.",
        ),
        (
            {"egress_cidrs": ("10.0.0.0/33",)},
            "ServerNetworkPolicy: egress_cidrs[0]='10.0.0.0/33' is not a CIDR. Allowed: an IPv4 or IPv6 network such as '10.0.0.0/8'. "
            "Fix: write address/prefix length.",
        ),
        (
            {"from_namespaces": {"team": "bad value!"}},
            "ServerNetworkPolicy: from_namespaces['team']='bad value!' is not a valid label value. Allowed: at most 63 letters, digits, "
            "'-', '_' or '.', starting and ending with a letter or digit. Fix: shorten or clean the value.",
        ),
    ],
    ids=["port-high", "port-zero", "cidr", "label"],
)
def test_fails_when_the_policy_is_built_wrong(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        ServerNetworkPolicy(**changes)
    assert str(info.value) == message


WRONG_TYPES = sorted({f for f, _ in field_cases(ServerNetworkPolicy)})


def test_every_policy_field_has_wrong_types() -> None:
    assert set(WRONG_TYPES) == {f.name for f in dataclasses.fields(ServerNetworkPolicy)}


@pytest.mark.parametrize("field", WRONG_TYPES)
def test_fails_when_a_policy_field_gets_a_wrong_type(field: str) -> None:
    for value in [v for name, v in field_cases(ServerNetworkPolicy) if name == field]:
        with pytest.raises(ConfigError) as info:
            ServerNetworkPolicy(**{field: value})
        assert [(p.path, p.field) for p in info.value.problems] == [("ServerNetworkPolicy", field)], (value, str(info.value))
