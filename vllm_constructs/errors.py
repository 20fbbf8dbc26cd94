"""The one error type that vllm-constructs raises for bad input."""

from __future__ import annotations

__all__ = ["ConfigError"]


class ConfigError(ValueError):
    """Bad input to a construct, raised before any object is added to the tree.

    The message always has the same shape so that people and tools can read it::

        <construct path>: <field>=<value> <problem>. Allowed: <allowed>. Fix: <fix>.

    The parts are also available as attributes.
    """

    def __init__(
        self,
        *,
        path: str,
        field: str,
        value: object,
        problem: str,
        allowed: str,
        fix: str,
    ) -> None:
        self.path = path
        self.field = field
        self.value = value
        self.problem = problem
        self.allowed = allowed
        self.fix = fix
        super().__init__(f"{path}: {field}={value!r} {problem}. Allowed: {allowed}. Fix: {fix}.")
