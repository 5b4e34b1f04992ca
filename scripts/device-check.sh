#!/usr/bin/env bash
# The device check in one command, on a machine with an NVIDIA GPU (or without: it says so).
#
#   scripts/device-check.sh [-o check.json] [--verbose]     (arguments go to python -m vortex.devicecheck)
#
# Installs what it needs itself: Vortex with the torch, flux and test extras (the PyPI torch wheel
# for Linux x86_64 is the CUDA build; bitsandbytes for Flux NF4) into .venv-device, unless
# $VORTEX_PYTHON or .venv/bin/python already has vortex, torch and diffusers. Then runs the CUDA tests and the GPU measurements and prints
# one JSON document on stdout; the whole run, installation included, stays under 8 minutes
# (the module gets what is left of 7.5 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
export VORTEX_DEVICECHECK_STARTED="${VORTEX_DEVICECHECK_STARTED:-$(date +%s)}"

python_311() {
  for candidate in "${PYTHON:-}" python3.11 python3; do
    if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 \
       && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

# An environment that already has everything (on a GPU machine: a torch that sees the GPU).
needs='import vortex, torch, diffusers'
if command -v nvidia-smi >/dev/null 2>&1; then needs="$needs; assert torch.cuda.is_available()"; fi
ready=""
for candidate in "${VORTEX_PYTHON:-}" .venv/bin/python; do
  if [ -n "$candidate" ] && [ -x "$(command -v "$candidate" || true)" ] && "$candidate" -c "$needs" 2>/dev/null; then
    ready=$candidate; break
  fi
done
if [ -n "$ready" ]; then
  exec "$ready" -m vortex.devicecheck "$@"
else
  venv=.venv-device
  if [ ! -x "$venv/bin/python" ]; then
    py=$(python_311) || { echo "device-check: Python 3.11 is required (install it, or set PYTHON=/path/to/python3.11)" >&2; exit 1; }
    "$py" -m venv "$venv"
  fi
  stamp="$venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
  if [ ! -e "$stamp" ]; then
    extras="[torch,flux,test]"
    if command -v nvidia-smi >/dev/null 2>&1; then extras="[torch,flux-cuda,test]"; fi
    "$venv/bin/python" -m pip install --quiet --upgrade pip \
      && "$venv/bin/python" -m pip install --quiet -e ".$extras" \
      || { echo "device-check: installing vortex$extras into $venv failed (is the package index reachable?)" >&2; exit 1; }
    touch "$stamp"
  fi
fi
exec "$venv/bin/python" -m vortex.devicecheck "$@"
