"""GpuDeployment: defaults for GPU servers, props, and every validation error by its exact message."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import cdk8s
import pytest

from tests.conftest import chart_objects, chart_yaml, one
from tests.schemas import K8S_VERSIONS, k8s_errors
from vllm_constructs import (
    Accelerator,
    ConfigError,
    ContainerPort,
    GpuDeployment,
    GpuDeploymentProps,
    GpuProductAffinity,
    HealthChecks,
    Image,
    PodOptions,
    Resources,
    RolloutStrategy,
    SecurityProfile,
    SharedMemory,
    Toleration,
    TopologySpread,
)

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
                service_account_name="llm",
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
    assert "replicas" not in one(chart_objects(chart), "Deployment")["spec"]
    assert gd.autoscaled


def test_two_workloads_in_different_namespaces_may_share_a_name() -> None:
    app = cdk8s.App()
    for ns in ("a", "b"):
        GpuDeployment(cdk8s.Chart(app, ns, namespace=ns), "gd", props())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"name": "Bad_Name"},
            "test/gd: name='Bad_Name' is not a DNS-1123 label. Allowed: lower-case letters, digits and '-', starting and ending "
            "with a letter or digit. Fix: use a name such as 'llama-8b'.",
        ),
        (
            {"name": "x" * 64},
            f"test/gd: name={'x' * 64!r} is 64 characters, too long. Allowed: at most 63 characters. Fix: choose a shorter name.",
        ),
        (
            {"image": Image("vllm/vllm-openai", tag="latest")},
            "test/gd: image.tag='latest' is mutable or malformed. Allowed: a version tag other than 'latest' (letters, digits, "
            "'_', '.', '-'). Fix: pin a released version such as 'v0.33.0', or set digest='sha256:...'.",
        ),
        (
            {"image": Image("vllm/vllm-openai")},
            "test/gd: image.tag=None is missing and no digest is given. Allowed: a version tag such as 'v0.33.0', or "
            "digest='sha256:...'. Fix: pin the image to a version so every node runs the same bits.",
        ),
        (
            {"resources": Resources(cpu="four", memory="1Gi")},
            "test/gd: resources.cpu='four' is not a Kubernetes quantity. Allowed: a string such as '500m', '4', '16Gi' or '1.5'. "
            "Fix: write the quantity as a string with a Kubernetes suffix.",
        ),
        (
            {"resources": Resources(cpu="8", memory="1Gi", cpu_limit="4")},
            "test/gd: resources.cpu='8' is above resources.cpu_limit. Allowed: resources.cpu <= resources.cpu_limit. "
            "Fix: lower resources.cpu or raise resources.cpu_limit.",
        ),
        (
            {"resources": Resources(cpu="1", memory="2Gi", memory_limit="1Gi")},
            "test/gd: resources.memory='2Gi' is above resources.memory_limit. Allowed: resources.memory <= resources.memory_limit. "
            "Fix: lower resources.memory or raise resources.memory_limit.",
        ),
        (
            {"pod": PodOptions(gpu_products=GpuProductAffinity.require("TYPE_GPU_USED"))},
            "test/gd: pod.gpu_products='TYPE_GPU_USED' is a placeholder or not a label value. Allowed: the exact value of the product "
            "label on your nodes, such as 'NVIDIA-A100-SXM4-80GB'. Fix: read it with: kubectl get nodes -L nvidia.com/gpu.product.",
        ),
        (
            {"pod": PodOptions(gpu_products=GpuProductAffinity.require())},
            "test/gd: pod.gpu_products=() names no product. Allowed: one or more product label values such as 'NVIDIA-H100-80GB-HBM3'. "
            "Fix: list the products, or pass gpu_products=None to schedule on any accelerator node.",
        ),
        (
            {"rollout": RolloutStrategy.rolling(max_surge=0, max_unavailable=0)},
            "test/gd: rollout.max_unavailable=0 is zero while max_surge is zero too, so a rollout can never progress. "
            "Allowed: max_surge > 0 or max_unavailable > 0. Fix: keep max_unavailable=1 (no spare accelerator needed) or allow a surge.",
        ),
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
            {"extra_volumes": ({"name": "tmp", "emptyDir": {}},)},
            "test/gd: volumes='tmp' is a duplicate volume name. Allowed: each volume name once per pod. "
            "Fix: rename or remove one of the volumes named 'tmp'.",
        ),
        (
            {"env": {"A": 1}},
            "test/gd: env['A']=1 is not a string or reference. Allowed: a str, SecretKeyRef, ConfigMapKeyRef or FieldRef. "
            "Fix: quote numbers and booleans (e.g. '1'), and pass secrets as SecretKeyRef.",
        ),
        (
            {"pod": PodOptions(security=SecurityProfile(add_capabilities=("SYS_ADMIN",)))},
            "test/gd: pod.security.add_capabilities='SYS_ADMIN' grants near-root power. Allowed: narrow capabilities such as "
            "'IPC_LOCK' or 'SYS_PTRACE'. Fix: use a narrower capability.",
        ),
        (
            {"pod": PodOptions(drain_seconds=30, termination_grace_period_seconds=30)},
            "test/gd: pod.termination_grace_period_seconds=30 is out of range. Allowed: an integer >= 31 and <= 86400. "
            "Fix: pick a value in range.",
        ),
    ],
)
def test_fails_when_props_are_invalid(new_chart: MakeChart, overrides: dict[str, Any], message: str) -> None:
    assert error(new_chart(), props(**overrides)) == message


def test_fails_when_two_workloads_share_a_selector_in_one_namespace(new_chart: MakeChart) -> None:
    chart = new_chart()
    GpuDeployment(chart, "one", props())
    with pytest.raises(ConfigError) as info:
        GpuDeployment(chart, "two", props())
    assert str(info.value) == (
        "test/two: identity.instance='srv' is already used by test/one in namespace 'test', so the two would select each "
        "other's pods. Allowed: one instance name per component and namespace. Fix: give each server a distinct name."
    )


def test_props_are_immutable() -> None:
    p = props()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.name = "other"  # type: ignore[misc]
