"""JSON log lines for vLLM and uvicorn, with the standard library only.

This file is shipped to the serving pod in a ConfigMap (see :mod:`vllm_constructs.core.logs`) and imported by
``logging.config.dictConfig`` from the file that ``VLLM_LOGGING_CONFIG_PATH`` names; the vLLM image may not have
python-json-logger, so nothing here needs more than the standard library (Python 3.10 or later).

Every record becomes one line: a JSON object with ``time`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger``,
``process`` (the pid), ``process_name`` (vLLM's name for the process, e.g. APIServer or EngineCore, when vLLM set
one) and ``message``; plus, with request fields on:

- uvicorn access lines: ``method``, ``path`` (without the query string), ``status``, ``client``, ``http_version``;
- vLLM request lines (``--enable-log-requests``): ``request_id``, and for a received request a ``sampling`` summary
  (numbers and switches of the sampling parameters only: never stop strings, bad words or prompts).

Fields are read from the record's arguments, not parsed out of the formatted text, so a changed message wording in a
new vLLM release loses at most the extra fields, never the line.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

__all__ = ["AccessPathFilter", "JsonFormatter", "NoPromptFilter", "request_fields"]

# uvicorn's access logger: '%s - "%s %s HTTP/%s" %d' % (client, method, path with query, http version, status)
_ACCESS_ARGS = 5
# The start of every vLLM message template whose first argument is a request id.
_REQUEST_TEMPLATES = (
    "Received request %s",
    "Added request %s",
    "Generated response %s",
    "Request %s",
    "Aborted request %s",
    "Finished request %s",
)
# Sampling parameters that are numbers or switches: safe to log, useful to group by.
_SAMPLING = (
    "n",
    "max_tokens",
    "min_tokens",
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "repetition_penalty",
    "ignore_eos",
    "logprobs",
    "prompt_logprobs",
)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def _sampling_summary(params: Any) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for name in _SAMPLING:
        value = getattr(params, name, None)
        if value is not None and _scalar(value) and not isinstance(value, str):
            summary[name] = value
    return summary


def _access_fields(args: tuple[Any, ...]) -> dict[str, Any]:
    client, method, full_path, http_version, status = args[:_ACCESS_ARGS]
    fields: dict[str, Any] = {"method": str(method), "path": urlsplit(str(full_path)).path, "client": str(client)}
    fields["http_version"] = str(http_version)
    try:
        fields["status"] = int(status)
    except (TypeError, ValueError):
        fields["status"] = str(status)
    return fields


def _vllm_request_fields(template: str, args: tuple[Any, ...]) -> dict[str, Any]:
    fields: dict[str, Any] = {"request_id": args[0]}
    if template.startswith("Received request"):
        for arg in args[1:]:
            if hasattr(arg, "max_tokens") or hasattr(arg, "temperature"):
                summary = _sampling_summary(arg)
                if summary:
                    fields["sampling"] = summary
            lora = getattr(arg, "lora_name", None)
            if isinstance(lora, str):
                fields["lora"] = lora
    return fields


def request_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The request-level fields of one record ({} for a record that is not about a request)."""
    args = record.args if isinstance(record.args, tuple) else ()
    template = record.msg if isinstance(record.msg, str) else ""
    if record.name == "uvicorn.access" and len(args) >= _ACCESS_ARGS:
        return _access_fields(args)
    if record.name.startswith("vllm") and args and isinstance(args[0], str) and template.startswith(_REQUEST_TEMPLATES):
        return _vllm_request_fields(template, args)
    return {}


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # a template and arguments that do not match: keep the line, say so
        return f"{record.msg!s} (arguments could not be formatted: {record.args!r})"


class JsonFormatter(logging.Formatter):
    """One JSON object per record. ``request_fields``: add the request-level fields described above.
    ``capture_warnings``: route Python warnings through logging (logger ``py.warnings``), so they are JSON too."""

    def __init__(self, request_fields: bool = True, capture_warnings: bool = False, **_ignored: Any) -> None:
        # **_ignored: uvicorn sets use_colors on formatters named 'default' and 'access' when asked for colours
        super().__init__()
        self.request_fields = request_fields
        if capture_warnings:
            logging.captureWarnings(True)

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, tz=timezone.utc)  # noqa: UP017 - datetime.UTC needs Python 3.11
        entry: dict[str, Any] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
        }
        process_name = getattr(record, "vllm_process_name", None) or record.processName
        if process_name:
            entry["process_name"] = str(process_name)
        entry["message"] = _message(record)
        if self.request_fields:
            try:
                entry.update(request_fields(record))
            except Exception:  # never lose a line over an extra field
                entry["request_fields_error"] = True
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class AccessPathFilter(logging.Filter):
    """Drop uvicorn access lines for the given paths (probes and scrapes), matched without the query string."""

    def __init__(self, exclude: list[str] | tuple[str, ...] = ()) -> None:
        super().__init__()
        self.exclude = frozenset(exclude)

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if record.name != "uvicorn.access" or len(args) < _ACCESS_ARGS:
            return True
        return urlsplit(str(args[2])).path not in self.exclude


class NoPromptFilter(logging.Filter):
    """Drop vLLM's debug records that carry user content (prompts, token ids, request bodies, outputs).

    vLLM logs them from its request logger at DEBUG; they are kept only when prompts were asked for."""

    _MARKERS = ("prompt", "body", "output", "token_ids")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG or not record.name.startswith("vllm.entrypoints"):
            return True
        template = record.msg if isinstance(record.msg, str) else str(record.msg)
        return not any(marker in template.lower() for marker in self._MARKERS)
