"""Test fixtures: the app from the factory, a clean database per test, a real Keycloak.

* Database: ``RENKEI_TEST_DATABASE_URL`` (PostgreSQL in CI) or a SQLite file in a temp folder.
  The schema is built once per session from the models (``create_all``, which also runs the
  DDL event listeners that install triggers; tests/admin/test_migrations.py checks that the
  Alembic migrations build the same schema); each test then starts from that empty schema (SQLite: a copy of the migrated file; PostgreSQL: TRUNCATE), so tests may
  commit for real (ledger triggers, request commits) and still not see each other's data.
* Keycloak: ``RENKEI_TEST_KEYCLOAK_URL`` names a running server, else the session starts one
  (see admin.keycloak_server). Each session bootstraps a fresh realm, so runs that share a
  server (SQLite and PostgreSQL in CI) do not meet each other's users.
"""

from __future__ import annotations

import contextvars
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from core.actor import Actor

TEST_DATABASE_URL = os.environ.get("RENKEI_TEST_DATABASE_URL", "")
KEYCLOAK_URL = os.environ.get("RENKEI_TEST_KEYCLOAK_URL") or None
ADMIN_SECRET = "test-admin-client-secret-0123456789"
SERVICE_SECRET = "test-service-client-secret-0123456789"
METERING_SECRET = "test-metering-client-secret-0123456789"
PASSWORD = "Test-password-1"


# --- Keycloak ------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def keycloak_server():
    from admin.keycloak_server import ensure_running

    handle = ensure_running(KEYCLOAK_URL)
    yield handle
    handle.close()


@pytest.fixture(scope="session")
def keycloak_settings(keycloak_server):
    from tenancy.identity.keycloak import KeycloakSettings, bootstrap_realm, master_admin

    settings = KeycloakSettings(
        url=keycloak_server.url.rstrip("/"),
        realm=f"renkei-test-{uuid.uuid4().hex[:8]}",
        admin_client_secret=ADMIN_SECRET,
        service_client_secret=SERVICE_SECRET,
        metering_client_secret=METERING_SECRET,
        direct_grants=True,
        redirect_uris=("http://renkei.test/*",),
    )
    master = master_admin(settings.url, keycloak_server.admin_user, keycloak_server.admin_password, "master")
    bootstrap_realm(master, settings)
    master.update_realm(settings.realm, {"accessTokenLifespan": 3600})
    yield settings
    try:
        master_admin(settings.url, keycloak_server.admin_user, keycloak_server.admin_password, "master").delete_realm(settings.realm)
    except Exception:  # the server may already be gone at the end of the session
        pass


@pytest.fixture(scope="session")
def directory(keycloak_settings):
    from tenancy.identity.keycloak import IdentityDirectory

    return IdentityDirectory(keycloak_settings)


# --- app and database --------------------------------------------------------------------------

def _reset_postgres(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))


class RequestIsolatedClient(FlaskClient):
    """Each request runs in its own app context, as in production.

    Flask reuses an app context that is already pushed (the ``db`` fixture pushes one), which
    would share ``g`` (the signed-in actor), the babel locale and the database session between
    requests of one test. Running each request in an empty ``contextvars`` context avoids that.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture(scope="session")
def app(tmp_path_factory, keycloak_settings):
    from admin import create_app
    from admin.extensions import db

    var = tmp_path_factory.mktemp("var")
    url = TEST_DATABASE_URL or f"sqlite:///{var / 'test.db'}"
    app = create_app({
        "RENKEI_ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "RENKEI_VAR_DIR": str(var),
        "RENKEI_KEYCLOAK_URL": keycloak_settings.url,
        "RENKEI_KEYCLOAK_PUBLIC_URL": keycloak_settings.url,
        "RENKEI_KEYCLOAK_REALM": keycloak_settings.realm,
        "RENKEI_OIDC_CLIENT_SECRET": ADMIN_SECRET,
        "RENKEI_SERVICE_CLIENT_SECRET": SERVICE_SECRET,
        "RENKEI_API_OPEN_FOR_DEVELOPMENT": False,
        "SERVER_NAME": "renkei.test",
        "RENKEI_TOKEN_LEEWAY_SECONDS": 0,
    })
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            _reset_postgres(db.engine)
        db.create_all()
        db.engine.dispose()
        if db.engine.dialect.name == "sqlite":
            shutil.copyfile(var / "test.db", var / "template.db")
    app.config["RENKEI_TEST_TEMPLATE"] = str(var / "template.db")
    app.test_client_class = RequestIsolatedClient
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def reset_database(app) -> None:
    from admin.extensions import db

    db.session.remove()
    engine = db.engine
    if engine.dialect.name == "sqlite":
        engine.dispose()
        shutil.copyfile(app.config["RENKEI_TEST_TEMPLATE"], engine.url.database)
        return
    tables = [t.name for t in db.metadata.sorted_tables]
    with engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


@pytest.fixture
def db(app) -> Iterator:
    """The app's session on a clean database; committed data is wiped after the test."""
    from admin.extensions import db as database

    with app.app_context():
        yield database.session
        reset_database(app)


@pytest.fixture
def client(app, db):
    return app.test_client()


# --- actors, tenants, users -------------------------------------------------------------------

@pytest.fixture
def operator() -> Actor:
    return Actor(issuer="urn:test", subject="operator-1", name="県 運営者", roles=frozenset({"platform-operator"}))


@pytest.fixture
def tenant_factory(db, operator) -> Callable:
    """Register a tenant from the Kumamoto reference data (or explicit fields); returns it."""
    from tenancy.registry.importing import reference_municipalities
    from tenancy.registry.operations import create_tenant
    from tenancy.registry.schemas import TenantCreate

    def make(code: str = "431001", **fields):
        row = reference_municipalities().get(code, {})
        data = {
            "code": code,
            "name_ja": row.get("name_ja", f"テスト町{code}"),
            "name_en": row.get("name_en", f"Test {code}"),
            "kind": row.get("kind", "town"),
            "population": int(row.get("population", 10000)),
            "population_source": row.get("population_source", "test"),
            "status": "active",
            **fields,
        }
        tenant = create_tenant(db, operator, TenantCreate.model_validate(data))
        db.commit()
        return tenant

    return make


@pytest.fixture(scope="session")
def user_factory(directory, keycloak_settings) -> Callable:
    """Create a real Keycloak user with roles (and a tenant); returns (account, auth headers)."""
    from tenancy.identity.keycloak import password_token

    cache: dict[tuple, tuple] = {}

    def make(roles: tuple[str, ...] = (), tenant: str | None = None, *, fresh: bool = False, name: str | None = None):
        key = (tuple(sorted(roles)), tenant)
        if not fresh and key in cache:
            return cache[key]
        username = name or f"{'-'.join(sorted(roles)) or 'nobody'}-{tenant or 'all'}-{uuid.uuid4().hex[:6]}"
        user_id = directory.create_user(username, f"{username}@example.jp", "テスト", "利用者", password=PASSWORD)
        if tenant:
            directory.ensure_tenant_group(tenant)
            directory.add_to_tenant(user_id, tenant)
        directory.set_roles(user_id, roles, roles)
        token = password_token(keycloak_settings, username, PASSWORD)["access_token"]
        result = (directory.account(user_id), {"Authorization": f"Bearer {token}"})
        if not fresh:
            cache[key] = result
        return result

    return make


@pytest.fixture
def as_operator(user_factory):
    return user_factory(("platform-operator",))[1]


def data_file(name: str) -> Path:
    return Path(__file__).parent / "data" / name
