"""Health endpoints for load balancers, systemd and monitoring: unauthenticated, cheap, outside
``/admin`` and ``/api``.

* ``GET /healthz``: the process answers (no database, no Keycloak): 200 ``{"status": "ok"}``.
* ``GET /readyz``: each check named with its outcome; 200 when all pass, 503 otherwise:
  ``database`` (a query answers), ``migrations`` (the database is at the migrations' head),
  ``keycloak`` (the realm's public endpoint answers). Checks run side by side and each is given
  :data:`CHECK_SECONDS` (``RENKEI_READY_TIMEOUT``), so the answer comes within about that long
  even when the database or Keycloak hangs.
"""

from __future__ import annotations

import concurrent.futures
import functools
from collections.abc import Callable

from flask import Blueprint, current_app, jsonify

bp = Blueprint("health", __name__)
CHECK_SECONDS = 1.5
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="readyz")


@functools.lru_cache(maxsize=1)
def migrations_head() -> str:
    """The head revision of renkei's migrations (read once per process)."""
    from alembic.script import ScriptDirectory

    from admin.commands.db import alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


def _database(engine, seconds: float) -> Callable[[], str]:
    def check() -> str:
        import sqlalchemy as sa

        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text(f"SET LOCAL statement_timeout = {int(seconds * 1000)}"))
            connection.execute(sa.text("SELECT 1"))
        return "ok"
    return check


def _migrations(engine, head: str) -> Callable[[], str]:
    def check() -> str:
        import sqlalchemy as sa

        try:
            with engine.connect() as connection:
                current = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
        except sa.exc.DBAPIError:
            raise RuntimeError("no migrations applied (run 'renkei db upgrade')") from None
        if current != [head]:
            raise RuntimeError(f"at {', '.join(current) or 'nothing'}, head is {head} (run 'renkei db upgrade')")
        return "ok"
    return check


def _keycloak(url: str, realm: str, seconds: float) -> Callable[[], str]:
    def check() -> str:
        import requests

        response = requests.get(f"{url}/realms/{realm}", timeout=(seconds, seconds))
        if response.status_code != 200:
            raise RuntimeError(f"realm {realm} answered {response.status_code}")
        return "ok"
    return check


@bp.route("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.route("/readyz")
def readyz():
    from admin.extensions import db

    config = current_app.config
    seconds = float(config.get("RENKEI_READY_TIMEOUT", CHECK_SECONDS))
    engine = db.engine
    checks = {
        "database": _database(engine, seconds),
        "migrations": _migrations(engine, migrations_head()),  # read here: it needs the app context
        "keycloak": _keycloak(config["RENKEI_KEYCLOAK_URL"], config["RENKEI_KEYCLOAK_REALM"], seconds),
    }
    futures = {name: _POOL.submit(check) for name, check in checks.items()}
    concurrent.futures.wait(futures.values(), timeout=seconds + 0.2)
    results: dict[str, dict[str, str]] = {}
    for name, future in futures.items():
        if not future.done():
            results[name] = {"status": "fail", "error": f"no answer within {seconds:g} s"}
        elif future.exception() is not None:
            error = future.exception()
            results[name] = {"status": "fail", "error": str(error) or type(error).__name__}
        else:
            results[name] = {"status": "ok"}
    ready = all(result["status"] == "ok" for result in results.values())
    response = jsonify({"status": "ok" if ready else "fail", "checks": results})
    response.status_code = 200 if ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response
