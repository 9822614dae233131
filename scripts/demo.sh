#!/usr/bin/env bash
# The main job on a fresh machine: install, start a local Keycloak (no Docker needed), migrate the
# SQLite database, load the Kumamoto sample data, create the demo logins, serve http://127.0.0.1:5000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh java
export RENKEI_ENV="${RENKEI_ENV:-development}"
exec .venv/bin/renkei demo "$@"
