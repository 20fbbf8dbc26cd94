"""One set of servers for several environments and clusters, pure: each environment and each cluster overrides exactly
the props that differ, by dotted path (``"props.replicas"``, ``"props.engine.max_model_len"``,
``"autoscaling.max_replicas"``), and every override is validated by the value classes it lands in."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import field
from typing import Annotated, Any

from pydantic import AfterValidator

from ..errors import ConfigError
from .autoscaling import AnyScaling
from .cluster import RayClusterProps
from .server import VllmServerProps
from .validation import INT32_MAX, DnsLabel, Labels, in_range, problem, value_class

__all__ = ["Cluster", "Environment", "FleetProps", "FleetServer", "ScalingSpec", "resolve"]


@value_class(kw_only=True)
class ScalingSpec:
    """The autoscaler of a fleet server (the Autoscaler's props without the target)."""

    scaling: AnyScaling
    max_replicas: Annotated[int, in_range(1, INT32_MAX)]
    min_replicas: Annotated[int, in_range(1, INT32_MAX)] = 1


def _server_props(value: Any) -> Any:
    if isinstance(value, VllmServerProps | RayClusterProps):
        return value
    raise problem("server_props", f"is a {type(value).__name__}", "VllmServerProps or RayClusterProps", "build the server's props")


@value_class(kw_only=True)
class FleetServer:
    """One server of the fleet, as every environment starts from it."""

    props: Annotated[VllmServerProps | RayClusterProps, AfterValidator(_server_props)]
    autoscaling: ScalingSpec | None = None
    """Default: none (fixed replicas)."""
    observability: bool = True
    """Monitor, rules and dashboard for the server. Default: True."""
    monitor_labels: Labels = field(default_factory=dict)
    """Labels your Prometheus selects monitors and rules by. Default: none."""


Overrides = Mapping[DnsLabel, Mapping[str, Any]]
"""Per server name: dotted path (below FleetServer: 'props.replicas', 'autoscaling.max_replicas') -> new value."""


@value_class(kw_only=True)
class Cluster:
    """One cluster of an environment: its own folder, namespace and overrides on top of the environment's."""

    name: DnsLabel
    namespace: DnsLabel
    overrides: Overrides = field(default_factory=dict)


@value_class(kw_only=True)
class Environment:
    """An environment (dev, staging, prod) and the clusters it runs in."""

    name: DnsLabel
    clusters: tuple[Cluster, ...]
    overrides: Overrides = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = [c.name for c in self.clusters]
        if not names or len(set(names)) != len(names):
            from .validation import fail  # noqa: PLC0415

            fail("clusters", names, "is empty or names a cluster twice", "one or more clusters, each once", "list each cluster once")


@value_class(kw_only=True)
class FleetProps:
    """The servers, and where each environment and cluster runs them."""

    name: DnsLabel
    """The fleet's folder under the output folder (dist/<name>/<environment>/<cluster>/)."""
    servers: Mapping[DnsLabel, FleetServer]
    environments: tuple[Environment, ...]

    def __post_init__(self) -> None:
        names = [e.name for e in self.environments]
        from .validation import fail  # noqa: PLC0415

        if not names or len(set(names)) != len(names):
            fail("environments", names, "is empty or names an environment twice", "one or more environments, each once", "list each once")
        if not self.servers:
            fail("servers", {}, "is empty", "one or more servers", "add a server")


def _set_path(obj: Any, path: list[str], value: Any, where: str) -> Any:
    """``obj`` with the field at ``path`` replaced (each level rebuilt, so the value classes validate it)."""
    name, rest = path[0], path[1:]
    fields = [f.name for f in dataclasses.fields(obj)] if dataclasses.is_dataclass(obj) else []
    if name not in fields:
        near = difflib.get_close_matches(name, fields, n=1)
        raise ConfigError(
            path=where,
            field=name,
            value=name,
            problem=f"is not a field of {type(obj).__name__}",
            allowed=", ".join(fields) or "no fields (the value is not a props class)",
            fix=f"use {near[0]!r}" if near else "check the override path",
        )
    current = getattr(obj, name)
    if rest and current is None:
        raise ConfigError(
            path=where,
            field=name,
            value=None,
            problem="is None in the base server, so there is nothing to change inside it",
            allowed="a path to a field that is set",
            fix=f"override {name!r} as a whole",
        )
    new = _set_path(current, rest, value, where) if rest else value
    return dataclasses.replace(obj, **{name: new})


def _apply(server: FleetServer, overrides: Mapping[str, Any], where: str) -> FleetServer:
    for dotted, value in overrides.items():
        try:
            server = _set_path(server, dotted.split("."), value, where)
        except ConfigError as err:
            first = err.problems[0]
            raise ConfigError(
                path=where, field=dotted, value=first.value, problem=first.problem, allowed=first.allowed, fix=first.fix
            ) from None
    return server


def resolve(fleet: FleetProps, environment: Environment, cluster: Cluster) -> dict[str, FleetServer]:
    """Every server as ``environment`` and ``cluster`` run it: the base, the environment's overrides, then the
    cluster's. An override of an unknown server or path, or a value its class refuses, raises ConfigError."""
    out: dict[str, FleetServer] = {}
    for layer, overrides in ((environment.name, environment.overrides), (f"{environment.name}/{cluster.name}", cluster.overrides)):
        unknown = [name for name in overrides if name not in fleet.servers]
        if unknown:
            raise ConfigError(
                path=f"{fleet.name}/{layer}",
                field="overrides",
                value=unknown[0],
                problem="names no server of the fleet",
                allowed=", ".join(fleet.servers),
                fix="use a server's name",
            )
    for name, base in fleet.servers.items():
        in_environment = _apply(base, environment.overrides.get(name, {}), f"{fleet.name}/{environment.name}/{name}")
        out[name] = _apply(in_environment, cluster.overrides.get(name, {}), f"{fleet.name}/{environment.name}/{cluster.name}/{name}")
    return out


def kustomization(files: list[str]) -> str:
    """A kustomization.yaml listing exactly ``files`` (sorted), so a GitOps tool pointed at the folder applies them and
    nothing from any other folder."""
    lines = ["apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization", "resources:"]
    lines += [f"  - {name}" for name in sorted(files)]
    return "\n".join(lines) + "\n"
