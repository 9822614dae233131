"""Benchmark: invite 100 users into one tenant through renkei, next to the same 100 created by
direct Keycloak Admin REST calls in the same run (the limit).

renkei's path is the operation the API calls (authorization, seat check, create, group
membership, role grant, audit record, commit). The limit does the same three writes
(create user, join group, map role) with plain requests and one admin token.

    python bench/bench_invite.py [--users 100] [--keycloak-url URL]   (else a Keycloak is started)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--keycloak-url", default=os.environ.get("RENKEI_TEST_KEYCLOAK_URL"))
    args = parser.parse_args()

    from admin.keycloak_server import ensure_running

    with ensure_running(args.keycloak_url) as server:
        run(server, args.users)


def run(server, users: int) -> None:
    from admin import create_app
    from admin.extensions import db
    from tenancy.identity import operations as identity
    from core.actor import Actor
    from tenancy.identity.keycloak import KeycloakSettings, bootstrap_realm, master_admin
    from tenancy.registry.sample import load_kumamoto

    realm = f"bench-{uuid.uuid4().hex[:6]}"
    settings = KeycloakSettings(url=server.url, realm=realm, admin_client_secret="bench-admin-secret",
                                service_client_secret="bench-service-secret", metering_client_secret="bench-metering-secret")
    master = master_admin(server.url, server.admin_user, server.admin_password, "master")
    bootstrap_realm(master, settings)
    var = Path(tempfile.mkdtemp(prefix="renkei-bench-"))
    app = create_app({"RENKEI_ENV": "testing", "SECRET_KEY": "bench", "RENKEI_VAR_DIR": str(var),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{var / 'bench.db'}",
                      "RENKEI_KEYCLOAK_URL": server.url, "RENKEI_KEYCLOAK_REALM": realm,
                      "RENKEI_OIDC_CLIENT_SECRET": "bench-admin-secret", "RENKEI_SERVICE_CLIENT_SECRET": "bench-service-secret"})
    operator = Actor(issuer="urn:bench", subject="operator", name="bench", roles=frozenset({"platform-operator"}))
    try:
        with app.app_context():
            from admin.identity import identity_directory

            db.create_all()
            load_kumamoto(db.session, operator)
            db.session.commit()
            directory = identity_directory()
            directory.ensure_tenant_group("431001", "熊本市")
            directory.ensure_tenant_group("432024", "八代市")
            started = time.perf_counter()
            for i in range(users):
                name = f"renkei-{i:03d}"
                identity.invite_user(db.session, operator, directory, "431001", identity.Invitation(
                    name, f"{name}@example.jp", "太郎", "熊本", frozenset({"municipal-staff"})))
                db.session.commit()
            renkei_seconds = time.perf_counter() - started

        # the limit: the same objects with direct Admin REST calls
        token = requests.post(f"{server.url}/realms/master/protocol/openid-connect/token", data={
            "grant_type": "password", "client_id": "admin-cli", "username": server.admin_user,
            "password": server.admin_password}, timeout=10).json()["access_token"]
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token}"
        base = f"{server.url}/admin/realms/{realm}"
        group_id = http.get(f"{base}/group-by-path/tenants/432024", timeout=10).json()["id"]
        role = http.get(f"{base}/roles/municipal-staff", timeout=10).json()
        started = time.perf_counter()
        for i in range(users):
            name = f"direct-{i:03d}"
            created = http.post(f"{base}/users", json={"username": name, "email": f"{name}@example.jp", "firstName": "太郎",
                                                        "lastName": "八代", "enabled": True,
                                                        "requiredActions": ["UPDATE_PASSWORD", "VERIFY_EMAIL"]}, timeout=10)
            created.raise_for_status()
            user_id = created.headers["Location"].rsplit("/", 1)[1]
            http.put(f"{base}/users/{user_id}/groups/{group_id}", timeout=10).raise_for_status()
            http.post(f"{base}/users/{user_id}/role-mappings/realm", json=[role], timeout=10).raise_for_status()
        direct_seconds = time.perf_counter() - started
    finally:
        master.delete_realm(realm)

    print(f"bench_invite: {users} users into one tenant, Keycloak {server.url}")
    print(f"renkei invite_user (checked, audited)       {renkei_seconds:7.2f} s   {renkei_seconds / users * 1000:7.1f} ms/user")
    print(f"direct Admin REST: create + group + role (limit)  {direct_seconds:7.2f} s   {direct_seconds / users * 1000:7.1f} ms/user")
    print(f"ratio renkei/direct time = {renkei_seconds / direct_seconds:.2f} (1.00 would be no overhead)")


if __name__ == "__main__":
    main()
