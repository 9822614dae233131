"""A member keeps its own details (issue 58 item 1): its admin changes the contact person (applied at once)
and the name (waits; the secretariat approves); both are in the history and the audit log, and the member
report shows the new name. An admin of another member is refused; the secretariat changes any member."""

from __future__ import annotations

import dataclasses
import json

import pytest
import sqlalchemy as sa

from core.actor import Actor
from core.audit import AuditRecord
from core.calendar import today_jst
from core.errors import Conflict, Invalid, NotPermitted
from secretariat import member_report
from tenancy.members import details as member_details
from tenancy.members.models import MemberStatus, Organisation, OrganisationKind
from tests.members.conftest import NTA

OTHER = "9000020431001"


def org_admin(number: str) -> Actor:
    return Actor(issuer="urn:test", subject=f"org-admin-{number}", name="会員 管理者", roles=frozenset({"org-admin"}),
                 tenant_codes=frozenset({number}))


@pytest.fixture
def member(db):
    """An approved member that joined this month, and another member."""
    for number, name in ((NTA, "くまもとデータ株式会社"), (OTHER, "よそ株式会社")):
        db.add(Organisation(corporate_number=number, name=name, kind=OrganisationKind.company, prefecture="熊本県",
                            representative="代表 太郎", contact_name="担当 花子", contact_email="hanako@example.jp",
                            status=MemberStatus.approved, joined_on=today_jst()))
    db.commit()
    return NTA


def _changed(db, number: str, **fields):
    org = db.scalars(sa.select(Organisation).where(Organisation.corporate_number == number)).one()
    return dataclasses.replace(member_details.details_of(org), **fields)


def test_contact_applies_at_once_and_the_name_waits_for_the_secretariat(db, operator, member):
    admin = org_admin(member)
    outcome = member_details.change_details(db, admin, member, _changed(db, member, contact_name="担当 次郎",
                                                                         name="くまもとデータ研究所株式会社"))
    org = db.scalars(sa.select(Organisation).where(Organisation.corporate_number == member)).one()
    assert outcome.applied == ("contact_name",) and org.contact_name == "担当 次郎"
    assert org.name == "くまもとデータ株式会社" and outcome.pending is not None

    # a second change of the name while the first waits is refused, beside the field
    with pytest.raises(Conflict) as refused:
        member_details.change_details(db, admin, member, _changed(db, member, name="別の名前株式会社"))
    assert [p["field"] for p in refused.value.problems] == ["name"]

    member_details.approve_change(db, operator, outcome.pending.id)
    db.commit()
    assert org.name == "くまもとデータ研究所株式会社"

    rows = member_details.history(db, admin, member)
    assert [(row.status_label[1], row.after) for row in rows] == [
        ("Approved and applied", {"name": "くまもとデータ研究所株式会社"}), ("Applied", {"contact_name": "担当 次郎"})]
    assert rows[1].before == {"contact_name": "担当 花子"}
    logged = db.scalars(sa.select(AuditRecord).where(AuditRecord.target_id == member,
                                                     AuditRecord.action.in_(("member.update", "member.change.approve")))
                        .order_by(AuditRecord.seq)).all()
    assert [(r.action, json.loads(r.before)) for r in logged] == [
        ("member.update", {"contact_name": "担当 花子"}), ("member.change.approve", {"name": "くまもとデータ株式会社"})]
    assert json.loads(logged[0].after)["awaiting_approval"] == {"name": "くまもとデータ研究所株式会社"}

    report = member_report.build_report(db, operator, member_report.current_quarter())
    assert [m.name for m in report.joined if m.corporate_number == member] == ["くまもとデータ研究所株式会社"]


def test_a_rejected_change_leaves_the_record_and_says_why(db, operator, member):
    outcome = member_details.change_details(db, org_admin(member), member, _changed(db, member, representative="代表 三郎"))
    with pytest.raises(Invalid):
        member_details.reject_change(db, operator, outcome.pending.id, "  ")
    member_details.reject_change(db, operator, outcome.pending.id, "登記事項証明書で確認できません")
    db.commit()
    assert db.scalar(sa.select(Organisation.representative).where(Organisation.corporate_number == member)) == "代表 太郎"
    assert member_details.history(db, operator, member)[0].change.decision_reason == "登記事項証明書で確認できません"


def test_the_admin_of_another_member_is_refused_and_the_secretariat_changes_any(db, operator, member):
    with pytest.raises(NotPermitted):
        member_details.change_details(db, org_admin(OTHER), member, _changed(db, member, contact_name="乗っ取り"))
    with pytest.raises(NotPermitted):
        member_details.history(db, org_admin(OTHER), member)
    outcome = member_details.change_details(db, operator, member, _changed(db, member, name="事務局が直した株式会社"))
    assert outcome.pending is None and outcome.applied == ("name",)
    assert db.scalar(sa.select(Organisation.name).where(Organisation.corporate_number == member)) == "事務局が直した株式会社"


def test_wrong_details_are_refused_field_by_field(db, member):
    with pytest.raises(Invalid) as refused:
        member_details.change_details(db, org_admin(member), member, _changed(
            db, member, name="", contact_email="not-an-address", industry="Z", employees=-1))
    assert {p["field"] for p in refused.value.problems} == {"name", "contact_email", "industry", "employees"}
    assert all(p["message_ja"] and p["message_en"] for p in refused.value.problems)
