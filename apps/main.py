"""The cdk8s app: every chart of apps/, synthesized by `cdk8s synth` into dist/ (one file per chart)."""

from __future__ import annotations

from pathlib import Path

import cdk8s

from apps.cpu_opt_125m import CpuOpt125mChart
from apps.fleet import FLEET
from apps.llama_8b import Llama8bChart
from apps.llama_8b_hpa_metrics import Llama8bHpaChart
from apps.llama_70b import Llama70bChart
from apps.llama_405b_kuberay import Llama405bKubeRayChart
from apps.llama_405b_lws import Llama405bLwsChart
from apps.multi_model_gateway import MultiModelGatewayChart, MultiModelIngressChart
from vllm_constructs.app import lint_and_synth_all, run_main
from vllm_constructs.fleet import build_fleet, write_kustomization
from vllm_constructs.lint import LintPolicy, Waiver

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


def synth_all(outdir: str = "dist") -> None:
    """dist/: every example app, a kustomization.yaml listing exactly those files (so a GitOps tool pointed at dist/
    never recurses into the fleet), and the fleet's folders dist/fleet/<environment>/<cluster>/."""
    fleet = build_fleet(FLEET, outdir)
    lint_and_synth_all([(outdir, build_app(outdir)), *((str(folder), app) for folder, app in fleet)], LINT_POLICY)
    write_kustomization(Path(outdir))
    for folder, _ in fleet:
        write_kustomization(folder)


if __name__ == "__main__":
    # Lint warnings go to stderr; bad input or lint errors stop here, before anything is written.
    raise SystemExit(run_main(synth_all))
