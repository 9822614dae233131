#!/usr/bin/env bash
# The main job on a fresh machine: install, start a local Keycloak (no Docker needed), migrate the
# SQLite database, load the Kumamoto sample data, create the demo logins, serve http://127.0.0.1:5000.
set -euo pipefail
cd "$(dirname "$0")/.."
# the letters (納入通知書) are PDF pages set in a Japanese font by WeasyPrint, which needs Pango
need=()
[ -e /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf ] || need+=(fonts-ipafont-gothic)
ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0' || need+=(libpango-1.0-0 libpangoft2-1.0-0)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -q --no-install-recommends "${need[@]}" || { apt-get update -q && apt-get install -y -q --no-install-recommends "${need[@]}"; }
  else
    echo "note: install ${need[*]} (Debian packages) for the PDF letters; everything else works without them" >&2
  fi
fi
bash scripts/install.sh demo
export RENKEI_ENV="${RENKEI_ENV:-development}"
exec .venv/bin/renkei demo "$@"
