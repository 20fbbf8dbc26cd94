"""GitOps options: nothing a controller rewrites by default, Argo CD sync waves and forced cache re-creation on request."""

from __future__ import annotations

from typing import Any

import pytest

from vllm_constructs import GitOpsOptions, ModelCache, ModelDownload, ModelSource, Resources, VllmServerProps
from vllm_constructs.core.server import plan_server

BASE: dict[str, Any] = {
    "name": "srv",
    "model": ModelSource.huggingface("org/m", revision="0" * 40),
    "resources": Resources(cpu="4", memory="16Gi", accelerators=1),
    "cache": ModelCache.pvc("50Gi"),
}


def _objects(**extra: Any) -> dict[str, Any]:
    plan = plan_server("t/srv", "t", VllmServerProps(**{**BASE, **extra}))
    return {o.kind: o for o in plan.objects}


def test_download_job_has_no_ttl_by_default_so_gitops_never_recreates_it() -> None:
    job = _objects()["Job"]
    assert "ttlSecondsAfterFinished" not in job.body["spec"]


def test_ttl_kept_for_manifests_applied_by_hand() -> None:
    job = _objects(download=ModelDownload(ttl_seconds_after_finished=3600))["Job"]
    assert job.body["spec"]["ttlSecondsAfterFinished"] == 3600


def test_no_gitops_annotations_unless_asked() -> None:
    for obj in _objects().values():
        assert not any(k.startswith(("argocd.argoproj.io/", "kustomize.toolkit.fluxcd.io/")) for k in obj.annotations)


def test_argocd_sync_waves_put_storage_and_download_before_the_workload() -> None:
    objs = _objects(gitops=GitOpsOptions(argocd_sync_waves=True))
    waves = {kind: obj.annotations.get("argocd.argoproj.io/sync-wave") for kind, obj in objs.items()}
    assert waves["PersistentVolumeClaim"] == "-2"
    assert waves["Job"] == "-1"
    assert waves["Deployment"] is None and waves["Service"] is None  # wave 0


def test_recreate_cache_claim_marks_only_the_claim() -> None:
    objs = _objects(gitops=GitOpsOptions(recreate_cache_claim=True))
    assert objs["PersistentVolumeClaim"].annotations == {
        "argocd.argoproj.io/sync-options": "Force=true,Replace=true",
        "kustomize.toolkit.fluxcd.io/force": "enabled",
    }
    gitops = ("argocd.argoproj.io/", "kustomize.toolkit.fluxcd.io/")
    assert all(not any(k.startswith(gitops) for k in o.annotations) for kind, o in objs.items() if kind != "PersistentVolumeClaim")


@pytest.mark.parametrize("bad", ["yes", 1, None])
def test_options_are_typed(bad: Any) -> None:
    from vllm_constructs import ConfigError  # noqa: PLC0415

    if bad is None:
        with pytest.raises(ConfigError):
            GitOpsOptions(argocd_sync_waves=bad)  # type: ignore[arg-type]
    else:
        with pytest.raises(ConfigError):
            GitOpsOptions(recreate_cache_claim=bad)  # type: ignore[arg-type]
