"""`vllm-constructs diff OLD NEW`: what applying the manifests in NEW over those in OLD does to a cluster.

For a reviewer of a dist/ diff: which objects restart GPU pods, download weights again, need replacing because
Kubernetes refuses the change in place, or change how many accelerators the app may claim. Pure Python over the YAML
files (no cdk8s, no jsii, no Node): it starts in a fraction of a second in CI.

An object is identified by the folder it is in (relative to OLD or NEW: one folder per cluster, e.g. prod/us-east),
its API group, kind, namespace (kubectl's "default" when absent) and name. File names do not matter, so moving an
object between files of one folder is no change.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ._diff_capacity import Autoscaler, Figures, autoscaler_of, figures, workload_of
from ._diff_effects import changed_paths, describe_changes, download_job, metadata_only, replace_reasons, restart_reasons, short

__all__ = ["EFFECTS", "DiffInputError", "Entry", "ObjectKey", "Report", "diff_trees", "load_tree", "main", "render_json", "render_markdown"]

EFFECTS = ("replace", "redownload", "restart", "capacity", "none")
_KUSTOMIZATION_FILES = {"kustomization.yaml", "kustomization.yml", "Kustomization"}
_CLUSTER_SCOPED = {
    ("", "Namespace"), ("", "Node"), ("", "PersistentVolume"),
    ("rbac.authorization.k8s.io", "ClusterRole"), ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("storage.k8s.io", "StorageClass"), ("storage.k8s.io", "CSIDriver"), ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "VolumeAttachment"), ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("scheduling.k8s.io", "PriorityClass"), ("node.k8s.io", "RuntimeClass"), ("networking.k8s.io", "IngressClass"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"), ("apiregistration.k8s.io", "APIService"),
    ("certificates.k8s.io", "CertificateSigningRequest"), ("resource.k8s.io", "DeviceClass"),
    ("gateway.networking.k8s.io", "GatewayClass"), ("keda.sh", "ClusterTriggerAuthentication"),
}  # fmt: skip
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DiffInputError(Exception):
    """Bad arguments or unreadable input; the message starts with the argument or path at fault."""


@dataclass(frozen=True, order=True)
class ObjectKey:
    target: str  # folder relative to OLD/NEW ("" for the top level)
    namespace: str  # "" for cluster-scoped kinds
    group: str
    kind: str
    name: str

    def label(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True)
class Manifest:
    key: ObjectKey
    api_version: str
    body: dict[str, Any]
    source: str  # "file (document n)"


Tree = dict[ObjectKey, Manifest]


# ---------------------------------------------------------------- loading


def manifest_files(root: Path) -> list[Path]:
    """Every .yaml/.yml file under root, in a stable order; hidden folders and kustomization files are skipped."""

    def fail(error: OSError) -> None:
        raise DiffInputError(f"{error.filename}: cannot read: {error.strerror}")

    found = []
    for folder, subfolders, files in os.walk(root, onerror=fail):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        found += [Path(folder) / name for name in sorted(files) if name.endswith((".yaml", ".yml")) and name not in _KUSTOMIZATION_FILES]
    return found


def _documents(path: Path) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DiffInputError(f"{path}: cannot read: {getattr(error, 'strerror', None) or error}") from None
    try:
        return list(yaml.load_all(text, Loader=_LOADER))  # a safe loader: CSafeLoader or SafeLoader
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise DiffInputError(f"{path}: invalid YAML{where}: {getattr(error, 'problem', None) or error}") from None


def _objects(document: Any, where: str) -> Iterator[dict[str, Any]]:
    """The Kubernetes objects of one YAML document (a `kind: List` holds several)."""
    if document is None:
        return
    if not isinstance(document, dict):
        raise DiffInputError(f"{where}: is a {type(document).__name__}, not a Kubernetes object")
    if document.get("kind") == "List" and isinstance(document.get("items"), list):
        for index, item in enumerate(document["items"]):
            yield from _objects(item, f"{where} item {index}")
        return
    yield document


def _object_key(body: dict[str, Any], target: str, where: str) -> tuple[ObjectKey, str]:
    api_version, kind, metadata = body.get("apiVersion"), body.get("kind"), body.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    for label, value in (("apiVersion", api_version), ("kind", kind), ("metadata.name", name)):
        if not isinstance(value, str) or not value:
            raise DiffInputError(f"{where}: has no {label}; every document must be a Kubernetes object")
    assert isinstance(api_version, str) and isinstance(kind, str) and isinstance(metadata, dict)  # narrowed above
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    namespace = "" if (group, kind) in _CLUSTER_SCOPED else str(metadata.get("namespace") or "default")
    return ObjectKey(target, namespace, group, kind, str(name)), api_version


def load_tree(folder: str) -> Tree:
    """Every object in the YAML files under folder, by identity; a duplicate identity in one folder is an error."""
    root = Path(folder)
    if not root.is_dir():
        raise DiffInputError(f"{folder}: {'not a directory' if root.exists() else 'no such directory'}")
    tree: Tree = {}
    for path in manifest_files(root):
        target = path.parent.relative_to(root).as_posix()
        target = "" if target == "." else target
        for number, document in enumerate(_documents(path), start=1):
            where = f"{path} (document {number})"
            for body in _objects(document, where):
                key, api_version = _object_key(body, target, where)
                if key in tree:
                    raise DiffInputError(f"{where}: {key.kind} {key.label()} is also defined in {tree[key].source}")
                tree[key] = Manifest(key, api_version, body, where)
    return tree


# ---------------------------------------------------------------- diff


@dataclass
class Entry:
    """One added, removed or changed object and what applying it does."""

    key: ObjectKey
    api_version: str
    change: str  # added, removed, changed
    effects: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, effect: str, detail: str) -> None:
        if effect not in self.effects:
            self.effects.append(effect)
        self.details.append(detail)


@dataclass
class Report:
    entries: list[Entry]
    before: dict[ObjectKey, Figures]  # accelerator figures per workload
    after: dict[ObjectKey, Figures]

    def effects(self) -> set[str]:
        return {effect for entry in self.entries for effect in entry.effects}


def _strip_status(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != "status"}


def _figures_by_workload(tree: Tree) -> dict[ObjectKey, Figures]:
    """Accelerator figures of every workload, with the autoscaler (HPA or ScaledObject) that targets it, if any."""
    scalers: dict[tuple[str, str, str, str], Autoscaler] = {}
    for key, manifest in tree.items():
        scaler = autoscaler_of(key.group, key.kind, manifest.body)
        if scaler is not None:
            scalers.setdefault((key.target, key.namespace, scaler.target[1], scaler.target[2]), scaler)
    result = {}
    for key, manifest in tree.items():
        workload = workload_of(key.group, key.kind, manifest.body)
        if workload is not None and workload.counted:
            result[key] = figures(workload, scalers.get((key.target, key.namespace, key.kind, key.name)))
    return result


def _figures_json(values: Figures | None) -> dict[str, dict[str, int]]:
    return {name: {"steady": steady, "max": ceiling} for name, (steady, ceiling) in (values or {}).items()}


def _figures_text(before: Figures | None, after: Figures | None) -> str:
    before, after = before or {}, after or {}
    parts = []
    for name in sorted(before.keys() | after.keys()):
        (old_steady, old_max), (new_steady, new_max) = before.get(name, (0, 0)), after.get(name, (0, 0))
        if (old_steady, old_max) != (new_steady, new_max):
            parts.append(f"{name} steady {old_steady} → {new_steady}, max {old_max} → {new_max}")
    return "; ".join(parts)


def _download_pairs(old: Tree, new: Tree) -> dict[ObjectKey, ObjectKey]:
    """New download Job -> the removed download Job of the same server (content-addressed names differ)."""

    def by_server(tree: Tree, keys: set[ObjectKey]) -> dict[tuple[str, str, str], ObjectKey]:
        found: dict[tuple[str, str, str], ObjectKey] = {}
        for key in sorted(keys):
            job = download_job(key.group, key.kind, tree[key].body)
            if job is not None:
                found.setdefault((key.target, key.namespace, job.server), key)
        return found

    removed, added = by_server(old, old.keys() - new.keys()), by_server(new, new.keys() - old.keys())
    return {added[server]: removed[server] for server in added.keys() & removed.keys()}


def _revision(value: str | None) -> str:
    """A commit hash abbreviated the way git does (12 characters); branch and tag names as they are."""
    text = value or "unset"
    return text[:12] if len(text) == 40 and all(char in "0123456789abcdef" for char in text) else short(text)


def _redownload(entry: Entry, previous: Manifest | None, new: Manifest) -> None:
    """redownload when a download Job appears (a new content-addressed name), or one changes what it fetches."""
    after = download_job(new.key.group, new.key.kind, new.body)
    before = download_job(previous.key.group, previous.key.kind, previous.body) if previous is not None else None
    if after is None:
        return
    same_inputs = before is not None and (before.source, before.revision) == (after.source, after.revision)
    if same_inputs and previous is not None and previous.key == new.key:
        return  # the same Job with other settings: a template change (replace), not new weights
    if before is None:
        detail = f"first download for server {after.server}: {after.source or '?'} at {_revision(after.revision)}"
    elif same_inputs:
        detail = f"server {after.server}: download settings changed, same {after.source} at {_revision(after.revision)}"
    else:
        changes = [f"source {before.source} → {after.source}"] if before.source != after.source else []
        changes += [f"revision {_revision(before.revision)} → {_revision(after.revision)}"] if before.revision != after.revision else []
        detail = f"server {after.server}: {'; '.join(changes)}"
    if previous is not None and previous.key != new.key:
        detail += f" (replaces Job {previous.key.name})"
        entry.extra["replaces"] = previous.key.name
    entry.add("redownload", detail)
    entry.extra["download"] = {
        "server": after.server,
        "source": {"before": before.source if before else None, "after": after.source},
        "revision": {"before": before.revision if before else None, "after": after.revision},
    }


def _capacity_detail(entry: Entry, before: dict[str, Any] | None, after: dict[str, Any] | None, totals: str) -> str:
    what = describe_changes(before, after) if before is not None and after is not None else entry.change
    return f"{what}; {totals}" if totals else what


def _workload_capacity(entry: Entry, old: Manifest | None, new: Manifest | None, report: Report) -> None:
    """capacity when a workload appears, goes, or changes replicas, group size or accelerators per pod."""
    key = entry.key
    models = [workload_of(key.group, key.kind, m.body) if m is not None else None for m in (old, new)]
    if models == [None, None]:
        return
    before, after = report.before.get(key), report.after.get(key)
    if before or after:
        entry.extra["gpus"] = {"before": _figures_json(before), "after": _figures_json(after)}
    facts = [model.facts if model is not None else None for model in models]
    if facts[0] != facts[1]:
        entry.add("capacity", _capacity_detail(entry, facts[0], facts[1], _figures_text(before, after)))


def _scaled_workload(report: Report, key: ObjectKey, target: tuple[str, str, str]) -> ObjectKey:
    """The workload an autoscaler targets (same folder and namespace, kind and name), as known on either side."""
    for workload in sorted(report.before.keys() | report.after.keys()):
        if (workload.target, workload.namespace, workload.kind, workload.name) == (key.target, key.namespace, target[1], target[2]):
            return workload
    return ObjectKey(key.target, key.namespace, *target)


def _autoscaler_capacity(entry: Entry, old: Manifest | None, new: Manifest | None, report: Report) -> None:
    """capacity when an autoscaler appears, goes, or changes its bounds or its target."""
    key = entry.key
    scalers = [autoscaler_of(key.group, key.kind, m.body) if m is not None else None for m in (old, new)]
    current = scalers[1] or scalers[0]
    if current is None:
        return
    workload = _scaled_workload(report, key, current.target)
    before, after = report.before.get(workload), report.after.get(workload)
    if before or after:
        entry.extra["gpus"] = {
            "workload": f"{workload.kind} {workload.label()}",
            "before": _figures_json(before),
            "after": _figures_json(after),
        }
    facts = [scaler.facts if scaler is not None else None for scaler in scalers]
    if facts[0] != facts[1]:
        totals = _figures_text(before, after)
        entry.add("capacity", _capacity_detail(entry, facts[0], facts[1], f"{workload.kind} {workload.label()} {totals}" if totals else ""))


def _settle(entry: Entry, old: Manifest | None, new: Manifest | None) -> None:
    """A changed object with no other effect is `none` (metadata only) or applied in place (no effect listed)."""
    if entry.effects or old is None or new is None:
        return
    if metadata_only(old.body, new.body):
        entry.add("none", "metadata only: " + describe_changes(old.body.get("metadata"), new.body.get("metadata"), "metadata."))
    else:
        entry.details.append("applied in place: " + describe_changes(_strip_status(old.body), _strip_status(new.body)))


def _entry(key: ObjectKey, old: Manifest | None, new: Manifest | None, replaced_job: Manifest | None, report: Report) -> Entry:
    present = new if new is not None else old
    assert present is not None  # a key comes from one of the two trees
    entry = Entry(key, present.api_version, "added" if old is None else "removed" if new is None else "changed")
    # effects are added in the order of EFFECTS: replace, redownload, restart, capacity, none
    if old is not None and new is not None:
        for reason in replace_reasons(key.group, key.kind, old.body, new.body):
            entry.add("replace", reason)
    if new is not None:
        _redownload(entry, replaced_job or old, new)
    if old is not None and new is not None:
        for reason in restart_reasons(key.group, key.kind, old.body, new.body):
            entry.add("restart", reason)
        entry.extra["changed_fields"] = changed_paths(_strip_status(old.body), _strip_status(new.body))
    _workload_capacity(entry, old, new, report)
    _autoscaler_capacity(entry, old, new, report)
    _settle(entry, old, new)
    if entry.change == "removed" and (key.group, key.kind) == ("", "PersistentVolumeClaim"):
        entry.details.append("a pruning sync deletes the claim and, with reclaimPolicy Delete, its volume (the cached weights)")
    return entry


def diff_trees(old: Tree, new: Tree) -> Report:
    """Every added, removed or changed object (unchanged ones are left out) and the accelerator figures."""
    report = Report([], _figures_by_workload(old), _figures_by_workload(new))
    pairs = _download_pairs(old, new)
    replaced = set(pairs.values())
    for key in sorted(old.keys() | new.keys(), key=lambda k: (k.target, k.namespace, k.kind, k.name, k.group)):
        before, after = old.get(key), new.get(key)
        if key in replaced or (before is not None and after is not None and _strip_status(before.body) == _strip_status(after.body)):
            continue
        report.entries.append(_entry(key, before, after, old.get(pairs[key]) if key in pairs else None, report))
    return report


# ---------------------------------------------------------------- output


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _summary(report: Report) -> str:
    if not report.entries:
        return "No object added, removed or changed."
    counts = {effect: sum(effect in entry.effects for entry in report.entries) for effect in EFFECTS}
    effects = ", ".join(f"{count} {effect}" for effect, count in counts.items() if count)
    noun = "object" if len(report.entries) == 1 else "objects"
    return f"{len(report.entries)} {noun} added, removed or changed" + (f": {effects}." if effects else ".")


def _object_table(report: Report) -> list[str]:
    with_target = any(entry.key.target for entry in report.entries)
    header = ["target"] * with_target + ["kind", "namespace/name", "change", "effects", "detail"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for entry in report.entries:
        cells = [entry.key.target or "."] * with_target + [entry.key.kind, entry.key.label(), entry.change]
        cells += [", ".join(entry.effects) or "-", "<br>".join(entry.details) or "-"]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return lines


def _totals(figures_by_workload: dict[ObjectKey, Figures], target: str) -> Figures:
    totals: dict[str, tuple[int, int]] = {}
    for key, values in figures_by_workload.items():
        if key.target == target:
            for name, (steady, ceiling) in values.items():
                old_steady, old_ceiling = totals.get(name, (0, 0))
                totals[name] = (old_steady + steady, old_ceiling + ceiling)
    return totals


def _pair(values: Figures, name: str) -> str:
    steady, ceiling = values.get(name, (0, 0))
    return f"{steady} / {ceiling}"


def _gpu_table(report: Report) -> list[str]:
    """Accelerators per changed workload and in total per folder: steady count / autoscaler maximum."""
    rows = []
    for key in sorted(report.before.keys() | report.after.keys()):
        before, after = report.before.get(key, {}), report.after.get(key, {})
        for name in sorted(before.keys() | after.keys()):
            if before.get(name, (0, 0)) != after.get(name, (0, 0)):
                label = f"{key.target}: " * bool(key.target) + f"{key.kind} {key.label()}"
                rows.append(f"| {_cell(label)} | {name} | {_pair(before, name)} | {_pair(after, name)} |")
    for target in sorted({key.target for key in report.before.keys() | report.after.keys()}):
        before, after = _totals(report.before, target), _totals(report.after, target)
        for name in sorted(before.keys() | after.keys()):
            label = f"total {target}" if target else "total"
            rows.append(f"| **{_cell(label)}** | {name} | {_pair(before, name)} | {_pair(after, name)} |")
    if not rows:
        return ["No accelerators claimed before or after."]
    return ["Accelerators (steady / autoscaler maximum):", "", "| workload | resource | before | after |", "|---|---|---|---|", *rows]


def render_markdown(report: Report) -> str:
    """A short Markdown report for a pull-request comment: the object table, then the accelerator totals."""
    lines = ["### vllm-constructs diff", "", _summary(report), ""]
    if report.entries:
        lines += [*_object_table(report), ""]
    lines += _gpu_table(report)
    return "\n".join(lines) + "\n"


def render_json(report: Report) -> str:
    """A JSON list: kind, namespace, name, change and effects of each object, plus detail fields."""
    items = []
    for entry in report.entries:
        item: dict[str, Any] = {
            "kind": entry.key.kind,
            "apiVersion": entry.api_version,
            "namespace": entry.key.namespace or None,
            "name": entry.key.name,
            "change": entry.change,
            "effects": entry.effects,
            "detail": entry.details,
        }
        if entry.key.target:
            item["target"] = entry.key.target
        items.append(item | entry.extra)
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- command


class _Parser(argparse.ArgumentParser):
    """argparse that reports `error: <argument>: <problem>` (exit 2) instead of its usage banner."""

    def error(self, message: str) -> Any:  # argparse declares NoReturn; raising keeps that promise
        prefix = "the following arguments are required: "
        if message.startswith(prefix):
            message = f"{message[len(prefix) :]}: missing (usage: vllm-constructs diff OLD NEW [--json] [--fail-on EFFECTS])"
        elif message.startswith("unrecognized arguments: "):
            message = f"{message[len('unrecognized arguments: ') :]}: unrecognized argument"
        elif message.startswith("argument "):
            message = message[len("argument ") :]
        raise DiffInputError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="vllm-constructs diff",
        description="What applying the manifests in NEW over those in OLD does: restart, redownload, replace, capacity or none.",
    )
    parser.add_argument("old", metavar="OLD", help="folder of the manifests now applied (e.g. a git worktree of main's dist/)")
    parser.add_argument("new", metavar="NEW", help="folder of the proposed manifests (e.g. this branch's dist/)")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of the Markdown report")
    parser.add_argument(
        "--fail-on",
        action="append",
        default=[],
        metavar="EFFECTS",
        help=f"exit 1 when any of these comma-separated effects occurs ({', '.join(EFFECTS)})",
    )
    return parser


def _fail_on(values: list[str]) -> set[str]:
    words = {word.strip() for value in values for word in value.split(",") if word.strip()}
    unknown = sorted(words - set(EFFECTS))
    if unknown:
        raise DiffInputError(f"--fail-on: {', '.join(map(repr, unknown))} is not an effect. Allowed: {', '.join(EFFECTS)}")
    if values and not words:
        raise DiffInputError(f"--fail-on: names no effect. Allowed: {', '.join(EFFECTS)}")
    return words


def main(argv: Sequence[str] | None = None) -> int:
    """Run `vllm-constructs diff`; 0 normally, 1 when a --fail-on effect occurs, 2 on bad arguments or input."""
    try:
        args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
        fail_on = _fail_on(args.fail_on)
        report = diff_trees(load_tree(args.old), load_tree(args.new))
    except DiffInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(render_json(report) if args.json else render_markdown(report))
    return 1 if fail_on & report.effects() else 0


if __name__ == "__main__":
    raise SystemExit(main())
