"""The production runbook's restore (docs/operations.md, "Restore"), issue 36 item 5, on SQLite and PostgreSQL.

In production mode (no ``--as``): a backup, the database lost, ``renkei restore`` into a fresh empty
database for a service account, then ``renkei check``; with Keycloak down, the same under the host
owner's maintenance identity (backup, check, the due jobs' checkpoints, restore); with the database
and the realm lost together, the realm and then the database restored from one archive under the
maintenance identity; and a restore drill into another database leaves the live ``renkei check`` green.

PostgreSQL: the tests work on the test database's schema as its owner and rebuild it empty at the
end for the tests that follow (as tests/test_restore_drill.py does).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from residents.crypto import new_key_entry
from tests.conftest import TEST_DATABASE_OWNER_URL, TEST_DATABASE_URL, _reset_postgres, own_realm

MAINTENANCE = "urn:renkei:maintenance"
ON_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")


def _dead_keycloak() -> str:
    """A Keycloak address nobody answers at (a port just freed): Keycloak down, as stopped."""
    from maintenance.keycloak_server import free_ports

    return f"http://127.0.0.1:{free_ports(1)[0]}"


class Site:
    """renkei as production runs it, on a database of the test's: ``live`` (the session's test
    database, with the data the test made) and, for SQLite, a fresh file to restore into."""

    def __init__(self, app, tmp_path: Path):
        self.session_app = app
        self.tmp = tmp_path
        self.key = str(Path(app.config["RENKEI_VAR_DIR"]) / "signing" / "signing-key.pem")
        # the installation's trusted keys, a folder of their own (docs/deployment.md): the key's public key
        self.trusted = tmp_path / "trusted-keys"
        self.trusted.mkdir()
        for public in Path(self.key).parent.glob("*.pub"):
            (self.trusted / public.name).write_bytes(public.read_bytes())
        self.resident_keys = new_key_entry("production")  # the same ring for every app of the drill
        self.apps = []

    def app(self, *, url: str | None = None, var: str = "var", **settings):
        from admin import create_app

        base = {k: v for k, v in self.session_app.config.items()
                if k.startswith("RENKEI_") and k not in ("RENKEI_TEST_TEMPLATE", "RENKEI_AUDIT_CHECKPOINT_DIR")}
        config = {**base, "RENKEI_ENV": "production", "SECRET_KEY": "production-secret-" + "x" * 32,
                  "SQLALCHEMY_DATABASE_URI": url or self.session_app.config["SQLALCHEMY_DATABASE_URI"],
                  "RENKEI_VAR_DIR": str(self.tmp / var), "RENKEI_SIGNING_KEY": self.key,
                  "RENKEI_TRUSTED_KEYS": str(self.trusted),
                  "RENKEI_KEYCLOAK_ADMIN_PASSWORD": "a-real-master-password-42",
                  # the session's realms hash passwords once (tests/conftest.py); production refuses that setting
                  "RENKEI_KEYCLOAK_PASSWORD_HASH_ITERATIONS": None,
                  "RENKEI_RESIDENT_KEYS": self.resident_keys,
                  # production's checkpoints are copied off the host (renkei check requires it)
                  "RENKEI_CHECKPOINT_COPY_DIR": str(self.tmp / f"{var}-checkpoint-copy"), **settings}
        made = create_app(config)
        self.apps.append(made)
        return made

    def run(self, app, *args: str, env: dict | None = None):
        with app.app_context():
            result = app.test_cli_runner().invoke(args=list(args), env=env or {})
            self._release(app)
        return result

    def restore_target(self) -> str:
        """The empty database the runbook restores into: PostgreSQL's test database emptied (the
        disaster), SQLite a new file."""
        if ON_POSTGRES:
            self.release_all()
            engine = sa.create_engine(TEST_DATABASE_OWNER_URL)
            _reset_postgres(engine)
            engine.dispose()
            return TEST_DATABASE_URL
        return f"sqlite:///{self.tmp / f'restored-{uuid.uuid4().hex[:6]}.db'}"

    @staticmethod
    def _release(app) -> None:
        from admin.extensions import db

        db.session.remove()
        db.engine.dispose()

    def release_all(self) -> None:
        for app in [self.session_app, *self.apps]:
            with app.app_context():
                self._release(app)

    def records(self, app, action: str) -> list[tuple[str, str]]:
        from admin.extensions import db

        with app.app_context():
            rows = db.session.execute(sa.text("SELECT actor_issuer, actor_name FROM audit_record WHERE action = :a "
                                              "ORDER BY seq"), {"a": action}).all()
            self._release(app)
        return [tuple(row) for row in rows]


@pytest.fixture
def site(app, db, tenant_factory, tmp_path, monkeypatch):
    for name in ("RENKEI_CLI_CLIENT_ID", "RENKEI_CLI_CLIENT_SECRET", "RENKEI_ACTOR", "RENKEI_MAINTENANCE_IDENTITY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RENKEI_CLI_SESSION", str(tmp_path / "nobody-signed-in.json"))
    tenant_factory("431001")
    tenant_factory("432024")
    db.commit()
    made = Site(app, tmp_path)
    yield made
    made.release_all()
    if ON_POSTGRES:
        from tests.test_restore_drill import _rebuild_empty_schema
        from admin.extensions import db as database

        _rebuild_empty_schema(database.metadata)


def _grant() -> list[str]:
    if not ON_POSTGRES:
        return []
    app_role = sa.make_url(TEST_DATABASE_URL).username
    return ["--app-role", app_role] if app_role != sa.make_url(TEST_DATABASE_OWNER_URL).username else []


@pytest.mark.keycloak
def test_the_runbooks_restore_into_an_empty_database_for_a_service_account(site, keycloak_settings, keycloak_server):
    """The runbook as written: a service account signed in, a fresh empty database, restore, check.
    (The restore once crashed checking the caller against the deny list of the empty database.)"""
    from tenancy.identity.keycloak import ensure_machine_client, master_admin

    client_id, secret = f"h7-restorer-{uuid.uuid4().hex[:6]}", "h7-restorer-secret-0123456789"
    master = master_admin(keycloak_server.url, keycloak_server.admin_user, keycloak_server.admin_password, "master")
    ensure_machine_client(master, keycloak_settings, client_id, secret, realm_roles=("platform-operator",))
    account = {"RENKEI_CLI_CLIENT_ID": client_id, "RENKEI_CLI_CLIENT_SECRET": secret}
    live = site.app()
    archive_file = site.tmp / "nightly.tar"
    made = site.run(live, "backup", "--no-realm", "--output", str(archive_file), env=account)
    assert made.exit_code == 0, made.output

    target = site.app(url=site.restore_target())
    restored = site.run(target, "restore", str(archive_file), "--no-realm", "--yes", *_grant(), env=account)
    assert restored.exit_code == 0, restored.output
    assert "check passed" in restored.output
    checked = site.run(target, "check", "--manifest", str(archive_file), env=account)
    assert checked.exit_code == 0, checked.output
    assert "OK: no problem found" in checked.output
    [(issuer, _name)] = site.records(target, "system.restore")
    assert issuer == f"{keycloak_settings.url}/realms/{keycloak_settings.realm}"


@pytest.mark.long
def test_with_keycloak_down_the_maintenance_identity_backs_up_checks_checkpoints_and_restores(site):
    """Keycloak does not answer (its address is a port nobody listens on): a service account cannot
    sign in, the owner's maintenance identity runs every maintenance command, audited as such."""
    down = {"RENKEI_KEYCLOAK_URL": _dead_keycloak()}
    owner = {"RENKEI_MAINTENANCE_IDENTITY": "1"}
    live = site.app(**down)
    refused = site.run(live, "check", env={"RENKEI_CLI_CLIENT_ID": "renkei-timers", "RENKEI_CLI_CLIENT_SECRET": "s" * 32})
    assert refused.exit_code != 0
    archive_file = site.tmp / "keycloak-down.tar"
    made = site.run(live, "backup", "--no-realm", "--output", str(archive_file), env=owner)
    assert made.exit_code == 0, made.output
    jobs = site.run(live, "jobs", "run-due", "--only", "audit-checkpoint", env=owner)
    assert jobs.exit_code == 0, jobs.output
    assert "signed audit checkpoint" in jobs.output
    checked = site.run(live, "check", env=owner)
    assert checked.exit_code == 0, checked.output
    assert [issuer for issuer, _ in site.records(live, "system.backup")] == [MAINTENANCE]
    assert {issuer for issuer, _ in site.records(live, "jobs.run")} == {MAINTENANCE}

    target = site.app(url=site.restore_target(), **down)
    restored = site.run(target, "restore", str(archive_file), "--no-realm", "--yes", *_grant(), env=owner)
    assert restored.exit_code == 0, restored.output
    assert "check passed" in restored.output
    assert site.run(target, "check", "--manifest", str(archive_file), env=owner).exit_code == 0
    [(issuer, name)] = site.records(target, "system.restore")
    assert issuer == MAINTENANCE and name.startswith("maintenance identity")


@pytest.mark.keycloak
def test_database_and_realm_lost_together_come_back_from_one_archive(site, keycloak_server):
    """Nobody can sign in once the realm is gone: the owner's maintenance identity restores the
    realm first, then the database, from the one archive; then people sign in again."""
    from tenancy.identity import realm_copy
    from tenancy.identity.keycloak import ensure_machine_client

    settings, master = own_realm(keycloak_server, "h7-lost")
    try:
        realm = {"RENKEI_KEYCLOAK_REALM": settings.realm, "RENKEI_KEYCLOAK_ADMIN_USER": keycloak_server.admin_user}
        owner = {"RENKEI_MAINTENANCE_IDENTITY": "1"}
        live = site.app(**realm)
        live.config["RENKEI_KEYCLOAK_ADMIN_PASSWORD"] = keycloak_server.admin_password  # the shared server's
        archive_file = site.tmp / "with-realm.tar"
        made = site.run(live, "backup", "--output", str(archive_file), env=owner)
        assert made.exit_code == 0, made.output
        assert f"realm: {settings.realm}" in made.output
        ensure_machine_client(master, settings, "h7-timers", "h7-timers-secret-0123456789", realm_roles=("platform-operator",))

        realm_copy.delete_realm(master, settings.realm)  # the disaster: the realm and the database
        target = site.app(url=site.restore_target(), **realm)
        target.config["RENKEI_KEYCLOAK_ADMIN_PASSWORD"] = keycloak_server.admin_password
        timers = {"RENKEI_CLI_CLIENT_ID": "h7-timers", "RENKEI_CLI_CLIENT_SECRET": "h7-timers-secret-0123456789"}
        nobody = site.run(target, "restore", str(archive_file), "--yes", *_grant(), env=timers)
        assert nobody.exit_code != 0 and "could not sign in" in nobody.output
        restored = site.run(target, "restore", str(archive_file), "--yes", *_grant(), env=owner)
        assert restored.exit_code == 0, restored.output
        assert "check passed" in restored.output
        assert realm_copy.realm_exists(master, settings.realm)
        checked = site.run(target, "check", "--manifest", str(archive_file), env=owner)
        assert checked.exit_code == 0, checked.output
        [(issuer, _name)] = site.records(target, "system.restore")
        assert issuer == MAINTENANCE
    finally:
        realm_copy.delete_realm(master, settings.realm)


def test_a_restore_drill_leaves_the_live_check_green(site):
    """A drill restores last night's archive into another database on the same host: its
    checkpoints go to a folder of its own, and the live `renkei check` and checkpoint job stay green
    (a drill checkpoint copied into the live folder is named as another database's, not as tampering)."""
    owner = {"RENKEI_MAINTENANCE_IDENTITY": "1"}
    live = site.app(RENKEI_KEYCLOAK_URL=_dead_keycloak())
    archive_file = site.tmp / "nightly.tar"
    assert site.run(live, "backup", "--no-realm", "--output", str(archive_file), env=owner).exit_code == 0
    first = site.run(live, "jobs", "run-due", "--only", "audit-checkpoint", env=owner)
    assert first.exit_code == 0, first.output
    live_folder = site.tmp / "var" / "audit-checkpoints"
    before = sorted(path.name for path in live_folder.iterdir())

    # the drill: another database, the same host and settings (the same var folder)
    drill_url = f"sqlite:///{site.tmp / 'drill.db'}"
    if ON_POSTGRES:  # another database on the same server: the drill's own schema owner's database
        drill_url = _drill_database()
    drill = site.app(url=drill_url, RENKEI_KEYCLOAK_URL=live.config["RENKEI_KEYCLOAK_URL"], RENKEI_DATABASE_OWNER_URL="")
    try:
        restored = site.run(drill, "restore", str(archive_file), "--no-realm", "--yes", env=owner)
        assert restored.exit_code == 0, restored.output
        assert "restore drill" in restored.output
        assert sorted(path.name for path in live_folder.iterdir()) == before  # nothing written into the live folder
        drill_folder = next(site.tmp.joinpath("var").glob("audit-checkpoints-drill-*"))
        assert site.run(drill, "check", "--checkpoint-dir", str(drill_folder), env=owner).exit_code == 0

        # a drill checkpoint copied into the live folder by hand (or by an older renkei): not tampering
        for path in drill_folder.glob("audit-checkpoint-*.json"):
            shutil.copy(path, live_folder / path.name)
        live_check = site.run(live, "check", env=owner)
        assert live_check.exit_code == 0, live_check.output
        assert "checkpoints of another database, not compared" in live_check.output
        again = site.run(live, "jobs", "run-due", "--only", "audit-checkpoint", env=owner)
        assert again.exit_code == 0, again.output
        assert site.run(live, "check", env=owner).exit_code == 0
    finally:
        site.release_all()
        if ON_POSTGRES:
            _drop_drill_database()


DRILL_DB = "renkei_h7_drill_test"
# PostgreSQL: a second database for the drill, owned by the test's owner role (CI makes renkei_ci_drill);
# without it the test makes one, where the owner role may create databases
GIVEN_DRILL_URL = os.environ.get("RENKEI_TEST_DRILL_DATABASE_URL", "")


def _server_url(database: str) -> sa.URL:
    return sa.make_url(TEST_DATABASE_OWNER_URL).set(database=database)


def _drill_database() -> str:
    """PostgreSQL: a database of the drill's own beside the test database, owned by the owner role."""
    if GIVEN_DRILL_URL:
        engine = sa.create_engine(GIVEN_DRILL_URL)
        _reset_postgres(engine)
        engine.dispose()
        return GIVEN_DRILL_URL
    _drop_drill_database()
    engine = sa.create_engine(_server_url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{DRILL_DB}"'))
    except sa.exc.ProgrammingError as error:  # the owner role may not create databases (CREATEDB)
        pytest.skip(f"a drill database beside the test database cannot be made here: {error.orig}")
    finally:
        engine.dispose()
    return _server_url(DRILL_DB).render_as_string(hide_password=False)


def _drop_drill_database() -> None:
    if GIVEN_DRILL_URL:
        engine = sa.create_engine(GIVEN_DRILL_URL)
        _reset_postgres(engine)
        engine.dispose()
        return
    engine = sa.create_engine(_server_url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{DRILL_DB}" WITH (FORCE)'))
    finally:
        engine.dispose()


@pytest.mark.stops_keycloak
@pytest.mark.keycloak
def test_with_keycloak_stopped_database_and_realm_come_back_from_one_archive(site, keycloak_server):
    """Keycloak stopped for real (the session's own server; runs last, marker ``stops_keycloak``):
    the maintenance identity restores the database, checks it, writes the checkpoints and backs it
    up; once Keycloak runs again the realm comes back from the same archive (``--realm-only``)."""
    from maintenance import keycloak_server as kc
    from tenancy.identity import realm_copy
    from tenancy.identity.keycloak import master_admin

    process = keycloak_server.process
    if not keycloak_server.started_here or process is None:
        pytest.skip("stops Keycloak: only the server this session starts (run without RENKEI_TEST_KEYCLOAK_URL; "
                    ".ci/run does so on PostgreSQL in a session of its own)")
    settings, master = own_realm(keycloak_server, "h7-stopped")
    realm = {"RENKEI_KEYCLOAK_REALM": settings.realm, "RENKEI_KEYCLOAK_ADMIN_USER": keycloak_server.admin_user}
    owner = {"RENKEI_MAINTENANCE_IDENTITY": "1"}
    live = site.app(**realm)
    live.config["RENKEI_KEYCLOAK_ADMIN_PASSWORD"] = keycloak_server.admin_password
    archive_file = site.tmp / "with-realm.tar"
    made = site.run(live, "backup", "--output", str(archive_file), env=owner)
    assert made.exit_code == 0, made.output
    realm_copy.delete_realm(master, settings.realm)  # the disaster: realm and database lost...
    assert kc.stop(state_dir=process.state_dir) is True  # ...and Keycloak down

    target = site.app(url=site.restore_target(), **realm)
    target.config["RENKEI_KEYCLOAK_ADMIN_PASSWORD"] = keycloak_server.admin_password
    restored = site.run(target, "restore", str(archive_file), "--no-realm", "--yes", *_grant(), env=owner)
    assert restored.exit_code == 0, restored.output
    assert "check passed" in restored.output
    assert site.run(target, "check", "--manifest", str(archive_file), "--no-realm", env=owner).exit_code == 0
    jobs = site.run(target, "jobs", "run-due", "--only", "consent-checkpoints", "--only", "audit-checkpoint", env=owner)
    assert jobs.exit_code == 0, jobs.output
    again = site.run(target, "backup", "--no-realm", "--output", str(site.tmp / "while-down.tar"), env=owner)
    assert again.exit_code == 0, again.output

    kc.start(port=process.port, management_port=process.management_port, admin_user=keycloak_server.admin_user,
             admin_password=keycloak_server.admin_password, state_dir=process.state_dir, timeout=600)
    master = master_admin(keycloak_server.url, keycloak_server.admin_user, keycloak_server.admin_password, "master")
    try:
        realm_back = site.run(target, "restore", str(archive_file), "--realm-only", "--yes", env=owner)
        assert realm_back.exit_code == 0, realm_back.output
        assert "realm counts as the archive recorded" in realm_back.output
        assert realm_copy.realm_exists(master, settings.realm)
        assert site.run(target, "check", env=owner).exit_code == 0
        issuers = [issuer for issuer, _ in site.records(target, "system.restore")]
        assert issuers == [MAINTENANCE, MAINTENANCE]  # the database, then the realm
    finally:
        realm_copy.delete_realm(master, settings.realm)
