"""`vllm-constructs diff OLD NEW`: crafted change sets, the JSON shape, exit codes, errors, the immutable-field table
against the pinned CRDs, the command's independence from jsii, and two real synths of the apps before and after a
change."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, shared_path
from vllm_constructs import gitops_diff
from vllm_constructs._diff_capacity import is_accelerator, parse_quantity, pod_accelerators
from vllm_constructs._immutable_fields import IMMUTABLE_FIELDS

NS = "llm"
SELECTOR = {"app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": "srv", "app.kubernetes.io/component": "server"}
REV_A = "0e9e39f249a16976918f6564b8830bc894c89659"
REV_B = "1605565b47bb9346c5515c34102e054115b4f98b"


# ---------------------------------------------------------------- objects


def container(image: str = "vllm/vllm-openai:v0.33.0", gpus: int = 1, name: str = "vllm") -> dict[str, Any]:
    resources = {"cpu": "8", "memory": "48Gi"} | ({"nvidia.com/gpu": str(gpus)} if gpus else {})
    return {"name": name, "image": image, "resources": {"requests": dict(resources), "limits": dict(resources)}}


def pod_template(image: str = "vllm/vllm-openai:v0.33.0", gpus: int = 1, revision: str = REV_A) -> dict[str, Any]:
    init = {"name": "wait-for-model", "image": image, "env": [{"name": "REVISION", "value": revision}]}
    return {"metadata": {"labels": dict(SELECTOR)}, "spec": {"initContainers": [init], "containers": [container(image, gpus)]}}


def deployment(name: str = "srv", replicas: int | None = 1, **template: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"matchLabels": dict(SELECTOR)}, "template": pod_template(**template)}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS}, "spec": spec}


def download_job(server: str = "srv", revision: str = REV_A, suffix: str = "aaaa1111") -> dict[str, Any]:
    env = [{"name": "SOURCE_URI", "value": "hf://meta-llama/Llama-3.1-8B-Instruct"}, {"name": "REVISION", "value": revision}]
    labels = {"app.kubernetes.io/instance": server, "app.kubernetes.io/component": "model-download"}
    template = {
        "metadata": {"labels": labels},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "download", "image": "x:1", "env": env}]},
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": f"{server}-download-{suffix}", "namespace": NS},
        "spec": {"template": template},
    }


def pvc(storage: str = "50Gi", storage_class: str | None = None, name: str = "srv-model-cache") -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}}
    if storage_class is not None:
        spec["storageClassName"] = storage_class
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": NS}, "spec": spec}


def service(**spec: Any) -> dict[str, Any]:
    body = {"selector": dict(SELECTOR), "ports": [{"name": "http", "port": 80, "targetPort": "http"}]} | spec
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "srv", "namespace": NS}, "spec": body}


def hpa(minimum: int = 1, maximum: int = 3, target: str = "srv") -> dict[str, Any]:
    spec = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
        "minReplicas": minimum,
        "maxReplicas": maximum,
    }
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": target, "namespace": NS}, "spec": spec}


def scaled_object(minimum: int = 2, maximum: int = 4, idle: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"scaleTargetRef": {"name": "srv"}, "minReplicaCount": minimum, "maxReplicaCount": maximum, "triggers": []}
    if idle is not None:
        spec["idleReplicaCount"] = idle
    return {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "srv", "namespace": NS}, "spec": spec}


def lws(size: int = 2, replicas: int = 1, gpus: int = 8, sub_group_size: int | None = None) -> dict[str, Any]:
    template: dict[str, Any] = {"size": size, "leaderTemplate": pod_template(gpus=gpus), "workerTemplate": pod_template(gpus=gpus)}
    if sub_group_size is not None:
        template["subGroupPolicy"] = {"subGroupSize": sub_group_size}
    spec = {"replicas": replicas, "leaderWorkerTemplate": template}
    return {
        "apiVersion": "leaderworkerset.x-k8s.io/v1",
        "kind": "LeaderWorkerSet",
        "metadata": {"name": "big", "namespace": NS},
        "spec": spec,
    }


def ray_cluster(worker_image: str = "vllm/vllm-openai:v0.33.0", workers: int = 1, gpus: int = 8, **spec: Any) -> dict[str, Any]:
    worker = {"groupName": "workers", "replicas": workers, "minReplicas": workers, "maxReplicas": workers}
    worker |= {"rayStartParams": {}, "template": pod_template(image=worker_image, gpus=gpus)}
    body = {"headGroupSpec": {"rayStartParams": {}, "template": pod_template(gpus=gpus)}, "workerGroupSpecs": [worker]} | spec
    return {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "big", "namespace": NS}, "spec": body}


# ---------------------------------------------------------------- helpers


def write(folder: Path, objects: list[dict[str, Any]], name: str = "app.k8s.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(yaml.safe_dump_all(objects, sort_keys=False))
    return folder


def run(tmp_path: Path, old: list[dict[str, Any]], new: list[dict[str, Any]], *extra: str) -> tuple[int, str, str]:
    old_dir, new_dir = write(tmp_path / "old", old), write(tmp_path / "new", new)
    return run_folders(old_dir, new_dir, *extra)


def run_folders(old_dir: Path, new_dir: Path, *extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = gitops_diff.main([str(old_dir), str(new_dir), *extra])
    return code, out.getvalue(), err.getvalue()


def diff(tmp_path: Path, old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    code, out, err = run(tmp_path, old, new, "--json")
    assert (code, err) == (0, "")
    result: list[dict[str, Any]] = json.loads(out)
    return result


def by_kind(items: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [item for item in items if item["kind"] == kind]
    assert len(found) == 1, items
    return found[0]


def changed(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of body with the dotted path set to value."""
    result = copy.deepcopy(body)
    *parents, last = path.split(".")
    target = result
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target.setdefault(key, {})
    target[last] = value
    return result


# ---------------------------------------------------------------- crafted change sets


def test_image_change_restarts_the_pods_and_nothing_else(tmp_path: Path) -> None:
    items = diff(tmp_path, [deployment(), pvc()], [deployment(image="vllm/vllm-openai:v0.34.0"), pvc()])
    (item,) = items
    assert (item["kind"], item["namespace"], item["name"], item["change"], item["effects"]) == (
        "Deployment",
        NS,
        "srv",
        "changed",
        ["restart"],
    )
    assert "spec.template.spec.containers[vllm].image" in item["changed_fields"]
    assert "spec.template.spec.containers[vllm].image vllm/vllm-openai:v0.33.0 → vllm/vllm-openai:v0.34.0" in item["detail"][0]


def test_revision_change_is_one_redownload_of_the_server_and_a_restart(tmp_path: Path) -> None:
    old = [deployment(revision=REV_A), download_job(revision=REV_A, suffix="aaaa1111")]
    new = [deployment(revision=REV_B), download_job(revision=REV_B, suffix="bbbb2222")]
    items = diff(tmp_path, old, new)
    assert [(i["kind"], i["name"], i["change"], i["effects"]) for i in items] == [
        ("Deployment", "srv", "changed", ["restart"]),
        ("Job", "srv-download-bbbb2222", "added", ["redownload"]),
    ]  # the removed old Job is paired with the new one, not listed on its own
    job = items[1]
    assert job["replaces"] == "srv-download-aaaa1111"
    assert job["download"] == {
        "server": "srv",
        "source": {"before": "hf://meta-llama/Llama-3.1-8B-Instruct", "after": "hf://meta-llama/Llama-3.1-8B-Instruct"},
        "revision": {"before": REV_A, "after": REV_B},
    }
    assert job["detail"] == [f"server srv: revision {REV_A[:12]} → {REV_B[:12]} (replaces Job srv-download-aaaa1111)"]


def test_first_download_and_removed_download(tmp_path: Path) -> None:
    items = diff(tmp_path, [download_job(server="old-srv")], [download_job(server="new-srv")])
    assert [(i["name"], i["change"], i["effects"]) for i in items] == [
        ("new-srv-download-aaaa1111", "added", ["redownload"]),
        ("old-srv-download-aaaa1111", "removed", []),
    ]
    assert items[0]["detail"][0].startswith("first download for server new-srv: hf://meta-llama/Llama-3.1-8B-Instruct at 0e9e39f249a1")


def test_selector_change_needs_a_replace(tmp_path: Path) -> None:
    new = changed(deployment(), "spec.selector.matchLabels", {"app": "srv"})
    (item,) = diff(tmp_path, [deployment()], [new])
    assert item["effects"] == ["replace"]
    assert "spec.selector.matchLabels" in item["detail"][0] and "immutable (the API server)" in item["detail"][0]


def test_job_template_change_under_the_same_name_needs_a_replace(tmp_path: Path) -> None:
    new = changed(download_job(), "spec.template.spec.containers.0.image", "x:2")
    (item,) = diff(tmp_path, [download_job()], [new])
    assert item["effects"] == ["replace"]  # same source and revision: no new weights
    assert item["detail"][0].startswith("spec.template.spec.containers[download].image x:1 → x:2: immutable")


def test_autoscaler_bounds_are_capacity_with_gpu_totals(tmp_path: Path) -> None:
    old, new = [deployment(replicas=None, gpus=2), hpa(1, 3)], [deployment(replicas=None, gpus=2), hpa(2, 6)]
    (item,) = diff(tmp_path, old, new)
    assert (item["kind"], item["effects"]) == ("HorizontalPodAutoscaler", ["capacity"])
    assert item["gpus"] == {
        "workload": f"Deployment {NS}/srv",
        "before": {"nvidia.com/gpu": {"steady": 2, "max": 6}},
        "after": {"nvidia.com/gpu": {"steady": 4, "max": 12}},
    }
    assert "maxReplicas 3 → 6" in item["detail"][0] and "nvidia.com/gpu steady 2 → 4, max 6 → 12" in item["detail"][0]
    code, out, _ = run(tmp_path / "md", old, new)
    assert code == 0
    assert f"| Deployment {NS}/srv | nvidia.com/gpu | 2 / 6 | 4 / 12 |" in out
    assert "| **total** | nvidia.com/gpu | 2 / 6 | 4 / 12 |" in out


def test_keda_bounds_and_idle_count_are_capacity(tmp_path: Path) -> None:
    old, new = [deployment(replicas=None, gpus=4), scaled_object(2, 4)], [deployment(replicas=None, gpus=4), scaled_object(2, 4, idle=0)]
    (item,) = diff(tmp_path, old, new)
    assert (item["kind"], item["effects"]) == ("ScaledObject", ["capacity"])
    assert "idleReplicaCount unset → 0" in item["detail"][0]
    assert item["gpus"]["after"] == {"nvidia.com/gpu": {"steady": 8, "max": 16}}


def test_replicas_and_accelerators_per_pod_are_capacity(tmp_path: Path) -> None:
    (item,) = diff(tmp_path, [deployment(replicas=1, gpus=1)], [deployment(replicas=2, gpus=2)])
    assert item["effects"] == ["restart", "capacity"]  # more GPUs per pod is also a new pod template
    capacity = item["detail"][1]
    assert "replicas 1 → 2" in capacity and "accelerators per pod[nvidia.com/gpu] 1 → 2" in capacity
    assert "nvidia.com/gpu steady 1 → 4, max 1 → 4" in capacity


def test_label_change_outside_the_pod_template_is_none(tmp_path: Path) -> None:
    new = changed(deployment(), "metadata.labels", {"team": "ml"})
    (item,) = diff(tmp_path, [deployment()], [new])
    assert item["effects"] == ["none"]
    assert item["detail"] == ["metadata only: metadata.labels.team unset → ml"]
    pod_label = changed(deployment(), "spec.template.metadata.labels.team", "ml")
    (item,) = diff(tmp_path / "pod", [deployment()], [pod_label])
    assert item["effects"] == ["restart"]  # a label on the pod template rolls the pods


def test_in_place_spec_change_lists_no_effect(tmp_path: Path) -> None:
    new = changed(service(), "spec.ports", [{"name": "http", "port": 8080, "targetPort": "http"}])
    (item,) = diff(tmp_path, [service()], [new])
    assert item["effects"] == []
    assert item["detail"] == ["applied in place: spec.ports[http].port 80 → 8080"]


def test_pvc_storage_class_change_needs_a_replace(tmp_path: Path) -> None:
    (item,) = diff(tmp_path, [pvc(storage_class="standard")], [pvc(storage_class="shared-rwx")])
    assert item["effects"] == ["replace"]
    assert "spec.storageClassName standard → shared-rwx" in item["detail"][0]


@pytest.mark.parametrize(
    ("old", "new", "effects"),
    [
        ("50Gi", "60Gi", []),  # grows in place (with allowVolumeExpansion)
        ("50Gi", "40Gi", ["replace"]),
        ("1Ti", "1000Gi", ["replace"]),
        ("50Gi", "53687091200", ["none"][:0]),  # the same size spelled in bytes: a change of text only, in place
    ],
)
def test_pvc_storage_request(tmp_path: Path, old: str, new: str, effects: list[str]) -> None:
    (item,) = diff(tmp_path, [pvc(storage=old)], [pvc(storage=new)])
    assert item["effects"] == effects


def test_pvc_access_mode_and_default_volume_mode(tmp_path: Path) -> None:
    (item,) = diff(tmp_path, [pvc()], [changed(pvc(), "spec.accessModes", ["ReadWriteMany"])])
    assert item["effects"] == ["replace"]
    (item,) = diff(tmp_path / "mode", [pvc()], [changed(pvc(), "spec.volumeMode", "Filesystem")])
    assert item["effects"] == []  # spelling out the default changes nothing the API server sees


def test_service_type_changes_follow_the_api_rules(tmp_path: Path) -> None:
    # To or from ExternalName the API server releases or allocates the cluster IP itself: accepted in place.
    external = service(type="ExternalName", externalName="llm.example.com")
    external["spec"].pop("selector")
    (item,) = diff(tmp_path / "a", [service()], [external])
    assert item["effects"] == []
    (item,) = diff(tmp_path / "b", [external], [service()])
    assert item["effects"] == []
    (item,) = diff(tmp_path / "headless", [service(clusterIP="None")], [external])
    assert item["effects"] == []  # even a headless Service: the API server clears "None" with the type change
    # A cluster IP that exists cannot become headless (or the reverse), nor change.
    (item,) = diff(tmp_path / "c", [service()], [service(clusterIP="None")])
    assert item["effects"] == ["replace"]
    (item,) = diff(tmp_path / "d", [service(clusterIP="None")], [service()])
    assert item["effects"] == ["replace"]
    (item,) = diff(tmp_path / "e", [service(clusterIP="10.0.0.10")], [service(clusterIP="10.0.0.11")])
    assert item["effects"] == ["replace"]
    (item,) = diff(tmp_path / "f", [service(type="ClusterIP")], [service(type="LoadBalancer")])
    assert item["effects"] == []


def test_immutable_configmap_data_needs_a_replace(tmp_path: Path) -> None:
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "env", "namespace": NS}, "immutable": True, "data": {"A": "1"}}
    (item,) = diff(tmp_path, [config], [changed(config, "data.A", "2")])
    assert item["effects"] == ["replace"]
    mutable = changed(config, "immutable", False)
    (item,) = diff(tmp_path / "mutable", [mutable], [changed(mutable, "data.A", "2")])
    assert item["effects"] == []


def test_statefulset_allows_only_its_mutable_fields(tmp_path: Path) -> None:
    body = deployment()
    body["kind"] = "StatefulSet"
    body["spec"]["serviceName"] = "srv"
    (item,) = diff(tmp_path / "a", [body], [changed(body, "spec.serviceName", "srv-headless")])
    assert item["effects"] == ["replace"]
    (item,) = diff(tmp_path / "b", [body], [changed(body, "spec.volumeClaimTemplates", [pvc()])])
    assert item["effects"] == ["replace"]
    (item,) = diff(tmp_path / "c", [body], [changed(body, "spec.podManagementPolicy", "OrderedReady")])
    assert item["effects"] == []  # the default, spelled out
    (item,) = diff(tmp_path / "d", [body], [changed(body, "spec.replicas", 3)])
    assert item["effects"] == ["capacity"]


def test_daemonset_accelerators_per_pod_are_capacity_outside_the_totals(tmp_path: Path) -> None:
    old, new = changed(deployment(gpus=1), "kind", "DaemonSet"), changed(deployment(gpus=2), "kind", "DaemonSet")
    (item,) = diff(tmp_path, [old], [new])
    assert item["effects"] == ["restart", "capacity"]
    assert "accelerators per pod[nvidia.com/gpu] 1 → 2" in item["detail"][1] and "gpus" not in item
    assert "No accelerators claimed before or after." in run(tmp_path / "md", [old], [new])[1]


def test_leaderworkerset_size_restarts_every_group_and_changes_capacity(tmp_path: Path) -> None:
    (item,) = diff(tmp_path, [lws(size=2)], [lws(size=4)])
    assert item["effects"] == ["restart", "capacity"]  # size is mutable (LWS >= 0.7), not a replace
    assert "every group is recreated" in item["detail"][0]
    assert item["gpus"] == {"before": {"nvidia.com/gpu": {"steady": 16, "max": 16}}, "after": {"nvidia.com/gpu": {"steady": 32, "max": 32}}}


def test_leaderworkerset_sub_group_size_needs_a_replace(tmp_path: Path) -> None:
    (item,) = diff(tmp_path, [lws(size=4, sub_group_size=2)], [lws(size=4, sub_group_size=4)])
    assert "replace" in item["effects"]
    assert "subGroupSize 2 → 4: immutable (the operator's webhook)" in item["detail"][0]


def test_leaderworkerset_scaled_by_an_autoscaler(tmp_path: Path) -> None:
    scaler = hpa(1, 3, target="big")
    scaler["spec"]["scaleTargetRef"] = {"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet", "name": "big"}
    code, out, _ = run(tmp_path, [lws(size=2)], [lws(size=2), scaler])
    assert code == 0
    assert f"| LeaderWorkerSet {NS}/big | nvidia.com/gpu | 16 / 16 | 16 / 48 |" in out


def test_raycluster_worker_template_restarts_with_the_kuberay_caveat(tmp_path: Path) -> None:
    (item,) = diff(tmp_path, [ray_cluster()], [ray_cluster(worker_image="vllm/vllm-openai:v0.34.0")])
    assert item["effects"] == ["restart"]
    assert "worker group workers: template.spec.containers[vllm].image" in item["detail"][0]
    assert "KubeRay applies it only to pods created later" in item["detail"][0]
    recreate = {"upgradeStrategy": {"type": "Recreate"}}
    (item,) = diff(tmp_path / "recreate", [ray_cluster(**recreate)], [ray_cluster(worker_image="vllm/vllm-openai:v0.34.0", **recreate)])
    assert "KubeRay applies" not in item["detail"][0]


def test_raycluster_workers_are_capacity_head_plus_workers(tmp_path: Path) -> None:
    (item,) = diff(tmp_path, [ray_cluster(workers=1)], [ray_cluster(workers=3)])
    assert item["effects"] == ["capacity"]
    assert item["gpus"]["before"] == {"nvidia.com/gpu": {"steady": 16, "max": 16}}
    assert item["gpus"]["after"] == {"nvidia.com/gpu": {"steady": 32, "max": 32}}


def test_raycluster_crd_transition_rule(tmp_path: Path) -> None:
    (item,) = diff(tmp_path / "a", [ray_cluster(managedBy="ray.io/kuberay-operator")], [ray_cluster(managedBy="kueue.x-k8s.io/multikueue")])
    assert item["effects"] == ["replace"]
    assert "immutable (the CRD rule `self == oldSelf`)" in item["detail"][0]
    # a transition rule runs only when the old object has the field: setting it the first time is accepted
    (item,) = diff(tmp_path / "b", [ray_cluster()], [ray_cluster(managedBy="ray.io/kuberay-operator")])
    assert item["effects"] == []


def test_objects_added_and_removed(tmp_path: Path) -> None:
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "env", "namespace": NS}, "data": {"A": "1"}}
    items = diff(tmp_path, [config, pvc()], [deployment(gpus=2)])
    assert [(i["kind"], i["change"], i["effects"]) for i in items] == [
        ("ConfigMap", "removed", []),
        ("Deployment", "added", ["capacity"]),
        ("PersistentVolumeClaim", "removed", []),
    ]
    assert items[1]["gpus"] == {"before": {}, "after": {"nvidia.com/gpu": {"steady": 2, "max": 2}}}
    assert items[1]["detail"] == ["added; nvidia.com/gpu steady 0 → 2, max 0 → 2"]
    assert "cached weights" in items[2]["detail"][0]


def test_status_and_file_layout_do_not_count(tmp_path: Path) -> None:
    with_status = deployment() | {"status": {"replicas": 1}}
    old = write(tmp_path / "old", [with_status, pvc()], "all.yaml")
    new = write(tmp_path / "new", [pvc()], "cache.yml")
    write(new / "servers", [deployment()], "srv.yaml")  # a sub-folder is another target: this is a move
    write(new, [deployment(name="ignored")], "kustomization.yaml")
    (new / "README.md").write_text("not yaml")
    (new / ".hidden").mkdir()
    write(new / ".hidden", [deployment(name="hidden")])
    code, out, _ = run_folders(old, new, "--json")
    assert code == 0
    items = json.loads(out)
    assert [(i.get("target"), i["name"], i["change"]) for i in items] == [(None, "srv", "removed"), ("servers", "srv", "added")]
    same = write(tmp_path / "same", [pvc(), deployment()], "other-name.yaml")
    assert run_folders(old, same, "--json")[:2] == (0, "[]\n")


def test_missing_namespace_is_default_and_cluster_scoped_has_none(tmp_path: Path) -> None:
    no_namespace = deployment()
    no_namespace["metadata"].pop("namespace")
    explicit = changed(deployment(image="vllm/vllm-openai:v0.34.0"), "metadata.namespace", "default")
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "llm", "namespace": "ignored"}}
    items = diff(tmp_path, [no_namespace], [explicit, namespace])
    assert [(i["kind"], i["namespace"], i["change"]) for i in items] == [("Namespace", None, "added"), ("Deployment", "default", "changed")]


def test_each_target_folder_is_its_own_cluster(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    for folder in (old, new):
        write(folder / "prod" / "us-east", [deployment(gpus=1)])
    write(old / "prod" / "eu-west", [deployment(gpus=1)])
    write(new / "prod" / "eu-west", [deployment(gpus=1, replicas=3)])
    code, out, _ = run_folders(old, new)
    assert code == 0
    assert "| target | kind | namespace/name | change | effects | detail |" in out
    assert "| prod/eu-west | Deployment | llm/srv | changed | capacity |" in out
    assert "| **total prod/eu-west** | nvidia.com/gpu | 1 / 1 | 3 / 3 |" in out
    assert "| **total prod/us-east** | nvidia.com/gpu | 1 / 1 | 1 / 1 |" in out


# ---------------------------------------------------------------- output shape and exit codes


def test_json_shape(tmp_path: Path) -> None:
    moved = changed(changed(deployment(replicas=2), "spec.selector.matchLabels.tier", "gpu"), "spec.template.metadata.labels.tier", "gpu")
    items = diff(tmp_path, [deployment(), pvc(storage_class="a")], [moved, pvc(storage_class="b")])
    assert isinstance(items, list) and len(items) == 2
    assert items[0]["effects"] == ["replace", "restart", "capacity"]
    for item in items:
        assert {"kind", "namespace", "name", "change", "effects"} <= item.keys()
        assert item["change"] in {"added", "removed", "changed"}
        assert item["effects"] == sorted(item["effects"], key=gitops_diff.EFFECTS.index)
        assert all(isinstance(line, str) for line in item["detail"])
    assert [item["apiVersion"] for item in items] == ["apps/v1", "v1"]


def test_markdown_escapes_pipes_and_summarises(tmp_path: Path) -> None:
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "env", "namespace": NS}, "data": {"A": "a|b"}}
    code, out, _ = run(tmp_path, [config], [changed(config, "data.A", "c|d")])
    assert code == 0
    assert out.startswith("### vllm-constructs diff\n\n1 object added, removed or changed.\n")
    assert "data.A a\\|b → c\\|d" in out
    assert "No accelerators claimed before or after." in out


@pytest.mark.parametrize(
    ("fail_on", "expected"),
    [
        (["--fail-on", "replace,redownload"], 1),
        (["--fail-on", "redownload"], 0),
        (["--fail-on", "restart", "--fail-on", "none"], 0),
        (["--fail-on", "capacity", "--fail-on", "replace"], 1),
        ([], 0),
    ],
)
def test_fail_on_exit_codes(tmp_path: Path, fail_on: list[str], expected: int) -> None:
    code, out, err = run(tmp_path, [pvc(storage_class="a")], [pvc(storage_class="b")], *fail_on)
    assert (code, err) == (expected, "")
    assert "replace" in out  # the report is printed either way


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--fail-on", "explode"], "error: --fail-on: 'explode' is not an effect. Allowed: replace, redownload, restart, capacity, none\n"),
        (["--fail-on", ","], "error: --fail-on: names no effect. Allowed: replace, redownload, restart, capacity, none\n"),
        (["--colour"], "error: --colour: unrecognized argument\n"),
    ],
)
def test_bad_arguments_exit_2(tmp_path: Path, arguments: list[str], message: str) -> None:
    code, out, err = run(tmp_path, [pvc()], [pvc()], *arguments)
    assert (code, out, err) == (2, "", message)


def test_missing_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert gitops_diff.main(["only-one"]) == 2
    assert capsys.readouterr().err.startswith("error: NEW: missing (usage: vllm-constructs diff OLD NEW")


def _bad_input_cases(tmp_path: Path) -> list[tuple[Path, str]]:
    cases = []
    (tmp_path / "a-file").write_text("")
    cases.append((tmp_path / "a-file", f"error: {tmp_path / 'a-file'}: not a directory\n"))
    cases.append((tmp_path / "absent", f"error: {tmp_path / 'absent'}: no such directory\n"))
    for name, text, problem in [
        ("broken", "kind: [Deployment\n", "(document"),
        ("scalar", "just text\n", "(document 1): is a str, not a Kubernetes object"),
        ("nokind", "apiVersion: v1\nmetadata: {name: x}\n", "(document 1): has no kind; every document must be a Kubernetes object"),
        ("twice", yaml.safe_dump_all([pvc(), pvc()]), f"(document 2): PersistentVolumeClaim {NS}/srv-model-cache is also defined in"),
    ]:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "x.yaml").write_text(text)
        cases.append(
            (folder, f"error: {folder / 'x.yaml'} {problem}" if name != "broken" else f"error: {folder / 'x.yaml'}: invalid YAML at line 2")
        )
    return cases


def test_unreadable_input_exits_2_naming_the_path(tmp_path: Path) -> None:
    good = write(tmp_path / "good", [pvc()])
    for folder, message in _bad_input_cases(tmp_path):
        code, out, err = run_folders(good, folder)
        assert (code, out) == (2, ""), folder
        assert err.startswith(message), (err, message)


def test_unreadable_file_exits_2(tmp_path: Path) -> None:
    dangling = tmp_path / "dangling"
    dangling.mkdir()
    (dangling / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    code, _, err = run_folders(dangling, dangling)
    assert (code, err) == (2, f"error: {dangling / 'gone.yaml'}: cannot read: No such file or directory\n")
    binary = tmp_path / "binary"
    binary.mkdir()
    (binary / "x.yaml").write_bytes(b"kind: \xff\xfe\n")
    code, _, err = run_folders(binary, binary)
    assert code == 2
    assert err.startswith(f"error: {binary / 'x.yaml'}: cannot read: 'utf-8' codec can't decode byte 0xff")


# ---------------------------------------------------------------- the command without jsii


def test_cli_diff_runs_without_jsii_or_node(tmp_path: Path) -> None:
    """`python -m vllm_constructs.cli diff` never imports cdk8s: with JSII_NODE=/bin/false jsii could not start."""
    old, new = write(tmp_path / "old", [pvc(storage_class="a")]), write(tmp_path / "new", [pvc(storage_class="b")])
    env = {"PATH": "/usr/bin:/bin", "JSII_NODE": "/bin/false", "PYTHONPATH": str(ROOT)}
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['vllm-constructs'] + sys.argv[1:]\n"
        "try:\n    runpy.run_module('vllm_constructs.cli', run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    print('loaded', sorted(m for m in sys.modules if m.split('.')[0] in ('jsii', 'cdk8s', 'constructs')), file=sys.stderr)\n"
        "    raise\n"
    )
    command = [sys.executable, "-c", probe, "diff", str(old), str(new), "--json", "--fail-on", "replace"]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == "loaded []"
    assert json.loads(result.stdout)[0]["effects"] == ["replace"]
    plain = subprocess.run([sys.executable, "-m", "vllm_constructs.cli", "diff", str(old), str(tmp_path / "nope")],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert (plain.returncode, plain.stdout) == (2, "")
    assert plain.stderr == f"error: {tmp_path / 'nope'}: no such directory\n"  # no traceback


# ---------------------------------------------------------------- the immutable-field table against the CRDs


def _transition_rules(schema: dict[str, Any], path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    found = [(path, rule["rule"]) for rule in schema.get("x-kubernetes-validations") or [] if "oldSelf" in rule["rule"]]
    for name, child in (schema.get("properties") or {}).items():
        found += _transition_rules(child, (*path, name))
    if isinstance(schema.get("items"), dict):
        found += _transition_rules(schema["items"], (*path, "[]"))
    if isinstance(schema.get("additionalProperties"), dict):
        found += _transition_rules(schema["additionalProperties"], (*path, "*"))
    return found


def _crds() -> list[dict[str, Any]]:
    files = ("ray.io.yaml", "leaderworkerset.x-k8s.io.yaml", "keda.sh.yaml", "monitoring.coreos.com.yaml")
    return [doc for name in files for doc in yaml.safe_load_all(shared_path(f"crds/{name}").read_text()) if doc]


def test_crd_rows_match_every_transition_rule_of_the_pinned_crds() -> None:
    in_crds = set()
    for crd in _crds():
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("storage"):
                for path, rule in _transition_rules(version["schema"]["openAPIV3Schema"]):
                    in_crds.add((group, kind, path, rule))
    in_table = {(row.group, row.kind, row.path, row.rule) for row in IMMUTABLE_FIELDS if row.source == "crd"}
    assert in_crds == in_table
    assert all(row.only_when_both_set for row in IMMUTABLE_FIELDS if row.source == "crd")


def test_webhook_rows_are_documented_immutable_in_the_crd() -> None:
    crds = {(crd["spec"]["group"], crd["spec"]["names"]["kind"]): crd for crd in _crds()}
    rows = [row for row in IMMUTABLE_FIELDS if row.source == "webhook"]
    assert rows
    for row in rows:
        schema = next(v for v in crds[(row.group, row.kind)]["spec"]["versions"] if v.get("storage"))["schema"]["openAPIV3Schema"]
        for key in row.path:
            schema = schema["properties"][key]
        assert "immutable" in schema["description"], row


# ---------------------------------------------------------------- accelerator counting


def test_accelerator_names_and_quantities() -> None:
    for name in (
        "nvidia.com/gpu",
        "amd.com/gpu",
        "google.com/tpu",
        "habana.ai/gaudi",
        "aws.amazon.com/neuron",
        "aws.amazon.com/neuroncore",
    ):
        assert is_accelerator(name), name
    for name in ("cpu", "memory", "rdma/ib", "ephemeral-storage", "hugepages-2Mi"):
        assert not is_accelerator(name), name
    assert [parse_quantity(v) for v in ("50Gi", "500m", "1e3", "1.5Ti", 8, "8", "x", True)] == [
        50 * 2**30, parse_quantity("0.5"), 1000, int(1.5 * 2**40), 8, 8, None, None,
    ]  # fmt: skip


def test_pod_accelerators_count_sidecars_and_the_largest_init_container() -> None:
    sidecar = container(name="proxy", gpus=1) | {"restartPolicy": "Always"}
    for init_gpus, expected in ((1, 2), (3, 3)):  # max(container 1 + sidecar 1, the init container)
        init = container(name="warm", gpus=init_gpus)
        template = {"spec": {"initContainers": [init, sidecar], "containers": [container(gpus=1), container(name="b", gpus=0)]}}
        assert pod_accelerators(template) == {"nvidia.com/gpu": expected}, init_gpus
    limits_only = {"spec": {"containers": [{"name": "x", "resources": {"limits": {"amd.com/gpu": "4"}}}]}}
    assert pod_accelerators(limits_only) == {"amd.com/gpu": 4}


# ---------------------------------------------------------------- real synths of the apps


def _synth(outdir: Path) -> Path:
    from apps.main import synth_all  # noqa: PLC0415 - starts jsii; the tests above must not

    synth_all(str(outdir))
    return outdir


def test_real_synth_revision_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import apps.llama_8b  # noqa: PLC0415

    before = _synth(tmp_path / "before")
    monkeypatch.setattr(apps.llama_8b, "LLAMA_8B_REVISION", REV_B)
    after = _synth(tmp_path / "after")
    code, out, _ = run_folders(before, after, "--json", "--fail-on", "replace")
    assert code == 0  # nothing needs replacing: the download Job is content-addressed
    items = json.loads(out)
    assert [(i["kind"], i["namespace"], i["change"], i["effects"]) for i in items] == [
        ("Deployment", "llm", "changed", ["restart"]),
        ("Job", "llm", "added", ["redownload"]),
    ]
    deployment_item, job_item = items
    assert deployment_item["name"] == "llama-3-1-8b"
    assert "spec.template.spec.initContainers[wait-for-model].env[REVISION].value" in deployment_item["changed_fields"]
    assert job_item["name"].startswith("llama-3-1-8b-download-") and job_item["replaces"] == "llama-3-1-8b-download-e0ff2751"
    assert job_item["download"]["revision"] == {"before": "0e9e39f249a16976918f6564b8830bc894c89659", "after": REV_B}
    assert run_folders(before, after, "--fail-on", "redownload")[0] == 1


def test_real_synth_equals_committed_dist(tmp_path: Path) -> None:
    """The committed dist/ is what the apps synthesize: the diff against a fresh synth is empty, and the totals are
    those of the apps (8B: 1, 8B HPA: 1..3, 70B: 4 per pod x KEDA 2..4, 405B KubeRay and LWS: 16 each; multi-model
    gateway: 1 + 1 + 4, multi-model ingress: 1 + 4)."""
    code, out, _ = run_folders(ROOT / "dist", _synth(tmp_path / "fresh"))
    assert code == 0
    assert "No object added, removed or changed." in out
    assert "| **total** | nvidia.com/gpu | 53 / 63 | 53 / 63 |" in out
