#!/usr/bin/env bash
# Regenerate imports/ with `cdk8s import` from the offline CRD mirror (one file per API group), for when
# the network is missing. With network, `cdk8s import` (no arguments) uses the pinned URLs in cdk8s.yaml.
# Usage: scripts/import-crds.sh [CRD_DIR]   (default: ../shared/crds)
set -euo pipefail
cd "$(dirname "$0")/.."
crds="${1:-../shared/crds}"
cli=node_modules/.bin/cdk8s
rm -rf imports && mkdir -p imports
for pair in ray:ray.io lws:leaderworkerset.x-k8s.io keda:keda.sh monitoring:monitoring.coreos.com \
  gateway:gateway.networking.k8s.io inference:inference.networking.k8s.io llmd:llm-d.ai; do
  name="${pair%%:*}"; file="$crds/${pair#*:}.yaml"
  "$cli" import "$name:=$file" --language python --output imports --no-check-upgrade >/dev/null
done
touch imports/__init__.py
.venv/bin/python -m compileall -q imports >/dev/null
ls imports
