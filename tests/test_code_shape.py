"""Code shape the project holds itself to: no function in vllm_constructs/ or apps/ longer than 60 lines (the pure
core is small functions; ruff's size and complexity rules are on with thresholds this test keeps honest)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

LIMIT = 60


def _long_functions() -> list[str]:
    found = []
    for base in ("vllm_constructs", "apps"):
        for path in sorted((ROOT / base).rglob("*.py")):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    length = (node.end_lineno or node.lineno) - node.lineno + 1
                    if length > LIMIT:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_no_function_is_longer_than_sixty_lines() -> None:
    assert _long_functions() == []


def test_the_check_sees_functions() -> None:
    source = "def f():\n" + "    x = 1\n" * (LIMIT + 1)
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.FunctionDef) and (node.end_lineno or 0) - node.lineno + 1 > LIMIT
    assert Path(__file__).exists()
