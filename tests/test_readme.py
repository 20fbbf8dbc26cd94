"""The README's library example runs and produces the objects the README says it does."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import ROOT


def test_readme_example_produces_the_objects_it_lists(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    example = re.search(r"## A library example\n\n```python\n(.*?)```", readme, re.S)
    assert example, "README lost its library example"
    script = tmp_path / "example.py"
    script.write_text(example.group(1))
    subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
    )
    objects = [d for d in yaml.safe_load_all((tmp_path / "dist" / "llama.k8s.yaml").read_text()) if d]
    listed = re.search(r"holds five objects: (.*?)\. Excerpts", readme, re.S)
    assert listed
    claimed = re.findall(r"(\w+)\s+`([a-z0-9-]+)`", listed.group(1))
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == claimed
    dep = next(o for o in objects if o["kind"] == "Deployment")
    args = dep["spec"]["template"]["spec"]["containers"][0]["args"]
    assert f"args: [{args[0]}," in readme


def test_every_readme_python_example_runs(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    examples = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert len(examples) >= 3
    for i, example in enumerate(examples):
        folder = tmp_path / str(i)
        folder.mkdir()
        (folder / "example.py").write_text(example)
        env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
        run = subprocess.run([sys.executable, "example.py"], cwd=folder, capture_output=True, text=True, env=env, check=False)
        assert run.returncode == 0, f"README example {i} failed:\n{run.stderr[-2000:]}"
        assert list((folder / "dist").glob("*.yaml")), f"README example {i} wrote no manifests"
