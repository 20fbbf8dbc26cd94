"""The key table (vllm_constructs/chart/keys.py) covers every key of the chart: the mirrored chart's schema and
values, every key the project's research found across the chart's versions (tests/helm/data/helm-keys.json, this
project's own summary), and every key the values model reads; each rule's example proves its treatment."""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from tests.conftest import shared_path
from vllm_constructs.chart import load_values, plan_release
from vllm_constructs.chart.defaults import CHART_DEFAULTS
from vllm_constructs.chart.keys import ANY_INDEX, ANY_KEY, RULES, KeyRule, refused_rule, rule_for
from vllm_constructs.chart.sources import Key, dotted
from vllm_constructs.chart.values import ChartValues
from vllm_constructs.errors import ConfigError

RESEARCH = Path(__file__).parent / "data" / "helm-keys.json"


def _covered(key: Key) -> bool:
    return rule_for(key) is not None or refused_rule(key) is not None


def _schema_keys(node: Any, key: Key = ()) -> list[Key]:
    out: list[Key] = []
    if not isinstance(node, dict):
        return out
    for name, sub in node.get("properties", {}).items():
        out += [(*key, name), *_schema_keys(sub, (*key, name))]
    if isinstance(node.get("items"), dict):
        out += _schema_keys(node["items"], (*key, 0))
    for combined in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(combined, []):
            out += _schema_keys(sub, key)
    return out


def test_defaults_are_the_mirrored_charts_values() -> None:
    assert yaml.safe_load(shared_path("helm-chart/values.yaml").read_text()) == CHART_DEFAULTS


def test_table_covers_the_charts_schema() -> None:
    schema = json.loads(shared_path("helm-chart/values.schema.json").read_text())
    keys = _schema_keys(schema)
    assert len(keys) > 80
    missing = [dotted(k) for k in keys if not _covered(k)]
    assert missing == []


def _research_key(path: str) -> Key:
    """A research record's path as a key: 'resources (whole map, vendor keys)' is the resources map; 'X_*' a key."""
    path = re.sub(r"\s*\(.*\)$", "", path).replace("nvidia.com/gpu", "nvidia\0com/gpu")
    return tuple(p.replace("\0", ".") for p in path.split("."))


def test_table_covers_every_key_of_every_chart_version() -> None:
    records = json.loads(RESEARCH.read_text())
    assert len(records) == 150
    missing = [r["path"] for r in records if not _covered(_research_key(r["path"]))]
    assert missing == []


def _model_keys(model: type[BaseModel], key: Key = ()) -> list[Key]:
    out: list[Key] = []
    for name, info in model.model_fields.items():
        here = (*key, info.alias or name)
        out.append(here)
        inner = _inner(info.annotation)
        if inner is not None:
            sub, listed = inner
            out += _model_keys(sub, (*here, 0) if listed else here)
    return out


def _inner(annotation: Any) -> tuple[type[BaseModel], bool] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    for arg in typing.get_args(annotation):
        found = _inner(arg)
        if found is not None:
            return found[0], found[1] or typing.get_origin(annotation) is list
    return None


def test_every_key_the_model_reads_has_a_rule() -> None:
    missing = [dotted(k) for k in _model_keys(ChartValues) if not _covered(k)]
    assert missing == []


def test_every_rule_names_a_key_the_model_reads_or_refuses() -> None:
    """Mapped rules name keys of the values model (or the items of its free-form maps); refused rules name keys the
    model does not read, so the refusal (not an 'unknown key') is what the user sees."""
    model = {tuple("[]" if isinstance(p, int) else p for p in k) for k in _model_keys(ChartValues)}
    for rule in RULES:
        pattern = rule.pattern
        if pattern[:2] in (("extraInit", "image"), ("extraInit", "waitContainer"), ("extraInit", "downloadJob")):
            pattern = ("extraInit", "modelDownload", *pattern[1:])  # the oldest layout, read as modelDownload
        if rule.treatment == "mapped":
            assert pattern in model or (pattern[-1] == ANY_KEY and pattern[:-1] in model), rule.key
        else:
            assert pattern not in model or pattern[-1] in ("exec", "tcpSocket", "grpc"), rule.key
    assert len({r.key for r in RULES}) == len(RULES), "each key once"


def _concrete(rule: KeyRule) -> Key:
    return tuple(0 if p == ANY_INDEX else "x" if p == ANY_KEY else p for p in rule.pattern)


def _nested(key: Key, value: Any) -> Any:
    for part in reversed(key):
        value = [value] if isinstance(part, int) else {part: value}
    return value


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


EXAMPLES = [r for r in RULES if r.example is not None]


@pytest.mark.parametrize("rule", EXAMPLES, ids=lambda r: f"{r.treatment} {r.key}")
def test_each_rules_example_gets_its_treatment(rule: KeyRule, tmp_path: Path) -> None:
    key = _concrete(rule)
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(_merge(rule.context or {}, _nested(key, rule.example))))
    if rule.treatment == "mapped":
        try:
            plan_release("demo", "serving", load_values([values]))
        except ConfigError as err:
            pytest.fail(f"{rule.key}: the example is refused: {err}")
        return
    with pytest.raises(ConfigError) as info:
        load_values([values])
    assert info.value.field == dotted(key) and info.value.path == str(values)
    assert rule.detail in info.value.problem


def test_every_refused_rule_has_an_example() -> None:
    assert [r.key for r in RULES if r.treatment == "refused" and r.example is None] == []


def test_table_summary() -> None:
    """The counts docs/helm-migration.md states."""
    mapped = sum(r.treatment == "mapped" for r in RULES)
    refused = sum(r.treatment == "refused" for r in RULES)
    doc = (Path(__file__).resolve().parents[2] / "docs" / "helm-migration.md").read_text()
    assert f"{len(RULES)} key rules: {mapped} mapped, {refused} refused" in doc
