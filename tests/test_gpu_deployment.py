"""GpuDeployment: defaults for GPU servers, props, and every validation error by its exact message."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import cdk8s
import pytest

from tests.conftest import chart_objects, chart_yaml, one
from tests.schemas import K8S_VERSIONS, k8s_errors
from tests.wrong_types import CANDIDATES, field_cases, wrong_values
from vllm_constructs import (
    Accelerator,
    ConfigError,
    ConfigMapKeyRef,
    ContainerPort,
    EnvFrom,
    FieldRef,
    GpuDeployment,
    GpuDeploymentProps,
    GpuProductAffinity,
    HealthChecks,
    Image,
    PodOptions,
    Resources,
    RolloutStrategy,
    SecretKeyRef,
    SecurityProfile,
    SharedMemory,
    Toleration,
    TopologySpread,
    Volume,
    WorkloadLabels,
)
from vllm_constructs.core.objects import KubeObject, hand_over_replicas
from vllm_constructs.core.values import EnvFromConfigMap, EnvFromSecret, Recreate, RollingUpdate

IMAGE = Image("vllm/vllm-openai", tag="v0.33.0")
MakeChart = Callable[..., cdk8s.Chart]


def props(**overrides: Any) -> GpuDeploymentProps:
    base: dict[str, Any] = {"name": "srv", "image": IMAGE, "resources": Resources(cpu="4", memory="32Gi", accelerators=1)}
    base.update(overrides)
    return GpuDeploymentProps(**base)


def deployment(chart: cdk8s.Chart, p: GpuDeploymentProps) -> dict[str, Any]:
    GpuDeployment(chart, "gd", p)
    return one(chart_objects(chart), "Deployment")


def container(dep: dict[str, Any]) -> dict[str, Any]:
    c: dict[str, Any] = dep["spec"]["template"]["spec"]["containers"][0]
    return c


def error(chart: cdk8s.Chart, p: GpuDeploymentProps) -> str:
    with pytest.raises(ConfigError) as info:
        GpuDeployment(chart, "gd", p)
    assert chart_objects(chart) == [], "no object may be added when validation fails"
    return str(info.value)


def test_defaults_snapshot(new_chart: MakeChart, yaml_snapshot: Any) -> None:
    chart = new_chart()
    GpuDeployment(chart, "gd", props())
    assert chart_yaml(chart) == yaml_snapshot


def test_fully_configured_snapshot(new_chart: MakeChart, yaml_snapshot: Any) -> None:
    chart = new_chart()
    GpuDeployment(
        chart,
        "gd",
        props(
            resources=Resources(cpu="16", memory="128Gi", accelerators=2, cpu_limit="32", ephemeral_storage="50Gi"),
            accelerator=Accelerator.amd(),
            command=("python3",),
            args=("-m", "server"),
            env={"A": "1"},
            extra_ports=(ContainerPort("grpc", 50051),),
            rollout=RolloutStrategy.recreate(),
            health=HealthChecks(startup_timeout_seconds=3600),
            pod=PodOptions(
                gpu_products=GpuProductAffinity.prefer("AMD-Instinct-MI300X"),
                tolerations=(Toleration("dedicated", operator="Equal", value="llm", effect="NoSchedule"),),
                node_selector={"pool": "gpu"},
                runtime_class_name="amd",
                service_account="llm",
                priority_class_name="high",
                topology_spread=(TopologySpread(topology_key="topology.kubernetes.io/zone"),),
                image_pull_secrets=("regcred",),
                labels={"team": "ml"},
                annotations={"owner": "ml"},
                pod_annotations={"a": "b"},
                security=SecurityProfile(add_capabilities=("IPC_LOCK",)),
                extra_containers=({"name": "sidecar", "image": "busybox:1.36"},),
                init_containers=({"name": "prep", "image": "busybox:1.36"},),
            ),
        ),
    )
    out = chart_yaml(chart)
    assert out == yaml_snapshot
    for obj in chart_objects(chart):
        for version in K8S_VERSIONS:
            assert k8s_errors(obj, version) == []


def test_accelerator_limit_equals_request_and_is_present_exactly_when_requested(new_chart: MakeChart) -> None:
    gpu = container(deployment(new_chart(), props(resources=Resources(cpu="1", memory="1Gi", accelerators=2))))["resources"]
    assert gpu["requests"]["nvidia.com/gpu"] == gpu["limits"]["nvidia.com/gpu"] == "2"
    cpu_only = deployment(new_chart(), props(resources=Resources(cpu="1", memory="1Gi")))
    assert "nvidia.com/gpu" not in str(cpu_only)
    assert "tolerations" not in cpu_only["spec"]["template"]["spec"]


def test_amd_vendor_uses_its_resource_name(new_chart: MakeChart) -> None:
    res = container(deployment(new_chart(), props(accelerator=Accelerator.amd())))["resources"]
    assert res["limits"]["amd.com/gpu"] == "1"
    assert "nvidia.com/gpu" not in res["limits"]


def test_chart_bug_16_shared_memory_mounted_when_parallel(new_chart: MakeChart) -> None:
    dep = deployment(new_chart(), props(resources=Resources(cpu="8", memory="64Gi", accelerators=4)))
    volumes = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
    assert volumes["dshm"] == {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "16Gi"}}
    assert {"name": "dshm", "mountPath": "/dev/shm"} in container(dep)["volumeMounts"]


def test_shared_memory_default_is_capped_at_a_quarter_of_memory(new_chart: MakeChart) -> None:
    dep = deployment(new_chart(), props(resources=Resources(cpu="8", memory="20Gi", accelerators=2)))
    volumes = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
    assert volumes["dshm"]["emptyDir"]["sizeLimit"] == "5Gi"


def test_no_shared_memory_for_one_accelerator_unless_asked(new_chart: MakeChart) -> None:
    dep = deployment(new_chart(), props())
    assert "dshm" not in str(dep)
    asked = deployment(new_chart(), props(pod=PodOptions(shared_memory=SharedMemory.of("2Gi"))))
    assert {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}} in asked["spec"]["template"]["spec"]["volumes"]


def test_chart_bug_no_startup_probe_fixed_with_explicit_budget(new_chart: MakeChart) -> None:
    c = container(deployment(new_chart(), props(health=HealthChecks(startup_timeout_seconds=2400, startup_period_seconds=15))))
    startup = c["startupProbe"]
    assert startup["httpGet"]["path"] == "/health"
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 2400
    assert startup["failureThreshold"] == 160
    # readiness and liveness carry no initial delay: the startup probe gates them.
    assert "initialDelaySeconds" not in c["readinessProbe"]
    assert "initialDelaySeconds" not in c["livenessProbe"]


def test_chart_bug_6_probe_ports_follow_the_container_port(new_chart: MakeChart) -> None:
    c = container(deployment(new_chart(), props(port=ContainerPort("api", 9000))))
    assert c["ports"][0] == {"name": "api", "containerPort": 9000, "protocol": "TCP"}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"]["port"] == "api"


def test_chart_bug_5_runtime_class_is_opt_in(new_chart: MakeChart) -> None:
    assert "runtimeClassName" not in deployment(new_chart(), props())["spec"]["template"]["spec"]
    opted = deployment(new_chart(), props(pod=PodOptions(runtime_class_name="nvidia")))
    assert opted["spec"]["template"]["spec"]["runtimeClassName"] == "nvidia"


def test_chart_bug_17_service_links_off(new_chart: MakeChart) -> None:
    assert deployment(new_chart(), props())["spec"]["template"]["spec"]["enableServiceLinks"] is False


def test_rollout_needs_no_spare_accelerator_by_default(new_chart: MakeChart) -> None:
    dep = deployment(new_chart(), props())
    assert dep["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    assert dep["spec"]["progressDeadlineSeconds"] == 1800 + 600


def test_hardened_security_context_by_default(new_chart: MakeChart) -> None:
    dep = deployment(new_chart(), props())
    pod = dep["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    sc = container(dep)["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert {"name": "tmp", "mountPath": "/tmp"} in container(dep)["volumeMounts"]


def test_drain_and_grace_period(new_chart: MakeChart) -> None:
    dep = deployment(new_chart(), props(pod=PodOptions(drain_seconds=20, termination_grace_period_seconds=300)))
    assert container(dep)["lifecycle"] == {"preStop": {"exec": {"command": ["sleep", "20"]}}}
    assert dep["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 300


def test_gpu_product_affinity_required_and_preferred(new_chart: MakeChart) -> None:
    req = deployment(new_chart(), props(pod=PodOptions(gpu_products=GpuProductAffinity.require("NVIDIA-L4"))))
    terms = req["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms["nodeSelectorTerms"][0]["matchExpressions"] == [
        {"key": "nvidia.com/gpu.product", "operator": "In", "values": ["NVIDIA-L4"]}
    ]
    pref = deployment(new_chart(), props(pod=PodOptions(gpu_products=GpuProductAffinity.prefer("NVIDIA-L4", weight=50))))
    assert (
        pref["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["weight"] == 50
    )


def test_selector_is_the_identity_and_labels_never_enter_it(new_chart: MakeChart) -> None:
    dep = deployment(new_chart(), props(pod=PodOptions(labels={"environment": "test", "release": "test"})))
    assert dep["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "vllm",
        "app.kubernetes.io/instance": "srv",
        "app.kubernetes.io/component": "server",
    }
    assert dep["spec"]["template"]["metadata"]["labels"]["environment"] == "test"


def test_autoscaled_deployment_omits_replicas(new_chart: MakeChart) -> None:
    chart = new_chart()
    gd = GpuDeployment(chart, "gd", props(replicas=3))
    gd.hand_replicas_to_autoscaler()
    gd.hand_replicas_to_autoscaler()  # a second hand-over is a no-op (a second JSON patch would fail at synth)
    assert "replicas" not in one(chart_objects(chart), "Deployment")["spec"]


def test_replicas_none_omits_replicas_from_the_start(new_chart: MakeChart) -> None:
    chart = new_chart()
    gd = GpuDeployment(chart, "gd", props(replicas=None))
    gd.hand_replicas_to_autoscaler()
    assert "replicas" not in one(chart_objects(chart), "Deployment")["spec"]


def test_two_workloads_in_different_namespaces_may_share_a_name() -> None:
    app = cdk8s.App()
    for ns in ("a", "b"):
        GpuDeployment(cdk8s.Chart(app, ns, namespace=ns), "gd", props())


def test_handles_and_the_default_child_is_the_deployment(new_chart: MakeChart) -> None:
    chart = new_chart()
    gd = GpuDeployment(chart, "gd", props(port=ContainerPort("api", 9000)))
    assert cdk8s.ApiObject.of(gd) is gd.resource
    assert cdk8s.ApiObject.of(gd).kind == "Deployment"
    assert gd.name == "srv"
    assert gd.port == ContainerPort("api", 9000)
    assert gd.selector_labels == {
        "app.kubernetes.io/name": "vllm",
        "app.kubernetes.io/instance": "srv",
        "app.kubernetes.io/component": "server",
    }
    gd.selector_labels["app.kubernetes.io/instance"] = "changed"
    assert gd.selector_labels["app.kubernetes.io/instance"] == "srv", "selector_labels is a copy"
    assert gd.serving.selector_labels == gd.selector_labels
    assert gd.serving.scale_target is not None and gd.serving.scale_target.name == "srv"


def test_custom_labels_are_the_selector(new_chart: MakeChart) -> None:
    labels = WorkloadLabels(name="embedder", instance="emb-1", component="worker", part_of="search")
    dep = deployment(new_chart(), props(labels=labels))
    assert dep["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "embedder",
        "app.kubernetes.io/instance": "emb-1",
        "app.kubernetes.io/component": "worker",
    }
    assert dep["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/part-of"] == "search"


def test_env_references_and_env_from_render_in_order(new_chart: MakeChart) -> None:
    dep = deployment(
        new_chart(),
        props(
            env={
                "B": "2",
                "TOKEN_FILE": "/var/run/token",
                "API_KEY": SecretKeyRef("api", "key"),
                "MODE": ConfigMapKeyRef("settings", "mode", optional=True),
                "POD_IP": FieldRef("status.podIP"),
            },
            env_from=(EnvFrom.config_map("settings", prefix="APP_"), EnvFrom.secret("creds", optional=True)),
        ),
    )
    c = container(dep)
    assert c["env"] == [
        {"name": "B", "value": "2"},
        {"name": "TOKEN_FILE", "value": "/var/run/token"},
        {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "api", "key": "key"}}},
        {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode", "optional": True}}},
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
    ]
    assert c["envFrom"] == [{"configMapRef": {"name": "settings"}, "prefix": "APP_"}, {"secretRef": {"name": "creds", "optional": True}}]


def test_volumes_affinity_and_extra_pod_volumes(new_chart: MakeChart) -> None:
    affinity = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []}}
    dep = deployment(
        new_chart(),
        props(
            volumes=(Volume(name="data", mount_path="/data", source={"persistentVolumeClaim": {"claimName": "d"}}, read_only=True),),
            pod=PodOptions(affinity=affinity, extra_volumes=({"name": "scratch", "emptyDir": {}},)),
        ),
    )
    pod = dep["spec"]["template"]["spec"]
    assert pod["affinity"] == affinity
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "d"}} in pod["volumes"]
    assert {"name": "scratch", "emptyDir": {}} in pod["volumes"]
    assert {"name": "data", "mountPath": "/data", "readOnly": True} in container(dep)["volumeMounts"]
    assert all(m["name"] != "scratch" for m in container(dep)["volumeMounts"]), "extra pod volumes are not mounted into the main container"


# --- refused when a value is built: the class name is the path -------------------------------------------

VALUE_ERRORS = [
    (
        lambda: Image("vllm/vllm-openai", tag="latest"),
        "Image: tag='latest' is mutable or malformed. Allowed: a version tag other than 'latest' (letters, digits, "
        "'_', '.', '-'). Fix: pin a released version such as 'v0.33.0', or set digest='sha256:...'.",
    ),
    (
        lambda: Image("vllm/vllm-openai"),
        "Image: tag=None is missing and no digest is given. Allowed: a version tag such as 'v0.33.0', or "
        "digest='sha256:...'. Fix: pin the image to a version so every node runs the same bits.",
    ),
    (
        lambda: Image("vllm/vllm-openai", digest="sha256:abc"),
        "Image: digest='sha256:abc' is not an image digest. Allowed: 'sha256:' followed by 64 lower-case hex digits. "
        "Fix: copy it from your registry.",
    ),
    (
        lambda: Image("Vllm/Vllm-OpenAI:v1", tag="v1"),
        "Image: repository='Vllm/Vllm-OpenAI:v1' is not an image repository. Allowed: a reference such as 'vllm/vllm-openai' or "
        "'registry.example.com:5000/team/vllm'. Fix: give the repository without tag or digest.",
    ),
    (
        lambda: props(name="Bad_Name"),
        "GpuDeploymentProps: name='Bad_Name' is not a DNS-1123 label. Allowed: at most 63 lower-case letters, digits and '-', "
        "starting and ending with a letter or digit. Fix: use a name such as 'llama-8b'.",
    ),
    (
        lambda: props(name="x" * 64),
        f"GpuDeploymentProps: name={'x' * 64!r} is not a DNS-1123 label. Allowed: at most 63 lower-case letters, digits and '-', "
        "starting and ending with a letter or digit. Fix: use a name such as 'llama-8b'.",
    ),
    (
        lambda: Resources(cpu="four", memory="1Gi"),
        "Resources: cpu='four' is not a Kubernetes quantity. Allowed: a string such as '500m', '4', '16Gi' or '1.5'. "
        "Fix: write the quantity as a string with a Kubernetes suffix.",
    ),
    (
        lambda: Resources(cpu="8", memory="1Gi", cpu_limit="4"),
        "Resources: cpu='8' is above cpu_limit. Allowed: cpu <= cpu_limit. Fix: lower cpu or raise cpu_limit.",
    ),
    (
        lambda: Resources(cpu="1", memory="2Gi", memory_limit="1Gi"),
        "Resources: memory='2Gi' is above memory_limit. Allowed: memory <= memory_limit. Fix: lower memory or raise memory_limit.",
    ),
    (
        lambda: Resources(cpu="1", memory="1Gi", accelerators=65),
        "Resources: accelerators=65 is out of range. Allowed: an integer >= 0 and <= 64. Fix: pick a value in range.",
    ),
    (
        lambda: GpuProductAffinity.require("TYPE_GPU_USED"),
        "GpuProductAffinity: products[0]='TYPE_GPU_USED' is a placeholder or not a label value. Allowed: the exact value of the "
        "product label on your nodes, such as 'NVIDIA-A100-SXM4-80GB'. Fix: read it with: kubectl get nodes -L nvidia.com/gpu.product.",
    ),
    (
        GpuProductAffinity.require,
        "GpuProductAffinity: products=() names no product. Allowed: one or more product label values such as "
        "'NVIDIA-H100-80GB-HBM3'. Fix: list the products, or pass gpu_products=None to schedule on any accelerator node.",
    ),
    (
        lambda: RolloutStrategy.rolling(max_surge=0, max_unavailable=0),
        "RollingUpdate: max_unavailable=0 is zero while max_surge is zero too, so a rollout can never progress. "
        "Allowed: max_surge > 0 or max_unavailable > 0. Fix: keep max_unavailable=1 (no spare accelerator needed) or allow a surge.",
    ),
    (
        lambda: props(env={"A": 1}),
        "GpuDeploymentProps: env['A']=1 is an int, not a string or reference. Allowed: a str, SecretKeyRef, ConfigMapKeyRef or "
        "FieldRef. Fix: quote numbers and booleans (e.g. '1'), and pass secrets as SecretKeyRef.",
    ),
    (
        lambda: props(env={"API_KEY": "abc"}),
        "GpuDeploymentProps: env['API_KEY']=<str, redacted> is a literal secret; it would be written into the manifests in clear "
        "text. Allowed: SecretKeyRef(secret_name, key) for secret values; literal strings only for non-secret settings. Fix: create "
        "the Secret outside the manifests (kubectl create secret generic ...) and pass SecretKeyRef(name, key).",
    ),
    (
        lambda: SecurityProfile(add_capabilities=("SYS_ADMIN",)),
        "SecurityProfile: add_capabilities[0]='SYS_ADMIN' grants near-root power. Allowed: narrow capabilities such as "
        "'IPC_LOCK' or 'SYS_PTRACE'. Fix: use a narrower capability.",
    ),
    (
        lambda: SecurityProfile(run_as_user=0),
        "SecurityProfile: run_as_user=0 is root while run_as_non_root is True. Allowed: a non-zero user id. "
        "Fix: use 2000, or set run_as_non_root=False explicitly.",
    ),
    (
        lambda: PodOptions(drain_seconds=30, termination_grace_period_seconds=30),
        "PodOptions: termination_grace_period_seconds=30 is not above drain_seconds (30). Allowed: an integer > 30. "
        "Fix: raise the grace period or shorten the drain.",
    ),
    (
        lambda: PodOptions(labels={"app.kubernetes.io/instance": "x"}),
        "PodOptions: labels['app.kubernetes.io/instance']='app.kubernetes.io/instance' is a label the construct sets itself "
        "(selector and identity labels), so yours would be lost. Allowed: labels outside app.kubernetes.io/component, "
        "app.kubernetes.io/instance, app.kubernetes.io/managed-by, app.kubernetes.io/name, app.kubernetes.io/part-of, "
        "app.kubernetes.io/version. Fix: use another key (e.g. 'team'), or set the server's name / part_of for the identity labels.",
    ),
    (
        lambda: PodOptions(
            gpu_products=GpuProductAffinity.require("NVIDIA-L4"),
            affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}}},
        ),
        "PodOptions: affinity='nodeAffinity' sets a node affinity while gpu_products sets one too. Allowed: gpu_products or "
        "affinity.nodeAffinity, not both. Fix: put the product rule into your affinity and drop gpu_products.",
    ),
    (
        lambda: PodOptions(extra_volumes=({"name": "a", "emptyDir": {}}, {"name": "a", "emptyDir": {}})),
        "PodOptions: extra_volumes='a' is a duplicate volume name. Allowed: each volume name once per pod. "
        "Fix: rename or remove one of the volumes named 'a'.",
    ),
    (
        lambda: Toleration("dedicated", operator="Exists", value="llm"),
        "Toleration: value='llm' is set with operator 'Exists'. Allowed: no value with 'Exists'. "
        "Fix: drop the value or use operator='Equal'.",
    ),
    (
        lambda: Toleration(None, operator="Equal", value="llm"),
        "Toleration: key=None is missing with operator 'Equal'. Allowed: a taint key. Fix: give the key, or use operator='Exists'.",
    ),
    (
        lambda: HealthChecks(startup_timeout_seconds=5),
        "HealthChecks: startup_timeout_seconds=5 is shorter than one startup period (10 s). Allowed: an integer >= 10. "
        "Fix: raise the budget or shorten the period.",
    ),
    (
        lambda: ContainerPort("HTTP", 8000),
        "ContainerPort: name='HTTP' is not a port name. Allowed: an IANA service name: at most 15 lower-case letters, digits and "
        "'-', with a letter. Fix: use a name such as 'http'.",
    ),
    (
        lambda: GpuDeploymentProps(name="srv", image=IMAGE, resources=Resources(cpu="1", memory="1Gi"), extra_volumes=()),
        "GpuDeploymentProps: extra_volumes=() is not a field of GpuDeploymentProps. Allowed: name, image, resources, labels, "
        "container_name, command, args, env, env_from, port, extra_ports, accelerator, parallel, health, replicas, rollout, "
        "progress_deadline_seconds, volumes, pod. Fix: it is PodOptions(extra_volumes=...) since 0.2.0.",
    ),
]


@pytest.mark.parametrize(
    ("build", "message"), VALUE_ERRORS, ids=[m.split(" ", 2)[1].split("=")[0] + f"-{i}" for i, (_, m) in enumerate(VALUE_ERRORS)]
)
def test_fails_when_a_value_is_built_wrong(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        build()
    assert str(info.value) == message


def test_every_problem_of_one_value_is_reported_one_per_line() -> None:
    with pytest.raises(ConfigError) as info:
        Resources(cpu="four", memory="lots", accelerators=-1)
    assert [(p.path, p.field) for p in info.value.problems] == [
        ("Resources", "cpu"),
        ("Resources", "memory"),
        ("Resources", "accelerators"),
    ]
    assert str(info.value).count("\n") == 2


def test_replace_validates_too() -> None:
    with pytest.raises(ConfigError) as info:
        dataclasses.replace(props(), replicas=-1)
    assert str(info.value) == (
        "GpuDeploymentProps: replicas=-1 is out of range. Allowed: an integer >= 0 and <= 2147483647. Fix: pick a value in range."
    )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            RolloutStrategy,
            "RolloutStrategy: (kind)={} cannot be built directly; a RolloutStrategy is one of its kinds. Allowed: "
            "RolloutStrategy.rolling(max_surge=..., max_unavailable=...) or RolloutStrategy.recreate(). Fix: use one of those factories.",
        ),
        (
            lambda: EnvFrom("settings"),
            "EnvFrom: (kind)='settings' cannot be built directly; an EnvFrom is one of its kinds. Allowed: "
            "EnvFrom.config_map(name, prefix=..., optional=...) or EnvFrom.secret(name, prefix=..., optional=...). "
            "Fix: use one of those factories.",
        ),
    ],
    ids=["RolloutStrategy", "EnvFrom"],
)
def test_closed_unions_cannot_be_built_directly(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        build()
    assert str(info.value) == message


def test_closed_union_factories_return_their_kinds() -> None:
    assert type(RolloutStrategy.rolling()) is RollingUpdate
    assert type(RolloutStrategy.recreate()) is Recreate
    assert type(EnvFrom.config_map("c")) is EnvFromConfigMap
    assert type(EnvFrom.secret("s")) is EnvFromSecret


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"rollout": "Recreate"},
            "GpuDeploymentProps: rollout='Recreate' is a str. Allowed: RolloutStrategy.rolling(max_surge=..., max_unavailable=...) or "
            "RolloutStrategy.recreate(). Fix: use one of those factories.",
        ),
        (
            {"env_from": ({"secretRef": {"name": "s"}},)},
            "GpuDeploymentProps: env_from[0]={'secretRef': {'name': 's'}} is a dict. Allowed: EnvFrom.config_map(name, prefix=..., "
            "optional=...) or EnvFrom.secret(name, prefix=..., optional=...). Fix: use one of those factories.",
        ),
        (
            {"replicas": True},
            "GpuDeploymentProps: replicas=True is a bool. Allowed: an int or None. Fix: pass an int or None.",
        ),
        (
            {"command": "python3 -m server"},
            "GpuDeploymentProps: command='python3 -m server' is a str, not a tuple. Allowed: a tuple of str. "
            "Fix: pass a tuple, e.g. ('a',) for one item (a str would be split into characters).",
        ),
        (
            {"resources": {"cpu": "1", "memory": "1Gi"}},
            "GpuDeploymentProps: resources={'cpu': '1', 'memory': '1Gi'} is a dict. Allowed: a Resources. Fix: pass a Resources.",
        ),
    ],
    ids=["rollout", "env_from", "replicas", "command", "resources"],
)
def test_fails_when_a_field_has_the_wrong_type(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        props(**overrides)
    assert str(info.value) == message


IMAGE_ARGS: dict[str, Any] = {"repository": "vllm/vllm-openai", "tag": "v1"}
VALID: dict[type[Any], Callable[..., object]] = {
    Image: lambda **kw: Image(**{**IMAGE_ARGS, **kw}),
    Resources: lambda **kw: Resources(**{"cpu": "1", "memory": "1Gi", **kw}),
    Accelerator: lambda **kw: Accelerator(**{"resource": "nvidia.com/gpu", "product_label": "nvidia.com/gpu.product", **kw}),
    ContainerPort: lambda **kw: ContainerPort(**{"name": "http", "port": 8000, **kw}),
    HealthChecks: HealthChecks,
    GpuProductAffinity: lambda **kw: GpuProductAffinity(**{"products": ("NVIDIA-L4",), **kw}),
    Toleration: lambda **kw: Toleration(**{"key": "k", **kw}),
    TopologySpread: TopologySpread,
    SharedMemory: lambda **kw: SharedMemory(**{"enabled": True, "size": "1Gi", **kw}),
    SecurityProfile: SecurityProfile,
    Volume: lambda **kw: Volume(**{"name": "v", "mount_path": "/v", **kw}),
    PodOptions: PodOptions,
    WorkloadLabels: lambda **kw: WorkloadLabels(**{"instance": "srv", **kw}),
    RollingUpdate: RollingUpdate,
    EnvFromConfigMap: lambda **kw: EnvFromConfigMap(**{"name": "c", **kw}),
    EnvFromSecret: lambda **kw: EnvFromSecret(**{"name": "s", **kw}),
    SecretKeyRef: lambda **kw: SecretKeyRef(**{"name": "s", "key": "k", **kw}),
    ConfigMapKeyRef: lambda **kw: ConfigMapKeyRef(**{"name": "c", "key": "k", **kw}),
    FieldRef: lambda **kw: FieldRef(**{"field_path": "status.podIP", **kw}),
    GpuDeploymentProps: props,
}
WRONG_TYPE_CASES = [(cls, name) for cls in VALID for name in sorted({f for f, _ in field_cases(cls)})]


def test_wrong_type_candidates_follow_strict_typing() -> None:
    def types_of(values: list[object]) -> set[str]:
        return {type(v).__name__ for v in values}

    everything = types_of(list(CANDIDATES))
    assert types_of(wrong_values(int)) == everything - {"int"}, "a bool is not an int"
    assert types_of(wrong_values(float)) == everything - {"int", "float"}
    assert types_of(wrong_values(int | None)) == everything - {"int"}
    assert types_of(wrong_values(tuple[str, ...])) == everything - {"tuple"}, "a list or a str is not a tuple"
    assert types_of(wrong_values(dict[str, str])) == everything - {"dict"}
    assert types_of(wrong_values(Image)) == everything, "a dict is not a value class"
    assert types_of(wrong_values(RolloutStrategy)) == everything, "a closed union admits only its kinds"


def test_every_value_class_builds_from_its_valid_base_and_every_field_has_wrong_types() -> None:
    for cls, make in VALID.items():
        assert type(make()) is cls
        assert {f for f, _ in field_cases(cls)} == {f.name for f in dataclasses.fields(cls)}, cls


@pytest.mark.parametrize(("cls", "field"), WRONG_TYPE_CASES, ids=[f"{c.__name__}.{f}" for c, f in WRONG_TYPE_CASES])
def test_fails_when_any_field_gets_a_wrong_type(cls: type[Any], field: str) -> None:
    wrong = [value for name, value in field_cases(cls) if name == field]
    assert wrong
    for value in wrong:
        with pytest.raises(ConfigError) as info:
            VALID[cls](**{field: value})
        assert [(p.path, p.field) for p in info.value.problems] == [(cls.__name__, field)], (value, str(info.value))


# --- refused when the construct is created: the construct path is the path ------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"progress_deadline_seconds": 600},
            "test/gd: progress_deadline_seconds=600 is not above the startup budget (1800 s), so every rollout would be reported "
            "failed while the model loads. Allowed: an integer > 1800. Fix: leave it unset (startup budget + 600 s) or raise it.",
        ),
        (
            {"resources": Resources(cpu="8", memory="64Gi", accelerators=2), "pod": PodOptions(shared_memory=SharedMemory.disabled())},
            "test/gd: pod.shared_memory='disabled' is off for a parallel workload; NCCL then fails on the 64Mi default /dev/shm. "
            "Allowed: SharedMemory.of(size) when the workload spans several accelerators. "
            "Fix: remove shared_memory=SharedMemory.disabled() or set a size.",
        ),
        (
            {"pod": PodOptions(shared_memory=SharedMemory.of("32Gi"))},
            "test/gd: pod.shared_memory.size='32Gi' is not below the memory limit (32Gi); /dev/shm pages count against it. "
            "Allowed: a size below the container memory limit. Fix: raise resources.memory_limit or lower shared_memory.",
        ),
        (
            {"extra_ports": (ContainerPort("http", 9000),)},
            "test/gd: extra_ports='http' is a duplicate port name. Allowed: each port name once per pod. "
            "Fix: rename or remove one of the ports named 'http'.",
        ),
        (
            {"extra_ports": (ContainerPort("metrics", 8000),)},
            "test/gd: extra_ports=8000 clashes with port 'http' on the same number. Allowed: each port number once per protocol. "
            "Fix: pick another port number.",
        ),
        (
            {"pod": PodOptions(extra_containers=({"name": "server", "image": "x:1"},))},
            "test/gd: pod.extra_containers='server' is a duplicate container name. Allowed: each container name once per pod. "
            "Fix: rename or remove one of the containers named 'server'.",
        ),
        (
            {"pod": PodOptions(extra_volumes=({"name": "tmp", "emptyDir": {}},))},
            "test/gd: volumes='tmp' is a duplicate volume name. Allowed: each volume name once per pod. "
            "Fix: rename or remove one of the volumes named 'tmp'.",
        ),
        (
            {"volumes": (Volume(name="a", mount_path="/x"), Volume(name="b", mount_path="/x"))},
            "test/gd: volumes.mount_path='/x' is a duplicate mount path name. Allowed: each mount path name once per pod. "
            "Fix: rename or remove one of the mount paths named '/x'.",
        ),
        (
            {"resources": Resources(cpu="1", memory="1Gi"), "pod": PodOptions(gpu_products=GpuProductAffinity.require("NVIDIA-L4"))},
            "test/gd: pod.gpu_products=('NVIDIA-L4',) is set but the pod requests no accelerator. Allowed: gpu_products only with "
            "resources.accelerators > 0. Fix: request accelerators or drop gpu_products.",
        ),
    ],
)
def test_fails_when_props_are_invalid(new_chart: MakeChart, overrides: dict[str, Any], message: str) -> None:
    assert error(new_chart(), props(**overrides)) == message


def test_fails_when_props_are_not_gpu_deployment_props(new_chart: MakeChart) -> None:
    chart = new_chart()
    with pytest.raises(ConfigError) as info:
        GpuDeployment(chart, "gd", {"name": "srv"})  # type: ignore[arg-type]
    assert str(info.value) == (
        "test/gd: props={'name': 'srv'} is a dict. Allowed: GpuDeploymentProps. Fix: build the props with GpuDeploymentProps(...)."
    )
    assert chart_objects(chart) == [] and len(chart.node.children) == 0


def test_fails_when_two_workloads_share_a_selector_in_one_namespace(new_chart: MakeChart) -> None:
    chart = new_chart()
    GpuDeployment(chart, "one", props())
    before = chart_objects(chart)
    with pytest.raises(ConfigError) as info:
        GpuDeployment(chart, "two", props())
    assert str(info.value) == (
        "test/two: name='srv' is already used by test/one in namespace 'test', so the two would select each "
        "other's pods. Allowed: one server name per component and namespace. Fix: give each server a distinct name."
    )
    assert chart_objects(chart) == before
    assert [c.node.id for c in chart.node.children] == ["one"]


def test_fails_when_a_construct_id_is_taken(new_chart: MakeChart) -> None:
    chart = new_chart()
    GpuDeployment(chart, "gd", props())
    before = chart_objects(chart)
    with pytest.raises(ConfigError) as info:
        GpuDeployment(chart, "gd", props(name="other"))
    assert str(info.value) == (
        "test/gd: id='gd' is already used by another construct in test. Allowed: one construct per id in a scope. "
        "Fix: give each construct its own id."
    )
    assert chart_objects(chart) == before
    assert len(chart.node.children) == 1
    # the refused construct claimed nothing: its name is still free
    GpuDeployment(chart, "gd2", props(name="other"))


def test_props_are_immutable() -> None:
    p = props()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.name = "other"  # type: ignore[misc]


def test_handing_replicas_over_keeps_every_other_key_of_the_object() -> None:
    body = {"spec": {"replicas": 2, "paused": True}, "extra": 1}
    obj = KubeObject("Resource", "apps/v1", "Deployment", "x", {"a": "b"}, body, {"n": "v"})
    objects = [KubeObject("Other", "v1", "Service", "x", {}, {"spec": {"replicas": 9}}), obj]
    hand_over_replicas(objects, "Resource")
    assert objects[1].body == {"spec": {"paused": True}, "extra": 1}
    assert objects[1].annotations == {"n": "v"} and objects[1].labels == {"a": "b"}
    assert objects[0].body == {"spec": {"replicas": 9}}, "only the named object changes"
    assert obj.body["spec"]["replicas"] == 2, "the planned object itself is not mutated"
