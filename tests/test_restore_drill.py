"""The restore drill (issue 13), on PostgreSQL with a real Keycloak.

Load data (tenants, a user in Keycloak, a posted run, usage, audit records), ``renkei backup``,
drop the database's contents and the realm, ``renkei restore``, ``renkei check`` passes and the
API answers exactly as before; then a restore whose ledger tables lost their data makes
``renkei check`` fail naming the run.

It works in its own realm (``h5-drill-…``) and, as the schema owner, on the test database's
schema, which it rebuilds empty at the end for the tests that follow.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import (ADMIN_SECRET, SERVICE_SECRET, TEST_DATABASE_OWNER_URL, TEST_DATABASE_URL, _reset_postgres,
                            own_realm)

pytestmark = [
    pytest.mark.keycloak,
    pytest.mark.skipif(not TEST_DATABASE_URL.startswith("postgresql"),
                       reason="the restore drill needs PostgreSQL (pg_dump/pg_restore): set RENKEI_TEST_DATABASE_URL"),
]

PASSWORD = "Drill-password-0123"
NEW_PASSWORD = "Drill-after-restore-4567"
GETS = ("/api/v1/tenants", "/api/v1/tenants/431001", "/api/v1/billing/runs/{run}",
        "/api/v1/billing/ledger/trial-balance", "/api/v1/billing/statements/431001/2025",
        "/api/v1/billing/fiscal-years/2025/summary", "/api/v1/audit/records?action=billing.run.approve",
        "/api/v1/tenants/431001/usage")


@pytest.fixture
def drill(app, keycloak_server, tmp_path):
    """An app on the test database as its owner, with a realm of its own; cleaned up afterwards."""
    from admin import create_app
    from admin.extensions import db
    from tenancy.identity import realm_copy

    settings, master = own_realm(keycloak_server, "h5-drill")
    realm = settings.realm
    config = {
        "RENKEI_ENV": "testing", "TESTING": True, "SECRET_KEY": "drill-secret",
        "SQLALCHEMY_DATABASE_URI": TEST_DATABASE_OWNER_URL, "RENKEI_VAR_DIR": str(tmp_path / "var"),
        # the session's signing key (tests/conftest.py): the drill's archives are signed and verified with it
        "RENKEI_SIGNING_KEY": str(Path(app.config["RENKEI_VAR_DIR"]) / "signing" / "signing-key.pem"),
        "RENKEI_KEYCLOAK_URL": settings.url, "RENKEI_KEYCLOAK_PUBLIC_URL": settings.url, "RENKEI_KEYCLOAK_REALM": realm,
        "RENKEI_KEYCLOAK_ADMIN_USER": keycloak_server.admin_user,
        "RENKEI_KEYCLOAK_ADMIN_PASSWORD": keycloak_server.admin_password,
        "RENKEI_OIDC_CLIENT_SECRET": ADMIN_SECRET, "RENKEI_SERVICE_CLIENT_SECRET": SERVICE_SECRET,
        "RENKEI_API_OPEN_FOR_DEVELOPMENT": False, "SERVER_NAME": "renkei.test", "RENKEI_TOKEN_LEEWAY_SECONDS": 0,
    }
    drill_app = create_app(config)
    drill_app.config["DRILL_CONFIG"] = config
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    try:
        with drill_app.app_context():
            yield drill_app, settings, master
            db.session.remove()
            db.engine.dispose()
    finally:
        realm_copy.delete_realm(master, realm)
        _rebuild_empty_schema(db.metadata)


def _rebuild_empty_schema(metadata) -> None:
    """The empty schema (and the app role's rights) that the other tests expect."""
    from maintenance.db_roles import grant_app_role

    engine = _owner()
    try:
        _reset_postgres(engine)
        metadata.create_all(engine)
        app_role = sa.make_url(TEST_DATABASE_URL).username
        if app_role != engine.url.username:
            with engine.begin() as connection:
                grant_app_role(connection, app_role)
    finally:
        engine.dispose()


def _owner() -> sa.Engine:
    return sa.create_engine(TEST_DATABASE_OWNER_URL)


def _load(settings) -> tuple[int, dict[str, str]]:
    """Tenants, a posted FY2025 run with a payment, usage events, audit records, consents and linkage
records (issue 23's chains), an operator in Keycloak."""
    from admin.extensions import db
    from billing import allocation_policies, allocation_runs, operations
    from core.actor import Actor
    from tenancy.identity.keycloak import IdentityDirectory, password_token
    from tenancy.registry.operations import create_tenant
    from tenancy.registry.schemas import TenantCreate
    from usage import metering
    from tests.billing.conftest import colleague, cost_data, pay_from_bank, policy_data

    operator = Actor(issuer="urn:test", subject="operator-1", name="県 運営者", roles=frozenset({"platform-operator"}))
    finance = Actor(issuer="urn:test", subject="finance-1", name="県 財政担当", roles=frozenset({"finance-officer"}))
    for code, name, population in (("430005", "熊本県", 1_700_000), ("431001", "熊本市", 500_000), ("432024", "八代市", 200_000)):
        create_tenant(db.session, operator, TenantCreate.model_validate({
            "code": code, "name_ja": name, "name_en": f"Tenant {code}", "kind": "prefecture" if code == "430005" else "city",
            "population": population, "population_source": "drill", "status": "active"}))
    policy = allocation_policies.create_policy(db.session, finance, policy_data())
    allocation_policies.adopt_policy(db.session, colleague(4, "県 財政課長"), policy.id)
    operations.create_cost_item(db.session, finance, cost_data(amount=12_000_000))
    run = allocation_runs.create_run(db.session, finance, 2025)
    allocation_runs.review_run(db.session, colleague(2), run.id)
    allocation_runs.approve_run(db.session, colleague(3, "県 財政課長"), run.id, posted_on=dt.date(2025, 7, 31))
    pay_from_bank(db.session, finance, "432024", 2025, 500_000, dt.date(2025, 9, 1), "ﾔﾂｼﾛｼ")
    at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)  # within the retention period, whenever it runs
    metering.ingest(db.session, operator, [
        {"tenant": "431001", "metric": "api_calls", "quantity": 120, "timestamp": at.isoformat(), "event_id": "drill-1"},
        {"tenant": "432024", "metric": "api_calls", "quantity": 30, "timestamp": at.isoformat(), "event_id": "drill-2"}])
    from residents.consent.operations import ensure_default_levels
    from tests.consent.world import consent_world

    ensure_default_levels(db.session, operator)
    consent_world(db.session, operator)  # a consent given and withdrawn, two linkages checked on it
    db.session.commit()

    directory = IdentityDirectory(settings)
    user_id = directory.create_user("drill-operator", "drill-operator@example.jp", "訓練", "運営者", password=PASSWORD)
    directory.set_roles(user_id, ["platform-operator"], ["platform-operator"])
    member = directory.create_user("drill-clerk", "drill-clerk@example.jp", "訓練", "職員", password=PASSWORD)
    directory.ensure_tenant_group("431001", "熊本市")
    directory.add_to_tenant(member, "431001")
    directory.set_roles(member, ["municipal-staff"], ["municipal-staff"])
    token = password_token(settings, "drill-operator", PASSWORD)["access_token"]
    return run.id, {"Authorization": f"Bearer {token}"}


def _answers(client, headers, run_id: int) -> dict[str, tuple[int, bytes]]:
    answers = {}
    for path in GETS:
        response = client.get(path.format(run=run_id), headers=headers)
        answers[path] = (response.status_code, response.data)
    return answers


def _wipe(master, realm: str | None) -> None:
    """The disaster: the database's contents and (optionally) the realm are gone."""
    from admin.extensions import db
    from tenancy.identity import realm_copy

    db.session.remove()
    db.engine.dispose()
    engine = _owner()
    _reset_postgres(engine)
    engine.dispose()
    if realm:
        realm_copy.delete_realm(master, realm)


def test_backup_wipe_restore_check_and_the_api_answers_as_before(drill, tmp_path):
    from admin.extensions import db
    from tenancy.identity import realm_copy
    from tenancy.identity.keycloak import IdentityDirectory, password_token

    drill_app, settings, master = drill
    run_id, headers = _load(settings)
    client = drill_app.test_client()
    before = _answers(client, headers, run_id)
    assert all(status == 200 for status, _ in before.values()), {p: s for p, (s, _) in before.items()}
    archive_file = tmp_path / "drill.tar"
    runner = drill_app.test_cli_runner()

    made = runner.invoke(args=["backup", "--output", str(archive_file), "--as", "drill-operator"])
    assert made.exit_code == 0, made.output
    assert "'users': 2" in made.output  # the operator and the clerk (service accounts counted apart)

    _wipe(master, settings.realm)
    assert not realm_copy.realm_exists(master, settings.realm)
    app_role = sa.make_url(TEST_DATABASE_URL).username
    grant = ["--app-role", app_role] if app_role != sa.make_url(TEST_DATABASE_OWNER_URL).username else []
    restored = runner.invoke(args=["restore", str(archive_file), "--yes", *grant, "--as", "drill-operator"])
    assert restored.exit_code == 0, restored.output
    assert "check passed" in restored.output

    checked = runner.invoke(args=["check", "--manifest", str(archive_file), "--as", "drill-operator"])
    assert checked.exit_code == 0, checked.output
    assert "approved runs: 1" in checked.output
    # the consent and linkage chains came back whole, and the restore checkpointed them on PostgreSQL
    assert "consent records: 2" in checked.output and "linkage records: 2" in checked.output
    assert "consent records checkpoint" in checked.output and "linkage records checkpoint" in checked.output

    # an administrator's password reset works after the restore, whichever realm copy the archive holds
    # (a REST copy carries no passwords; the full export's are tested in tests/admin/test_backup_keycloak_export.py)
    directory = IdentityDirectory(settings)
    account = directory.find_user("drill-operator")
    clerk = directory.account(directory.find_user("drill-clerk")["id"])
    assert clerk.tenant_codes == {"431001"} and clerk.roles == {"municipal-staff"}
    directory.admin.set_user_password(account["id"], NEW_PASSWORD, temporary=False)
    token = password_token(settings, "drill-operator", NEW_PASSWORD)["access_token"]
    # renkei restarted after the restore (the runbook's step): it fetches the new realm's signing keys
    from admin import create_app

    restarted = create_app(drill_app.config["DRILL_CONFIG"])
    after = _answers(restarted.test_client(), {"Authorization": f"Bearer {token}"}, run_id)
    with restarted.app_context():
        db.session.remove()
        db.engine.dispose()
    for path in GETS:
        assert after[path] == before[path], path
    assert db.session.execute(sa.text("SELECT action FROM audit_record ORDER BY seq DESC LIMIT 1")).scalar() == "system.restore"
    db.session.rollback()

    # a restore that lost the ledger tables' data (as a data-only restore did): check names it
    _wipe(master, None)
    again = runner.invoke(args=["restore", str(archive_file), "--yes", "--no-realm", "--as", "drill-operator"])
    assert again.exit_code == 0, again.output
    db.session.remove()
    db.engine.dispose()
    owner = _owner()
    with owner.begin() as connection:  # TRUNCATE fires no row trigger: what a careless owner can do
        # (the payments' links to their bank lines and manual approvals name the entries: they go too)
        connection.execute(sa.text("TRUNCATE billing_posting, billing_journal_entry, billing_bank_payment, billing_manual_payment"))
    owner.dispose()
    broken = runner.invoke(args=["check", "--manifest", str(archive_file), "--as", "drill-operator"])
    assert broken.exit_code == 1
    assert f"runs: run #{run_id} (FY2025) is approved but 4 of its 4 entries are not in the ledger" in broken.output
