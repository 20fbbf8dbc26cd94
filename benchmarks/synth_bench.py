"""Benchmark: whole-process wall time and peak memory (Python plus its jsii Node child) of synthesizing
N VllmServers, each in a fresh process, N in 1, 10, 100, 500, with the ratio to one server (the yardstick measured in
the same run). Prints a table; asserts nothing.

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


SIZES = (1, 10, 100, 500)


def measure(repeat: int, sizes: tuple[int, ...] = SIZES) -> dict[int, list[tuple[float, int, int]]]:
    """Interleaved runs (1, 10, 100, 500, 1, 10, ...) so a change in machine load hits every size alike."""
    runs: dict[int, list[tuple[float, int, int]]] = {n: [] for n in sizes}
    for _ in range(repeat):
        for n in sizes:
            runs[n].append(run_once(n))
    return runs


def table(runs: dict[int, list[tuple[float, int, int]]]) -> list[str]:
    base = statistics.median(r[0] for r in runs[min(runs)])
    lines = [
        "| servers | objects | wall s (median) | wall s (min) | peak MB | ratio to 1 server |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for n, results in runs.items():
        walls = [r[0] for r in results]
        median = statistics.median(walls)
        peak = max(r[1] for r in results) / 1024
        lines.append(f"| {n} | {results[0][2]} | {median:.2f} | {min(walls):.2f} | {peak:.0f} | {median / base:.2f}x |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma-separated server counts")
    args = parser.parse_args()
    sizes = tuple(int(n) for n in args.sizes.split(","))
    print(f"synth of N VllmServers through cdk8s (whole process, fresh each run), {args.repeat} interleaved runs, {os.cpu_count()} cores")
    print("\n".join(table(measure(args.repeat, sizes))))
    print("goal: 100 servers <= 2x one server")


if __name__ == "__main__":
    main()
