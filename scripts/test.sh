#!/usr/bin/env bash
# The test suite. SQLite by default; set RENKEI_TEST_DATABASE_URL for PostgreSQL.
# Keycloak: RENKEI_TEST_KEYCLOAK_URL names a running server, else the suite starts its own.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh dev
exec .venv/bin/python -m pytest "$@"
