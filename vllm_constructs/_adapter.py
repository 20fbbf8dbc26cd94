"""The thin layer between the pure planning core and cdk8s: every construct plans first (pure, may raise
ConfigError), checks its objects against everything else in the App, and only then adds one ``cdk8s.ApiObject`` per
planned object. A ConfigError therefore leaves the App exactly as it was.

Objects are plain dicts emitted through a raw ``cdk8s.ApiObject`` plus one JSON patch per top-level key: the typed
L1 classes re-map an object after patches and silently drop fields they do not know (and render a plain quantity
string as null). The test suite validates every object strictly against the Kubernetes and CRD schemas instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import cdk8s
import jsii
from constructs import Construct, IConstruct, IValidation

from .core.objects import KubeObject
from .core.validation import Redacted, dns_label_ok
from .errors import ConfigError, Problem

__all__ = ["check_app", "emit", "namespace_of", "path_of", "prepare", "synth"]

T = TypeVar("T")
Key = tuple[str, str, str, str]


def _attr(construct: Any, name: str) -> Any:
    try:
        return object.__getattribute__(construct, name)
    except AttributeError:
        return None


def adopt(construct: Construct, scope: Construct, construct_id: str, path: str, namespace: str) -> None:
    """Remember the construct's parent, path and namespace in Python: each jsii round trip costs ~0.5 ms."""
    construct._vc_parent = scope  # type: ignore[attr-defined]
    construct._vc_path = path  # type: ignore[attr-defined]
    construct._vc_namespace = namespace  # type: ignore[attr-defined]


def path_of(construct: IConstruct) -> str:
    """``construct.node.path``, through Python when known."""
    cached = _attr(construct, "_vc_path")
    if cached is None:
        cached = construct.node.path
        with contextlib.suppress(AttributeError):  # a jsii proxy without a __dict__
            construct._vc_path = cached  # type: ignore[attr-defined]
    return str(cached)


def namespace_of(scope: IConstruct) -> str:
    """The namespace cdk8s stamps on objects in ``scope`` ('' means the kubectl default)."""
    cached = _attr(scope, "_vc_namespace")
    if cached is None:
        cached = cdk8s.Chart.of(scope).namespace or ""
        with contextlib.suppress(AttributeError):
            scope._vc_namespace = cached  # type: ignore[attr-defined]
    return str(cached)


def root_of(scope: IConstruct) -> IConstruct:
    cached = _attr(scope, "_vc_root")
    if cached is None:
        parent = _attr(scope, "_vc_parent")
        cached = root_of(parent) if parent is not None else scope.node.root
        with contextlib.suppress(AttributeError):
            scope._vc_root = cached  # type: ignore[attr-defined]
    return cached  # type: ignore[no-any-return]


def prepare(scope: object, construct_id: object, owner: str) -> tuple[str, str]:
    """Check the scope and id a construct is created with; return its path and namespace (nothing is created)."""
    if not isinstance(scope, Construct):
        raise ConfigError(
            path=owner,
            field="scope",
            value=Redacted.of(scope),
            problem=f"is a {type(scope).__name__}, not a construct",
            allowed="a cdk8s Chart (or a construct inside one)",
            fix=f"create it as {owner}(chart, 'id', props)",
        )
    parent = path_of(scope)
    where = f"{parent}/{construct_id}" if parent else str(construct_id)
    if not isinstance(construct_id, str) or not construct_id or "/" in construct_id or len(construct_id) > 200:
        raise ConfigError(
            path=parent or owner,
            field="id",
            value=construct_id,
            problem="is not a construct id",
            allowed="a non-empty str without '/'",
            fix="pass an id such as 'llama-8b'",
        )
    namespace = namespace_of(scope)
    if namespace and not dns_label_ok(namespace):
        raise ConfigError(
            path=where,
            field="namespace",
            value=namespace,
            problem="(the chart's) is not a DNS-1123 label, so the API server refuses every object in it",
            allowed="at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit",
            fix="create the chart with a namespace such as 'llm'",
        )
    return where, namespace


# ------------------------------------------------------------------------------------------------ App-wide registry


@dataclass(slots=True)
class Registry:
    """Objects and selectors taken in one App, so two constructs never emit one object twice."""

    objects: dict[Key, str] = field(default_factory=dict)
    emitted: set[int] = field(default_factory=set)
    """``id()`` of every ApiObject the constructs emitted (already checked when planned)."""
    selectors: dict[tuple[str, tuple[tuple[str, str], ...]], str] = field(default_factory=dict)
    claims: dict[str, str] = field(default_factory=dict)


def registry_of(scope: IConstruct) -> Registry:
    root = root_of(scope)
    reg = _attr(root, "_vc_registry")
    if reg is None:
        reg = Registry()
        root._vc_registry = reg  # type: ignore[attr-defined]
    return reg  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class Exclusive:
    """Something only one construct may own in an App (e.g. the autoscaler of one workload)."""

    key: str
    field: str
    value: object
    what: str
    """e.g. 'an autoscaler': the problem reads '<value> already has <what> (<owner path>)'."""
    fix: str
    allowed: str = ""
    """What is allowed. Default: 'one <what> per workload'."""


def claim(
    scope: IConstruct,
    path: str,
    namespace: str,
    planned: Iterable[KubeObject],
    selector: Mapping[str, str] | None = None,
    exclusive: Exclusive | Sequence[Exclusive] | None = None,
) -> Callable[[], None]:
    """Check that nothing in the App already uses these objects (kind, namespace, name), this selector in the
    namespace, or the exclusive keys (e.g. 'autoscaler of X'); return the function that records them once created."""
    reg = registry_of(scope)
    taken = [exclusive] if isinstance(exclusive, Exclusive) else list(exclusive or ())
    for one in taken:
        if one.key in reg.claims:
            raise ConfigError(
                path=path,
                field=one.field,
                value=one.value,
                problem=f"already has {one.what} ({reg.claims[one.key]})",
                allowed=one.allowed or f"one {one.what.removeprefix('an ').removeprefix('a ')} per workload",
                fix=one.fix,
            )
    sel_key = (namespace or "default", tuple(sorted(selector.items()))) if selector else None
    if sel_key is not None and sel_key in reg.selectors:
        raise ConfigError(
            path=path,
            field="name",
            value=dict(selector or {}).get("app.kubernetes.io/instance"),
            problem=f"is already used by {reg.selectors[sel_key]} in namespace {sel_key[0]!r}, so the two would select each other's pods",
            allowed="one server name per component and namespace",
            fix="give each server a distinct name",
        )
    keys = [o.key(namespace) for o in planned]
    for key, obj in zip(keys, planned, strict=True):
        if key in reg.objects or keys.count(key) > 1:
            owner = reg.objects.get(key, path)
            raise ConfigError(
                path=path,
                field=f"{obj.kind}/{obj.name}",
                value=obj.name,
                problem=f"is emitted by {owner} already in namespace {key[2]!r}, and Kubernetes keeps one object per kind, "
                "namespace and name",
                allowed="unique names per kind and namespace across the whole app",
                fix="give one of them another name (a different server name, or ServerNames for explicit names)",
            )

    def commit() -> None:
        for key in keys:
            reg.objects[key] = path
        if sel_key is not None:
            reg.selectors[sel_key] = path
        for one in taken:
            reg.claims[one.key] = path

    return commit


# ------------------------------------------------------------------------------------------------ emission


def emit(scope: Construct, obj: KubeObject) -> cdk8s.ApiObject:
    """Add one planned object to ``scope`` as a raw ApiObject."""
    api = cdk8s.ApiObject(
        scope,
        obj.id,
        api_version=obj.api_version,
        kind=obj.kind,
        metadata=cdk8s.ApiObjectMetadata(
            name=obj.name, labels=dict(obj.labels), annotations=dict(obj.annotations) if obj.annotations else None
        ),
    )
    for key, value in obj.body.items():
        api.add_json_patch(cdk8s.JsonPatch.add(f"/{key}", value))
    return api


class _HandsOverReplicas(Protocol):
    autoscaled: bool

    def hand_replicas_to_autoscaler(self) -> None: ...


def hand_over_replicas(plan: _HandsOverReplicas, workload: cdk8s.ApiObject) -> None:
    """The plan drops its workload's replica count (once); the emitted object gets the same removal as a JSON patch."""
    before = plan.autoscaled
    plan.hand_replicas_to_autoscaler()
    if plan.autoscaled and not before:
        workload.add_json_patch(cdk8s.JsonPatch.remove("/spec/replicas"))


def emit_all(scope: Construct, planned: Sequence[KubeObject]) -> dict[str, cdk8s.ApiObject]:
    emitted = {obj.id: emit(scope, obj) for obj in planned}
    registry_of(scope).emitted.update(id(api) for api in emitted.values())
    return emitted


def create(construct: Construct, scope: Construct, construct_id: str, path: str) -> None:
    """``Construct.__init__``; a taken id becomes a ConfigError (nothing else is created yet)."""
    try:
        Construct.__init__(construct, scope, construct_id)
    except RuntimeError as exc:
        if "already a Construct" not in str(exc):
            raise
        parent = path.rsplit("/", 1)[0] if "/" in path else "the app"
        raise ConfigError(
            path=path,
            field="id",
            value=construct_id,
            problem=f"is already used by another construct in {parent}",
            allowed="one construct per id in a scope",
            fix="give each construct its own id",
        ) from None


def guarded(path: str, run: Callable[[], T]) -> T:
    """Run a jsii call caused by user input; a failure becomes a ConfigError naming the construct."""
    try:
        return run()
    except ConfigError:
        raise
    except (RuntimeError, jsii.errors.JSIIError) as exc:
        text = str(exc).splitlines()[0].removeprefix("Error: ")
        raise ConfigError(
            path=path,
            field="(construct)",
            value=type(exc).__name__,
            problem=f"was refused by cdk8s: {text}",
            allowed="valid construct input",
            fix="correct the input named in the message",
        ) from None


# ------------------------------------------------------------------------------------------------ app-level checks


def _charts(scope: IConstruct) -> list[cdk8s.Chart]:
    if isinstance(scope, cdk8s.App):
        return list(scope.charts)
    if cdk8s.Chart.is_chart(scope):
        return [scope]  # type: ignore[list-item]
    return [c for c in scope.node.find_all() if cdk8s.Chart.is_chart(c)]  # type: ignore[misc]


def rendered(scope: IConstruct, *, only_hand_added: bool = False) -> list[tuple[str, str, dict[str, Any]]]:
    """(construct path, chart namespace, manifest) of every object under ``scope`` (or only of those the constructs did
    not plan); an escape-hatch patch that cannot apply raises ConfigError naming its object."""
    ours = registry_of(scope).emitted if only_hand_added else set()
    out: list[tuple[str, str, dict[str, Any]]] = []
    for chart in _charts(scope):
        namespace = chart.namespace or ""
        for child in chart.node.find_all():
            if isinstance(child, cdk8s.ApiObject) and id(child) not in ours:
                doc = guarded(child.node.path, child.to_json)
                if doc:
                    out.append((child.node.path, namespace, dict(doc)))
    return out


def key_of(doc: Mapping[str, Any], chart_namespace: str) -> Key:
    """(group, kind, namespace, name) of a manifest; a missing namespace is the chart's, else 'default'."""
    meta = doc.get("metadata") or {}
    meta = meta if isinstance(meta, Mapping) else {}
    obj = KubeObject("", str(doc.get("apiVersion", "")), str(doc.get("kind", "")), str(meta.get("name", "")), {}, {})
    return obj.key(str(meta.get("namespace") or chart_namespace))


def collisions(entries: Iterable[tuple[str, Key]]) -> list[Problem]:
    """One problem per object whose (group, kind, namespace, name) an earlier entry already has."""
    seen: dict[Key, str] = {}
    problems: list[Problem] = []
    for path, key in entries:
        if key in seen:
            problems.append(
                Problem(
                    path,
                    f"{key[1]}/{key[3]}",
                    key[3],
                    f"is also emitted by {seen[key]} in namespace {key[2]!r}, and Kubernetes keeps one object per kind, namespace and name",
                    "unique names per kind and namespace across the whole app",
                    "rename one of them",
                )
            )
        seen.setdefault(key, path)
    return problems


def check_app(scope: IConstruct) -> None:
    """Refuse what cdk8s would write wrongly: hand-added objects that collide with each other or with the constructs'
    objects (same kind, namespace and name; a chart without namespace counts as 'default'), and escape-hatch patches
    of hand-added objects that cannot apply. Raises ConfigError naming the object."""
    entries = [(path, key) for key, path in registry_of(scope).objects.items()]
    entries += [(path, key_of(doc, ns)) for path, ns, doc in rendered(scope, only_hand_added=True)]
    problems = collisions(entries)
    if problems:
        raise ConfigError.of(problems)


def synth(app: cdk8s.App) -> None:
    """``app.synth()`` after :func:`check_app`; a failure while writing (e.g. an escape-hatch JSON patch that cannot
    apply) becomes a ConfigError naming the object. Nothing is written unless every object is sound."""
    check_app(app)
    try:
        app.synth()
    except (RuntimeError, jsii.errors.JSIIError):
        rendered(app)  # raises the ConfigError naming the object whose patches fail
        raise


@jsii.implements(IValidation)
class _AppCheck:
    """Validation cdk8s runs in ``app.synth()`` before writing: the same app-wide collision check."""

    def __init__(self, app: IConstruct) -> None:
        self.app = app

    def validate(self) -> list[str]:
        try:
            check_app(self.app)
        except ConfigError as err:
            return [str(err)]
        return []


def watch_app(scope: IConstruct) -> None:
    """Make plain ``app.synth()`` refuse colliding objects too (once per App)."""
    root = root_of(scope)
    if _attr(root, "_vc_watched") is None:
        root.node.add_validation(_AppCheck(root))
        root._vc_watched = True  # type: ignore[attr-defined]
