#!/usr/bin/env bash
# The test suite. SQLite by default; set RENKEI_TEST_DATABASE_URL for PostgreSQL.
# Keycloak: RENKEI_TEST_KEYCLOAK_URL names a running server, else the suite starts its own.
# Browser tests (tests/browser): Chromium (RENKEI_TEST_CHROMIUM or chromium on the PATH) and axe-core
# (npm); RENKEI_TEST_BROWSER=0 leaves them out.
#
#   bash scripts/test.sh              the whole suite: a worker per core (pytest-xdist), then, in a session of
#                                     their own, the tests that start, stop or look at the session's own Keycloak
#   bash scripts/test.sh --quick      everything that needs neither Keycloak nor a browser (a quick loop)
#   bash scripts/test.sh tests/core   any pytest arguments are passed on (paths, -k, -x, ...)
#
# RENKEI_TEST_WORKERS: how many workers (default: one per core; 0 runs in one process).
# RENKEI_TEST_OWN_KEYCLOAK_AFTER=1: the own-Keycloak session after the workers' (default: beside them).
# RENKEI_TEST_MARKERS: a marker expression every test run must also match (CI's PostgreSQL pass: database).
# RENKEI_TEST_TIMES: a path prefix; each session writes its tests' seconds there (tests/suite_times.py)
# and prints where the time went.
# RENKEI_TEST_CONTRACT_CASES: a directory; the contract tests (tests/admin/test_api_contract.py) write the cases they
# generate there, one file a shard, and a later run that finds a shard's file (made from the same API document) sends
# those cases instead of generating them again (CI: the SQLite pass writes, the PostgreSQL pass sends).
# RENKEI_TEST_PDF_CACHE: a directory where the run's test processes share the PDFs they laid out (default: one in the
# run's temporary directory; CI: one for both passes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh dev

quick=0
args=()
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    *) args+=("$arg") ;;
  esac
done

# axe-core for the browser tests' accessibility crawl (pinned in tests/browser/package-lock.json)
if [ "$quick" = 0 ] && [ "${RENKEI_TEST_BROWSER:-}" != 0 ] && [ ! -f tests/browser/node_modules/axe-core/axe.min.js ] \
    && command -v npm >/dev/null; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

# Temporary files in memory where the machine has it (/dev/shm): the tests' SQLite files, Keycloak's state and
# every tmp_path commit thousands of times, and a disk's flush (some milliseconds each) is not what they test.
# RENKEI_TEST_TMPDIR names another place.
tmp_parent="${RENKEI_TEST_TMPDIR:-}"
if [ -z "$tmp_parent" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
  tmp_parent=/dev/shm
fi
if [ -n "$tmp_parent" ]; then
  TMPDIR=$(mktemp -d "$tmp_parent/renkei-tests-XXXXXX")
  export TMPDIR
  trap 'rm -rf "$TMPDIR"' EXIT
fi

# Python's bytecode for every process of the run (the workers, and the commands, servers and benchmarks the tests
# start: hundreds of processes, each importing the app's 1,500 modules), kept outside the tree in renkei's cache
# folder (where Keycloak's download is kept: RENKEI_CACHE_DIR, else $XDG_CACHE_HOME/renkei, else ~/.cache/renkei),
# from one run to the next: Python checks each file against its source, and writes it whole or not at all. A machine
# that sets PYTHONDONTWRITEBYTECODE otherwise compiles renkei's sources again in each process (1.5-2 s of CPU apiece);
# a folder gone with the run made every run's workers compile the app, its packages and the tests again (collecting
# the suite: 23 s of CPU with no bytecode, 6 s with it; the quick loop 247 s, then 216 s with the bytecode kept).
# A PYTHONPYCACHEPREFIX given is used instead (.ci/run gives both of its passes one).
unset PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX="${PYTHONPYCACHEPREFIX:-${RENKEI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/renkei}/pycache}"

# Each distinct PDF laid out once in the whole run, by whichever test process needs it first (tests/pdf_once.py); CI
# gives both passes one folder, so the PostgreSQL pass lays out only the documents its database made different.
export RENKEI_TEST_PDF_CACHE="${RENKEI_TEST_PDF_CACHE:-${TMPDIR:-/tmp}/renkei-pdf}"

selection="${RENKEI_TEST_MARKERS:-}"
if [ "$quick" = 1 ]; then
  selection="not keycloak and not browser${selection:+ and ($selection)}"
fi
workers="${RENKEI_TEST_WORKERS:-auto}"
parallel=()
# work stealing: a worker that runs out takes tests queued for another; the long tests (marker long) start first
# (tests/conftest.py run_order), so that the run ends on short tests and no worker sits idle waiting on one
[ "$workers" = 0 ] || parallel=(-n "$workers" --dist worksteal)

# pytest's exit 5 is "no test selected": a selection (a path, -k) may hold none of one session's tests
run() {
  local name="$1" markers="$2"
  shift 2
  local times=()
  [ -z "${RENKEI_TEST_TIMES:-}" ] || times=(--times-report "${RENKEI_TEST_TIMES}-${name}.jsonl")
  local code=0
  .venv/bin/python -m pytest -m "$markers" ${times[@]+"${times[@]}"} "$@" ${args[@]+"${args[@]}"} || code=$?
  [ "$code" = 5 ] && code=0
  return "$code"
}

status=0
started=$(date +%s)
# The tests that need the session's own Keycloak (they start, stop or look at it) run in a session of their own,
# beside the workers' session rather than after it: most of their time is a Keycloak of their own booting, stopping
# and booting again, while the workers keep both cores busy (RENKEI_TEST_OWN_KEYCLOAK_AFTER=1 runs them after).
# Never a given server: these tests need the one their session starts.
own_keycloak() {
  RENKEI_TEST_KEYCLOAK_URL="" RENKEI_TEST_KEYCLOAK_STARTED_BY="" \
    run own-keycloak "own_keycloak${selection:+ and ($selection)}"
}
own_pid="" own_log=""
if [ "$quick" = 0 ] && [ "${RENKEI_TEST_OWN_KEYCLOAK_AFTER:-0}" != 1 ]; then
  own_log=$(mktemp)
  own_keycloak > "$own_log" 2>&1 &
  own_pid=$!
fi
run workers "not own_keycloak${selection:+ and ($selection)}" ${parallel[@]+"${parallel[@]}"} || status=$?
if [ "$quick" = 0 ]; then
  echo "--- the tests that need the session's own Keycloak (they start, stop or look at it), in a session of their own"
  if [ -n "$own_pid" ]; then
    own_status=0
    wait "$own_pid" || own_status=$?
    cat "$own_log"
    rm -f "$own_log"
    [ "$own_status" = 0 ] || status=$own_status
  else
    own_keycloak || status=$?
  fi
fi
echo "--- scripts/test.sh: $(( $(date +%s) - started )) s, exit ${status}"
exit "$status"
