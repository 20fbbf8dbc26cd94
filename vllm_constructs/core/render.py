"""Node-free rendering: planned objects to the multi-document YAML that ``cdk8s synth`` writes for them.

cdk8s sorts an object's metadata (and its labels and annotations) by key and keeps the order of everything else; it
writes block style with indented sequences, no line folding, and literal blocks for multi-line strings. This module
does the same with PyYAML, so ``vllm-constructs template`` needs no Node and no jsii.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from .objects import KubeObject

__all__ = ["manifests", "to_yaml"]


class _Dumper(yaml.SafeDumper):
    """Block style, sequences indented under their key, insertion order kept, double quotes, no anchors."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def choose_scalar_style(self) -> str:
        style: str = super().choose_scalar_style()
        if style != "'":
            return style
        value = str(getattr(self.event, "value", ""))
        # like cdk8s's writer: double quotes, unless the text holds double quotes and no single ones
        return "'" if '"' in value and "'" not in value else '"'

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def manifests(objects: Iterable[KubeObject], namespace: str | None) -> list[dict[str, Any]]:
    """Each object as cdk8s writes it, with the chart's namespace stamped."""
    return [obj.manifest(namespace) for obj in objects]


def to_yaml(docs: Iterable[Mapping[str, Any]]) -> str:
    """Multi-document YAML like cdk8s's ``Yaml.stringify`` (documents separated by ``---``)."""
    parts = [
        yaml.dump(dict(doc), Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=2**31 - 1, allow_unicode=True) for doc in docs
    ]
    return "---\n".join(parts)
