#!/usr/bin/env bash
# One entry point for a fresh machine: builds .venv on first use (and whenever pyproject.toml
# changes), then runs `vortex ARGS...`, or the whole test suite with `./run.sh test [pytest args]`.
set -euo pipefail
cd "$(dirname "$0")"

python_bin=${PYTHON:-}
if [ -z "$python_bin" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python_bin=$candidate; break; fi
  done
fi
[ -n "$python_bin" ] || { echo "run.sh: Python 3.11 is required" >&2; exit 1; }

# The stamp names the pyproject.toml it was installed from and which extras it has.
hash=$(sha256sum pyproject.toml | cut -c1-16)
if [ "${1:-}" = "test" ]; then
  extras="[torch,test]"; stamp=".venv/.installed-$hash-test"; satisfied=$stamp
else
  extras=""; stamp=".venv/.installed-$hash-run"; satisfied=$(ls .venv/.installed-"$hash"-* 2>/dev/null | head -n 1 || true)
fi
if [ -z "$satisfied" ] || [ ! -f "$satisfied" ]; then
  [ -x .venv/bin/python ] || "$python_bin" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".${extras}"
  if [ -n "$extras" ]; then
    # The Kokoro PyTorch backend uses only the package's network; its declared misaki[en]
    # dependency would pull spaCy and replace our phonemizer, so it goes in without dependencies.
    .venv/bin/python -m pip install --quiet --no-deps kokoro==0.9.4
  fi
  rm -f .venv/.installed-*
  touch "$stamp"
fi

if [ "${1:-}" = "test" ]; then
  shift
  exec .venv/bin/python -m pytest "$@"
fi
exec .venv/bin/vortex "$@"
