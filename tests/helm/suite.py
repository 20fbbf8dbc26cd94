"""A small helm-unittest-style runner: each suite file (tests/helm/suites/*.yaml) holds tests of one values snippet
(``set``) and assertions on the rendered objects, the error, or the notices of ``vllm-constructs template``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from vllm_constructs.chart import Rendered, template
from vllm_constructs.errors import ConfigError

SUITES = Path(__file__).parent / "suites"
ABSENT = object()


@dataclass(frozen=True)
class Case:
    suite: str
    it: str
    release: str
    namespace: str
    values: dict[str, Any]
    asserts: list[dict[str, Any]]

    @property
    def id(self) -> str:
        return f"{self.suite}: {self.it}"

    @property
    def fails(self) -> bool:
        return any("failedTemplate" in a for a in self.asserts)


def cases() -> list[Case]:
    out = []
    for path in sorted(SUITES.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        release = doc.get("release", {})
        for test in doc["tests"]:
            name, namespace = release.get("name", "demo"), release.get("namespace", "serving")
            out.append(Case(path.stem, test["it"], name, namespace, test.get("set") or {}, test["asserts"]))
    return out


def render_case(case: Case, tmp: Path) -> tuple[Path, Rendered | ConfigError]:
    values = tmp / "values.yaml"
    values.write_text(yaml.safe_dump(case.values, sort_keys=False))
    try:
        return values, template(case.release, namespace=case.namespace, files=[values])
    except ConfigError as err:
        return values, err


def lookup(node: Any, path: str) -> Any:
    """``spec.containers[vllm].ports[0].labels['a.b/c']``: keys, list indexes, list items by name, quoted keys."""
    for part in re.findall(r"[^.\[\]]+|\[[^\]]*\]", path):
        if part.startswith("['"):
            key = part[2:-2]
            if not isinstance(node, dict) or key not in node:
                return ABSENT
            node = node[key]
        elif part.startswith("["):
            key = part[1:-1]
            if not isinstance(node, list):
                return ABSENT
            if key.isdigit():
                node = node[int(key)] if int(key) < len(node) else ABSENT
            else:
                node = next((i for i in node if isinstance(i, dict) and i.get("name") == key), ABSENT)
        else:
            if not isinstance(node, dict) or part not in node:
                return ABSENT
            node = node[part]
        if node is ABSENT:
            return ABSENT
    return node


def select(docs: list[dict[str, Any]], spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == spec["kind"] and ("name" not in spec or d["metadata"]["name"] == spec["name"])]


def check(case: Case, values: Path, result: Rendered | ConfigError) -> None:
    for spec in case.asserts:
        kind, body = next(iter(spec.items()))
        if kind == "failedTemplate":
            assert isinstance(result, ConfigError), f"{case.id}: rendered, expected an error at {body['field']}"
            problem = next((p for p in result.problems if p.field == body["field"]), None)
            assert problem is not None, f"{case.id}: no problem at {body['field']}: {result}"
            assert problem.path == str(values), f"{case.id}: the error names {problem.path}, not the values file"
            assert re.search(body.get("errorPattern", ""), str(problem)), f"{case.id}: {problem}"
            continue
        assert not isinstance(result, ConfigError), f"{case.id}: {result}"
        docs = [d for d in yaml.safe_load_all(result.text) if d]
        if kind == "notice":
            assert any(re.search(body["pattern"], n) for n in result.notices), f"{case.id}: notices {result.notices}"
            assert not re.search(body["pattern"], result.text), f"{case.id}: a notice leaked into the manifests"
        elif kind == "hasDocuments":
            assert len(select(docs, body)) == body["count"], f"{case.id}: {[(d['kind'], d['metadata']['name']) for d in docs]}"
        else:
            found = select(docs, body)
            assert len(found) == 1, f"{case.id}: {len(found)} objects match {body}"
            value = lookup(found[0], body["path"])
            if kind == "equal":
                assert value == body["value"], f"{case.id}: {body['path']} = {value!r}"
            elif kind == "notExists":
                assert value is ABSENT, f"{case.id}: {body['path']} = {value!r}"
            elif kind == "matches":
                assert re.search(body["pattern"], json.dumps(value, sort_keys=True)), f"{case.id}: {body['path']} = {value!r}"
            elif kind == "contains":
                assert isinstance(value, list) and body["value"] in value, f"{case.id}: {body['path']} = {value!r}"
            else:
                raise AssertionError(f"{case.id}: unknown assertion {kind}")
