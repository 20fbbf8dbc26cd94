"""The thin layer between the pure planning core and cdk8s: every construct plans first (pure, may raise
ConfigError), checks its objects against everything else in the App, and only then adds one ``cdk8s.ApiObject`` per
planned object. A ConfigError therefore leaves the App exactly as it was.

Objects are plain dicts emitted through a raw ``cdk8s.ApiObject`` plus one JSON patch per top-level key: the typed
L1 classes re-map an object after patches and silently drop fields they do not know (and render a plain quantity
string as null). The test suite validates every object strictly against the Kubernetes and CRD schemas instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import cdk8s
import jsii
from constructs import Construct, IConstruct, IValidation

from .core.objects import KubeObject
from .core.validation import Redacted
from .errors import ConfigError

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
        try:
            construct._vc_path = cached  # type: ignore[attr-defined]
        except AttributeError:  # a jsii proxy without a __dict__
            pass
    return str(cached)


def namespace_of(scope: IConstruct) -> str:
    """The namespace cdk8s stamps on objects in ``scope`` ('' means the kubectl default)."""
    cached = _attr(scope, "_vc_namespace")
    if cached is None:
        cached = cdk8s.Chart.of(scope).namespace or ""
        try:
            scope._vc_namespace = cached  # type: ignore[attr-defined]
        except AttributeError:
            pass
    return str(cached)


def root_of(scope: IConstruct) -> IConstruct:
    cached = _attr(scope, "_vc_root")
    if cached is None:
        parent = _attr(scope, "_vc_parent")
        cached = root_of(parent) if parent is not None else scope.node.root
        try:
            scope._vc_root = cached  # type: ignore[attr-defined]
        except AttributeError:
            pass
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
    if scope.node.try_find_child(construct_id) is not None:
        raise ConfigError(
            path=where,
            field="id",
            value=construct_id,
            problem=f"is already used by another construct in {parent or 'the app'}",
            allowed="one construct per id in a scope",
            fix="give each construct its own id",
        )
    return where, namespace_of(scope)


# ------------------------------------------------------------------------------------------------ App-wide registry


@dataclass(slots=True)
class Registry:
    """Objects and selectors taken in one App, so two constructs never emit one object twice."""

    objects: dict[Key, str] = field(default_factory=dict)
    selectors: dict[tuple[str, tuple[tuple[str, str], ...]], str] = field(default_factory=dict)
    claims: dict[str, str] = field(default_factory=dict)


def registry_of(scope: IConstruct) -> Registry:
    root = root_of(scope)
    reg = _attr(root, "_vc_registry")
    if reg is None:
        reg = Registry()
        root._vc_registry = reg  # type: ignore[attr-defined]
    return reg  # type: ignore[no-any-return]


def claim(
    scope: IConstruct,
    path: str,
    namespace: str,
    planned: Iterable[KubeObject],
    selector: Mapping[str, str] | None = None,
    exclusive: str | Sequence[str] | None = None,
) -> Callable[[], None]:
    """Check that nothing in the App already uses these objects (kind, namespace, name), this selector in the
    namespace, or the exclusive keys (e.g. 'autoscaler of X'); return the function that records them once created."""
    reg = registry_of(scope)
    keys_taken = [exclusive] if isinstance(exclusive, str) else list(exclusive or ())
    for taken in keys_taken:
        if taken in reg.claims:
            raise ConfigError(
                path=path,
                field="target",
                value=taken,
                problem=f"is already taken by {reg.claims[taken]}",
                allowed="one per target",
                fix="combine them into one",
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
                problem=f"is emitted by {owner} already in namespace {key[2]!r}, and Kubernetes keeps one object per kind, namespace and name",
                allowed="unique names per kind and namespace across the whole app",
                fix="give one of them another name (a different server name, or ServerNames for explicit names)",
            )

    def commit() -> None:
        for key in keys:
            reg.objects[key] = path
        if sel_key is not None:
            reg.selectors[sel_key] = path
        for taken in keys_taken:
            reg.claims[taken] = path

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


def emit_all(scope: Construct, planned: Sequence[KubeObject]) -> dict[str, cdk8s.ApiObject]:
    return {obj.id: emit(scope, obj) for obj in planned}


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


def rendered(scope: IConstruct) -> list[tuple[str, str, dict[str, Any]]]:
    """(construct path, chart namespace, manifest) of every object under ``scope``; an escape-hatch patch that cannot
    apply raises ConfigError naming its object."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    for chart in _charts(scope):
        namespace = chart.namespace or ""
        for child in chart.node.find_all():
            if isinstance(child, cdk8s.ApiObject):
                doc = guarded(child.node.path, child.to_json)
                if doc:
                    out.append((child.node.path, namespace, dict(doc)))
    return out


def collisions(objects: Iterable[tuple[str, str, dict[str, Any]]]) -> list[ConfigError]:
    seen: dict[Key, str] = {}
    errors: list[ConfigError] = []
    for path, chart_ns, doc in objects:
        meta = doc.get("metadata") or {}
        api = str(doc.get("apiVersion", ""))
        kind = str(doc.get("kind", ""))
        obj = KubeObject("", api, kind, str(meta.get("name", "")), {}, {})
        key = obj.key(str(meta.get("namespace") or chart_ns))
        if key in seen:
            errors.append(
                ConfigError(
                    path=path,
                    field=f"{kind}/{key[3]}",
                    value=key[3],
                    problem=f"is also emitted by {seen[key]} in namespace {key[2]!r}, and Kubernetes keeps one object per kind, namespace and name",
                    allowed="unique names per kind and namespace across the whole app",
                    fix="rename one of them",
                )
            )
        seen.setdefault(key, path)
    return errors


def check_app(scope: IConstruct) -> list[tuple[str, str, dict[str, Any]]]:
    """Everything cdk8s would write, checked: escape hatches apply, and no two objects share kind, namespace and
    name (a chart without namespace counts as 'default'). Raises ConfigError; returns the rendered objects."""
    objects = rendered(scope)
    problems = [p for err in collisions(objects) for p in err.problems]
    if problems:
        raise ConfigError.of(problems)
    return objects


def synth(app: cdk8s.App) -> None:
    """``app.synth()`` after :func:`check_app`: nothing is written unless every object is sound."""
    check_app(app)
    guarded("app", app.synth)


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
