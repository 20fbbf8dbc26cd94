"""Structured JSON logs for a serving workload, pure: :class:`JsonLogs` in, a :class:`LogsPlan` out (the ConfigMap, its
volume, the environment and the vLLM flags the serving container needs).

vLLM reads a logging ``dictConfig`` (JSON) from the file ``VLLM_LOGGING_CONFIG_PATH`` names: it configures its own
loggers with it and, being the default of ``LoggingConfig.pylogging_config_file``, hands the same file to uvicorn, so
access lines are JSON too. (The ``--log-config-file`` flag does the same but is deprecated in vLLM 0.32 and removed
in 0.33; the environment variable works in both.) The formatter is our own stdlib-only module
(:mod:`vllm_constructs.scripts.vllm_json_log`), shipped in the same ConfigMap and found through ``PYTHONPATH``, because
the image may not have python-json-logger.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Annotated, Any, Protocol

from .engine import EngineArgs
from .objects import KubeObject, config_map
from .validation import Checker, content_hash, fail, in_range, value_class
from .values import EnvValue, HealthChecks, HttpPath, Lax, Volume

__all__ = ["FORMATTER_MODULE", "LOGGING_MOUNT", "JsonLogs", "LogLevel", "LoggedServer", "LogsPlan", "logging_config", "plan_json_logs"]

JsonObject = dict[str, Any]
LOGGING_MOUNT = "/etc/vllm-logging"
"""Where the ConfigMap is mounted (read-only) in the serving container."""
CONFIG_KEY = "logging.json"
FORMATTER_MODULE = "vllm_json_log"
HASH_ANNOTATION = "vllm-constructs.io/logging-hash"
METRICS_PATH = "/metrics"

# vLLM flags JsonLogs renders or that contradict a dictConfig file, by vLLM dest name: what to set instead.
_LOGGING_FLAGS = {
    "log_config_file": "JsonLogs (the construct points vLLM at its own logging file)",
    "logging_config": "JsonLogs (the construct points vLLM at its own logging file)",
    "log_level": "JsonLogs(level=...) (a logging file is authoritative over --log-level)",
    "enable_log_requests": "JsonLogs(log_requests=True)",
    "max_log_len": "JsonLogs(max_log_len=...)",
    "disable_access_log_for_endpoints": "JsonLogs(exclude_paths=...) (vLLM ignores this flag when a logging file is given)",
}
# Environment JsonLogs sets, with the reason a user value is refused.
OWNED_ENV = {
    "VLLM_LOGGING_CONFIG_PATH": "json_logs (the logging file in the ConfigMap)",
    "VLLM_CONFIGURE_LOGGING": "json_logs (vLLM must apply the logging file)",
    "VLLM_LOGGING_LEVEL": "json_logs.level",
    "PYTHONPATH": "json_logs (the formatter module in the ConfigMap)",
}


class LogLevel(enum.StrEnum):
    """The lowest level vLLM's loggers print."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


@value_class(kw_only=True)
class JsonLogs:
    """vLLM's and uvicorn's logs as one JSON object per line (time, level, logger, process, process_name, message,
    and request fields), from a logging file in a ConfigMap; the pods roll when it changes."""

    level: Annotated[LogLevel, Lax] = LogLevel.INFO
    """Lowest level of vLLM's loggers (other libraries: WARNING or this, whichever is higher). Default: INFO."""
    request_fields: bool = True
    """Add method, path, status and client to uvicorn access lines, and request_id and a sampling summary to vLLM's
    request lines. Default: True."""
    log_requests: bool = False
    """``--enable-log-requests``: one line per request with its id and sampling parameters (never the prompt unless
    log_prompts). Default: False."""
    log_prompts: bool = False
    """Keep vLLM's DEBUG lines that carry prompts, token ids and request bodies (needs log_requests and level DEBUG).
    Default: False: they are dropped even at DEBUG, since prompts are user data."""
    max_log_len: Annotated[int, in_range(0, 1_000_000)] | None = None
    """``--max-log-len``: characters (or token ids) of each prompt kept in the log (needs log_prompts). Default: all."""
    exclude_paths: tuple[HttpPath, ...] | None = None
    """Access lines dropped for these paths (query string ignored). Default: the probe path and /metrics (the kubelet
    and Prometheus call them every few seconds)."""

    def __post_init__(self) -> None:
        if self.log_prompts and not self.log_requests:
            fail("log_prompts", True, "needs vLLM's request logger", "log_prompts only with log_requests=True", "set log_requests=True")
        if self.log_prompts and self.level is not LogLevel.DEBUG:
            fail(
                "log_prompts",
                True,
                f"has no effect at level {self.level}: vLLM logs prompts at DEBUG",
                "log_prompts only with level=LogLevel.DEBUG",
                "set level='DEBUG', or drop log_prompts",
            )
        if self.max_log_len is not None and not self.log_prompts:
            fail(
                "max_log_len",
                self.max_log_len,
                "limits prompt text in the log, but prompts are not logged",
                "max_log_len only with log_prompts=True",
                "drop max_log_len",
            )
        if self.exclude_paths is not None and len(set(self.exclude_paths)) != len(self.exclude_paths):
            fail("exclude_paths", self.exclude_paths, "repeats a path", "each path once", "remove the repeat")


class LoggedServer(Protocol):
    """What JSON logs need from a server's props (ServingProps has it all)."""

    @property
    def name(self) -> str: ...
    @property
    def json_logs(self) -> JsonLogs | None: ...
    @property
    def engine(self) -> EngineArgs: ...
    @property
    def health(self) -> HealthChecks: ...
    @property
    def env(self) -> Mapping[str, EnvValue]: ...


@dataclass(frozen=True, slots=True)
class LogsPlan:
    """What one serving container needs for JSON logs (all empty when JSON logs are off)."""

    config_map: KubeObject | None = None
    volumes: tuple[Volume, ...] = ()
    env: dict[str, EnvValue] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    pod_annotations: dict[str, str] = field(default_factory=dict)

    def add_env(self, check: Checker, env: dict[str, EnvValue], user_env: Mapping[str, EnvValue]) -> None:
        """Add the logging env to a container's env; the user's env may not set the names JsonLogs owns."""
        for name in self.env:
            if name in user_env:
                check.fail("env", name, f"is set by {OWNED_ENV[name]}", "names JsonLogs does not own", "drop the variable")
        env.update(self.env)


def formatter_source() -> str:
    """The stdlib-only formatter module shipped to the pod."""
    return files("vllm_constructs.scripts").joinpath(f"{FORMATTER_MODULE}.py").read_text()


def logging_config(logs: JsonLogs, exclude_paths: tuple[str, ...]) -> JsonObject:
    """The dictConfig vLLM (and uvicorn, from the same file) apply: every record through one JSON handler on stdout."""
    formatter = {"()": f"{FORMATTER_MODULE}.JsonFormatter", "request_fields": logs.request_fields, "capture_warnings": True}
    filters: JsonObject = {"access_paths": {"()": f"{FORMATTER_MODULE}.AccessPathFilter", "exclude": list(exclude_paths)}}
    if not logs.log_prompts:
        filters["no_prompts"] = {"()": f"{FORMATTER_MODULE}.NoPromptFilter"}
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "default", "filters": sorted(filters)}
    others = logs.level if logs.level not in (LogLevel.DEBUG, LogLevel.INFO) else LogLevel.WARNING
    return {
        "version": 1,
        "disable_existing_loggers": False,
        # uvicorn sets use_colors on formatters named 'default' and 'access' when asked for colours: both exist
        "formatters": {"default": formatter, "access": dict(formatter)},
        "filters": filters,
        "handlers": {"json": handler},
        "loggers": {
            "vllm": {"handlers": ["json"], "level": str(logs.level), "propagate": False},
            "uvicorn": {"handlers": ["json"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO", "propagate": True},
            "uvicorn.access": {"level": "INFO", "propagate": True},
        },
        "root": {"handlers": ["json"], "level": str(others)},
    }


def check_engine_flags(check: Checker, logs: JsonLogs, engine: EngineArgs) -> None:
    """Refuse logging flags in extra_args that JsonLogs renders or that a logging file overrides, and generated text
    in the log unless prompts were asked for."""
    for flag in engine.extra_flags:
        dest = flag.dest.split(".", 1)[0]
        if dest in _LOGGING_FLAGS:
            check.fail(
                "engine.extra_args",
                flag.option,
                "contradicts json_logs, which configures vLLM's logging from its own file",
                "flags other than the logging flags while json_logs is set",
                f"use {_LOGGING_FLAGS[dest]}, or drop json_logs",
            )
        if dest == "enable_log_outputs" and not logs.log_prompts:
            check.fail(
                "engine.extra_args",
                flag.option,
                "logs generated text (user data) at INFO, which json_logs keeps out of the log unless prompts are asked for",
                "--enable-log-outputs only with JsonLogs(log_requests=True, log_prompts=True, level='DEBUG')",
                "drop the flag, or ask for prompts in the log explicitly",
            )


def plan_json_logs(check: Checker, props: LoggedServer, labels: Mapping[str, str]) -> LogsPlan:
    """The ConfigMap (logging file and formatter module), its read-only volume, env, flags and the roll annotation;
    an empty plan without ``props.json_logs``."""
    logs = props.json_logs
    if logs is None:
        return LogsPlan()
    check_engine_flags(check, logs, props.engine)
    exclude = logs.exclude_paths if logs.exclude_paths is not None else tuple(dict.fromkeys((props.health.path, METRICS_PATH)))
    data = {
        CONFIG_KEY: json.dumps(logging_config(logs, exclude), indent=2, sort_keys=True) + "\n",
        f"{FORMATTER_MODULE}.py": formatter_source(),
    }
    name = f"{props.name}-logging"
    source = {"configMap": {"name": name, "defaultMode": 0o444}}
    volume = Volume(name="logging", mount_path=LOGGING_MOUNT, source=source, read_only=True)
    env: dict[str, EnvValue] = {
        "VLLM_CONFIGURE_LOGGING": "1",
        "VLLM_LOGGING_CONFIG_PATH": f"{LOGGING_MOUNT}/{CONFIG_KEY}",
        "VLLM_LOGGING_LEVEL": str(logs.level),
        "PYTHONPATH": LOGGING_MOUNT,
    }
    args: list[str] = []
    if logs.log_requests:
        args.append("--enable-log-requests")
    if logs.max_log_len is not None:
        args += ["--max-log-len", str(logs.max_log_len)]
    annotations = {HASH_ANNOTATION: content_hash(data)}
    return LogsPlan(config_map("Logging", name, labels, data), (volume,), env, tuple(args), annotations)
