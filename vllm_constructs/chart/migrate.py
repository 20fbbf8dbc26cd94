"""``vllm-constructs migrate``: the Python source of an apps/ module that builds a chart release in code with the
library's own constructs (VllmServer, Autoscaler) and plain ApiObjects for the release's other objects. It composes
the same parts as ``template`` renders, so its ``cdk8s synth`` writes the same objects."""

from __future__ import annotations

import dataclasses
import enum
import pprint
import re
from collections.abc import Mapping
from typing import Any

from ..core.autoscaling import CpuMemoryScaling, KedaScaling, Scaling
from ..core.model import HuggingFaceModel, ImageModel, ModelCache, ModelSource, NewClaimCache, PvcModel, S3Model
from ..core.objects import KubeObject
from ..core.server import ServerNames, ServerPlan
from ..core.values import EnvFrom, EnvFromConfigMap, EnvFromSecret, GpuProductAffinity, Recreate, RollingUpdate, RolloutStrategy
from .patches import Patch
from .plan import ReleasePlan

__all__ = ["migrate_source"]

_TOP_LEVEL = "vllm_constructs"
_WIDTH = 120
_PATCH_TARGET = {"Deployment": "server.deployment", "Job": "job", "ScaledObject": "autoscaler.resource"}
Call = tuple[type[Any], str, list[Any], dict[str, Any]]


class Code(str):
    """Python source written as is (a variable name), not as a string literal."""

    __slots__ = ()


def _changed(value: Any, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The fields of a value class that differ from their defaults."""
    out = {}
    for f in dataclasses.fields(value):
        current = getattr(value, f.name)
        if f.name in skip:
            continue
        if f.default is not dataclasses.MISSING and current == f.default:
            continue
        if f.default_factory is not dataclasses.MISSING and current == f.default_factory():
            continue
        out[f.name] = current
    return out


def _names(value: ServerNames) -> Call | None:
    release = value.deployment.removesuffix("-deployment-vllm")
    service = None if value.service == f"{release}-service" else value.service
    if value != ServerNames.helm_chart(release, service_name=service):
        return None
    return (ServerNames, "helm_chart", [release], {"service_name": service} if service else {})


def _factory(value: Any) -> Call | None:
    """The public factory call that builds ``value`` (closed unions and named constructors)."""
    one = frozenset
    match value:
        case HuggingFaceModel() | S3Model() | ImageModel() | PvcModel():
            first = {HuggingFaceModel: "repo_id", S3Model: "path", ImageModel: "path", PvcModel: "claim_name"}[type(value)]
            name = {HuggingFaceModel: "huggingface", S3Model: "s3", ImageModel: "image", PvcModel: "pvc"}[type(value)]
            return (ModelSource, name, [getattr(value, first)], _changed(value, one({first})))
        case NewClaimCache():
            return (ModelCache, "pvc", [value.size], _changed(value, one({"size"})))
        case RollingUpdate():
            return (RolloutStrategy, "rolling", [], _changed(value))
        case Recreate():
            return (RolloutStrategy, "recreate", [], {})
        case EnvFromConfigMap() | EnvFromSecret():
            return (
                EnvFrom,
                "config_map" if isinstance(value, EnvFromConfigMap) else "secret",
                [value.name],
                _changed(value, one({"name"})),
            )
        case CpuMemoryScaling():
            return (Scaling, "cpu_memory", [], _changed(value))
        case KedaScaling():
            kwargs = _changed(value, one({"prometheus_address", "targets"}))
            return (Scaling, "keda", [value.prometheus_address, dict(value.targets)], kwargs)
        case GpuProductAffinity():
            weight = {} if value.required or value.weight == 100 else {"weight": value.weight}
            return (GpuProductAffinity, "require" if value.required else "prefer", list(value.products), weight)
        case ServerNames():
            return _names(value)
    return None


class _Writer:
    """Python expressions for library values, and the imports they need."""

    def __init__(self, public: set[str]) -> None:
        self.public = public
        self.imports: dict[str, set[str]] = {}

    def need(self, cls: type[Any]) -> str:
        module = _TOP_LEVEL if cls.__name__ in self.public else cls.__module__
        self.imports.setdefault(module, set()).add(cls.__name__)
        return cls.__name__

    def expr(self, value: Any, indent: int) -> str:
        if isinstance(value, Code):
            return str(value)
        if isinstance(value, ServerPlan):
            return "server"
        if isinstance(value, enum.Enum):
            return f"{self.need(type(value))}.{value.name}"
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            made = _factory(value)
            if made is not None:
                cls, method, args, kwargs = made
                return self.call(f"{self.need(cls)}.{method}", args, kwargs, indent)
            return self.call(self.need(type(value)), [], _changed(value), indent)
        if isinstance(value, tuple):
            inner = [self.expr(v, indent + 4) for v in value]
            return f"({inner[0]},)" if len(inner) == 1 else f"({', '.join(inner)})"
        if isinstance(value, Mapping | list):
            return pprint.pformat(value, width=max(60, _WIDTH - indent), sort_dicts=False).replace("\n", "\n" + " " * indent)
        return repr(value)

    def call(self, head: str, args: list[Any], kwargs: dict[str, Any], indent: int) -> str:
        parts = [self.expr(a, indent + 4) for a in args] + [f"{k}={self.expr(v, indent + 5 + len(k))}" for k, v in kwargs.items()]
        flat = f"{head}({', '.join(parts)})"
        if len(flat) + indent <= _WIDTH and "\n" not in flat:
            return flat
        pad = " " * (indent + 4)
        return f"{head}(\n" + "".join(f"{pad}{p},\n" for p in parts) + " " * indent + ")"


def _patch_lines(patches: list[Patch], writer: _Writer) -> list[str]:
    lines = []
    if any(p.target == "Job" for p in patches):
        lines += ["        job = server.model_init_job", "        assert job is not None"]
    for p in patches:
        op = {"add": "add", "replace": "replace", "remove": "remove"}[p.op]
        args = [p.path] if p.op == "remove" else [p.path, p.value]
        lines.append(f"        {_PATCH_TARGET[p.target]}.add_json_patch({writer.call(f'cdk8s.JsonPatch.{op}', args, {}, 8)})")
    return lines


def _object_lines(obj: KubeObject, writer: _Writer) -> list[str]:
    var = re.sub(r"(?<!^)([A-Z])", r"_\1", obj.id).lower()
    meta: dict[str, Any] = {"name": obj.name, "labels": dict(obj.labels)}
    if obj.annotations:
        meta["annotations"] = dict(obj.annotations)
    metadata = Code(writer.call("cdk8s.ApiObjectMetadata", [], meta, 12))
    head = writer.call(
        "cdk8s.ApiObject", [Code("self"), obj.id], {"api_version": obj.api_version, "kind": obj.kind, "metadata": metadata}, 8
    )
    lines = [f"        {var} = {head}"]
    for key, value in obj.body.items():
        lines.append(f"        {var}.add_json_patch({writer.call('cdk8s.JsonPatch.add', [f'/{key}', value], {}, 8)})")
    return lines


def _body(plan: ReleasePlan, writer: _Writer) -> list[str]:
    writer.imports.setdefault(_TOP_LEVEL, set()).add("VllmServer")
    lines = [f"        server = VllmServer(self, 'Server', {writer.expr(plan.inputs.props, 8)})"]
    if plan.autoscaler is not None:
        writer.imports[_TOP_LEVEL].add("Autoscaler")
        named = "autoscaler = " if any(p.target == "ScaledObject" for p in plan.patches) else ""
        lines.append(f"        {named}Autoscaler(self, 'Autoscaler', {writer.expr(plan.autoscaler, 8)})")
    lines += _patch_lines(plan.patches, writer)
    for obj in plan.extras:
        lines += _object_lines(obj, writer)
    if any(o.id == "ScaledObject" for o in plan.extras):
        lines.append("        server.hand_replicas_to_autoscaler()  # the ScaledObject owns the replica count")
    return lines


def _import_lines(imports: Mapping[str, set[str]]) -> list[str]:
    lines = []
    for module in sorted(imports, key=lambda m: (m != _TOP_LEVEL, m)):
        names = sorted(imports[module])
        one = f"from {module} import {', '.join(names)}"
        lines += [one] if len(one) <= _WIDTH else [f"from {module} import (", *(f"    {n}," for n in names), ")"]
    return lines


def migrate_source(plan: ReleasePlan) -> str:
    """An apps/ module whose chart builds the release in code (``python module.py`` synthesizes it)."""
    import vllm_constructs  # noqa: PLC0415 - the package is loaded already; its public names decide the imports

    writer = _Writer(set(vllm_constructs.__all__))
    body = _body(plan, writer)
    name = "".join(part.capitalize() for part in re.split(r"[^a-zA-Z0-9]", plan.release) if part) + "Chart"
    return "\n".join(
        [
            f'"""vLLM release {plan.release!r}, migrated from the values of vLLM\'s example Helm chart by `vllm-constructs migrate`."""',
            "",
            "from __future__ import annotations",
            "",
            "import cdk8s",
            "from constructs import Construct",
            "",
            *_import_lines(writer.imports),
            "",
            "",
            f"class {name}(cdk8s.Chart):",
            f'    """The release {plan.release!r} in namespace {plan.namespace!r}."""',
            "",
            f"    def __init__(self, scope: Construct, chart_id: str = {plan.release!r}) -> None:",
            f"        super().__init__(scope, chart_id, namespace={plan.namespace!r}, disable_resource_name_hashes=True)",
            *body,
            "",
            "",
            'if __name__ == "__main__":',
            "    app = cdk8s.App()",
            f"    {name}(app)",
            "    app.synth()",
            "",
        ]
    )
