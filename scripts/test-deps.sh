#!/usr/bin/env bash
# System packages the test suite needs beyond pip and npm. Idempotent; installs only what is missing.
set -euo pipefail
need=()
# (filled in as real-parts tests arrive)
# promtool (tests/test_promql_real.py) and the prometheus server (tests/test_real_vllm_server.py) come with
# Debian's prometheus package.
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then need+=(prometheus); fi
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "test-deps: need root to apt-get install ${need[*]}" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
