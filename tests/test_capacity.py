"""The capacity plan: model facts, GPU facts, the engine memory plan against vLLM's own logs, the synth-time refusal,
the annotation and lint rules, and the `vllm-constructs plan` command."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from apps.main import build_app
from vllm_constructs import EngineArgs, GpuProductAffinity, ModelSource, PodOptions, Resources, VllmServerProps
from vllm_constructs.core.capacity import (
    ANNOTATION,
    CATALOG,
    GPU_PRODUCTS,
    ModelSpec,
    gpu_product,
    load_model_config,
    plan_engine,
    smallest_gpu,
    spec_for,
    spec_for_repo,
    spec_from_hf_config,
)
from vllm_constructs.core.capacity.engine_plan import EngineInputs
from vllm_constructs.core.capacity.report import memory_chart_svg, plan_table
from vllm_constructs.core.capacity.server_plan import _QUANT_BITS
from vllm_constructs.core.server import plan_server
from vllm_constructs.errors import ConfigError
from vllm_constructs.lint import lint
from vllm_constructs.plan_cli import app_plans

GIB = 2**30
ROOT = Path(__file__).resolve().parent.parent
CALIBRATION = yaml.safe_load((ROOT / "tests/data/capacity-calibration.yaml").read_text())
LLAMA_8B = "meta-llama/Llama-3.1-8B-Instruct"
REV = "0e9e39f249a16976918f6564b8830bc894c89659"


# ------------------------------------------------------------------------------------------------ calibration


def _spec(row: dict[str, Any]) -> ModelSpec:
    spec = ModelSpec(name=row["model"], **row["spec"]) if "spec" in row else spec_for_repo(row["model"])
    assert spec is not None, row["model"]
    return spec


def _predict(row: dict[str, Any]) -> Any:
    spec = _spec(row)
    gpu = gpu_product(row["gpu"]) if "gpu" in row else None
    memory = gpu.memory_bytes if gpu else int(row["gpu_memory_gib"] * GIB)
    inputs = EngineInputs(
        tensor_parallel=row["tensor_parallel"], pipeline_parallel=row["pipeline_parallel"], max_model_len=row["max_model_len"],
        gpu_memory_utilization=row["gpu_memory_utilization"], kv_bytes=1 if row["kv_cache_dtype"] != "auto" else 2,
        weight_bits=_QUANT_BITS.get(row["quantization"] or ""), max_num_batched_tokens=row["max_num_batched_tokens"],
        max_num_seqs=row["max_num_seqs"], large_gpu=bool(gpu and gpu.large), cuda_graph_reserve=row.get("cuda_graph_reserve", False),
    )  # fmt: skip
    return plan_engine(spec, memory, inputs)


def _error(row: dict[str, Any]) -> float:
    """Relative error of the prediction on the row's scored figure (KV tokens, or KV memory where only that is logged)."""
    plan, logged = _predict(row), row["logged"]
    if row["score"] == "kv_tokens":
        return (plan.kv_tokens - logged["kv_tokens"]) / max(logged["kv_tokens"], 16)
    return (plan.kv_budget_bytes / GIB - logged["kv_cache_gib"]) / logged["kv_cache_gib"]


SCORED = [r for r in CALIBRATION["rows"] if r["score"] != "refusal"]
INPUTS = ("url", "vllm", "model", "tensor_parallel", "pipeline_parallel", "max_model_len", "gpu_memory_utilization",
          "max_num_batched_tokens", "max_num_seqs", "quantization", "kv_cache_dtype", "logged", "quote", "score",
          "vllm_started")  # fmt: skip


@pytest.mark.parametrize("row", CALIBRATION["rows"], ids=[r["id"] for r in CALIBRATION["rows"]])
def test_calibration_row_within_15_percent_and_refusals_predicted(row: dict[str, Any]) -> None:
    plan = _predict(row)
    if row["score"] == "kv_tokens" and row["logged"]["kv_tokens"] == 0:
        assert plan.kv_tokens == 0
    elif row["score"] != "refusal":
        assert abs(_error(row)) <= 0.15, (row["id"], _error(row))
    assert plan.fits is row["vllm_started"], "every launch vLLM refused must be predicted as not fitting, and the others as fitting"


def test_calibration_covers_the_configurations_and_cites_every_input() -> None:
    rows = CALIBRATION["rows"]
    assert len(SCORED) >= 12 and sum(not r["vllm_started"] for r in rows) >= 3
    for row in rows + CALIBRATION["outliers"]:
        missing = [k for k in INPUTS if k not in row and not (k in ("quote", "score") and "why_not_scored" in row)]
        assert not missing and ("gpu" in row) != ("gpu_memory_gib" in row), (row["id"], missing)
        assert row["url"].startswith("https://github.com/") and row["vllm"], row["id"]
    started = [r for r in SCORED if r["vllm_started"]]
    assert any(r.get("gpu") == "NVIDIA-H100-80GB-HBM3" for r in started)
    assert any(r["pipeline_parallel"] > 1 for r in SCORED) and any(r["tensor_parallel"] >= 4 for r in started)
    assert any(r["kv_cache_dtype"] == "fp8" for r in started)
    quantized = [r for r in started if _QUANT_BITS.get(r["quantization"] or "", 16) < 16 or _spec(r).weight_bits < 16]
    assert len(quantized) >= 3, "fp8 checkpoints and fp8 quantization at load that started"
    assert all(r["why_not_scored"] for r in CALIBRATION["outliers"])


def test_calibration_figures_are_the_documented_ones() -> None:
    """docs/capacity.md states the rows, the max and median error: they are what the rows give."""
    errors = sorted(abs(_error(r)) for r in SCORED if r["logged"].get("kv_tokens", 1) != 0)
    doc = (ROOT / "docs/capacity.md").read_text()
    median = errors[len(errors) // 2] if len(errors) % 2 else (errors[len(errors) // 2 - 1] + errors[len(errors) // 2]) / 2
    assert f"{len(CALIBRATION['rows'])} rows" in doc and f"max {100 * errors[-1]:.1f}%" in doc and f"median {100 * median:.1f}%" in doc
    assert all(f"`{r['id']}`" in doc for r in CALIBRATION["rows"] + CALIBRATION["outliers"])


# ------------------------------------------------------------------------------------------------ model facts

REQUIRED = [
    "meta-llama/Llama-2-7b-hf", "meta-llama/Llama-2-70b-hf", LLAMA_8B, "meta-llama/Llama-3.1-70B-Instruct",
    "meta-llama/Llama-3.1-405B-Instruct", "meta-llama/Llama-3.3-70B-Instruct", "Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-14B-Instruct",
    "Qwen/Qwen2.5-32B-Instruct", "Qwen/Qwen2.5-72B-Instruct", "Qwen/Qwen3-8B", "Qwen/Qwen3-14B", "Qwen/Qwen3-32B", "Qwen/Qwen3-30B-A3B",
    "Qwen/Qwen3-235B-A22B", "mistralai/Mistral-7B-Instruct-v0.3", "mistralai/Mixtral-8x7B-Instruct-v0.1",
    "mistralai/Mixtral-8x22B-Instruct-v0.1", "deepseek-ai/DeepSeek-R1", "deepseek-ai/DeepSeek-R1-Distill-Llama-8B",
    "deepseek-ai/DeepSeek-R1-Distill-Llama-70B", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B",
    "google/gemma-2-9b-it", "google/gemma-2-27b-it", "microsoft/phi-4", "microsoft/Phi-3-mini-4k-instruct",
]  # fmt: skip


@pytest.mark.parametrize("repo", REQUIRED)
def test_catalog_shape_reproduces_the_published_parameter_count(repo: str) -> None:
    spec = spec_for_repo(repo.upper())  # case-insensitive
    assert spec is not None and spec.parameters is not None
    assert abs(spec.estimated_parameters() - spec.parameters) <= 0.02 * spec.parameters
    assert spec.source.startswith("https://huggingface.co/")


def test_catalog_source_lookup_and_quantized_copies() -> None:
    source = ModelSource.huggingface(LLAMA_8B.lower(), revision=REV)
    assert spec_for(source) is CATALOG[LLAMA_8B.lower()]
    assert spec_for(ModelSource.pvc("models")) is None
    fp8 = spec_for_repo("neuralmagic/Meta-Llama-3.1-70B-Instruct-FP8")
    assert fp8 is not None and fp8.weight_bits == 8 and fp8.num_hidden_layers == 80
    assert spec_for_repo("someone/unknown-model-AWQ") is None


def test_kv_bytes_per_token_splits_heads_and_replicates_past_the_kv_heads() -> None:
    llama70 = CATALOG["meta-llama/llama-3.1-70b-instruct"]
    assert llama70.kv_bytes_per_token() == 80 * 8 * 128 * 2 * 2
    assert llama70.kv_bytes_per_token(tensor_parallel=4) == 80 * 2 * 128 * 2 * 2
    assert llama70.kv_bytes_per_token(tensor_parallel=16) == 80 * 1 * 128 * 2 * 2  # 8 KV heads: replicated beyond TP 8
    assert llama70.kv_bytes_per_token(pipeline_parallel=3, kv_bytes=1) == 27 * 8 * 128 * 2
    r1 = CATALOG["deepseek-ai/deepseek-r1"]
    assert r1.kv_bytes_per_token(tensor_parallel=8) == 61 * (512 + 64) * 2  # latent attention: not split by TP


def test_config_json_with_index_gives_exact_weights(tmp_path: Path) -> None:
    config = {"hidden_size": 1024, "num_hidden_layers": 4, "num_attention_heads": 8, "num_key_value_heads": 2, "intermediate_size": 4096,
              "vocab_size": 1000, "max_position_embeddings": 8192, "torch_dtype": "bfloat16", "_name_or_path": "acme/tiny"}  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps(config))
    spec = load_model_config(tmp_path)
    assert (spec.name, spec.weight_bytes, spec.kv_bytes_per_token()) == ("acme/tiny", None, 4 * 2 * 128 * 2 * 2)
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": 123456789}}))
    assert load_model_config(tmp_path / "config.json").weight_bytes_at() == 123456789
    fp8 = spec_from_hf_config({**config, "quantization_config": {"quant_method": "fp8"}}, name="x")
    assert fp8.weight_bits == 8


def test_bad_config_json_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match="cannot be read as JSON"):
        load_model_config(tmp_path)
    with pytest.raises(ConfigError, match="hidden_size"):
        spec_from_hf_config({"num_hidden_layers": 2}, name="x")
    with pytest.raises(ConfigError, match="num_key_value_heads"):
        ModelSpec(name="x", hidden_size=64, num_hidden_layers=1, num_attention_heads=6, num_key_value_heads=4,
                  intermediate_size=64, vocab_size=10, max_position_embeddings=16)  # fmt: skip


# ------------------------------------------------------------------------------------------------ GPU facts


def test_gpu_products_by_node_label() -> None:
    assert gpu_product("NVIDIA-L4").memory_gib == pytest.approx(22.05)  # type: ignore[union-attr]
    assert gpu_product("nvidia-a100-sxm4-80gb-SHARED") is gpu_product("NVIDIA-A100-SXM4-80GB")
    assert gpu_product("NVIDIA-A100-SXM4-40GB-MIG-1g.5gb") is None
    for label in ("NVIDIA-A10G", "NVIDIA-L40S", "NVIDIA-A40", "NVIDIA-H100-80GB-HBM3", "NVIDIA-H200", "NVIDIA-B200",
                  "NVIDIA-GeForce-RTX-3090", "NVIDIA-GeForce-RTX-4090", "AMD_Instinct_MI300X"):  # fmt: skip
        assert gpu_product(label) is not None, label
    product, unknown = smallest_gpu(("NVIDIA-H100-80GB-HBM3", "NVIDIA-L4"))
    assert product is gpu_product("NVIDIA-L4") and unknown == ()
    assert smallest_gpu(("NVIDIA-L4", "ACME-X1")) == (None, ("ACME-X1",))
    assert gpu_product("NVIDIA-H100-80GB-HBM3").large and not gpu_product("NVIDIA-A100-SXM4-80GB").large  # type: ignore[union-attr]


GPU_FIGURES = {  # label -> (MiB the entry holds, basis): the figures docs/capacity.md cites
    "NVIDIA-T4": (14909, "cuda"), "NVIDIA-A10G": (22712, "same-memory"), "NVIDIA-A10": (22712, "cuda"), "NVIDIA-L4": (22579, "cuda"),
    "NVIDIA-GeForce-RTX-3090": (24145, "cuda"), "NVIDIA-GeForce-RTX-4090": (24207, "cuda"), "NVIDIA-A40": (45465, "same-memory"),
    "NVIDIA-L40S": (45465, "same-memory"), "NVIDIA-L40": (45465, "cuda"), "NVIDIA-RTX-A6000": (45776, "datasheet"),
    "NVIDIA-A100-SXM4-40GB": (40325, "cuda"), "NVIDIA-A100-SXM4-80GB": (81251, "cuda"), "NVIDIA-H100-80GB-HBM3": (81090, "cuda"),
    "NVIDIA-H100-NVL": (95330, "nvidia-smi"), "NVIDIA-H200": (143771, "nvidia-smi"), "NVIDIA-B200": (183359, "nvidia-smi"),
    "AMD_Instinct_MI300X": (196592, "nvidia-smi"),
}  # fmt: skip


@pytest.mark.parametrize("label", GPU_FIGURES)
def test_gpu_memory_figures_cite_their_source(label: str) -> None:
    product = gpu_product(label)
    assert product is not None and (product.memory_mib, product.basis) == GPU_FIGURES[label]
    assert "https://" in product.source
    doc = (ROOT / "docs/capacity.md").read_text()
    assert f"| {product.name} |" in doc and f"{product.memory_mib:,}" in doc, product.name


def test_every_gpu_product_has_a_figure_and_a_basis() -> None:
    assert {p.name for p in GPU_PRODUCTS.values()} == {gpu_product(label).name for label in GPU_FIGURES}  # type: ignore[union-attr]
    assert all(p.basis in {"cuda", "nvidia-smi", "same-memory", "datasheet"} for p in GPU_PRODUCTS.values())


# ------------------------------------------------------------------------------------------------ overhead model terms

LLAMA_8B_SPEC = CATALOG[LLAMA_8B.lower()]


def _h100(**kw: Any) -> Any:
    inputs = EngineInputs(**{"max_model_len": 8192, "gpu_memory_utilization": 0.95, "large_gpu": True, "cuda_graph_reserve": False, **kw})
    return plan_engine(LLAMA_8B_SPEC, gpu_product("NVIDIA-H100-80GB-HBM3").memory_bytes, inputs)  # type: ignore[union-attr]


def test_sampler_peak_is_16_bytes_per_logit_of_max_num_seqs() -> None:
    plan = _h100()
    assert (plan.max_num_batched_tokens, plan.max_num_seqs) == (8192, 1024)
    assert plan.activation_bytes == 1024 * 128256 * 16  # the sampler, not the 8192-token forward, sets the peak
    assert _h100(max_num_seqs=64).activation_bytes == 8192 * 2 * (3 * 4096 + 3 * 14336)  # the forward when seqs are few


def test_tensor_parallel_adds_all_reduce_buffers_on_large_gpus_only() -> None:
    assert _h100().runtime_bytes == int(0.4 * GIB)
    assert _h100(tensor_parallel=2).runtime_bytes == int(0.4 * GIB) + int(1.75 * GIB)
    assert _h100(tensor_parallel=2, large_gpu=False).runtime_bytes == int(0.4 * GIB)


def test_cuda_graph_reserve_per_layer_and_captured_graph() -> None:
    assert _h100().cuda_graph_bytes == 0
    mib = 2**20 // 4
    assert _h100(cuda_graph_reserve=True).cuda_graph_bytes == (51 + 51) * 32 * mib  # 51 PIECEWISE + 51 FULL sizes up to 512
    assert _h100(cuda_graph_reserve=True, pipeline_parallel=2).cuda_graph_bytes == (51 + 51) * 16 * mib
    assert _h100(cuda_graph_reserve=True, max_num_seqs=256).cuda_graph_bytes == (51 + 35) * 32 * mib  # FULL decode up to 256
    with_graphs = _h100(cuda_graph_reserve=True)
    assert _h100().kv_budget_bytes - with_graphs.kv_budget_bytes == with_graphs.cuda_graph_bytes
    assert with_graphs.overhead_bytes == with_graphs.activation_bytes + with_graphs.runtime_bytes + with_graphs.cuda_graph_bytes


def test_enforce_eager_reserves_no_cuda_graph_memory() -> None:
    graphs = _annotation(plan_server("c/srv", "llm", _props()))["overhead_gib_per_gpu"]
    eager = _annotation(plan_server("c/srv", "llm", _props(engine=EngineArgs(max_model_len=16384, enforce_eager=True))))
    assert round(graphs - eager["overhead_gib_per_gpu"], 2) == round((51 + 35) * 32 * 2**20 / 4 / GIB, 2)
    done = _cli("--model", LLAMA_8B, "--gpu", "NVIDIA-L4", "--max-model-len", "16384", "--enforce-eager", "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["overhead_gib_per_gpu"] == eager["overhead_gib_per_gpu"], done.stderr


# ------------------------------------------------------------------------------------------------ synth-time checks


def _props(**kw: Any) -> VllmServerProps:
    base: dict[str, Any] = {
        "name": "srv", "model": ModelSource.huggingface(LLAMA_8B, revision=REV),
        "resources": Resources(cpu="8", memory="48Gi", accelerators=1),
        "engine": EngineArgs(max_model_len=16384), "pod": PodOptions(gpu_products=GpuProductAffinity.require("NVIDIA-L4")),
    }  # fmt: skip
    return VllmServerProps(**{**base, **kw})


def _annotation(plan: Any) -> dict[str, Any]:
    deployment = next(o for o in plan.objects if o.kind == "Deployment")
    return dict(json.loads(deployment.annotations[ANNOTATION]))


def test_server_plan_annotates_the_deployment() -> None:
    got = _annotation(plan_server("c/srv", "llm", _props()))
    assert got["model"] == LLAMA_8B and got["gpu"] == "NVIDIA-L4" and got["fits"] is True
    assert got["gpus"] == 1 and got["weights_gib_per_gpu"] == pytest.approx(14.96, abs=0.01)
    assert got["kv_cache_tokens"] >= 16384 and got["unknown"] == []


def test_model_too_large_for_the_gpu_is_refused_with_numbers_and_fixes() -> None:
    props = _props(model=ModelSource.huggingface("meta-llama/Llama-3.1-70B-Instruct", revision=REV))
    with pytest.raises(ConfigError) as err:
        plan_server("c/srv", "llm", props)
    text = str(err.value)
    assert text.startswith("c/srv: engine.tensor_parallel_size=1")
    assert "131.42 GiB of weights per GPU" in text and "tensor_parallel_size" in text and "quantize" in text and "larger GPU" in text


def test_context_longer_than_the_cache_is_refused() -> None:
    with pytest.raises(ConfigError) as err:
        plan_server("c/srv", "llm", _props(engine=EngineArgs(max_model_len=131072)))
    assert err.value.field == "engine.max_model_len" and "vLLM refuses to start" in str(err.value)
    assert "lower max_model_len to" in err.value.fix
    plan_server("c/srv", "llm", _props(engine=EngineArgs(max_model_len=131072, kv_cache_dtype="fp8"), pod=PodOptions(
        gpu_products=GpuProductAffinity.require("NVIDIA-H100-80GB-HBM3"))))  # fmt: skip


def test_unknown_facts_never_block_and_are_listed() -> None:
    unknown_model = _annotation(plan_server("c/srv", "llm", _props(model=ModelSource.pvc("weights"))))
    assert unknown_model["fits"] is None and "not in the catalog" in unknown_model["unknown"][0]
    unknown_gpu = _annotation(plan_server("c/srv", "llm", _props(pod=PodOptions(), engine=EngineArgs(max_model_len=10**6))))
    assert unknown_gpu["fits"] is None and "gpu_products is unset" in unknown_gpu["unknown"][0]
    cpu = plan_server("c/srv", "llm", _props(resources=Resources(cpu="4", memory="8Gi"), pod=PodOptions()))
    assert all(ANNOTATION not in o.annotations for o in cpu.objects)


# ------------------------------------------------------------------------------------------------ reports and CLI


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from vllm_constructs.cli import main; rc = main(sys.argv[1:]); assert 'jsii' not in sys.modules; sys.exit(rc)"
    return subprocess.run([sys.executable, "-c", code, "plan", *args], capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)


def test_cli_ad_hoc_json_without_node(tmp_path: Path) -> None:
    chart = tmp_path / "plan.svg"
    done = _cli("--model", LLAMA_8B, "--gpu", "NVIDIA-L4", "--max-model-len", "16384", "--json", "--chart", str(chart))
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    for key in ("weights_gib_per_gpu", "kv_cache_gib_per_gpu", "kv_cache_tokens", "max_concurrency", "fits", "gpus"):
        assert key in got
    assert got["fits"] is True and got["gpus"] == 1
    svg = ET.fromstring(chart.read_text())
    assert svg.tag.endswith("svg") and "weights: 14.96 GiB" in chart.read_text()


def test_cli_ad_hoc_table_with_memory_and_parallelism() -> None:
    done = _cli("--model", "meta-llama/Llama-3.1-70B-Instruct", "--gpu-memory-gib", "80", "--tensor-parallel-size", "2",
                "--max-model-len", "8192", "--kv-cache-dtype", "fp8")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "meta-llama/Llama-3.1-70B-Instruct" in done.stdout and "yes" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--model", "acme/nope", "--gpu", "NVIDIA-L4"), "error: argument --model: 'acme/nope' is not in the catalog"),
        (("--model", LLAMA_8B, "--gpu", "ACME-X1"), "error: argument --gpu: 'ACME-X1' is not a known product label"),
        (("--model", LLAMA_8B, "--gpu", "NVIDIA-L4", "--gpu-memory-utilization", "1.5"), "error: argument --gpu-memory-utilization"),
        (("--model", LLAMA_8B, "--gpu", "NVIDIA-L4", "--quantization", "exotic"), "error: argument --quantization"),
        (("--model-config", "/nonexistent/config.json", "--gpu", "NVIDIA-L4"), "error: argument --model-config"),
        ((), "error: argument app"),
        (("apps.main", "--max-model-len", "8192"), "error: argument --max-model-len: an app plans with its own engine args"),
        (("apps.main", "--enforce-eager"), "error: argument --enforce-eager: an app plans with its own engine args"),
    ],
)
def test_cli_bad_arguments_exit_2_without_traceback(args: tuple[str, ...], message: str) -> None:
    done = _cli(*args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_table_and_chart_show_unknown_plans() -> None:
    row = {"server": "c/x", "model": None, "gpu": None, "unknown": ["gpu: product none"], "fits": None}
    assert "c/x: unknown gpu: product none" in plan_table([row])
    assert "plan unknown: gpu: product none" in memory_chart_svg([row])


def test_lint_reads_the_capacity_annotation_of_the_apps(tmp_path: Path) -> None:
    app = build_app(str(tmp_path))
    findings = [f for f in lint(app) if f.rule.startswith("capacity-")]
    low = [f for f in findings if f.rule == "capacity-low-concurrency"]
    assert {f.name for f in low} == {"llama-3-1-8b"}, findings  # the 8B app holds 1.11 requests of 32768 tokens on an L4
    assert not [f for f in findings if f.rule != "capacity-low-concurrency"]
    rows = app_plans(app)
    by_server = {r["server"]: r for r in rows}
    assert all(r["fits"] for r in rows) and len(rows) == 10  # five apps, plus five servers of the two multi-model apps
    assert by_server["llama-3-1-70b-tp4/llama-3-1-70b"]["gpus_at_max_replicas"] == 16  # the autoscaler's max_replicas=4
    assert by_server["llama-3-1-405b-kuberay/llama-405b-kuberay"]["gpus"] == 16


def test_plan_json_has_one_shape_for_an_app_and_for_a_model(tmp_path: Path) -> None:
    app_row = app_plans(build_app(str(tmp_path)))[0]
    done = _cli("--model", LLAMA_8B, "--gpu", "NVIDIA-L4", "--max-model-len", "16384", "--json")
    assert done.returncode == 0, done.stderr
    ad_hoc = json.loads(done.stdout)
    assert list(ad_hoc) == list(app_row)
    assert ad_hoc["max_num_seqs"] == 256 and ad_hoc["fits_weights"] is True and ad_hoc["memory_limit_gib"] is None
    assert isinstance(app_row["kv_bytes_per_token_per_gpu"], int) and app_row["shm_gib"] is not None
