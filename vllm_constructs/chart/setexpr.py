"""Helm's ``--set`` and ``--set-string`` expressions, read as Helm reads them.

``a.b=1,c[0].d=x`` sets two paths; ``\\.`` and ``\\,`` escape; ``{x,y}`` is a list; with ``--set`` the values
``true``/``false``/``null`` (any case) and integers without a leading zero are typed, everything else is a string.
A malformed expression raises ConfigError whose path is the expression itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..core.validation import looks_like_secret
from ..errors import ConfigError

__all__ = ["Assignment", "Key", "parse_assignments"]

Key = tuple[str | int, ...]
MAX_INDEX = 1000


@dataclass(frozen=True, slots=True)
class Assignment:
    """One ``key=value`` of a --set argument."""

    path: Key
    value: Any
    label: str
    """How errors name it: ``--set <key>=<value>`` (the value redacted when it may be a secret)."""


def _fail(label: str, text: str, problem: str, allowed: str, fix: str) -> ConfigError:
    return ConfigError(path=label, field="(expression)", value=text, problem=problem, allowed=allowed, fix=fix)


def typed(raw: str, as_string: bool) -> Any:
    """Helm's typing of a --set value."""
    if as_string:
        return raw
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    if raw == "0" or re.fullmatch(r"[+-]?[1-9][0-9]{0,17}", raw):
        return int(raw)
    return raw


def _split_top(text: str) -> list[str]:
    """Split on commas that are neither escaped nor inside a {...} list."""
    parts, current, depth, i = [], "", 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current += text[i : i + 2]
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
        i += 1
    parts.append(current)
    return parts


def _key(text: str, label: str) -> Key:
    parts: list[str | int] = []
    current, i, after_index = "", 0, False
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current += text[i + 1]
            i += 2
            continue
        if ch == ".":
            if not current and not after_index:
                raise _fail(label, text, "has an empty key segment", "key.path[index]=value", "remove the extra '.'")
            if current:
                parts.append(current)
            current, after_index = "", False
        elif ch == "[":
            end = text.find("]", i)
            if end < 0:
                raise _fail(label, text, "has a '[' without ']'", "key[0]=value", "close the index with ']'")
            index = text[i + 1 : end]
            if not re.fullmatch(r"[0-9]+", index) or int(index) > MAX_INDEX:
                raise _fail(
                    label,
                    text,
                    f"has the index [{index}], which is not a list index",
                    f"an integer from 0 to {MAX_INDEX}",
                    "write e.g. key[0]=value",
                )
            if current:
                parts.append(current)
            elif not parts:
                raise _fail(label, text, "indexes nothing", "key[0]=value", "name the list before the index")
            parts.append(int(index))
            current, after_index, i = "", True, end
        elif ch == "]":
            raise _fail(label, text, "has a ']' without '['", "key[0]=value", "remove the stray ']'")
        else:
            if after_index:
                raise _fail(label, text, "continues after an index without '.'", "key[0].field=value", "add '.' after the index")
            current += ch
        i += 1
    if current:
        parts.append(current)
    elif not after_index:
        raise _fail(label, text, "has an empty key segment" if parts else "has no key", "key.path=value", "write e.g. replicaCount=2")
    return tuple(parts)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _value(raw: str, as_string: bool, label: str) -> Any:
    if raw.startswith("{"):
        if not raw.endswith("}"):
            raise _fail(label, raw, "opens a list with '{' but does not close it", "{a,b,c}", "close the list with '}'")
        inner = raw[1:-1]
        return [typed(_unescape(item), as_string) for item in _split_top(inner)] if inner else []
    return typed(_unescape(raw), as_string)


def _label(flag: str, key: Key, raw: str) -> str:
    text = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in key).replace(".[", "[")
    secret = key[:1] == ("secrets",) or looks_like_secret(raw)
    return f"{flag} {text}={'<redacted>' if secret else raw}"


def parse_assignments(argument: str, *, as_string: bool) -> list[Assignment]:
    """Every assignment of one --set (or --set-string) argument."""
    flag = "--set-string" if as_string else "--set"
    out: list[Assignment] = []
    for part in _split_top(argument):
        whole = f"{flag} {part}"
        if looks_like_secret(part):
            whole = f"{flag} <redacted>"
        key_text, sep, raw = _split_eq(part)
        if not sep:
            raise _fail(whole, part, "has no '='", "key.path=value", "write e.g. --set replicaCount=2")
        key = _key(key_text, whole)
        out.append(Assignment(key, _value(raw, as_string, whole), _label(flag, key, raw)))
    return out


def _split_eq(part: str) -> tuple[str, str, str]:
    i = 0
    while i < len(part):
        if part[i] == "\\":
            i += 2
            continue
        if part[i] == "=":
            return part[:i], "=", part[i + 1 :]
        i += 1
    return part, "", ""
