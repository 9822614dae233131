"""The command line acts for a named person (--as, RENKEI_ACTOR, else the operating-system user),
in the roles --role gives, and the audit log records that person."""

import getpass

import sqlalchemy as sa

from core.audit import AuditRecord
from tenancy.registry.models import Tenant

CSV = "団体コード,団体名,種別,人口\r\n431001,熊本市,政令指定都市,738865\r\n".encode("cp932")


def records(db):
    db.expire_all()
    return list(db.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq)))


def test_the_audit_record_names_the_person_given_with_as(app, db, tmp_path):
    path = tmp_path / "tenants.csv"
    path.write_bytes(CSV)
    result = app.test_cli_runner().invoke(args=["tenants", "import", str(path), "--as", "yamada.taro"])
    assert result.exit_code == 0, result.output
    [record] = records(db)
    # one record for the import (a file of 1,741 rows is one act, not 1,741)
    assert (record.action, record.actor_subject, record.actor_name) == ("tenant.import", "yamada.taro", "yamada.taro")
    assert record.actor_issuer == "urn:renkei:cli"
    assert record.actor_role == "platform-operator"


def test_renkei_actor_names_the_person_and_the_os_user_is_the_default(app, db, tmp_path):
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_bytes(CSV)
    second.write_bytes("団体コード,団体名,種別,人口\r\n432024,八代市,市,123067\r\n".encode("cp932"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tenants", "import", str(first)], env={"RENKEI_ACTOR": "suzuki.hanako"})
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["tenants", "import", str(second)], env={"RENKEI_ACTOR": ""})
    assert result.exit_code == 0, result.output
    assert [(r.target_id, r.actor_subject) for r in records(db)] == [("431001", "suzuki.hanako"),
                                                                      ("432024", getpass.getuser())]


def test_a_role_without_the_right_is_refused_and_nothing_is_written(app, db, tmp_path):
    path = tmp_path / "tenants.csv"
    path.write_bytes(CSV)
    result = app.test_cli_runner().invoke(args=["tenants", "import", str(path), "--as", "sato", "--role", "auditor"])
    assert result.exit_code != 0
    assert "権限がありません" in result.output
    assert db.scalar(sa.select(sa.func.count()).select_from(Tenant)) == 0
    assert records(db) == []


# --- outside development: an authenticated person or a service account, never a bare name (issue 26) ---

import os  # noqa: E402
from pathlib import Path  # noqa: E402
import stat  # noqa: E402

import pytest  # noqa: E402

from tests.conftest import PASSWORD  # noqa: E402


@pytest.fixture
def outside_development(app, monkeypatch, tmp_path):
    """The app as a server's commands see it: not development, not built by test code; no session file."""
    monkeypatch.setitem(app.config, "TESTING", False)
    monkeypatch.setitem(app.config, "RENKEI_ENV", "production")
    # the installation's trusted keys: a folder of their own (docs/deployment.md), never the key's folder
    installed = tmp_path / "trusted-keys"
    installed.mkdir()
    for public in (Path(app.config["RENKEI_VAR_DIR"]) / "signing").glob("*.pub"):
        (installed / public.name).write_bytes(public.read_bytes())
    monkeypatch.setitem(app.config, "RENKEI_TRUSTED_KEYS", str(installed))
    monkeypatch.setenv("RENKEI_CLI_SESSION", str(tmp_path / "session" / "cli-session.json"))
    for name in ("RENKEI_CLI_CLIENT_ID", "RENKEI_CLI_CLIENT_SECRET", "RENKEI_ACTOR"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "session" / "cli-session.json"


@pytest.mark.parametrize("args", [["tenants", "import", "{csv}", "--as", "yamada.taro"],
                                  ["tenants", "import", "{csv}"],  # the operating-system user
                                  ["billing", "approve", "1", "--as", "finance-approver"]])
def test_a_self_declared_name_is_refused_outside_development_and_nothing_is_written(app, db, tmp_path,
                                                                                    outside_development, args):
    path = tmp_path / "tenants.csv"
    path.write_bytes(CSV)
    result = app.test_cli_runner().invoke(args=[arg.format(csv=path) for arg in args])
    assert result.exit_code != 0
    assert "renkei login" in result.output and "RENKEI_CLI_CLIENT_ID" in result.output
    assert db.scalar(sa.select(sa.func.count()).select_from(Tenant)) == 0
    assert records(db) == []


def test_renkei_actor_alone_is_refused_outside_development_too(app, db, tmp_path, outside_development):
    path = tmp_path / "tenants.csv"
    path.write_bytes(CSV)
    result = app.test_cli_runner().invoke(args=["tenants", "import", str(path)], env={"RENKEI_ACTOR": "probe-reviewer"})
    assert result.exit_code != 0 and "renkei login" in result.output
    assert records(db) == []


@pytest.mark.keycloak  # in development the command asks Keycloak for the person's name (nobody here by that name)
def test_development_keeps_as_for_the_demo(app, db, tmp_path, outside_development, monkeypatch):
    monkeypatch.setitem(app.config, "RENKEI_ENV", "development")
    path = tmp_path / "tenants.csv"
    path.write_bytes(CSV)
    result = app.test_cli_runner().invoke(args=["tenants", "import", str(path), "--as", "yamada.taro"])
    assert result.exit_code == 0, result.output
    assert [r.actor_subject for r in records(db)] == ["yamada.taro"]


@pytest.mark.keycloak
def test_a_person_signed_in_with_renkei_login_is_the_actor_until_logout(app, db, tmp_path, outside_development,
                                                                         user_factory, keycloak_settings):
    account, _ = user_factory(("platform-operator",), fresh=True)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["login", "--password", "--username", account.username],
                           env={"RENKEI_CLI_PASSWORD": PASSWORD})
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(outside_development).st_mode) == 0o600  # the tokens: this OS user only

    path = tmp_path / "tenants.csv"
    path.write_bytes(CSV)
    result = runner.invoke(args=["tenants", "import", str(path), "--as", "someone-else"])
    assert result.exit_code != 0 and "not who is signed in" in result.output
    result = runner.invoke(args=["tenants", "import", str(path)])
    assert result.exit_code == 0, result.output
    [record] = records(db)
    assert (record.actor_subject, record.actor_issuer) == (account.id, f"{keycloak_settings.url}/realms/{keycloak_settings.realm}")
    assert record.actor_role == "platform-operator"
    # a role the person does not hold is refused, not taken
    result = runner.invoke(args=["billing", "runs", "--role", "finance-officer"])
    assert result.exit_code != 0 and "does not hold the role finance-officer" in result.output

    assert runner.invoke(args=["logout"]).exit_code == 0
    result = runner.invoke(args=["tenants", "import", str(path)])
    assert result.exit_code != 0 and "renkei login" in result.output
    # a wrong password is refused and leaves no session. Tried last: Keycloak's brute-force detection blocks a
    # sign-in of the same person while it still records a failure, so the right password just after a wrong one
    # could be refused on a busy machine (Keycloak 26, "concurrent login requests are blocked")
    result = runner.invoke(args=["login", "--password", "--username", account.username],
                           env={"RENKEI_CLI_PASSWORD": "wrong-password-1"})
    assert result.exit_code != 0 and "Keycloak refused the sign-in" in result.output
    assert not outside_development.exists()


@pytest.mark.keycloak
def test_a_service_account_the_operator_issued_is_the_actor(app, db, tmp_path, outside_development, keycloak_settings):
    import uuid

    client_id = f"renkei-jobs-{uuid.uuid4().hex[:6]}"
    runner = app.test_cli_runner()
    issued = runner.invoke(args=["keycloak", "service-account", client_id, "--role", "platform-operator",
                                 "--maintenance-identity"])  # nobody signed in: the owner's maintenance identity
    assert issued.exit_code == 0, issued.output
    secret = next(line.split("=", 1)[1] for line in issued.output.splitlines()
                  if line.startswith("RENKEI_CLI_CLIENT_SECRET="))
    path = tmp_path / "tenants.csv"
    path.write_bytes(CSV)
    refused = runner.invoke(args=["tenants", "import", str(path)],
                            env={"RENKEI_CLI_CLIENT_ID": client_id, "RENKEI_CLI_CLIENT_SECRET": "not-the-secret"})
    assert refused.exit_code != 0 and "could not sign in" in refused.output
    result = runner.invoke(args=["tenants", "import", str(path)],
                           env={"RENKEI_CLI_CLIENT_ID": client_id, "RENKEI_CLI_CLIENT_SECRET": secret,
                                "RENKEI_ACTOR": client_id})
    assert result.exit_code == 0, result.output
    issuance, record = records(db)
    # the issuance is audited, naming who issued it (here the maintenance identity) and never the secret
    assert (issuance.action, issuance.target_id, issuance.actor_issuer) == (
        "keycloak.service_account", client_id, "urn:renkei:maintenance")
    assert "maintenance identity" in issuance.actor_name and secret not in issuance.after
    assert record.actor_issuer == f"{keycloak_settings.url}/realms/{keycloak_settings.realm}"
    assert record.actor_role == "platform-operator" and record.action == "tenant.import"
