"""The leader and worker scripts of RayCluster, run for real against a real Ray (PyPI ``ray``).

Every node is its own process group on its own loopback address (127.0.0.x), with its own short
--temp-dir, one CPU and a small object store. `vllm serve` is replaced by a recorder on PATH that
writes its arguments to a file. Every group is stopped with SIGINT (SIGKILL after a bound) and the
tests check that no process of theirs is left.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from vllm_constructs.ray_cluster import leader_script, worker_script

pytestmark = pytest.mark.real

VENV_BIN = Path(sys.executable).parent
SERVE_ARGS = [
    "serve",
    "/models/llama",
    "--tensor-parallel-size",
    "1",
    "--pipeline-parallel-size",
    "2",
    "--distributed-executor-backend",
    "ray",
]
RECORDER = f"""#!{sys.executable}
import json, os, sys
with open(os.environ["RECORD_FILE"], "w") as f:
    json.dump({{"argv": sys.argv[1:], "ray_address": os.environ.get("RAY_ADDRESS")}}, f)
"""


def _ray_available() -> None:
    if shutil.which("ray", path=str(VENV_BIN)) is None:
        message = f"the 'ray' CLI is not in {VENV_BIN}: pip install ray (test extra)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
    return port


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                pids.append(int(entry))
    return pids


@dataclass
class Node:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


class Cluster:
    """Starts scripts as separate process groups and stops every one of them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.nodes: list[Node] = []
        self.bin = root / "bin"
        self.bin.mkdir()
        recorder = self.bin / "vllm"
        recorder.write_text(RECORDER)
        recorder.chmod(0o755)
        self.record = root / "served.json"

    def env(self, ip: str, port: int, **extra: str) -> dict[str, str]:
        temp = self.root / ip.rsplit(".", 1)[1]
        temp.mkdir(exist_ok=True)
        return {
            "PATH": f"{self.bin}:{VENV_BIN}:/usr/bin:/bin",
            "HOME": str(self.root),
            "RAY_NODE_IP": ip,
            "RAY_PORT": str(port),
            "RAY_NUM_CPUS": "1",
            "RAY_OBJECT_STORE_MEMORY": "80000000",
            "RAY_TEMP_DIR": str(temp),
            "RAY_POLL_INTERVAL_SECONDS": "1",
            "RAY_USAGE_STATS_ENABLED": "0",
            "RECORD_FILE": str(self.record),
            **extra,
        }

    def start(self, name: str, script: str, args: list[str], env: dict[str, str]) -> Node:
        log = self.root / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                ["bash", "-c", script, name, *args], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        node = Node(name, proc, log)
        self.nodes.append(node)
        return node

    def stop(self) -> None:
        for node in self.nodes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(node.proc.pid, signal.SIGINT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_group_pids(n.proc.pid) for n in self.nodes):
            time.sleep(0.2)
        for node in self.nodes:
            if _group_pids(node.proc.pid):
                os.killpg(node.proc.pid, signal.SIGKILL)
            node.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_group_pids(n.proc.pid) for n in self.nodes):
            time.sleep(0.2)
        left = {n.name: _group_pids(n.proc.pid) for n in self.nodes}
        assert {k: v for k, v in left.items() if v} == {}, "processes left behind"


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    _ray_available()
    root = Path(tempfile.mkdtemp(prefix="rN", dir="/tmp"))
    c = Cluster(root)
    try:
        yield c
    finally:
        try:
            c.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


def _wait_exit(node: Node, bound: float) -> int:
    try:
        return node.proc.wait(timeout=bound)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{node.name} still running after {bound}s; its log:\n{node.output()}")


def _wait_for_text(node: Node, text: str, bound: float) -> None:
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if text in node.output():
            return
        if node.proc.poll() is not None:
            break
        time.sleep(0.2)
    pytest.fail(f"{node.name} never printed {text!r}; its log:\n{node.output()}")


def test_head_and_workers_form_the_cluster_then_the_leader_serves(cluster: Cluster) -> None:
    port = _free_port("127.0.0.2")
    timeout = {"RAY_CLUSTER_TIMEOUT_SECONDS": "60"}
    for i, ip in enumerate(("127.0.0.3", "127.0.0.4"), start=1):
        cluster.start(f"worker{i}", worker_script(), [], cluster.env(ip, port, RAY_HEAD_ADDRESS="127.0.0.2", **timeout))
    head = cluster.start(
        "leader", leader_script(), ["vllm", *SERVE_ARGS], cluster.env("127.0.0.2", port, RAY_EXPECTED_NODES="3", **timeout)
    )
    assert _wait_exit(head, 75) == 0, head.output()
    assert f"Ray cluster formed: 3/3 nodes alive at 127.0.0.2:{port}" in head.output()
    served = json.loads(cluster.record.read_text())
    assert served == {"argv": SERVE_ARGS, "ray_address": f"127.0.0.2:{port}"}
    for worker in cluster.nodes[:2]:
        assert worker.proc.poll() is None, worker.output()


def test_fails_when_a_worker_is_missing_after_the_bound(cluster: Cluster) -> None:
    port = _free_port("127.0.0.5")
    env = cluster.env("127.0.0.5", port, RAY_EXPECTED_NODES="2", RAY_CLUSTER_TIMEOUT_SECONDS="8")
    head = cluster.start("leader", leader_script(), ["vllm", *SERVE_ARGS], env)
    assert _wait_exit(head, 45) == 1
    assert f"ERROR: 1/2 nodes alive after 8s at 127.0.0.5:{port}: the missing workers never joined" in head.output()
    assert not cluster.record.exists(), "the serve step ran without a full cluster"


def test_a_worker_started_before_its_head_retries_and_joins(cluster: Cluster) -> None:
    port = _free_port("127.0.0.6")
    worker = cluster.start(
        "worker", worker_script(), [], cluster.env("127.0.0.7", port, RAY_HEAD_ADDRESS="127.0.0.6", RAY_CLUSTER_TIMEOUT_SECONDS="60")
    )
    _wait_for_text(worker, f"waiting: Ray head 127.0.0.6:{port} not reachable yet", 15)
    head = cluster.start(
        "leader",
        leader_script(),
        ["vllm", *SERVE_ARGS],
        cluster.env("127.0.0.6", port, RAY_EXPECTED_NODES="2", RAY_CLUSTER_TIMEOUT_SECONDS="60"),
    )
    assert _wait_exit(head, 75) == 0, head.output() + worker.output()
    assert "Ray cluster formed: 2/2 nodes alive" in head.output()
    assert json.loads(cluster.record.read_text())["argv"] == SERVE_ARGS
    assert worker.proc.poll() is None, worker.output()


def test_fails_when_a_worker_cannot_reach_its_head_within_the_bound(cluster: Cluster) -> None:
    port = _free_port("127.0.0.8")
    worker = cluster.start(
        "worker", worker_script(), [], cluster.env("127.0.0.9", port, RAY_HEAD_ADDRESS="127.0.0.8", RAY_CLUSTER_TIMEOUT_SECONDS="3")
    )
    assert _wait_exit(worker, 20) == 1
    assert f"ERROR: could not join the Ray head at 127.0.0.8:{port} after 3s (0 join attempts)" in worker.output()


def test_fails_when_the_lws_group_size_differs_from_the_expected_nodes(cluster: Cluster) -> None:
    env = cluster.env("127.0.0.10", 6390, RAY_EXPECTED_NODES="2", LWS_GROUP_SIZE="3")
    head = cluster.start("leader", leader_script(), ["vllm", *SERVE_ARGS], env)
    assert _wait_exit(head, 10) == 2
    assert head.output().strip() == ("ERROR: LeaderWorkerSet group size is 3 but RAY_EXPECTED_NODES is 2: the cluster could never form")
    assert not cluster.record.exists()
