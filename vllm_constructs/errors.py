"""The one error type that vllm-constructs raises for bad input."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ConfigError", "Problem"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input: where, what was given, what is allowed and how to fix it."""

    path: str
    """Construct path (or the value class, values file or CLI argument) the input belongs to."""
    field: str
    """The field inside it, e.g. ``engine.max_model_len`` or, for values files, the user's own key."""
    value: object
    """The value received (a redacted stand-in when it may be a secret)."""
    problem: str
    allowed: str
    fix: str

    def __str__(self) -> str:
        return f"{self.path}: {self.field}={self.value!r} {self.problem}. Allowed: {self.allowed}. Fix: {self.fix}."


class ConfigError(ValueError):
    """Bad input to a construct, a value class, a values file or the command line, raised before anything is added
    to the tree or written.

    The message always has the same shape so that people and tools can read it::

        <construct path>: <field>=<value> <problem>. Allowed: <allowed>. Fix: <fix>.

    When one input has several problems, each further one follows on its own line. The first problem's parts are
    also attributes (``path``, ``field``, ``value``, ``problem``, ``allowed``, ``fix``); ``problems`` holds them all.
    """

    def __init__(
        self,
        *,
        path: str,
        field: str,
        value: object,
        problem: str,
        allowed: str,
        fix: str,
        more: Sequence[Problem] = (),
    ) -> None:
        first = Problem(path, field, value, problem, allowed, fix)
        self.problems: tuple[Problem, ...] = (first, *more)
        self.path = path
        self.field = field
        self.value = value
        self.problem = problem
        self.allowed = allowed
        self.fix = fix
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def of(cls, problems: Sequence[Problem]) -> ConfigError:
        """One error for several problems (at least one)."""
        first, *rest = problems
        return cls(
            path=first.path,
            field=first.field,
            value=first.value,
            problem=first.problem,
            allowed=first.allowed,
            fix=first.fix,
            more=rest,
        )

    def at(self, path: str, prefix: str = "") -> ConfigError:
        """The same problems re-rooted at ``path`` with ``prefix`` before each field (for nested inputs)."""
        moved = [Problem(path, f"{prefix}{p.field}" if prefix else p.field, p.value, p.problem, p.allowed, p.fix) for p in self.problems]
        return ConfigError.of(moved)
