"""Benchmark: `vllm-constructs template` against Helm's own engine rendering vLLM's chart, for the same values file,
in the same run. Each render is a fresh process (what a user or CI pays per release); the two are interleaved so
machine load affects both alike. Prints the median wall time of each and the ratio; asserts nothing.

Helm's engine is the Go SDK embedded in helm-python-sdk (the `bench` extra; `make bench` installs it). The chart is
read from ../shared/helm-chart (see its SOURCES.txt), never copied into this repository.

Beside them it times two import floors: a Python process that only imports the libraries `template` stands on
(pydantic, which checks every input at run time, and PyYAML), and one that imports those and the strictly typed
classes a server is built from (vllm_constructs.core.server, no chart code, no rendering), so the table shows how
much of the budget each leaves.

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


FLOORS = {
    "libraries": "import pydantic.dataclasses, yaml",
    "typed core": "import vllm_constructs.core.server",
}
"""Import floors, timed beside the two renders: the libraries `template` stands on, and those plus the strictly
typed classes a server's props are built from (their validators are built when the classes are defined)."""


def ours(values: Path) -> list[str]:
    exe = Path(sys.executable).parent / "vllm-constructs"
    return [str(exe), "template", "demo", "-f", str(values), "--namespace", "ns-vllm"]


def helm(values: Path) -> list[str]:
    return [sys.executable, "-c", HELM_RENDER, str(CHART), str(values)]


def compare(values: Path, repeat: int) -> dict[str, float]:
    """Median wall seconds of vllm-constructs template ('ours'), Helm's engine ('helm') and each import floor,
    interleaved, after one warm-up each."""
    commands = {"ours": ours(values), "helm": helm(values)} | {name: [sys.executable, "-c", code] for name, code in FLOORS.items()}
    for argv in commands.values():
        _timed(argv)
    walls: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, argv in commands.items():
            walls[name].append(_timed(argv))
    return {name: statistics.median(times) for name, times in walls.items()}


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
    print(head + "".join(f" {name + ' floor s':>18} {'ratio':>6}" for name in FLOORS))
    ratios: dict[str, list[float]] = {name: [] for name in ("ours", *FLOORS)}
    for values in files:
        medians = compare(values, args.repeat)
        for name, found in ratios.items():
            found.append(medians[name] / medians["helm"])
        row = f"{values.name:<28} {medians['ours']:>19.3f} {medians['helm']:>22.3f} {ratios['ours'][-1]:>6.2f}"
        print(row + "".join(f" {medians[name]:>18.3f} {ratios[name][-1]:>6.2f}" for name in FLOORS))
    summary = f"median ratio {statistics.median(ratios['ours']):.2f} (goal <= {GOAL_RATIO})"
    summary += "".join(f"; {name} floor ({code!r}) {statistics.median(ratios[name]):.2f}" for name, code in FLOORS.items())
    print(f"{summary}; {args.repeat} fresh processes each; machine: {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
