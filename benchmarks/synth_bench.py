"""Benchmark: whole-process wall time and peak memory (Python plus its jsii Node child) of synthesizing
N VllmServers, each in a fresh process, N in 1, 10, 100, 500, with the ratio to one server (the yardstick measured in
the same run). Prints a table; asserts nothing.

Beside each size it measures the cdk8s floor: the very objects those servers plan (computed once, before timing),
added by a plain cdk8s app as raw ApiObjects (create, JSON patch, add: what any cdk8s library pays per object) with
no vllm-constructs code in the process. The floor's own ratio to one server shows what cdk8s and jsii alone allow for
this output; the gap between the two columns is this library's cost. The two apps must write the same bytes.

Run: make bench   (or: .venv/bin/python -m benchmarks.synth_bench [--repeat 3])
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from vllm_constructs import ModelSource, Resources, VllmServerProps
from vllm_constructs.core.server import plan_server

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


FLOOR = """
import json, sys
import cdk8s
from constructs import Construct
n, out, planned = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(planned) as f:  # one server per line: read only the n this run adds
    servers = [json.loads(next(f)) for _ in range(n)]
app = cdk8s.App(outdir=out)
chart = cdk8s.Chart(app, "bench", namespace="bench", disable_resource_name_hashes=True)
for i, objects in enumerate(servers):
    scope = Construct(chart, f"s{i}")
    for o in objects:
        metadata = cdk8s.ApiObjectMetadata(**o["metadata"])
        api = cdk8s.ApiObject(scope, o["id"], api_version=o["apiVersion"], kind=o["kind"], metadata=metadata)
        for key, value in o["body"].items():
            api.add_json_patch(cdk8s.JsonPatch.add("/" + key, value))
app.synth()
"""


def plan_objects(n: int, path: Path) -> None:
    """The objects the workload's n servers plan, as JSON for the floor app (pure planning, no jsii)."""
    servers = []
    for i in range(n):
        props = VllmServerProps(
            name=f"model-{i}",
            model=ModelSource.huggingface("org/model", revision=f"rev{i}"),
            resources=Resources(cpu="8", memory="64Gi", accelerators=1),
        )
        plan = plan_server(f"bench/s{i}", "bench", props)
        servers.append(
            [
                {
                    "id": o.id,
                    "apiVersion": o.api_version,
                    "kind": o.kind,
                    "metadata": {
                        "name": o.name,
                        "labels": dict(o.labels),
                        **({"annotations": dict(o.annotations)} if o.annotations else {}),
                    },
                    "body": o.body,
                }
                for o in plan.objects
            ]
        )
    path.write_text("".join(json.dumps(server) + "\n" for server in servers))


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


class Run(NamedTuple):
    wall: float
    peak_kb: int
    objects: int
    digest: str


def run_once(n: int, floor_input: Path | None = None) -> Run:
    """One fresh process: the VllmServer workload, or (with ``floor_input``) the cdk8s floor over planned objects."""
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
        app = (FLOOR, str(n), out, str(floor_input)) if floor_input else (WORKLOAD, str(n), out)
        argv = [sys.executable, "-c", *app]
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _tree_rss_kb(proc.pid))
            time.sleep(0.005)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"synth of {n} servers failed with exit {proc.returncode}")
        texts = sorted((p.name, p.read_text()) for p in Path(out).glob("*.yaml"))
    objects = sum(text.count("\nkind: ") for _, text in texts)
    digest = hashlib.sha256(json.dumps(texts).encode()).hexdigest()
    return Run(wall, peak, objects, digest)


SIZES = (1, 10, 100, 500)
Runs = dict[int, list[Run]]


def measure(repeat: int, sizes: tuple[int, ...], planned: Path) -> tuple[Runs, Runs]:
    """Interleaved runs (1, 10, 100, 500, 1, 10, ...; each size ours then the floor) so a change in machine load hits
    every size and both apps alike."""
    ours: Runs = {n: [] for n in sizes}
    floor: Runs = {n: [] for n in sizes}
    for _ in range(repeat):
        for n in sizes:
            ours[n].append(run_once(n))
            floor[n].append(run_once(n, planned))
    return ours, floor


def table(ours: Runs, floor: Runs) -> list[str]:
    smallest = min(ours)
    base, floor_base = (statistics.median(r.wall for r in runs[smallest]) for runs in (ours, floor))
    lines = [
        f"| servers | objects | wall s (median) | wall s (min) | peak MB | ratio to {smallest} "
        f"| cdk8s floor s (median) | floor ratio to {smallest} | ms per server over {smallest}: ours / floor | same output |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for n, results in ours.items():
        walls = [r.wall for r in results]
        median, floor_median = statistics.median(walls), statistics.median(r.wall for r in floor[n])
        peak = max(r.peak_kb for r in results) / 1024
        extra = n - smallest
        per = "-" if not extra else f"{(median - base) / extra * 1000:.1f} / {(floor_median - floor_base) / extra * 1000:.1f}"
        same = "yes" if {r.digest for r in results} == {r.digest for r in floor[n]} and len({r.digest for r in results}) == 1 else "NO"
        lines.append(
            f"| {n} | {results[0].objects} | {median:.2f} | {min(walls):.2f} | {peak:.0f} | {median / base:.2f}x "
            f"| {floor_median:.2f} | {floor_median / floor_base:.2f}x | {per} | {same} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma-separated server counts")
    args = parser.parse_args()
    sizes = tuple(int(n) for n in args.sizes.split(","))
    print(f"synth of N VllmServers through cdk8s (whole process, fresh each run), {args.repeat} interleaved runs, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        planned = Path(tmp) / "planned.json"
        plan_objects(max(sizes), planned)
        print("\n".join(table(*measure(args.repeat, sizes, planned))))
    print("goal: 100 servers <= 2x one server; the cdk8s floor is the same objects through cdk8s with no vllm-constructs code")


if __name__ == "__main__":
    main()
