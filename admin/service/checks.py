"""The built-in components' probes, from renkei's configuration, and one probe round as the due job
and ``renkei service probe`` run it (service/monitor.py records the results).

* ``renkei``: ``RENKEI_PUBLIC_URL``/readyz answers 200 (the web server, its database and Keycloak);
* ``database``: ``SELECT 1`` on the application's engine;
* ``keycloak``: the realm's public endpoint answers 200;
* ``gateway``: the gateway check (``/api/v1/gateway/auth``) answers 401 to a call without credentials;
* ``ckan``: ``/api/3/action/status_show`` answers 200; ``dcat``: ``/catalog.ttl`` answers 200.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app

from admin.extensions import db
from core.db import utcnow
from service import monitor

BUILTIN_TIMEOUT_MS = 5000


def _database_check():
    import sqlalchemy as sa

    engine = db.engine

    def check() -> None:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    return lambda: monitor.probe_call(check)


def builtin_checks() -> dict[str, monitor.Check]:
    config = current_app.config
    public = config["RENKEI_PUBLIC_URL"]
    keycloak = f"{config['RENKEI_KEYCLOAK_URL']}/realms/{config['RENKEI_KEYCLOAK_REALM']}"
    urls = {"renkei": (f"{public}/readyz", 200), "keycloak": (keycloak, 200),
            "gateway": (f"{public}/api/v1/gateway/auth", 401), "ckan": (f"{public}/api/3/action/status_show", 200),
            "dcat": (f"{public}/catalog.ttl", 200)}
    checks = {key: (lambda url=url, status=status: monitor.probe_http(url, status, BUILTIN_TIMEOUT_MS))
              for key, (url, status) in urls.items()}
    return {**checks, "database": _database_check()}


def probe_round(*, only: set[str] | None = None, now: dt.datetime | None = None) -> dict:
    """Probe every active component (or ``only`` those), record the results, remove probe results
    past their year; commits. Key -> ``up`` or ``down``, and ``purged``."""
    now = now or utcnow()
    found, checks = monitor.checks_for(db.session, builtin_checks(), only)
    db.session.commit()  # nothing held open while the probes wait on the network
    results = monitor.probe_all(checks)
    intervals = monitor.record_all(db.session, found, results, now)
    purged = monitor.purge_probes(db.session, now)
    db.session.commit()
    return {"states": {key: interval.state.value for key, interval in intervals.items()}, "purged": purged}
