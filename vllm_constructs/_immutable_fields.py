"""Fields that the API server, a CRD rule or an operator's admission webhook refuses to change in place.

Data only (no cdk8s, no I/O): `vllm_constructs.gitops_diff` reads it to mark a change `replace`, and
`tests/test_gitops_diff.py` checks the `crd` rows against every transition rule (`oldSelf`) in the pinned CRDs, so a
CRD upgrade that adds or drops one fails the test instead of going unnoticed.

Sources:
- `kubernetes`: the API server's update validation (k8s.io/kubernetes pkg/apis/*/validation, 1.27 to 1.33).
- `crd`: an `x-kubernetes-validations` rule `self == oldSelf` of the CRD. A transition rule only runs when the old
  object has the field, so adding or removing the field is allowed; only a change of a set value is refused.
- `webhook`: the operator's validating webhook (LeaderWorkerSet v0.10: `subGroupSize` cannot change, be added or be
  removed; the CRD only says so in the field's description).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["IMMUTABLE_FIELDS", "MUTABLE_SPEC_FIELDS", "SPEC_DEFAULTS", "ImmutableField"]


@dataclass(frozen=True)
class ImmutableField:
    """One field of one kind that cannot change once the object exists."""

    group: str
    kind: str
    path: tuple[str, ...]
    source: str  # "kubernetes", "crd" or "webhook"
    rule: str = ""  # the CRD's CEL rule, for source "crd"
    only_when_both_set: bool = False  # CEL transition rules run only when old and new both have the field


def _k8s(group: str, kind: str, *path: str) -> ImmutableField:
    return ImmutableField(group, kind, path, "kubernetes")


def _crd(group: str, kind: str, *path: str) -> ImmutableField:
    return ImmutableField(group, kind, path, "crd", rule="self == oldSelf", only_when_both_set=True)


_JOB_IMMUTABLE = (
    "selector",
    "template",
    "completions",
    "completionMode",
    "podFailurePolicy",
    "backoffLimitPerIndex",
    "successPolicy",
    "managedBy",
)

IMMUTABLE_FIELDS: tuple[ImmutableField, ...] = (
    _k8s("apps", "Deployment", "spec", "selector"),
    _k8s("apps", "ReplicaSet", "spec", "selector"),
    _k8s("apps", "DaemonSet", "spec", "selector"),
    *(_k8s("batch", "Job", "spec", field) for field in _JOB_IMMUTABLE),
    _k8s("rbac.authorization.k8s.io", "RoleBinding", "roleRef"),
    _k8s("rbac.authorization.k8s.io", "ClusterRoleBinding", "roleRef"),
    *(_k8s("storage.k8s.io", "StorageClass", field) for field in ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode")),
    # KubeRay v1.7.0 CRDs (ray.io.yaml)
    _crd("ray.io", "RayCluster", "spec", "managedBy"),
    _crd("ray.io", "RayCluster", "spec", "gcsFaultToleranceOptions", "backend"),
    _crd("ray.io", "RayService", "spec", "managedBy"),
    _crd("ray.io", "RayService", "spec", "rayClusterConfig", "managedBy"),
    _crd("ray.io", "RayService", "spec", "rayClusterConfig", "gcsFaultToleranceOptions", "backend"),
    # LeaderWorkerSet v0.10.0: no CRD rule; the webhook refuses any change of subGroupSize (size itself is mutable:
    # a new size is a new revision, so every group is recreated)
    ImmutableField(
        "leaderworkerset.x-k8s.io", "LeaderWorkerSet", ("spec", "leaderWorkerTemplate", "subGroupPolicy", "subGroupSize"), "webhook"
    ),
)

# Kinds whose spec may change only in the listed fields (dotted paths inside spec); any other spec change is refused.
MUTABLE_SPEC_FIELDS: dict[tuple[str, str], tuple[str, ...]] = {
    # "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy',
    # 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
    ("apps", "StatefulSet"): (
        "replicas",
        "ordinals",
        "template",
        "updateStrategy",
        "revisionHistoryLimit",
        "persistentVolumeClaimRetentionPolicy",
        "minReadySeconds",
    ),
    # "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims";
    # the storage request may only grow (checked separately)
    ("", "PersistentVolumeClaim"): ("resources.requests", "volumeAttributesClassName"),
}

# Defaults the API server fills in, so that spelling a default out is not a change.
SPEC_DEFAULTS: dict[tuple[str, str], dict[str, object]] = {
    ("apps", "StatefulSet"): {"podManagementPolicy": "OrderedReady"},
    ("", "PersistentVolumeClaim"): {"volumeMode": "Filesystem"},
}
