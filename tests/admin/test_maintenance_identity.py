"""Who may mint identities and run maintenance (issue 36 items 1 and 5).

`renkei keycloak bootstrap` and `renkei keycloak service-account` act with Keycloak's master
administrator: outside development they act only for a signed-in operator or the host owner's
maintenance identity (the signing key proves it, docs/operations.md), and each leaves an audit
record naming who. The maintenance identity needs no Keycloak; a key renkei does not trust proves nothing.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord

MAINTENANCE = "urn:renkei:maintenance"


def records(db) -> list[AuditRecord]:
    db.expire_all()
    return list(db.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq)))


@pytest.fixture
def production(app, monkeypatch, tmp_path):
    """The app as a server's commands see it (not development, not built by test code, nobody signed in)."""
    monkeypatch.setitem(app.config, "TESTING", False)
    monkeypatch.setitem(app.config, "RENKEI_ENV", "production")
    monkeypatch.setitem(app.config, "RENKEI_CHECKPOINT_COPY_DIR", str(tmp_path / "checkpoint-copy"))
    # the installation's trusted keys: a folder of their own (docs/deployment.md), never the key's folder
    installed = tmp_path / "trusted-keys"
    installed.mkdir()
    for public in (Path(app.config["RENKEI_VAR_DIR"]) / "signing").glob("*.pub"):
        (installed / public.name).write_bytes(public.read_bytes())
    monkeypatch.setitem(app.config, "RENKEI_TRUSTED_KEYS", str(installed))
    monkeypatch.setenv("RENKEI_CLI_SESSION", str(tmp_path / "session" / "cli-session.json"))
    for name in ("RENKEI_CLI_CLIENT_ID", "RENKEI_CLI_CLIENT_SECRET", "RENKEI_ACTOR", "RENKEI_MAINTENANCE_IDENTITY"):
        monkeypatch.delenv(name, raising=False)
    return app


@pytest.fixture
def realm_of_its_own(production, keycloak_server, monkeypatch):
    """The commands pointed at a realm of the test's own (bootstrap would otherwise reset the
    session realm's clients), with the master administrator's login; the realm is deleted after."""
    from tenancy.identity import realm_copy
    from tenancy.identity.keycloak import master_admin

    realm = f"h7-mint-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(production.config, "RENKEI_KEYCLOAK_REALM", realm)
    # the token validator reads the realm's keys: this realm's, then the session realm's again
    monkeypatch.delitem(production.extensions, "renkei_token_validator", raising=False)
    monkeypatch.setitem(production.config, "RENKEI_KEYCLOAK_ADMIN_USER", keycloak_server.admin_user)
    monkeypatch.setitem(production.config, "RENKEI_KEYCLOAK_ADMIN_PASSWORD", keycloak_server.admin_password)
    master = master_admin(keycloak_server.url, keycloak_server.admin_user, keycloak_server.admin_password, "master")
    yield realm, master
    production.extensions.pop("renkei_token_validator", None)
    realm_copy.delete_realm(master_admin(keycloak_server.url, keycloak_server.admin_user,
                                         keycloak_server.admin_password, "master"), realm)


@pytest.mark.keycloak
def test_without_a_signed_in_operator_neither_command_acts_in_production(db, realm_of_its_own, production):
    from tenancy.identity import realm_copy

    realm, master = realm_of_its_own
    runner = production.test_cli_runner()
    bootstrap = runner.invoke(args=["keycloak", "bootstrap"])
    assert bootstrap.exit_code == 2 and "renkei login" in bootstrap.output
    assert not realm_copy.realm_exists(master, realm)
    minted = runner.invoke(args=["keycloak", "service-account", "h7-probe", "--role", "platform-operator"])
    assert minted.exit_code == 2 and "renkei login" in minted.output
    assert "RENKEI_CLI_CLIENT_SECRET=" not in minted.output
    # a bare name is no operator outside development either
    named = runner.invoke(args=["keycloak", "service-account", "h7-probe", "--role", "platform-operator",
                                "--as", "platform-operator"])
    assert named.exit_code == 2 and "RENKEI_CLI_CLIENT_SECRET=" not in named.output
    assert records(db) == []


@pytest.mark.keycloak
def test_both_commands_leave_audit_records_naming_who(db, realm_of_its_own, production, monkeypatch):
    """The owner bootstraps the realm (nobody can sign in before it exists) and issues the timers'
    service account; signed in as that account, an operator's command issues another."""
    realm, master = realm_of_its_own
    runner = production.test_cli_runner()
    made = runner.invoke(args=["keycloak", "bootstrap", "--maintenance-identity"])
    assert made.exit_code == 0, made.output
    assert f"created or updated: realm {realm}" in made.output
    assert "created or updated: client admin-cli: password grant off" in made.output
    issued = runner.invoke(args=["keycloak", "service-account", "h7-timers", "--role", "platform-operator"],
                           env={"RENKEI_MAINTENANCE_IDENTITY": "1"})
    assert issued.exit_code == 0, issued.output
    secret = next(line.split("=", 1)[1] for line in issued.output.splitlines() if line.startswith("RENKEI_CLI_CLIENT_SECRET="))
    again = runner.invoke(args=["keycloak", "service-account", "h7-auditor", "--role", "auditor"],
                          env={"RENKEI_CLI_CLIENT_ID": "h7-timers", "RENKEI_CLI_CLIENT_SECRET": secret})
    assert again.exit_code == 0, again.output

    bootstrap, timers, auditor = records(db)
    assert (bootstrap.action, bootstrap.target_id, bootstrap.actor_issuer) == ("keycloak.bootstrap", realm, MAINTENANCE)
    assert bootstrap.actor_name.startswith("maintenance identity") and f"realm {realm}" in bootstrap.after
    assert (timers.action, timers.target_id, timers.actor_issuer) == ("keycloak.service_account", "h7-timers", MAINTENANCE)
    assert '"platform-operator"' in timers.after and secret not in timers.after
    assert (auditor.action, auditor.target_id) == ("keycloak.service_account", "h7-auditor")
    assert auditor.actor_issuer.endswith(f"/realms/{realm}") and auditor.actor_role == "platform-operator"
    assert '"auditor"' in auditor.after


def test_the_maintenance_identity_needs_a_trusted_key_and_no_other_name(app, db, production, monkeypatch, tmp_path):
    from core.signing import generate_key

    runner = production.test_cli_runner()
    as_owner = runner.invoke(args=["jobs", "run-due", "--only", "audit-checkpoint", "--maintenance-identity"])
    assert as_owner.exit_code == 0, as_owner.output
    assert "signed audit checkpoint #2 written" in as_owner.output
    first, record = records(db)  # the two jobs' records
    assert {first.action, record.action} == {"jobs.run"} and first.actor_issuer == record.actor_issuer == MAINTENANCE
    assert record.actor_name.startswith("maintenance identity / 保守用ID (signing key ")
    assert runner.invoke(args=["check", "--maintenance-identity"]).exit_code == 0

    with_a_name = runner.invoke(args=["check", "--maintenance-identity", "--as", "someone"])
    assert with_a_name.exit_code == 2 and "leave --as out" in with_a_name.output
    # a key renkei does not trust (someone's own key file) proves nothing
    generate_key(tmp_path / "stranger" / "key.pem", tmp_path / "stranger")
    monkeypatch.setitem(production.config, "RENKEI_SIGNING_KEY", str(tmp_path / "stranger" / "key.pem"))
    monkeypatch.setitem(production.config, "RENKEI_TRUSTED_KEYS", str(tmp_path / "nobody"))
    stranger = runner.invoke(args=["check", "--maintenance-identity"])
    assert stranger.exit_code == 1 and "maintenance identity refused" in stranger.output
    monkeypatch.setitem(production.config, "RENKEI_SIGNING_KEY", str(tmp_path / "none" / "key.pem"))
    keyless = runner.invoke(args=["check", "--maintenance-identity"])
    assert keyless.exit_code == 1 and "maintenance identity refused" in keyless.output
    assert len(records(db)) == 2


def test_without_a_schema_nothing_is_done_that_could_not_be_recorded(tmp_path):
    """Before `renkei db upgrade` the audit log does not exist: both commands refuse before they
    reach Keycloak (this test is not marked keycloak, so a connection to it would fail the test)."""
    from admin import create_app
    from core.signing import generate_key
    from residents.crypto import new_key_entry
    from tests.conftest import KEYCLOAK

    generate_key(tmp_path / "signing" / "signing-key.pem", tmp_path / "trusted-keys")  # the installation's place
    app = create_app({"RENKEI_ENV": "production", "SECRET_KEY": "x" * 40, "RENKEI_VAR_DIR": str(tmp_path),
                      "RENKEI_TRUSTED_KEYS": str(tmp_path / "trusted-keys"),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.db'}", "RENKEI_KEYCLOAK_URL": KEYCLOAK.url,
                      "RENKEI_KEYCLOAK_ADMIN_PASSWORD": "a-real-master-password-42",
                      "RENKEI_RESIDENT_KEYS": new_key_entry("production")})
    runner = app.test_cli_runner()
    for args in (["keycloak", "bootstrap"], ["keycloak", "service-account", "h7-early", "--role", "auditor"]):
        result = runner.invoke(args=[*args, "--maintenance-identity"])
        assert result.exit_code == 1 and "renkei db upgrade" in result.output, result.output


# --- a maintenance identity only from a trusted key (issue 51, item 3) -----------------------------

def test_production_without_trusted_keys_refuses_the_maintenance_identity_in_words(db, production, monkeypatch):
    monkeypatch.setitem(production.config, "RENKEI_TRUSTED_KEYS", "")
    monkeypatch.delenv("RENKEI_TRUSTED_KEYS", raising=False)
    refused = production.test_cli_runner().invoke(args=["check", "--maintenance-identity"])
    assert refused.exit_code == 1
    assert "maintenance identity refused: RENKEI_TRUSTED_KEYS is not set" in refused.output
    assert "RENKEI_TRUSTED_KEYS が設定されていません" in refused.output
    assert records(db) == []


def test_a_self_made_key_in_the_keys_own_folder_is_refused(db, production, monkeypatch, tmp_path):
    """An attacker who can write the signing key's folder puts a key pair of their own there (the
    private key where renkei reads it, the public key beside it): it is not the installation's."""
    from core.signing import generate_key

    folder = tmp_path / "signing"
    generate_key(folder / "signing-key.pem", folder)  # the attacker's own, in the key's folder
    monkeypatch.setitem(production.config, "RENKEI_SIGNING_KEY", str(folder / "signing-key.pem"))
    runner = production.test_cli_runner()
    refused = runner.invoke(args=["check", "--maintenance-identity"])
    assert refused.exit_code == 1 and "maintenance identity refused" in refused.output
    assert "not among the trusted public keys" in refused.output
    # naming the key's own folder as the trusted place trusts nothing in it either
    monkeypatch.setitem(production.config, "RENKEI_TRUSTED_KEYS", f"{folder}:{next(folder.glob('*.pub'))}")
    again = runner.invoke(args=["check", "--maintenance-identity"])
    assert again.exit_code == 1 and "not among the trusted public keys (none)" in again.output
    assert records(db) == []


def test_check_names_a_record_made_by_an_untrusted_key(db, production, monkeypatch):
    from core import audit
    from core.actor import Actor

    stranger = Actor(issuer=MAINTENANCE, subject="signing-key:0123456789abcdef",
                     name="maintenance identity / 保守用ID (signing key 0123456789abcdef)",
                     roles=frozenset({"platform-operator"}))
    audit.record(db, stranger, "system.restore", "database", "renkei")
    db.commit()
    seq = records(db)[-1].seq
    result = production.test_cli_runner().invoke(args=["check", "--maintenance-identity"])
    assert result.exit_code == 1, result.output
    assert f"audit record #{seq} (system.restore) was made as the maintenance identity of signing key " \
           "0123456789abcdef, which is not among the installation's trusted keys" in result.output
    assert f"操作ログ #{seq}（system.restore）は署名鍵 0123456789abcdef の保守用IDによる記録" in result.output


def test_check_says_when_the_newest_checkpoint_is_older_than_its_window(db, production, operator, monkeypatch):
    import datetime as dt

    from core import audit

    runner = production.test_cli_runner()
    assert runner.invoke(args=["check", "--maintenance-identity"]).exit_code == 0  # nothing recorded yet: not overdue
    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=30)
    with monkeypatch.context() as then:  # a record appended half an hour ago, no checkpoint since
        then.setattr(audit, "utcnow", lambda: long_ago)
        audit.record(db, operator, "tenant.update", "tenant", "431001")
        db.commit()
    late = runner.invoke(args=["check", "--maintenance-identity"])
    assert late.exit_code == 1
    assert "older than the promised window of 6 minutes" in late.output and "renkei jobs checkpoint" in late.output


def test_the_first_key_is_made_as_docs_deployment_says_without_development_mode(db, production, monkeypatch, tmp_path):
    """docs/deployment.md's one step, word for word: the `renkei signing-key init` line of its block
    run as written, in production (nobody signed in, no development mode), makes a key the
    maintenance identity is then believed from; a second run is refused."""
    import shlex

    doc = (Path(__file__).resolve().parents[2] / "docs" / "deployment.md").read_text(encoding="utf-8")
    assert "RENKEI_TRUSTED_KEYS=/etc/renkei/trusted-keys" in doc  # the installation's place, in renkei.env
    [line] = [line for line in doc.splitlines() if "bin/renkei signing-key init" in line]  # the one command line
    words = shlex.split(line.split("#")[0])
    args = words[words.index("signing-key"):]  # what follows the program: renkei's own words, as written
    monkeypatch.setitem(production.config, "RENKEI_SIGNING_KEY", str(tmp_path / "var" / "signing" / "signing-key.pem"))
    monkeypatch.setitem(production.config, "RENKEI_TRUSTED_KEYS", str(tmp_path / "etc" / "trusted-keys"))
    runner = production.test_cli_runner()
    made = runner.invoke(args=args)
    assert made.exit_code == 0, made.output
    [trusted] = (tmp_path / "etc" / "trusted-keys").glob("*.pub")
    assert "first signing key written" in made.output and str(trusted) in made.output
    first = records(db)[-1]
    assert (first.action, first.actor_issuer, first.target_id) == ("system.signing_key", MAINTENANCE, trusted.stem)
    checked = runner.invoke(args=["check", "--maintenance-identity"])
    assert checked.exit_code == 0, checked.output
    twice = runner.invoke(args=args)
    assert twice.exit_code == 1 and "the first key is made once" in twice.output
