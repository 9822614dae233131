"""Benchmark: invite 100 users into one tenant through renkei, next to the same 100 created by
direct Keycloak Admin REST calls in the same run (the limit).

renkei's path is the operation the API calls (authorization, seat check, create, group
membership, role grant, audit record, commit). The limit does the same three writes
(create user, join group, map role) with plain requests and an admin token (renewed every 45 s,
outside the clock: admin-cli's tokens last a minute). The two sides
alternate user by user (renkei, direct, renkei, direct, ...) so that a noisy shared machine (and
Keycloak's own warm-up) weighs on both alike; totals and per-user medians are printed beside the
project's target (issue #12): 100 invitations in <= 1.3x the time of the Keycloak calls alone.

    python bench/bench_invite.py [--users 100] [--keycloak-url URL] [--database-url URL] [--smoke]
    (without a Keycloak URL one is started; without a database URL, SQLite in a temporary folder;
    a PostgreSQL database given is EMPTIED)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--keycloak-url", default=os.environ.get("RENKEI_TEST_KEYCLOAK_URL"))
    common.add_database_option(parser, None, help_text="a scratch database the benchmark empties "
                                                       "(default: SQLite in a temporary folder)")
    common.add_smoke_option(parser, "3 users, on a running Keycloak")
    args = parser.parse_args()
    if args.smoke:
        args.users = 3
    if args.smoke and not args.keycloak_url:
        parser.error("--smoke needs a running Keycloak (--keycloak-url or RENKEI_TEST_KEYCLOAK_URL): its smoke form starts none")

    from maintenance.keycloak_server import ensure_running

    with ensure_running(args.keycloak_url) as server:
        run(server, args.users, args.database_url)


class RoundTrips:
    """Counts renkei's database round trips: each statement, each transaction's BEGIN and COMMIT,
    and the pool's pre-ping at each check-out (the direct side has no database)."""

    def __init__(self, engine) -> None:
        import sqlalchemy as sa

        self.engine, self.counts = engine, {"statements": 0, "BEGIN": 0, "COMMIT": 0, "pre-ping": 0}
        self.pings = bool(engine.pool._pre_ping)
        self.listeners = [(engine, "before_cursor_execute", self._statement), (engine, "begin", self._begin),
                          (engine, "commit", self._commit), (engine.pool, "checkout", self._checkout)]
        for target, name, listener in self.listeners:
            sa.event.listen(target, name, listener)

    def _statement(self, *args) -> None:
        self.counts["statements"] += 1

    def _begin(self, *args) -> None:
        self.counts["BEGIN"] += 1

    def _commit(self, *args) -> None:
        self.counts["COMMIT"] += 1

    def _checkout(self, *args) -> None:
        self.counts["pre-ping"] += self.pings

    def stop(self) -> None:
        import sqlalchemy as sa

        for target, name, listener in self.listeners:
            sa.event.remove(target, name, listener)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def describe(self, users: int) -> str:
        return ", ".join(f"{name} {count / users:.1f}" for name, count in self.counts.items())


def run(server, users: int, database_url: str | None = None) -> None:
    from admin.extensions import db
    from tenancy.identity import operations as identity
    from core.actor import Actor
    from tenancy.registry.sample import load_kumamoto

    app, realm, master = common.keycloak_app(server, database_url, "bench")
    operator = Actor(issuer="urn:bench", subject="operator", name="bench", roles=frozenset({"platform-operator"}))
    renkei_ms: list[float] = []
    direct_ms: list[float] = []
    try:
        with app.app_context():
            from admin.identity import identity_directory

            if db.engine.dialect.name == "postgresql":
                db.drop_all()
            db.create_all()
            load_kumamoto(db.session, operator)
            db.session.commit()
            directory = identity_directory()
            directory.ensure_tenant_group("431001", "熊本市")
            directory.ensure_tenant_group("432024", "八代市")
            directory.find_user("warm-up")  # the service-account token, fetched before the clock starts

            # the limit: the same objects with direct Admin REST calls
            http = requests.Session()
            token_at = [0.0]

            def fresh_token() -> None:
                """admin-cli's tokens last a minute: a new one every 45 s, taken outside the clock."""
                if time.monotonic() - token_at[0] < 45:
                    return
                token = requests.post(f"{server.url}/realms/master/protocol/openid-connect/token", data={
                    "grant_type": "password", "client_id": "admin-cli", "username": server.admin_user,
                    "password": server.admin_password}, timeout=10).json()["access_token"]
                http.headers["Authorization"] = f"Bearer {token}"
                token_at[0] = time.monotonic()

            fresh_token()
            base = f"{server.url}/admin/realms/{realm}"
            group_id = http.get(f"{base}/group-by-path/tenants/432024", timeout=10).json()["id"]
            role = http.get(f"{base}/roles/municipal-staff", timeout=10).json()

            def renkei_side(i: int) -> float:
                name = f"renkei-{i:03d}"
                started = time.perf_counter()
                identity.invite_user(db.session, operator, directory, "431001", identity.Invitation(
                    name, f"{name}@example.jp", "太郎", "熊本", frozenset({"municipal-staff"})))
                db.session.commit()
                return (time.perf_counter() - started) * 1000

            def direct_side(i: int) -> float:
                name = f"direct-{i:03d}"
                fresh_token()
                started = time.perf_counter()
                created = http.post(f"{base}/users", json={"username": name, "email": f"{name}@example.jp", "firstName": "太郎",
                                                            "lastName": "八代", "enabled": True,
                                                            "requiredActions": ["UPDATE_PASSWORD", "VERIFY_EMAIL"]}, timeout=10)
                created.raise_for_status()
                user_id = created.headers["Location"].rsplit("/", 1)[1]
                http.put(f"{base}/users/{user_id}/groups/{group_id}", timeout=10).raise_for_status()
                http.post(f"{base}/users/{user_id}/role-mappings/realm", json=[role], timeout=10).raise_for_status()
                return (time.perf_counter() - started) * 1000

            trips = RoundTrips(db.engine)
            samples = common.alternate({"renkei": renkei_side, "direct": direct_side}, users)
            trips.stop()
            renkei_ms, direct_ms = samples["renkei"], samples["direct"]
            dialect = db.engine.dialect.name
            db.session.remove()
            db.engine.dispose()
    finally:
        master.delete_realm(realm)

    print(f"bench_invite: {users} users into one tenant, Keycloak {server.url}, {dialect}; sides alternate user by user")
    print(common.noisy_machine_note())
    common.report(f"{users} invitations: renkei invite_user, total", sum(renkei_ms) / 1000, sum(direct_ms) / 1000,
                  "invitations", "s", higher_is_better=False)
    common.report("per user, median", common.median(renkei_ms), common.median(direct_ms), "invitations", "ms",
                  higher_is_better=False)
    print("  limit = direct Admin REST: create + group + role, one admin token (the same three writes)")
    print(f"  renkei's database round trips per invitation: {trips.total / users:.1f} ({trips.describe(users)})")


if __name__ == "__main__":
    main()
