"""Entry point for an app's ``cdk8s synth`` command: build, lint, check and write, with one error path."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import cdk8s

from ._adapter import check_app, synth
from .errors import ConfigError
from .lint import LintPolicy, report

__all__ = ["lint_and_synth", "lint_and_synth_all", "run_main"]


def lint_and_synth(app: cdk8s.App, policy: LintPolicy | None = None) -> None:
    """Print lint warnings; stop on lint errors (SystemExit 1) or bad objects (ConfigError) before writing; write."""
    report(app, policy or LintPolicy())
    synth(app)


def lint_and_synth_all(apps: Sequence[tuple[str, cdk8s.App]], policy: LintPolicy | None = None) -> None:
    """Several Apps written by one entry point (e.g. one per environment and cluster), labelled for the lint output:
    every App is linted and checked for collisions before any is written, so bad input, a lint error or a collision in
    one leaves every output folder as it was."""
    for label, app in apps:
        report(app, policy or LintPolicy(), label=label)
    for _, app in apps:
        check_app(app)
    for _, app in apps:
        synth(app)


def run_main(main: Callable[[], None]) -> int:
    """Run an app's main: bad input prints ``error: ...`` (no traceback) and returns 2; lint errors return 1."""
    try:
        main()
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except SystemExit as stop:  # report() exits 1 on lint errors, before anything is written
        return int(stop.code or 0)
    return 0
