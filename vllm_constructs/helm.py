"""Helm migration path: take the values files of vLLM's example chart (chart-vllm 0.0.2, vLLM 0.33.0) and build
the equivalent VllmServer, with the chart's object names and every chart bug fixed.

``load_values`` merges the chart defaults, ``-f`` files and ``--set``/``--set-string`` overrides and enforces the
intent of the chart's values.schema.json (which Helm never enforced); ``HelmRelease`` is the construct;
``render_template`` prints manifests like ``helm template``; ``migrate_source`` writes an apps/ module.
Deliberate differences from the chart are listed, with reasons, in docs/helm-migration.md.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import pprint
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import cdk8s
import yaml
from constructs import Construct

from ._adapter import emit
from .core.autoscaling import Scaling
from .core.engine import EngineArgs
from .core.model import ModelCache, ModelDownload, ModelSource, NewClaimCache, PvcModel, S3Model
from .core.objects import KubeObject
from .core.server import ServerNames, VllmServerProps
from .core.validation import Checker, parse_quantity
from .core.values import (
    ConfigMapKeyRef,
    ContainerPort,
    EnvFrom,
    EnvFromConfigMap,
    EnvFromSecret,
    EnvValue,
    FieldRef,
    GpuProductAffinity,
    HealthChecks,
    Image,
    PodOptions,
    Recreate,
    Resources,
    RollingUpdate,
    RolloutStrategy,
    SecretKeyRef,
    SecurityProfile,
    Toleration,
)
from .core.vllm_cli import read_serve_args
from .vllm_server import VllmServer

__all__ = ["CHART_DEFAULTS", "HelmRelease", "load_values", "migrate_source", "props_from_values", "render_template"]

PINNED_VLLM_TAG = "v0.33.0"
"""What the chart's default image tag 'latest' is replaced by: the vLLM release the chart ships with."""

_DEFAULT_COMMAND = [
    "vllm", "serve", "/data/", "--served-model-name", "opt-125m", "--enforce-eager", "--dtype", "bfloat16",
    "--block-size", "16", "--host", "0.0.0.0", "--port", "8000",
]  # fmt: skip
_DEFAULT_WAIT_ARGS = [
    "-eucx",
    "while aws --endpoint-url $S3_ENDPOINT_URL s3 sync --dryrun s3://$S3_BUCKET_NAME/$S3_PATH /data | grep -q download; do sleep 10; done",
]
_DEFAULT_JOB_ARGS = ["-eucx", "aws --endpoint-url $S3_ENDPOINT_URL s3 sync s3://$S3_BUCKET_NAME/$S3_PATH /data"]

CHART_DEFAULTS: dict[str, Any] = {
    "image": {"repository": "vllm/vllm-openai", "tag": "latest", "command": _DEFAULT_COMMAND},
    "containerPort": 8000,
    "serviceName": None,
    "servicePort": 80,
    "extraPorts": [],
    "replicaCount": 1,
    "deploymentStrategy": {},
    "resources": {
        "requests": {"cpu": 4, "memory": "16Gi", "nvidia.com/gpu": 1},
        "limits": {"cpu": 4, "memory": "16Gi", "nvidia.com/gpu": 1},
    },
    "gpuModels": ["TYPE_GPU_USED"],
    "autoscaling": {"enabled": False, "minReplicas": 1, "maxReplicas": 100, "targetCPUUtilizationPercentage": 80},
    "configs": {},
    "secrets": {},
    "externalConfigs": [],
    "customObjects": [],
    "maxUnavailablePodDisruptionBudget": "",
    "extraInit": {
        "modelDownload": {
            "enabled": True,
            "image": {"repository": "amazon/aws-cli", "tag": "2.6.4", "pullPolicy": "IfNotPresent"},
            "waitContainer": {"command": ["/bin/bash"], "args": _DEFAULT_WAIT_ARGS},
            "downloadJob": {"command": ["/bin/bash"], "args": _DEFAULT_JOB_ARGS},
        },
        "initContainers": [],
        "s3modelpath": "relative_s3_model_path/opt-125m",
        "pvcStorage": "1Gi",
        "awsEc2MetadataDisabled": True,
    },
    "extraContainers": [],
    "readinessProbe": {"initialDelaySeconds": 5, "periodSeconds": 5, "failureThreshold": 3, "httpGet": {"path": "/health", "port": 8000}},
    "livenessProbe": {"initialDelaySeconds": 15, "failureThreshold": 3, "periodSeconds": 10, "httpGet": {"path": "/health", "port": 8000}},
    "labels": {"environment": "test", "release": "test"},
}

# Every key the chart's templates read, with the type its schema intends. "quantity" accepts what users pass in
# practice: an integer, a numeric string from --set-string, or a Kubernetes quantity string.
_TYPES: dict[str, str] = {
    "image": "object",
    "image.repository": "string",
    "image.tag": "string",
    "image.command": "string-list|null",
    "image.env": "list|null",
    "image.securityContext": "object|null",
    "image.runAsUser": "int|null",
    "runAsUser": "int|null",
    "containerPort": "int",
    "serviceName": "string|null",
    "servicePort": "int",
    "extraPorts": "list",
    "replicaCount": "int",
    "deploymentStrategy": "object",
    "resources": "object",
    "resources.requests": "object",
    "resources.limits": "object",
    "resources.requests.cpu": "quantity",
    "resources.requests.memory": "quantity",
    "resources.requests.nvidia.com/gpu": "int",
    "resources.limits.cpu": "quantity",
    "resources.limits.memory": "quantity",
    "resources.limits.nvidia.com/gpu": "int",
    "gpuModels": "string-list",
    "autoscaling": "object",
    "autoscaling.enabled": "bool",
    "autoscaling.minReplicas": "int",
    "autoscaling.maxReplicas": "int",
    "autoscaling.targetCPUUtilizationPercentage": "int|null",
    "autoscaling.targetMemoryUtilizationPercentage": "int|null",
    "configs": "object",
    "secrets": "object",
    "externalConfigs": "list",
    "customObjects": "list",
    "maxUnavailablePodDisruptionBudget": "string|int",
    "extraInit": "object",
    "extraInit.modelDownload": "object",
    "extraInit.modelDownload.enabled": "bool",
    "extraInit.modelDownload.image.repository": "string",
    "extraInit.modelDownload.image.tag": "string",
    "extraInit.modelDownload.image.pullPolicy": "string",
    "extraInit.modelDownload.waitContainer.command": "string-list",
    "extraInit.modelDownload.waitContainer.args": "string-list",
    "extraInit.modelDownload.waitContainer.env": "list|null",
    "extraInit.modelDownload.downloadJob.command": "string-list",
    "extraInit.modelDownload.downloadJob.args": "string-list",
    "extraInit.modelDownload.downloadJob.env": "list|null",
    "extraInit.initContainers": "list",
    "extraInit.s3modelpath": "string|null",
    "extraInit.pvcStorage": "quantity",
    "extraInit.awsEc2MetadataDisabled": "bool|null",
    "extraContainers": "list",
    "readinessProbe": "object|null",
    "livenessProbe": "object|null",
    "startupProbe": "object|null",
    "labels": "object",
    "nodeSelector": "object|null",
    "tolerations": "list|null",
}
_REQUIRED_NESTED = (
    "image.repository",
    "image.tag",
    "resources.requests.cpu",
    "resources.requests.memory",
    "resources.limits.cpu",
    "resources.limits.memory",
)


def _values_error(source: str, path: str, value: object, problem: str, allowed: str, fix: str) -> NoReturn:
    Checker(source).fail(path, value, problem, allowed, fix)


def _get(values: Mapping[str, Any], dotted: str) -> Any:
    node: Any = values
    # keys may themselves contain dots (nvidia.com/gpu): try the longest key first at each level
    parts = dotted.split(".")
    i = 0
    while i < len(parts):
        if not isinstance(node, Mapping):
            return None
        for j in range(len(parts), i, -1):
            key = ".".join(parts[i:j])
            if key in node:
                node = node[key]
                i = j
                break
        else:
            return None
    return node


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's coalescing: maps merge key by key, everything else (lists included) is replaced; null deletes."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if value is None and key in out and isinstance(out[key], dict):
            del out[key]
        elif isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _split_set_path(path: str) -> list[str | int]:
    parts: list[str | int] = []
    current = ""
    i = 0
    while i < len(path):
        ch = path[i]
        if ch == "\\" and i + 1 < len(path):
            current += path[i + 1]
            i += 2
            continue
        if ch == ".":
            if current:  # after "[0]" the dot only separates
                parts.append(current)
            current = ""
        elif ch == "[":
            end = path.index("]", i)
            if current:
                parts.append(current)
                current = ""
            parts.append(int(path[i + 1 : end]))
            i = end
        else:
            current += ch
        i += 1
    if current:
        parts.append(current)
    return parts


def _parse_set_value(raw: str) -> Any:
    """Helm --set typing: integers, booleans and null are typed; everything else is a string."""
    if raw in ("true", "false"):
        return raw == "true"
    if raw == "null":
        return None
    if re.fullmatch(r"-?(0|[1-9][0-9]*)", raw):
        return int(raw)
    return raw


def _apply_set(values: dict[str, Any], assignment: str, *, as_string: bool) -> None:
    if "=" not in assignment:
        _values_error("--set", assignment, assignment, "has no '='", "key.path=value", "write e.g. --set replicaCount=2")
    path, raw = assignment.split("=", 1)
    parts = _split_set_path(path)
    value: Any = raw if as_string else _parse_set_value(raw)
    node: Any = values
    for part, nxt in zip(parts, [*parts[1:], None], strict=True):
        last = nxt is None
        if isinstance(part, int):
            if not isinstance(node, list):
                _values_error(
                    "--set", path, raw, "indexes something that is not a list", "an index into a list value", "check the key path"
                )
            while len(node) <= part:
                node.append({} if isinstance(nxt, str) else None)
            if last:
                node[part] = value
            else:
                if not isinstance(node[part], dict | list):
                    node[part] = [] if isinstance(nxt, int) else {}
                node = node[part]
        elif last:
            node[part] = value
        else:
            if not isinstance(node.get(part), dict | list):
                node[part] = [] if isinstance(nxt, int) else {}
            node = node[part]


def _type_ok(value: Any, spec: str) -> bool:
    for kind in spec.split("|"):
        if kind == "null" and value is None:
            return True
        if kind == "string" and isinstance(value, str):
            return True
        if kind == "int" and (
            (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()))
        ):
            return True
        if kind == "bool" and isinstance(value, bool):
            return True
        if kind == "object" and isinstance(value, Mapping):
            return True
        if kind == "list" and isinstance(value, list):
            return True
        if kind == "string-list" and isinstance(value, list) and all(isinstance(v, str) for v in value):
            return True
        if kind == "quantity" and (
            (isinstance(value, int | float) and not isinstance(value, bool) and value > 0)
            or (isinstance(value, str) and parse_quantity(value.strip()) is not None)
        ):
            return True
    return False


_TYPE_WORDS = {
    "string": "a string",
    "int": "an integer (a numeric string is accepted)",
    "bool": "true or false",
    "object": "a mapping",
    "list": "a list",
    "string-list": "a list of strings",
    "quantity": "a number or a Kubernetes quantity such as 4, '500m' or '16Gi'",
    "null": "null",
}


def load_values(files: Sequence[str | Path] = (), sets: Sequence[str] = (), set_strings: Sequence[str] = ()) -> dict[str, Any]:
    """Chart defaults, then each values file in order, then --set and --set-string overrides; checked against the
    chart schema's intent. Raises ConfigError naming the values path."""
    values = copy.deepcopy(CHART_DEFAULTS)
    user: dict[str, Any] = {}
    for file in files:
        try:
            loaded = yaml.safe_load(Path(file).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            _values_error(
                str(file),
                "(file)",
                str(file),
                f"cannot be read as YAML ({exc.__class__.__name__})",
                "a readable YAML mapping",
                "check the path and the YAML syntax",
            )
        if not isinstance(loaded, Mapping):
            _values_error(
                str(file),
                "(top level)",
                type(loaded).__name__,
                "is not a mapping",
                "a YAML mapping of chart keys",
                "start the file with keys such as 'image:'",
            )
        values = _deep_merge(values, loaded)
        user = _deep_merge(user, loaded)
    for assignment in sets:
        _apply_set(values, assignment, as_string=False)
        _apply_set(user, assignment, as_string=False)
    for assignment in set_strings:
        _apply_set(values, assignment, as_string=True)
        _apply_set(user, assignment, as_string=True)
    source = "values"
    for key, spec in _TYPES.items():
        value = _get(values, key)
        if (
            value is None
            and "null" not in spec
            and key not in _REQUIRED_NESTED
            and _get(values, key.rsplit(".", 1)[0] if "." in key else key) is None
        ):
            continue
        if value is None and key in _REQUIRED_NESTED:
            _values_error(source, key, None, "is required", _TYPE_WORDS[spec.split("|")[0]], f"set {key} in a values file or with --set")
        if value is not None and not _type_ok(value, spec):
            allowed = " or ".join(_TYPE_WORDS[k] for k in spec.split("|"))
            _values_error(source, key, value, "has the wrong type", allowed, f"give {key} as {_TYPE_WORDS[spec.split('|')[0]]}")
    values["__user__"] = user
    return values


def _env_value(item: Mapping[str, Any], where: str) -> tuple[str, EnvValue]:
    name = item.get("name")
    if not isinstance(name, str):
        _values_error("values", f"{where}.name", name, "is missing", "a variable name", "add name:")
    if "value" in item:
        return name, str(item["value"]) if not isinstance(item["value"], bool) else ("true" if item["value"] else "false")
    source = item.get("valueFrom") or {}
    if "secretKeyRef" in source:
        ref = source["secretKeyRef"]
        return name, SecretKeyRef(ref["name"], ref["key"], bool(ref.get("optional", False)))
    if "configMapKeyRef" in source:
        ref = source["configMapKeyRef"]
        return name, ConfigMapKeyRef(ref["name"], ref["key"], bool(ref.get("optional", False)))
    if "fieldRef" in source:
        return name, FieldRef(source["fieldRef"]["fieldPath"])
    _values_error(
        "values",
        where,
        dict(item),
        "has neither value nor a supported valueFrom",
        "value, or valueFrom secretKeyRef/configMapKeyRef/fieldRef",
        "rewrite the entry",
    )


def _env_map(items: Iterable[Mapping[str, Any]] | None, where: str) -> dict[str, EnvValue]:
    out: dict[str, EnvValue] = {}
    for i, item in enumerate(items or []):
        name, value = _env_value(item, f"{where}[{i}]")
        out[name] = value
    return out


_ENGINE_FIELDS = {f.name for f in dataclasses.fields(EngineArgs)}
_INT_FIELDS = {"tensor_parallel_size", "pipeline_parallel_size", "data_parallel_size", "max_model_len"}
_BOOL_FIELDS = {"enforce_eager", "trust_remote_code"}


def _engine_from_command(command: list[str] | None) -> tuple[EngineArgs, str]:
    """Typed engine args and the model path from the chart's ``image.command``."""
    if not command or command[:2] != ["vllm", "serve"]:
        _values_error(
            "values",
            "image.command",
            command,
            "does not start with 'vllm serve'",
            "['vllm', 'serve', MODEL, flags...]",
            "write the full vllm serve command as the chart's default does",
        )
    rest = list(command[2:])
    model = "/data/"
    if rest and not rest[0].startswith("-"):
        model = rest.pop(0)
    fields: dict[str, Any] = {}
    extra: list[str] = []
    for flag in read_serve_args(tuple(rest)).flags:
        if flag.dest in ("model", "model_tag"):
            model = flag.value or model
        elif flag.dest in ("host", "port"):
            continue  # rendered by the construct: bind all addresses, on containerPort
        elif flag.dest in _BOOL_FIELDS:
            fields[flag.dest] = not flag.option.startswith("--no")
        elif flag.dest in _ENGINE_FIELDS and flag.value is not None:
            fields[flag.dest] = (
                int(flag.value) if flag.dest in _INT_FIELDS else float(flag.value) if flag.dest == "gpu_memory_utilization" else flag.value
            )
        else:
            extra.extend([flag.option] if flag.value is None else [flag.option, flag.value])
    fields.setdefault("served_model_name", model)
    return EngineArgs(**fields, extra_args=tuple(extra)), model


def _probe_timing(values: Mapping[str, Any]) -> HealthChecks:
    readiness = values.get("readinessProbe") or {}
    liveness = values.get("livenessProbe") or {}
    startup = values.get("startupProbe") or {}
    kwargs: dict[str, Any] = {}
    path = (readiness.get("httpGet") or {}).get("path") or (liveness.get("httpGet") or {}).get("path")
    if path:
        kwargs["path"] = path
    if readiness.get("periodSeconds"):
        kwargs["readiness_period_seconds"] = int(readiness["periodSeconds"])
    if readiness.get("failureThreshold"):
        kwargs["readiness_failure_threshold"] = int(readiness["failureThreshold"])
    if liveness.get("periodSeconds"):
        kwargs["liveness_period_seconds"] = int(liveness["periodSeconds"])
    if liveness.get("failureThreshold"):
        kwargs["liveness_failure_threshold"] = int(liveness["failureThreshold"])
    if startup.get("periodSeconds") and startup.get("failureThreshold"):
        kwargs["startup_period_seconds"] = int(startup["periodSeconds"])
        kwargs["startup_timeout_seconds"] = int(startup["periodSeconds"]) * int(startup["failureThreshold"])
    return HealthChecks(**kwargs)


def _security(values: Mapping[str, Any]) -> SecurityProfile:
    ctx = _get(values, "image.securityContext") or {}
    user = ctx.get("runAsUser", values.get("runAsUser") or _get(values, "image.runAsUser"))
    kwargs: dict[str, Any] = {}
    if user is not None:
        kwargs["run_as_user"] = int(user)
    if "runAsGroup" in ctx:
        kwargs["run_as_group"] = int(ctx["runAsGroup"])
    if "readOnlyRootFilesystem" in ctx:
        kwargs["read_only_root_filesystem"] = bool(ctx["readOnlyRootFilesystem"])
    if "runAsNonRoot" in ctx and ctx["runAsNonRoot"] is True:
        kwargs["run_as_non_root"] = True
    caps = (ctx.get("capabilities") or {}).get("add") or []
    if caps:
        kwargs["add_capabilities"] = tuple(caps)
    return SecurityProfile(**kwargs)


def _image(values: Mapping[str, Any]) -> Image:
    user = values.get("__user__", {})
    tag = str(_get(values, "image.tag"))
    if tag == "latest":
        if _get(user, "image.tag") is not None:
            _values_error(
                "values",
                "image.tag",
                "latest",
                "is mutable: every node may run different bits",
                "a released version tag",
                f"pin it, e.g. --set image.tag={PINNED_VLLM_TAG}",
            )
        tag = PINNED_VLLM_TAG
    return Image(str(_get(values, "image.repository")), tag=tag)


def _gpus(values: Mapping[str, Any]) -> int:
    req = int(str(_get(values, "resources.requests.nvidia.com/gpu") or 0))
    lim = int(str(_get(values, "resources.limits.nvidia.com/gpu") or 0))
    if req > 0 and lim > 0:
        if req != lim:
            _values_error(
                "values",
                "resources.limits.nvidia.com/gpu",
                lim,
                f"differs from resources.requests.nvidia.com/gpu ({req})",
                "the same GPU count in requests and limits",
                "set both to the same number",
            )
        return req
    return 0


def _quantity(values: Mapping[str, Any], key: str) -> str:
    raw = _get(values, key)
    return str(raw).strip()


def _many_pods(values: Mapping[str, Any]) -> bool:
    autoscaling = values.get("autoscaling") or {}
    return int(values.get("replicaCount", 1)) > 1 or (bool(autoscaling.get("enabled")) and int(autoscaling.get("maxReplicas", 100)) > 1)


def props_from_values(release: str, values: Mapping[str, Any]) -> VllmServerProps:
    """The VllmServerProps equivalent to a chart release with these (loaded) values."""
    if (
        not isinstance(release, str)
        or len(release) > 63 - len("-deployment-vllm")
        or not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", release)
    ):
        _values_error(
            "values",
            "release",
            release,
            "is not a DNS-1123 label short enough for the chart's object names",
            f"at most {63 - len('-deployment-vllm')} lower-case letters, digits and '-'",
            "use a release name such as 'demo'",
        )
    gpus = _gpus(values)
    engine, _model_path = _engine_from_command(_get(values, "image.command"))
    download = bool(_get(values, "extraInit.modelDownload.enabled"))
    extra_init = values.get("extraInit") or {}
    names = ServerNames.helm_chart(release, service_name=values.get("serviceName"))
    pvc_size = str(extra_init.get("pvcStorage", "1Gi"))
    if download:
        s3_path = extra_init.get("s3modelpath")
        if not s3_path:
            _values_error(
                "values",
                "extraInit.s3modelpath",
                s3_path,
                "is empty, so the download has no source path",
                "the model folder inside the bucket, e.g. 'opt-125m/'",
                "set extraInit.s3modelpath, or extraInit.modelDownload.enabled=false",
            )
        ec2 = extra_init.get("awsEc2MetadataDisabled")
        model: ModelSource = ModelSource.chart_s3(
            f"{release}-secrets", str(s3_path), ec2_metadata_disabled=None if ec2 is None else bool(ec2)
        )
    else:
        model = ModelSource.pvc(names.cache_claim, served_name=engine.served_model_name)
    md = extra_init.get("modelDownload") or {}
    md_image = md.get("image") or {}
    wait = md.get("waitContainer") or {}
    job = md.get("downloadJob") or {}
    custom_wait = wait.get("args") not in (None, _DEFAULT_WAIT_ARGS) or wait.get("command") not in (None, ["/bin/bash"])
    custom_job = job.get("args") not in (None, _DEFAULT_JOB_ARGS) or job.get("command") not in (None, ["/bin/bash"])
    strategy = values.get("deploymentStrategy") or {}
    rollout: RolloutStrategy
    if strategy.get("type") == "Recreate":
        rollout = RolloutStrategy.recreate()
    elif strategy:
        ru = strategy.get("rollingUpdate") or {}
        rollout = RolloutStrategy.rolling(max_surge=ru.get("maxSurge", 0), max_unavailable=ru.get("maxUnavailable", 1))
    else:
        rollout = RolloutStrategy.rolling()
    gpu_models = [m for m in values.get("gpuModels") or [] if m != "TYPE_GPU_USED"]
    pdb = values.get("maxUnavailablePodDisruptionBudget")
    pdb_value: int | str = 1 if pdb in ("", None) else (int(pdb) if re.fullmatch(r"\d+", str(pdb)) else str(pdb))
    external: list[EnvFrom] = []
    for i, item in enumerate(values.get("externalConfigs") or []):
        if "configMapRef" in item:
            external.append(EnvFrom.config_map(item["configMapRef"]["name"], prefix=item.get("prefix")))
        elif "secretRef" in item:
            external.append(EnvFrom.secret(item["secretRef"]["name"], prefix=item.get("prefix")))
        else:
            _values_error(
                "values",
                f"externalConfigs[{i}]",
                item,
                "is neither configMapRef nor secretRef",
                "an EnvFromSource",
                "use configMapRef: {name: ...} or secretRef: {name: ...}",
            )
    servicePort = int(values.get("servicePort") or 0) or int(values.get("containerPort") or 8000)
    return VllmServerProps(
        name=release,
        names=names,
        model=model,
        image=_image(values),
        engine=engine,
        resources=Resources(
            cpu=_quantity(values, "resources.requests.cpu"),
            memory=_quantity(values, "resources.requests.memory"),
            cpu_limit=_quantity(values, "resources.limits.cpu"),
            memory_limit=_quantity(values, "resources.limits.memory"),
            accelerators=gpus,
        ),
        replicas=int(values.get("replicaCount", 1)),
        rollout=rollout,
        health=_probe_timing(values),
        port=int(values.get("containerPort") or 8000),
        extra_ports=tuple(
            ContainerPort(p["name"], int(p["containerPort"]), p.get("protocol", "TCP")) for p in values.get("extraPorts") or []
        ),
        service_port=servicePort,
        cache=ModelCache.pvc(pvc_size, access_mode="ReadWriteMany" if _many_pods(values) else None) if download else None,
        download=ModelDownload(
            image=Image(
                md_image.get("repository", "amazon/aws-cli"),
                tag=str(md_image.get("tag", "2.6.4")),
                pull_policy=md_image.get("pullPolicy", "IfNotPresent"),
            ),
            command=tuple(job.get("command") or ()) if custom_job else (),
            args=tuple(job.get("args") or ()) if custom_job else (),
            env=_env_map(job.get("env"), "extraInit.modelDownload.downloadJob.env"),
            wait_command=tuple(wait.get("command") or ()) if custom_wait else (),
            wait_args=tuple(wait.get("args") or ()) if custom_wait else (),
            wait_env=_env_map(wait.get("env"), "extraInit.modelDownload.waitContainer.env"),
        ),
        env=_env_map(_get(values, "image.env"), "image.env"),
        env_config=dict(values.get("configs") or {}) or None,
        env_from=tuple(external),
        pdb_max_unavailable=pdb_value,
        part_of="chart-vllm",
        pod=PodOptions(
            gpu_products=GpuProductAffinity.require(*gpu_models) if gpus and gpu_models else None,
            tolerations=tuple(
                Toleration(t["key"], t.get("operator", "Equal"), t.get("value"), t.get("effect"), t.get("tolerationSeconds"))
                for t in values.get("tolerations") or []
            ),
            node_selector={k: str(v) for k, v in (values.get("nodeSelector") or {}).items()},
            init_containers=tuple(extra_init.get("initContainers") or ()),
            extra_containers=tuple(values.get("extraContainers") or ()),
            labels={k: str(v) for k, v in (values.get("labels") or {}).items()},
            security=_security(values),
        ),
    )


def _tpl(node: Any, release: str, namespace: str) -> Any:
    """The part of Helm's tpl that customObjects use: Release.Name and Release.Namespace."""
    if isinstance(node, str):
        return re.sub(r"\{\{-?\s*\.Release\.(Name|Namespace)\s*-?\}\}", lambda m: release if m.group(1) == "Name" else namespace, node)
    if isinstance(node, dict):
        return {k: _tpl(v, release, namespace) for k, v in node.items()}
    if isinstance(node, list):
        return [_tpl(v, release, namespace) for v in node]
    return node


class HelmRelease(Construct):
    """One release of vLLM's example chart, rebuilt from its values with the chart's object names."""

    def __init__(self, scope: Construct, construct_id: str, *, release: str, values: Mapping[str, Any]) -> None:
        super().__init__(scope, construct_id)
        namespace = cdk8s.Chart.of(self).namespace or "default"
        props = props_from_values(release, values)
        custom = [_tpl(o, release, namespace) for o in values.get("customObjects") or []]
        for i, obj in enumerate(custom):
            if not isinstance(obj, Mapping) or not {"apiVersion", "kind", "metadata"} <= set(obj):
                _values_error(
                    "values",
                    f"customObjects[{i}]",
                    obj,
                    "is not a Kubernetes object",
                    "a mapping with apiVersion, kind and metadata.name",
                    "complete the object",
                )
        self.server = VllmServer(self, "Server", props)
        if isinstance(props.model, PvcModel):
            storage = str((values.get("extraInit") or {}).get("pvcStorage", "1Gi"))
            spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}}
            claim = props.names.cache_claim if props.names else f"{release}-storage-claim"
            emit(
                self,
                KubeObject(
                    "ModelStorage",
                    "v1",
                    "PersistentVolumeClaim",
                    claim,
                    self.server.serving.labels.labels(props.pod.labels),
                    {"spec": spec},
                ),
            )
        self.autoscaling: Mapping[str, Any] | None = values.get("autoscaling") if (values.get("autoscaling") or {}).get("enabled") else None
        if self.autoscaling is not None:
            _hpa(self, release, self.autoscaling)
        for i, obj in enumerate(custom):
            body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
            meta = obj["metadata"]
            emit(
                self,
                KubeObject(
                    f"Custom{i}",
                    obj["apiVersion"],
                    obj["kind"],
                    meta["name"],
                    meta.get("labels") or {},
                    body,
                    meta.get("annotations") or {},
                ),
            )


def _hpa(scope: HelmRelease, release: str, autoscaling: Mapping[str, Any]) -> None:
    """The chart's autoscaling.* keys through the Autoscaler's CPU/memory path."""
    from .autoscaler import Autoscaler, AutoscalerProps  # noqa: PLC0415 - keeps helm importable alone

    mapped = scaling_from_chart_values(autoscaling)
    if mapped is None:
        return
    scaling, low, high = mapped
    Autoscaler(
        scope,
        "Autoscaler",
        AutoscalerProps(target=scope.server, name=f"{release}-hpa", min_replicas=low, max_replicas=high, scaling=scaling),
    )


def scaling_from_chart_values(autoscaling: Mapping[str, object]) -> tuple[Scaling, int, int] | None:
    """The chart's ``autoscaling`` values as (scaling, min_replicas, max_replicas); None when disabled."""
    if not autoscaling.get("enabled"):
        return None
    cpu = autoscaling.get("targetCPUUtilizationPercentage")
    mem = autoscaling.get("targetMemoryUtilizationPercentage")
    low, high = autoscaling.get("minReplicas", 1), autoscaling.get("maxReplicas", 100)
    scaling = Scaling.cpu_memory(
        cpu_percent=int(cpu) if cpu else (None if mem else 80),  # type: ignore[call-overload]
        memory_percent=int(mem) if mem else None,  # type: ignore[call-overload]
    )
    return scaling, int(low), int(high)  # type: ignore[call-overload]


def render_template(release: str, values: Mapping[str, Any], *, namespace: str = "default") -> str:
    """Multi-document YAML of the release, like ``helm template``. Nothing is written on error."""
    app = cdk8s.App()
    chart = cdk8s.Chart(app, release, namespace=namespace, disable_resource_name_hashes=True)
    HelmRelease(chart, "release", release=release, values=values)
    return "---\n" + cdk8s.Yaml.stringify(*chart.to_json())


def _code(value: Any, imports: set[str], indent: int) -> str:
    pad = " " * indent
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value).__name__
        factory = _factory_call(value, imports, indent)
        if factory:
            return factory
        imports.add(cls)
        parts = []
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            default = (
                f.default
                if f.default is not dataclasses.MISSING
                else (f.default_factory() if f.default_factory is not dataclasses.MISSING else dataclasses.MISSING)
            )
            if default is not dataclasses.MISSING and v == default:
                continue
            parts.append(f"{pad}    {f.name}={_code(v, imports, indent + 4)},")
        return f"{cls}(\n" + "\n".join(parts) + f"\n{pad})" if parts else f"{cls}()"
    if isinstance(value, enum.Enum):
        imports.add(type(value).__name__)
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, tuple):
        inner = ", ".join(_code(v, imports, indent) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(_code(v, imports, indent) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k!r}: {_code(v, imports, indent)}" for k, v in value.items()) + "}"
    return repr(value)


def _factory_call(value: Any, imports: set[str], indent: int) -> str | None:
    """Value classes whose constructors are private details render through their public factories."""
    if isinstance(value, Recreate):
        return "RolloutStrategy.recreate()"
    if isinstance(value, RollingUpdate):
        imports.add("RolloutStrategy")
        return f"RolloutStrategy.rolling(max_surge={value.max_surge!r}, max_unavailable={value.max_unavailable!r})"
    if isinstance(value, GpuProductAffinity):
        return f"GpuProductAffinity.require({', '.join(map(repr, value.products))})"
    if isinstance(value, S3Model) and isinstance(value.bucket, SecretKeyRef):
        imports.add("ModelSource")
        ec2 = "" if value.ec2_metadata_disabled is True else f", ec2_metadata_disabled={value.ec2_metadata_disabled!r}"
        return f"ModelSource.chart_s3({value.bucket.name!r}, {value.path!r}{ec2})"
    if isinstance(value, PvcModel):
        imports.add("ModelSource")
        return f"ModelSource.pvc({value.claim_name!r}, served_name={value.served_name!r})"
    if isinstance(value, NewClaimCache) and value.storage_class is None and value.access_mode is None:
        imports.add("ModelCache")
        return f"ModelCache.pvc({value.size!r})"
    if isinstance(value, EnvFromConfigMap | EnvFromSecret):
        kind = "config_map" if isinstance(value, EnvFromConfigMap) else "secret"
        imports.add("EnvFrom")
        prefix = f", prefix={value.prefix!r}" if value.prefix else ""
        return f"EnvFrom.{kind}({value.name!r}{prefix})"
    if isinstance(value, ServerNames):
        return None
    return None


def migrate_source(release: str, values: Mapping[str, Any], *, namespace: str = "default") -> str:
    """Python source of an apps/ module that builds the same release in code (custom objects stay raw dicts)."""
    props = props_from_values(release, values)
    imports: set[str] = {"VllmServer"}
    body = _code(props, imports, 8)
    class_name = "".join(part.capitalize() for part in re.split(r"[^a-zA-Z0-9]", release) if part) + "Chart"
    custom = [_tpl(o, release, namespace) for o in values.get("customObjects") or []]
    autoscaling = values.get("autoscaling") if (values.get("autoscaling") or {}).get("enabled") else None
    lines = [
        f'"""vLLM release {release!r}, migrated from the example Helm chart\'s values by `vllm-constructs migrate`."""',
        "",
        "from __future__ import annotations",
        "",
        "import cdk8s",
        "from constructs import Construct",
        "",
        f"from vllm_constructs import {', '.join(sorted(imports))}",
        "from vllm_constructs.helm import HelmRelease",
        "",
        "",
        f"class {class_name}(cdk8s.Chart):",
        f"    def __init__(self, scope: Construct, chart_id: str = {release!r}) -> None:",
        f"        super().__init__(scope, chart_id, namespace={namespace!r}, disable_resource_name_hashes=True)",
    ]
    if custom or autoscaling or isinstance(props.model, PvcModel):
        # Pieces outside VllmServer (custom objects, the chart-managed claim, the HPA) go through HelmRelease.
        literal = pprint.pformat(_values_subset(values), width=110, sort_dicts=False).replace("\n", "\n" + " " * 12)
        lines += [
            "        HelmRelease(",
            "            self,",
            "            'release',",
            f"            release={release!r},",
            f"            values={literal},",
            "        )",
        ]
    else:
        lines += [
            f"        VllmServer(self, 'release', {body})".replace(
                "VllmServer(self, 'release', VllmServerProps(",
                "VllmServer(\n            self,\n            'release',\n            VllmServerProps(",
                1,
            )
        ]
    lines += [
        "",
        "",
        "if __name__ == '__main__':",
        "    app = cdk8s.App()",
        f"    {class_name}(app)",
        "    app.synth()",
        "",
    ]
    source = "\n".join(lines)
    return source.replace("from vllm_constructs.helm import HelmRelease\n", "") if "HelmRelease(" not in source else source


def _values_subset(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k != "__user__"}
