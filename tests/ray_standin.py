"""A stand-in for the `ray` CLI, for the stop tests of the RayCluster scripts (run as `ray start ...`).

STANDIN_MODE=stuck: a hung `ray start` that ignores SIGINT and SIGTERM (it records each one) and keeps
a child in a process group of its own, as Ray starts its workers, that ignores them too.
STANDIN_MODE=exits: a `ray start` that fails at once and leaves a child in its own process group which,
like Ray's daemons, ignores SIGINT and stops on SIGTERM (it records that).

Files in STANDIN_DIR: ``pids`` (one line per start: its pid and its child's), ``signals`` (what the stuck
one received), ``child-signals`` (what a child of the failing one received), ``previous-child-alive``
(written by every start after the first: was the child of the start before still running).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

OUT = Path(os.environ.get("STANDIN_DIR", "."))


def _record(name: str, line: str) -> None:
    with (OUT / name).open("a") as f:
        f.write(line + "\n")


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _child(mode: str) -> None:
    """Ignore SIGINT (and, when stuck, SIGTERM), say ready, wait for a signal."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if mode == "stuck":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:

        def on_term(signum: int, _frame: object) -> None:
            _record("child-signals", f"{os.getpid()} {signal.Signals(signum).name}")
            os._exit(0)

        signal.signal(signal.SIGTERM, on_term)
    print("ready", flush=True)
    while True:
        signal.pause()


def _start(mode: str) -> None:
    pids = OUT / "pids"
    if pids.exists():
        previous_child = int(pids.read_text().split()[-1])
        _record("previous-child-alive", str(_alive(previous_child)))
    if mode == "stuck":
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda signum, _frame: _record("signals", signal.Signals(signum).name))
    # The stuck one's child leads a process group of its own; the failing one's stays in the parent's group.
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", mode], stdout=subprocess.PIPE, process_group=0 if mode == "stuck" else None
    )
    assert child.stdout is not None
    if child.stdout.readline() != b"ready\n":
        sys.exit("the stand-in's child did not start")
    _record("pids", f"{os.getpid()} {child.pid}")
    print(f"stand-in ray started: pid {os.getpid()}, child {child.pid}", flush=True)
    if mode == "exits":
        os._exit(1)  # leaves the child running, as a `ray start` that dies does
    while True:
        signal.pause()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2])
    else:
        _start(os.environ["STANDIN_MODE"])
