#!/usr/bin/env bash
# Creates bench/peers/.venv with the Python original (flujo 0.6.11 from PyPI, with the exact versions of
# requirements-python.txt), so that
# `npm run bench:peers` measures it live instead of printing Flujo's published figures.
# flujo 0.6.11 declares Requires-Python >= 3.13: the python used is $PYTHON if set, else the first of
# python3.14 / python3.13 on PATH, else the newest pyenv 3.13+ (pyenv's 3.13.0 on the machine of the
# committed results), else python3 if it is new enough.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"

new_enough() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 13) else 1)' 2>/dev/null; }

pick() {
  if [ -n "${PYTHON:-}" ]; then
    echo "$PYTHON"
    return
  fi
  for c in python3.14 python3.13; do
    if command -v "$c" >/dev/null && new_enough "$c"; then
      command -v "$c"
      return
    fi
  done
  local root="${PYENV_ROOT:-$HOME/.pyenv}"
  if [ -d "$root/versions" ]; then
    # Newest first; only plain CPython versions (3.13.0, not 3.13.0t or a virtualenv name).
    for v in $(ls "$root/versions" | grep -E '^3\.[0-9]+\.[0-9]+$' | sort -t. -k1,1nr -k2,2nr -k3,3nr); do
      if new_enough "$root/versions/$v/bin/python"; then
        echo "$root/versions/$v/bin/python"
        return
      fi
    done
  fi
  if command -v python3 >/dev/null && new_enough python3; then
    command -v python3
    return
  fi
  return 1
}

if ! py="$(pick)"; then
  echo "setup-python.sh: no Python >= 3.13 found (flujo 0.6.11 requires it); set PYTHON=/path/to/python3.13" >&2
  exit 1
fi
if ! new_enough "$py"; then
  echo "setup-python.sh: $py is older than 3.13 (flujo 0.6.11 requires >= 3.13)" >&2
  exit 1
fi
echo "setup-python.sh: $("$py" --version) at $py -> $venv"
"$py" -m venv "$venv"
# Exact pins: an unpinned `pip install flujo==0.6.11` now resolves opentelemetry 1.44+, which breaks its
# import (see requirements-python.txt).
"$venv/bin/python" -m pip install --quiet -r "$here/requirements-python.txt"
"$venv/bin/python" -c 'import importlib.metadata as m; print("flujo", m.version("flujo"), "installed")'
