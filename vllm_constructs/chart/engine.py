"""The chart's ``image.command`` (``vllm serve MODEL flags...``) as typed engine arguments and the model it names."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..core.engine import EngineArgs
from ..core.vllm_cli import read_serve_args
from .sources import Origins

__all__ = ["ServeCommand", "read_command"]

COMMAND = ("image", "command")
_ENGINE_FIELDS = frozenset(f.name for f in dataclasses.fields(EngineArgs))
_INT_FIELDS = frozenset({"tensor_parallel_size", "pipeline_parallel_size", "data_parallel_size", "max_model_len"})
_SWITCHES = frozenset({"enforce_eager", "trust_remote_code"})
_DROPPED = frozenset({"host", "port"})
"""Rendered by the server itself: it binds 0.0.0.0 on containerPort (the chart hard-codes --port 8000, bug 6)."""


@dataclass(frozen=True, slots=True)
class ServeCommand:
    """What ``image.command`` says: the engine flags, the model (a path or a hub id) and a ``--revision``."""

    engine: EngineArgs
    model: str
    revision: str | None

    @property
    def data_path(self) -> str | None:
        """The model's folder inside the chart's claim (mounted at /data): '' for /data itself, None elsewhere."""
        if self.model.rstrip("/") == "/data":
            return ""
        if self.model.startswith("/data/"):
            return self.model[len("/data/") :].strip("/")
        return None

    @property
    def hub_model(self) -> bool:
        return not self.model.startswith("/") and not self.model.startswith(".")


def _typed(dest: str, option: str, value: str | None, origins: Origins) -> Any:
    if dest in _SWITCHES:
        if value is not None:
            origins.fail(COMMAND, f"{option} {value}", "gives a value to a switch", "the switch alone", f"write {option} without a value")
        return not option.startswith("--no")
    if value is None:
        origins.fail(COMMAND, option, "has no value", f"{option} followed by its value", f"add the value after {option}")
    try:
        return int(value) if dest in _INT_FIELDS else float(value) if dest == "gpu_memory_utilization" else value
    except ValueError:
        kind = "an integer" if dest in _INT_FIELDS else "a number"
        origins.fail(COMMAND, f"{option} {value}", f"is not followed by {kind}", f"{option} <{kind}>", "correct the value")


def read_command(command: list[str] | None, origins: Origins) -> ServeCommand:
    """Typed engine arguments, the served model and its revision from ``image.command``."""
    if not command or command[:2] != ["vllm", "serve"]:
        origins.fail(
            COMMAND,
            command,
            "does not start with 'vllm serve'",
            "['vllm', 'serve', MODEL, flags...]",
            "write the full vllm serve command as the chart's default does",
        )
    rest = list(command[2:])
    model = rest.pop(0) if rest and not rest[0].startswith("-") else "/data/"
    fields: dict[str, Any] = {}
    extra: list[str] = []
    revision: str | None = None
    read = read_serve_args(tuple(rest), model_first=False)
    if read.problems:
        first = read.problems[0]
        origins.fail(COMMAND, first.token, first.problem, first.allowed, first.fix)
    for flag in read.flags:
        if flag.dest in ("model", "model_tag"):
            model = flag.value or model
        elif flag.dest == "revision":
            revision = flag.value
        elif flag.dest in _DROPPED:
            continue
        elif flag.dest in _ENGINE_FIELDS and flag.dest != "extra_args":
            fields[flag.dest] = _typed(flag.dest, flag.option, flag.value, origins)
        else:
            extra.extend([flag.option] if flag.value is None else [flag.option, flag.value])
    fields.setdefault("served_model_name", model)
    engine = origins.within({}, lambda: EngineArgs(**fields, extra_args=tuple(extra)), COMMAND)
    return ServeCommand(engine, model, revision)


def engine_with_revision(command: ServeCommand) -> EngineArgs:
    """The engine flags with ``--revision`` kept verbatim (for sources vLLM does not download itself)."""
    if command.revision is None:
        return command.engine
    extra = (*command.engine.extra_args, "--revision", command.revision)
    return dataclasses.replace(command.engine, extra_args=extra)
