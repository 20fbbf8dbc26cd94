"""``vllm-constructs plan``: the capacity plan of every server of an app, or of one ad hoc engine.

    vllm-constructs plan apps.main                       # every server of the app (builds it: starts Node)
    vllm-constructs plan --model meta-llama/Llama-3.1-8B-Instruct --gpu NVIDIA-L4 --max-model-len 32768 [--json]

The ad hoc form uses the pure core only (never starts Node). ``--chart FILE.svg`` draws each GPU's memory.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._diff_capacity import autoscaler_of
from .core.capacity.accelerators import GIB, GPU_PRODUCTS, GpuProduct, gpu_product
from .core.capacity.catalog import catalog_names, spec_for_repo
from .core.capacity.engine_plan import DEFAULT_UTILIZATION, EngineInputs, EnginePlan, plan_engine
from .core.capacity.report import memory_chart_svg, plan_table
from .core.capacity.server_plan import _QUANT_BITS
from .core.capacity.spec import ModelSpec, load_model_config
from .errors import ConfigError

__all__ = ["add_plan_parser", "run_plan"]


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return int(text)


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not in (0, 1]")
    return value


def _gib(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 1 <= value <= 4096:
        raise argparse.ArgumentTypeError(f"{text!r} is not between 1 and 4096 GiB")
    return value


def add_plan_parser(sub: Any) -> None:
    """Register the ``plan`` subcommand on the CLI's subparsers."""
    p = sub.add_parser("plan", help="print the GPU memory plan of every server of an app, or of one model on one GPU")
    p.add_argument("app", nargs="?", help="module of a cdk8s app, e.g. apps.main (its build_app() or its app attribute)")
    model = p.add_mutually_exclusive_group()
    model.add_argument("--model", metavar="HF_ID", help="a catalog model, e.g. meta-llama/Llama-3.1-8B-Instruct")
    model.add_argument(
        "--model-config",
        metavar="PATH",
        help="a local config.json (or its folder; model.safetensors.index.json beside it gives exact bytes)",
    )
    gpu = p.add_mutually_exclusive_group()
    gpu.add_argument("--gpu", metavar="PRODUCT", help="a GPU product label value, e.g. NVIDIA-L4, NVIDIA-H100-80GB-HBM3")
    gpu.add_argument("--gpu-memory-gib", type=_gib, metavar="N", help="memory of another accelerator, as CUDA reports it")
    p.add_argument("--tensor-parallel-size", type=_positive, default=1, metavar="N")
    p.add_argument("--pipeline-parallel-size", type=_positive, default=1, metavar="N")
    p.add_argument("--max-model-len", type=_positive, metavar="N", help="default: the model's max_position_embeddings")
    p.add_argument("--gpu-memory-utilization", type=_fraction, default=DEFAULT_UTILIZATION, metavar="F")
    p.add_argument("--weight-bits", type=int, choices=(16, 8, 4), help="bits per weight (default: the checkpoint's)")
    p.add_argument("--quantization", metavar="NAME", help="vLLM's --quantization (fp8, awq, gptq, ...)")
    p.add_argument("--kv-cache-dtype", choices=("auto", "fp8", "fp8_e4m3", "fp8_e5m2"), default="auto")
    p.add_argument("--max-num-batched-tokens", type=_positive, metavar="N", help="default: vLLM's for the GPU class")
    p.add_argument("--max-num-seqs", type=_positive, metavar="N", help="default: vLLM's for the GPU class")
    p.add_argument("--enforce-eager", action="store_true", help="no CUDA graphs: vLLM reserves no CUDA-graph memory")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--chart", metavar="FILE.svg", help="also write an SVG of each GPU's memory")
    p.set_defaults(plan_parser=p)


def run_plan(args: argparse.Namespace) -> int:
    """Run ``plan``: bad arguments end in ``parser.error`` (``error: argument ...``, exit 2)."""
    parser: argparse.ArgumentParser = args.plan_parser
    ad_hoc = args.model or args.model_config or args.gpu or args.gpu_memory_gib
    if args.app and ad_hoc:
        parser.error("argument app: give either an app module or --model/--gpu, not both")
    given = _engine_flags_given(parser, args)
    if args.app and given:
        parser.error(f"argument {given[0]}: an app plans with its own engine args; engine flags go with --model/--gpu only")
    if not args.app and not ad_hoc:
        parser.error("argument app: give an app module (e.g. apps.main) or --model/--model-config with --gpu/--gpu-memory-gib")
    rows = _app_rows(parser, args.app) if args.app else [_ad_hoc_row(parser, args)]
    if args.chart:
        if not args.chart.endswith(".svg"):
            parser.error(f"argument --chart: {args.chart!r} does not end in .svg")
        Path(args.chart).write_text(memory_chart_svg(rows))
    if args.json:
        print(json.dumps(rows if args.app else rows[0], indent=2))
    else:
        sys.stdout.write(plan_table(rows))
    return 0


# ------------------------------------------------------------------------------------------------ ad hoc

_ENGINE_FLAGS = (
    "tensor_parallel_size",
    "pipeline_parallel_size",
    "max_model_len",
    "gpu_memory_utilization",
    "weight_bits",
    "quantization",
    "kv_cache_dtype",
    "max_num_batched_tokens",
    "max_num_seqs",
    "enforce_eager",
)


def _engine_flags_given(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """The ad hoc engine flags set to something other than their default, as the user wrote them."""
    return ["--" + d.replace("_", "-") for d in _ENGINE_FLAGS if getattr(args, d) != parser.get_default(d)]


def _spec(parser: argparse.ArgumentParser, args: argparse.Namespace) -> ModelSpec:
    if args.model_config:
        try:
            return load_model_config(args.model_config)
        except ConfigError as err:
            parser.error(f"argument --model-config: {err}")
    if not args.model:
        parser.error("argument --model: give --model HF_ID or --model-config PATH")
    spec = spec_for_repo(args.model)
    if spec is None:
        parser.error(
            f"argument --model: {args.model!r} is not in the catalog ({len(list(catalog_names()))} models, e.g. "
            "meta-llama/Llama-3.1-8B-Instruct); pass --model-config PATH to its config.json"
        )
    return spec


def _gpu(parser: argparse.ArgumentParser, args: argparse.Namespace) -> GpuProduct:
    if args.gpu_memory_gib:
        return GpuProduct(
            f"{args.gpu_memory_gib:g} GiB accelerator", (f"{args.gpu_memory_gib:g}GiB",), int(args.gpu_memory_gib * GIB), "--gpu-memory-gib"
        )
    if not args.gpu:
        parser.error("argument --gpu: give --gpu PRODUCT or --gpu-memory-gib N")
    product = gpu_product(args.gpu)
    if product is None:
        known = ", ".join(sorted({p.labels[0] for p in GPU_PRODUCTS.values()}))
        parser.error(f"argument --gpu: {args.gpu!r} is not a known product label (known: {known}); pass --gpu-memory-gib N")
    return product


def _weight_bits(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int | None:
    if args.weight_bits:
        return int(args.weight_bits)
    if args.quantization:
        if args.quantization not in _QUANT_BITS:
            parser.error(
                f"argument --quantization: {args.quantization!r} has no known weight width "
                f"(known: {', '.join(sorted(_QUANT_BITS))}); add --weight-bits 16|8|4"
            )
        return _QUANT_BITS[args.quantization]
    return None


def _ad_hoc_row(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, Any]:
    spec, gpu = _spec(parser, args), _gpu(parser, args)
    inputs = EngineInputs(
        tensor_parallel=args.tensor_parallel_size,
        pipeline_parallel=args.pipeline_parallel_size,
        max_model_len=args.max_model_len,
        gpu_memory_utilization=args.gpu_memory_utilization,
        kv_bytes=1 if args.kv_cache_dtype != "auto" else 2,
        weight_bits=_weight_bits(parser, args),
        max_num_batched_tokens=args.max_num_batched_tokens,
        max_num_seqs=args.max_num_seqs,
        large_gpu=gpu.large,
        cuda_graph_reserve=not args.enforce_eager,
    )
    e = plan_engine(spec, gpu.memory_bytes, inputs)
    gpus = args.tensor_parallel_size * args.pipeline_parallel_size
    return {
        "server": None, "model": spec.name, "gpu": args.gpu or gpu.labels[0], "gpu_memory_gib": round(gpu.memory_gib, 2),
        "gpus_per_pod": gpus, "gpus_per_replica": gpus, "gpus": gpus, "gpus_peak_rollout": gpus, "gpus_at_max_replicas": None,
        "weights_gib_per_gpu": round(e.weights_bytes / GIB, 2), "kv_cache_gib_per_gpu": round(e.kv_cache_bytes / GIB, 2),
        "overhead_gib_per_gpu": round(e.overhead_bytes / GIB, 2), "kv_cache_tokens": e.kv_tokens, "max_model_len": e.max_model_len,
        "max_concurrency": round(e.max_concurrency, 2), "fits": e.fits,
        # no pod behind an ad hoc plan: its memory, /dev/shm and startup are unknown
        "memory_limit_gib": None, "shm_gib": None, "host_memory_estimate_gib": None, "estimated_startup_seconds": None,
        "startup_budget_seconds": None, "unknown": [], **engine_details(e),
    }  # fmt: skip


def engine_details(e: EnginePlan | None) -> dict[str, Any]:
    """What ``plan --json`` adds to the annotation's keys, in both modes: the engine's per-token and batch figures."""
    return {
        "kv_bytes_per_token_per_gpu": e.kv_bytes_per_token if e else None,
        "fits_weights": e.fits_weights if e else None,
        "max_num_batched_tokens": e.max_num_batched_tokens if e else None,
        "max_num_seqs": e.max_num_seqs if e else None,
    }


# ------------------------------------------------------------------------------------------------ app


def _app_rows(parser: argparse.ArgumentParser, module_name: str) -> list[dict[str, Any]]:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        parser.error(f"argument app: cannot import {module_name!r} ({err})")
    factory = getattr(module, "build_app", None)
    app = factory() if callable(factory) else getattr(module, "app", None)
    if app is None or not hasattr(app, "charts"):
        parser.error(f"argument app: {module_name!r} has neither build_app() nor an app attribute holding a cdk8s.App")
    return app_plans(app)


def app_plans(app: Any) -> list[dict[str, Any]]:
    """The plan of every vLLM server in a cdk8s App (reads each server's facts and its chart's objects)."""
    from .core.capacity.server_plan import ANNOTATION, capacity_plan  # noqa: PLC0415
    from .core.serving import ServingFacts  # noqa: PLC0415

    rows: list[dict[str, Any]] = []
    for chart in app.charts:
        docs = [d for d in chart.to_json() if d]
        for construct in chart.node.find_all():
            facts = getattr(construct, "serving", None)
            if not isinstance(facts, ServingFacts):
                continue
            workload = _workload(docs, facts.server_name, ANNOTATION)
            plan = capacity_plan(facts, workload=workload, max_replicas=_max_replicas(docs, workload))
            if plan is not None:
                rows.append({"server": f"{chart.node.id}/{facts.server_name}", **plan.to_json(), **engine_details(plan.engine)})
    return rows


def _workload(docs: list[Mapping[str, Any]], server: str, annotation: str) -> Mapping[str, Any] | None:
    for doc in docs:
        meta = doc.get("metadata") or {}
        if annotation in (meta.get("annotations") or {}) and (meta.get("labels") or {}).get("app.kubernetes.io/instance") == server:
            return doc
    return None


def _max_replicas(docs: list[Mapping[str, Any]], workload: Mapping[str, Any] | None) -> int | None:
    """The most replicas an HPA or ScaledObject of the chart allows the workload (read as ``diff`` reads them)."""
    if workload is None:
        return None
    wanted = (str(workload.get("kind")), str((workload.get("metadata") or {}).get("name")))
    for doc in docs:
        api_version = str(doc.get("apiVersion") or "")
        group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
        found = autoscaler_of(group, str(doc.get("kind")), dict(doc))
        if found is not None and found.target[1:] == wanted:
            return found.maximum
    return None
