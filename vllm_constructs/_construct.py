"""The construct side of every planned object: plan (pure), claim in the App, emit; and the cdk8s-plus interfaces
that let a cdk8s-plus user select and connect to a serving workload like one of their own."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

import cdk8s
import cdk8s_plus_27 as kplus
from constructs import Construct

from ._adapter import Exclusive, adopt, claim, create, emit_all, prepare, watch_app
from .core.objects import KubeObject
from .core.serving import ServingFacts
from .core.validation import validate_instance
from .core.values import ContainerPort

__all__ = ["ServingConstruct", "build"]

P = TypeVar("P")


class _Plan(Protocol):
    @property
    def objects(self) -> Sequence[KubeObject]: ...


def build(
    construct: Construct,
    scope: Any,
    construct_id: Any,
    props: Any,
    props_type: type[Any] | tuple[type[Any], ...],
    plan: Callable[[str, str], P],
    *,
    objects: Callable[[P], Sequence[KubeObject]] = lambda p: p.objects,  # type: ignore[attr-defined]
    selector: Mapping[str, str] | Callable[[P], Mapping[str, str] | None] | None = None,
    exclusive: Callable[[P], Exclusive | Sequence[Exclusive] | None] | None = None,
) -> tuple[P, dict[str, cdk8s.ApiObject]]:
    """Create ``construct`` from ``props``: check scope, id and props type, plan (pure), claim the objects in the App,
    then add one ApiObject per planned object. Any ConfigError leaves the App as it was."""
    owner = type(construct).__name__
    path, namespace = prepare(scope, construct_id, owner)
    names = props_type.__name__ if isinstance(props_type, type) else " or ".join(t.__name__ for t in props_type)
    validate_instance(props, props_type, path, "props", names, f"build the props with {names}(...)")
    planned = plan(path, namespace)
    sel = selector(planned) if callable(selector) else selector
    commit = claim(scope, path, namespace, objects(planned), sel, exclusive(planned) if exclusive else None)
    create(construct, scope, construct_id, path)
    adopt(construct, scope, construct_id, path, namespace)
    planned_objects = objects(planned)
    emitted = emit_all(construct, planned_objects)
    construct._vc_planned = planned_objects  # type: ignore[attr-defined]  # the plan's own list: later patches stay in it
    commit()
    watch_app(construct)
    return planned, emitted


class ServingConstruct(Construct):
    """What VllmServer and RayCluster share: the ServingWorkload facts, handles, and the cdk8s-plus pod selector and
    network peer interfaces (``kplus.NetworkPolicy(chart, 'p', selector=server)``,
    ``client.connections.allow_to(server)``), which select exactly the serving pods."""

    _facts: ServingFacts
    _objs: dict[str, cdk8s.ApiObject]

    def _build_serving(self, scope: Any, construct_id: Any, props: Any, props_type: type[Any], plan: Callable[[str, str], P]) -> P:
        """Plan, claim and emit through :func:`build`; keep the objects by id and the serving facts of the plan."""
        planned, self._objs = build(
            self,
            scope,
            construct_id,
            props,
            props_type,
            plan,
            selector=lambda p: p.serving.selector_labels,  # type: ignore[attr-defined]
        )
        self._facts = planned.serving  # type: ignore[attr-defined]
        return planned

    @property
    def service(self) -> cdk8s.ApiObject:
        """The Service in front of the serving pods."""
        return self._objs["Service"]

    @property
    def cache_claim(self) -> cdk8s.ApiObject | None:
        """The model cache PersistentVolumeClaim, or None when the model is not downloaded into one."""
        return self._objs.get("ModelCache")

    @property
    def model_init_job(self) -> cdk8s.ApiObject | None:
        """The model download Job, or None when the pods download (or nothing is downloaded)."""
        return self._objs.get("ModelDownload")

    @property
    def network_policy(self) -> cdk8s.ApiObject | None:
        return self._objs.get("NetworkPolicy")

    @property
    def port(self) -> ContainerPort:
        return self._facts.port

    @property
    def serving(self) -> ServingFacts:
        """What consumers (Autoscaler, Observability, gateways, lint) read: the ServingWorkload protocol."""
        return self._facts

    @property
    def selector_labels(self) -> dict[str, str]:
        """Labels that select exactly this server's serving pods (a copy)."""
        return dict(self._facts.selector_labels)

    @property
    def service_name(self) -> str:
        return self._facts.service_name

    @property
    def service_port(self) -> int:
        return self._facts.service_port

    @property
    def served_model_name(self) -> str:
        return self._facts.served_model_name

    def to_pod_selector_config(self) -> kplus.PodSelectorConfig:
        namespaces = kplus.NamespaceSelectorConfig(names=[self._facts.namespace]) if self._facts.namespace else None
        return kplus.PodSelectorConfig(
            label_selector=kplus.LabelSelector.of(labels=dict(self._facts.selector_labels)), namespaces=namespaces
        )

    def to_network_policy_peer_config(self) -> kplus.NetworkPolicyPeerConfig:
        return kplus.NetworkPolicyPeerConfig(pod_selector=self.to_pod_selector_config())

    def to_pod_selector(self) -> kplus.IPodSelector:
        return self
