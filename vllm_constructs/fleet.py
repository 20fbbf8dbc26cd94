"""Render one fleet of servers into ``<outdir>/<fleet>/<environment>/<cluster>/``, one cdk8s App per cluster, each
folder with a kustomization.yaml listing exactly its manifests (point an Argo CD ApplicationSet or a Flux
Kustomization at one folder per cluster)."""

from __future__ import annotations

from pathlib import Path

import cdk8s

from ._adapter import synth
from .autoscaler import Autoscaler
from .core.autoscaling import AutoscalerProps
from .core.cluster import RayClusterProps
from .core.fleet import Cluster, Environment, FleetProps, FleetServer, kustomization, resolve
from .core.observability import ObservabilityProps
from .observability import Observability
from .ray_cluster import RayCluster
from .vllm_server import VllmServer

__all__ = ["build_fleet", "synth_fleet", "write_kustomization"]

ENVIRONMENT_LABEL = "vllm-constructs.io/environment"
CLUSTER_LABEL = "vllm-constructs.io/cluster"


def _add_server(chart: cdk8s.Chart, name: str, server: FleetServer) -> None:
    props = server.props
    workload = RayCluster(chart, name, props) if isinstance(props, RayClusterProps) else VllmServer(chart, name, props)
    if server.autoscaling is not None:
        spec = server.autoscaling
        Autoscaler(
            chart,
            f"{name}-autoscaler",
            AutoscalerProps(target=workload, scaling=spec.scaling, min_replicas=spec.min_replicas, max_replicas=spec.max_replicas),
        )
    if server.observability:
        Observability(chart, f"{name}-observability", ObservabilityProps(server=workload, monitor_labels=server.monitor_labels))


def _app(fleet: FleetProps, environment: Environment, cluster: Cluster, folder: Path) -> cdk8s.App:
    app = cdk8s.App(outdir=str(folder), yaml_output_type=cdk8s.YamlOutputType.FILE_PER_CHART)
    labels = {ENVIRONMENT_LABEL: environment.name, CLUSTER_LABEL: cluster.name}
    chart = cdk8s.Chart(app, fleet.name, namespace=cluster.namespace, disable_resource_name_hashes=True, labels=labels)
    for name, server in resolve(fleet, environment, cluster).items():
        _add_server(chart, name, server)
    return app


def build_fleet(fleet: FleetProps, outdir: str) -> list[tuple[Path, cdk8s.App]]:
    """One App per environment and cluster, with its output folder. Raises ConfigError before any App is built when an
    override is wrong."""
    targets = [(env, cluster) for env in fleet.environments for cluster in env.clusters]
    for env, cluster in targets:
        resolve(fleet, env, cluster)  # every override checked before anything is created
    return [
        (
            Path(outdir) / fleet.name / env.name / cluster.name,
            _app(fleet, env, cluster, Path(outdir) / fleet.name / env.name / cluster.name),
        )
        for env, cluster in targets
    ]


def write_kustomization(folder: Path) -> None:
    """kustomization.yaml in ``folder`` listing exactly the manifests written there."""
    files = [p.name for p in folder.glob("*.yaml") if p.name != "kustomization.yaml"]
    (folder / "kustomization.yaml").write_text(kustomization(files))


def synth_fleet(fleet: FleetProps, outdir: str) -> list[Path]:
    """Write every cluster's folder and its kustomization.yaml; return the folders."""
    built = build_fleet(fleet, outdir)
    for folder, app in built:
        synth(app)
        write_kustomization(folder)
    return [folder for folder, _ in built]
