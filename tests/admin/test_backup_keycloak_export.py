"""`renkei backup` / `renkei restore` with a real Keycloak: the realm's full export (issue 13).

When RENKEI_KEYCLOAK_URL is a Keycloak that renkei's launcher runs on this machine, the archive
holds Keycloak's own export (``kc.sh export``): after the realm is deleted and restored, a person
signs in with the password they had, and a token issued before the backup is still accepted (the
realm's signing keys came back). Any other Keycloak gets the REST copy, which says that it holds
no credentials. Each test works in a realm of its own, on SQLite databases of its own (the
archive and the restore are the same on PostgreSQL; tests/test_restore_drill.py runs them there).

Cost: one ``kc.sh export`` (a second Keycloak JVM, about 12-25 s) and three realm imports.
"""

from __future__ import annotations

import base64
import json
import tarfile

import pytest
import requests
from sqlmodel import SQLModel

from tests.conftest import own_realm

pytestmark = pytest.mark.keycloak

PASSWORD = "Export-password-0123"


def _kid(token: str) -> str:
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


def _realm_member(archive_file) -> tuple[dict, dict]:
    with tarfile.open(archive_file) as tar:
        return (json.loads(tar.extractfile("manifest.json").read()),
                json.loads(tar.extractfile("keycloak-realm.json").read()))


@pytest.fixture
def setup(app, keycloak_server, tmp_path):
    """A realm with an operator who has a password, and a renkei on an SQLite database of its own."""
    from admin import create_app
    from maintenance import keycloak_server as launcher
    from admin.extensions import db
    from tenancy.identity import realm_copy
    from tenancy.identity.keycloak import IdentityDirectory

    settings, master = own_realm(keycloak_server, "kc-export")
    realm = settings.realm
    directory = IdentityDirectory(settings)
    user_id = directory.create_user("kc-operator", "kc-operator@example.jp", "運営", "太郎", PASSWORD)
    directory.grant_roles(user_id, ["platform-operator"])
    # a server this session started has its state dir in a temporary folder: name it, as an
    # operator would with RENKEI_KEYCLOAK_STATE_DIR; a given URL is found by its port
    state_dir = str(keycloak_server.process.state_dir) if keycloak_server.process is not None else ""

    def make_app(name: str, **extra):
        config = {**{k: v for k, v in app.config.items() if k.startswith(("RENKEI_", "SECRET"))},
                  "TESTING": True, "SERVER_NAME": "renkei.test", "RENKEI_DATABASE_OWNER_URL": "",
                  "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / name}",
                  "RENKEI_KEYCLOAK_URL": settings.url, "RENKEI_KEYCLOAK_PUBLIC_URL": settings.url,
                  "RENKEI_KEYCLOAK_REALM": realm, "RENKEI_KEYCLOAK_STATE_DIR": state_dir,
                  "RENKEI_KEYCLOAK_ADMIN_USER": keycloak_server.admin_user,
                  "RENKEI_KEYCLOAK_ADMIN_PASSWORD": keycloak_server.admin_password, **extra}
        made = create_app(config)
        with made.app_context():
            SQLModel.metadata.create_all(db.engine)
            db.session.remove()
            db.engine.dispose()
        return made

    full, why_not = launcher.launched_server(settings.url, state_dir or None)
    if full is None and keycloak_server.process is not None:  # the launcher started it: it must export
        pytest.fail(f"the Keycloak this session started cannot be exported: {why_not}")
    try:
        yield settings, master, make_app, (full is not None, why_not)
    finally:
        realm_copy.delete_realm(master, realm)


def _backup(made_app, archive_file, *args):
    from admin.extensions import db

    with made_app.app_context():
        result = made_app.test_cli_runner().invoke(args=["backup", "--output", str(archive_file), *args, "--as", "unei"])
        db.session.remove()
        db.engine.dispose()
    return result


def _restore(made_app, archive_file):
    from admin.extensions import db

    with made_app.app_context():
        db.drop_all()  # restore only into an empty database
        result = made_app.test_cli_runner().invoke(args=["restore", str(archive_file), "--yes", "--as", "unei"])
        db.session.remove()
        db.engine.dispose()
    return result


def _sign_in(settings) -> requests.Response:
    return requests.post(f"{settings.url}/realms/{settings.realm}/protocol/openid-connect/token", timeout=30,
                         data={"grant_type": "password", "client_id": settings.admin_client_id,
                               "client_secret": settings.admin_client_secret, "username": "kc-operator",
                               "password": PASSWORD, "scope": "openid"})


def _jwks_kids(settings) -> set[str]:
    keys = requests.get(f"{settings.url}/realms/{settings.realm}/protocol/openid-connect/certs", timeout=30).json()["keys"]
    return {key["kid"] for key in keys}


def test_a_full_export_brings_back_passwords_and_signing_keys(setup, tmp_path):
    from tenancy.identity import realm_copy

    settings, master, make_app, (full, why_not) = setup
    if not full:  # RENKEI_TEST_KEYCLOAK_URL names a Keycloak renkei's launcher does not run (or an old one)
        pytest.skip(f"the test Keycloak is not one renkei's launcher runs with full exports: {why_not}")
    source = make_app("source.db")
    signed_in = _sign_in(settings)
    assert signed_in.status_code == 200, signed_in.text
    token = signed_in.json()["access_token"]
    with source.test_client() as client:
        assert client.get("/api/v1/tenants", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    archive_file = tmp_path / "full.tar"
    made = _backup(source, archive_file)
    assert made.exit_code == 0, made.output
    assert "credentials: included" in made.output
    manifest, copy = _realm_member(archive_file)
    assert manifest["realm"]["credentials"] is True
    assert manifest["realm"]["counts"]["users"] == 1

    realm_copy.delete_realm(master, settings.realm)
    assert _sign_in(settings).status_code != 200  # the realm is gone
    target = make_app("restored.db")
    restored = _restore(target, archive_file)
    assert restored.exit_code == 0, restored.output
    assert "credentials included" in restored.output and "check passed" in restored.output

    # the same password signs in, and the token from before the backup is still accepted
    again = _sign_in(settings)
    assert again.status_code == 200, again.text
    assert _kid(token) in _jwks_kids(settings)
    restarted = make_app("restored.db")  # a renkei started after the restore (fresh key cache)
    with restarted.test_client() as client:
        assert client.get("/api/v1/tenants", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    # an export the operator made on the Keycloak host goes into the archive as it is
    operator_file = tmp_path / "realm-export.json"
    operator_file.write_text(json.dumps(copy["representation"]), encoding="utf-8")
    given = _backup(restarted, tmp_path / "given.tar", "--keycloak-export", str(operator_file))
    assert given.exit_code == 0, given.output
    assert "credentials: included" in given.output and "kc.sh export of realm" not in given.output
    assert _realm_member(tmp_path / "given.tar")[0]["realm"]["credentials"] is True


def test_an_export_of_another_realm_is_refused_before_anything_is_written(setup, tmp_path):
    settings, master, make_app, _ = setup
    source = make_app("source.db")
    other = tmp_path / "other-realm.json"
    other.write_text(json.dumps({"realm": "somewhere-else", "users": []}), encoding="utf-8")
    result = _backup(source, tmp_path / "refused.tar", "--keycloak-export", str(other))
    assert result.exit_code == 2
    assert "somewhere-else" in result.output
    assert not (tmp_path / "refused.tar").exists()


def test_without_a_local_launcher_the_rest_copy_says_passwords_are_not_included(setup, tmp_path):
    from tenancy.identity import realm_copy

    settings, master, make_app, _ = setup
    # a state dir with no server in it: as for a Keycloak renkei does not run
    source = make_app("source.db", RENKEI_KEYCLOAK_STATE_DIR=str(tmp_path / "no-server"))
    archive_file = tmp_path / "rest.tar"
    made = _backup(source, archive_file)
    assert made.exit_code == 0, made.output
    assert "credentials: not included" in made.output
    assert _realm_member(archive_file)[0]["realm"]["credentials"] is False

    realm_copy.delete_realm(master, settings.realm)
    restored = _restore(make_app("restored.db"), archive_file)
    assert restored.exit_code == 0, restored.output
    assert "credentials not included" in restored.output
    assert realm_copy.realm_exists(master, settings.realm)
    assert _sign_in(settings).status_code == 401  # no password came back: the runbook's reset follows


def test_check_compares_the_realm_with_the_backup(setup, tmp_path):
    """After a restore, `renkei check --manifest` also counts the realm's people, groups, roles and
    clients: someone missing from Keycloak is named, and --no-realm leaves the realm out."""
    from admin.extensions import db
    from tenancy.identity import realm_copy

    settings, master, make_app, _ = setup
    source = make_app("source.db", RENKEI_KEYCLOAK_STATE_DIR=str(tmp_path / "no-server"))  # the quick REST copy
    archive_file = tmp_path / "rest.tar"
    assert _backup(source, archive_file).exit_code == 0
    realm_copy.delete_realm(master, settings.realm)
    target = make_app("restored.db", RENKEI_KEYCLOAK_STATE_DIR=str(tmp_path / "no-server"))
    restored = _restore(target, archive_file)
    assert restored.exit_code == 0, restored.output

    def check(*args):
        with target.app_context():
            result = target.test_cli_runner().invoke(args=["check", "--manifest", str(archive_file), *args,
                                                           "--as", "unei"])
            db.session.remove()
            db.engine.dispose()
        return result

    passed = check()
    assert passed.exit_code == 0, passed.output
    assert "realm counts against the manifest: 5" in passed.output

    master.connection.realm_name = settings.realm  # the person's account is lost in Keycloak
    gone = master.get_user_id("kc-operator")
    master.delete_user(gone)
    master.connection.realm_name = "master"
    failed = check()
    assert failed.exit_code == 1
    assert f"the Keycloak realm {settings.realm} has 0 users; the backup had 1" in failed.output
    assert "利用者は 0" in failed.output
    assert check("--no-realm").exit_code == 0
