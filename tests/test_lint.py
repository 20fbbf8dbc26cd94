"""The synth-time lint: one test per rule (a violating tree gives exactly one finding, the fixed tree none),
the policy (severities, disabled rules, waivers), assert_clean/report, and every app lints without errors."""

from __future__ import annotations

import copy
import io
import os
from collections import Counter
from collections.abc import Callable
from typing import Any

import cdk8s
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.main import LINT_POLICY, build_app
from vllm_constructs import (
    Autoscaler,
    AutoscalerProps,
    ConfigError,
    EngineArgs,
    ModelCache,
    ModelSource,
    Resources,
    Scaling,
    VllmServer,
    VllmServerProps,
)
from vllm_constructs._adapter import emit as emit_object
from vllm_constructs.core.objects import KubeObject
from vllm_constructs.lint import RULES, Finding, LintPolicy, Severity, Waiver, assert_clean, lint, report

PINNED = "vllm/vllm-openai:v0.33.0@sha256:" + "ab" * 32
LABELS = {"app": "web"}
Chart = Callable[..., cdk8s.Chart]


def emit(
    scope: cdk8s.Chart, obj_id: str, *, api_version: str, kind: str, name: str, labels: dict[str, str], body: dict[str, Any]
) -> cdk8s.ApiObject:
    """A hand-added object: a raw ApiObject with one JSON patch per top-level key, as a user writes it."""
    return emit_object(scope, KubeObject(obj_id, api_version, kind, name, labels, body))


def clean_pod() -> dict[str, Any]:
    """A pod spec that every rule accepts."""
    return {
        "enableServiceLinks": False,
        "initContainers": [
            {"name": "prep", "image": PINNED, "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}},
        ],
        "containers": [
            {
                "name": "vllm",
                "image": PINNED,
                "args": ["--tensor-parallel-size", "2"],
                "ports": [{"name": "http", "containerPort": 8000}],
                "readinessProbe": {"httpGet": {"path": "/health", "port": "http"}},
                "livenessProbe": {"tcpSocket": {"port": 8000}},
                "resources": {
                    "requests": {"cpu": "4", "memory": "32Gi", "nvidia.com/gpu": "2"},
                    "limits": {"cpu": "4", "memory": "32Gi", "nvidia.com/gpu": "2"},
                },
                "volumeMounts": [{"name": "shm", "mountPath": "/dev/shm"}],
            }
        ],
        "volumes": [{"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "8Gi"}}],
    }


def add_deployment(chart: cdk8s.Chart, pod: dict[str, Any], name: str = "web") -> None:
    emit(
        chart,
        "Web",
        api_version="apps/v1",
        kind="Deployment",
        name=name,
        labels=LABELS,
        body={"spec": {"selector": {"matchLabels": LABELS}, "template": {"metadata": {"labels": LABELS}, "spec": pod}}},
    )


def deployment_findings(new_chart: Chart, change: Callable[[dict[str, Any]], object]) -> list[Finding]:
    chart = new_chart()
    pod = clean_pod()
    change(pod)
    add_deployment(chart, pod)
    return lint(chart)


def finding(rule: str, message: str, *, path: str = "test/Web", kind: str = "Deployment", name: str = "web") -> Finding:
    return Finding(RULES[rule], rule, path, kind, name, message)


def test_clean_tree_has_no_findings(new_chart: Chart) -> None:
    assert deployment_findings(new_chart, lambda pod: None) == []


@pytest.mark.parametrize("image", ["vllm/vllm-openai:latest", "vllm/vllm-openai", "registry:5000/vllm"])
def test_image_latest_is_an_error(new_chart: Chart, image: str) -> None:
    def change(pod: dict[str, Any]) -> None:
        pod["containers"][0]["image"] = image

    assert deployment_findings(new_chart, change) == [
        finding(
            "image-latest",
            f"container 'vllm' uses {image!r}: 'latest' moves with every push, so two pods of one rollout can run different code; "
            "use Image(repository, tag='v...', digest='sha256:...')",
        )
    ]
    assert RULES["image-latest"] is Severity.ERROR


def test_image_tag_without_digest_is_a_warning(new_chart: Chart) -> None:
    def change(pod: dict[str, Any]) -> None:
        pod["containers"][0]["image"] = pod["initContainers"][0]["image"] = "vllm/vllm-openai:v0.33.0"

    assert deployment_findings(new_chart, change) == [
        finding(
            "image-mutable-tag",
            "containers 'prep', 'vllm' use 'vllm/vllm-openai:v0.33.0': tag is mutable; pin a digest for reproducible rollouts "
            "(Image(repository, tag=..., digest='sha256:...'))",
        )
    ]
    assert RULES["image-mutable-tag"] is Severity.WARNING


def test_missing_limits_on_an_init_container(new_chart: Chart) -> None:
    def change(pod: dict[str, Any]) -> None:
        pod["initContainers"][0]["resources"] = {"requests": {"cpu": "1"}, "limits": {"cpu": "1"}}

    assert deployment_findings(new_chart, change) == [
        finding(
            "missing-limits",
            "init container 'prep' has no memory limit, so it can starve the node's GPU workload; set resources.limits.memory",
        )
    ]


def test_missing_limits_on_a_job_and_a_sidecar(new_chart: Chart) -> None:
    chart = new_chart()
    pod = clean_pod()
    pod["containers"].append({"name": "proxy", "image": PINNED})
    pod["restartPolicy"] = "Never"
    emit(chart, "Job", api_version="batch/v1", kind="Job", name="warm", labels={}, body={"spec": {"template": {"spec": pod}}})
    assert lint(chart) == [
        finding(
            "missing-limits",
            "container 'proxy' has no cpu and no memory limit, so it can starve the node's GPU workload; "
            "set resources.limits.cpu and resources.limits.memory",
            path="test/Job",
            kind="Job",
            name="warm",
        )
    ]


def test_probe_on_an_undeclared_port_name(new_chart: Chart) -> None:
    def change(pod: dict[str, Any]) -> None:
        pod["containers"][0]["readinessProbe"]["httpGet"]["port"] = "api"

    assert deployment_findings(new_chart, change) == [
        finding(
            "probe-port-unknown",
            "readinessProbe of container 'vllm' targets port 'api', which the container does not declare (it declares ['http']); "
            "name the port in the container's ports or probe a declared one",
        )
    ]


def test_probe_on_an_undeclared_port_number(new_chart: Chart) -> None:
    def change(pod: dict[str, Any]) -> None:
        pod["containers"][0]["livenessProbe"]["tcpSocket"]["port"] = 9000

    assert deployment_findings(new_chart, change) == [
        finding(
            "probe-port-unknown",
            "livenessProbe of container 'vllm' targets port 9000, which no container of the pod declares; "
            "declare it in ports (and probe it by name) or probe a declared port",
        )
    ]


def test_parallel_flags_without_shm(new_chart: Chart) -> None:
    def change(pod: dict[str, Any]) -> None:
        main = pod["containers"][0]
        main["volumeMounts"] = []
        main["args"] = ["--pipeline-parallel-size=2"]
        for kind in ("requests", "limits"):
            main["resources"][kind]["nvidia.com/gpu"] = "1"

    assert deployment_findings(new_chart, change) == [
        finding(
            "parallel-without-shm",
            "container 'vllm' runs with tensor/pipeline parallel size > 1 but has no memory-backed /dev/shm "
            "(the runtime default is 64Mi and NCCL fails on it); "
            "mount an emptyDir with medium Memory at /dev/shm (PodOptions(shared_memory=SharedMemory.of('16Gi')))",
        )
    ]


def test_several_accelerators_without_memory_backed_shm(new_chart: Chart) -> None:
    def change(pod: dict[str, Any]) -> None:
        pod["containers"][0]["args"] = []
        pod["volumes"][0]["emptyDir"] = {}  # disk-backed: not a fix

    assert deployment_findings(new_chart, change) == [
        finding(
            "parallel-without-shm",
            "container 'vllm' runs with 2 accelerators but has no memory-backed /dev/shm "
            "(the runtime default is 64Mi and NCCL fails on it); "
            "mount an emptyDir with medium Memory at /dev/shm (PodOptions(shared_memory=SharedMemory.of('16Gi')))",
        )
    ]


@pytest.mark.parametrize("value", [None, True])
def test_service_links_not_disabled(new_chart: Chart, value: bool | None) -> None:
    def change(pod: dict[str, Any]) -> None:
        if value is None:
            del pod["enableServiceLinks"]
        else:
            pod["enableServiceLinks"] = value

    assert deployment_findings(new_chart, change) == [
        finding(
            "service-links",
            "enableServiceLinks is not false, so Kubernetes injects <SERVICE>_PORT variables that clash with vLLM's own "
            "(VLLM_PORT for a Service named 'vllm'); set enableServiceLinks: false",
        )
    ]


def test_accelerator_request_differs_from_limit(new_chart: Chart) -> None:
    def change(pod: dict[str, Any]) -> None:
        pod["containers"][0]["resources"]["requests"]["nvidia.com/gpu"] = "1"

    assert deployment_findings(new_chart, change) == [
        finding(
            "extended-resource-mismatch",
            "container 'vllm' requests nvidia.com/gpu='1' but limits it to '2'; "
            "extended resources cannot be overcommitted: set request and limit to the same count",
        )
    ]


def test_service_and_pdb_selecting_no_pod_template(new_chart: Chart) -> None:
    def tree(selector: dict[str, str]) -> list[Finding]:
        chart = new_chart()
        add_deployment(chart, clean_pod())
        emit(
            chart,
            "Svc",
            api_version="v1",
            kind="Service",
            name="web",
            labels={},
            body={"spec": {"selector": selector, "ports": [{"port": 80}]}},
        )
        emit(
            chart,
            "Pdb",
            api_version="policy/v1",
            kind="PodDisruptionBudget",
            name="web",
            labels={},
            body={"spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector}}},
        )
        return lint(chart)

    message = (
        "selector {'app': 'wbe'} matches no pod template in the tree; "
        "derive it from the workload (e.g. server.selector_labels) instead of writing labels by hand"
    )
    assert tree({"app": "wbe"}) == [
        finding("selector-matches-nothing", message, path="test/Svc", kind="Service"),
        finding("selector-matches-nothing", message, path="test/Pdb", kind="PodDisruptionBudget"),
    ]
    assert tree(LABELS) == []


def test_selector_in_another_namespace_matches_nothing() -> None:
    app = cdk8s.App()
    add_deployment(cdk8s.Chart(app, "a", namespace="a", disable_resource_name_hashes=True), clean_pod())
    other = cdk8s.Chart(app, "b", namespace="b", disable_resource_name_hashes=True)
    emit(
        other, "Svc", api_version="v1", kind="Service", name="web", labels={}, body={"spec": {"selector": LABELS, "ports": [{"port": 80}]}}
    )
    assert [f.rule for f in lint(app)] == ["selector-matches-nothing"]


def test_operator_labels_of_kuberay_and_lws_pods_are_known(new_chart: Chart) -> None:
    chart = new_chart()
    pod = {"metadata": {"labels": {"x": "y"}}, "spec": clean_pod()}
    emit(
        chart,
        "Ray",
        api_version="ray.io/v1",
        kind="RayCluster",
        name="r",
        labels={},
        body={"spec": {"headGroupSpec": {"template": pod}, "workerGroupSpecs": [{"groupName": "workers", "template": pod}]}},
    )
    emit(
        chart,
        "Lws",
        api_version="leaderworkerset.x-k8s.io/v1",
        kind="LeaderWorkerSet",
        name="l",
        labels={},
        body={"spec": {"leaderWorkerTemplate": {"size": 2, "workerTemplate": pod}}},
    )
    selectors = {
        "ray-head": {"ray.io/cluster": "r", "ray.io/node-type": "head"},
        "ray-workers": {"ray.io/cluster": "r", "ray.io/group": "workers"},
        "lws-leader": {"leaderworkerset.sigs.k8s.io/name": "l", "leaderworkerset.sigs.k8s.io/worker-index": "0"},
        "lws-worker": {"leaderworkerset.sigs.k8s.io/name": "l", "leaderworkerset.sigs.k8s.io/worker-index": "1"},
        "wrong": {"ray.io/cluster": "l", "ray.io/node-type": "head"},
    }
    for name, selector in selectors.items():
        emit(
            chart,
            name,
            api_version="v1",
            kind="Service",
            name=name,
            labels={},
            body={"spec": {"selector": selector, "ports": [{"port": 80}]}},
        )
    assert [(f.rule, f.name) for f in lint(chart)] == [("selector-matches-nothing", "wrong")]


@pytest.mark.parametrize("mode", ["hpa", "keda"])
def test_scale_target_not_in_the_tree(new_chart: Chart, mode: str) -> None:
    def tree(target: str) -> list[Finding]:
        chart = new_chart()
        add_deployment(chart, clean_pod())
        if mode == "hpa":
            ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": target}
            spec: dict[str, Any] = {"scaleTargetRef": ref, "maxReplicas": 2}
            emit(chart, "Scaler", api_version="autoscaling/v2", kind="HorizontalPodAutoscaler", name="web", labels={}, body={"spec": spec})
        else:
            spec = {"scaleTargetRef": {"name": target}, "triggers": []}
            emit(chart, "Scaler", api_version="keda.sh/v1alpha1", kind="ScaledObject", name="web", labels={}, body={"spec": spec})
        return lint(chart)

    kind = "HorizontalPodAutoscaler" if mode == "hpa" else "ScaledObject"
    assert tree("webb") == [
        finding(
            "scale-target-missing",
            "scaleTargetRef Deployment/webb (apps/v1) is not in the tree; pass the workload construct "
            "(Autoscaler(target=server)) so the reference is derived from it",
            path="test/Scaler",
            kind=kind,
        )
    ]
    assert tree("web") == []


def _server_tree(new_chart: Chart, revision: str) -> list[Finding]:
    chart = new_chart()
    VllmServer(
        chart,
        "S",
        VllmServerProps(
            name="opt",
            model=ModelSource.huggingface("facebook/opt-125m", revision=revision),
            resources=Resources(cpu="2", memory="8Gi"),
        ),
    )
    return [f for f in lint(chart) if f.rule != "image-mutable-tag"]


def test_hugging_face_branch_revision_is_a_warning(new_chart: Chart) -> None:
    message = (
        "Hugging Face revision 'main' of facebook/opt-125m is a branch or tag name that moves when the repository changes; "
        "pin the 40-hex commit shown under 'Files and versions' (ModelSource.huggingface(repo, revision='<commit>'))"
    )
    found = _server_tree(new_chart, "main")
    assert [(f.severity, f.rule, f.kind, f.message) for f in found] == [
        (Severity.WARNING, "hf-revision-branch", "Job", message),
        (Severity.WARNING, "hf-revision-branch", "Deployment", message),
    ]
    assert _server_tree(new_chart, "27dcfa74d334bc871f3234de431e71c6eeba5dd6") == []


def test_hugging_face_revision_flag_of_the_server(new_chart: Chart) -> None:
    def change(pod: dict[str, Any]) -> None:
        pod["containers"][0]["args"] += ["--revision", "v2"]

    assert [f.rule for f in deployment_findings(new_chart, change)] == ["hf-revision-branch"]


def test_host_network_and_added_capabilities_are_warnings_naming_the_opt_in(new_chart: Chart) -> None:
    def change(pod: dict[str, Any]) -> None:
        pod["hostNetwork"] = True
        pod["containers"][0]["securityContext"] = {"capabilities": {"drop": ["ALL"], "add": ["IPC_LOCK", "SYS_PTRACE"]}}

    assert deployment_findings(new_chart, change) == [
        finding(
            "host-network",
            "hostNetwork is true (opt-in PodOptions(host_network=True)): the pod shares the node's network namespace and ports; "
            "drop it unless the interconnect needs it",
        ),
        finding(
            "added-capabilities",
            "container 'vllm' adds capabilities IPC_LOCK, SYS_PTRACE (opt-in Rdma(...) adds IPC_LOCK; "
            "SecurityProfile(add_capabilities=...) adds any); keep only what the workload needs",
        ),
    ]
    assert RULES["host-network"] is RULES["added-capabilities"] is Severity.WARNING


def test_policy_raises_lowers_disables_and_waives(new_chart: Chart) -> None:
    chart = new_chart()
    pod = clean_pod()
    pod["containers"][0]["image"] = "vllm/vllm-openai:v1"
    del pod["enableServiceLinks"]
    add_deployment(chart, pod)
    assert [(f.severity, f.rule) for f in lint(chart)] == [(Severity.ERROR, "service-links"), (Severity.WARNING, "image-mutable-tag")]
    swapped = LintPolicy(severities={"image-mutable-tag": Severity.ERROR, "service-links": Severity.WARNING})
    assert [(f.severity, f.rule) for f in lint(chart, swapped)] == [
        (Severity.ERROR, "image-mutable-tag"),
        (Severity.WARNING, "service-links"),
    ]
    assert [f.rule for f in lint(chart, LintPolicy(disabled=frozenset({"service-links"})))] == ["image-mutable-tag"]
    waived = LintPolicy(waivers=(Waiver(rule="service-links", path="test", reason="a test"),))
    assert [f.rule for f in lint(chart, waived)] == ["image-mutable-tag"]
    elsewhere = LintPolicy(waivers=(Waiver(rule="service-links", path="tes", reason="a prefix of a name is not a path"),))
    assert [f.rule for f in lint(chart, elsewhere)] == ["service-links", "image-mutable-tag"]


def test_fails_when_policy_names_an_unknown_rule(new_chart: Chart) -> None:
    with pytest.raises(ConfigError) as e:
        lint(new_chart(), LintPolicy(disabled=frozenset({"latest"})))
    assert str(e.value) == ("LintPolicy: rule='latest' is not a lint rule. Allowed: " + ", ".join(RULES) + ". Fix: use one of those ids.")


def test_fails_when_waiver_has_no_reason(new_chart: Chart) -> None:
    with pytest.raises(ConfigError) as e:
        lint(new_chart(), LintPolicy(waivers=(Waiver(rule="host-network", path="test", reason=" "),)))
    assert str(e.value) == (
        "LintPolicy: waivers.reason=' ' is empty for the waiver of host-network under 'test'. "
        "Allowed: a sentence saying why the finding is acceptable. Fix: state the reason."
    )


def test_assert_clean_lists_every_error_and_returns_warnings(new_chart: Chart) -> None:
    chart = new_chart()
    pod = clean_pod()
    pod["containers"][0]["image"] = "vllm/vllm-openai:v1"
    assert [f.rule for f in assert_clean(chart)] == []
    add_deployment(chart, copy.deepcopy(pod))
    assert [f.rule for f in assert_clean(chart)] == ["image-mutable-tag"]
    del pod["enableServiceLinks"]
    pod["initContainers"][0]["resources"] = {}
    bad = new_chart()
    add_deployment(bad, pod)
    with pytest.raises(ConfigError) as e:
        assert_clean(bad)
    errors = [f for f in lint(bad) if f.severity is Severity.ERROR]
    assert str(e.value) == (
        "test: lint=2 error findings:\n" + "".join(f"  - {f}\n" for f in errors) + ". Allowed: no error findings. "
        "Fix: change the props as each message says, or lower a rule's severity or waive it with LintPolicy."
    )
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        report(bad, stream=out)
    assert exit_info.value.code == 1
    assert out.getvalue().startswith("lint: test: lint=2 error findings:\n  - error [missing-limits] test/Web")


def test_constructs_emit_a_clean_tree(new_chart: Chart) -> None:
    chart = new_chart()
    server = VllmServer(
        chart,
        "S",
        VllmServerProps(
            name="llama",
            model=ModelSource.huggingface("org/model", revision="a" * 40),
            resources=Resources(cpu="8", memory="64Gi", accelerators=2),
            engine=EngineArgs(tensor_parallel_size=2),
            cache=ModelCache.pvc("100Gi", access_mode="ReadWriteMany"),
            replicas=2,
        ),
    )
    Autoscaler(chart, "Scale", AutoscalerProps(target=server, scaling=Scaling.cpu_memory(), max_replicas=3))
    assert [f.rule for f in lint(chart)] == ["image-mutable-tag", "image-mutable-tag"]


def test_every_app_lints_without_errors(tmp_path: Any) -> None:
    app = build_app(str(tmp_path))
    assert [f for f in lint(app) if f.severity is Severity.ERROR] == []
    # what `make synth` prints: mutable tags (the apps' images carry no digest yet) and the 8B apps' marginal KV cache
    # (32k context on one L4); IPC_LOCK of RDMA is waived
    assert {f.rule for f in assert_clean(app, LINT_POLICY)} == {"image-mutable-tag", "capacity-low-concurrency"}
    assert {f.rule for f in lint(app)} == {"image-mutable-tag", "capacity-low-concurrency", "added-capabilities"}
    out = io.StringIO()
    report(app, LINT_POLICY, stream=out)
    assert all(
        line.startswith(("lint: warning [image-mutable-tag] ", "lint: warning [capacity-low-concurrency] "))
        for line in out.getvalue().splitlines()
    )


def test_report_prints_a_few_warnings_per_rule_and_counts_the_rest(tmp_path: Any) -> None:
    app = build_app(str(tmp_path))
    per_rule = Counter(f.rule for f in assert_clean(app, LINT_POLICY))
    assert per_rule["image-mutable-tag"] > 3
    out = io.StringIO()
    report(app, LINT_POLICY, stream=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == sum(min(n, 2) for n in per_rule.values()) + sum(1 for n in per_rule.values() if n > 2)
    assert lines[-1] == (
        f"lint: warning [image-mutable-tag] ... and {per_rule['image-mutable-tag'] - 2} more like these (lint() lists every finding)"
    )


# --- malformed hand-added objects: findings or a ConfigError naming the object, never another exception ------------


def hand_added(chart: cdk8s.Chart, kind: str, api_version: str, *patches: cdk8s.JsonPatch) -> cdk8s.ApiObject:
    obj = cdk8s.ApiObject(chart, "Bad", api_version=api_version, kind=kind, metadata=cdk8s.ApiObjectMetadata(name="bad"))
    for patch in patches:
        obj.add_json_patch(patch)
    return obj


def pod_without_service_links() -> dict[str, Any]:
    pod = clean_pod()
    del pod["enableServiceLinks"]
    return pod


SERVICE_LINKS = finding(
    "service-links",
    "enableServiceLinks is not false, so Kubernetes injects <SERVICE>_PORT variables that clash with vLLM's own "
    "(VLLM_PORT for a Service named 'vllm'); set enableServiceLinks: false",
    path="test/Bad",
    name="",
)


@pytest.mark.parametrize(
    "metadata",
    [cdk8s.JsonPatch.remove("/metadata"), cdk8s.JsonPatch.replace("/metadata", "bad"), cdk8s.JsonPatch.replace("/metadata", ["bad"])],
    ids=["missing", "a string", "a list"],
)
def test_an_object_without_usable_metadata_is_linted_under_its_construct_path(new_chart: Chart, metadata: cdk8s.JsonPatch) -> None:
    chart = new_chart()
    spec = {"selector": {"matchLabels": LABELS}, "template": {"metadata": {"labels": "not a mapping"}, "spec": pod_without_service_links()}}
    hand_added(chart, "Deployment", "apps/v1", cdk8s.JsonPatch.add("/spec", spec), metadata)
    assert lint(chart) == [SERVICE_LINKS]


def _deployment_with(pod: object) -> list[cdk8s.JsonPatch]:
    return [cdk8s.JsonPatch.add("/spec", {"selector": {"matchLabels": LABELS}, "template": {"metadata": {"labels": LABELS}, "spec": pod}})]


MALFORMED: list[tuple[str, str, str, list[cdk8s.JsonPatch], list[str]]] = [
    # (case, kind, apiVersion, patches, expected rules); every finding is under test/Bad
    ("spec is a list", "Deployment", "apps/v1", [cdk8s.JsonPatch.add("/spec", [1, 2])], ["service-links"]),
    ("template is a list", "Deployment", "apps/v1", [cdk8s.JsonPatch.add("/spec", {"template": ["x"]})], ["service-links"]),
    ("pod spec is a string", "Deployment", "apps/v1", _deployment_with("pod"), ["service-links"]),
    (
        "containers are not mappings",
        "Deployment",
        "apps/v1",
        _deployment_with({"enableServiceLinks": False, "containers": ["vllm", 3, None, {"name": "proxy", "image": PINNED}]}),
        ["missing-limits"],
    ),
    ("containers is a mapping", "Deployment", "apps/v1", _deployment_with({"containers": {"name": "vllm"}}), ["service-links"]),
    (
        "container fields of the wrong type",
        "Deployment",
        "apps/v1",
        _deployment_with(
            {
                "enableServiceLinks": False,
                "volumes": "shm",
                "containers": [
                    {
                        "name": "vllm",
                        "image": PINNED,
                        "resources": ["cpu"],
                        "args": 7,
                        "command": "vllm serve",
                        "env": {"A": 1},
                        "ports": "http",
                        "volumeMounts": [1],
                        "securityContext": {"capabilities": {"add": "NET_ADMIN"}},
                        "startupProbe": "probe",
                        "livenessProbe": {"tcpSocket": "x"},
                    }
                ],
            }
        ),
        ["missing-limits"],
    ),
    ("a Service selector that is a list", "Service", "v1", [cdk8s.JsonPatch.add("/spec", {"selector": ["app"]})], []),
    (
        "a PodDisruptionBudget with malformed expressions",
        "PodDisruptionBudget",
        "policy/v1",
        [cdk8s.JsonPatch.add("/spec", {"selector": {"matchExpressions": ["x", {"key": "app", "operator": "In", "values": 3}]}})],
        ["selector-matches-nothing"],
    ),
    (
        "an HPA whose scaleTargetRef is a string",
        "HorizontalPodAutoscaler",
        "autoscaling/v2",
        [cdk8s.JsonPatch.add("/spec", {"scaleTargetRef": "web"})],
        ["scale-target-missing"],
    ),
    (
        "a RayCluster with malformed groups",
        "RayCluster",
        "ray.io/v1",
        [cdk8s.JsonPatch.add("/spec", {"headGroupSpec": [], "workerGroupSpecs": ["w", {"template": "t"}]})],
        ["service-links"],
    ),
    (
        "a LeaderWorkerSet with malformed templates",
        "LeaderWorkerSet",
        "leaderworkerset.x-k8s.io/v1",
        [cdk8s.JsonPatch.add("/spec", {"leaderWorkerTemplate": {"workerTemplate": [], "leaderTemplate": "x"}})],
        ["service-links"],
    ),
    (
        "a CronJob whose job spec is a list",
        "CronJob",
        "batch/v1",
        [cdk8s.JsonPatch.add("/spec", {"jobTemplate": {"spec": []}})],
        ["service-links"],
    ),
]


@pytest.mark.parametrize(("kind", "api_version", "patches", "rules"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_malformed_hand_added_objects_yield_findings(
    new_chart: Chart, kind: str, api_version: str, patches: list[cdk8s.JsonPatch], rules: list[str]
) -> None:
    chart = new_chart()
    add_deployment(chart, clean_pod())  # a clean workload beside it, so that selectors have something to miss
    hand_added(chart, kind, api_version, *patches)
    found = lint(chart)
    assert [f.rule for f in found] == rules
    assert all((f.path, f.kind, f.name) == ("test/Bad", kind, "bad") for f in found)


def test_resources_with_non_string_quantities_are_read_as_written(new_chart: Chart) -> None:
    chart = new_chart()
    pod = clean_pod()
    pod["containers"][0]["resources"] = {"requests": {"nvidia.com/gpu": 1}, "limits": {"cpu": 4, "memory": 2.5, "nvidia.com/gpu": 2}}
    pod["initContainers"][0]["resources"] = {"limits": {"cpu": 1, "memory": 1}}
    hand_added(chart, "Deployment", "apps/v1", *_deployment_with(pod))
    assert lint(chart) == [
        finding(
            "extended-resource-mismatch",
            "container 'vllm' requests nvidia.com/gpu=1 but limits it to 2; "
            "extended resources cannot be overcommitted: set request and limit to the same count",
            path="test/Bad",
            name="bad",
        )
    ]


@pytest.mark.parametrize(("port", "shown"), [(["http"], "['http']"), (8000.5, "8000.5"), (True, "True"), ("²", None)])
def test_a_probe_port_of_the_wrong_type_is_a_finding(new_chart: Chart, port: object, shown: str | None) -> None:
    chart = new_chart()
    pod = clean_pod()
    pod["containers"][0]["readinessProbe"] = {"httpGet": {"path": "/health", "port": port}}
    hand_added(chart, "Deployment", "apps/v1", *_deployment_with(pod))
    message = (
        f"readinessProbe of container 'vllm' targets port {shown}, which no container of the pod declares; "
        "declare it in ports (and probe it by name) or probe a declared port"
        if shown is not None
        else "readinessProbe of container 'vllm' targets port '²', which the container does not declare (it declares ['http']); "
        "name the port in the container's ports or probe a declared one"
    )
    assert lint(chart) == [finding("probe-port-unknown", message, path="test/Bad", name="bad")]


@pytest.mark.parametrize(
    "annotation",
    [
        '{"memory_limit_gib": 1, "host_memory_estimate_gib": 2, "shm_gib": "x"}',
        '{"max_concurrency": "low", "estimated_startup_seconds": [1], "startup_budget_seconds": 1}',
        "[1, 2]",
        "not json",
    ],
    ids=["shm a string", "numbers as other types", "a list", "not JSON"],
)
def test_a_malformed_capacity_annotation_is_no_finding(new_chart: Chart, annotation: str) -> None:
    chart = new_chart()
    metadata = {"name": "bad", "annotations": {"vllm-constructs.io/capacity": annotation}}
    hand_added(chart, "Deployment", "apps/v1", cdk8s.JsonPatch.replace("/metadata", metadata), *_deployment_with(clean_pod()))
    assert lint(chart) == []


def test_fails_when_a_hand_added_patch_cannot_apply(new_chart: Chart) -> None:
    chart = new_chart()
    hand_added(chart, "Deployment", "apps/v1", cdk8s.JsonPatch.replace("/spec/template/spec", {}))
    with pytest.raises(ConfigError) as info:
        lint(chart)
    assert str(info.value) == (
        "test/Bad: (construct)='RuntimeError' was refused by cdk8s: Failed serializing construct at path 'test/Bad' with name 'bad': "
        "TypeError: Cannot read properties of undefined (reading 'template'). Allowed: valid construct input. "
        "Fix: correct the input named in the message."
    )


KEYS = [
    *("metadata", "labels", "name", "spec", "template", "containers", "initContainers", "ephemeralContainers", "resources"),
    *("limits", "requests", "ports", "containerPort", "readinessProbe", "livenessProbe", "httpGet", "tcpSocket", "port"),
    *("volumes", "volumeMounts", "emptyDir", "medium", "mountPath", "selector", "matchLabels", "matchExpressions", "key"),
    *("operator", "values", "scaleTargetRef", "kind", "headGroupSpec", "workerGroupSpecs", "groupName", "leaderWorkerTemplate"),
    *("workerTemplate", "leaderTemplate", "env", "value", "args", "command", "securityContext", "capabilities", "add"),
    *("jobTemplate", "enableServiceLinks", "hostNetwork", "image", "nvidia.com/gpu", "cpu", "memory", "type"),
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    max_leaves=25,
)
KINDS = [
    ("Deployment", "apps/v1"),
    ("Job", "batch/v1"),
    ("CronJob", "batch/v1"),
    ("Pod", "v1"),
    ("Service", "v1"),
    ("PodDisruptionBudget", "policy/v1"),
    ("HorizontalPodAutoscaler", "autoscaling/v2"),
    ("ScaledObject", "keda.sh/v1alpha1"),
    ("RayCluster", "ray.io/v1"),
    ("LeaderWorkerSet", "leaderworkerset.x-k8s.io/v1"),
]


@settings(max_examples=int(os.environ.get("PROPERTY_EXAMPLES", "200")), deadline=None, derandomize=True)
@given(st.sampled_from(KINDS), st.dictionaries(st.sampled_from(["metadata", "spec", "data"]), json_values, max_size=3))
def test_lint_never_crashes_on_a_hand_added_object(kind: tuple[str, str], body: dict[str, Any]) -> None:
    chart = cdk8s.Chart(cdk8s.App(), "test", namespace="test", disable_resource_name_hashes=True)
    add_deployment(chart, clean_pod())
    hand_added(chart, kind[0], kind[1], *(cdk8s.JsonPatch.add(f"/{key}", value) for key, value in body.items()))
    found = lint(chart)  # any exception but a ConfigError fails the test; a ConfigError here would too: every patch applies
    assert all(isinstance(f, Finding) and f.path in ("test/Web", "test/Bad") for f in found)
