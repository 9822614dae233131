"""The audit log's reads ask the authorization policy themselves: called directly, with no web
layer in between, someone who may not read (or verify) the log is refused; the command line
refuses the same people."""

import pytest

from core import audit as core_audit
from core.actor import Actor
from core.errors import NotPermitted
from governance import audit, audit_export


def person(subject, *roles, tenants=()):
    return Actor(issuer="urn:test", subject=subject, name=subject, roles=frozenset(roles), tenant_codes=frozenset(tenants))


AUDITOR = person("auditor-1", "auditor")
FINANCE = person("finance-1", "finance-officer")
KUMAMOTO_ADMIN = person("kumamoto-admin", "municipal-admin", tenants=["431001"])


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


@pytest.fixture
def logged(db, operator):
    """Three records: two changes of Kumamoto City, one of Yatsushiro City."""
    core_audit.record(db, operator, "tenant.update", "tenant", "431001", tenant_code="431001", after={"population": 1})
    core_audit.record(db, operator, "tenant.update", "tenant", "432024", tenant_code="432024", after={"population": 2})
    core_audit.record(db, operator, "tenant.transition", "tenant", "431001", tenant_code="431001", after={"to": "active"})
    db.commit()


@pytest.mark.parametrize("reader", [FINANCE, KUMAMOTO_ADMIN], ids=["finance", "municipal-admin"])
def test_only_the_auditor_and_the_operator_may_list_or_export_records(db, logged, reader):
    with pytest.raises(NotPermitted):
        audit_export.read_records(db, reader)
    with pytest.raises(NotPermitted):
        audit_export.read_records(db, reader, tenant_code="431001")  # not even their own tenant's records
    with pytest.raises(NotPermitted):
        audit_export.records_in_period(db, reader, None, None)  # refused before a record is read


def test_the_auditor_lists_records_newest_first_filtered_by_action_and_tenant(db, logged):
    records, total = audit_export.read_records(db, AUDITOR)
    assert total == 3
    assert [(r.action, r.tenant_code) for r in records] == [
        ("tenant.transition", "431001"), ("tenant.update", "432024"), ("tenant.update", "431001")]
    records, total = audit_export.read_records(db, AUDITOR, action="tenant.update", tenant_code="431001")
    assert (total, [r.target_id for r in records]) == (1, ["431001"])
    page_two, total = audit_export.read_records(db, AUDITOR, page=2, per_page=2)
    assert (total, [r.action for r in page_two]) == (3, ["tenant.update"])


def test_the_auditor_exports_a_period(db, logged):
    assert len(list(audit_export.records_in_period(db, AUDITOR, None, None))) == 3


@pytest.mark.parametrize("reader", [FINANCE, KUMAMOTO_ADMIN], ids=["finance", "municipal-admin"])
def test_only_the_auditor_and_the_operator_may_verify_the_chain(db, logged, reader):
    with pytest.raises(NotPermitted):
        audit.verification(db, reader)
    assert audit.verification(db, AUDITOR).intact


def test_the_command_line_refuses_verification_and_export_to_a_role_without_the_right(app, db, logged, tmp_path):
    out = tmp_path / "export.csv"
    for command in (["audit", "verify"], ["audit", "export", "-o", str(out)]):
        refused = run(app, *command, "--as", "kato", "--role", "finance-officer")
        assert refused.exit_code != 0
        assert "権限がありません" in refused.output
    assert not out.exists()
    allowed = run(app, "audit", "verify", "--as", "sato", "--role", "auditor")
    assert allowed.exit_code == 0, allowed.output
    assert "intact" in allowed.output
