"""The chart's three probes as :class:`~vllm_constructs.core.values.HealthChecks`: HTTP GETs on the serving port
(named http), one path and one timeout for all three, a startup budget that gates the other two.

What HealthChecks cannot express is refused by key with the reason: another handler (exec, tcpSocket, grpc; refused
by the key table before this), HTTPS, another port, a success threshold above 1, paths or timeouts that differ."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..core.values import HealthChecks
from .sources import Key, Origins
from .values import ChartValues, Probe

__all__ = ["health_checks"]

_NAMES = ("readinessProbe", "livenessProbe", "startupProbe")
_FIELDS: dict[str, Key] = {
    "readiness_period_seconds": ("readinessProbe", "periodSeconds"),
    "readiness_failure_threshold": ("readinessProbe", "failureThreshold"),
    "liveness_period_seconds": ("livenessProbe", "periodSeconds"),
    "liveness_failure_threshold": ("livenessProbe", "failureThreshold"),
    "startup_period_seconds": ("startupProbe", "periodSeconds"),
    "startup_timeout_seconds": ("startupProbe", "failureThreshold"),
    "timeout_seconds": ("readinessProbe", "timeoutSeconds"),
    "path": ("readinessProbe", "httpGet", "path"),
}


def _probes(values: ChartValues) -> Iterator[tuple[str, Probe]]:
    for name, probe in zip(_NAMES, (values.readiness_probe, values.liveness_probe, values.startup_probe), strict=True):
        if probe is not None:
            yield name, probe


def _check_handler(name: str, probe: Probe, values: ChartValues, origins: Origins) -> None:
    get = probe.http_get
    if get is None:
        origins.fail(
            (name, "httpGet"),
            None,
            "is null and the probe has no other handler",
            "an httpGet (the other handlers are refused)",
            f"remove {name}.httpGet: null, or set {name}: null",
        )
    if get.scheme == "HTTPS":
        origins.fail(
            (name, "httpGet", "scheme"), "HTTPS", "asks for TLS, but vLLM serves plain HTTP on this port", "HTTP", "remove the scheme"
        )
    serving = {values.container_port, 8000, "container-port", "http"}
    if get.port is not None and get.port not in serving:
        origins.fail(
            (name, "httpGet", "port"),
            get.port,
            "is not the serving port, the only port HealthChecks probes",
            f"the serving port ({values.container_port}, 8000 as the chart's default, 'container-port' or 'http')",
            "probe the serving port (it is rendered as the port named http)",
        )
    if probe.success_threshold not in (None, 1):
        origins.fail(
            (name, "successThreshold"), probe.success_threshold, "asks for several successes in a row", "1", "remove successThreshold"
        )


def _agree(field: str, key: str, found: list[tuple[str, Any]], origins: Origins) -> Any:
    """The one value of a setting the probes share; refuse when two probes set it differently."""
    values = {value for _, value in found}
    if len(values) > 1:
        (first, a), (second, b) = found[0], next(f for f in found if f[1] != found[0][1])
        origins.fail(
            (second, *key.split(".")),
            b,
            f"differs from {first}.{key} ({a!r}), but our probes share one {field}",
            f"the same {field} in every probe",
            f"use {a!r} everywhere",
        )
    return found[0][1] if found else None


def _timing(name: str, probe: Probe, kwargs: dict[str, Any]) -> None:
    if name == "startupProbe":
        period = probe.period_seconds or 10
        budget = (probe.initial_delay_seconds or 0) + period * (probe.failure_threshold or 3)
        kwargs["startup_period_seconds"] = period
        kwargs["startup_timeout_seconds"] = max(budget, period)
        return
    kind = name.removesuffix("Probe")
    if probe.period_seconds is not None:
        kwargs[f"{kind}_period_seconds"] = probe.period_seconds
    if probe.failure_threshold is not None:
        kwargs[f"{kind}_failure_threshold"] = probe.failure_threshold


def health_checks(values: ChartValues, origins: Origins) -> tuple[HealthChecks, list[str]]:
    """HealthChecks for the chart's probes, and a notice for every probe the values set to null (ours stays)."""
    kwargs: dict[str, Any] = {}
    notices: list[str] = []
    for name, probe in _probes(values):
        _check_handler(name, probe, values, origins)
        _timing(name, probe, kwargs)
    probes = list(_probes(values))
    path = _agree("path", "httpGet.path", [(n, p.http_get.path) for n, p in probes if p.http_get and p.http_get.path], origins)
    timeout = _agree("timeout", "timeoutSeconds", [(n, p.timeout_seconds) for n, p in probes if p.timeout_seconds], origins)
    if path is not None:
        kwargs["path"] = path
    if timeout is not None:
        kwargs["timeout_seconds"] = timeout
    for name in _NAMES:
        if origins.given((name,)) and getattr(values, _attr(name)) is None:
            notices.append(
                f"notice: {name}: null keeps the server's own {name} (HealthChecks): "
                "a vLLM server always has startup, readiness and liveness probes"
            )
    checks = origins.within(_FIELDS, lambda: HealthChecks(**kwargs), ("readinessProbe",))
    return checks, notices


def _attr(name: str) -> str:
    return {"readinessProbe": "readiness_probe", "livenessProbe": "liveness_probe", "startupProbe": "startup_probe"}[name]
