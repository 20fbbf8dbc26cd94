"""Run-time typing of every public input, whatever the caller's type checker.

Value classes and props are pydantic dataclasses in strict mode (``value_class``): exact types (a ``str`` where a
tuple goes is refused, an ``int`` field refuses ``True`` and ``1.0``), finite floats, unknown keyword arguments
refused, enums accepted as the member or its exact value. Kubernetes' own rules (names, labels, quantities, CIDRs,
environment names, int32 bounds) are the annotated types below, with patterns matched against the whole string
(``re.fullmatch``: a trailing newline is never accepted, ``[0-9]`` never matches other scripts' digits).

Every failure becomes one :class:`~vllm_constructs.errors.ConfigError` whose message names the class (or the
construct path), the field, the value (redacted where it may be a secret), what is allowed and the fix.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import functools
import hashlib
import ipaddress
import json
import math
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Protocol, TypeVar, dataclass_transform, overload

import pydantic
import pydantic.dataclasses
from pydantic import AfterValidator, ConfigDict, Field, PlainValidator, ValidationError
from pydantic_core import PydanticCustomError

from ..errors import ConfigError, Problem

__all__ = [
    "STRICT",
    "AbsolutePath",
    "Cidr",
    "DnsLabel",
    "DnsSubdomain",
    "EnvName",
    "HttpUrl",
    "IntOrPercent",
    "LabelKey",
    "LabelValue",
    "Labels",
    "NamedResource",
    "Quantity",
    "Redacted",
    "check_json",
    "dns_label_ok",
    "dns_subdomain_ok",
    "env_name_ok",
    "label_value_ok",
    "percent_ok",
    "in_range",
    "number_range",
    "one_of",
    "parse_quantity",
    "problem",
    "value_class",
]

T = TypeVar("T")
INT32_MAX = 2**31 - 1

STRICT = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False, arbitrary_types_allowed=True)
"""The pydantic configuration of every value class and props class."""


def problem(kind: str, text: str, allowed: str, fix: str) -> PydanticCustomError:
    """A validation failure carrying what is allowed and the fix (raise it from a validator)."""
    return PydanticCustomError(kind, text, {"allowed": allowed, "fix": fix})


# ------------------------------------------------------------------------------------------------ value classes


@overload
def value_class(cls: type[T], /) -> type[T]: ...
@overload
def value_class(*, kw_only: bool = ...) -> Callable[[type[T]], type[T]]: ...
@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, Field))
def value_class(cls: type[T] | None = None, /, *, kw_only: bool = False) -> Any:
    """A frozen, slotted, strictly validated dataclass. Construction (and ``dataclasses.replace``) raises ConfigError."""

    def wrap(c: type[T]) -> type[T]:
        made: Any = pydantic.dataclasses.dataclass(c, frozen=True, slots=True, kw_only=kw_only, config=STRICT)
        if not made.__pydantic_complete__:  # a later rebuild would replace the __init__ below: every name must exist now
            raise TypeError(f"{made.__qualname__}: a field's type or validator is defined after the class; define it first")
        validated_init = made.__init__

        @functools.wraps(validated_init)
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            try:
                validated_init(self, *args, **kwargs)
            except ValidationError as exc:
                raise config_error(exc, made.__name__, made) from None

        made.__init__ = __init__
        return made  # type: ignore[no-any-return]

    return wrap if cls is None else wrap(cls)


def validate_instance(value: object, expected: type[Any] | tuple[type[Any], ...], path: str, field: str, allowed: str, fix: str) -> None:
    """Refuse anything that is not an instance of ``expected`` (used where a construct receives its props)."""
    if not isinstance(value, expected):
        raise ConfigError(
            path=path, field=field, value=Redacted.of(value), problem=f"is a {type(value).__name__}", allowed=allowed, fix=fix
        )


# ------------------------------------------------------------------------------------------------ error mapping


class Redacted:
    """Stands for a rejected value that may be a secret, so the message never repeats it."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    @classmethod
    def of(cls, value: object) -> object:
        """The value itself when it is harmless to show, else a redacted stand-in (or a jsii object's readable name)."""
        if isinstance(value, str) and looks_like_secret(value):
            return cls(type(value).__name__)
        return JsiiObject.of(value)

    def __repr__(self) -> str:
        return f"<{self.type_name}, redacted>"


class JsiiObject:
    """Stands for a cdk8s or cdk8s-plus object in a message: its jsii type and name, never a memory address."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    @classmethod
    def of(cls, value: object) -> object:
        ref = getattr(value, "__jsii_ref__", None)
        if ref is None:
            return value
        kind = next(iter(getattr(ref, "interfaces", None) or ()), None) or str(getattr(ref, "ref", "")).split("@", 1)[0] or "jsii object"
        try:
            name = getattr(value, "name", None)
        except Exception:  # a construct without a name property
            name = None
        return cls(f"<{kind} {name!r}>" if isinstance(name, str) else f"<{kind}>")

    def __repr__(self) -> str:
        return self.text


_TOKEN_RE = re.compile(
    r"hf_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9_-]{16,}|(AKIA|ASIA)[0-9A-Z]{16}|(ghp|gho|ghu|ghs|github_pat)_[A-Za-z0-9_]{20,}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}|-----BEGIN [A-Z ]*PRIVATE KEY-----"
)
_SECRET_WORDS = frozenset({"TOKEN", "KEY", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "CREDENTIALS", "APIKEY", "PASSPHRASE"})
_SECRET_FIELD_RE = re.compile(r"(^|_)(token|secret|password|credentials?|api_key|hf_token)($|_)")


def looks_like_secret(value: str) -> bool:
    """True when ``value`` contains a well-known credential shape (Hugging Face, OpenAI-style, AWS, GitHub, ...)."""
    return bool(_TOKEN_RE.search(value))


def names_a_secret(env_name: str) -> bool:
    """True when an environment name says it holds a secret (a word TOKEN, KEY, SECRET, PASSWORD, ...), except names
    of files or folders (``*_PATH``, ``*_FILE``, ``*_DIR``) and words that merely start alike (TOKENIZERS)."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", env_name.upper()) if w]
    if words and words[-1] in ("PATH", "FILE", "DIR", "ID"):
        return False
    return any(w in _SECRET_WORDS for w in words)


def config_error(exc: ValidationError, path: str, owner: type[Any] | None = None) -> ConfigError:
    """Map pydantic's errors to one ConfigError (first problem first, the others after it)."""
    fields = [f.name for f in dataclasses.fields(owner)] if owner is not None and dataclasses.is_dataclass(owner) else []
    problems: list[Problem] = []
    for err in exc.errors(include_url=False):
        inner = (err.get("ctx") or {}).get("error")
        if isinstance(inner, ConfigError):  # raised by a cross-field check or a mapping rule, with its own fields
            where = _field_path(tuple(err.get("loc", ())), fields) if err.get("loc") else ""
            problems += [dataclasses.replace(p, path=path, field=_join(where, p.field)) for p in inner.problems]
        else:
            problems.append(_problem(err, path, owner, fields))
    return ConfigError.of(problems)


def _join(outer: str, inner: str) -> str:
    if not outer:
        return inner
    return f"{outer}{inner}" if inner.startswith("[") else f"{outer}.{inner}"


def _field_path(loc: tuple[int | str, ...], fields: list[str]) -> str:
    out = ""
    for i, part in enumerate(loc):
        if i == 0:
            out = fields[part] if isinstance(part, int) and part < len(fields) else str(part)
        elif part == "[key]":
            break
        elif isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f"[{part!r}]"
    return out or "(arguments)"


def _problem(err: Any, path: str, owner: type[Any] | None, fields: list[str]) -> Problem:
    loc: tuple[int | str, ...] = tuple(err.get("loc", ()))
    field = _field_path(loc, fields)
    top = loc[0] if loc else ""
    top_name = fields[top] if isinstance(top, int) and top < len(fields) else str(top)
    value = err.get("input") if err["type"] not in _MISSING else "(missing)"
    if isinstance(value, str) and value != "(missing)" and (_SECRET_FIELD_RE.search(top_name.lower()) or looks_like_secret(value)):
        value = Redacted(type(value).__name__)
    value = JsiiObject.of(value)
    text, allowed, fix = _describe(err, owner, top_name)
    return Problem(path, field, value, text, allowed, fix)


RENAMED = {
    "identity": "it is 'labels' since 0.2.0 (WorkloadLabels)",
    "service_account_name": "it is 'service_account' since 0.2.0 (a name or a cdk8s-plus ServiceAccount)",
    "extra_volumes": "it is PodOptions(extra_volumes=...) since 0.2.0",
    "download_mode": "it is download=ModelDownload(mode=...) since 0.2.0",
    "download_image": "it is download=ModelDownload(image=...) since 0.2.0",
    "co_locate_download": "it is download=ModelDownload(co_locate=...) since 0.2.0",
    "wait_timeout_seconds": "it is download=ModelDownload(timeout_seconds=...) since 0.2.0",
    "download_env": "it is download=ModelDownload(env=...) since 0.2.0",
    "download_command": "it is download=ModelDownload(command=...) since 0.2.0",
    "download_args": "it is download=ModelDownload(args=...) since 0.2.0",
    "wait_env": "it is download=ModelDownload(wait_env=...) since 0.2.0",
    "wait_command": "it is download=ModelDownload(wait_command=...) since 0.2.0",
    "wait_args": "it is download=ModelDownload(wait_args=...) since 0.2.0",
    "ttl_seconds_after_finished": "it is download=ModelDownload(ttl_seconds_after_finished=...) since 0.2.0",
}
"""Fields renamed in 0.2.0 (CHANGELOG.md): an old keyword gets its new home as the fix."""

_MISSING = frozenset({"missing_argument", "missing", "missing_keyword_only_argument", "missing_positional_only_argument"})


def _describe(err: Any, owner: type[Any] | None, name: str) -> tuple[str, str, str]:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if "allowed" in ctx and "fix" in ctx:
        return str(err["msg"]), str(ctx["allowed"]), str(ctx["fix"])
    expected = _expected_text(owner, name)
    given = _a(type(err.get("input")).__name__)
    if kind in {"unexpected_keyword_argument", "extra_forbidden"}:
        known = [f.name for f in dataclasses.fields(owner)] if owner is not None and dataclasses.is_dataclass(owner) else []
        near = difflib.get_close_matches(name, known, n=1)
        hint = RENAMED.get(name) or (f"rename it to {near[0]!r}" if near else "remove it")
        owner_name = owner.__name__ if owner is not None else "this class"
        return f"is not a field of {owner_name}", ", ".join(known) or "the documented fields", hint
    if kind in _MISSING:
        return "is required", expected, f"pass {name}=..."
    if kind == "unexpected_positional_argument":
        return "is one positional argument too many", "the documented arguments", "pass the remaining values by keyword"
    if kind == "enum":
        return "is not one of the allowed values", str(ctx.get("expected", expected)), "use the enum member or its exact value"
    if kind == "literal_error":
        return "is not one of the allowed values", str(ctx.get("expected", expected)), "use one of those"
    if kind == "finite_number":
        return "is not a finite number", "a finite number (no NaN or infinity)", "pass a finite number"
    if kind == "tuple_type":
        return f"is {given}, not a tuple", expected, "pass a tuple, e.g. ('a',) for one item (a str would be split into characters)"
    if kind.endswith("_type") or kind in ("is_instance_of", "dataclass_exact_type", "dataclass_type", "union_tag_invalid"):
        return f"is {given}", expected, f"pass {expected}"
    bound = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}.get(kind)
    if bound is not None:
        limit = next(iter(ctx.values()), "?")
        return "is out of range", f"{expected} {bound} {limit}", "pick a value in range"
    return str(err.get("msg", "is invalid")), expected, "see the field's documentation"


def _expected_text(owner: type[Any] | None, name: str) -> str:
    fields = getattr(owner, "__pydantic_fields__", {}) if owner is not None else {}
    info = fields.get(name)
    return type_text(info.annotation) if info is not None else "a valid value"


def type_text(annotation: Any) -> str:
    """Plain words for a type annotation: ``tuple[str, ...]`` -> 'a tuple of str'."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        return type_text(args[0])
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_text(a) for a in args)
    if annotation is type(None):
        return "None"
    if origin is tuple:
        return f"a tuple of {_bare(type_text(args[0]))}" if args else "a tuple"
    if origin in (Mapping, dict) or annotation in (Mapping, dict):
        return "a mapping" + (f" of {_bare(type_text(args[0]))} to {_bare(type_text(args[1]))}" if len(args) == 2 else "")
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return f"a {annotation.__name__} ({', '.join(repr(m.value) for m in annotation)})"
    if origin is typing.Literal:
        return " or ".join(repr(a) for a in args)
    return _a(getattr(annotation, "__name__", str(annotation)))


def _a(name: str) -> str:
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


def _bare(text: str) -> str:
    return text.removeprefix("a ").removeprefix("an ")


# ------------------------------------------------------------------------------------------------ scalar rules

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
_QUANTITY = re.compile(r"(?P<num>\+?([0-9]+(\.[0-9]*)?|\.[0-9]+))(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]{1,3}|)")
_PERCENT = re.compile(r"(100|[1-9]?[0-9])%")
_SUFFIX = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
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


def parse_quantity(text: object) -> Decimal | None:
    """The value of a Kubernetes quantity (``16Gi``, ``500m``, ``1e3``), or None if malformed or negative."""
    if not isinstance(text, str):
        return None
    match = _QUANTITY.fullmatch(text)
    if not match:
        return None
    suffix = match["suffix"]
    try:
        scale = Decimal(10) ** int(suffix[1:]) if suffix[:1] in ("e", "E") else _SUFFIX[suffix]
        return Decimal(match["num"]) * scale
    except (InvalidOperation, KeyError):  # pragma: no cover - the pattern admits only decimals
        return None


def format_bytes(value: Decimal) -> str:
    """A byte count as the largest binary unit that divides it exactly (``8Gi``)."""
    whole = int(value)
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        unit = int(_SUFFIX[suffix])
        if whole >= unit and whole % unit == 0:
            return f"{whole // unit}{suffix}"
    return str(whole)


def dns_label_ok(value: str, limit: int = 63) -> bool:
    """Kubernetes' DNS-1123 label rule; ``limit`` below 63 leaves room for a suffix the construct appends."""
    return len(value) <= limit and _DNS_LABEL.fullmatch(value) is not None


def dns_subdomain_ok(value: str) -> bool:
    """Kubernetes' DNS-1123 subdomain rule (object names of most kinds)."""
    return len(value) <= 253 and _DNS_SUBDOMAIN.fullmatch(value) is not None


def _dns_label(value: str) -> str:
    if not dns_label_ok(value):
        raise problem(
            "dns_label",
            "is not a DNS-1123 label",
            "at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit",
            "use a name such as 'llama-8b'",
        )
    return value


def _dns_subdomain(value: str) -> str:
    if not dns_subdomain_ok(value):
        raise problem(
            "dns_subdomain",
            "is not a DNS-1123 subdomain",
            "at most 253 lower-case letters, digits, '-' and '.'",
            "use a name such as 'hf-token'",
        )
    return value


def label_key_ok(key: object) -> bool:
    if not isinstance(key, str):
        return False
    prefix, _, name = key.rpartition("/")
    if prefix and not dns_subdomain_ok(prefix):
        return False
    return len(name) <= 63 and bool(_LABEL_NAME.fullmatch(name))


def label_value_ok(value: object) -> bool:
    """A Kubernetes label value: at most 63 letters, digits, '-', '_' or '.', alphanumeric at both ends (or empty)."""
    return isinstance(value, str) and len(value) <= 63 and bool(_LABEL_VALUE.fullmatch(value))


def env_name_ok(value: object) -> bool:
    """A name Kubernetes accepts for a container environment variable."""
    return isinstance(value, str) and bool(_ENV_NAME.fullmatch(value))


def percent_ok(value: object) -> bool:
    """A percentage from '0%' to '100%' as Kubernetes' IntOrString fields take it."""
    return isinstance(value, str) and bool(_PERCENT.fullmatch(value))


def check_json(value: Any, where: str = "", *, describe: Callable[[Any], str] | None = None) -> None:
    """Refuse anything that is not Kubernetes JSON (string keys; str, int, finite float, bool, None, list, mapping),
    naming where it is. ``describe`` words a wrong value for the reader (default: its Python type)."""
    word = describe or (lambda v: _a(type(v).__name__))
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise problem(
                "json", f"holds a non-finite number at {where or 'the top'}", "finite numbers", "remove NaN or infinity (.nan, .inf)"
            )
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise problem("json", f"has the key {key!r}, which is not a string", "Kubernetes JSON: string keys", "quote the key")
            check_json(item, f"{where}.{key}" if where else key, describe=describe)
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            check_json(item, f"{where}[{i}]", describe=describe)
        return
    raise problem(
        "json",
        f"holds {word(value)} at {where or 'the top'}",
        "Kubernetes JSON: strings, numbers, booleans, null, lists, mappings",
        "write plain JSON values (quote a value to make it a string)",
    )


def _label_key(value: str) -> str:
    if not label_key_ok(value):
        raise problem(
            "label_key",
            "is not a valid label or annotation key",
            "an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.'",
            "use a key such as 'team' or 'example.com/team'",
        )
    return value


def _label_value(value: str) -> str:
    if not label_value_ok(value):
        raise problem(
            "label_value",
            "is not a valid label value",
            "at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
            "shorten or clean the value",
        )
    return value


def _quantity(value: str) -> str:
    parsed = parse_quantity(value)
    if parsed is None:
        raise problem(
            "quantity",
            "is not a Kubernetes quantity",
            "a string such as '500m', '4', '16Gi' or '1.5'",
            "write the quantity as a string with a Kubernetes suffix",
        )
    if parsed <= 0:
        raise problem("quantity", "is not positive", "a quantity above zero", "use a larger value")
    if parsed > Decimal(2) ** 63:
        raise problem("quantity", "is larger than Kubernetes can store", "a quantity below 2^63", "use a smaller value")
    return value


def _env_name(value: str) -> str:
    if not env_name_ok(value):
        raise problem(
            "env_name",
            "is not a valid environment variable name",
            "letters, digits, '_', '-' and '.', not starting with a digit",
            "rename the variable",
        )
    return value


def _cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise problem("cidr", "is not a CIDR", "an IPv4 or IPv6 network such as '10.0.0.0/8'", "write address/prefix length") from None
    if "/" not in value:
        raise problem("cidr", "has no prefix length", "an IPv4 or IPv6 network such as '10.0.0.0/8'", "add the prefix length, e.g. '/32'")
    return value


def _http_url(value: str) -> str:
    if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s]*)?", value):
        raise problem("url", "is not an http(s) URL", "a URL such as 'http://prometheus.monitoring:9090'", "add the scheme and host")
    return value


def _absolute_path(value: str) -> str:
    if not value.startswith("/") or any(ord(c) < 32 for c in value) or "/../" in f"{value}/":
        raise problem("path", "is not an absolute path", "a path starting with '/' without '..' or control characters", "e.g. '/models'")
    return value


def _int_or_percent(value: object) -> int | str:
    if not isinstance(value, int | str) or isinstance(value, bool) or (isinstance(value, int) and not 0 <= value <= INT32_MAX):
        raise problem("int_or_percent", "is not a count or percentage", "an integer >= 0 or a string such as '25%'", "use e.g. 1 or '25%'")
    if isinstance(value, str) and not percent_ok(value):
        raise problem("int_or_percent", "is not a count or percentage", "an integer >= 0 or a string such as '25%'", "use e.g. 1 or '25%'")
    return value


class NamedResource(Protocol):
    """A cdk8s-plus object with a name (kplus.Secret, ServiceAccount, PersistentVolumeClaim, ConfigMap, imported or not)."""

    @property
    def name(self) -> str: ...


def _resource_name(kind: str) -> Callable[[Any], str]:
    """A validator taking a name, or a cdk8s-plus-27 object of ``kind`` (its name is read once, through jsii)."""

    def to_name(value: Any) -> str:
        if isinstance(value, str):
            return _dns_subdomain(value)
        ref = getattr(value, "__jsii_ref__", None)
        described = " ".join([str(getattr(ref, "ref", "")), *(getattr(ref, "interfaces", None) or ())])
        if ref is not None and re.search(rf"cdk8s-plus-[0-9]+\.I?{kind}\b", described):
            return _dns_subdomain(str(value.name))
        raise problem(
            "resource_name",
            f"is neither a name nor a cdk8s-plus {kind}",
            f"the {kind}'s name (a DNS-1123 subdomain) or a cdk8s_plus_27 {kind} (created or imported)",
            f"pass the name, or e.g. kplus.{kind}.{_IMPORTS.get(kind, f'from_{_snake(kind)}_name')}(scope, id, name)",
        )

    return to_name


_IMPORTS = {"PersistentVolumeClaim": "from_claim_name"}
"""cdk8s-plus import methods not named from_<kind>_name."""


def _snake(kind: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", kind).lower()


def in_range(low: int, high: int) -> AfterValidator:
    """Annotated metadata: an exact int within [low, high] (bool is refused by strict mode)."""

    def check(value: int) -> int:
        if not low <= value <= high:
            raise problem("range", "is out of range", f"an integer >= {low} and <= {high}", "pick a value in range")
        return value

    return AfterValidator(check)


def number_range(low: float, high: float, *, low_open: bool = False) -> AfterValidator:
    """Annotated metadata: a finite number within [low, high] (or (low, high] with ``low_open``)."""

    def check(value: float) -> float:
        if isinstance(value, bool):
            raise problem("number", "is a bool", "a number", "pass a number, not True/False")
        below = value <= low if low_open else value < low
        if below or value > high:
            left = "(" if low_open else "["
            raise problem("range", "is out of range", f"a number in {left}{low}, {high}]", "pick a value in range")
        return value

    return AfterValidator(check)


def one_of(classes: tuple[type[Any], ...], allowed: str, fix: str) -> PlainValidator:
    """A closed union of value classes: only instances of exactly these classes (each validated when built)."""

    def check(value: Any) -> Any:
        if type(value) not in classes:
            raise problem("one_of", f"is a {type(value).__name__}", allowed, fix)
        return value

    return PlainValidator(check)


def unique(items: Iterable[str], what: str) -> None:
    """Raise a validation problem naming the first repeated item."""
    seen: set[str] = set()
    for item in items:
        if item in seen:
            raise problem("duplicate", f"repeats the {what} {item!r}", f"each {what} once", f"remove or rename one {item!r}")
        seen.add(item)


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
DnsSubdomain = Annotated[str, AfterValidator(_dns_subdomain)]
LabelKey = Annotated[str, AfterValidator(_label_key)]
LabelValue = Annotated[str, AfterValidator(_label_value)]
Labels = Mapping[LabelKey, LabelValue]
Annotations = Mapping[LabelKey, str]
Quantity = Annotated[str, AfterValidator(_quantity)]
EnvName = Annotated[str, AfterValidator(_env_name)]
Cidr = Annotated[str, AfterValidator(_cidr)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
AbsolutePath = Annotated[str, AfterValidator(_absolute_path)]
IntOrPercent = Annotated[int | str, PlainValidator(_int_or_percent)]  # one validator: a union would report once per member
Port = Annotated[int, in_range(1, 65535)]
Int32 = Annotated[int, in_range(0, INT32_MAX)]
PositiveInt32 = Annotated[int, in_range(1, INT32_MAX)]
SecretName = Annotated[str | NamedResource, PlainValidator(_resource_name("Secret"))]
ConfigMapName = Annotated[str | NamedResource, PlainValidator(_resource_name("ConfigMap"))]
ServiceAccountName = Annotated[str | NamedResource, PlainValidator(_resource_name("ServiceAccount"))]
ClaimName = Annotated[str | NamedResource, PlainValidator(_resource_name("PersistentVolumeClaim"))]


def fail(field: str, value: object, text: str, allowed: str, fix: str) -> typing.NoReturn:
    """Refuse a combination of fields from a value class's ``__post_init__`` (the class name becomes the path)."""
    raise ConfigError(path="", field=field, value=Redacted.of(value), problem=text, allowed=allowed, fix=fix)


def content_hash(value: object, length: int = 10) -> str:
    """A short stable hash of JSON-serialisable content (sorted keys)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:length]


class Checker:
    """Raises ConfigError for one construct path (the checks that need more than one value class)."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, field: str, value: object, text: str, allowed: str, fix: str) -> typing.NoReturn:
        raise ConfigError(path=self.path, field=field, value=Redacted.of(value), problem=text, allowed=allowed, fix=fix)

    def within(self, run: Callable[[], T], prefix: str = "") -> T:
        """Run a check that raises path-less problems (a value class rule) and re-root them at this path."""
        try:
            return run()
        except ConfigError as err:
            raise err.at(self.path, prefix) from None
