"""vllm_constructs.vllm_flags: vLLM's `vllm serve` parser as data, and a reader of argv lists built on it.

Without vLLM: the packaged table, the reader on worked examples, every app's rendered `vllm serve` arguments, the
module's purity. With the real CPU build of vLLM (marker `vllm`): the table is exactly what the installed parser
yields (drift fails), and hypothesis-generated argv lists of real flags are read by our reader to the same dests,
option strings and values as by vLLM's own parser, which runs in one .venv-vllm process for the whole test.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cdk8s
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from apps.main import build_app
from tests.conftest import ROOT, chart_objects
from tests.real_vllm import require_vllm, stop_group
from vllm_constructs import ConfigError
from vllm_constructs.vllm_flags import FlagSpec, FlagUse, Problem, ReadArgs, load_table, read_serve_args

TABLE = load_table()
SCRIPT = ROOT / "scripts" / "vllm-serve-flags.py"
PACKAGED = ROOT / "vllm_constructs" / "data" / "vllm_serve_flags.json"


def kinds(read: ReadArgs) -> list[tuple[Problem, int]]:
    return [(p.kind, p.index) for p in read.problems]


# --- the table ---------------------------------------------------------------------------------------------


def test_table_comes_from_vllm_0_32_and_knows_the_flags_we_render() -> None:
    assert TABLE.vllm_version == "0.32.0"
    for flag in ("--served-model-name", "--host", "--port", "--max-model-len", "--dtype", "--tensor-parallel-size", "-tp", "-pp"):
        assert flag in TABLE.options, flag
    assert TABLE.options["-tp"] is TABLE.options["--tensor-parallel-size"]
    prefix = TABLE.options["--enable-prefix-caching"]
    assert prefix.kind == "boolean_optional" and prefix.negations == {"--no-enable-prefix-caching"} and not prefix.takes_value
    assert TABLE.options["--dtype"].choices == ("auto", "bfloat16", "float", "float16", "float32", "half")
    assert TABLE.options["--served-model-name"].nargs == "+"


def test_module_is_pure() -> None:
    """Standard library only (plus the pure errors module): importable where cdk8s and jsii are not."""
    for name in ("vllm_flags.py", "errors.py"):
        tree = ast.parse((ROOT / "vllm_constructs" / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {"." + (node.module or "")} if node.level else {(node.module or "").split(".")[0]}
            else:
                continue
            assert roots <= set(sys.stdlib_module_names) | {"__future__", ".errors"}, (name, roots)


# --- the reader on worked examples -------------------------------------------------------------------------


def test_reads_the_forms_argparse_reads() -> None:
    argv = ["/models/m", "--max_model_len", "4096", "-tp=2", "--no-enable-prefix-caching", "--dtype=half"]
    argv += ["--served-model-name", "a", "b", "-qfp8", "-O3", "--max-num-seqs", "-1"]
    read = read_serve_args(argv, model_first=True)
    assert read.problems == ()
    assert list(read.uses) == [
        FlagUse("model_tag", "", "/models/m"),
        FlagUse("max_model_len", "--max_model_len", "4096"),
        FlagUse("tensor_parallel_size", "-tp", "2"),
        FlagUse("enable_prefix_caching", "--no-enable-prefix-caching", None),
        FlagUse("dtype", "--dtype", "half"),
        FlagUse("served_model_name", "--served-model-name", ("a", "b")),
        FlagUse("quantization", "-q", "fp8"),
        FlagUse("optimization_level", "-O", "3"),
        FlagUse("max_num_seqs", "--max-num-seqs", "-1"),  # a negative number is a value, not a flag
    ]


def test_flag_and_value_in_one_string() -> None:
    read = read_serve_args(["m", "--max-model-len 4096"], model_first=True)
    (problem,) = read.problems
    assert (problem.kind, problem.index, problem.suggestion) == (Problem.FLAG_AND_VALUE_IN_ONE_STRING, 1, "--max-model-len")
    assert problem.fix == "split it into two list items: '--max-model-len', '4096'"
    assert [u.dest for u in read.uses] == ["model_tag"]


def test_unknown_flag_names_the_nearest_known_one() -> None:
    read = read_serve_args(["m", "--max-modle-len", "4096", "--gpu_memory_utilisation=0.9"], model_first=True)
    assert kinds(read) == [(Problem.UNKNOWN_FLAG, 1), (Problem.UNKNOWN_FLAG, 3)]
    assert [p.suggestion for p in read.problems] == ["--max-model-len", "--gpu-memory-utilization"]
    assert "0.32.0" in read.problems[0].message


def test_missing_value_unexpected_value_and_choices() -> None:
    argv = ["m", "--port", "--host", "0.0.0.0", "--enforce-eager=true", "--dtype", "fp7", "--served-model-name"]
    read = read_serve_args(argv, model_first=True)
    assert kinds(read) == [
        (Problem.MISSING_VALUE, 1),
        (Problem.UNEXPECTED_VALUE, 4),
        (Problem.NOT_IN_CHOICES, 5),
        (Problem.MISSING_VALUE, 7),
    ]
    assert read.problems[2].allowed == TABLE.options["--dtype"].choices
    assert read.values("host") == ["0.0.0.0"]


def test_choices_are_normalized_as_the_parser_normalizes_them() -> None:
    assert read_serve_args(["m", "--moe-backend", "DEEP-GEMM", "--max-lora-rank", "016"], model_first=True).problems == ()
    assert kinds(read_serve_args(["m", "--max-lora-rank", "17"], model_first=True)) == [(Problem.NOT_IN_CHOICES, 1)]


def test_abbreviations_are_read_but_reported() -> None:
    read = read_serve_args(["m", "--max-model", "5"], model_first=True)
    assert read.values("max_model_len") == ["5"]
    (problem,) = read.problems
    assert problem.kind is Problem.ABBREVIATED_FLAG and problem.accepted_by_vllm and problem.suggestion == "--max-model-len"
    assert read.errors == ()
    assert kinds(read_serve_args(["m", "-d", "1"], model_first=True)) == [(Problem.AMBIGUOUS_FLAG, 1)]


def test_stray_words_and_the_model_position() -> None:
    assert kinds(read_serve_args(["m", "--enforce-eager", "extra"], model_first=True)) == [(Problem.STRAY_ARGUMENT, 2)]
    assert kinds(read_serve_args(["--block-size", "32", "m"], model_first=False)) == [(Problem.STRAY_ARGUMENT, 2)]
    assert kinds(read_serve_args(["--served-model-name", "x", "m"], model_first=True)) == [(Problem.MODEL_NOT_FIRST, 0)]
    moved = read_serve_args(["--model=/m", "--port", "1"], model_first=True)
    assert moved.uses[0] == FlagUse("model_tag", "--model", "/m") and moved.problems == ()


def test_dotted_json_keys() -> None:
    read = read_serve_args(["m", "--compilation-config.mode", "3", "-cc.level=2", "--port", "1"], model_first=True)
    assert read.problems == ()
    assert [u.dest for u in read.uses] == ["model_tag", "port", "compilation_config", "compilation_config"]


def test_bad_input_is_a_config_error() -> None:
    for bad in ("--port 1", ["--port", 1], None):
        with pytest.raises(ConfigError, match="argv="):
            read_serve_args(bad, model_first=True)  # type: ignore[arg-type]


def test_every_app_renders_arguments_vllm_reads() -> None:
    app = build_app(outdir="unused")
    checked = 0
    for chart in app.node.children:
        if not isinstance(chart, cdk8s.Chart):
            continue
        for obj in chart_objects(chart):
            if obj["kind"] != "Deployment":
                continue
            for container in obj["spec"]["template"]["spec"]["containers"]:
                if container.get("command") == ["vllm", "serve"]:
                    read = read_serve_args(container["args"], model_first=True)
                    assert read.problems == (), (chart.node.id, read.problems)
                    checked += 1
    assert checked >= 4


# --- against the real parser (vLLM's CPU build) ------------------------------------------------------------


class RealParser:
    """vLLM's own parser in one .venv-vllm process (scripts/vllm-serve-flags.py --serve), one argv per line."""

    def __init__(self, python: Path, log: Path) -> None:
        self.log = log
        with log.open("wb") as err:
            self.process = subprocess.Popen(
                [str(python), str(SCRIPT), "--serve"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                start_new_session=True,
                env={"PATH": "/usr/bin:/bin", "HOME": str(log.parent), "VLLM_NO_USAGE_STATS": "1"},
            )
        self.buffer = b""
        self.ready = self.answer(timeout_s=180)

    def answer(self, timeout_s: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            assert left > 0, f"vLLM's parser did not answer within {timeout_s} s:\n{self.log.read_text()[-2000:]}"
            if select.select([self.process.stdout], [], [], left)[0]:
                chunk = os.read(self.process.stdout.fileno(), 1 << 16)
                assert chunk, f"vLLM's parser exited:\n{self.log.read_text()[-2000:]}"
                self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return dict(json.loads(line))

    def read(self, argv: list[str]) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(argv) + "\n").encode())
        self.process.stdin.flush()
        return self.answer(timeout_s=60)

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=15)
        _, left = stop_group(self.process, grace_s=5)
        assert not left, f"parser processes outlived SIGKILL: {left}"


@pytest.fixture(scope="module")
def real_parser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealParser]:
    parser = RealParser(require_vllm(), tmp_path_factory.mktemp("parser") / "stderr.log")
    assert parser.ready["ready"] is True
    yield parser
    parser.close()


@pytest.mark.vllm
def test_table_matches_the_installed_vllm(real_parser: RealParser) -> None:
    """The packaged table is what scripts/vllm-serve-flags.py writes from the installed vLLM (same function)."""
    assert real_parser.ready["vllm_version"] == TABLE.vllm_version
    assert real_parser.ready["table"] == PACKAGED.read_text(), "the table drifted from the installed vLLM: run scripts/vllm-serve-flags.py"


# Flags the property draws from: all but those whose action does more than store (help exits, --config reads a
# file, --model is moved by vLLM before argparse sees it, custom actions parse their values).
SPECS: list[FlagSpec] = sorted(
    {
        id(s): s
        for s in TABLE.options.values()
        if s.kind in ("store", "store_true", "store_false", "boolean_optional", "append") and s.dest not in ("config", "model")
    }.values(),
    key=lambda s: s.option_strings[0],
)
WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789/:", min_size=1, max_size=8)
VALUE = st.one_of(WORD, st.integers(-99, -1).map(str))  # negative numbers are values to argparse


@st.composite
def option_form(draw: st.DrawFn, spec: FlagSpec) -> str:
    longs = [o for o in spec.option_strings if o.startswith("--") and o not in spec.negations]
    forms = [*longs, *(o for o in spec.option_strings if not o.startswith("--")), *sorted(spec.negations)]
    option = draw(st.sampled_from(forms))
    if option.startswith("--") and draw(st.booleans()):  # vLLM accepts underscores for dashes
        option = "--" + "".join("_" if c == "-" and draw(st.booleans()) else c for c in option[2:])
    return option


@st.composite
def value_for(draw: st.DrawFn, spec: FlagSpec) -> str:
    if spec.choices is not None and draw(st.integers(0, 9)) > 0:
        return draw(st.sampled_from(spec.choices))
    return draw(VALUE if spec.choices is None else WORD.map(lambda w: "zz" + w))  # 'zz...' is never a choice


@st.composite
def flag_items(draw: st.DrawFn) -> list[str]:
    """One flag as argv items: every form vLLM's parser reads, and now and then a mistake it refuses."""
    fault = draw(st.integers(0, 19))
    if fault == 0:
        return ["--zz-" + draw(WORD)]  # unknown
    if fault == 1:  # vLLM's own -O forms
        level = draw(st.sampled_from(["0", "1", "2", "3"]))
        return draw(st.sampled_from([[f"-O{level}"], [f"-O={level}"], ["-O", level]]))
    spec = draw(st.sampled_from(SPECS))
    option = draw(option_form(spec))
    if not spec.takes_value or option.removeprefix("--").replace("_", "-") in {n[2:] for n in spec.negations}:
        return [f"{option}={draw(WORD)}"] if fault == 2 else [option]  # '=value' on a flag without value: refused
    if fault == 3 or (spec.nargs == "?" and draw(st.booleans())):
        return [option]  # no value: missing (or the const of nargs '?')
    if draw(st.booleans()):
        return [f"{option}={draw(value_for(spec))}"]
    if len(option) == 2 and draw(st.booleans()):  # one-letter short flag: -qVALUE
        return [option + draw(WORD)]
    count = draw(st.integers(1, 3)) if spec.many else 1
    return [option, *(draw(value_for(spec)) for _ in range(count))]


def canonical(use: FlagUse) -> dict[str, Any]:
    option = use.option
    if option == "-O":
        option = "--optimization-level"
    elif option.startswith("--"):
        option = "--" + option[2:].replace("_", "-")
    value = use.value
    tokens = [] if value is None else list(value) if isinstance(value, tuple) else [value]
    return {"dest": use.dest, "option": option, "tokens": tokens}


PROPERTY = settings(
    max_examples=int(os.environ.get("PROPERTY_EXAMPLES_VLLM_FLAGS", "400")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.vllm
@PROPERTY
@given(flags=st.lists(flag_items(), max_size=6))
def test_reader_reads_what_vllms_parser_reads(real_parser: RealParser, flags: list[list[str]]) -> None:
    argv = ["/models/m", *(item for flag in flags for item in flag)]
    real = real_parser.read(argv)
    ours = read_serve_args(argv, model_first=True)
    event(f"vLLM's parser {'accepts' if real['ok'] else 'refuses'} the list")
    assert (ours.errors == ()) == real["ok"], (argv, real.get("error"), ours.errors)
    if real["ok"]:
        assert [canonical(u) for u in ours.uses] == real["uses"], argv


@pytest.mark.vllm
@PROPERTY
@given(data=st.data())
def test_a_flag_and_its_value_in_one_string_never_does_what_was_meant(real_parser: RealParser, data: st.DataObject) -> None:
    spec = data.draw(st.sampled_from([s for s in SPECS if s.takes_value and s.nargs is None]))
    option = data.draw(st.sampled_from(spec.option_strings))
    value = data.draw(value_for(spec))
    argv = ["/models/m", f"{option} {value}"]
    real = real_parser.read(argv)
    ours = read_serve_args(argv, model_first=True)
    assert [p.kind for p in ours.problems] == [Problem.FLAG_AND_VALUE_IN_ONE_STRING], argv
    meant = {"dest": spec.dest, "option": option, "tokens": [value]}
    assert not real["ok"] or meant not in real["uses"], (argv, real)
