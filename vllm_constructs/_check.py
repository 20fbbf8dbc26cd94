"""Validation helpers shared by every construct.

Each helper raises :class:`~vllm_constructs.errors.ConfigError` with the construct path, the field,
the value, what is allowed and how to fix it. They are pure functions of their input: no construct
is created, so a failed check leaves nothing half-built.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import NoReturn

from .errors import ConfigError

DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
ENV_NAME_RE = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
QUANTITY_RE = re.compile(r"^(?P<num>[+]?(\d+(\.\d*)?|\.\d+))(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|)$")

_SUFFIX = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}


def parse_quantity(text: str) -> Decimal | None:
    """The value of a Kubernetes quantity such as ``16Gi`` or ``500m``, or None if malformed."""
    match = QUANTITY_RE.match(text) if isinstance(text, str) else None
    if not match:
        return None
    try:
        return Decimal(match["num"]) * _SUFFIX[match["suffix"]]
    except InvalidOperation:  # pragma: no cover - the regex admits only decimals
        return None


def format_bytes(value: Decimal) -> str:
    """Render a byte count as the largest binary unit that divides it exactly (``8Gi``)."""
    whole = int(value)
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        unit = int(_SUFFIX[suffix])
        if whole >= unit and whole % unit == 0:
            return f"{whole // unit}{suffix}"
    return str(whole)


class Checker:
    """Raises ConfigError for one construct path."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, field: str, value: object, problem: str, allowed: str, fix: str) -> NoReturn:
        raise ConfigError(path=self.path, field=field, value=value, problem=problem, allowed=allowed, fix=fix)

    def dns_label(self, field: str, value: str, *, longest_suffix: str = "") -> str:
        """A DNS-1123 label that stays within 63 characters once ``longest_suffix`` is added."""
        if not isinstance(value, str) or not DNS_LABEL_RE.match(value):
            self.fail(
                field,
                value,
                "is not a DNS-1123 label",
                "lower-case letters, digits and '-', starting and ending with a letter or digit",
                "use a name such as 'llama-8b'",
            )
        limit = 63 - len(longest_suffix)
        if len(value) > limit:
            where = f" once suffixed with {longest_suffix!r}" if longest_suffix else ""
            self.fail(
                field,
                value,
                f"is {len(value)} characters, too long{where}",
                f"at most {limit} characters",
                "choose a shorter name",
            )
        return value

    def dns_subdomain(self, field: str, value: str) -> str:
        if not isinstance(value, str) or len(value) > 253 or not DNS_SUBDOMAIN_RE.match(value):
            self.fail(
                field,
                value,
                "is not a DNS-1123 subdomain",
                "lower-case letters, digits, '-' and '.', at most 253 characters",
                "use a name such as 'hf-token'",
            )
        return value

    def quantity(self, field: str, value: str, *, positive: bool = True) -> Decimal:
        parsed = parse_quantity(value)
        if parsed is None:
            self.fail(
                field,
                value,
                "is not a Kubernetes quantity",
                "a string such as '500m', '4', '16Gi' or '1.5'",
                "write the quantity as a string with a Kubernetes suffix",
            )
        if positive and parsed <= 0:
            self.fail(field, value, "is not positive", "a quantity above zero", "use a larger value")
        return parsed

    def integer(self, field: str, value: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(field, value, "is not an integer", "a whole number", "pass an int")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            low = "" if minimum is None else f">= {minimum}"
            high = "" if maximum is None else f"<= {maximum}"
            allowed = " and ".join(part for part in (low, high) if part)
            self.fail(field, value, "is out of range", f"an integer {allowed}", "pick a value in range")
        return value

    def min_max(self, min_field: str, low: Decimal | int, max_field: str, high: Decimal | int, shown: object) -> None:
        if low > high:
            self.fail(
                min_field,
                shown,
                f"is above {max_field}",
                f"{min_field} <= {max_field}",
                f"lower {min_field} or raise {max_field}",
            )

    def unique(self, field: str, names: Iterable[str], *, what: str) -> None:
        seen: set[str] = set()
        for name in names:
            if name in seen:
                self.fail(
                    field,
                    name,
                    f"is a duplicate {what} name",
                    f"each {what} name once per pod",
                    f"rename or remove one of the {what}s named {name!r}",
                )
            seen.add(name)

    def label_map(self, field: str, labels: dict[str, str] | object) -> None:
        if not isinstance(labels, dict):
            self.fail(field, labels, "is not a mapping", "a mapping of label names to strings", "pass a dict")
        for key, val in labels.items():
            name = key.rsplit("/", 1)[-1] if isinstance(key, str) else key
            prefix = key.rsplit("/", 1)[0] if isinstance(key, str) and "/" in key else None
            if (
                not isinstance(key, str)
                or not isinstance(name, str)
                or len(name) > 63
                or not LABEL_NAME_RE.match(name)
                or (prefix is not None and not DNS_SUBDOMAIN_RE.match(prefix))
            ):
                self.fail(
                    field,
                    key,
                    "is not a valid label key",
                    "an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.'",
                    "use a key such as 'team' or 'example.com/team'",
                )
            if not isinstance(val, str) or len(val) > 63 or not LABEL_VALUE_RE.match(val):
                self.fail(
                    f"{field}[{key!r}]",
                    val,
                    "is not a valid label value",
                    "a string of at most 63 letters, digits, '-', '_' or '.'",
                    "shorten or clean the value",
                )
