"""The distribution a platform team installs: a wheel built from this tree, installed into a fresh virtualenv,
carries the shell scripts, type marker and vLLM flag table, and its `vllm-constructs` command renders a chart release."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.real


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=540)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    build = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(work), str(ROOT)], cwd=work)
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = work.glob("vllm_constructs-*.whl")
    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    install = _run([str(env_dir / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", str(wheel)], cwd=work)
    assert install.returncode == 0, install.stderr[-3000:]
    return env_dir


def test_wheel_ships_scripts_type_marker_and_flag_table(installed: Path) -> None:
    probe = (
        "import importlib.resources as r, vllm_constructs, vllm_constructs.model as m;"
        "assert r.files('vllm_constructs').joinpath('py.typed').is_file();"
        "assert 'set -euo pipefail' in m.download_script('s3') and 'set -euo pipefail' in m.wait_script();"
        "import vllm_constructs.vllm_flags as f; assert f.load_table().vllm_version and '--max-model-len' in f.load_table().options;"
        "print(vllm_constructs.__file__)"
    )
    env = {"PATH": os.environ["PATH"], "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    run = _run([str(installed / "bin" / "python"), "-I", "-c", probe], cwd=installed, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert str(installed) in run.stdout, "imported the repository's copy instead of the installed one"


def test_installed_command_renders_a_release(installed: Path, tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("replicaCount: 2\nextraInit:\n  s3modelpath: models/opt-125m/\n")
    env = {"PATH": os.environ["PATH"]}
    run = _run([str(installed / "bin" / "vllm-constructs"), "template", "demo", "-f", str(values), "-n", "ns"], cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert all(line.startswith("notice: ") for line in run.stderr.splitlines()), run.stderr  # the Secret to create
    assert "name: demo-deployment-vllm" in run.stdout and "ReadWriteMany" in run.stdout
    migrate = _run(
        [str(installed / "bin" / "vllm-constructs"), "migrate", "demo", "-f", str(values), "-o", str(tmp_path / "demo.py")],
        cwd=tmp_path,
        env=env,
    )
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    compile((tmp_path / "demo.py").read_text(), "demo.py", "exec")
