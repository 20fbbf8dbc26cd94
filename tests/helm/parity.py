"""Field-by-field comparison of the upstream chart's render with ours, against the deviations that
docs/helm-migration.md documents (a Markdown table, read by the tests so the doc and the code cannot drift)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

MISSING = "<absent>"


def flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf paths of a manifest; list items with a 'name' are keyed by it, others by index."""
    out: dict[str, Any] = {}
    if isinstance(node, dict) and node:
        for key, value in node.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(node, list) and node:
        named = all(isinstance(v, dict) and isinstance(v.get("name"), str) for v in node)
        for i, value in enumerate(node):
            out.update(flatten(value, f"{prefix}[{value['name'] if named else i}]"))
    else:
        out[prefix] = node
    return out


def normalize(value: Any) -> Any:
    """Helm's and cdk8s's scalar spellings of the same value (an int port vs '8000' stays different)."""
    if value in ({}, []):
        return None
    return value


def diff(chart: dict[str, Any], ours: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    a, b = flatten(chart), flatten(ours)
    out = {}
    for path in sorted(set(a) | set(b)):
        left, right = normalize(a.get(path, MISSING)), normalize(b.get(path, MISSING))
        if left != right:
            out[path] = (a.get(path, MISSING), b.get(path, MISSING))
    return out


def _pattern(text: str, release: str) -> re.Pattern[str]:
    literal = text.replace("{release}", release)
    return re.compile("^" + ".*".join(re.escape(part) for part in literal.split("*")) + "$")


def deviations(doc: Path, release: str) -> list[tuple[str, re.Pattern[str], str]]:
    """(kind, path pattern, raw pattern) for every kind and pattern of every row of the deviation table in
    docs/helm-migration.md. A kind cell may list several kinds or '*'; a path cell several `patterns`."""
    rows = []
    in_table = False
    for line in doc.read_text().splitlines():
        if line.startswith("| kind | field path |"):
            in_table = True
            continue
        if in_table and not line.startswith("|"):
            in_table = False
        if in_table and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            for kind in (k.strip() for k in cells[0].split(",")):
                for path in re.findall(r"`([^`]+)`", cells[1]):
                    rows.append((kind, _pattern(path, release), path))
    return rows


def covered(kind: str, path: str, rows: list[tuple[str, re.Pattern[str], str]]) -> bool:
    return any(k in (kind, "*") and pattern.match(path) for k, pattern, _ in rows)
