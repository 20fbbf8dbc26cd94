"""vLLM engine arguments: the typed flags of ``vllm serve`` and ``extra_args``, the one escape hatch, read the way
vLLM's own argument parser reads it."""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator

from ..vllm_flags import load_table
from .validation import Redacted, fail, in_range, looks_like_secret, number_range, problem, value_class
from .values import Lax
from .vllm_cli import ReadFlag, read_serve_args, table_version

__all__ = ["Dtype", "EngineArgs", "KvCacheDtype", "TYPED_FLAGS"]

MAX_CONTEXT = 2**24
"""Largest max_model_len accepted (16M tokens, above every released model's context)."""


class Dtype(enum.StrEnum):
    """Weights and activations precision (``--dtype``)."""

    AUTO = "auto"
    HALF = "half"
    FLOAT16 = "float16"
    BFLOAT16 = "bfloat16"
    FLOAT = "float"
    FLOAT32 = "float32"


class KvCacheDtype(enum.StrEnum):
    """KV cache precision (``--kv-cache-dtype``)."""

    AUTO = "auto"
    BFLOAT16 = "bfloat16"
    FLOAT16 = "float16"
    FP8 = "fp8"
    FP8_E4M3 = "fp8_e4m3"
    FP8_E5M2 = "fp8_e5m2"


# Every vLLM option that a typed prop (or the construct) renders, by vLLM's dest name, with what to set instead.
TYPED_FLAGS: dict[str, str] = {
    "model": "the model source",
    "model_tag": "the model source",
    "served_model_name": "engine.served_model_name",
    "tensor_parallel_size": "engine.tensor_parallel_size",
    "pipeline_parallel_size": "engine.pipeline_parallel_size",
    "data_parallel_size": "engine.data_parallel_size",
    "max_model_len": "engine.max_model_len",
    "gpu_memory_utilization": "engine.gpu_memory_utilization",
    "dtype": "engine.dtype",
    "kv_cache_dtype": "engine.kv_cache_dtype",
    "quantization": "engine.quantization",
    "enforce_eager": "engine.enforce_eager",
    "trust_remote_code": "engine.trust_remote_code",
    "host": "(the construct binds 0.0.0.0)",
    "port": "the server's port prop",
    "api_key": "api_key (a SecretKeyRef)",
    "hf_token": "hf_token (a SecretKeyRef)",
    "distributed_executor_backend": "(set by the construct)",
    "enable_lora": "the server's lora adapters",
    "lora_modules": "the server's lora adapters",
    "max_loras": "the server's lora adapters (max_loras)",
    "max_lora_rank": "the server's lora adapters (max_lora_rank)",
    "max_cpu_loras": "the server's lora adapters (max_cpu_loras)",
}


def _served(value: str) -> str:
    if not value or len(value) > 256 or re.search(r"[\s\x00-\x1f]", value):
        raise problem("served_name", "is empty or has spaces", "a non-empty name without spaces", "use e.g. 'llama-3.1-8b'")
    return value


def _quantization(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9_-]{1,64}", value):
        raise problem(
            "quantization",
            "is not a quantization method name",
            "a vLLM method such as 'fp8', 'awq' or 'gptq'",
            "use the name vLLM documents",
        )
    return value


def _arg(value: str) -> str:
    if re.search(r"[\x00\n\r]", value):
        raise problem("arg", "holds a NUL or newline", "one command-line argument per item", "split the argument")
    return value


@value_class(kw_only=True)
class EngineArgs:
    """vLLM engine arguments rendered into ``vllm serve``. ``extra_args`` is the one escape hatch."""

    served_model_name: Annotated[str, AfterValidator(_served)] | None = None
    """Name clients use in requests. Default: the source's (repo id or folder name)."""
    tensor_parallel_size: Annotated[int, in_range(1, 256)] = 1
    """Default: 1."""
    pipeline_parallel_size: Annotated[int, in_range(1, 64)] = 1
    """Default: 1."""
    data_parallel_size: Annotated[int, in_range(1, 64)] = 1
    """Engine replicas inside one pod (each uses tensor x pipeline accelerators). Default: 1."""
    max_model_len: Annotated[int, in_range(1, MAX_CONTEXT)] | None = None
    """Default: vLLM's (from the model config)."""
    gpu_memory_utilization: Annotated[float, number_range(0, 1, low_open=True)] | None = None
    """Fraction of accelerator memory vLLM may use, in (0, 1]. Default: vLLM's (0.92 in 0.33)."""
    dtype: Annotated[Dtype, Lax] | None = None
    """Default: vLLM's (auto)."""
    kv_cache_dtype: Annotated[KvCacheDtype, Lax] | None = None
    """Default: vLLM's (auto: the model's dtype)."""
    quantization: Annotated[str, AfterValidator(_quantization)] | None = None
    """e.g. 'fp8', 'awq'. Default: none."""
    enforce_eager: bool = False
    """Skip CUDA graphs (faster start, slower decode). Default: False."""
    trust_remote_code: bool = False
    """Default: False."""
    extra_args: tuple[Annotated[str, AfterValidator(_arg)], ...] = ()
    """More flags, verbatim, read as vLLM's own parser reads them (the packaged table of ``vllm serve``): known flags
    with valid values only, never one a typed prop renders, never a secret. Default: none."""
    unchecked_args: tuple[Annotated[str, AfterValidator(_arg)], ...] = ()
    """Flags the packaged parser table does not know yet (e.g. new in the image's vLLM), passed after extra_args
    without the table check; still refused when one is known to the table, names a typed flag or holds a secret.
    Default: none."""

    def __post_init__(self) -> None:
        read = read_serve_args(self.extra_args, model_first=False)
        if read.problems:
            first = read.problems[0]
            fail("extra_args", first.token, first.problem, first.allowed, first.fix)
        for flag in read.flags:
            if flag.dest in TYPED_FLAGS:
                fail(
                    "extra_args",
                    flag.option,
                    f"repeats or contradicts a flag the construct renders from {TYPED_FLAGS[flag.dest]}",
                    "flags without a typed prop",
                    f"set {TYPED_FLAGS[flag.dest]} instead",
                )
        _check_unchecked(self.unchecked_args)
        _check_typed_against_table(self)

    @property
    def world_size(self) -> int:
        """Accelerators one pod's engine uses: tensor x pipeline x data parallel."""
        return self.tensor_parallel_size * self.pipeline_parallel_size * self.data_parallel_size

    @property
    def extra_flags(self) -> tuple[ReadFlag, ...]:
        return read_serve_args(self.extra_args, model_first=False).flags

    def to_args(self, *, model_path: str, served_name: str, port: int) -> list[str]:
        args = [model_path, "--served-model-name", served_name, "--host", "0.0.0.0", "--port", str(port)]
        for flag, value, default in (
            ("--tensor-parallel-size", self.tensor_parallel_size, 1),
            ("--pipeline-parallel-size", self.pipeline_parallel_size, 1),
            ("--data-parallel-size", self.data_parallel_size, 1),
        ):
            if value != default:
                args += [flag, str(value)]
        if self.max_model_len is not None:
            args += ["--max-model-len", str(self.max_model_len)]
        if self.gpu_memory_utilization is not None:
            args += ["--gpu-memory-utilization", repr(float(self.gpu_memory_utilization))]
        for flag, text in (("--dtype", self.dtype), ("--kv-cache-dtype", self.kv_cache_dtype), ("--quantization", self.quantization)):
            if text is not None:
                args += [flag, str(text)]
        if self.enforce_eager:
            args.append("--enforce-eager")
        if self.trust_remote_code:
            args.append("--trust-remote-code")
        return args + list(self.extra_args) + list(self.unchecked_args)


_TYPED_OPTIONS = {
    "--dtype": "dtype",
    "--kv-cache-dtype": "kv_cache_dtype",
    "--quantization": "quantization",
    "--max-model-len": "max_model_len",
}


def _check_typed_against_table(engine: EngineArgs) -> None:
    """The typed flags as rendered, read by the parser table: a value vLLM would refuse (e.g. an unknown
    quantization method) is refused on its field."""
    typed = dataclasses.replace(engine, extra_args=(), unchecked_args=()) if engine.extra_args or engine.unchecked_args else engine
    rendered = tuple(typed.to_args(model_path="model", served_name="served", port=8000))
    for refused in read_serve_args(rendered, model_first=True).problems:
        name = _TYPED_OPTIONS.get(str(refused.token), "extra_args")
        fail(name, getattr(engine, name, refused.token), refused.problem, refused.allowed, refused.fix)


def _check_unchecked(args: tuple[str, ...]) -> None:
    for arg in args:
        if looks_like_secret(arg):
            fail(
                "unchecked_args",
                Redacted("str"),
                "holds a secret; it would be written into the manifests",
                "no secrets in engine args",
                "pass secrets as SecretKeyRef props",
            )
        if not arg.startswith("-"):
            continue
        option = arg.split("=", 1)[0]
        dest = option.lstrip("-").replace("-", "_").removeprefix("no_")
        if dest in TYPED_FLAGS:
            fail(
                "unchecked_args",
                option,
                f"names a flag the construct renders from {TYPED_FLAGS[dest]}",
                "flags without a typed prop",
                f"set {TYPED_FLAGS[dest]} instead",
            )
        if option in load_table().options:
            fail(
                "unchecked_args",
                option,
                f"is a flag vllm serve {table_version()} knows, so it can be checked",
                "only flags the parser table does not know",
                "move it to extra_args",
            )


@dataclass(frozen=True, slots=True)
class ArgsCheck:
    """Flags a workload renders itself, refused in extra_args with the reason (e.g. multi-node flags)."""

    dests: frozenset[str]
    reason: str
    fix: str

    def refuse(self, extra: Sequence[ReadFlag], field_name: str = "engine.extra_args") -> None:
        for flag in extra:
            if flag.dest in self.dests:
                flags = ", ".join(f"--{dest.replace('_', '-')}" for dest in sorted(self.dests))
                fail(field_name, flag.option, self.reason, f"flags other than {flags}", self.fix)
