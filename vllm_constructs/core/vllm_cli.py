"""Reading ``vllm serve`` arguments the way vLLM's argument parser reads them (interim, table-free version)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from .validation import looks_like_secret

__all__ = ["ArgProblem", "ReadArgs", "ReadFlag", "read_serve_args"]

_SHORT = {"-tp": "tensor_parallel_size", "-pp": "pipeline_parallel_size", "-dp": "data_parallel_size", "-q": "quantization"}


@dataclass(frozen=True, slots=True)
class ReadFlag:
    """One option as vLLM reads it: its dest, the option string used, and its value (None for a switch)."""

    dest: str
    option: str
    value: str | None


@dataclass(frozen=True, slots=True)
class ArgProblem:
    token: str
    problem: str
    allowed: str
    fix: str


@dataclass(frozen=True, slots=True)
class ReadArgs:
    flags: tuple[ReadFlag, ...]
    problems: tuple[ArgProblem, ...]


def _dest(option: str) -> str:
    if option in _SHORT:
        return _SHORT[option]
    name = option.lstrip("-").replace("-", "_")
    return name.removeprefix("no_") if option.startswith("--no-") or option.startswith("--no_") else name


@lru_cache(maxsize=1024)
def read_serve_args(tokens: Sequence[str]) -> ReadArgs:
    flags: list[ReadFlag] = []
    problems: list[ArgProblem] = []
    i = 0
    items = tuple(tokens)
    while i < len(items):
        token = items[i]
        if looks_like_secret(token):
            problems.append(
                ArgProblem(
                    "<redacted>",
                    "holds a secret; it would be written into the manifests",
                    "no secrets in extra_args",
                    "pass secrets as SecretKeyRef props (api_key, hf_token)",
                )
            )
            i += 1
            continue
        if token.startswith("-") and " " in token:
            problems.append(
                ArgProblem(
                    token,
                    "puts a flag and its value in one string, which vLLM's parser reads as a positional argument",
                    "one list item per flag and per value",
                    f"write {tuple(token.split(None, 1))!r}",
                )
            )
            i += 1
            continue
        if not token.startswith("-"):
            problems.append(ArgProblem(token, "is a value without a flag", "flags, each followed by its value", "put the flag before it"))
            i += 1
            continue
        option, sep, inline = token.partition("=")
        if sep:
            flags.append(ReadFlag(_dest(option), option, inline))
            i += 1
        elif i + 1 < len(items) and not items[i + 1].startswith("-") and not looks_like_secret(items[i + 1]):
            flags.append(ReadFlag(_dest(option), option, items[i + 1]))
            i += 2
        else:
            flags.append(ReadFlag(_dest(option), option, None))
            i += 1
    return ReadArgs(tuple(flags), tuple(problems))
