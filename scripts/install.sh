#!/usr/bin/env bash
# Create .venv (if missing) and install renkei with the given extras. Used by demo.sh, test.sh and CI.
# Done once per pyproject.toml and extras: a stamp in .venv says what was installed, and the same again is
# skipped (CI's steps call this three times; pip takes about 10 s to find that nothing changed).
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-dev}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=".venv/.renkei-installed-${extras}"
wanted="$(cat pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] && .venv/bin/python -c "import importlib.metadata as m; m.version('renkei')" 2>/dev/null; then
  exit 0
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[${extras}]"
printf '%s' "$wanted" > "$stamp"
