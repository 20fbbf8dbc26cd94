"""Pydantic's validation errors of the values model, as ConfigErrors in the user's own words: the path is the values
file or ``--set`` expression the key came from, the field is the key path as written in values (``extraInit.
modelDownload.image.pullPolicy``), and an unknown key gets the nearest known key ("did you mean replicaCount?")."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import ConfigError, Problem
from .sources import Key, Origins, dotted
from .types import type_word

__all__ = ["known_keys", "values_error"]

_MISSING = frozenset({"missing", "missing_argument", "missing_keyword_only_argument"})
_SHAPES = {
    "model_type": "a mapping of the chart's keys",
    "model_attributes_type": "a mapping of the chart's keys",
    "dict_type": "a mapping",
    "list_type": "a list",
    "string_type": "a string",
    "int_type": "an integer",
    "bool_type": "true or false",
}


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return None
    return None


def known_keys(root: type[BaseModel], key: Key) -> list[str]:
    """The chart keys accepted at ``key`` (a mapping inside the values), [] if free-form."""
    model: type[BaseModel] | None = root
    for part in key:
        if model is None:
            return []
        if isinstance(part, int):
            continue
        info = next((f for f in model.model_fields.values() if (f.alias or "") == part), None) or model.model_fields.get(str(part))
        model = _model_of(info.annotation) if info is not None else None
    return [f.alias or name for name, f in model.model_fields.items()] if model is not None else []


def _loc(loc: tuple[int | str, ...]) -> Key:
    return tuple(p for p in loc if p != "[key]")


def _problem(err: Any, origins: Origins, root: type[BaseModel]) -> Problem:
    key = _loc(tuple(err.get("loc", ())))
    kind = str(err["type"])
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        name = str(key[-1]) if key else ""
        known = known_keys(root, key[:-1])
        near = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        fix = f"did you mean {near[0]}? Otherwise remove it" if near else "remove it (or check its spelling and level)"
        return origins.problem(key, value, "is not a key of the chart", ", ".join(known) or "the chart's keys", fix)
    if kind in _MISSING:
        return origins.problem(key, "(missing)", "is required", "a value (the chart has no default for it)", f"set {dotted(key)}")
    if "allowed" in ctx and "fix" in ctx:
        return origins.problem(key, value, str(err["msg"]), str(ctx["allowed"]), str(ctx["fix"]))
    shape = _SHAPES.get(kind)
    if shape is not None:
        return origins.problem(key, value, f"is {type_word(value)}", shape, f"write {shape}")
    return origins.problem(key, value, str(err.get("msg", "is invalid")).rstrip("."), "a valid value", "check the key's documentation")


def values_error(exc: ValidationError, origins: Origins, root: type[BaseModel]) -> ConfigError:
    """One ConfigError for every problem pydantic found, unknown keys first."""
    errors = exc.errors(include_url=False)
    ordered = sorted(errors, key=lambda e: 0 if e["type"] == "extra_forbidden" else 1)
    return ConfigError.of([_problem(e, origins, root) for e in ordered])
