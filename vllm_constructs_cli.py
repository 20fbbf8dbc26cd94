"""Console entry point of `vllm-constructs`: quiets jsii's Node end-of-life banner before the library starts jsii."""

from __future__ import annotations

import os


def main() -> int:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from vllm_constructs.cli import main as run  # noqa: PLC0415 - must follow the environment change

    return run()
