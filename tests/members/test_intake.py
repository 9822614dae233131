"""Intake and screening without Keycloak: the form's refusals, the e-mail link, the edited checklist,
rejection and withdrawal, all audited and notified; and billing never sees an organisation."""

from __future__ import annotations

import sqlalchemy as sa
import pytest

from core.actor import Actor
from core.audit import AuditRecord
from core.errors import Conflict, Invalid, NotFound, NotPermitted
from core.outbox import Notification
from tenancy.members import operations as members
from tenancy.members.models import MemberStatus, Organisation
from tests.members.conftest import NTA, today, token_from_outbox

KUMAMOTO_CITY_ADMIN = Actor(issuer="urn:test", subject="kumamoto-admin", roles=frozenset({"municipal-admin"}),
                            tenant_codes=frozenset({"431001"}))


def _apply(db, number=NTA, **fields):
    data = dict(corporate_number=number, name="くまもとデータ株式会社", kind="company", prefecture="熊本県",
                representative="代表 太郎", contact_name="担当 花子", contact_email="apply@example.jp")
    data.update(fields)
    return members.apply(db, members.Application(**data), confirm_url=lambda t: f"http://renkei.test/join/confirm/{t}")


def test_a_wrong_check_digit_is_refused_beside_its_field_and_nothing_is_saved(db):
    with pytest.raises(Invalid) as refused:
        _apply(db, number="1000012050002", kind="bank", contact_email="nope")
    fields = {p["field"]: p["message_ja"] for p in refused.value.problems}
    assert "7000012050002" in fields["corporate_number"]
    assert "kind" in fields and "contact_email" in fields
    assert db.scalar(sa.select(sa.func.count(Organisation.id))) == 0


def test_a_local_government_number_cannot_apply_as_an_organisation(db):
    with pytest.raises(Invalid) as refused:
        _apply(db, number="7000020430005")
    assert "地方公共団体" in refused.value.problems[0]["message_ja"]


def test_the_e_mail_link_confirms_once_and_the_applicant_is_told_at_each_step(db, home_prefecture):
    org = _apply(db)
    assert org.status == MemberStatus.unconfirmed and org.in_prefecture
    token = token_from_outbox(db, NTA)
    members.confirm_email(db, token)
    assert org.status == MemberStatus.applied
    with pytest.raises(NotFound):
        members.confirm_email(db, token)  # a link works once
    kinds = list(db.scalars(sa.select(Notification.kind).where(Notification.tenant_code == NTA).order_by(Notification.id)))
    assert kinds == ["member.confirm_email", "member.applied"]
    assert db.scalar(sa.select(Notification.recipients).where(Notification.tenant_code == NTA).limit(1)) == "apply@example.jp"
    actions = list(db.scalars(sa.select(AuditRecord.action).where(AuditRecord.tenant_code == NTA).order_by(AuditRecord.seq)))
    assert actions == ["member.apply", "member.email_confirm"]


def test_a_second_application_for_the_same_number_is_refused(db, applied):
    applied()
    with pytest.raises(Conflict):
        _apply(db)


def test_screening_uses_the_checklist_the_prefecture_edited(db, applied, operator):
    applied()
    items = members.screening_items(db, operator)
    assert [i.label_ja for i in items] == ["反社会的勢力でないことの確認"]
    added = members.add_screening_item(db, operator, "県内に事業所があること")
    problems = members.approval_problems(db, operator, db.scalar(sa.select(Organisation)))
    words = " ".join(p["message_ja"] for p in problems)
    assert "誓約書" in words and "会社概要" in words and "県内に事業所があること" in words
    members.record_document(db, operator, NTA, "pledge", today())
    members.record_document(db, operator, NTA, "profile", today())
    for item in members.screening_items(db, operator):
        members.check_item(db, operator, NTA, item.id, True, "確認済")
    assert members.approval_problems(db, operator, db.scalar(sa.select(Organisation))) == []
    members.set_screening_item_active(db, operator, added.id, False)
    assert [i.label_ja for i in members.screening_items(db, operator)] == ["反社会的勢力でないことの確認"]


def test_rejection_needs_a_reason_and_tells_the_applicant(db, applied, operator):
    applied()
    with pytest.raises(Invalid):
        members.reject(db, operator, NTA, "  ")
    members.reject(db, operator, NTA, "定款の事業目的が対象外のため")
    org = db.scalar(sa.select(Organisation))
    assert org.status == MemberStatus.rejected
    body = db.scalar(sa.select(Notification.body).where(Notification.kind == "member.rejected"))
    assert "定款の事業目的が対象外のため" in body
    with pytest.raises(Conflict):
        members.check_item(db, operator, NTA, members.screening_items(db, operator)[0].id, True)


def test_a_municipal_admin_can_neither_screen_nor_read_an_organisation(db, applied):
    applied()
    with pytest.raises(NotPermitted):
        members.get_member(db, KUMAMOTO_CITY_ADMIN, NTA)
    with pytest.raises(NotPermitted):
        members.reject(db, KUMAMOTO_CITY_ADMIN, NTA, "理由")
    with pytest.raises(NotPermitted):
        members.list_members(db, KUMAMOTO_CITY_ADMIN)


def test_withdrawal_by_the_secretariat_is_audited(db, applied, operator):
    applied()
    members.withdraw(db, operator, NTA, "申請者からの取下げ")
    assert db.scalar(sa.select(Organisation.status)) == MemberStatus.withdrawn
    assert db.scalar(sa.select(AuditRecord.action).order_by(AuditRecord.seq.desc()).limit(1)) == "member.withdraw"


def test_the_members_list_holds_municipalities_with_their_derived_numbers(db, applied, operator, tenant_factory):
    tenant_factory("431001")
    applied()
    rows, total = members.list_members(db, operator)
    numbers = {r.corporate_number: r for r in rows}
    assert total == 2
    assert numbers["9000020431001"].tenant_code == "431001"
    assert numbers[NTA].kind == "company"
    found, _ = members.list_members(db, operator, search="くまもとデータ")
    assert [r.corporate_number for r in found] == [NTA]


def test_organisations_join_no_cost_split(db, applied, operator, tenant_factory):
    """Billing's allocation inputs (a what-if counting every applicant too) hold the municipality only."""
    from fractions import Fraction

    from billing import allocation
    from billing.allocation_previews import _snapshot_inputs

    tenant_factory("431001")
    applied()
    db.scalar(sa.select(Organisation)).status = MemberStatus.approved
    db.flush()
    policy = allocation.Policy(prefecture_share=None, components=(allocation.Component("equal", Fraction(1)),))
    _, _, participants, _ = _snapshot_inputs(db, 2025, policy, members="with_applicants")
    assert [p.code for p in participants] == ["431001"]


def test_moves_outside_the_lifecycle_are_refused_in_words_and_change_nothing(db, applied, operator):
    """approve/reject only under screening, withdraw not twice, apply again only once rejected or
    withdrawn: each refused through the operation with the status it is in."""
    from core.lifecycle import IllegalMove

    applied()
    members.withdraw(db, operator, NTA, "申請者からの取下げ")
    records = db.scalar(sa.select(sa.func.count(AuditRecord.seq)))
    with pytest.raises(IllegalMove) as refused:
        members.withdraw(db, operator, NTA, "もう一度")
    assert refused.value.message_ja == f"法人番号 {NTA} の団体は退会できません（退会）。"
    assert refused.value.details == {"status": "withdrawn", "move": "withdraw"}
    for move in (members.reject, lambda *args: members.approve(*args[:2], None, *args[2:], None)):
        with pytest.raises(IllegalMove) as refused:
            move(db, operator, NTA, "理由")
        assert refused.value.message_ja == f"法人番号 {NTA} の団体は審査中ではありません（退会）。"
    assert db.scalar(sa.select(Organisation.status)) == MemberStatus.withdrawn
    assert db.scalar(sa.select(sa.func.count(AuditRecord.seq))) == records
    applied()  # a withdrawn organisation may apply again ...
    with pytest.raises(IllegalMove) as refused:  # ... but not while that application stands
        applied()
    assert refused.value.problems[0]["field"] == "corporate_number"
    assert [m.name for m in members.MEMBERS.moves_from(MemberStatus.applied)] == ["approve", "reject", "withdraw"]


def test_the_members_pages_run_from_the_organisations_into_the_municipalities_each_once(db, applied, operator,
                                                                                       tenant_factory):
    """The list's pages, one after the other, hold every member once: the organisations by number, then the
    municipalities by code, a page crossing from the one to the other; the total counts both."""
    codes = ["431001", "432024", "432032", "432041", "432059"]
    for code in codes:
        tenant_factory(code)
    applied()
    seen, totals = [], set()
    for page in range(1, 5):
        rows, total = members.list_members(db, operator, page=page, per_page=2)
        seen += [row.tenant_code or row.corporate_number for row in rows]
        totals.add(total)
    assert totals == {6} and seen == [NTA, *codes]  # page 4 is past the end: empty
    assert [row.tenant_code for row in members.list_members(db, operator, search="432", per_page=50)[0]] == codes[1:]
