"""Wrong-typed values for every field of a value class, derived from the field's annotation.

A value class is strict: an ``int`` field refuses ``True``, ``1.0`` and ``"1"``; a ``str`` field refuses ``1``; a tuple
field refuses a list or a str; a mapping field refuses a list; a value-class field refuses a dict. For each field,
:func:`wrong_values` returns the candidates whose Python type the annotation does not admit, so a test can assert
that each one is refused with a ConfigError naming the class and the field.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any

CANDIDATES: tuple[object, ...] = (True, 7, 1.5, "text", b"bytes", ("a",), ["a"], {"a": "b"}, object())
"""One value of each Python type a caller might pass by mistake."""


class _Anything(Exception):
    """The annotation admits any value (nothing is a wrong type for it)."""


def admitted_types(annotation: Any) -> set[type]:
    """The Python types a strict field of this annotation admits (before its value rules run)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        return admitted_types(args[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(admitted_types(a) for a in args))
    if annotation is type(None):
        return {type(None)}
    if annotation is Any:
        raise _Anything
    if getattr(annotation, "_is_protocol", False):
        return set()  # a cdk8s-plus object given by reference: none of the candidates is one
    if origin is tuple or annotation is tuple:
        return {tuple}
    if origin in (Mapping, dict) or annotation in (Mapping, dict):
        return {dict}
    if origin is typing.Literal:
        return {type(a) for a in args}
    if annotation is float:
        return {float, int}  # strict floats admit ints (never bools)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return {annotation, *(type(m.value) for m in annotation)}  # the member or its exact value
    if isinstance(annotation, type):
        return {annotation}
    raise AssertionError(f"no rule for annotation {annotation!r}")


def _field_annotations(cls: type[Any]) -> dict[str, Any]:
    infos = getattr(cls, "__pydantic_fields__", None)
    assert infos, f"{cls.__name__} is not a value class"
    out = {}
    for name, info in infos.items():
        annotation = info.annotation
        if info.metadata:
            annotation = Annotated[(annotation, *info.metadata)]
        out[name] = annotation
    return out


def wrong_values(annotation: Any) -> list[object]:
    """The candidates whose exact type the annotation does not admit (a bool is not an int here)."""
    try:
        admitted = admitted_types(annotation)
    except _Anything:
        return []
    return [value for value in CANDIDATES if type(value) not in admitted]


def field_cases(cls: type[Any]) -> list[tuple[str, object]]:
    """(field, wrong value) for every field of ``cls`` and every wrong candidate."""
    assert dataclasses.is_dataclass(cls)
    return [(name, value) for name, annotation in _field_annotations(cls).items() for value in wrong_values(annotation)]
