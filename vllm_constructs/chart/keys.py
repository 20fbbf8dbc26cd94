"""Every values key of vLLM's example chart, across its versions, and what vllm-constructs does with it.

``mapped``: read, with the chart's behaviour (its bugs fixed; docs/helm-migration.md lists each difference).
``refused``: a values file that gives it a non-null value is refused, naming the key and the reason here.

Key patterns: ``.`` separates keys (``\\.`` inside a key, as in ``nvidia\\.com/gpu``), ``*`` is any key of a
free-form mapping, ``[]`` any item of a list. A refused key refuses everything under it. Each rule carries an example
value the tests set to prove the treatment (mapped keys render, refused keys are refused by name).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from .sources import Key

__all__ = ["RULES", "KeyRule", "pattern_key", "rule_for"]

ANY_KEY = "*"
ANY_INDEX = "[]"


@dataclass(frozen=True, slots=True)
class KeyRule:
    key: str
    treatment: Literal["mapped", "refused"]
    detail: str
    """Mapped: where it goes (and how it differs). Refused: why."""
    example: Any = None
    """A value that exercises the rule (None: not set alone, e.g. a block whose children are listed)."""
    context: Any = None
    """Other values the example needs (a mapping of chart values), or None."""

    @property
    def pattern(self) -> tuple[str, ...]:
        return pattern_key(self.key)


def pattern_key(text: str) -> tuple[str, ...]:
    """``a.b[].c\\.d`` -> ('a', 'b', '[]', 'c.d')."""
    parts: list[str] = []
    for chunk in re.split(r"(?<!\\)\.", text):
        name, brackets = re.fullmatch(r"(.*?)((?:\[\])*)", chunk).groups()  # type: ignore[union-attr]
        if name:
            parts.append(name.replace("\\.", "."))
        parts.extend([ANY_INDEX] * (len(brackets) // 2))
    return tuple(parts)


def _m(key: str, detail: str, example: Any = None, context: Any = None) -> KeyRule:
    return KeyRule(key, "mapped", detail, example, context)


def _r(key: str, detail: str, example: Any = None) -> KeyRule:
    return KeyRule(key, "refused", detail, example)


_NOT_HTTP = "our probes are HTTP GETs on the serving port (HealthChecks); vLLM answers /health there once the engine is up"


def _probe_rules(name: str) -> Iterator[KeyRule]:
    startup = name == "startupProbe"
    delay = (
        "added to the startup budget (initialDelaySeconds + periodSeconds x failureThreshold)"
        if startup
        else "not rendered: the startup probe gates this probe until the server is up"
    )
    yield _m(name, "HealthChecks; null keeps our probe (a server always has startup, readiness and liveness probes)", {"periodSeconds": 7})
    yield _m(f"{name}.initialDelaySeconds", delay, 20)
    yield _m(f"{name}.periodSeconds", f"HealthChecks.{'startup' if startup else name[:-5]}_period_seconds", 7)
    yield _m(
        f"{name}.failureThreshold", "startup budget = period x threshold" if startup else f"HealthChecks.{name[:-5]}_failure_threshold", 9
    )
    yield _m(f"{name}.timeoutSeconds", "HealthChecks.timeout_seconds (one timeout for all three probes: values must agree)", 5)
    yield _m(f"{name}.successThreshold", "must be 1: HealthChecks has no success threshold", 1)
    yield _m(f"{name}.httpGet", "the probe's HTTP GET (null: see the other handlers)", {"path": "/health"})
    yield _m(f"{name}.httpGet.path", "HealthChecks.path (one path for all three probes: values must agree)", "/health")
    yield _m(
        f"{name}.httpGet.port", "the serving port by name (http): the chart's 8000, containerPort or 'container-port'; others refused", 8000
    )
    yield _m(f"{name}.httpGet.scheme", "HTTP only (vLLM serves plain HTTP here; HTTPS is refused)", "HTTP")
    yield _r(f"{name}.httpGet.host", "our probes call the pod's own address", "localhost")
    yield _r(f"{name}.httpGet.httpHeaders", "HealthChecks sends no headers (vLLM's /health needs none, even with an API key)", [])
    yield _r(f"{name}.exec", _NOT_HTTP, {"command": ["true"]})
    yield _r(f"{name}.tcpSocket", _NOT_HTTP, {"port": 8000})
    yield _r(f"{name}.grpc", _NOT_HTTP + "; this server does not run vLLM's gRPC frontend", {"port": 50051})
    yield _r(f"{name}.terminationGracePeriodSeconds", "the pod's terminationGracePeriodSeconds covers every probe", 30)


def _env_rules(name: str) -> Iterator[KeyRule]:
    yield _m(f"{name}[].name", "the variable's name")
    yield _m(f"{name}[].value", "a literal value, written as a string (numbers and booleans are quoted: the chart writes invalid env)")
    yield _m(f"{name}[].valueFrom", "a reference (secretKeyRef, configMapKeyRef or fieldRef)")
    for ref in ("secretKeyRef", "configMapKeyRef"):
        yield _m(f"{name}[].valueFrom.{ref}", f"{'SecretKeyRef' if ref[0] == 's' else 'ConfigMapKeyRef'}(name, key, optional)")
        for sub in ("name", "key", "optional"):
            yield _m(f"{name}[].valueFrom.{ref}.{sub}", f"the reference's {sub}")
    yield _m(f"{name}[].valueFrom.fieldRef", "FieldRef(fieldPath)")
    yield _m(f"{name}[].valueFrom.fieldRef.fieldPath", "FieldRef.field_path")
    yield _m(f"{name}[].valueFrom.fieldRef.apiVersion", "accepted as v1 (the only version)")
    yield _r(
        f"{name}[].valueFrom.resourceFieldRef",
        "not offered: the env of our containers takes literals, Secret, ConfigMap and pod-field references",
        {"resource": "limits.cpu"},
    )


def _download_rules(prefix: str, flat: bool) -> Iterator[KeyRule]:
    how = " (the old flat layout: read as extraInit.modelDownload.*)" if flat else ""
    yield _m(f"{prefix}image", f"the download image{how}")
    yield _m(f"{prefix}image.repository", f"ModelDownload.image repository{how}", "amazon/aws-cli")
    yield _m(f"{prefix}image.tag", f"ModelDownload.image tag{how}", "2.17.0")
    yield _m(f"{prefix}image.pullPolicy", f"pull policy of the download and of a custom wait container{how}", "Always")
    for part, what in (("waitContainer", "wait"), ("downloadJob", "download")):
        yield _m(f"{prefix}{part}", f"the {what} container{how}")
        yield _m(
            f"{prefix}{part}.command",
            f"ModelDownload.{'wait_' if what == 'wait' else ''}command when it differs from the chart's default (run in the download image)"
            + how,
        )
        yield _m(f"{prefix}{part}.args", f"ModelDownload.{'wait_' if what == 'wait' else ''}args when custom{how}")
        yield _m(f"{prefix}{part}.env", f"ModelDownload.{'wait_' if what == 'wait' else ''}env{how}")
        yield from _env_rules(f"{prefix}{part}.env")


_SHM = "/dev/shm as a memory-backed emptyDir (PodOptions.shared_memory)"
_FORK = "only in the rvo-redplatform fork of the chart, not in vLLM's"

RULES: tuple[KeyRule, ...] = (
    _m("image", "the vLLM container"),
    _m("image.repository", "VllmServerProps.image repository", "registry.example.com/vllm/vllm-openai"),
    _m("image.tag", "VllmServerProps.image tag; the chart's default 'latest' becomes v0.33.0, an explicit 'latest' is refused", "v0.33.0"),
    _m(
        "image.command",
        "vllm serve: model path or hub id -> the model source; flags -> EngineArgs; --host/--port from containerPort",
        ["vllm", "serve", "/data/", "--served-model-name", "opt-125m"],
    ),
    _m(
        "image.env",
        "VllmServerProps.env (HOME, HF_HOME, XDG_CACHE_HOME, VLLM_CACHE_ROOT, VLLM_CONFIG_ROOT override ours)",
        [{"name": "VLLM_LOGGING_LEVEL", "value": "DEBUG"}],
    ),
    *_env_rules("image.env"),
    _m("image.securityContext", "SecurityProfile of the server (container and pod)", {"runAsUser": 1001}),
    _m("image.securityContext.runAsUser", "SecurityProfile.run_as_user (0 needs runAsNonRoot unset or false)", 1001),
    _m("image.securityContext.runAsGroup", "SecurityProfile.run_as_group", 1001),
    _m("image.securityContext.runAsNonRoot", "SecurityProfile.run_as_non_root", True),
    _m("image.securityContext.readOnlyRootFilesystem", "SecurityProfile.read_only_root_filesystem", False),
    _m("image.securityContext.allowPrivilegeEscalation", "false only (our containers never escalate)", False),
    _m("image.securityContext.privileged", "false only (a privileged vLLM container is refused)", False),
    _m("image.securityContext.capabilities", "capabilities"),
    _m("image.securityContext.capabilities.add", "SecurityProfile.add_capabilities", ["IPC_LOCK"]),
    _m("image.securityContext.capabilities.drop", "accepted: every capability is dropped anyway", ["ALL"]),
    _m("image.securityContext.seccompProfile", "seccomp profile"),
    _m("image.securityContext.seccompProfile.type", "SecurityProfile.seccomp_profile (RuntimeDefault or Unconfined)", "RuntimeDefault"),
    _r("image.securityContext.seccompProfile.localhostProfile", "Localhost seccomp profiles are not offered", "profile.json"),
    _r("image.securityContext.seLinuxOptions", "SELinux options are not offered by SecurityProfile", {"level": "s0"}),
    _r("image.securityContext.windowsOptions", "vLLM runs on Linux nodes only", {"runAsUserName": "x"}),
    _r("image.securityContext.procMount", "not offered by SecurityProfile", "Default"),
    _r("image.securityContext.appArmorProfile", "not offered by SecurityProfile", {"type": "RuntimeDefault"}),
    _m("image.runAsUser", "SecurityProfile.run_as_user (the chart's bug 7 fixed: the value is used)", 1001),
    _m("runAsUser", "SecurityProfile.run_as_user (wins over image.runAsUser)", 1002),
    _m("containerPort", "VllmServerProps.port (the port named http; --port follows it)", 8080),
    _m("serviceName", "ServerNames.service (lower-cased and trimmed, like the chart)", "llm-api"),
    _m("servicePort", "VllmServerProps.service_port (0 or null: containerPort)", 8080),
    _m("extraPorts", "VllmServerProps.extra_ports", [{"name": "grpc", "containerPort": 50051}]),
    _m("extraPorts[].name", "ContainerPort.name (required: ports are addressed by name)"),
    _m("extraPorts[].containerPort", "ContainerPort.port"),
    _m("extraPorts[].protocol", "ContainerPort.protocol"),
    _r("extraPorts[].hostPort", "host ports are not offered (they pin pods to nodes and bypass the Service)", 8001),
    _r("extraPorts[].hostIP", "host ports are not offered", "0.0.0.0"),
    _m("replicaCount", "VllmServerProps.replicas (more than one pod makes the cache ReadWriteMany)", 1),
    _m("deploymentStrategy", "VllmServerProps.rollout ({} is our surge-0 rolling update)", {"type": "Recreate"}),
    _m("deploymentStrategy.type", "Recreate or RollingUpdate", "Recreate"),
    _m("deploymentStrategy.rollingUpdate", "RolloutStrategy.rolling(...)"),
    _m("deploymentStrategy.rollingUpdate.maxSurge", "RollingUpdate.max_surge (Kubernetes' default 25% when unset)", 0),
    _m(
        "deploymentStrategy.rollingUpdate.maxUnavailable",
        "RollingUpdate.max_unavailable (Kubernetes' default 25% when unset)",
        1,
        {"deploymentStrategy": {"rollingUpdate": {"maxSurge": 0}}},
    ),
    _m("progressDeadlineSeconds", "VllmServerProps.progress_deadline_seconds when you set it (must exceed the startup budget)", 3600),
    _m("resources", "Resources of the vLLM container (keys other than cpu, memory, nvidia.com/gpu are unknown keys)"),
    _m("resources.requests", "requests"),
    _m("resources.limits", "limits"),
    _m("resources.requests.cpu", "Resources.cpu", 2),
    _m("resources.requests.memory", "Resources.memory", "8Gi"),
    _m("resources.requests.nvidia\\.com/gpu", "Resources.accelerators when both requests and limits are above 0 (they must agree)", 1),
    _m("resources.limits.cpu", "Resources.cpu_limit", 8),
    _m("resources.limits.memory", "Resources.memory_limit", "32Gi"),
    _m("resources.limits.nvidia\\.com/gpu", "see resources.requests.nvidia.com/gpu", 1),
    _m("gpuModels", "GpuProductAffinity.require(...) with GPUs (the TYPE_GPU_USED placeholder and [] give none)", ["NVIDIA-L4"]),
    _m(
        "affinity",
        "PodOptions.affinity; a non-empty affinity replaces the gpuModels node affinity, like the chart",
        {
            "podAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": "kubernetes.io/hostname"}
                ]
            }
        },
    ),
    _m("nodeSelector", "PodOptions.node_selector", {"nvidia.com/gpu.present": "true"}),
    _m("nodeSelector.*", "a node label"),
    _m("tolerations", "PodOptions.tolerations", [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]),
    _m("tolerations[].key", "Toleration.key (may be absent only with operator Exists)"),
    _m("tolerations[].operator", "Toleration.operator (Kubernetes' default Equal when unset)"),
    _m("tolerations[].value", "Toleration.value"),
    _m("tolerations[].effect", "Toleration.effect"),
    _m("tolerations[].tolerationSeconds", "Toleration.toleration_seconds"),
    _m("labels", "PodOptions.labels: on every object and pod, never in a selector", {"team": "ml"}),
    _m("labels.*", "a label (app.kubernetes.io/* keys are ours and refused)"),
    _m("podAnnotations", "PodOptions.pod_annotations", {"prometheus.io/scrape": "true"}),
    _m("podAnnotations.*", "a pod annotation"),
    _m("dshmSizeLimit", f"{_SHM} of this size (the KEDA branch's unconditional dshm volume)", "8Gi"),
    _m("shm", _SHM, {"enabled": True}),
    _m("shm.enabled", f"{_SHM}; unset: ours (on when the engine spans several GPUs)", True),
    _m("shm.size", "its size (unset or empty: the library's default, a quarter of the memory limit up to 16Gi; never unbounded)", "8Gi"),
    *_probe_rules("readinessProbe"),
    *_probe_rules("livenessProbe"),
    *_probe_rules("startupProbe"),
    _m("autoscaling", "Autoscaler with Scaling.cpu_memory(...), named <release>-hpa", {"enabled": True, "maxReplicas": 2}),
    _m("autoscaling.enabled", "renders the HorizontalPodAutoscaler (never together with keda.enabled)", False),
    _m("autoscaling.minReplicas", "AutoscalerProps.min_replicas", 1),
    _m("autoscaling.maxReplicas", "AutoscalerProps.max_replicas", 4),
    _m("autoscaling.targetCPUUtilizationPercentage", "Scaling.cpu_memory(cpu_percent=...) (0 or null: omitted)", 70),
    _m("autoscaling.targetMemoryUtilizationPercentage", "Scaling.cpu_memory(memory_percent=...)", 80),
    _m("keda", "a KEDA ScaledObject named <release>-scaledobject", {"enabled": False}),
    _m("keda.enabled", "renders the ScaledObject (refused together with autoscaling.enabled)", False),
    _m("keda.minReplicaCount", "AutoscalerProps.min_replicas (0 only with a custom query)", 1),
    _m("keda.maxReplicaCount", "AutoscalerProps.max_replicas", 3),
    _m("keda.pollingInterval", "Scaling.keda(polling_interval_seconds=...)", 30),
    _m("keda.cooldownPeriod", "Scaling.keda(cooldown_seconds=...)", 300),
    _m("keda.initialCooldownPeriod", "spec.initialCooldownPeriod when above 0", 60),
    _m("keda.prometheusServerAddress", "Scaling.keda(prometheus_address) (required when enabled)", "http://prometheus.monitoring:9090"),
    _m(
        "keda.query",
        "the default (sum of vllm:num_requests_waiting) becomes this server's own queue; any other query is used as given",
        "sum(vllm:num_requests_waiting)",
    ),
    _m("keda.threshold", "the per-pod target of the query", "2"),
    _r("keda.scaleDown", _FORK, {"stabilizationWindowSeconds": 300}),
    _r("keda.prometheus", _FORK + " (the flat keda.prometheusServerAddress/query/threshold are mapped)", {"enabled": True}),
    _r("keda.cron", _FORK + "; cron scaling is not offered", {"enabled": True}),
    _r("keda.redisStreams", _FORK + "; only Prometheus triggers are offered", {"enabled": True}),
    _r("keda.natsJetStream", _FORK + "; only Prometheus triggers are offered", {"enabled": True}),
    _m("serviceMonitor", "a ServiceMonitor named like the Service", {"enabled": True}),
    _m("serviceMonitor.enabled", "renders it", True),
    _m("serviceMonitor.additionalLabels", "its labels (your Prometheus selects monitors by them)", {"release": "prometheus"}),
    _m("serviceMonitor.additionalLabels.*", "a label"),
    _m("serviceMonitor.port", "the Service port name: the chart's service-port is our port named http", "service-port"),
    _m("serviceMonitor.path", "the scrape path", "/metrics"),
    _m("serviceMonitor.interval", "the scrape interval (a Prometheus duration)", "15s"),
    _m("serviceMonitor.metricFilter", "metric relabelling on __name__"),
    _m("serviceMonitor.metricFilter.regex", "the regex (empty: no relabelling)", "vllm:.*"),
    _m("serviceMonitor.metricFilter.action", "keep or drop", "drop"),
    _m("configs", "VllmServerProps.env_config: ConfigMap <release>-configs (values written as strings)", {"VLLM_LOGGING_LEVEL": "INFO"}),
    _m("configs.*", "one variable"),
    _m(
        "secrets",
        "never rendered: create Secret <release>-secrets yourself (template prints the kubectl line); "
        "S3 keys feed the download, other keys become the server's env by reference",
        {"s3endpoint": "http://minio:9000"},
    ),
    _m("secrets.*", "one key of Secret <release>-secrets"),
    _r(
        "secrets.s3buckername",
        "the first chart's misspelling: the chart has read s3bucketname since, so the bucket would be unset",
        "bucket",
    ),
    _m("externalConfigs", "VllmServerProps.env_from", [{"configMapRef": {"name": "shared"}}]),
    _m("externalConfigs[].configMapRef", "EnvFrom.config_map(...)"),
    _m("externalConfigs[].configMapRef.name", "its name"),
    _m("externalConfigs[].configMapRef.optional", "optional"),
    _m("externalConfigs[].secretRef", "EnvFrom.secret(...)"),
    _m("externalConfigs[].secretRef.name", "its name"),
    _m("externalConfigs[].secretRef.optional", "optional"),
    _m("externalConfigs[].prefix", "its prefix"),
    _m(
        "customObjects",
        "rendered as given ({{ .Release.Name }} and {{ .Release.Namespace }} expanded; other templates refused)",
        [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "{{ .Release.Name }}-notes"}, "data": {"a": "b"}}],
    ),
    _m("maxUnavailablePodDisruptionBudget", "VllmServerProps.pdb_max_unavailable ('' is 1)", "50%"),
    _m(
        "extraContainers",
        "PodOptions.extra_containers (volumes they mount must exist in the pod)",
        [{"name": "sidecar", "image": "busybox:1.36", "command": ["sleep", "infinity"]}],
    ),
    _m("extraInit", "the model download and cache (null is refused: the chart would still mount its claim)"),
    _m("extraInit.modelDownload", "ModelDownload"),
    _m(
        "extraInit.modelDownload.enabled",
        "true: the download Job and wait guard; false: vLLM reads the claim, the image, or downloads a hub model itself",
        True,
    ),
    *_download_rules("extraInit.modelDownload.", flat=False),
    *_download_rules("extraInit.", flat=True),
    _m("extraInit.initContainers", "PodOptions.init_containers, after the wait guard", [{"name": "init", "image": "busybox:1.36"}]),
    _m(
        "extraInit.s3modelpath",
        "the S3 prefix of ModelSource.chart_s3 (may be empty when your own download command fetches the model)",
        "models/opt-125m",
    ),
    _m("extraInit.pvcStorage", "the cache claim's size", "20Gi"),
    _m("extraInit.awsEc2MetadataDisabled", "S3Model.ec2_metadata_disabled", False),
    _m("extraInit.pvcAccessMode", "the cache claim's access mode (default: ReadWriteMany when several pods read it)", "ReadWriteMany"),
    _m("extraInit.pvcStorageClassName", "the cache claim's storage class ('' is the cluster default)", "standard"),
    _m("imagePullSecrets", "PodOptions.image_pull_secrets", [{"name": "registry"}]),
    _m("imagePullSecrets[].name", "a docker-registry Secret"),
    _m("terminationGracePeriodSeconds", "PodOptions.termination_grace_period_seconds", 180),
    _r(
        "proxy",
        "the queue proxy (a Redis-stream front end from a branch of the chart) is not part of vllm-constructs; "
        "deploy it with its own manifests",
        {"enabled": True},
    ),
    _r("sidecar", _FORK + "; add containers with extraContainers", {"enabled": True}),
    _r("podLabels", _FORK + "; use labels (they reach the pods too)", {"a": "b"}),
)


def _matches(pattern: tuple[str, ...], key: Key) -> bool:
    if len(pattern) != len(key):
        return False
    for want, part in zip(pattern, key, strict=True):
        if want == ANY_INDEX:
            if not isinstance(part, int):
                return False
        elif want not in (ANY_KEY, part):
            return False
    return True


_BY_HEAD: dict[tuple[str, int], list[tuple[tuple[str, ...], KeyRule]]] = {}
for _rule in RULES:
    _BY_HEAD.setdefault((_rule.pattern[0], len(_rule.pattern)), []).append((_rule.pattern, _rule))


def rule_for(key: Key) -> KeyRule | None:
    """The most specific rule for ``key`` (an exact key beats a wildcard); None for unknown keys."""
    best: KeyRule | None = None
    best_wild = 0
    for pattern, rule in _BY_HEAD.get((str(key[0]), len(key)), ()) if key else ():
        wild = pattern.count(ANY_KEY)
        if _matches(pattern, key) and (best is None or best_wild > wild):
            best, best_wild = rule, wild
    return best


def refused_rule(key: Key) -> KeyRule | None:
    """The refused rule covering ``key`` or one of its ancestors (a refused key refuses everything under it)."""
    for n in range(1, len(key) + 1):
        rule = rule_for(key[:n])
        if rule is not None and rule.treatment == "refused":
            return rule
    return None
