"""Benchmark: whole-process wall time and peak memory (Python plus its jsii Node child) of synthesizing
N VllmServers, each in a fresh process, N in 1, 10, 100. Prints a table; asserts nothing.

Run: make bench   (or: .venv/bin/python -m benchmarks.synth_bench [--repeat 3])
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKLOAD = """
import sys
import cdk8s
from vllm_constructs import ModelSource, Resources, VllmServer, VllmServerProps
n, out = int(sys.argv[1]), sys.argv[2]
app = cdk8s.App(outdir=out)
chart = cdk8s.Chart(app, "bench", namespace="bench", disable_resource_name_hashes=True)
for i in range(n):
    VllmServer(chart, f"s{i}", VllmServerProps(
        name=f"model-{i}",
        model=ModelSource.huggingface("org/model", revision=f"rev{i}"),
        resources=Resources(cpu="8", memory="64Gi", accelerators=1),
    ))
app.synth()
"""


def _tree_rss_kb(root: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ppid = int(fields[1])
            with open(f"/proc/{entry}/statm") as f:
                pages = int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages * os.sysconf("SC_PAGE_SIZE") // 1024
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def run_once(n: int) -> tuple[float, int, int]:
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", WORKLOAD, str(n), out], env=env)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _tree_rss_kb(proc.pid))
            time.sleep(0.005)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"synth of {n} servers failed with exit {proc.returncode}")
        objects = sum(Path(p).read_text().count("\nkind: ") for p in Path(out).glob("*.yaml"))
    return wall, peak, objects


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    budgets = {1: 1.0, 10: None, 100: 2.5}
    print(f"{'servers':>7} {'objects':>7} {'wall s (median)':>15} {'wall s (min)':>12} {'peak MB':>8} {'budget s':>8}")
    for n in (1, 10, 100):
        runs = [run_once(n) for _ in range(args.repeat)]
        walls = [r[0] for r in runs]
        peak_mb = max(r[1] for r in runs) / 1024
        budget = budgets[n]
        print(
            f"{n:>7} {runs[0][2]:>7} {statistics.median(walls):>15.2f} {min(walls):>12.2f} {peak_mb:>8.0f} {budget if budget else '-':>8}"
        )
    print("budget: peak memory <= 300 MB; machine:", os.cpu_count(), "cores")


if __name__ == "__main__":
    main()
