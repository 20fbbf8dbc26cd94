"""The custom-resource GVKs the constructs emit are those of the typed bindings `cdk8s import` generated from the
pinned CRDs, and the installed library works without the repository's imports/ package."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from imports.gateway.io.k8s.networking.gateway import Gateway, HttpRoute
from imports.inference.io.k8s.networking.inference import InferencePool
from imports.keda.sh.keda import ScaledObject, TriggerAuthentication
from imports.llmd.ai.llm_d import InferenceModelRewrite, InferenceObjective
from imports.lws.io.x_k8s.leaderworkerset import LeaderWorkerSet
from imports.monitoring.com.coreos.monitoring import PodMonitor, PrometheusRule, ServiceMonitor
from imports.ray.io.ray import RayCluster
from tests.conftest import ROOT
from vllm_constructs.core import gvk as _gvk


def test_constants_match_the_generated_bindings() -> None:
    pairs = {
        _gvk.RAY_CLUSTER: RayCluster,
        _gvk.LEADER_WORKER_SET: LeaderWorkerSet,
        _gvk.SCALED_OBJECT: ScaledObject,
        _gvk.TRIGGER_AUTHENTICATION: TriggerAuthentication,
        _gvk.SERVICE_MONITOR: ServiceMonitor,
        _gvk.POD_MONITOR: PodMonitor,
        _gvk.PROMETHEUS_RULE: PrometheusRule,
        _gvk.INFERENCE_POOL: InferencePool,
        _gvk.INFERENCE_OBJECTIVE: InferenceObjective,
        _gvk.INFERENCE_MODEL_REWRITE: InferenceModelRewrite,
        _gvk.HTTP_ROUTE: HttpRoute,
        _gvk.GATEWAY: Gateway,
    }
    for constant, binding in pairs.items():
        assert constant == (binding.GVK.api_version, binding.GVK.kind)


def test_generated_bindings_are_committed_with_their_jsii_assemblies() -> None:
    modules = ("ray/io/ray", "lws/io/x_k8s/leaderworkerset", "keda/sh/keda", "monitoring/com/coreos/monitoring")
    for module in (*modules, "gateway/io/k8s/networking/gateway", "inference/io/k8s/networking/inference", "llmd/ai/llm_d"):
        folder = ROOT / "imports" / module
        assert (folder / "__init__.py").is_file()
        assert list((folder / "_jsii").glob("*.jsii.tgz")), f"imports/{module}/_jsii/*.jsii.tgz must be committed"


def test_installed_library_needs_no_imports_package(tmp_path: Path) -> None:
    """As a pip user runs it: from another folder, in isolated mode, every construct that emits a custom resource."""
    script = textwrap.dedent(
        """
        import sys
        import cdk8s
        from vllm_constructs import (
            Autoscaler, AutoscalerProps, EngineArgs, ModelCache, ModelSource, MultiNodeBackend, Observability,
            ObservabilityProps, RayCluster, RayClusterProps, Resources, Scaling, VllmServer, VllmServerProps,
            GatewayRef, InferenceGateway, InferenceGatewayProps, ModelRoute,
        )
        app = cdk8s.App()
        chart = cdk8s.Chart(app, "c", namespace="ns")
        server = VllmServer(chart, "s", VllmServerProps(
            name="s", model=ModelSource.huggingface("o/m", revision="main"),
            resources=Resources(cpu="1", memory="8Gi", accelerators=1),
            cache=ModelCache.pvc("10Gi", access_mode="ReadWriteMany")))
        Autoscaler(chart, "a", AutoscalerProps(target=server, max_replicas=3, scaling=Scaling.keda("http://prometheus:9090")))
        Observability(chart, "o", ObservabilityProps(server=server))
        InferenceGateway(chart, "g", InferenceGatewayProps(name="r", gateway=GatewayRef(name="gw"), models=(ModelRoute.single(server),)))
        for backend in MultiNodeBackend:
            RayCluster(chart, backend.name, RayClusterProps(
                name=backend.name.lower().replace("_", "-"), model=ModelSource.huggingface("o/m", revision="main"),
                engine=EngineArgs(tensor_parallel_size=8, pipeline_parallel_size=2),
                resources=Resources(cpu="8", memory="64Gi"), nodes=2, accelerators_per_node=8, backend=backend))
        kinds = sorted({o["kind"] for o in chart.to_json()})
        assert "imports" not in sys.modules, "the library imported the repository's imports/ package"
        print(",".join(kinds))
        """
    )
    env = {"PATH": os.environ.get("PATH", ""), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    run = subprocess.run([sys.executable, "-I", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    kinds = set(run.stdout.strip().split(","))
    assert {"RayCluster", "LeaderWorkerSet", "ScaledObject", "ServiceMonitor", "PrometheusRule", "InferencePool", "HTTPRoute"} <= kinds
