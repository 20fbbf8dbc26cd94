"""Scalar types of the chart's values, as the chart's templates read them.

Each is a plain validator that takes what YAML or ``--set`` gives and either returns the value or raises one
:func:`~vllm_constructs.core.validation.problem` naming what is allowed and the fix. Strict where the chart's schema is
strict (a string is a string: ``tag: 2.6`` is a float and refused), lenient only where users rely on it today: integers
given as decimal strings (``--set-string``, quoted YAML) and CPU/memory given as numbers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Annotated, Any

from pydantic import PlainValidator

from ..core.validation import (
    INT32_MAX,
    check_json,
    dns_label_ok,
    env_name_ok,
    label_key_ok,
    label_value_ok,
    parse_quantity,
    percent_ok,
    problem,
)

__all__ = [
    "Bool",
    "EnvNameStr",
    "IntOrPercent",
    "JsonObject",
    "LabelMap",
    "MaxUnavailable",
    "PortOrName",
    "PortNumber",
    "Quantity",
    "Scalar",
    "Str",
    "StrList",
    "StrMap",
    "chart_int",
    "one_of",
    "type_word",
    "whole_number",
]


def type_word(value: object) -> str:
    """'a string', 'an integer', 'a mapping', ... for a value read from YAML."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, date):
        return "a date (YAML reads unquoted dates as dates)"
    return f"a {type(value).__name__}"


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise problem("chart_str", f"is {type_word(value)}", "a string", 'quote the value in YAML (e.g. "2.6"), or use --set-string')
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise problem(
            "chart_bool",
            f"is {type_word(value)}",
            "true or false",
            "write true or false without quotes (the string 'false' counts as true in the chart's templates)",
        )
    return value


def whole_number(value: Any, low: int = 0, high: int = INT32_MAX) -> int:
    """An integer in [low, high]; a decimal string (from --set-string or quoted YAML) is read as its number."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]{1,12}", value.strip()):
        number = int(value.strip())
    if number is None:
        raise problem(
            "chart_int", f"is {type_word(value)}, not a whole number", f"an integer from {low} to {high}", "write a whole number such as 3"
        )
    if not low <= number <= high:
        raise problem("chart_int", "is out of range", f"an integer from {low} to {high}", "pick a value in range")
    return number


def chart_int(low: int = 0, high: int = INT32_MAX) -> PlainValidator:
    """Field metadata: :func:`whole_number` in [low, high]."""
    return PlainValidator(lambda value: whole_number(value, low, high))


def one_of(*choices: str) -> PlainValidator:
    """A string that is exactly one of ``choices`` (Kubernetes enums are case-sensitive)."""

    def check(value: Any) -> str:
        if not isinstance(value, str) or value not in choices:
            near = [c for c in choices if isinstance(value, str) and c.lower() == value.lower()]
            fix = f"write {near[0]!r} (Kubernetes values are case-sensitive)" if near else "use one of those"
            raise problem("chart_enum", "is not one of the allowed values", ", ".join(choices), fix)
        return value

    return PlainValidator(check)


def _quantity(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    elif isinstance(value, float) and math.isfinite(value):
        text = repr(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise problem(
            "chart_quantity", f"is {type_word(value)}", "a number or a Kubernetes quantity such as 4, '500m' or '16Gi'", "write e.g. 16Gi"
        )
    parsed = parse_quantity(text)
    if parsed is None or parsed <= 0:
        raise problem(
            "chart_quantity",
            "is not a positive Kubernetes quantity",
            "a number or a Kubernetes quantity such as 4, '500m' or '16Gi'",
            "write e.g. 16Gi",
        )
    return text


def _int_or_percent(value: Any) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= INT32_MAX:
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,9}", value):
        return int(value)
    if isinstance(value, str) and percent_ok(value):
        return value
    raise problem(
        "chart_int_or_percent",
        f"is {type_word(value)} that is not a count or percentage",
        "an integer >= 0 or a percentage such as '25%'",
        "write e.g. 1 or '25%'",
    )


def _port(value: Any) -> int:
    return whole_number(value, 1, 65535)


def _str_list(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise problem("chart_list", f"is {type_word(value)}", "a list of strings", 'write a YAML list, e.g. ["a", "b"]')
    for item in value:
        if not isinstance(item, str):
            raise problem("chart_list", f"holds {type_word(item)} ({item!r})", "a list of strings", "quote every item")
    return list(value)


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise problem("chart_map", f"is {type_word(value)}", "a mapping of strings to strings", 'write key: "value" pairs')
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise problem("chart_map", f"holds {key!r}: {type_word(item)}", "a mapping of strings to strings", "quote every value")
    return dict(value)


def _label_map(value: Any) -> dict[str, str]:
    labels = _str_map(value)
    for key, item in labels.items():
        if not label_key_ok(key):
            raise problem(
                "label_key",
                f"has the key {key!r}, which is not a label key",
                "an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.'",
                "rename the key",
            )
        if not label_value_ok(item):
            raise problem(
                "label_value",
                f"has {key}: {item!r}, which is not a label value",
                "at most 63 letters, digits, '-', '_' or '.'",
                "shorten or clean the value",
            )
    return labels


def _env_name(value: Any) -> str:
    text = _str(value)
    if not env_name_ok(text):
        raise problem(
            "env_name", "is not an environment variable name", "letters, digits, '_', '-' and '.', not starting with a digit", "rename it"
        )
    return text


def _json_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise problem("chart_map", f"is {type_word(value)}", "a mapping (Kubernetes JSON)", "write a YAML mapping")
    check_json(value, describe=type_word)
    return dict(value)


def _scalar(value: Any) -> str | int | float | bool:
    if isinstance(value, str | bool | int) or (isinstance(value, float) and math.isfinite(value)):
        return value
    raise problem("chart_scalar", f"is {type_word(value)}", "a string, number or boolean", "write a single value (quote it to be safe)")


def _port_or_name(value: Any) -> int | str:
    if isinstance(value, str) and not value.strip().isdigit():
        if not dns_label_ok(value, 15) or not re.search(r"[a-z]", value):
            raise problem(
                "port_name",
                "is not a port number or name",
                "a port number (1-65535) or a port name such as 'http'",
                "use the container port's number or name",
            )
        return value
    return whole_number(value, 1, 65535)


def _max_unavailable(value: Any) -> int | str | None:
    if value == "":
        return None
    return _int_or_percent(value)


def _validator(fn: Callable[[Any], Any]) -> PlainValidator:
    return PlainValidator(fn)


Str = Annotated[str, _validator(_str)]
Bool = Annotated[bool, _validator(_bool)]
Quantity = Annotated[str, _validator(_quantity)]
IntOrPercent = Annotated[int | str, _validator(_int_or_percent)]
PortNumber = Annotated[int, _validator(_port)]
StrList = Annotated[list[str], _validator(_str_list)]
StrMap = Annotated[dict[str, str], _validator(_str_map)]
LabelMap = Annotated[dict[str, str], _validator(_label_map)]
EnvNameStr = Annotated[str, _validator(_env_name)]
JsonObject = Annotated[dict[str, Any], _validator(_json_object)]
Scalar = Annotated[str | int | float | bool, _validator(_scalar)]
PortOrName = Annotated[int | str, _validator(_port_or_name)]
MaxUnavailable = Annotated[int | str | None, _validator(_max_unavailable)]
