"""Inquiries (問合せ窓口, issue 40 item 3): due dates in business days, the lifecycle's refusals, replies
kept with the inquiry and queued in the outbox, overdue ones listed, the public form's limit, and
personal data removed after the retention period."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from core.calendar import JST, UTC
from core.errors import Invalid, NotPermitted
from core.outbox import Notification
from secretariat import inquiries as inq
from tests.conftest import OPERATOR
from core.actor import Actor

AUDITOR = Actor(issuer="urn:test", subject="auditor-1", roles=frozenset({"auditor"}))


def _jst(*parts) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=JST).astimezone(UTC)


def _draft(**fields) -> inq.InquiryDraft:
    data = dict(inquirer_kind="resident", channel="mail", category="technical", subject="API の認証について",
                question="トークンの有効期限を教えてください。", inquirer_name="問合 太郎", email="taro@example.jp")
    data.update(fields)
    return inq.InquiryDraft(**data)


def test_the_due_date_skips_a_weekend_and_a_public_holiday(db):
    # received Friday 2025-11-21 (JST); 22-23 the weekend, 24 the substitute holiday for 勤労感謝の日
    inquiry = inq.record_inquiry(db, OPERATOR, _draft(), response_days=3, now=_jst(2025, 11, 21, 16))
    assert inquiry.received_on == dt.date(2025, 11, 21)
    assert inquiry.due_on == dt.date(2025, 11, 27)  # Tue 25, Wed 26, Thu 27
    # one business day: not Monday the 24th (a holiday) but Tuesday
    assert inq.record_inquiry(db, OPERATOR, _draft(), response_days=1, now=_jst(2025, 11, 21, 16)).due_on == dt.date(2025, 11, 25)


def test_the_due_date_skips_the_year_end_closure_and_the_offices_own_closed_days(db):
    """Renkei issue 57 item 8: 12/29-1/3 and the days the settings name are no business days."""
    from tenancy.registry.prefecture import PrefectureSettingsIn, update_settings
    from tenancy.registry.sample import KUMAMOTO_SETTINGS

    # received Friday 2025-12-26: 12-29 to 1-3 closed, 1-4 a Sunday, so one business day is Monday 2026-01-05
    assert inq.record_inquiry(db, OPERATOR, _draft(), response_days=1, now=_jst(2025, 12, 26, 10)).due_on == \
        dt.date(2026, 1, 5)
    update_settings(db, OPERATOR, PrefectureSettingsIn.model_validate({**KUMAMOTO_SETTINGS, "closed_days": "2025-11-25"}))
    # Friday 2025-11-21 + 1: not Monday 24 (a holiday) nor Tuesday 25 (the office's own closed day) but Wednesday 26
    assert inq.record_inquiry(db, OPERATOR, _draft(), response_days=1, now=_jst(2025, 11, 21, 16)).due_on == \
        dt.date(2025, 11, 26)


def test_a_late_evening_in_utc_is_already_the_next_day_in_japan(db):
    # 2025-11-20 20:00 UTC is Friday 21 05:00 JST
    inquiry = inq.record_inquiry(db, OPERATOR, _draft(), response_days=1, now=dt.datetime(2025, 11, 20, 20, tzinfo=UTC))
    assert inquiry.received_on == dt.date(2025, 11, 21) and inquiry.due_on == dt.date(2025, 11, 25)


def test_bad_input_is_named_per_field_and_nothing_is_recorded(db):
    with pytest.raises(Invalid) as refused:
        inq.record_inquiry(db, OPERATOR, _draft(category="spam", subject="", email="not-an-address", member_number="1234"))
    fields = {p["field"] for p in refused.value.problems}
    assert {"category", "subject", "email", "member_number"} <= fields
    assert db.scalar(sa.select(sa.func.count(inq.Inquiry.id))) == 0


def test_only_the_secretariat_records_and_the_auditor_only_reads(db):
    with pytest.raises(NotPermitted):
        inq.record_inquiry(db, AUDITOR, _draft())
    inquiry = inq.record_inquiry(db, OPERATOR, _draft())
    assert inq.get_inquiry(db, AUDITOR, inquiry.id).id == inquiry.id


def test_each_illegal_move_has_its_own_refusal_and_changes_nothing(db):
    inquiry = inq.record_inquiry(db, OPERATOR, _draft())
    with pytest.raises(inq.CannotClose):
        inq.transition(db, OPERATOR, inquiry.id, "close")
    with pytest.raises(inq.CannotReopen):
        inq.transition(db, OPERATOR, inquiry.id, "reopen")
    inq.transition(db, OPERATOR, inquiry.id, "start")
    with pytest.raises(inq.CannotStart):
        inq.transition(db, OPERATOR, inquiry.id, "start")
    inq.transition(db, OPERATOR, inquiry.id, "answer")
    with pytest.raises(inq.CannotAnswer):
        inq.transition(db, OPERATOR, inquiry.id, "answer")
    inq.transition(db, OPERATOR, inquiry.id, "close")
    assert inquiry.status is inq.InquiryStatus.closed and inquiry.closed_at is not None
    with pytest.raises(inq.CannotAnswer):
        inq.reply(db, OPERATOR, inquiry.id, "もう一度")


def test_a_reply_is_in_the_outbox_and_on_the_inquiry_and_answers_it(db):
    inquiry = inq.record_inquiry(db, OPERATOR, _draft())
    inq.assign(db, OPERATOR, inquiry.id, subject="operator-2", name="事務局 花子")
    assert inquiry.status is inq.InquiryStatus.in_progress and inquiry.assignee_name == "事務局 花子"
    sent = inq.reply(db, OPERATOR, inquiry.id, "有効期限は 5 分です。")
    db.commit()
    message = db.get(Notification, sent.notification_id)
    assert message.kind == "inquiry.reply" and message.recipients == "taro@example.jp"
    assert "有効期限は 5 分です。" in message.body and f"受付番号 {inquiry.id}" in message.subject
    assert [r.body for r in inq.replies_of(db, inquiry)] == ["有効期限は 5 分です。"]
    assert inquiry.status is inq.InquiryStatus.answered
    records = list(db.scalars(sa.select(AuditRecord).where(AuditRecord.target_type == "inquiry").order_by(AuditRecord.id)))
    assert [r.action for r in records] == ["inquiry.record", "inquiry.assign", "inquiry.reply"]
    assert [step["action"] for step in json.loads(records[-1].after)["steps"]] == ["inquiry.answer"]


def test_overdue_lists_the_open_inquiries_past_their_due_day(db):
    late = inq.record_inquiry(db, OPERATOR, _draft(subject="遅れ"), response_days=3, now=_jst(2025, 11, 21, 10))
    answered = inq.record_inquiry(db, OPERATOR, _draft(subject="回答済み"), response_days=3, now=_jst(2025, 11, 21, 10))
    inq.reply(db, OPERATOR, answered.id, "回答します。")
    inq.record_inquiry(db, OPERATOR, _draft(subject="期限内"), response_days=3, now=_jst(2025, 11, 26, 10))
    assert [i.subject for i in inq.overdue(db, OPERATOR, today=dt.date(2025, 11, 27))] == []  # due today: not late
    assert [i.subject for i in inq.overdue(db, OPERATOR, today=dt.date(2025, 11, 28))] == ["遅れ"]
    assert inq.is_overdue(late, dt.date(2025, 11, 28))


def test_links_to_a_member_tenant_and_dataset_must_exist(db, tenant_factory):
    tenant_factory("431001")
    inquiry = inq.record_inquiry(db, OPERATOR, _draft(inquirer_kind="municipality", tenant_code="431001",
                                                      incident_ref="INC-2025-07"))
    assert inquiry.tenant_code == "431001" and inquiry.incident_ref == "INC-2025-07"
    with pytest.raises(Invalid) as refused:
        inq.record_inquiry(db, OPERATOR, _draft(tenant_code="439999", dataset_uid="no-such"))
    assert {p["field"] for p in refused.value.problems} == {"tenant_code", "dataset_uid"}


def test_the_public_form_acknowledges_and_stops_a_flood_from_one_address(db):
    now = _jst(2025, 11, 25, 10)
    first = inq.submit_public(db, _draft(channel="phone"), source_ip="198.51.100.7", hourly_limit=2, now=now)
    assert first.channel is inq.Channel.web_form
    ack = db.scalar(sa.select(Notification).where(Notification.kind == "inquiry.received"))
    assert ack.recipients == "taro@example.jp" and "2025年11月28日" in ack.body
    inq.submit_public(db, _draft(), source_ip="198.51.100.7", hourly_limit=2, now=now + dt.timedelta(minutes=1))
    with pytest.raises(inq.TooManyRequests):
        inq.submit_public(db, _draft(), source_ip="198.51.100.7", hourly_limit=2, now=now + dt.timedelta(minutes=2))
    inq.submit_public(db, _draft(), source_ip="198.51.100.8", hourly_limit=2, now=now + dt.timedelta(minutes=2))
    inq.submit_public(db, _draft(), source_ip="198.51.100.7", hourly_limit=2, now=now + dt.timedelta(minutes=61))
    with pytest.raises(Invalid) as refused:  # the public form needs a name and an address
        inq.submit_public(db, _draft(inquirer_name="", email=""), source_ip="198.51.100.9", now=now)
    assert {p["field"] for p in refused.value.problems} == {"inquirer_name", "email"}


def test_personal_data_is_removed_after_the_retention_period_and_the_figures_stay(db):
    inquiry = inq.record_inquiry(db, OPERATOR, _draft(phone="096-000-0000"))
    sent = inq.reply(db, OPERATOR, inquiry.id, "回答文")
    inq.transition(db, OPERATOR, inquiry.id, "close")
    db.get(Notification, sent.notification_id).status = "sent"
    open_one = inq.record_inquiry(db, OPERATOR, _draft(subject="対応中"))
    closed = inquiry.closed_at
    assert inq.purge_personal_data(db, OPERATOR, retention_days=30, now=closed + dt.timedelta(days=29)) == 0
    assert inquiry.inquirer_name == "問合 太郎"
    assert inq.purge_personal_data(db, OPERATOR, retention_days=30, now=closed + dt.timedelta(days=31)) == 1
    db.commit()
    db.expire_all()
    assert (inquiry.inquirer_name, inquiry.email, inquiry.phone) == ("", "", "")
    assert inquiry.question == inq.REMOVED_JA and inq.replies_of(db, inquiry)[0].body == inq.REMOVED_JA
    assert db.get(Notification, sent.notification_id).body == inq.REMOVED_JA
    assert inquiry.category is inq.Category.technical and inquiry.received_on  # the figures stay
    assert open_one.inquirer_name == "問合 太郎"  # not closed: kept
    assert db.scalar(sa.select(AuditRecord.action).where(AuditRecord.action == "inquiry.purge")) == "inquiry.purge"
