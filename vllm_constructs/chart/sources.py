"""Where each value came from: the values file, the ``--set`` expression, or the chart's defaults. Every error names
the source of the key it is about first, then the key path as the user wrote it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeVar

from ..core.validation import Redacted, looks_like_secret
from ..errors import ConfigError, Problem
from .defaults import CHART_DEFAULTS

__all__ = ["DEFAULTS", "Key", "Origins", "dotted", "parse_dotted"]

Key = tuple[str | int, ...]
DEFAULTS = "values"
"""The path of errors about a key nobody set (the chart's default)."""
T = TypeVar("T")


def dotted(key: Iterable[str | int]) -> str:
    """``('resources', 'limits', 'nvidia.com/gpu')`` -> ``resources.limits.nvidia.com/gpu``; indexes as ``[0]``."""
    out = ""
    for part in key:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def parse_dotted(text: str) -> Key:
    """The inverse of :func:`dotted` for paths without dotted keys (table and test use)."""
    parts: list[str | int] = []
    for chunk in text.split("."):
        name, *indexes = chunk.split("[")
        if name:
            parts.append(name)
        parts.extend(int(i.rstrip("]")) for i in indexes)
    return tuple(parts)


def secret_path(key: Key) -> bool:
    """Values of ``secrets`` are never repeated in messages."""
    return bool(key) and key[0] == "secrets"


def shown(key: Key, value: object) -> object:
    """The value as a message may show it: values of ``secrets`` and token-shaped strings are redacted."""
    if value is None or value == "(missing)":
        return value
    if secret_path(key) and not isinstance(value, Mapping | list):
        return Redacted(type(value).__name__)
    if isinstance(value, str) and looks_like_secret(value):
        return Redacted(type(value).__name__)
    return value


@dataclass(slots=True)
class Origins:
    """The source of every key path the user set (the last source wins, like Helm's merge)."""

    sources: dict[Key, str] = field(default_factory=dict)
    renamed: dict[Key, Key] = field(default_factory=dict)
    """Paths the loader moved (the old flat ``extraInit.image`` layout): model path prefix -> the user's prefix."""

    def record(self, key: Key, value: Any, source: str) -> None:
        """Record ``key`` and everything under it as coming from ``source``. A mapping merges into what earlier
        sources set below ``key`` (their keys keep their source); anything else replaces it."""
        if not isinstance(value, Mapping):
            for old in [k for k in self.sources if k[: len(key)] == key]:
                del self.sources[old]
        self.sources[key] = source
        if isinstance(value, Mapping):
            for sub, item in value.items():
                self.record((*key, sub), item, source)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self.record((*key, i), item, source)

    def user_key(self, key: Key) -> Key:
        for model_prefix, user_prefix in self.renamed.items():
            if key[: len(model_prefix)] == model_prefix:
                return (*user_prefix, *key[len(model_prefix) :])
        return key

    def source(self, key: Key) -> str:
        """The source of ``key``: its own or its nearest set ancestor's; for a key missing from a mapping the user
        wrote, that mapping's; else the chart's defaults."""
        key = self.user_key(key)
        for n in range(len(key), 0, -1):
            if key[:n] in self.sources:
                return self.sources[key[:n]]
        for other, source in self.sources.items():
            if other[: len(key)] == key:
                return source  # the user set keys under it
        for n in range(len(key) - 1, 0, -1):
            if _has_default(key[:n]):
                break
            for other, source in self.sources.items():
                if other[:n] == key[:n]:
                    return source  # a key missing from a mapping the user wrote
        return DEFAULTS

    def given(self, key: Key) -> bool:
        """Whether the user set ``key`` (or something under it)."""
        key = self.user_key(key)
        return any(other[: len(key)] == key for other in self.sources)

    def problem(self, key: Key, value: object, text: str, allowed: str, fix: str) -> Problem:
        return Problem(self.source(key), dotted(self.user_key(key)), shown(key, value), text, allowed, fix)

    def fail(self, key: Key, value: object, text: str, allowed: str, fix: str) -> NoReturn:
        raise ConfigError.of([self.problem(key, value, text, allowed, fix)])

    def within(self, fields: Mapping[str, Key], run: Callable[[], T], default: Key) -> T:
        """Run a library call; its ConfigError is re-rooted at the values keys ``fields`` maps its fields to (the
        library's own field name stays as a hint in the fix)."""
        try:
            return run()
        except ConfigError as err:
            raise self.translate(err, fields, default) from None

    def translate(self, err: ConfigError, fields: Mapping[str, Key], default: Key) -> ConfigError:
        problems = []
        for p in err.problems:
            key = _best(p.field, fields, default)
            owner = f"{p.path}." if p.path[:1].isupper() else ""
            hint = f" (library field: {owner}{p.field})" if p.field else ""
            problems.append(self.problem(key, p.value, p.problem, p.allowed, f"{p.fix}{hint}"))
        return ConfigError.of(problems)


def _has_default(key: Key) -> bool:
    node: Any = CHART_DEFAULTS
    for part in key:
        if not isinstance(node, Mapping | list):
            return False
        try:
            node = node[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return False
    return True


def _best(field_name: str, fields: Mapping[str, Key], default: Key) -> Key:
    """The values key of a library field: the longest mapped prefix of its name, then its indexes and keys
    (``init_containers[0]`` -> ``extraInit.initContainers[0]``, ``env_config['A']`` -> ``configs.A``)."""
    name = field_name
    while name:
        if name in fields:
            rest = field_name[len(name) :]
            if not rest.startswith("["):
                return fields[name]
            tail = [int(index) if index else quoted for quoted, index in re.findall(r"\[(?:'([^']*)'|(\d+))\]", rest)]
            return (*fields[name], *tail)
        cut = max(name.rfind("."), name.rfind("["))
        name = name[:cut] if cut > 0 else ""
    return default
