"""NetworkPolicy per server: ingress only to the serving port from the allowed peers; for multi-node, all traffic
among the cluster's own pods (and nothing from its download Job); egress limited to DNS, peers and listed CIDRs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cdk8s
import pytest

from tests.conftest import by_kind, chart_objects, one
from tests.schemas import K8S_VERSIONS, k8s_errors
from vllm_constructs import (
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
