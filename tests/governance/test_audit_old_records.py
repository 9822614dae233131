"""Records written before user acts stored names still name the person and the organisation (issue 25):
the log is append-only and hash-chained, so old records are never rewritten; the page and the CSV in
words name people at read time from what renkei holds (the person's other records: those that carry
their name since names are stored, or those of their own acts), member organisations by corporate
number and tenants by code, a batch of records at a time (no call to Keycloak per row)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from core.actor import Actor
from core.audit import AuditRecord
from tests.admin.test_labels import visible_text
from tests.conftest import sign_in
from tests.governance.test_audit_in_words import NTA, member_applied, words_csv  # noqa: F401 (a fixture)

OPERATOR = Actor(issuer="urn:test", subject="operator-old", name="県 運営者", roles=frozenset({"platform-operator"}))


def _old(db, action: str, target_type: str, target_id: str, *, tenant: str, before=None, after=None,
         actor: Actor = OPERATOR) -> AuditRecord:
    """A record of the shape written before names were stored: ids, roles, statuses, no name."""
    from core import audit

    audit.record(db, actor, action, target_type, target_id, tenant_code=tenant, before=before, after=after)
    db.commit()
    return db.scalar(sa.select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1))


def test_old_user_and_member_records_name_the_person_and_the_organisation(client, db, tenant_factory, member_applied):
    tenant_factory("431001")
    tanaka, sato, stranger = (str(uuid.uuid4()) for _ in range(3))
    # 田中 太郎: an old record about him, then a newer one (names stored since) of another act
    old_roles = _old(db, "user.roles", "user", tanaka, tenant="431001", before={"roles": ["municipal-staff"]},
                     after={"roles": ["municipal-admin"]})
    _old(db, "user.enable", "user", tanaka, tenant="431001", before={"enabled": False},
         after={"full_name": "田中 太郎", "username": "tanaka", "enabled": True})
    # 佐藤 花子: only an old record about her; she is known by her own acts (her name from her sign-in)
    old_disable = _old(db, "user.disable", "user", sato, tenant="431001", before={"enabled": True},
                       after={"enabled": False})
    _old(db, "tenant.update", "tenant", "431001", tenant="431001", before={"population": 1}, after={"population": 2},
         actor=Actor(issuer="urn:kc", subject=sato, name="佐藤 花子", roles=frozenset({"municipal-admin"}),
                     tenant_codes=frozenset({"431001"})))
    # nobody renkei knows anything more of: the id stays (nothing is made up)
    _old(db, "user.remove", "user", stranger, tenant="431001", before={"roles": ["municipal-staff"]})
    # an old member act: the corporate number only
    old_member = _old(db, "member.screen.check", "member", NTA, tenant=NTA, before={"status": "screening"},
                      after={"status": "screening", "checked": 1})
    count = db.scalar(sa.select(sa.func.count(AuditRecord.id)))
    stored = {r.seq: r.hash for r in db.scalars(sa.select(AuditRecord))}

    sign_in(client, ["auditor"])
    listing = visible_text(client.get("/admin/audit/").get_data(as_text=True))
    assert "田中 太郎（tanaka）" in listing and tanaka not in listing
    assert "佐藤 花子" in listing and sato not in listing
    assert stranger in listing
    assert "くまもとデータ株式会社（法人番号 7000012050002）" in listing
    details = visible_text(client.get(f"/admin/audit/details/?id={old_roles.id}").get_data(as_text=True))
    assert "田中 太郎（tanaka）" in details

    rows = {int(row[0]): row for row in words_csv(client)[1:]}
    assert rows[old_roles.seq][7] == "田中 太郎（tanaka）" and rows[old_roles.seq][6] == "利用者"
    assert rows[old_disable.seq][7] == "佐藤 花子"
    assert rows[old_member.seq][7] == rows[old_member.seq][4] == "くまもとデータ株式会社（法人番号 7000012050002）"

    # read, never rewritten: the same records with the same hashes, and the chain still verifies
    from governance.audit import verify_database

    db.expire_all()
    assert db.scalar(sa.select(sa.func.count(AuditRecord.id))) == count
    assert {r.seq: r.hash for r in db.scalars(sa.select(AuditRecord))} == stored
    assert verify_database(db) is None


def test_an_old_record_by_an_actor_without_a_name_names_them_from_their_other_acts(client, db, tenant_factory):
    tenant_factory("431001")
    subject = str(uuid.uuid4())
    person = Actor(issuer="urn:kc", subject=subject, name="", roles=frozenset({"municipal-admin"}),
                   tenant_codes=frozenset({"431001"}))
    old = _old(db, "tenant.update", "tenant", "431001", tenant="431001", before={"population": 1},
               after={"population": 2}, actor=person)
    _old(db, "tenant.update", "tenant", "431001", tenant="431001", before={"population": 2}, after={"population": 3},
         actor=Actor(issuer="urn:kc", subject=subject, name="山田 一郎", roles=frozenset({"municipal-admin"}),
                     tenant_codes=frozenset({"431001"})))
    sign_in(client, ["auditor"])
    rows = {int(row[0]): row for row in words_csv(client)[1:]}
    assert rows[old.seq][2] == "山田 一郎"
