"""The `vllm-constructs` command: `template` renders a Helm-chart release like `helm template`; `migrate` writes
an apps/ module that builds the same release in code."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .errors import ConfigError
from .plan_cli import add_plan_parser, run_plan


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vllm-constructs", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("template", "print the manifests of a chart release (multi-document YAML), like `helm template`"),
        ("migrate", "write a Python apps/ module that builds the same release with vllm-constructs"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("release", help="release name, as given to helm")
        p.add_argument("-f", "--values", action="append", default=[], metavar="FILE", help="a values file (repeatable, later wins)")
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a value (typed like helm --set)")
        p.add_argument("--set-string", action="append", default=[], metavar="KEY=VALUE", help="override a value, always as a string")
        p.add_argument("-n", "--namespace", default="default", help="namespace of the release (default: default)")
        if name == "template":
            p.add_argument("--output-dir", metavar="DIR", help="write <release>.k8s.yaml into DIR instead of printing")
        else:
            p.add_argument("-o", "--output", metavar="FILE", help="write the module to FILE instead of printing")
    sub.add_parser("diff", add_help=False, help="what applying new manifests over old ones does (vllm-constructs diff --help)")
    add_plan_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["diff"]:  # pure Python (vllm_constructs.gitops_diff): dispatched before anything starts jsii
        from .gitops_diff import main as diff  # noqa: PLC0415

        return diff(argv[1:])
    args = _parser().parse_args(argv)
    if args.command == "plan":  # the pure capacity plan: never starts Node for the ad hoc form
        return run_plan(args)
    from .helm import load_values, migrate_source, render_template  # noqa: PLC0415 - starts the jsii runtime

    try:
        values = load_values(args.values, args.set, args.set_string)
        if args.command == "template":
            text = render_template(args.release, values, namespace=args.namespace)
            target = Path(args.output_dir) / f"{args.release}.k8s.yaml" if args.output_dir else None
        else:
            text = migrate_source(args.release, values, namespace=args.namespace)
            target = Path(args.output) if args.output else None
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if target is None:
        sys.stdout.write(text)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
