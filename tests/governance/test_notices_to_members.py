"""Notices reach member organisations as well as municipalities (issue 25): the operator ticks 「すべての
会員団体にも送る」; every approved organisation (not an applicant) gets the notice by e-mail and on its
people's home page, the record of notices names them, and the audit log names them."""

from __future__ import annotations

import sqlalchemy as sa

from core.actor import Actor
from core.audit import AuditRecord
from core.outbox import Notification
from governance import notices
from governance.models import Notice, NoticeMember
from tenancy.members import operations as members
from tenancy.members.models import MemberStatus, Organisation
from tests.admin.test_labels import visible_text
from tests.conftest import sign_in
from tests.governance.test_operator_views import CONTACT, CSRF

APPROVED, APPLICANT = "7000012050002", "8000012050001"


def organisation(db, number, name, email, status):
    members.apply(db, members.Application(number, name, "company", "熊本県", "代表 太郎", "担当 花子", email),
                  confirm_url=lambda token: f"http://renkei.test/join/confirm/{token}")
    db.scalar(sa.select(Organisation).where(Organisation.corporate_number == number)).status = status
    db.commit()


def test_a_notice_to_the_member_organisations_reaches_the_approved_ones_only(client, db, tenant_factory):
    tenant_factory("430005")
    tenant_factory("431001", contacts=CONTACT)
    organisation(db, APPROVED, "くまもとデータ株式会社", "data@example.jp", MemberStatus.approved)
    organisation(db, APPLICANT, "審査中株式会社", "pending@example.jp", MemberStatus.applied)
    sign_in(client, ["platform-operator"], ["430005"], subject="operator-pref", name="県 運営者", csrf=CSRF)
    form = visible_text(client.get("/admin/notices/").get_data(as_text=True))
    assert "すべての会員団体（企業・大学・団体）にも送る" in form
    data = {"csrf_token": CSRF, "title": "オープンデータ研修のご案内", "body": "研修を開催します。", "audience": "chosen",
            "to_members": "y"}
    asked = visible_text(client.post("/admin/notices/publish", data=data).get_data(as_text=True))
    assert "会員団体 1 者にも" in asked and db.scalar(sa.select(sa.func.count()).select_from(Notice)) == 0
    done = client.post("/admin/notices/publish", data={**data, "confirmed": "1"}, follow_redirects=True)
    assert "1 件のメールを送信待ちにしました" in done.get_data(as_text=True)
    mails = db.scalars(sa.select(Notification).where(Notification.kind == "notice")).all()
    assert [(m.tenant_code, m.recipients) for m in mails] == [(APPROVED, "data@example.jp")]
    assert "くまもとデータ株式会社 ご担当者様" in mails[0].body
    assert db.scalars(sa.select(NoticeMember.corporate_number)).all() == [APPROVED]

    def reader(roles, code):
        return Actor(issuer="urn:test", subject=f"{code}-reader", roles=frozenset(roles), tenant_codes=frozenset({code}))

    assert [n.title for n in notices.notices_for(db, reader({"org-admin"}, APPROVED))] == ["オープンデータ研修のご案内"]
    assert [n.title for n in notices.notices_for(db, reader({"data-user"}, APPROVED))] == ["オープンデータ研修のご案内"]
    assert notices.notices_for(db, reader({"org-admin"}, APPLICANT)) == []
    assert notices.notices_for(db, reader({"municipal-admin"}, "431001")) == []
    listing = visible_text(client.get("/admin/notices/").get_data(as_text=True))
    assert "選んだ市町村と会員団体（1）" in listing and "くまもとデータ株式会社" in listing

    record = db.scalar(sa.select(AuditRecord).where(AuditRecord.action == "notice.publish"))
    sign_in(client, ["auditor"])
    details = visible_text(client.get(f"/admin/audit/details/?id={record.id}").get_data(as_text=True))
    assert "くまもとデータ株式会社（法人番号 7000012050002）" in details

    sign_in(client, ["org-admin"], [APPROVED])
    home = visible_text(client.get("/admin/").get_data(as_text=True))
    assert "オープンデータ研修のご案内" in home


def test_a_notice_to_the_members_when_none_is_approved_is_refused_in_words(client, db, tenant_factory):
    tenant_factory("430005")
    sign_in(client, ["platform-operator"], ["430005"], csrf=CSRF)
    refused = client.post("/admin/notices/publish", data={
        "csrf_token": CSRF, "title": "ご案内", "body": "本文", "audience": "chosen", "to_members": "y", "confirmed": "1"})
    assert "入会が承認された会員団体がありません" in visible_text(refused.get_data(as_text=True))
    assert db.scalar(sa.select(sa.func.count()).select_from(Notice)) == 0
