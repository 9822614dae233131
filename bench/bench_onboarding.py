"""Benchmark: onboard 21 municipalities with 5 users each through renkei, next to Keycloak alone
creating the same objects by direct Admin REST calls in the same run (the limit).

renkei's path per municipality is what an operator's wave does: register the application, start
screening, confirm the four screening items, approve, provision (Keycloak group, first admin
invited, default quotas, platform resources; a commit after each step), activate, then invite
four more staff through the identity operation the API uses (seat check, create, group, role,
audit, commit). Every act writes its audit record, history row and outbox message.

The limit creates, per municipality, the Keycloak objects only: one group under ``/tenants`` and
five users, each put in the group and given a realm role (1 + 5 × 3 = 16 Admin REST calls with
one admin token, plain ``requests``). The two paths alternate municipality by municipality, so
a noisy shared machine slows both alike. Project target (issue #12): the wave (21 municipalities
x 5 users) in <= 1.3x the time of the Keycloak calls alone; totals and per-municipality medians.

    python bench/bench_onboarding.py [--tenants 21] [--users 5] [--quick] [--keycloak-url URL]
                                     [--database-url URL]

Without ``--keycloak-url`` (or ``RENKEI_TEST_KEYCLOAK_URL``) a Keycloak is started on free ports.
A throw-away realm is created and deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=21, help="municipalities to onboard (at most 45)")
    parser.add_argument("--users", type=int, default=5, help="users per municipality, the first admin included")
    parser.add_argument("--quick", action="store_true", help="5 municipalities with 3 users each")
    parser.add_argument("--keycloak-url", default=os.environ.get("RENKEI_TEST_KEYCLOAK_URL"))
    common.add_database_option(parser, None, help_text="a scratch database the benchmark empties "
                                                       "(default: SQLite in a temporary folder)")
    args = parser.parse_args()
    if args.quick:
        args.tenants, args.users = 5, 3

    from admin.keycloak_server import ensure_running

    with ensure_running(args.keycloak_url) as server:
        run(server, args.tenants, args.users, args.database_url)


def municipalities(count: int) -> list[tuple[str, str]]:
    from tenancy.registry.importing import reference_municipalities
    from tenancy.registry.sample import PREFECTURE_CODE, WAVE_1, WAVE_2

    reference = reference_municipalities()
    ordered = list(WAVE_1) + list(WAVE_2) + [c for c in reference if c not in WAVE_1 + WAVE_2 + (PREFECTURE_CODE,)]
    return [(code, reference[code]["name_ja"]) for code in ordered[:count]]


class DirectKeycloak:
    """The limit: the same Keycloak objects by plain Admin REST calls."""

    def __init__(self, server, realm: str) -> None:
        token = requests.post(f"{server.url}/realms/master/protocol/openid-connect/token", data={
            "grant_type": "password", "client_id": "admin-cli", "username": server.admin_user,
            "password": server.admin_password}, timeout=10).json()["access_token"]
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.base = f"{server.url}/admin/realms/{realm}"
        self.parent = self.http.post(f"{self.base}/groups", json={"name": "direct"}, timeout=10).headers["Location"].rsplit("/", 1)[1]
        self.role = self.http.get(f"{self.base}/roles/municipal-staff", timeout=10).json()

    def onboard(self, code: str, users: int) -> None:
        created = self.http.post(f"{self.base}/groups/{self.parent}/children", json={"name": code}, timeout=10)
        created.raise_for_status()
        group_id = created.json()["id"] if created.content else created.headers["Location"].rsplit("/", 1)[1]
        for i in range(users):
            name = f"direct-{code}-{i}"
            response = self.http.post(f"{self.base}/users", json={
                "username": name, "email": f"{name}@example.jp", "firstName": "太郎", "lastName": "熊本", "enabled": True},
                timeout=10)
            response.raise_for_status()
            user_id = response.headers["Location"].rsplit("/", 1)[1]
            self.http.put(f"{self.base}/users/{user_id}/groups/{group_id}", timeout=10).raise_for_status()
            self.http.post(f"{self.base}/users/{user_id}/role-mappings/realm", json=[self.role], timeout=10).raise_for_status()


class RequestCounter:
    """Counts HTTP requests sent through ``requests`` (python-keycloak uses it too)."""

    def __init__(self) -> None:
        self.count = 0
        self._send = requests.Session.send
        counter = self

        def send(session, request, **kwargs):
            counter.count += 1
            return counter._send(session, request, **kwargs)

        requests.Session.send = send

    def take(self) -> int:
        value, self.count = self.count, 0
        return value


def run(server, tenants: int, users: int, database_url: str | None) -> None:
    from admin import create_app
    from admin.extensions import db
    from tenancy.identity import operations as identity
    from tenancy.onboarding import lifecycle, saga as onboarding
    from core.actor import Actor
    from tenancy.registry.importing import reference_municipalities
    from tenancy.identity.keycloak import KeycloakSettings, bootstrap_realm, master_admin
    from tenancy.registry.schemas import TenantCreate

    realm = f"bench-onboarding-{uuid.uuid4().hex[:6]}"
    settings = KeycloakSettings(url=server.url, realm=realm, admin_client_secret="bench-admin-secret",
                                service_client_secret="bench-service-secret", metering_client_secret="bench-metering-secret")
    master = master_admin(server.url, server.admin_user, server.admin_password, "master")
    bootstrap_realm(master, settings)
    var = Path(tempfile.mkdtemp(prefix="renkei-bench-"))
    app = create_app({"RENKEI_ENV": "testing", "SECRET_KEY": "bench", "RENKEI_VAR_DIR": str(var),
                      "SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{var / 'bench.db'}",
                      "RENKEI_KEYCLOAK_URL": server.url, "RENKEI_KEYCLOAK_REALM": realm,
                      "RENKEI_OIDC_CLIENT_SECRET": "bench-admin-secret", "RENKEI_SERVICE_CLIENT_SECRET": "bench-service-secret"})
    operator = Actor(issuer="urn:bench", subject="operator", name="bench", roles=frozenset({"platform-operator"}))
    reference = reference_municipalities()
    rows: list[tuple[str, str, float, float, int, int]] = []
    calls = RequestCounter()
    try:
        direct = DirectKeycloak(server, realm)
        with app.app_context():
            from admin.identity import identity_directory

            if db.engine.dialect.name == "postgresql":
                db.drop_all()
            db.create_all()
            directory = identity_directory()
            directory.find_user("warm-up")  # the service-account token, fetched before the clock starts
            for code, name in municipalities(tenants):
                calls.take()
                started = time.perf_counter()
                ref = reference[code]
                lifecycle.register_application(db.session, operator, TenantCreate(
                    code=code, name_ja=ref["name_ja"], name_en=ref["name_en"], kind=ref["kind"],
                    population=int(ref["population"]), wave_fiscal_year=2025,
                    contacts=[{"name": "熊本 花子", "email": f"bench-admin-{code}@example.jp"}]))
                lifecycle.screen(db.session, operator, code)
                for entry in lifecycle.SCREENING_ITEMS:
                    lifecycle.check_item(db.session, operator, code, "screening", entry.key)
                lifecycle.approve(db.session, operator, code)
                db.session.commit()
                onboarding.provision(db.session, operator, directory, code)
                for i in range(users - 1):
                    username = f"bench-staff-{code}-{i}"
                    identity.invite_user(db.session, operator, directory, code, identity.Invitation(
                        username, f"{username}@example.jp", "太郎", "熊本", frozenset({"municipal-staff"})))
                    db.session.commit()
                renkei_seconds = time.perf_counter() - started
                renkei_calls = calls.take()

                started = time.perf_counter()
                direct.onboard(code, users)
                direct_seconds = time.perf_counter() - started
                rows.append((code, name, renkei_seconds, direct_seconds, renkei_calls, calls.take()))
            active = onboarding.board(db.session, operator)["active_municipalities"]
    finally:
        try:
            master_admin(server.url, server.admin_user, server.admin_password, "master").delete_realm(realm)
        except Exception:  # noqa: BLE001  (best effort clean-up)
            pass
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

    print(f"onboarding {len(rows)} municipalities × {users} users (Keycloak {server.url}, "
          f"{'PostgreSQL' if database_url and database_url.startswith('postgresql') else 'SQLite'}); {active} active")
    print(f"{'code':<8}{'municipality':<14}{'renkei s':>10}{'Keycloak alone s':>18}{'ratio':>8}"
          f"{'renkei calls':>14}{'direct calls':>14}")
    for code, name, ours, limit, our_calls, direct_calls in rows:
        print(f"{code:<8}{name:<14}{ours:>10.3f}{limit:>18.3f}{ours / limit:>8.2f}{our_calls:>14}{direct_calls:>14}")
    total_ours, total_limit = sum(r[2] for r in rows), sum(r[3] for r in rows)
    print(f"{'total':<22}{total_ours:>10.3f}{total_limit:>18.3f}{total_ours / total_limit:>8.2f}")
    print(f"{'median per municipality':<22}{statistics.median(r[2] for r in rows):>10.3f}"
          f"{statistics.median(r[3] for r in rows):>18.3f}")
    print(f"Keycloak HTTP requests per municipality: renkei {statistics.mean(r[4] for r in rows):.1f}, "
          f"direct {statistics.mean(r[5] for r in rows):.1f}")
    print(common.noisy_machine_note())
    common.report(f"wave of {len(rows)} x {users}: renkei, total", total_ours, total_limit, "wave", "s",
                  higher_is_better=False)
    common.report("per municipality, median", statistics.median(r[2] for r in rows),
                  statistics.median(r[3] for r in rows), "wave", "s", higher_is_better=False)


if __name__ == "__main__":
    main()
