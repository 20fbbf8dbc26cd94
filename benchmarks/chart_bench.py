"""Benchmark: `vllm-constructs template` against Helm's own engine rendering vLLM's chart, for the same values file,
in the same run. Each render is a fresh process (what a user or CI pays per release); the two are interleaved so
machine load affects both alike. Prints the median wall time of each and the ratio; asserts nothing.

Helm's engine is the Go SDK embedded in helm-python-sdk (the `bench` extra; `make bench` installs it). The chart is
read from ../shared/helm-chart (see its SOURCES.txt), never copied into this repository.

Beside them it times the import floor: a Python process that only imports the libraries `template` stands on
(pydantic, which checks every input at run time, and PyYAML), so the table shows how much of the budget they leave.

Run: make bench   (or: .venv/bin/python -m benchmarks.chart_bench [--repeat 15] [--values FILE ...])
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT.parent / "shared" / "helm-chart"
GOLDEN = ROOT.parent / "shared" / "helm-golden"
DEFAULT_SCENARIOS = ("defaults", "single-gpu", "hpa-cpu-memory", "custom-objects")
GOAL_RATIO = 2.0

HELM_RENDER = """
import sys
import helm_python as helm
chart = helm.Chart.load(sys.argv[1])
values = helm.values_from_yaml(open(sys.argv[2]).read())
rendered = chart.render(values, name="demo", namespace="ns-vllm")
sys.stdout.write("".join(rendered.values()))
"""


def _timed(argv: list[str]) -> float:
    start = time.perf_counter()
    run = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300, env={**os.environ, "JSII_NODE": "/bin/false"})
    wall = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])} failed with exit {run.returncode}: {run.stderr[-2000:]}")
    return wall


IMPORT_FLOOR = "import pydantic.dataclasses, yaml"


def floor() -> list[str]:
    return [sys.executable, "-c", IMPORT_FLOOR]


def ours(values: Path) -> list[str]:
    exe = Path(sys.executable).parent / "vllm-constructs"
    return [str(exe), "template", "demo", "-f", str(values), "--namespace", "ns-vllm"]


def helm(values: Path) -> list[str]:
    return [sys.executable, "-c", HELM_RENDER, str(CHART), str(values)]


def compare(values: Path, repeat: int) -> tuple[float, float, float]:
    """Median wall seconds of (vllm-constructs template, Helm's engine, the import floor), interleaved, after one
    warm-up each."""
    commands = (ours(values), helm(values), floor())
    for argv in commands:
        _timed(argv)
    walls: list[list[float]] = [[], [], []]
    for _ in range(repeat):
        for argv, times in zip(commands, walls, strict=True):
            times.append(_timed(argv))
    mine, theirs, base = (statistics.median(times) for times in walls)
    return mine, theirs, base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--values", nargs="*", type=Path, help="values files (default: golden scenarios)")
    args = parser.parse_args()
    if importlib.util.find_spec("helm_python") is None:
        raise SystemExit("helm-python-sdk is not installed: pip install -e '.[bench]' (make bench does)")
    if not (CHART / "Chart.yaml").exists():
        raise SystemExit(f"the chart is not at {CHART} (../shared/helm-chart)")
    files = args.values or [GOLDEN / f"{name}.values.yaml" for name in DEFAULT_SCENARIOS]
    head = f"{'values':<28} {'template s (median)':>19} {'helm engine s (median)':>22} {'ratio':>6}"
    print(f"{head} {'import floor s':>14} {'floor ratio':>11}")
    ratios, floors = [], []
    for values in files:
        mine, theirs, base = compare(values, args.repeat)
        ratios.append(mine / theirs)
        floors.append(base / theirs)
        print(f"{values.name:<28} {mine:>19.3f} {theirs:>22.3f} {mine / theirs:>6.2f} {base:>14.3f} {base / theirs:>11.2f}")
    summary = f"median ratio {statistics.median(ratios):.2f} (goal <= {GOAL_RATIO})"
    summary += f"; the import floor ({IMPORT_FLOOR!r}) alone {statistics.median(floors):.2f}"
    print(f"{summary}; {args.repeat} fresh processes each; machine: {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
