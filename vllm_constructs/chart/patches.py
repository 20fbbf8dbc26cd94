"""Changes the release makes to objects the library plans, as JSON patches: the same patch is applied in Python for
``template`` and as ``add_json_patch`` by the construct and by a ``migrate`` module, so all three write the same
objects.

- A custom download or wait command sees the model folder at ``/data``, like the chart's (a second mount of the same
  folder); the library keeps it under ``/models/<folder>`` for the server.
- A custom download with the default wait guard: the download runs first (an init container, your command verbatim),
  then a small step writes the completion marker the guard waits for, only if the folder is not empty.
- ``keda.initialCooldownPeriod`` above 0 is added to the ScaledObject.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from ..core.model import MARKER, MODEL_MOUNT, WAIT_RESOURCES
from ..core.objects import KubeObject

__all__ = ["Patch", "apply_patches", "download_patches"]

JsonObject = dict[str, Any]
CHART_DATA = "/data"
_MARK_SCRIPT = (
    'set -eu; [ -n "$(ls -A "$MODEL_DIR" 2>/dev/null)" ] || { echo "ERROR: the download left $MODEL_DIR empty" >&2; exit 1; }; '
    f'printf \'source=%s revision=%s\' "$SOURCE_URI" "$REVISION" > "$MODEL_DIR/{MARKER}.tmp"; '
    f'mv -f "$MODEL_DIR/{MARKER}.tmp" "$MODEL_DIR/{MARKER}"; echo "download complete in $MODEL_DIR"'
)


@dataclass(frozen=True, slots=True)
class Patch:
    """One JSON patch operation on an object the library plans, named by its kind (the server's one Deployment, its
    download Job, its autoscaler's ScaledObject)."""

    target: str
    op: str
    path: str
    value: Any = None


def _parent(doc: Any, path: str) -> tuple[Any, str]:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
    node = doc
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node, parts[-1]


def _apply(doc: JsonObject, patch: Patch) -> None:
    parent, last = _parent(doc, patch.path)
    value = copy.deepcopy(patch.value)
    if isinstance(parent, list):
        if patch.op == "add":
            parent.insert(len(parent) if last == "-" else int(last), value)
        elif patch.op == "replace":
            parent[int(last)] = value
        else:
            del parent[int(last)]
    elif patch.op in ("add", "replace"):
        parent[last] = value
    else:
        del parent[last]


def apply_patches(objects: list[KubeObject], patches: list[Patch]) -> list[KubeObject]:
    """The objects with the patches applied (RFC 6902 add/replace/remove on the body of the object of that kind)."""
    out = []
    for obj in objects:
        mine = [p for p in patches if p.target == obj.kind]
        if not mine:
            out.append(obj)
            continue
        body = copy.deepcopy(obj.body)
        for patch in mine:
            _apply(body, patch)
        out.append(KubeObject(obj.id, obj.api_version, obj.kind, obj.name, obj.labels, body, obj.annotations))
    return out


def _data_mount(folder: str, read_only: bool) -> JsonObject:
    mount: JsonObject = {"name": "model-cache", "mountPath": CHART_DATA, "subPath": folder}
    if read_only:
        mount["readOnly"] = True
    return mount


def _mark_container(download: JsonObject) -> JsonObject:
    env = [e for e in download.get("env", []) if e["name"] in ("MODEL_DIR", "SOURCE_URI", "REVISION")]
    return {
        "name": "mark-complete",
        "image": download["image"],
        "imagePullPolicy": download["imagePullPolicy"],
        "command": ["/bin/sh", "-c", _MARK_SCRIPT],
        "env": env,
        "resources": WAIT_RESOURCES,
        "securityContext": download["securityContext"],
        "volumeMounts": [{"name": "model-cache", "mountPath": MODEL_MOUNT}],
    }


def download_patches(objects: list[KubeObject], model_path: str, *, custom_download: bool, custom_wait: bool) -> list[Patch]:
    """The /data mounts of custom commands and the marker step after a custom download (see the module docstring)."""
    folder = model_path.removeprefix(f"{MODEL_MOUNT}/")
    by_kind = {o.kind: o for o in objects}
    patches: list[Patch] = []
    job = by_kind.get("Job")
    if custom_download and job is not None:
        container = job.body["spec"]["template"]["spec"]["containers"][0]
        mount = _data_mount(folder, read_only=False)
        patches.append(Patch("Job", "add", "/spec/template/spec/containers/0/volumeMounts/-", mount))
        if not custom_wait:
            patched = {**container, "volumeMounts": [*container["volumeMounts"], mount]}
            patches.append(Patch("Job", "add", "/spec/template/spec/initContainers", [patched]))
            patches.append(Patch("Job", "replace", "/spec/template/spec/containers", [_mark_container(container)]))
    inits = by_kind["Deployment"].body["spec"]["template"]["spec"].get("initContainers", [])
    for i, init in enumerate(inits):
        if custom_wait and init["name"] == "wait-for-model":
            patches.append(
                Patch("Deployment", "add", f"/spec/template/spec/initContainers/{i}/volumeMounts/-", _data_mount(folder, read_only=True))
            )
    return patches
