"""InferenceIngress: one Ingress per workload, host or (ingress-nginx) path routing, TLS by Secret reference."""

from __future__ import annotations

import re
from typing import Any

import cdk8s
import cdk8s_plus_27 as kplus
import pytest

from tests.conftest import chart_objects
from tests.schemas import K8S_VERSIONS, k8s_errors
from vllm_constructs import (
    ConfigError,
    InferenceIngress,
    InferenceIngressProps,
    IngressController,
    IngressEndpoint,
    ModelSource,
    Resources,
    VllmServer,
    VllmServerProps,
)
from vllm_constructs.core.ingress import plan_ingress
from vllm_constructs.core.server import ServerPlan, plan_server

NS = "llm"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def server(name: str, namespace: str = NS, **kw: Any) -> ServerPlan:
    props = VllmServerProps(
        name=name, model=ModelSource.huggingface(f"org/{name}", revision=COMMIT), resources=Resources(cpu="4", memory="16Gi"), **kw
    )
    return plan_server(f"t/{name}", namespace, props)


def ingresses(props: InferenceIngressProps) -> dict[str, dict[str, Any]]:
    return {o.name: o.manifest(NS) for o in plan_ingress("t/ing", NS, props).objects}


def test_host_routing_with_tls_sends_each_host_to_its_service() -> None:
    llama, qwen = server("llama"), server("qwen", service_port=8080)
    props = InferenceIngressProps(
        ingress_class_name="nginx",
        endpoints=(
            IngressEndpoint(workload=llama, host="llama.example.com", tls_secret="llama-tls"),
            IngressEndpoint(workload=qwen, host="qwen.example.com"),
        ),
    )
    out = ingresses(props)
    assert sorted(out) == ["llama", "qwen"]
    assert out["llama"]["spec"] == {
        "ingressClassName": "nginx",
        "tls": [{"hosts": ["llama.example.com"], "secretName": "llama-tls"}],
        "rules": [
            {
                "host": "llama.example.com",
                "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "llama", "port": {"number": 80}}}}]},
            }
        ],
    }
    assert out["qwen"]["spec"]["rules"][0]["http"]["paths"][0]["backend"] == {"service": {"name": "qwen", "port": {"number": 8080}}}
    assert "tls" not in out["qwen"]["spec"]
    assert "annotations" not in out["llama"]["metadata"]  # generic controller: nothing controller-specific


def test_nginx_streams_and_strips_the_path_prefix() -> None:
    props = InferenceIngressProps(
        ingress_class_name="nginx",
        controller=IngressController.NGINX,
        request_timeout_seconds=7200,
        max_body_size="128m",
        annotations={"example.com/team": "ml"},
        endpoints=(IngressEndpoint(workload=server("llama"), host="llm.example.com", path_prefix="/llama"),),
    )
    ing = ingresses(props)["llama"]
    assert ing["metadata"]["annotations"] == {
        "example.com/team": "ml",
        "nginx.ingress.kubernetes.io/proxy-body-size": "128m",
        "nginx.ingress.kubernetes.io/proxy-buffering": "off",
        "nginx.ingress.kubernetes.io/proxy-read-timeout": "7200",
        "nginx.ingress.kubernetes.io/proxy-request-buffering": "off",
        "nginx.ingress.kubernetes.io/proxy-send-timeout": "7200",
        "nginx.ingress.kubernetes.io/rewrite-target": "/$2",
        "nginx.ingress.kubernetes.io/use-regex": "true",
    }
    (path,) = ing["spec"]["rules"][0]["http"]["paths"]
    assert path["path"] == "/llama(/|$)(.*)" and path["pathType"] == "ImplementationSpecific"
    # what ingress-nginx does with the regex and rewrite-target: /llama/v1/chat/completions -> /v1/chat/completions
    match = re.match(path["path"], "/llama/v1/chat/completions")
    assert match is not None and "/" + match.group(2) == "/v1/chat/completions"


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_ingresses_validate_strictly(version: str) -> None:
    props = InferenceIngressProps(
        ingress_class_name="nginx",
        controller="ingress-nginx",
        endpoints=(
            IngressEndpoint(workload=server("llama"), host="llm.example.com", path_prefix="/llama", tls_secret="tls"),
            IngressEndpoint(workload=server("qwen"), host="*.example.com"),
            IngressEndpoint(workload=server("mistral")),
        ),
    )
    failures = {name: k8s_errors(doc, version) for name, doc in ingresses(props).items()}
    assert {k: v for k, v in failures.items() if v} == {}


def test_refuses_path_routing_without_a_rewriting_controller() -> None:
    props = InferenceIngressProps(
        ingress_class_name="traefik", endpoints=(IngressEndpoint(workload=server("llama"), path_prefix="/llama"),)
    )
    with pytest.raises(ConfigError, match=r"endpoints\[0\].path_prefix='/llama' needs the prefix stripped"):
        plan_ingress("t/ing", NS, props)


def test_refuses_bad_endpoints() -> None:
    with pytest.raises(ConfigError, match=r"tls_secret='tls' is set without a host"):
        IngressEndpoint(workload=server("llama"), tls_secret="tls")
    with pytest.raises(ConfigError, match=r"is not a path prefix"):
        IngressEndpoint(workload=server("llama"), path_prefix="/")
    with pytest.raises(ConfigError, match=r"is not a hostname"):
        IngressEndpoint(workload=server("llama"), host="LLM.example.com")
    same = InferenceIngressProps(
        ingress_class_name="nginx",
        endpoints=(
            IngressEndpoint(workload=server("a"), host="x.example.com"),
            IngressEndpoint(workload=server("b"), host="x.example.com"),
        ),
    )
    with pytest.raises(ConfigError, match=r"endpoints\[1\].* routes the same host and path"):
        plan_ingress("t/ing", NS, same)
    elsewhere = InferenceIngressProps(ingress_class_name="nginx", endpoints=(IngressEndpoint(workload=server("a", namespace="other")),))
    with pytest.raises(ConfigError, match=r"is in namespace 'other'"):
        plan_ingress("t/ing", NS, elsewhere)


def test_construct_takes_a_kplus_secret_and_claims_hosts_app_wide() -> None:
    chart = cdk8s.Chart(cdk8s.App(), "test", namespace=NS, disable_resource_name_hashes=True)
    llama = VllmServer(
        chart,
        "llama",
        VllmServerProps(name="llama", model=ModelSource.huggingface("o/m", revision=COMMIT), resources=Resources(cpu="1", memory="4Gi")),
    )
    tls = kplus.Secret.from_secret_name(chart, "tls", "llama-tls")
    ing = InferenceIngress(
        chart,
        "ing",
        InferenceIngressProps(
            ingress_class_name="nginx", endpoints=(IngressEndpoint(workload=llama, host="llm.example.com", tls_secret=tls),)
        ),
    )
    (doc,) = [d for d in chart_objects(chart) if d["kind"] == "Ingress"]
    assert doc["spec"]["tls"] == [{"hosts": ["llm.example.com"], "secretName": "llama-tls"}]
    assert list(ing.ingresses) == ["llama"] and cdk8s.ApiObject.of(ing) is ing.ingresses["llama"]
    before = chart_objects(chart)
    again = InferenceIngressProps(
        ingress_class_name="nginx", endpoints=(IngressEndpoint(workload=llama, host="llm.example.com", name="again"),)
    )
    with pytest.raises(ConfigError, match=r"test/ing2: endpoints='llm.example.com/' already has an Ingress of class nginx \(test/ing\)"):
        InferenceIngress(chart, "ing2", again)
    assert chart_objects(chart) == before
