"""A release of vLLM's example chart, planned from its values with the library's pure planners: the server
(:func:`~vllm_constructs.core.server.plan_server`), its autoscaler (:func:`~vllm_constructs.core.autoscaling.
plan_autoscaler`), and the release's own objects (claim, ServiceMonitor, ScaledObject with your query, custom objects).
Pure: no cdk8s, no Node; ``vllm-constructs template`` renders it, the construct and ``migrate`` compose the same parts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from ..core.autoscaling import AutoscalerProps, Scaling, plan_autoscaler
from ..core.model import HuggingFaceModel
from ..core.objects import KubeObject
from ..core.server import ServerPlan, plan_server
from ..errors import ConfigError
from .extras import chart_claim, custom_objects, custom_scaled_object, service_monitor
from .load import LoadedValues
from .patches import Patch, apply_patches, download_patches
from .server import ServerInputs, server_inputs
from .sources import Key, Origins
from .values import ChartValues

__all__ = ["DEFAULT_KEDA_QUERY", "ReleasePlan", "check_release", "plan_release"]

DEFAULT_KEDA_QUERY = "sum(vllm:num_requests_waiting)"
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
MAX_RELEASE = 35
"""Room for the longest derived name, the download Job <release>-init-vllm-download-<hash> (63 characters at most)."""

_SERVER_FIELDS: dict[str, Key] = {
    "names.service": ("serviceName",),
    "engine": ("image", "command"),
    "env_config": ("configs",),
    "extra_ports": ("extraPorts",),
    "volumes": ("extraContainers",),
    "pod.extra_containers": ("extraContainers",),
    "pod.gpu_products": ("gpuModels",),
    "pod.shared_memory": ("shm", "enabled"),
    "pod.shared_memory.size": ("shm", "size"),
    "progress_deadline_seconds": ("progressDeadlineSeconds",),
    "cache.access_mode": ("extraInit", "pvcAccessMode"),
    "cache": ("extraInit",),
    "rollout.max_surge": ("deploymentStrategy", "rollingUpdate", "maxSurge"),
    "download": ("extraInit", "modelDownload"),
    "model.path": ("extraInit", "s3modelpath"),
    "hf_token": ("image", "env"),
}


@dataclass(slots=True)
class ReleasePlan:
    """Every object of one release, and how it was composed (for the construct and ``migrate``)."""

    release: str
    namespace: str
    inputs: ServerInputs
    server: ServerPlan
    autoscaler: AutoscalerProps | None
    autoscaler_objects: list[KubeObject]
    extras: list[KubeObject]
    patches: list[Patch]
    notices: list[str] = field(default_factory=list)

    @property
    def objects(self) -> list[KubeObject]:
        """Every object, patched, in the order the construct adds them."""
        return [*apply_patches([*self.server.objects, *self.autoscaler_objects], self.patches), *self.extras]


def check_release(release: object, namespace: object) -> None:
    """The release name and namespace given on the command line (or to the construct)."""
    if not isinstance(release, str) or len(release) > MAX_RELEASE or not _NAME.fullmatch(release):
        raise ConfigError(
            path="release",
            field="release",
            value=release,
            problem="is not a DNS-1123 label short enough for the chart's object names",
            allowed=f"at most {MAX_RELEASE} lower-case letters, digits and '-', starting and ending with a letter or digit",
            fix="use a release name such as 'demo'",
        )
    if not isinstance(namespace, str) or len(namespace) > 63 or not _NAME.fullmatch(namespace):
        raise ConfigError(
            path="--namespace",
            field="namespace",
            value=namespace,
            problem="is not a namespace name",
            allowed="a DNS-1123 label",
            fix="use a namespace such as 'ns-vllm'",
        )


def _translate_server(err: ConfigError, values: ChartValues, origins: Origins) -> ConfigError:
    """The server planner's errors at the values keys; its env errors name the variable, found in image.env."""
    moved = []
    for p in err.problems:
        if p.field == "env" and isinstance(p.value, str):
            index = next((i for i, e in enumerate(values.image.env or ()) if e.name == p.value), None)
            key: Key = ("image", "env", index, "name") if index is not None else ("secrets", p.value)
            moved.append(origins.problem(key, p.value, p.problem, p.allowed, f"{p.fix} (library field: env)"))
        else:
            moved.extend(origins.translate(ConfigError.of([p]), _SERVER_FIELDS, ("image",)).problems)
    return ConfigError.of(moved)


def _check_mounts(server: ServerPlan, values: ChartValues, origins: Origins) -> None:
    """Your containers may mount only volumes the pod has (the chart's pod has <release>-storage, which is added for
    them; its other volumes are the library's)."""
    pod = next(o for o in server.objects if o.kind == "Deployment").body["spec"]["template"]["spec"]
    names = {v["name"] for v in pod.get("volumes", [])}
    init = values.extra_init.init_containers if values.extra_init else []
    for where, containers in ((("extraContainers",), values.extra_containers), (("extraInit", "initContainers"), init)):
        for i, container in enumerate(containers):
            for j, mount in enumerate(container.get("volumeMounts") or []):
                name = mount.get("name") if isinstance(mount, dict) else None
                if name not in names:
                    origins.fail(
                        (*where, i, "volumeMounts", j, "name"),
                        name,
                        "is not a volume of the pod",
                        ", ".join(sorted(names)),
                        "mount one of the pod's volumes (the chart's <release>-storage is the model claim)",
                    )


def _threshold(values: ChartValues, origins: Origins) -> Decimal:
    raw = values.keda.threshold
    try:
        number = Decimal(str(raw).strip()) if not isinstance(raw, bool) else Decimal("nan")
    except InvalidOperation:
        number = Decimal("nan")
    if not number.is_finite() or number <= 0:
        origins.fail(
            ("keda", "threshold"), raw, "is not a positive number", "a number above 0, e.g. '2'", "write the per-pod target as a number"
        )
    return number


def _hpa(release: str, values: ChartValues, server: ServerPlan, origins: Origins) -> AutoscalerProps:
    a = values.autoscaling
    cpu, memory = a.target_cpu or None, a.target_memory or None
    if a.min_replicas > a.max_replicas:
        origins.fail(
            ("autoscaling", "minReplicas"), a.min_replicas, "is above autoscaling.maxReplicas", "minReplicas <= maxReplicas", "lower it"
        )
    fields = {
        "scaling.cpu_percent": ("autoscaling", "targetCPUUtilizationPercentage"),
        "scaling.memory_percent": ("autoscaling", "targetMemoryUtilizationPercentage"),
    }
    scaling = origins.within(
        fields, lambda: Scaling.cpu_memory(cpu_percent=cpu if cpu or memory else 80, memory_percent=memory), ("autoscaling",)
    )
    return AutoscalerProps(target=server, scaling=scaling, min_replicas=a.min_replicas, max_replicas=a.max_replicas, name=f"{release}-hpa")


def _keda(release: str, values: ChartValues, server: ServerPlan, origins: Origins) -> AutoscalerProps:
    k = values.keda
    if k.min_replica_count == 0:
        origins.fail(
            ("keda", "minReplicaCount"),
            0,
            "scales to zero on the server's own queue, but a server without pods reports no queue and never wakes",
            "1 or more with the default query (0 only with your own keda.query measuring demand outside the pods)",
            "set keda.minReplicaCount: 1",
        )
    fields = {"min_replicas": ("keda", "minReplicaCount"), "max_replicas": ("keda", "maxReplicaCount")}
    target = float(_threshold(values, origins))
    scaling = origins.within(
        {
            "prometheus_address": ("keda", "prometheusServerAddress"),
            "polling_interval_seconds": ("keda", "pollingInterval"),
            "cooldown_seconds": ("keda", "cooldownPeriod"),
            "targets": ("keda", "threshold"),
        },
        lambda: Scaling.keda(
            k.prometheus_server_address,
            {"vllm:num_requests_waiting": target},
            polling_interval_seconds=k.polling_interval,
            cooldown_seconds=k.cooldown_period,
        ),
        ("keda",),
    )
    return origins.within(
        fields,
        lambda: AutoscalerProps(
            target=server,
            scaling=scaling,
            min_replicas=k.min_replica_count,
            max_replicas=k.max_replica_count,
            name=f"{release}-scaledobject",
        ),
        ("keda",),
    )


def _scaling(release: str, plan: ReleasePlan, values: ChartValues, origins: Origins) -> None:
    """The HPA or the ScaledObject (never both: they would fight over the replica count)."""
    hpa, keda = values.autoscaling.enabled, values.keda.enabled
    if hpa and keda:
        origins.fail(
            ("keda", "enabled"),
            True,
            "is set together with autoscaling.enabled: the HPA and KEDA would scale the same Deployment and fight",
            "one autoscaler",
            "set autoscaling.enabled: false or keda.enabled: false",
        )
    if keda and not values.keda.prometheus_server_address:
        origins.fail(
            ("keda", "prometheusServerAddress"),
            "",
            "is required when keda.enabled",
            "the Prometheus URL, e.g. http://prometheus.monitoring:9090",
            "set keda.prometheusServerAddress",
        )
    if keda and " ".join(values.keda.query.split()) != DEFAULT_KEDA_QUERY:
        threshold = str(values.keda.threshold) if not isinstance(values.keda.threshold, bool) else ""
        _threshold(values, origins)
        plan.extras.append(custom_scaled_object(release, values, plan.server.serving, threshold, origins))
        plan.server.hand_replicas_to_autoscaler()
        return
    if not hpa and not keda:
        return
    props = _hpa(release, values, plan.server, origins) if hpa else _keda(release, values, plan.server, origins)
    where = "autoscaling" if hpa else "keda"
    fields = {"max_replicas": (where, "maxReplicas" if hpa else "maxReplicaCount"), "behavior.scale_up_period_seconds": ("startupProbe",)}
    made = origins.within(fields, lambda: plan_autoscaler(f"{release}/autoscaler", props), (where,))
    plan.autoscaler, plan.autoscaler_objects = props, list(made.objects)
    plan.server.hand_replicas_to_autoscaler()
    if keda and values.keda.initial_cooldown_period:
        plan.patches.append(Patch("ScaledObject", "add", "/spec/initialCooldownPeriod", values.keda.initial_cooldown_period))


def plan_release(release: str, namespace: str, loaded: LoadedValues) -> ReleasePlan:
    """Every object of the release (ConfigError naming the values source and key on anything it cannot render)."""
    check_release(release, namespace)
    values, origins = loaded.values, loaded.origins
    inputs = server_inputs(release, loaded)
    try:
        server = plan_server(release, namespace, inputs.props)
    except ConfigError as err:
        raise _translate_server(err, values, origins) from None
    _check_mounts(server, values, origins)
    d = inputs.delivery
    patches = download_patches(server.objects, server.model_path, custom_download=d.custom_download, custom_wait=d.custom_wait)
    plan = ReleasePlan(release, namespace, inputs, server, None, [], [], patches, list(inputs.notices))
    if d.chart_claim:
        plan.extras.append(chart_claim(release, values, server.serving, origins))
    _scaling(release, plan, values, origins)
    if values.service_monitor.enabled:
        plan.extras.append(service_monitor(values, server.serving, origins))
    plan.extras.extend(custom_objects(release, namespace, values, origins))
    plan.notices.extend(_notices(plan, values))
    return plan


def _notices(plan: ReleasePlan, values: ChartValues) -> list[str]:
    out = []
    model = plan.inputs.props.model
    if plan.inputs.delivery.at_start and isinstance(model, HuggingFaceModel):
        pinned = "" if plan.inputs.command.revision else " (the branch main: pin a commit with --revision in image.command)"
        token = ", with the token in HF_TOKEN" if plan.inputs.props.hf_token is not None else ""
        out.append(
            f"notice: {plan.release}: this pod downloads {model.repo_id} at revision {model.revision}{pinned} from the Hugging Face Hub "
            f"when it starts{token} (extraInit.modelDownload.enabled is false and image.command names a hub model): it must reach the hub"
        )
    if values.service_monitor.enabled and values.service_monitor.port == "service-port":
        out.append(
            "notice: serviceMonitor.port: the Service's port is named http here (the chart's service-port), "
            "so the ServiceMonitor scrapes port http"
        )
    return out
