"""The cdk8s app: every chart of apps/, synthesized by `cdk8s synth` into dist/ (one file per chart)."""

from __future__ import annotations

import cdk8s

from apps.cpu_opt_125m import CpuOpt125mChart
from apps.llama_8b import Llama8bChart
from apps.llama_8b_hpa_metrics import Llama8bHpaChart
from apps.llama_70b import Llama70bChart
from apps.llama_405b_kuberay import Llama405bKubeRayChart
from apps.llama_405b_lws import Llama405bLwsChart
from apps.multi_model_gateway import MultiModelGatewayChart, MultiModelIngressChart
from vllm_constructs.lint import LintPolicy, Waiver, report

# Findings the apps accept on purpose, each with its reason. Everything else that the lint finds is printed by
# `make synth` (warnings) or fails it (errors).
LINT_POLICY = LintPolicy(
    waivers=tuple(
        Waiver(
            rule="added-capabilities",
            path=chart,
            reason="Rdma adds IPC_LOCK so that NCCL can pin memory for InfiniBand; nothing else is added",
        )
        for chart in ("llama-3-1-405b-kuberay", "llama-3-1-405b-lws")
    )
)


def build_app(outdir: str = "dist") -> cdk8s.App:
    app = cdk8s.App(outdir=outdir, yaml_output_type=cdk8s.YamlOutputType.FILE_PER_CHART)
    CpuOpt125mChart(app)
    Llama8bChart(app)
    Llama8bHpaChart(app)
    Llama70bChart(app)
    Llama405bKubeRayChart(app)
    Llama405bLwsChart(app)
    MultiModelGatewayChart(app)
    MultiModelIngressChart(app)
    return app


if __name__ == "__main__":
    app = build_app()
    report(app, LINT_POLICY)  # warnings to stderr; errors to stderr and exit 1, before anything is written
    app.synth()
