"""The `vllm-constructs` command: `template` renders a release of vLLM's example Helm chart like `helm template`;
`migrate` writes an apps/ module that builds the same release in code; `diff` tells what applying new manifests over
old ones does; `plan` prints GPU memory plans. None of them starts Node (`plan` of an app module builds the app).

Bad input (a values file, a --set expression, an argument, an output path) prints `error: <where>: ...` on stderr and
exits 2; nothing is written. Notices (Secrets to create, downloads at start) go to stderr, never into the output.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from .errors import ConfigError

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 70


class UsageError(Exception):
    """A command line argparse refuses (missing release, unknown option, ...)."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(f"command line: {prog}: {message}. Run {prog} --help")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line in the CLI's error format instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(self.prog, message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vllm-constructs", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, help_text in (
        ("template", "print the manifests of a chart release (multi-document YAML), like `helm template`"),
        ("migrate", "write a Python apps/ module that builds the same release with vllm-constructs"),
    ):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("release", help="release name, as given to helm")
        p.add_argument("-f", "--values", action="append", default=[], metavar="FILE", help="a values file (repeatable, later wins)")
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override values, typed like helm --set")
        p.add_argument("--set-string", action="append", default=[], metavar="KEY=VALUE", help="override values, always as strings")
        p.add_argument("-n", "--namespace", default="default", help="namespace of the release (default: default)")
        if name == "template":
            p.add_argument("--output-dir", metavar="DIR", help="write <release>.k8s.yaml into DIR instead of printing")
        else:
            p.add_argument("-o", "--output", metavar="FILE", help="write the module to FILE instead of printing")
            p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    # listed for --help; each is dispatched to its own parser before this one (see main)
    sub.add_parser("diff", add_help=False, help="what applying new manifests over old ones does (vllm-constructs diff --help)")
    sub.add_parser("plan", add_help=False, help="GPU memory plan of an app's servers or of one model (vllm-constructs plan --help)")
    return parser


def _dispatch(argv: list[str]) -> int | None:
    """`diff` and `plan` have their own parsers (and error format); pure Python, dispatched before anything else."""
    if argv[:1] == ["diff"]:
        from .gitops_diff import main as diff  # noqa: PLC0415

        return diff(argv[1:])
    if argv[:1] == ["plan"]:
        from .plan_cli import add_plan_parser, run_plan  # noqa: PLC0415

        parser = argparse.ArgumentParser(prog="vllm-constructs")
        add_plan_parser(parser.add_subparsers(dest="command", required=True))
        return run_plan(parser.parse_args(argv))
    return None


def _target(args: argparse.Namespace) -> Path | None:
    """The file to write, checked before anything is rendered."""
    if args.command == "template":
        if not args.output_dir:
            return None
        folder = Path(args.output_dir)
        if folder.exists() and not folder.is_dir():
            raise ConfigError(
                path="--output-dir",
                field="--output-dir",
                value=args.output_dir,
                problem="is a file, not a folder",
                allowed="a folder (created if missing)",
                fix="name a folder",
            )
        target = folder / f"{args.release}.k8s.yaml"
        if target.is_dir():
            raise ConfigError(
                path="--output-dir",
                field=str(target),
                value=str(target),
                problem="is a folder",
                allowed="a file path",
                fix="remove or rename that folder",
            )
        return target
    if not args.output:
        return None
    target = Path(args.output)
    if target.is_dir():
        raise ConfigError(
            path="--output",
            field="--output",
            value=args.output,
            problem="is a folder",
            allowed="a file path such as apps/demo.py",
            fix="name a file",
        )
    if target.exists() and not args.force:
        raise ConfigError(
            path="--output",
            field="--output",
            value=args.output,
            problem="exists already",
            allowed="a new file, or --force to overwrite it",
            fix="pass --force or choose another path",
        )
    return target


def _write(target: Path, text: str, flag: str) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            path=flag,
            field=flag,
            value=str(target),
            problem=f"cannot be written ({exc.strerror or type(exc).__name__})",
            allowed="a writable path",
            fix="check the path and its permissions",
        ) from None


def _run(args: argparse.Namespace) -> tuple[str, list[str]]:
    from .chart import load_values, plan_release, render  # noqa: PLC0415 - pure; loaded only after the arguments parse
    from .chart.migrate import migrate_source  # noqa: PLC0415
    from .chart.plan import check_release  # noqa: PLC0415

    check_release(args.release, args.namespace)
    plan = plan_release(args.release, args.namespace, load_values(args.values, args.set, args.set_string))
    rendered = render(plan)
    if args.command == "template":
        return rendered.text, rendered.notices
    return migrate_source(plan), rendered.notices


def _report(err: ConfigError) -> int:
    for problem in err.problems:
        print(f"error: {problem}", file=sys.stderr)
    return EXIT_BAD_INPUT


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # `plan APP` builds the app with jsii
    argv = list(sys.argv[1:] if argv is None else argv)
    dispatched = _dispatch(argv)
    if dispatched is not None:
        return dispatched
    try:
        args = _parser().parse_args(argv)
        target = _target(args)
        text, notices = _run(args)
        if target is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            _write(target, text, "--output-dir" if args.command == "template" else "--output")
    except ConfigError as err:
        return _report(err)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        return 0
    except Exception as exc:
        print(f"error: internal error ({type(exc).__name__}: {exc}); please report it with the command line", file=sys.stderr)
        return EXIT_INTERNAL
    for notice in notices:
        print(notice, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
