"""Reading a release's values like Helm: the chart's defaults, then each ``-f`` file in order, then ``--set`` and
``--set-string``; maps merge key by key, anything else is replaced, ``null`` removes a default. Then the keys this
project refuses are refused by name and reason, and the rest is validated by the values model.

Every error is a ConfigError whose path is the file or ``--set`` expression the offending key came from.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import ConfigError
from .defaults import CHART_DEFAULTS
from .keys import refused_rule
from .report import values_error
from .setexpr import parse_assignments
from .sources import Key, Origins, dotted
from .types import type_word
from .values import ChartValues

__all__ = ["LoadedValues", "load_values"]

_FLAT_DOWNLOAD = ("image", "waitContainer", "downloadJob")


@dataclass(frozen=True, slots=True)
class LoadedValues:
    """A release's values: the validated model, the user's own values (before defaults) and where each came from."""

    values: ChartValues
    user: Mapping[str, Any]
    origins: Origins


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping (Helm refuses it too)."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
        except TypeError:  # an unhashable key (a list or mapping used as a key)
            raise yaml.constructor.ConstructorError(None, None, f"the key {key!r} is not a string", key_node.start_mark) from None
        if duplicate:
            raise yaml.constructor.ConstructorError(None, None, f"the key {key!r} is given twice", key_node.start_mark)
        seen.add(key)
    loader.flatten_mapping(node)
    return dict(loader.construct_pairs(node, deep=deep))


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_file(path: str | Path) -> dict[str, Any]:
    """One values file as a mapping (an empty file is an empty mapping)."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ConfigError(
            path=name,
            field="(file)",
            value=name,
            problem=f"cannot be read ({reason})",
            allowed="a readable YAML file",
            fix="check the path",
        ) from None
    try:
        loaded = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        what = getattr(exc, "problem", None) or getattr(exc, "context", None) or type(exc).__name__
        raise ConfigError(
            path=name,
            field="(file)",
            value=name,
            problem=f"is not valid YAML{line}: {what}",
            allowed="one YAML mapping of chart keys",
            fix="fix the YAML syntax",
        ) from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict) or not all(isinstance(k, str) for k in loaded):
        raise ConfigError(
            path=name,
            field="(top level)",
            value=type_word(loaded),
            problem="is not a mapping of chart keys",
            allowed="a YAML mapping of chart keys",
            fix="start the file with keys such as 'image:'",
        )
    return loaded


def merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's merge of values files: maps merge key by key, everything else (lists, nulls) replaces."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def coalesce(defaults: Mapping[str, Any], user: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of user values over chart defaults: a null removes the default."""
    out = copy.deepcopy(dict(defaults))
    for key, value in user.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = coalesce(out[key], value)
        else:
            out[key] = _drop_nulls(value)
    return out


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    return copy.deepcopy(value)


def _assign(values: dict[str, Any], key: Key, value: Any) -> None:
    node: Any = values
    for part, nxt in zip(key, [*key[1:], None], strict=True):
        last = nxt is None
        if isinstance(part, int):
            while len(node) <= part:
                node.append(None)
            if last:
                node[part] = value
            elif not isinstance(node[part], dict | list) or isinstance(node[part], list) != isinstance(nxt, int):
                node[part] = [] if isinstance(nxt, int) else {}
            if not last:
                node = node[part]
        elif last:
            node[part] = value
        else:
            if not isinstance(node.get(part), dict | list) or isinstance(node.get(part), list) != isinstance(nxt, int):
                node[part] = [] if isinstance(nxt, int) else {}
            node = node[part]


def user_values(files: Sequence[str | Path], sets: Sequence[str], set_strings: Sequence[str]) -> tuple[dict[str, Any], Origins]:
    """The user's values (files, then --set, then --set-string, later wins) and the source of every key."""
    user: dict[str, Any] = {}
    origins = Origins()
    for file in files:
        loaded = read_file(file)
        user = merge(user, loaded)
        for key, value in loaded.items():
            origins.record((key,), value, str(file))
    for arguments, as_string in ((sets, False), (set_strings, True)):
        for argument in arguments:
            for assignment in parse_assignments(argument, as_string=as_string):
                _assign(user, assignment.path, copy.deepcopy(assignment.value))
                origins.record(assignment.path, assignment.value, assignment.label)
    return user, origins


def _refuse_known(node: Any, key: Key, origins: Origins) -> None:
    """Refuse every non-null value at a key this project deliberately does not map, with the reason."""
    if key and node is not None:
        rule = refused_rule(key)
        if rule is not None:
            origins.fail(key, node, f"is not supported: {rule.detail}", f"no {dotted(key)} (null is fine)", f"remove {dotted(key)}")
    if isinstance(node, Mapping):
        for sub, item in node.items():
            _refuse_known(item, (*key, sub), origins)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _refuse_known(item, (*key, i), origins)


def _unflatten_download(user: dict[str, Any], origins: Origins) -> dict[str, Any]:
    """The oldest configurable layout put image/waitContainer/downloadJob directly under extraInit; read them as
    extraInit.modelDownload.* (both layouts at once are refused)."""
    extra = user.get("extraInit")
    if not isinstance(extra, dict) or not any(k in extra for k in _FLAT_DOWNLOAD):
        return user
    nested = extra.get("modelDownload")
    for part in _FLAT_DOWNLOAD:
        if part in extra and isinstance(nested, Mapping) and part in nested:
            origins.fail(
                ("extraInit", part),
                "(both layouts)",
                f"is given both here and as extraInit.modelDownload.{part}",
                "one layout",
                f"keep only extraInit.modelDownload.{part}",
            )
    moved = {k: v for k, v in extra.items() if k not in _FLAT_DOWNLOAD}
    moved["modelDownload"] = merge(dict(nested) if isinstance(nested, Mapping) else {}, {k: extra[k] for k in _FLAT_DOWNLOAD if k in extra})
    for part in _FLAT_DOWNLOAD:
        if part in extra:
            origins.renamed[("extraInit", "modelDownload", part)] = ("extraInit", part)
    return {**user, "extraInit": moved}


def load_values(files: Sequence[str | Path] = (), sets: Sequence[str] = (), set_strings: Sequence[str] = ()) -> LoadedValues:
    """Chart defaults, values files in order, then --set and --set-string: validated, or ConfigError naming the source."""
    user, origins = user_values(files, sets, set_strings)
    _refuse_known(user, (), origins)
    user = _unflatten_download(user, origins)
    merged = coalesce(CHART_DEFAULTS, user)
    try:
        model = ChartValues.model_validate(merged)
    except ValidationError as exc:
        raise values_error(exc, origins, ChartValues) from None
    return LoadedValues(model, user, origins)
