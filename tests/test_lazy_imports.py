"""The package's public names load on first use: importing `vllm_constructs` (or a pure module of it, such as
`vllm_constructs.gitops_diff`) starts no jsii Node process, and every name in `__all__` still resolves."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import vllm_constructs
from tests.conftest import ROOT


def _python(code: str, node: bool = False) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ) if node else {"PATH": "/usr/bin:/bin", "JSII_NODE": "/bin/false"}
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_importing_the_package_and_a_pure_module_starts_no_jsii() -> None:
    run = _python(
        "import sys, vllm_constructs, vllm_constructs.errors, vllm_constructs.gitops_diff;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jsii', 'cdk8s', 'constructs')))"
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_a_public_name_loads_its_module_on_first_use() -> None:
    code = "import sys, vllm_constructs; vllm_constructs.VllmServer; print('jsii' in sys.modules, 'cdk8s' in sys.modules)"
    run = _python(code, node=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "True True"


def test_every_public_name_is_the_object_its_module_defines() -> None:
    """The TYPE_CHECKING import block (what mypy and editors see) and the lazy lookup agree, and every name in
    __all__ resolves."""
    tree = ast.parse(Path(vllm_constructs.__file__).read_text())
    block = next(node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING")
    imported = {
        alias.name: (node.module or "").lstrip(".") for node in block.body if isinstance(node, ast.ImportFrom) for alias in node.names
    }
    assert imported == {name: module for name, module in vllm_constructs._PUBLIC.items()}
    for name, module_name in imported.items():
        assert getattr(vllm_constructs, name) is getattr(importlib.import_module(f"vllm_constructs.{module_name}"), name), name
    for name in vllm_constructs.__all__:
        assert getattr(vllm_constructs, name) is not None, name


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchConstruct"):
        vllm_constructs.NoSuchConstruct  # type: ignore[attr-defined]
