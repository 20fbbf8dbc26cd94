"""A synth-time lint of a construct tree: what would make a rollout unreproducible, unschedulable or broken.

``lint(scope)`` reads what ``cdk8s.Chart.to_json()`` synthesizes for every chart under ``scope`` (an App or a
Chart), so it sees objects users add by hand (``cdk8s.ApiObject``, ``cdk8s.Include``, escape-hatch patches)
exactly as they will be written. Each finding names its rule, the construct path, the object and the fix.

Rules (id: default severity):

- ``image-latest``: error. The tag is ``latest`` (or missing, which means ``latest``) and there is no digest.
- ``image-mutable-tag``: warning. A tag without a digest; the registry may move it.
- ``missing-limits``: error. A container (init, sidecar, Job, any pod) has no CPU or no memory limit.
- ``probe-port-unknown``: error. A probe targets a port name the container does not declare, or a number no
  container of the pod declares.
- ``parallel-without-shm``: error. A container runs tensor/pipeline parallel (> 1) or holds more than one
  accelerator, without a memory-backed ``/dev/shm``.
- ``service-links``: error. ``enableServiceLinks`` is not false; Kubernetes then injects ``<SERVICE>_PORT``
  variables (``VLLM_PORT`` for a Service named ``vllm``) that vLLM reads as its own settings.
- ``extended-resource-mismatch``: error. An accelerator or other extended resource whose request differs from its limit.
- ``selector-matches-nothing``: error. A Service or PodDisruptionBudget selects no pod template in the tree
  (operator-added labels of KubeRay and LeaderWorkerSet pods are taken into account).
- ``scale-target-missing``: error. An HPA or KEDA ScaledObject whose scaleTargetRef names no workload in the tree.
- ``hf-revision-branch``: warning. A Hugging Face revision that is a branch or tag name, not a 40-hex commit.
- ``host-network``: warning. ``hostNetwork: true`` (opt-in ``PodOptions(host_network=True)``).
- ``added-capabilities``: warning. Linux capabilities added to a container (opt-in ``Rdma`` adds IPC_LOCK;
  ``SecurityProfile(add_capabilities=...)`` adds any).
- ``capacity-low-concurrency``: warning. The workload's capacity plan (annotation ``vllm-constructs.io/capacity``)
  holds fewer than :data:`LOW_CONCURRENCY` requests of max_model_len in the KV cache of the smallest allowed GPU.
- ``capacity-slow-startup``: warning. Reading the weights at the plan's assumed bandwidth takes longer than the
  startup probe's budget.
- ``capacity-pod-memory``: warning. The memory limit is below vLLM's estimated host memory plus the /dev/shm size.

:class:`LintPolicy` raises or lowers a rule's severity, disables rules, or waives one rule under one construct
path with a stated reason. :func:`assert_clean` raises :class:`~vllm_constructs.errors.ConfigError` listing every
error finding and returns the warnings.
"""

from __future__ import annotations

import enum
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from constructs import IConstruct

from ._adapter import rendered
from .core.capacity.server_plan import ANNOTATION as CAPACITY_ANNOTATION
from .core.capacity.server_plan import from_annotation
from .errors import ConfigError

__all__ = ["RULES", "Finding", "LintPolicy", "Severity", "Waiver", "assert_clean", "lint", "report"]

JsonObject = dict[str, Any]


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


RULES: Mapping[str, Severity] = {
    "image-latest": Severity.ERROR,
    "image-mutable-tag": Severity.WARNING,
    "missing-limits": Severity.ERROR,
    "probe-port-unknown": Severity.ERROR,
    "parallel-without-shm": Severity.ERROR,
    "service-links": Severity.ERROR,
    "extended-resource-mismatch": Severity.ERROR,
    "selector-matches-nothing": Severity.ERROR,
    "scale-target-missing": Severity.ERROR,
    "hf-revision-branch": Severity.WARNING,
    "host-network": Severity.WARNING,
    "added-capabilities": Severity.WARNING,
    "capacity-low-concurrency": Severity.WARNING,
    "capacity-slow-startup": Severity.WARNING,
    "capacity-pod-memory": Severity.WARNING,
}
"""Every rule id and its default severity."""

_CORE_RESOURCES = ("cpu", "memory", "ephemeral-storage")
_ACCELERATOR_RE = re.compile(r"gpu|tpu|gaudi|neuron", re.IGNORECASE)
_COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
_PARALLEL_FLAGS = ("--tensor-parallel-size", "-tp", "--pipeline-parallel-size", "-pp")


@dataclass(frozen=True, slots=True)
class Finding:
    """One lint result."""

    severity: Severity
    rule: str
    path: str
    """Construct path of the object (e.g. ``my-chart/Server/Deployment/Resource``)."""
    kind: str
    name: str
    message: str
    """What is wrong and how to fix it."""

    def __str__(self) -> str:
        return f"{self.severity} [{self.rule}] {self.path} ({self.kind}/{self.name}): {self.message}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Waiver:
    """Accept one rule's findings under one construct path (the path itself or anything below it)."""

    rule: str
    """Rule id. No default."""
    path: str
    """Construct path prefix, e.g. the chart id. No default."""
    reason: str
    """Why the finding is accepted; required so that the waiver documents itself. No default."""


@dataclass(frozen=True, kw_only=True, slots=True)
class LintPolicy:
    """Severity overrides, disabled rules and waivers on top of :data:`RULES`."""

    severities: Mapping[str, Severity] = field(default_factory=dict)
    """Rule id -> severity, e.g. ``{"image-mutable-tag": Severity.ERROR}``. Default: each rule's default."""
    disabled: frozenset[str] = frozenset()
    """Rule ids not run. Default: none."""
    waivers: tuple[Waiver, ...] = ()
    """Findings accepted under a construct path. Default: none."""

    def check(self) -> None:
        for rule in (*self.severities, *self.disabled, *(w.rule for w in self.waivers)):
            if rule not in RULES:
                raise ConfigError(
                    path="LintPolicy",
                    field="rule",
                    value=rule,
                    problem="is not a lint rule",
                    allowed=", ".join(RULES),
                    fix="use one of those ids",
                )
        for rule, severity in self.severities.items():
            if not isinstance(severity, Severity):
                raise ConfigError(
                    path="LintPolicy",
                    field=f"severities[{rule!r}]",
                    value=severity,
                    problem="is not a Severity",
                    allowed="Severity.ERROR or Severity.WARNING",
                    fix="use the enum",
                )
        for waiver in self.waivers:
            if not waiver.reason.strip():
                raise ConfigError(
                    path="LintPolicy",
                    field="waivers.reason",
                    value=waiver.reason,
                    problem=f"is empty for the waiver of {waiver.rule} under {waiver.path!r}",
                    allowed="a sentence saying why the finding is acceptable",
                    fix="state the reason",
                )

    def severity(self, rule: str) -> Severity:
        return self.severities.get(rule, RULES[rule])

    def waived(self, rule: str, path: str) -> bool:
        return any(w.rule == rule and (path == w.path or path.startswith(w.path.rstrip("/") + "/")) for w in self.waivers)


# ---------------------------------------------------------------------------------------------- the tree


def _map(value: object) -> Mapping[str, Any]:
    """``value`` when it is a mapping, else an empty one: a hand-added object may be malformed anywhere, and lint
    reads what it can instead of failing (the schema checks report the shape)."""
    return value if isinstance(value, Mapping) else {}


def _maps(value: object) -> list[Mapping[str, Any]]:
    """The mappings in ``value`` when it is a list (anything else in it is skipped)."""
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _words(value: object) -> list[str]:
    """A command, argument or capability list as strings ([] when it is not a list)."""
    return [str(v) for v in value] if isinstance(value, list) else []


@dataclass(frozen=True, slots=True)
class _Object:
    path: str
    body: JsonObject

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def api_group(self) -> str:
        api = str(self.body.get("apiVersion", ""))
        return api.rsplit("/", 1)[0] if "/" in api else ""

    @property
    def name(self) -> str:
        return str(_map(self.body.get("metadata")).get("name", ""))

    @property
    def namespace(self) -> str:
        return str(_map(self.body.get("metadata")).get("namespace") or "")


@dataclass(frozen=True, slots=True)
class _PodTemplate:
    owner: _Object
    labels: Mapping[str, str]
    spec: Mapping[str, Any]
    wildcard_labels: frozenset[str] = frozenset()
    """Label keys an operator sets to a value that varies by pod (e.g. LWS worker index != 0)."""


def _objects(scope: IConstruct) -> list[_Object]:
    """Every object under ``scope`` as synth writes it, with its construct path (even when a hand-added object has no
    usable metadata); an escape-hatch patch that cannot apply is a ConfigError naming its object."""
    return [_Object(path, body) for path, _, body in rendered(scope)]


def _meta_labels(template: Mapping[str, Any] | None) -> dict[str, str]:
    labels = _map(_map(_map(template).get("metadata")).get("labels"))
    return {str(k): str(v) for k, v in labels.items()}


def _pod_templates(obj: _Object) -> list[_PodTemplate]:
    spec = _map(obj.body.get("spec"))
    kind = obj.kind
    if kind == "Pod" and obj.api_group == "":
        return [_PodTemplate(obj, _meta_labels(obj.body), spec)]
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job") or (kind == "ReplicationController" and "template" in spec):
        t = _map(spec.get("template"))
        return [_PodTemplate(obj, _meta_labels(t), _map(t.get("spec")))]
    if kind == "CronJob":
        t = _map(_map(_map(spec.get("jobTemplate")).get("spec")).get("template"))
        return [_PodTemplate(obj, _meta_labels(t), _map(t.get("spec")))]
    if kind == "RayCluster" and obj.api_group == "ray.io":
        return _ray_templates(obj, spec)
    if kind == "LeaderWorkerSet" and obj.api_group == "leaderworkerset.x-k8s.io":
        return _lws_templates(obj, spec)
    return []


def _ray_templates(obj: _Object, spec: Mapping[str, Any]) -> list[_PodTemplate]:
    """KubeRay labels each pod with its cluster, node type and group (forced), and a few defaults if absent."""

    def labels(template: Mapping[str, Any], node_type: str, group: str) -> dict[str, str]:
        out = _meta_labels(template)
        for k, v in {
            "ray.io/is-ray-node": "yes",
            "app.kubernetes.io/name": "kuberay",
            "app.kubernetes.io/created-by": "kuberay-operator",
        }.items():
            out.setdefault(k, v)
        out.update({"ray.io/cluster": obj.name, "ray.io/node-type": node_type, "ray.io/group": group})
        return out

    head = _map(_map(spec.get("headGroupSpec")).get("template"))
    out = [_PodTemplate(obj, labels(head, "head", "headgroup"), _map(head.get("spec")))]
    for group in _maps(spec.get("workerGroupSpecs")):
        t = _map(group.get("template"))
        out.append(_PodTemplate(obj, labels(t, "worker", str(group.get("groupName", ""))), _map(t.get("spec"))))
    return out


def _lws_templates(obj: _Object, spec: Mapping[str, Any]) -> list[_PodTemplate]:
    """LWS labels every pod with the set's name and its index in the group (0 on the leader)."""
    lwt = _map(spec.get("leaderWorkerTemplate"))
    worker = _map(lwt.get("workerTemplate"))
    leader = _map(lwt.get("leaderTemplate")) or worker
    base = {"leaderworkerset.sigs.k8s.io/name": obj.name}
    group = frozenset({"leaderworkerset.sigs.k8s.io/group-index", "leaderworkerset.sigs.k8s.io/group-key"})
    return [
        _PodTemplate(
            obj, {**_meta_labels(leader), **base, "leaderworkerset.sigs.k8s.io/worker-index": "0"}, _map(leader.get("spec")), group
        ),
        _PodTemplate(
            obj,
            {**_meta_labels(worker), **base},
            _map(worker.get("spec")),
            group | {"leaderworkerset.sigs.k8s.io/worker-index"},
        ),
    ]


def _containers(pod: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for c in _maps(pod.get("initContainers")):
        yield "init container", c
    for c in _maps(pod.get("containers")):
        yield "container", c
    for c in _maps(pod.get("ephemeralContainers")):
        yield "ephemeral container", c


# ---------------------------------------------------------------------------------------------- rules


_Raw = tuple[str, _Object, str]  # (rule, object, message)


def _images(obj: _Object, pod: Mapping[str, Any]) -> Iterator[_Raw]:
    users: dict[str, list[str]] = {}
    for _, c in _containers(pod):
        users.setdefault(str(c.get("image", "")), []).append(str(c.get("name")))
    for image, names in users.items():
        if not image or "@" in image:
            continue
        last = image.rsplit("/", 1)[-1]
        tag = last.split(":", 1)[1] if ":" in last else None
        who = f"container{'s' if len(names) > 1 else ''} {', '.join(map(repr, names))} use{'' if len(names) > 1 else 's'} {image!r}"
        if tag is None or tag == "latest":
            yield (
                "image-latest",
                obj,
                f"{who}: 'latest' moves with every push, so two pods of one rollout can run different code; "
                "use Image(repository, tag='v...', digest='sha256:...')",
            )
        else:
            yield (
                "image-mutable-tag",
                obj,
                f"{who}: tag is mutable; pin a digest for reproducible rollouts (Image(repository, tag=..., digest='sha256:...'))",
            )


def _limits(obj: _Object, pod: Mapping[str, Any]) -> Iterator[_Raw]:
    for what, c in _containers(pod):
        if what == "ephemeral container":
            continue
        limits = _map(_map(c.get("resources")).get("limits"))
        missing = [r for r in ("cpu", "memory") if r not in limits]
        if missing:
            yield (
                "missing-limits",
                obj,
                f"{what} {c.get('name')!r} has no {' and no '.join(missing)} limit, so it can starve the node's GPU workload; "
                f"set resources.limits.{' and resources.limits.'.join(missing)}",
            )


def _probes(obj: _Object, pod: Mapping[str, Any]) -> Iterator[_Raw]:
    all_numbers = {p.get("containerPort") for _, c in _containers(pod) for p in _maps(c.get("ports"))}
    for what, c in _containers(pod):
        names = {str(p["name"]) for p in _maps(c.get("ports")) if p.get("name")}
        for probe_kind in ("startupProbe", "readinessProbe", "livenessProbe"):
            probe = _map(c.get(probe_kind))
            for handler in ("httpGet", "tcpSocket", "grpc"):
                if handler not in probe:
                    continue
                port = _map(probe[handler]).get("port")
                number = _port_number(port)
                if isinstance(port, str) and number is None:
                    if port not in names:
                        yield (
                            "probe-port-unknown",
                            obj,
                            f"{probe_kind} of {what} {c.get('name')!r} targets port {port!r}, which the container does not declare "
                            f"(it declares {sorted(names) or 'no named ports'});"
                            " name the port in the container's ports or probe a declared one",
                        )
                elif port is not None and number not in all_numbers:
                    yield (
                        "probe-port-unknown",
                        obj,
                        f"{probe_kind} of {what} {c.get('name')!r} targets port {port if number is None else number!r}, "
                        "which no container of the pod declares; "
                        "declare it in ports (and probe it by name) or probe a declared port",
                    )


def _port_number(port: object) -> int | None:
    """A probe's port as a number (an int, or a string of decimal digits); None for a name or anything malformed."""
    if isinstance(port, int) and not isinstance(port, bool):
        return port
    return int(port) if isinstance(port, str) and port.isdecimal() else None


def _flag_value(args: list[str], flags: tuple[str, ...]) -> list[str]:
    values = []
    for i, arg in enumerate(args):
        head, sep, tail = arg.partition("=")
        if head in flags:
            if sep:
                values.append(tail)
            elif i + 1 < len(args):
                values.append(args[i + 1])
    return values


def _accelerators(limits: Mapping[str, Any]) -> int:
    total = 0
    for name, value in limits.items():
        if _ACCELERATOR_RE.search(name) and str(value).isdigit():
            total += int(str(value))
    return total


def _shm(obj: _Object, pod: Mapping[str, Any]) -> Iterator[_Raw]:
    memory_volumes = {v.get("name") for v in _maps(pod.get("volumes")) if _map(v.get("emptyDir")).get("medium") == "Memory"}
    for what, c in _containers(pod):
        args = [*_words(c.get("command")), *_words(c.get("args"))]
        sizes = [int(v) for v in _flag_value(args, _PARALLEL_FLAGS) if v.isdigit()]
        accelerators = _accelerators(_map(_map(c.get("resources")).get("limits")))
        if not (any(s > 1 for s in sizes) or accelerators > 1):
            continue
        if any(m.get("mountPath") == "/dev/shm" and m.get("name") in memory_volumes for m in _maps(c.get("volumeMounts"))):
            continue
        why = f"{accelerators} accelerators" if accelerators > 1 else "tensor/pipeline parallel size > 1"
        yield (
            "parallel-without-shm",
            obj,
            f"{what} {c.get('name')!r} runs with {why} but has no memory-backed /dev/shm "
            "(the runtime default is 64Mi and NCCL fails on it); "
            "mount an emptyDir with medium Memory at /dev/shm (PodOptions(shared_memory=SharedMemory.of('16Gi')))",
        )


def _service_links(obj: _Object, pod: Mapping[str, Any]) -> Iterator[_Raw]:
    if pod.get("enableServiceLinks") is not False:
        yield (
            "service-links",
            obj,
            "enableServiceLinks is not false, so Kubernetes injects <SERVICE>_PORT variables that clash with vLLM's own "
            "(VLLM_PORT for a Service named 'vllm'); set enableServiceLinks: false",
        )


def _extended(obj: _Object, pod: Mapping[str, Any]) -> Iterator[_Raw]:
    for what, c in _containers(pod):
        res = _map(c.get("resources"))
        requests, limits = _map(res.get("requests")), _map(res.get("limits"))
        for name in sorted({*requests, *limits}):
            if name in _CORE_RESOURCES or name.startswith("hugepages-"):
                continue
            if str(requests.get(name)) != str(limits.get(name)):
                yield (
                    "extended-resource-mismatch",
                    obj,
                    f"{what} {c.get('name')!r} requests {name}={requests.get(name)!r} but limits it to {limits.get(name)!r}; "
                    "extended resources cannot be overcommitted: set request and limit to the same count",
                )


def _selected(selector: Mapping[str, Any], expressions: list[Mapping[str, Any]], t: _PodTemplate) -> bool:
    for k, v in selector.items():
        if k in t.wildcard_labels:
            if k == "leaderworkerset.sigs.k8s.io/worker-index" and str(v) == "0":
                return False  # the leader is index 0; worker templates never are
            continue
        if t.labels.get(k) != v:
            return False
    for e in expressions:
        key, op, values = e.get("key"), e.get("operator"), _words(e.get("values"))
        present = key in t.labels or key in t.wildcard_labels
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
        if op == "In" and key not in t.wildcard_labels and t.labels.get(str(key)) not in values:
            return False
        if op == "NotIn" and key not in t.wildcard_labels and t.labels.get(str(key)) in values:
            return False
    return True


def _selectors(obj: _Object, templates: list[_PodTemplate]) -> Iterator[_Raw]:
    spec = _map(obj.body.get("spec"))
    if obj.kind == "Service" and obj.api_group == "":
        match, expressions = _map(spec.get("selector")), list[Mapping[str, Any]]()
        if spec.get("type") == "ExternalName" or not match:
            return
    elif obj.kind == "PodDisruptionBudget" and obj.api_group == "policy":
        selector = _map(spec.get("selector"))
        match, expressions = _map(selector.get("matchLabels")), _maps(selector.get("matchExpressions"))
        if not match and not expressions:
            return  # an empty selector selects every pod of the namespace
    else:
        return
    if not any(t.owner.namespace == obj.namespace and _selected(match, expressions, t) for t in templates):
        yield (
            "selector-matches-nothing",
            obj,
            f"selector {dict(match)}{' with expressions' if expressions else ''} matches no pod template in the tree; "
            "derive it from the workload (e.g. server.selector_labels) instead of writing labels by hand",
        )


_WORKLOAD_KINDS = ("Deployment", "StatefulSet", "ReplicaSet", "RayCluster", "LeaderWorkerSet", "ReplicationController")


def _scale_targets(obj: _Object, objects: list[_Object]) -> Iterator[_Raw]:
    spec = _map(obj.body.get("spec"))
    if obj.kind == "HorizontalPodAutoscaler" and obj.api_group == "autoscaling":
        ref = _map(spec.get("scaleTargetRef"))
    elif obj.kind == "ScaledObject" and obj.api_group == "keda.sh":
        ref = {"apiVersion": "apps/v1", "kind": "Deployment", **_map(spec.get("scaleTargetRef"))}
    else:
        return
    api = str(ref.get("apiVersion", ""))
    group = api.rsplit("/", 1)[0] if "/" in api else ""
    for o in objects:
        if o.kind == ref.get("kind") and o.name == ref.get("name") and o.namespace == obj.namespace and o.api_group == group:
            return
    yield (
        "scale-target-missing",
        obj,
        f"scaleTargetRef {ref.get('kind')}/{ref.get('name')} ({api}) is not in the tree; pass the workload construct "
        "(Autoscaler(target=server)) so the reference is derived from it",
    )


def _hf_revisions(obj: _Object, pod: Mapping[str, Any]) -> Iterator[_Raw]:
    seen: set[str] = set()
    for _, c in _containers(pod):
        env = {e.get("name"): e.get("value") for e in _maps(c.get("env")) if "value" in e}
        revisions = []
        if str(env.get("SOURCE_URI", "")).startswith("hf://") and env.get("REVISION"):
            revisions.append((str(env["SOURCE_URI"])[5:], str(env["REVISION"])))
        args = [*_words(c.get("command")), *_words(c.get("args"))]
        revisions += [("the served model", v) for v in _flag_value(args, ("--revision",))]
        for repo, revision in revisions:
            if _COMMIT_RE.match(revision) or revision in seen:
                continue
            seen.add(revision)
            yield (
                "hf-revision-branch",
                obj,
                f"Hugging Face revision {revision!r} of {repo} is a branch or tag name that moves when the repository changes; "
                "pin the 40-hex commit shown under 'Files and versions' (ModelSource.huggingface(repo, revision='<commit>'))",
            )


def _privileges(obj: _Object, pod: Mapping[str, Any]) -> Iterator[_Raw]:
    if pod.get("hostNetwork"):
        yield (
            "host-network",
            obj,
            "hostNetwork is true (opt-in PodOptions(host_network=True)): the pod shares the node's network namespace and ports; "
            "drop it unless the interconnect needs it",
        )
    for what, c in _containers(pod):
        added = _words(_map(_map(c.get("securityContext")).get("capabilities")).get("add"))
        if added:
            yield (
                "added-capabilities",
                obj,
                f"{what} {c.get('name')!r} adds capabilities {', '.join(map(str, added))} (opt-in Rdma(...) adds IPC_LOCK; "
                "SecurityProfile(add_capabilities=...) adds any); keep only what the workload needs",
            )


LOW_CONCURRENCY = 2.0
"""Fewer full-length requests than this in the KV cache is a marginal plan (capacity-low-concurrency)."""


def _capacity(obj: _Object) -> Iterator[_Raw]:
    """Findings from the capacity plan a vLLM workload carries (see vllm_constructs.core.capacity)."""
    text = _map(_map(obj.body.get("metadata")).get("annotations")).get(CAPACITY_ANNOTATION)
    plan = from_annotation(text) if isinstance(text, str) else None
    if plan is None:
        return
    concurrency, gpu = plan.get("max_concurrency"), plan.get("gpu")
    if isinstance(concurrency, int | float) and concurrency < LOW_CONCURRENCY:
        yield (
            "capacity-low-concurrency",
            obj,
            f"the KV cache on {gpu} holds {plan.get('kv_cache_tokens')} tokens, {concurrency}x max_model_len {plan.get('max_model_len')}: "
            "requests queue as soon as a second long one arrives; lower max_model_len, raise tensor_parallel_size, use fp8 KV "
            "(engine.kv_cache_dtype='fp8') or require a larger GPU (run `vllm-constructs plan` to compare)",
        )
    load, budget = plan.get("estimated_startup_seconds"), plan.get("startup_budget_seconds")
    if isinstance(load, int) and isinstance(budget, int) and load > budget:
        yield (
            "capacity-slow-startup",
            obj,
            f"loading {plan.get('model')} is estimated at {load} s (weights at the assumed cache bandwidth plus compile and CUDA "
            f"graphs), above the startup budget of {budget} s: the kubelet would restart the pod mid-load; raise "
            "health.startup_timeout_seconds or use faster model storage",
        )
    limit, host, shm = plan.get("memory_limit_gib"), plan.get("host_memory_estimate_gib"), plan.get("shm_gib") or 0
    if isinstance(limit, int | float) and isinstance(host, int | float) and isinstance(shm, int | float) and limit < host + shm:
        yield (
            "capacity-pod-memory",
            obj,
            f"the memory limit ({limit} GiB) is below vLLM's estimated host memory ({host} GiB) plus /dev/shm ({shm} GiB, memory-backed): "
            "the container risks an OOM kill while loading; raise resources.memory",
        )


_POD_RULES = (_images, _limits, _probes, _shm, _service_links, _extended, _hf_revisions, _privileges)


def lint(scope: IConstruct, policy: LintPolicy | None = None) -> list[Finding]:
    """Every finding for the charts under ``scope`` (an App or a Chart), errors first, in tree order."""
    policy = policy or LintPolicy()
    policy.check()
    objects = _objects(scope)
    templates = [t for o in objects for t in _pod_templates(o)]
    raw: list[_Raw] = []
    for t in templates:
        for rule_fn in _POD_RULES:
            raw.extend(rule_fn(t.owner, t.spec))
    for o in objects:
        raw.extend(_selectors(o, templates))
        raw.extend(_scale_targets(o, objects))
        raw.extend(_capacity(o))
    findings: list[Finding] = []
    seen: set[tuple[str, str, str]] = set()
    for rule, obj, message in raw:
        if rule in policy.disabled or policy.waived(rule, obj.path) or (rule, obj.path, message) in seen:
            continue
        seen.add((rule, obj.path, message))
        findings.append(Finding(policy.severity(rule), rule, obj.path, obj.kind, obj.name, message))
    return sorted(findings, key=lambda f: f.severity is not Severity.ERROR)


def assert_clean(scope: IConstruct, policy: LintPolicy | None = None) -> list[Finding]:
    """Raise ConfigError listing every error finding; return the warnings."""
    findings = lint(scope, policy)
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if errors:
        listing = "".join(f"\n  - {f}" for f in errors)
        raise ConfigError(
            path=scope.node.path or "app",
            field="lint",
            value=len(errors),
            problem=f"error finding{'s' if len(errors) > 1 else ''}:{listing}\n",
            allowed="no error findings",
            fix="change the props as each message says, or lower a rule's severity or waive it with LintPolicy",
        )
    return findings


REPORT_PER_RULE = 2
"""Warnings printed per rule by :func:`report`; the rest are counted."""


def report(scope: IConstruct, policy: LintPolicy | None = None, stream: TextIO | None = None, label: str = "") -> None:
    """For an app's entry point: print warnings to ``stream`` (stderr); exit 1 after printing the errors if any.
    ``label`` (e.g. the output folder) heads every line, for entry points that write several Apps."""
    out = stream or sys.stderr
    head = f"lint: {label}: " if label else "lint: "
    try:
        warnings = assert_clean(scope, policy)
    except ConfigError as exc:
        print(f"{head}{exc}", file=out)
        raise SystemExit(1) from exc
    shown: dict[str, int] = {}
    for finding in warnings:
        shown[finding.rule] = shown.get(finding.rule, 0) + 1
        if shown[finding.rule] <= REPORT_PER_RULE:
            print(f"{head}{finding}", file=out)
    for rule, count in shown.items():
        if count > REPORT_PER_RULE:
            print(f"{head}warning [{rule}] ... and {count - REPORT_PER_RULE} more like these (lint() lists every finding)", file=out)
