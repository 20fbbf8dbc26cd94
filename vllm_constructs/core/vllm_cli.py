"""``vllm serve`` arguments read the way vLLM's own argument parser reads them, for the synth-time checks of
EngineArgs: the table-driven reader of :mod:`vllm_constructs.vllm_flags` (generated from the real parser of the vLLM
release it names), plus the secret check our manifests need."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from .. import vllm_flags
from .validation import Redacted, looks_like_secret

__all__ = ["ArgProblem", "ReadArgs", "ReadFlag", "read_serve_args", "table_version"]


@dataclass(frozen=True, slots=True)
class ReadFlag:
    """One option as vLLM reads it: its dest, the option string written, and its value (None for a switch)."""

    dest: str
    option: str
    value: str | None


@dataclass(frozen=True, slots=True)
class ArgProblem:
    token: object
    problem: str
    allowed: str
    fix: str


@dataclass(frozen=True, slots=True)
class ReadArgs:
    flags: tuple[ReadFlag, ...]
    problems: tuple[ArgProblem, ...]


def table_version() -> str:
    """The vLLM release the packaged parser table comes from."""
    return vllm_flags.load_table().vllm_version


def _wording(p: vllm_flags.FlagProblem) -> tuple[str, str]:
    """(problem, allowed) in ConfigError's form (the value is shown before the problem)."""
    kind, version = vllm_flags.Problem, table_version()
    words = {
        kind.UNKNOWN_FLAG: (
            f"is not a flag of vllm serve {version}",
            f"the flags of vllm serve {version} (a newer flag goes in unchecked_args)",
        ),
        kind.AMBIGUOUS_FLAG: ("is an abbreviation of several flags", "a full flag"),
        kind.MISSING_VALUE: ("takes a value, but none follows it", "the flag followed by its value"),
        kind.NOT_IN_CHOICES: (f"is refused by vLLM's parser: {p.message}", ", ".join(p.allowed) or "vLLM's choices"),
        kind.FLAG_AND_VALUE_IN_ONE_STRING: (
            "puts a flag and its value in one string, which vLLM's parser does not read as that flag",
            "one list item per flag and per value",
        ),
        kind.UNEXPECTED_VALUE: ("gives a value to a flag that takes none", "the flag alone"),
        kind.STRAY_ARGUMENT: ("is a value that no flag takes", "flags, each followed by its value"),
        kind.ABBREVIATED_FLAG: ("is an abbreviation vLLM accepts only until a new flag shares its prefix", "the full flag"),
    }
    return words.get(p.kind, (f"is refused by vLLM's parser: {p.message}", "what vllm serve accepts"))


@lru_cache(maxsize=4096)
def read_serve_args(tokens: Sequence[str], *, model_first: bool) -> ReadArgs:
    """Every flag read and every problem (secrets first, then what vLLM's parser would refuse or misread)."""
    items = tuple(tokens)
    problems = [
        ArgProblem(
            Redacted("str"),
            "holds a secret; it would be written into the manifests",
            "no secrets in extra_args",
            "pass secrets as SecretKeyRef props (api_key, hf_token)",
        )
        for token in items
        if looks_like_secret(token)
    ]
    if problems:
        return ReadArgs((), tuple(problems))
    read = vllm_flags.read_serve_args(list(items), model_first=model_first)
    for p in read.problems:
        problem, allowed = _wording(p)
        problems.append(ArgProblem(p.arg, problem, allowed, p.fix))
    flags = tuple(ReadFlag(u.dest, u.option, u.value if isinstance(u.value, str | None) else " ".join(u.value)) for u in read.uses)
    return ReadArgs(flags, tuple(problems))
