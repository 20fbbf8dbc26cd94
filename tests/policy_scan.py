"""checkov over every app in dist/ (and, for comparison, the upstream chart's default render).

Used by tests/test_policy_scan.py and by `make policy` (`python -m tests.policy_scan`), which prints the figures
of docs/security.md. The justified skips live in one place: the table under "## Justified skips" in
docs/security.md.

checkov's kubernetes framework only knows built-in kinds; the pod templates inside RayCluster and LeaderWorkerSet
objects are therefore also written out as stand-alone Pods (named ``<object>-<role>``) so that they are scanned
with the same checks.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SECURITY_DOC = ROOT / "docs" / "security.md"
SKIPS_HEADING = "## Justified skips"
UPSTREAM_DEFAULTS = ROOT.parent / "shared" / "helm-golden" / "defaults.rendered.yaml"


def checkov_bin() -> Path | None:
    """The checkov of .venv-checkov (made by `make setup`), else one on PATH."""
    local = ROOT / ".venv-checkov" / "bin" / "checkov"
    if local.exists():
        return local
    found = shutil.which("checkov")
    return Path(found) if found else None


@dataclass(frozen=True)
class Skip:
    check_id: str
    patterns: tuple[str, ...]
    reason: str

    def covers(self, check_id: str, resource: str) -> bool:
        return check_id == self.check_id and any(fnmatch.fnmatchcase(resource, p) for p in self.patterns)


def load_skips(doc: Path = SECURITY_DOC) -> list[Skip]:
    """Rows of the Markdown table under SKIPS_HEADING: | check id | resources (backticked globs) | why |."""
    text = doc.read_text()
    section = text.split(SKIPS_HEADING, 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    skips = []
    for line in rows[2:]:  # header and separator
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3:
            raise ValueError(f"{doc}: a skip row needs 3 cells: {line!r}")
        found = re.search(r"`(CKV2?_K8S_\d+)`", cells[0])
        check_id = found.group(1) if found else cells[0]
        patterns = tuple(re.findall(r"`([^`]+)`", cells[1]))
        if not re.fullmatch(r"CKV2?_K8S_\d+", check_id) or not patterns or not cells[2]:
            raise ValueError(f"{doc}: a skip row needs a check id, backticked resource globs and a reason: {line!r}")
        skips.append(Skip(check_id, patterns, cells[2]))
    return skips


def _pod_from_template(owner: dict[str, Any], role: str, template: dict[str, Any]) -> dict[str, Any]:
    meta = owner["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{meta['name']}-{role}",
            "namespace": meta.get("namespace", "default"),
            "labels": dict(template.get("metadata", {}).get("labels", {})),
        },
        "spec": template["spec"],
    }


def custom_resource_pods(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod templates of a RayCluster or LeaderWorkerSet as Pods checkov can check; [] for other kinds."""
    spec = doc.get("spec", {})
    if doc.get("kind") == "RayCluster":
        pods = [_pod_from_template(doc, "head", spec["headGroupSpec"]["template"])]
        for group in spec.get("workerGroupSpecs", []):
            pods.append(_pod_from_template(doc, f"worker-{group['groupName']}", group["template"]))
        return pods
    if doc.get("kind") == "LeaderWorkerSet":
        lwt = spec["leaderWorkerTemplate"]
        pods = [_pod_from_template(doc, "worker", lwt["workerTemplate"])]
        if "leaderTemplate" in lwt:
            pods.insert(0, _pod_from_template(doc, "leader", lwt["leaderTemplate"]))
        return pods
    return []


def dist_manifests(dist: Path = ROOT / "dist") -> list[Path]:
    """Every manifest file synth writes: the apps' dist/*.k8s.yaml and the fleet's dist/fleet/<env>/<cluster>/*.k8s.yaml
    (not the kustomization.yaml files, which Kubernetes never receives)."""
    return sorted(dist.rglob("*.k8s.yaml"))


def prepare_dist(target: Path, dist: Path = ROOT / "dist") -> list[str]:
    """Copy every manifest of dist/ into target (a fleet file as fleet-<env>-<cluster>-<file>), plus one file of Pods
    made from custom resources' pod templates. Returns the names of the custom resources whose templates were added."""
    target.mkdir(parents=True, exist_ok=True)
    extra: list[dict[str, Any]] = []
    names: list[str] = []
    for path in dist_manifests(dist):
        shutil.copy(path, target / "-".join(path.relative_to(dist).parts))
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and (pods := custom_resource_pods(doc)):
                extra.extend(pods)
                names.append(f"{path.name}:{doc['kind']}/{doc['metadata']['name']}")
    if extra:
        (target / "custom-resource-pod-templates.yaml").write_text(yaml.safe_dump_all(extra, sort_keys=False))
    return names


def prepare_upstream(target: Path, rendered: Path = UPSTREAM_DEFAULTS) -> None:
    """The Helm render without its '# Source:' comments (checkov reads each document either way)."""
    target.mkdir(parents=True, exist_ok=True)
    docs = [d for d in yaml.safe_load_all(rendered.read_text()) if d]
    (target / "upstream-defaults.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))


Finding = tuple[str, str, str, str]  # (check id, resource, file, check name)


@dataclass(frozen=True)
class Scan:
    passed: int
    failed: list[Finding]
    resource_count: int
    version: str
    resources: frozenset[str]  # every resource id checkov reported on (passed or failed)


def run_checkov(directory: Path, binary: Path) -> Scan:
    """checkov on a directory, offline: no platform download, no update check."""
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "LOG_LEVEL": "WARNING"}
    cmd = [str(binary), "-d", str(directory), "--framework", "kubernetes", "-o", "json", "--skip-download", "--compact"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
    if proc.returncode not in (0, 1):  # 1 means "some check failed"
        raise RuntimeError(f"checkov exited {proc.returncode}: {proc.stderr[-2000:]}")
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    kube = [r for r in reports if r.get("check_type") == "kubernetes"]
    if not kube:
        raise RuntimeError(f"checkov gave no kubernetes report: {proc.stdout[:500]}")
    summary = kube[0]["summary"]
    if summary["parsing_errors"]:
        raise RuntimeError(f"checkov could not parse some files: {kube[0]['results'].get('parsing_errors')}")
    failed = [(f["check_id"], f["resource"], f["file_path"], f["check_name"]) for r in kube for f in r["results"].get("failed_checks", [])]
    resources = frozenset(f["resource"] for r in kube for key in ("passed_checks", "failed_checks") for f in r["results"].get(key, []))
    return Scan(summary["passed"], failed, summary["resource_count"], summary["checkov_version"], resources)


def split_findings(scan: Scan, skips: list[Skip]) -> tuple[list[Finding], list[Finding]]:
    """(justified, unjustified) failed checks."""
    justified: list[Finding] = []
    unjustified: list[Finding] = []
    for finding in scan.failed:
        (justified if any(s.covers(finding[0], finding[1]) for s in skips) else unjustified).append(finding)
    return justified, unjustified


def main() -> int:
    binary = checkov_bin()
    if binary is None:
        print("checkov not found: run `make setup` (it creates .venv-checkov)", file=sys.stderr)
        return 2
    skips = load_skips()
    with tempfile.TemporaryDirectory() as tmp:
        ours = run_checkov_prepared(Path(tmp) / "apps", binary)
        justified, unjustified = split_findings(ours, skips)
        upstream = None
        if UPSTREAM_DEFAULTS.exists():
            prepare_upstream(Path(tmp) / "upstream")
            upstream = run_checkov(Path(tmp) / "upstream", binary)
    print(f"checkov {ours.version}, framework kubernetes\n")
    print("| scanned | passed | failed | justified skips |")
    print("|---|---|---|---|")
    ids = sorted({f[0] for f in justified})
    print(
        f"| vllm-constructs apps (dist/, {ours.resource_count} resources) | {ours.passed} | {len(unjustified)} | "
        f"{len(justified)} findings of {len(ids)} checks |"
    )
    if upstream is not None:
        print(f"| upstream chart defaults ({upstream.resource_count} resources) | {upstream.passed} | {len(upstream.failed)} | 0 |")
    else:
        print(f"| upstream chart defaults | {UPSTREAM_DEFAULTS} is missing | | |")
    for finding in unjustified:
        print(f"UNJUSTIFIED: {finding[0]} {finding[1]} ({finding[2]}): {finding[3]}", file=sys.stderr)
    return 1 if unjustified else 0


def run_checkov_prepared(target: Path, binary: Path) -> Scan:
    prepare_dist(target)
    return run_checkov(target, binary)


if __name__ == "__main__":
    sys.exit(main())
