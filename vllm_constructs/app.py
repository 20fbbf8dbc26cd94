"""Entry point for an app's ``cdk8s synth`` command: build, lint, check and write, with one error path."""

from __future__ import annotations

import sys
from collections.abc import Callable

import cdk8s

from ._adapter import synth
from .errors import ConfigError
from .lint import LintPolicy, report

__all__ = ["synth_main"]


def synth_main(build: Callable[[], cdk8s.App], policy: LintPolicy | None = None) -> int:
    """Build the app, print lint warnings, and write it; bad input prints ``error: ...`` (no traceback) and returns 2,
    lint errors return 1. Nothing is written unless everything is sound."""
    try:
        app = build()
        report(app, policy or LintPolicy())
        synth(app)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except SystemExit as stop:  # report() exits 1 on lint errors, before anything is written
        return int(stop.code or 0)
    return 0
