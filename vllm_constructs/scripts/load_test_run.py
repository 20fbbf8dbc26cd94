"""Run one load test and report it, with the standard library only (Python 3.10 or later).

The load-test Job runs ``python3 -c <this file> <command...>``: the command (``timeout ... vllm bench serve ...
--save-result``) runs as given, then this program reads the result file the benchmark wrote, prints one line
``load-test result: {json}`` with its numbers, optionally pushes them to a Prometheus Pushgateway, and exits non-zero
when the benchmark failed, timed out, or more requests failed than allowed. Settings come from the environment:

- ``LOAD_TEST_RESULT_FILE``: where ``vllm bench serve --save-result`` writes its JSON result;
- ``LOAD_TEST_NUM_PROMPTS``: the requests sent; ``LOAD_TEST_MAX_FAILED``: how many may fail;
- ``PUSHGATEWAY_URL`` (optional): the Pushgateway; ``PUSHGATEWAY_GROUPING``: JSON object of the grouping key
  (``job`` first), e.g. ``{"job": "vllm-load-test", "namespace": "llm", "server": "llama"}``.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from typing import Any

__all__ = ["exposition", "main", "push", "summary"]

PREFIX = "vllm_load_test_"
EXIT_FAILED_REQUESTS = 3
EXIT_NO_RESULT = 4
EXIT_PUSH_FAILED = 5
_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def summary(result: dict[str, Any]) -> dict[str, float | int]:
    """The result's top-level numbers (counts, throughputs, latency statistics), in the benchmark's order."""
    out: dict[str, float | int] = {}
    for key, value in result.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not _NAME.fullmatch(key):
            continue
        if isinstance(value, float) and not math.isfinite(value):
            continue
        out[key] = value
    return out


def _label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _metric(key: str, value: float | int) -> tuple[str, float | int]:
    """Prometheus' base units, spelled out: the benchmark's milliseconds become seconds, per_s becomes per_second,
    its duration gets the unit."""
    if key.endswith("_ms"):
        return key[: -len("_ms")] + "_seconds", value / 1000
    if key.endswith("_per_s"):
        return key.removesuffix("_per_s") + "_per_second", value
    if key == "duration":
        return "duration_seconds", value
    return key, value


def exposition(numbers: dict[str, float | int], success: bool, finished_at: float) -> str:
    """The Prometheus text format of one run: each number as a gauge ``vllm_load_test_<key>`` (milliseconds as
    seconds), plus whether the run met its bar and when it finished."""
    lines: list[str] = []
    values: dict[str, float | int] = {"success": int(success), "last_run_timestamp_seconds": round(finished_at, 3), **numbers}
    for key, raw in values.items():
        metric, value = _metric(key, raw)
        name = PREFIX + metric
        lines.append(f"# HELP {name} vllm bench serve result '{key}' of the last load test run.")
        lines.append(f"# TYPE {name} gauge")
        lines.append(f"{name} {value!r}")
    return "\n".join(lines) + "\n"


def push(url: str, grouping: dict[str, str], body: str, timeout_s: float = 30.0) -> int:
    """PUT the metrics to the Pushgateway group (replacing the previous run's); returns the HTTP status."""
    path = "".join(f"/{urllib.parse.quote(k, safe='')}/{urllib.parse.quote(v, safe='')}" for k, v in grouping.items())
    request = urllib.request.Request(  # noqa: S310 - the URL is the user's Pushgateway (http or https, checked by the construct)
        url.rstrip("/") + "/metrics" + path,
        data=body.encode(),
        method="PUT",
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - the URL is the user's Pushgateway
        return int(response.status)


def _read_result(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as file:
            loaded = json.load(file)
    except (OSError, ValueError) as err:
        print(f"load-test: no result in {path}: {err}", file=sys.stderr, flush=True)
        return None
    return loaded if isinstance(loaded, dict) else None


def _verdict(code: int, result: dict[str, Any] | None, num_prompts: int, max_failed: int) -> tuple[int, str]:
    if code != 0:
        return code, f"the benchmark exited with {code}" + (" (timed out)" if code in (124, 137) else "")
    if result is None:
        return EXIT_NO_RESULT, "the benchmark wrote no result"
    completed, failed = result.get("completed"), result.get("failed", 0)
    if not isinstance(completed, int) or not isinstance(failed, int):
        return EXIT_NO_RESULT, f"the result has no request counts (completed={completed!r}, failed={failed!r})"
    if failed > max_failed or completed + failed < num_prompts:
        return EXIT_FAILED_REQUESTS, f"{completed} of {num_prompts} requests completed, {failed} failed (at most {max_failed} may fail)"
    return 0, f"{completed} of {num_prompts} requests completed, {failed} failed"


def main(argv: list[str]) -> int:
    if not argv:
        print("load-test: no command given", file=sys.stderr)
        return 2
    env = os.environ
    result_file = env["LOAD_TEST_RESULT_FILE"]
    num_prompts, max_failed = int(env["LOAD_TEST_NUM_PROMPTS"]), int(env.get("LOAD_TEST_MAX_FAILED", "0"))
    code = subprocess.call(argv)  # the command carries its own bound (timeout); the Job's deadline bounds this one
    result = _read_result(result_file) if code == 0 else None
    status, verdict = _verdict(code, result, num_prompts, max_failed)
    numbers = summary(result) if result is not None else {}
    # on a line of its own even when the benchmark's last output did not end one
    print("\nload-test result: " + json.dumps({"verdict": verdict, **numbers}, sort_keys=False), flush=True)
    url = env.get("PUSHGATEWAY_URL", "")
    if url:
        grouping = json.loads(env.get("PUSHGATEWAY_GROUPING", '{"job": "vllm-load-test"}'))
        try:
            answer = push(url, grouping, exposition(numbers, status == 0, time.time()))
            print(f"load-test: pushed {len(numbers) + 2} metrics to {url} (HTTP {answer})", flush=True)
        except (OSError, ValueError) as err:
            print(f"load-test: push to {url} failed: {err}", file=sys.stderr, flush=True)
            return status or EXIT_PUSH_FAILED
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
