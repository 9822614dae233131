#!/usr/bin/env bash
# The test suite. SQLite by default; set RENKEI_TEST_DATABASE_URL for PostgreSQL.
# Keycloak: RENKEI_TEST_KEYCLOAK_URL names a running server, else the suite starts its own.
# Browser tests (tests/browser): Chromium (RENKEI_TEST_CHROMIUM or chromium on the PATH) and axe-core
# (npm); RENKEI_TEST_BROWSER=0 leaves them out.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh dev
# axe-core for the browser tests' accessibility crawl (pinned in tests/browser/package-lock.json)
if [ "${RENKEI_TEST_BROWSER:-}" != 0 ] && [ ! -f tests/browser/node_modules/axe-core/axe.min.js ] && command -v npm >/dev/null; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
exec .venv/bin/python -m pytest "$@"
