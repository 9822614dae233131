"""Benchmark: a wave of 21 municipalities with 5 users each through renkei, next to Keycloak alone
creating the same objects by direct Admin REST calls in the same run (the limit).

renkei's side is what an operator's wave does: ``run_wave`` over a wave file's rows (register the
application, start screening, confirm the four screening items, approve, provision: Keycloak
group, first admin invited, default quotas, platform resources; activate), with its bounded pool of
``--workers`` municipalities at once (each worker its own database session and Keycloak client,
starting with the wave's token; committed twice per municipality: before the first Keycloak step,
then every step with the activation; a crash resumes as one at a time), then the four other staff of each municipality invited through the identity operation the
API uses (seat check, create, group, role, audit, commit), as concurrent
API requests: as many at once as the wave's workers. Every act writes its audit record, history
row and outbox message.

The limit creates, per municipality, the same Keycloak objects only: one group under ``/tenants``
(with the two attributes renkei gives it) and five users (set-up still to do: the two required
actions renkei's invitations leave), each put in the group and given a realm role (1 + 5 x 3 = 16
Admin REST calls with one admin token, plain ``requests``), one municipality after another. The
two sides alternate wave by wave (renkei, limit, renkei, limit: ``--rounds``, each round on
municipalities of its own), so a noisy shared machine slows both alike. Project target (issue
#12): the wave (21 municipalities x 5 users) in <= 1.3x the time of the Keycloak calls alone;
medians of the rounds.

    python bench/bench_onboarding.py [--tenants 21] [--users 5] [--rounds 2] [--workers 4]
                                     [--quick] [--smoke] [--keycloak-url URL] [--database-url URL]

Without ``--keycloak-url`` (or ``RENKEI_TEST_KEYCLOAK_URL``) a Keycloak is started on free ports.
A throw-away realm is created and deleted at the end. ``--tenants`` x ``--rounds`` is at most 45.
``--workers 1`` measures one municipality at a time (SQLite always runs one at a time).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=21, help="municipalities per wave")
    parser.add_argument("--users", type=int, default=5, help="users per municipality, the first admin included")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (renkei wave, limit)")
    parser.add_argument("--workers", type=int, default=None,
                        help="municipalities at once (default: the wave's own, waves.WAVE_WORKERS on PostgreSQL)")
    parser.add_argument("--quick", action="store_true", help="5 municipalities with 3 users each, one round")
    parser.add_argument("--keycloak-url", default=os.environ.get("RENKEI_TEST_KEYCLOAK_URL"))
    common.add_database_option(parser, None, help_text="a scratch database the benchmark empties "
                                                       "(default: SQLite in a temporary folder)")
    common.add_smoke_option(parser, "2 municipalities with 2 users each, one round, on a running Keycloak")
    args = parser.parse_args()
    if args.quick:
        args.tenants, args.users, args.rounds = 5, 3, 1
    if args.smoke:
        args.tenants, args.users, args.rounds = 2, 2, 1
    if args.smoke and not args.keycloak_url:
        parser.error("--smoke needs a running Keycloak (--keycloak-url or RENKEI_TEST_KEYCLOAK_URL): its smoke form starts none")
    if args.tenants * args.rounds > 45:
        parser.error("--tenants x --rounds must be at most 45 (the reference municipalities)")

    from maintenance.keycloak_server import ensure_running

    with ensure_running(args.keycloak_url) as server:
        run(server, args.tenants, args.users, args.database_url, rounds=args.rounds, workers=args.workers)


def municipalities(count: int) -> list[tuple[str, str]]:
    from tenancy.registry.importing import reference_municipalities
    from tenancy.registry.sample import PREFECTURE_CODE, WAVE_1, WAVE_2

    reference = reference_municipalities()
    ordered = list(WAVE_1) + list(WAVE_2) + [c for c in reference if c not in WAVE_1 + WAVE_2 + (PREFECTURE_CODE,)]
    return [(code, reference[code]["name_ja"]) for code in ordered[:count]]


class DirectKeycloak:
    """The limit: the same Keycloak objects by plain Admin REST calls."""

    def __init__(self, server, realm: str) -> None:
        self.server = server
        self.http = requests.Session()
        self.fresh_token()
        self.base = f"{server.url}/admin/realms/{realm}"
        self.parent = self.http.post(f"{self.base}/groups", json={"name": "direct"}, timeout=10).headers["Location"].rsplit("/", 1)[1]
        self.role = self.http.get(f"{self.base}/roles/municipal-staff", timeout=10).json()

    def fresh_token(self) -> None:
        """A new admin token (admin-cli's last a minute): taken before each round's clock starts."""
        token = requests.post(f"{self.server.url}/realms/master/protocol/openid-connect/token", data={
            "grant_type": "password", "client_id": "admin-cli", "username": self.server.admin_user,
            "password": self.server.admin_password}, timeout=10).json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {token}"

    def onboard(self, code: str, name_ja: str, users: int) -> None:
        created = self.http.post(f"{self.base}/groups/{self.parent}/children", timeout=10, json={
            "name": code, "attributes": {"tenant_code": [code], "name_ja": [name_ja]}})  # the group renkei makes
        created.raise_for_status()
        group_id = created.json()["id"] if created.content else created.headers["Location"].rsplit("/", 1)[1]
        for i in range(users):
            name = f"direct-{code}-{i}"
            response = self.http.post(f"{self.base}/users", json={  # the account renkei makes: set-up still to do
                "username": name, "email": f"{name}@example.jp", "firstName": "太郎", "lastName": "熊本", "enabled": True,
                "emailVerified": False, "requiredActions": ["UPDATE_PASSWORD", "VERIFY_EMAIL"]}, timeout=10)
            response.raise_for_status()
            user_id = response.headers["Location"].rsplit("/", 1)[1]
            self.http.put(f"{self.base}/users/{user_id}/groups/{group_id}", timeout=10).raise_for_status()
            self.http.post(f"{self.base}/users/{user_id}/role-mappings/realm", json=[self.role], timeout=10).raise_for_status()


class RequestCounter:
    """Counts HTTP requests sent through ``requests`` (python-keycloak uses it too), from any thread."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()
        self._send = requests.Session.send
        counter = self

        def send(session, request, **kwargs):
            with counter._lock:
                counter.count += 1
            return counter._send(session, request, **kwargs)

        requests.Session.send = send

    def take(self) -> int:
        with self._lock:
            value, self.count = self.count, 0
        return value


def run(server, tenants: int, users: int, database_url: str | None, *, rounds: int = 2, workers: int | None = None) -> None:
    from sqlalchemy.orm import Session

    from admin.extensions import db
    from core.actor import Actor
    from tenancy.identity import operations as identity
    from tenancy.onboarding import board as onboarding_board, waves as onboarding_waves
    from tenancy.onboarding.lifecycle import SCREENING_ITEMS
    from tenancy.registry.schemas import ContactIn

    app, realm, master = common.keycloak_app(server, database_url, "bench-onboarding")
    operator = Actor(issuer="urn:bench", subject="operator", name="bench", roles=frozenset({"platform-operator"}))
    everything = municipalities(tenants * rounds)
    waves = [everything[i * tenants:(i + 1) * tenants] for i in range(rounds)]
    calls = RequestCounter()
    renkei_s: list[float] = []
    direct_s: list[float] = []
    renkei_calls: list[int] = []
    direct_calls: list[int] = []
    wave_s: list[float] = []  # the wave part of renkei's side (the rest: the staff invitations)
    try:
        direct = DirectKeycloak(server, realm)
        with app.app_context():
            from admin.identity import identity_directory

            if db.engine.dialect.name == "postgresql":
                db.drop_all()
            db.create_all()
            dialect = db.engine.dialect.name
            pool = workers if workers is not None else (onboarding_waves.WAVE_WORKERS if dialect == "postgresql" else 1)
            if dialect != "postgresql":
                pool = 1
            directory = identity_directory()
            directory.find_user("warm-up")  # the service-account token, fetched before the clock starts
            local = threading.local()
            engine = db.engine

            def invite_staff(code: str, i: int) -> None:
                if not hasattr(local, "directory"):  # each thread: its own client, like each app process
                    local.directory = directory.sibling()  # the group ids the wave learnt and the token, shared
                username = f"bench-staff-{code}-{i}"
                with Session(bind=engine) as session:
                    identity.invite_user(session, operator, local.directory, code, identity.Invitation(
                        username, f"{username}@example.jp", "太郎", "熊本", frozenset({"municipal-staff"})))
                    session.commit()

            def renkei_side(number: int) -> float:
                rows = [onboarding_waves.WaveRow(line=i + 2, code=code, contact=ContactIn(
                            role="admin", name="熊本 花子", email=f"bench-admin-{code}@example.jp"),
                            confirmed=frozenset(entry.key for entry in SCREENING_ITEMS))
                        for i, (code, _) in enumerate(waves[number])]
                calls.take()
                started = time.perf_counter()
                outcomes = onboarding_waves.run_wave(db.session, operator, directory, 2025, rows, workers=pool)
                wave_s.append(time.perf_counter() - started)
                staff = [(code, i) for code, _ in waves[number] for i in range(users - 1)]
                if pool == 1:
                    for code, i in staff:
                        invite_staff(code, i)
                else:
                    with concurrent.futures.ThreadPoolExecutor(max_workers=pool) as executor:
                        list(executor.map(lambda item: invite_staff(*item), staff))
                elapsed = time.perf_counter() - started
                renkei_calls.append(calls.take())
                failed = [(o.code, o.message_en) for o in outcomes if not o.ok]
                if failed:
                    raise SystemExit(f"the wave failed for {failed}")
                return elapsed

            def direct_side(number: int) -> float:
                direct.fresh_token()
                calls.take()
                started = time.perf_counter()
                for code, name_ja in waves[number]:
                    direct.onboard(code, name_ja, users)
                elapsed = time.perf_counter() - started
                direct_calls.append(calls.take())
                return elapsed

            samples = common.alternate({"renkei": renkei_side, "direct": direct_side}, rounds)
            renkei_s, direct_s = samples["renkei"], samples["direct"]
            active = onboarding_board.board(db.session, operator)["active_municipalities"]
    finally:
        try:
            master.delete_realm(realm)
        except Exception:  # noqa: BLE001  (best effort clean-up)
            pass
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

    print(f"onboarding waves of {tenants} municipalities x {users} users, {rounds} round(s) alternating "
          f"(Keycloak {server.url}, {dialect}); renkei {pool} municipalities at once, the limit one after another; "
          f"{active} active at the end")
    for number in range(rounds):
        print(f"  round {number + 1}: renkei {renkei_s[number]:.2f} s (the wave {wave_s[number]:.2f} s, then the staff; "
              f"{renkei_calls[number] / tenants:.1f} Keycloak "
              f"requests per municipality), Keycloak alone {direct_s[number]:.2f} s "
              f"({direct_calls[number] / tenants:.1f} per municipality)")
    print(common.noisy_machine_note())
    common.report(f"wave of {tenants} x {users}: renkei, median of rounds", common.median(renkei_s),
                  common.median(direct_s), "wave", "s", higher_is_better=False)
    common.report("per municipality (wave time / municipalities)", common.median(renkei_s) / tenants,
                  common.median(direct_s) / tenants, "wave", "s", higher_is_better=False)


if __name__ == "__main__":
    main()
