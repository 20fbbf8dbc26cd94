"""The leader and worker scripts of RayCluster, run for real against a real Ray (PyPI ``ray``).

Every node is its own session, as a container's first process is, on its own loopback address
(127.0.0.x), with its own short --temp-dir, one CPU and a small object store. `vllm serve` is replaced
by a recorder on PATH that writes its arguments to a file. Every node is stopped as the kubelet stops a
pod: SIGTERM to its first process (the script); SIGINT to the process groups left once that process
exec'd the serve command and it exited; SIGKILL after a bound. The tests check that no process of any
node's session is left. The stop tests set RAY_STOP_TIMEOUT_SECONDS small, check that a stop ends every
process of the node, and (with a stand-in `ray`, tests/ray_standin.py) that a child which ignores the
stop is SIGKILLed once the bound passed.
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from vllm_constructs.core.cluster import leader_script, worker_script

pytestmark = pytest.mark.real

VENV_BIN = Path(sys.executable).parent
SCRIPTS = Path(__file__).resolve().parent.parent / "vllm_constructs" / "scripts"
STANDIN = Path(__file__).resolve().parent / "ray_standin.py"
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
# Sets SIGINT of the process to argv[1] (SIG_DFL or SIG_IGN), then execs argv[2:] in the same process.
SET_SIGINT_THEN_EXEC = (
    "import os, signal, sys; signal.signal(signal.SIGINT, getattr(signal, sys.argv[1])); os.execvp(sys.argv[2], sys.argv[2:])"
)
STOP_SECONDS = 10  # RAY_STOP_TIMEOUT_SECONDS of a node unless its test sets another
# How long past its stop bound a node may take to end on a loaded 2-core machine (starting Python, the
# poll of the stop loop). A generous bound on a wait, never a speed assertion.
MARGIN = 30


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


def _stat(pid: str) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state, ppid, pgrp, session, ...)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _session(sid: int) -> dict[int, int]:
    """Every live process of session SID: pid -> process group."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(entry)
            if fields is not None and int(fields[3]) == sid and fields[0] != "Z":
                found[int(entry)] = int(fields[2])
    return found


@dataclass
class Node:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def processes(self) -> dict[int, int]:
        return _session(self.proc.pid)


class Cluster:
    """Starts scripts as separate sessions and stops every one of them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.nodes: list[Node] = []
        self.bin = root / "bin"
        self.bin.mkdir()
        recorder = self.bin / "vllm"
        recorder.write_text(RECORDER)
        recorder.chmod(0o755)
        self.record = root / "served.json"
        self.standin = root / "standin"
        self.standin_mode = ""

    def use_standin_ray(self, mode: str) -> None:
        """Put tests/ray_standin.py on PATH as `ray`, in STANDIN_MODE mode, for every node started after."""
        self.standin.mkdir()
        ray = self.bin / "ray"
        ray.write_text(f'#!/bin/sh\nexec {sys.executable} {STANDIN} "$@"\n')
        ray.chmod(0o755)
        self.standin_mode = mode

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
            "RAY_STOP_TIMEOUT_SECONDS": str(STOP_SECONDS),
            "RAY_USAGE_STATS_ENABLED": "0",
            "RECORD_FILE": str(self.record),
            "STANDIN_DIR": str(self.standin),
            "STANDIN_MODE": self.standin_mode,
            **extra,
        }

    def start(self, name: str, script: str, args: list[str], env: dict[str, str], *, sigint_ignored: bool = False) -> Node:
        """Run SCRIPT as the first process of a new session, with SIGINT at its default as in a container
        (whatever this test process inherited) or, with sigint_ignored, ignored as a background job of a
        non-interactive shell has it."""
        log = self.root / f"{name}.log"
        disposition = "SIG_IGN" if sigint_ignored else "SIG_DFL"
        command = [sys.executable, "-c", SET_SIGINT_THEN_EXEC, disposition, "bash", "-c", script, name, *args]
        with log.open("wb") as out:
            proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        node = Node(name, proc, log)
        self.nodes.append(node)
        return node

    def stop(self) -> None:
        for node in self.nodes:
            with contextlib.suppress(ProcessLookupError):
                if node.proc.poll() is None:
                    node.proc.send_signal(signal.SIGTERM)
                else:  # the leader exec'd the serve command, which exited; `ray start --head` is left
                    for pid, group in node.processes().items():
                        if pid == group:
                            os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + STOP_SECONDS + MARGIN
        while time.monotonic() < deadline and any(n.processes() for n in self.nodes):
            time.sleep(0.2)
        for node in self.nodes:
            for pid in node.processes():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            node.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(n.processes() for n in self.nodes):
            time.sleep(0.2)
        left = {n.name: n.processes() for n in self.nodes}
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


@pytest.fixture
def fake_head() -> Iterator[tuple[str, int]]:
    """A port that accepts connections on 127.0.0.30, standing in for a head a stand-in `ray` joins."""
    with socket.socket() as s:
        s.bind(("127.0.0.30", 0))
        s.listen(64)
        yield "127.0.0.30", s.getsockname()[1]


def _wait_exit(node: Node, bound: float) -> int:
    try:
        return node.proc.wait(timeout=bound)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{node.name} still running after {bound}s; its log:\n{node.output()}")


def _wait_for_text(node: Node, text: str, bound: float, *, times: int = 1) -> None:
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if node.output().count(text) >= times:
            return
        if node.proc.poll() is not None:
            break
        time.sleep(0.2)
    pytest.fail(f"{node.name} did not print {text!r} {times} time(s); its log:\n{node.output()}")


def _assert_node_ended(node: Node) -> None:
    """Once the script exited, nothing of its node runs: it waited for every process of its session, or
    SIGKILLed them (the kernel needs a moment to end a SIGKILLed process, hence the short bounded wait)."""
    assert node.proc.poll() is not None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and node.processes():
        time.sleep(0.1)
    assert node.processes() == {}, f"{node.name} left processes behind; its log:\n{node.output()}"


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
    # The Ray head outlives the script: after the exec it belongs to the serve process, not to a stop.
    assert head.processes(), "the exec of the serve command stopped the Ray head"


def test_fails_when_a_worker_is_missing_after_the_bound(cluster: Cluster) -> None:
    port = _free_port("127.0.0.5")
    stop = 5
    env = cluster.env("127.0.0.5", port, RAY_EXPECTED_NODES="2", RAY_CLUSTER_TIMEOUT_SECONDS="8", RAY_STOP_TIMEOUT_SECONDS=str(stop))
    head = cluster.start("leader", leader_script(), ["vllm", *SERVE_ARGS], env)
    error = f"ERROR: 1/2 nodes alive after 8s at 127.0.0.5:{port}: the missing workers never joined"
    _wait_for_text(head, error, 75)
    # From its error on, the leader stops its Ray node within the stop bound (SIGKILL at the latest).
    assert _wait_exit(head, stop + MARGIN) == 1, head.output()
    _assert_node_ended(head)
    assert not cluster.record.exists(), "the serve step ran without a full cluster"


def test_sigterm_to_the_leader_while_it_waits_ends_every_process_of_its_node(cluster: Cluster) -> None:
    port = _free_port("127.0.0.11")
    env = cluster.env("127.0.0.11", port, RAY_EXPECTED_NODES="2", RAY_CLUSTER_TIMEOUT_SECONDS="120")
    head = cluster.start("leader", leader_script(), ["vllm", *SERVE_ARGS], env)
    _wait_for_text(head, f"waiting: 1/2 nodes alive at 127.0.0.11:{port}", 60)
    assert len(head.processes()) > 3, "the Ray head and the poll are running"
    head.proc.send_signal(signal.SIGTERM)  # as the kubelet does: to the container's first process only
    assert _wait_exit(head, STOP_SECONDS + MARGIN) == 143, head.output()
    _assert_node_ended(head)
    assert f"received SIGTERM: stopping Ray (SIGKILL after {STOP_SECONDS}s)" in head.output()
    assert not cluster.record.exists()


def test_sigterm_to_a_worker_running_ray_start_ends_every_process_of_its_node(cluster: Cluster) -> None:
    port = _free_port("127.0.0.12")
    cluster.start(
        "leader",
        leader_script(),
        ["vllm", *SERVE_ARGS],
        cluster.env("127.0.0.12", port, RAY_EXPECTED_NODES="3", RAY_CLUSTER_TIMEOUT_SECONDS="120"),
    )
    worker = cluster.start(
        "worker", worker_script(), [], cluster.env("127.0.0.13", port, RAY_HEAD_ADDRESS="127.0.0.12", RAY_CLUSTER_TIMEOUT_SECONDS="120")
    )
    _wait_for_text(cluster.nodes[0], f"waiting: 2/3 nodes alive at 127.0.0.12:{port}", 90)  # the worker's `ray start --block` joined
    assert "(attempt 1)" in worker.output() and worker.proc.poll() is None
    worker.proc.send_signal(signal.SIGTERM)
    assert _wait_exit(worker, STOP_SECONDS + MARGIN) == 143, worker.output()
    _assert_node_ended(worker)
    assert f"received SIGTERM: stopping Ray (SIGKILL after {STOP_SECONDS}s)" in worker.output()
    assert "retrying" not in worker.output()


def _standin_pids(cluster: Cluster) -> list[tuple[int, int]]:
    lines = (cluster.standin / "pids").read_text().splitlines()
    return [(int(a), int(b)) for a, b in (line.split() for line in lines)]


@pytest.mark.parametrize("sigint_ignored", [False, True], ids=["sigint", "sigint-ignored-at-start"])
def test_a_stuck_ray_start_is_sigkilled_after_the_bound_when_a_worker_gets_sigterm(
    cluster: Cluster, fake_head: tuple[str, int], sigint_ignored: bool
) -> None:
    host, port = fake_head
    cluster.use_standin_ray("stuck")
    env = cluster.env("127.0.0.14", port, RAY_HEAD_ADDRESS=host, RAY_CLUSTER_TIMEOUT_SECONDS="60", RAY_STOP_TIMEOUT_SECONDS="2")
    worker = cluster.start("worker", worker_script(), [], env, sigint_ignored=sigint_ignored)
    _wait_for_text(worker, "stand-in ray started", 30)
    [(ray_pid, child_pid)] = _standin_pids(cluster)
    assert cluster.nodes[0].processes().get(child_pid) == child_pid, "the stand-in's child leads a group of its own"
    sent = time.monotonic()
    worker.proc.send_signal(signal.SIGTERM)
    assert _wait_exit(worker, 2 + MARGIN) == 143, worker.output()
    # SIGKILL comes only once the whole bound passed (a lower bound, not a speed assertion).
    assert time.monotonic() - sent >= 2
    _assert_node_ended(worker)
    # The stand-in was first told to stop the way Ray stops; a shell that started with SIGINT ignored
    # hands that on to its children, so it uses SIGTERM there.
    assert (cluster.standin / "signals").read_text().split() == ["SIGTERM" if sigint_ignored else "SIGINT"]
    killed = next(line for line in worker.output().splitlines() if "killed with SIGKILL" in line)
    assert killed.startswith("ERROR: still running 2s after the stop began, killed with SIGKILL:")
    assert f"(pid {ray_pid})" in killed and f"(pid {child_pid})" in killed


def test_a_stuck_ray_head_is_sigkilled_after_the_bound_when_the_leader_fails(cluster: Cluster) -> None:
    cluster.use_standin_ray("stuck")
    port = _free_port("127.0.0.15")
    env = cluster.env("127.0.0.15", port, RAY_EXPECTED_NODES="2", RAY_CLUSTER_TIMEOUT_SECONDS="3", RAY_STOP_TIMEOUT_SECONDS="2")
    head = cluster.start("leader", leader_script(), ["vllm", *SERVE_ARGS], env)
    _wait_for_text(head, f"ERROR: the Ray head did not open 127.0.0.15:{port} within 3s", 60)
    assert _wait_exit(head, 2 + MARGIN) == 1, head.output()
    _assert_node_ended(head)
    [(ray_pid, child_pid)] = _standin_pids(cluster)
    assert (cluster.standin / "signals").read_text().split() == ["SIGINT"]
    assert f"(pid {ray_pid})" in head.output() and f"(pid {child_pid})" in head.output()
    assert "ERROR: still running 2s after the stop began, killed with SIGKILL:" in head.output()
    assert not cluster.record.exists()


def test_a_worker_stops_what_a_failed_ray_start_left_before_it_retries(cluster: Cluster, fake_head: tuple[str, int]) -> None:
    host, port = fake_head
    cluster.use_standin_ray("exits")
    env = cluster.env("127.0.0.16", port, RAY_HEAD_ADDRESS=host, RAY_CLUSTER_TIMEOUT_SECONDS="60", RAY_STOP_TIMEOUT_SECONDS="20")
    worker = cluster.start("worker", worker_script(), [], env)
    _wait_for_text(worker, "stand-in ray started", 60, times=2)  # the second attempt's stand-in recorded what it saw
    first_child = _standin_pids(cluster)[0][1]
    # The child left by the first `ray start` got SIGTERM (its group leader was gone) and was gone before
    # the second attempt started.
    assert (cluster.standin / "child-signals").read_text().splitlines()[0] == f"{first_child} SIGTERM"
    assert (cluster.standin / "previous-child-alive").read_text().splitlines()[0] == "False"
    assert "ray start exited with status 1; retrying" in worker.output()


@pytest.mark.parametrize("script", [leader_script, worker_script], ids=["leader", "worker"])
def test_a_stop_bound_that_is_not_a_whole_number_of_seconds_is_refused(cluster: Cluster, script: Callable[[], str]) -> None:
    env = cluster.env("127.0.0.17", 6391, RAY_EXPECTED_NODES="2", RAY_HEAD_ADDRESS="127.0.0.18", RAY_STOP_TIMEOUT_SECONDS="30s")
    node = cluster.start("node", script(), ["vllm", *SERVE_ARGS], env)
    assert _wait_exit(node, 10) == 2
    assert node.output().strip() == "ERROR: RAY_STOP_TIMEOUT_SECONDS=30s is not a whole number of seconds"


def test_the_leader_and_the_worker_render_the_one_shared_stop_block() -> None:
    def block(text: str) -> str:
        return text[text.index("# --- bounded stop of the children") : text.index("# --- end of the bounded stop ---")]

    shared = (SCRIPTS / "ray-bounded-stop.sh").read_text()
    for rendered in (leader_script(), worker_script()):
        assert "vllm-constructs: include" not in rendered  # the include line was replaced
        assert block(rendered) == block(shared)
        assert "It expects" not in rendered  # the shared file's own header stays out
    assert "stop_children" in block(shared)
    # Each source file holds the block once, by reference: the code exists in one place.
    for source in ("ray-leader.sh", "ray-worker.sh"):
        assert "stop_children()" not in (SCRIPTS / source).read_text()


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
