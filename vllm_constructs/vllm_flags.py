"""Read a ``vllm serve`` argument list the way vLLM's own argument parser reads it, without vLLM installed.

The parser's options come from a table generated from the real parser (``data/vllm_serve_flags.json``, written
by ``scripts/vllm-serve-flags.py`` from the vLLM release named in the table). :func:`read_serve_args` follows
what ``vllm serve`` does with its argv: vLLM's own rewriting first (underscores in long flags become dashes,
``-O3`` becomes ``--optimization-level 3``, ``--model X`` moves to the front, dotted JSON keys such as
``--compilation-config.mode 3``), then Python's argparse rules (``--flag value``, ``--flag=value``, short flags,
``-qVALUE`` for one-letter short flags, ``--no-`` negations, values that look like negative numbers, unique
prefixes of long flags). It returns what each flag read and every problem found, instead of stopping at the
first one as argparse does.

Pure: standard library only (no cdk8s, no jsii), so synth-time checks and tools can use it anywhere.
"""

from __future__ import annotations

import difflib
import enum
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, NamedTuple

from .errors import ConfigError

__all__ = ["FlagProblem", "FlagSpec", "FlagTable", "FlagUse", "Problem", "ReadArgs", "load_table", "read_serve_args"]

TABLE_RESOURCE = "data/vllm_serve_flags.json"
MODEL_DEST = "model_tag"
"""dest of the positional model of ``vllm serve``."""

_NEGATIVE_NUMBER = re.compile(r"^-\d+$|^-\d*\.\d+$")  # argparse's pattern: such strings are values
_MODEL_FLAG = re.compile(r"^--model(=.+|$)")  # vLLM's pattern for the --model it moves to the front
_SERVED_NAME_FLAG = re.compile(r"^--served[-_]model[-_]name(=.+|$)")
_OPTIMIZATION_LEVEL = "--optimization-level"


@dataclass(frozen=True, slots=True)
class FlagSpec:
    """One option of the parser."""

    dest: str
    option_strings: tuple[str, ...]
    nargs: int | str | None
    """argparse's nargs: None (exactly one value), 0 (none), '?', '+' or '*'."""
    kind: str
    """store, store_true, boolean_optional, append, help, custom, ..."""
    negations: frozenset[str] = frozenset()
    choices: tuple[str, ...] | None = None
    normalize: str | None = None
    """How the parser normalizes a value before the choices check ('lower_dashes_to_underscores') or None."""
    takes_json: bool = False

    @property
    def takes_value(self) -> bool:
        return self.nargs != 0

    @property
    def many(self) -> bool:
        return self.nargs in ("+", "*")


@dataclass(frozen=True, slots=True)
class FlagTable:
    """The options of one vLLM release's ``vllm serve`` parser, by option string."""

    vllm_version: str
    options: Mapping[str, FlagSpec]
    allow_abbrev: bool = True

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FlagTable:
        options: dict[str, FlagSpec] = {}
        for entry in data["options"]:
            choices = entry.get("choices")
            spec = FlagSpec(
                dest=entry["dest"],
                option_strings=tuple(entry["option_strings"]),
                nargs=entry["nargs"],
                kind=entry["kind"],
                negations=frozenset(entry.get("negations", ())),
                choices=tuple(choices["values"]) if choices else None,
                normalize=choices.get("normalize") if choices else None,
                takes_json=bool(entry.get("json")),
            )
            options.update(dict.fromkeys(spec.option_strings, spec))
        return cls(vllm_version=data["vllm_version"], options=options, allow_abbrev=bool(data.get("allow_abbrev", True)))

    @property
    def long_options(self) -> list[str]:
        return sorted(o for o in self.options if o.startswith("--"))

    def nearest(self, option: str) -> str | None:
        """The known long flag closest to ``option`` (difflib), if any is close."""
        close = difflib.get_close_matches(option, self.long_options, n=1, cutoff=0.6)
        return close[0] if close else None


@cache
def load_table() -> FlagTable:
    """The packaged table (the vLLM release it came from is ``load_table().vllm_version``)."""
    text = resources.files("vllm_constructs").joinpath(TABLE_RESOURCE).read_text(encoding="utf-8")
    return FlagTable.from_json(json.loads(text))


class FlagUse(NamedTuple):
    """What one flag (or the positional model) read."""

    dest: str
    option: str
    """The option as written (without any '=value'); '' for the positional model ('--model' if given so)."""
    value: str | tuple[str, ...] | None
    """The value read: a string, a tuple for flags taking several values (nargs '+'/'*'), None for none."""


class Problem(enum.StrEnum):
    UNKNOWN_FLAG = "unknown_flag"
    AMBIGUOUS_FLAG = "ambiguous_flag"
    MISSING_VALUE = "missing_value"
    NOT_IN_CHOICES = "not_in_choices"
    FLAG_AND_VALUE_IN_ONE_STRING = "flag_and_value_in_one_string"
    UNEXPECTED_VALUE = "unexpected_value"
    STRAY_ARGUMENT = "stray_argument"
    MODEL_NOT_FIRST = "model_not_first"
    ABBREVIATED_FLAG = "abbreviated_flag"


@dataclass(frozen=True, slots=True)
class FlagProblem:
    kind: Problem
    index: int
    """Position in the argv given (of the flag the problem is about)."""
    arg: str
    """That item of argv, as given."""
    message: str
    fix: str
    suggestion: str | None = None
    """The flag probably meant (nearest known flag, or the full flag of an abbreviation)."""
    allowed: tuple[str, ...] = ()
    accepted_by_vllm: bool = False
    """True when vLLM itself accepts this (an abbreviated flag): a hazard, not an error."""


@dataclass(frozen=True, slots=True)
class ReadArgs:
    uses: tuple[FlagUse, ...]
    problems: tuple[FlagProblem, ...]

    @property
    def errors(self) -> tuple[FlagProblem, ...]:
        """Problems that make vLLM refuse the arguments (or read them otherwise than written)."""
        return tuple(p for p in self.problems if not p.accepted_by_vllm)

    def values(self, dest: str) -> list[str | tuple[str, ...] | None]:
        return [u.value for u in self.uses if u.dest == dest]


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    """After vLLM's own rewriting (underscores to dashes, -O)."""
    index: int
    written: str


@dataclass(frozen=True, slots=True)
class _Match:
    spec: FlagSpec | None
    option: str
    explicit: str | None = None
    abbreviated_to: str | None = None
    ambiguous: tuple[str, ...] = ()


def read_serve_args(argv: Sequence[str], *, model_first: bool, table: FlagTable | None = None) -> ReadArgs:
    """Read ``argv`` (the items after ``vllm serve``) as vLLM's parser does.

    ``model_first``: argv starts with the positional model (a rendered ``vllm serve`` command); False for flags
    alone (e.g. ``EngineArgs.extra_args``), where any bare word is a stray argument.
    """
    if isinstance(argv, str) or not isinstance(argv, Sequence) or not all(isinstance(a, str) for a in argv):
        raise ConfigError(
            path="vllm_flags",
            field="argv",
            value=argv,
            problem="is not a list of strings",
            allowed="a list of strings, one argv item each",
            fix="pass e.g. ['--max-model-len', '4096']",
        )
    return _Reader(table or load_table(), model_first).read(list(argv))


@dataclass
class _Reader:
    table: FlagTable
    model_first: bool
    uses: list[FlagUse] = field(default_factory=list)
    dotted_uses: list[FlagUse] = field(default_factory=list)
    problems: list[FlagProblem] = field(default_factory=list)
    model_free: bool = True

    def problem(self, kind: Problem, token: _Token, message: str, fix: str, **more: Any) -> None:
        self.problems.append(FlagProblem(kind, token.index, token.written, message, fix, **more))

    def read(self, argv: list[str]) -> ReadArgs:
        self.model_free = self.model_first
        tokens = self.rewrite(argv)
        i = 0
        while i < len(tokens):
            if tokens[i].text == "--":  # argparse: everything after '--' is positional
                for rest in tokens[i + 1 :]:
                    self.positional(rest)
                break
            match = self.classify(tokens[i].text)
            if match is None:
                self.positional(tokens[i])
                i += 1
            else:
                i = self.optional(tokens, i, match)
        # vLLM appends the dotted JSON flags after everything else.
        uses = (*self.uses, *self.dotted_uses)
        return ReadArgs(uses, tuple(sorted(self.problems, key=lambda p: p.index)))

    def rewrite(self, argv: list[str]) -> list[_Token]:
        """vLLM's FlexibleArgumentParser.parse_args rewriting, before argparse sees the list."""
        tokens = [_Token(a, i, a) for i, a in enumerate(argv)]
        moved = next((i for i, a in enumerate(argv) if _MODEL_FLAG.match(a)), None)
        if self.model_first and moved is not None:  # `vllm serve ... --model X` becomes `vllm serve X ...`
            flag = tokens[moved]
            taken = tokens[moved : moved + 1] if "=" in flag.text else tokens[moved : moved + 2]
            model = flag.text.removeprefix("--model=") if "=" in flag.text else (taken[1].text if len(taken) > 1 else "")
            tokens = [_Token(model, flag.index, flag.written), *(t for t in tokens if t not in taken)]
        served_name = any(_SERVED_NAME_FLAG.match(a) for a in argv)
        if self.model_first and tokens and tokens[0].text.startswith("-") and served_name and "--config" not in argv:
            self.problem(
                Problem.MODEL_NOT_FIRST,
                tokens[0],
                "vLLM refuses --served-model-name unless the model is the first argument",
                "put the model path first",
            )
        out: list[_Token] = []
        for t in tokens:
            out += self.rewrite_one(t)
        return self.take_dotted(out)

    @staticmethod
    def rewrite_one(t: _Token) -> list[_Token]:
        text = t.text
        if text.startswith("--"):  # underscores to dashes in the name, up to the first '.'
            key, eq, value = text.partition("=")
            head, dot, rest = key[2:].partition(".")
            return [_Token("--" + head.replace("_", "-") + dot + rest + eq + value, t.index, t.written)]
        if text.startswith("-O") and text != "-O":  # -O3, -O=3
            level = text[3:] if text[2:3] == "=" else text[2:]
            return [_Token(_OPTIMIZATION_LEVEL, t.index, t.written), _Token(level, t.index, t.written)]
        return [t]

    def take_dotted(self, tokens: list[_Token]) -> list[_Token]:
        """``-O 3``; and ``--X.key value`` / ``--X.key=value``, which vLLM folds into ``--X '{"key": value}'``."""
        out: list[_Token] = []
        skip: set[int] = set()
        for n, t in enumerate(tokens):
            if n in skip:
                continue
            if t.text == "-O" and n + 1 < len(tokens) and tokens[n + 1].text in {"0", "1", "2", "3"}:
                out.append(_Token(_OPTIMIZATION_LEVEL, t.index, t.written))
                continue
            key, eq, value = t.text.partition("=")
            if not (t.text.startswith("-") and "." in key):
                out.append(t)
                continue
            if not eq:
                if n + 1 >= len(tokens):
                    self.problem(Problem.MISSING_VALUE, t, f"{key} needs a value", f"add a value after {t.written}")
                    continue
                value = tokens[n + 1].text  # vLLM takes the next item, whatever it is
                skip.add(n + 1)
            self.dotted(t, key.removesuffix("+"), value)
        return out

    def dotted(self, token: _Token, key: str, value: str) -> None:
        base = key.split(".", 1)[0]
        spec = self.table.options.get(base)
        if spec is None:
            self.unknown(token, base)
            return
        self.dotted_uses.append(FlagUse(spec.dest, token.written.split("=", 1)[0], value))

    def classify(self, text: str) -> _Match | None:
        """argparse's _parse_optional: None for a value or positional, else the option it names (maybe none)."""
        options = self.table.options
        if not text or text[0] != "-":
            return None
        if text in options:
            return _Match(options[text], text)
        if len(text) == 1:
            return None
        head, eq, explicit = text.partition("=")
        if eq and head in options:
            return _Match(options[head], head, explicit)
        found = self.option_tuples(text)
        if len(found) > 1:
            return _Match(None, head, ambiguous=tuple(sorted(m.abbreviated_to or m.option for m in found)))
        if len(found) == 1:
            return found[0]
        if _NEGATIVE_NUMBER.match(text) or " " in text:
            return None
        return _Match(None, head)

    def option_tuples(self, text: str) -> list[_Match]:
        """argparse's _get_option_tuples: unique prefixes of long flags; -qVALUE for one-letter short flags."""
        options = self.table.options
        if text.startswith("--"):
            if not self.table.allow_abbrev:
                return []
            prefix, eq, explicit = text.partition("=")
            return [_Match(options[o], prefix, explicit if eq else None, abbreviated_to=o) for o in options if o.startswith(prefix)]
        found = []
        for o in options:
            if o == text[:2]:
                found.append(_Match(options[o], o, text[2:]))
            elif o.startswith(text):
                found.append(_Match(options[o], text, None, abbreviated_to=o))
        return found

    def positional(self, token: _Token) -> None:
        if self.glued(token):
            return
        if self.model_free:
            self.model_free = False
            self.uses.append(FlagUse(MODEL_DEST, "--model" if _MODEL_FLAG.match(token.written) else "", token.text))
        else:
            self.problem(Problem.STRAY_ARGUMENT, token, f"{token.written!r} is a value that no flag takes", "remove it, or add its flag")

    def glued(self, token: _Token) -> bool:
        """A flag and its value in one argv item ('--max-model-len 4096'): argparse takes it for a plain word."""
        head, space, rest = token.text.partition(" ")
        spec = self.table.options.get(head.split("=", 1)[0]) if head.startswith("-") and space else None
        if spec is None:
            return False
        flag = head.split("=", 1)[0]
        self.problem(
            Problem.FLAG_AND_VALUE_IN_ONE_STRING,
            token,
            f"{token.written!r} is one argv item with a space: vLLM does not read it as {flag} and a value",
            f"split it into two list items: {head!r}, {rest!r}",
            suggestion=flag,
            allowed=spec.choices or (),
        )
        return True

    def optional(self, tokens: list[_Token], i: int, match: _Match) -> int:
        """Read one flag and its values (argparse's consume_optional); the index after them."""
        token = tokens[i]
        values = []
        for t in tokens[i + 1 :]:
            if t.text == "--" or self.classify(t.text) is not None:
                break
            values.append(t)
        if match.ambiguous or match.spec is None:
            if match.ambiguous:
                self.problem(
                    Problem.AMBIGUOUS_FLAG,
                    token,
                    f"{match.option} is the beginning of several flags",
                    "write the whole flag",
                    allowed=match.ambiguous,
                )
            else:
                self.unknown(token, match.option)
            return i + 1 + len(values)  # the words after an unknown flag are its values
        option = self.option_written(token, match)
        if match.abbreviated_to:
            self.problem(
                Problem.ABBREVIATED_FLAG,
                token,
                f"{option} is an abbreviation of {match.abbreviated_to}: vLLM accepts it until a new flag shares the prefix",
                f"write {match.abbreviated_to}",
                suggestion=match.abbreviated_to,
                accepted_by_vllm=True,
            )
        return i + 1 + self.take(match.spec, option, token, match.explicit, [v.text for v in values])

    @staticmethod
    def option_written(token: _Token, match: _Match) -> str:
        if token.written.startswith("--"):
            return token.written.split("=", 1)[0]
        if token.text == _OPTIMIZATION_LEVEL and token.written != token.text:
            return "-O"
        return match.option

    def take(self, spec: FlagSpec, option: str, token: _Token, explicit: str | None, values: list[str]) -> int:
        """Record what ``spec`` reads; the number of following items it consumed."""
        if explicit is not None:
            if not spec.takes_value:
                fix = f"write {spec.option_strings[0]} or {min(spec.negations)}" if spec.negations else f"write {option} alone"
                self.problem(Problem.UNEXPECTED_VALUE, token, f"{option} takes no value, but is given {explicit!r}", fix)
                return 0
            if explicit.startswith(" "):
                self.glued(_Token(f"{option}{explicit}", token.index, token.written))
            self.record(spec, option, token, (explicit,) if spec.many else explicit)
            return 0
        need = 0 if spec.nargs in (0, "?", "*") else (spec.nargs if isinstance(spec.nargs, int) else 1)
        if len(values) < need:
            self.problem(Problem.MISSING_VALUE, token, f"{option} needs a value", f"add its value as the next list item after {option}")
            return 0
        count = len(values) if spec.many else min(1, len(values)) if spec.nargs == "?" else need
        taken = values[:count]
        value: str | tuple[str, ...] | None = tuple(taken) if spec.many or count > 1 else (taken[0] if taken else None)
        self.record(spec, option, token, value)
        return count

    def record(self, spec: FlagSpec, option: str, token: _Token, value: str | tuple[str, ...] | None) -> None:
        self.uses.append(FlagUse(spec.dest, option, value))
        if spec.choices is None or value is None:
            return
        for v in value if isinstance(value, tuple) else (value,):
            if not _in_choices(spec, v):
                self.problem(
                    Problem.NOT_IN_CHOICES,
                    token,
                    f"{option} {v!r} is not one of vLLM's choices",
                    f"use one of: {', '.join(spec.choices)}",
                    allowed=spec.choices,
                )

    def unknown(self, token: _Token, option: str) -> None:
        wanted = "--" + option[2:].replace("_", "-") if option.startswith("--") else option
        nearest = self.table.nearest(wanted)
        self.problem(
            Problem.UNKNOWN_FLAG,
            token,
            f"{option} is not a flag of vllm serve {self.table.vllm_version}",
            f"use {nearest}" if nearest else "remove it, or check the flag against vLLM's documentation for this release",
            suggestion=nearest,
        )


def _in_choices(spec: FlagSpec, value: str) -> bool:
    choices = spec.choices or ()
    if value in choices:
        return True
    if spec.normalize == "lower_dashes_to_underscores" and value.lower().replace("-", "_") in choices:
        return True
    if choices and all(c.isdigit() for c in choices):  # int choices: argparse compares int(value)
        try:
            return str(int(value)) in choices
        except ValueError:
            return False
    return False
