"""Options for the GitOps tool that applies dist/: Argo CD sync waves and forced replacement where Kubernetes refuses an
in-place change. Everything is off unless asked for; the defaults already keep dist/ free of fields a controller
rewrites (no TTL on download Jobs, no replicas on autoscaled workloads)."""

from __future__ import annotations

from collections.abc import Iterable

from .objects import KubeObject
from .validation import value_class

__all__ = ["GitOpsOptions", "annotate"]

SYNC_WAVE = "argocd.argoproj.io/sync-wave"
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
FLUX_FORCE = "kustomize.toolkit.fluxcd.io/force"
# Order of a server's objects in an Argo CD sync: storage first, then the download, then everything else.
_WAVES = {"PersistentVolumeClaim": "-2", "ConfigMap": "-2", "Job": "-1"}


@value_class(kw_only=True)
class GitOpsOptions:
    """Annotations for Argo CD or Flux on a server's objects."""

    argocd_sync_waves: bool = False
    """Sync waves: cache claim and env ConfigMap (-2), download Job (-1), then the workload and the rest (0). The pods
    wait for the download anyway; the waves make the Application's sync order match. Default: False."""
    recreate_cache_claim: bool = False
    """Mark the cache claim for delete-and-recreate (Argo CD ``Force=true,Replace=true``, Flux
    ``kustomize.toolkit.fluxcd.io/force: enabled``) so a storage-class or access-mode change, which Kubernetes refuses
    in place, applies; the cache is then downloaded again. Default: False (the sync fails and says why)."""


def _annotations(obj: KubeObject, options: GitOpsOptions) -> dict[str, str]:
    out = dict(obj.annotations)
    if options.argocd_sync_waves and obj.kind in _WAVES:
        out[SYNC_WAVE] = _WAVES[obj.kind]
    if options.recreate_cache_claim and obj.kind == "PersistentVolumeClaim":
        out[SYNC_OPTIONS] = "Force=true,Replace=true"
        out[FLUX_FORCE] = "enabled"
    return out


def annotate(objects: Iterable[KubeObject], options: GitOpsOptions | None) -> list[KubeObject]:
    """The objects with the GitOps annotations ``options`` asks for (unchanged when None)."""
    if options is None:
        return list(objects)
    return [KubeObject(o.id, o.api_version, o.kind, o.name, o.labels, o.body, _annotations(o, options)) for o in objects]
