"""Subcontracting (issue 57 item 3): the secretariat asks approval for a subcontractor, the prefecture approves it
and it is listed in the month's progress report; the vendor's is listed in the service's monthly report; refusing
takes a reason; a contractor sees only its own requests; every act is audited."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from core.actor import Actor
from core.audit import AuditRecord
from core.calendar import today_jst
from core.errors import Invalid, NotFound, NotPermitted
from core.lifecycle import IllegalMove
from governance import subcontracts as sub
from secretariat import progress
from service import monthly_report

SECRETARIAT = Actor("urn:test", "secretariat-1", "事務局 担当", frozenset({"secretariat"}))
VENDOR = Actor("urn:test", "vendor-1", "基盤 担当", frozenset({"platform-vendor"}))
AUDITOR = Actor("urn:test", "auditor-1", "監査 担当", frozenset({"auditor"}))
NTA = "7000012050002"  # 国税庁: a corporate number whose check digit is right


def draft(**changes) -> sub.Draft:
    today = today_jst()
    values = dict(name="くまもとイベント株式会社", address="熊本市中央区水前寺6丁目18番1号", scope="オープンイベントの会場運営",
                  reason="会場設営の専門性のため", starts_on=today.isoformat(),
                  ends_on=(today + dt.timedelta(days=60)).isoformat(), corporate_number=NTA, amount_yen="1,200,000")
    return sub.Draft(**{**values, **changes})


def actions(db) -> list[str]:
    return list(db.scalars(sa.select(AuditRecord.action).where(AuditRecord.action.like("subcontract.%"))
                           .order_by(AuditRecord.id)))


def test_the_secretariats_approved_subcontractor_is_listed_in_the_months_progress_report_and_not_the_vendors(db, operator):
    row = sub.request(db, SECRETARIAT, draft())
    assert (row.contractor, row.status, row.amount_yen) == (sub.Contractor.secretariat, sub.S.pending, 1_200_000)
    month = progress.current_month()
    assert progress.build_report(db, operator, month).subcontractors == ()  # pending: not yet
    sub.approve(db, operator, row.id)
    report = progress.build_report(db, operator, month)
    assert [s.name for s in report.subcontractors] == ["くまもとイベント株式会社"]
    section = next(s for s in progress.sections(report) if s.title == "再委託（承認済み）")
    assert section.rows[0][:4] == ("くまもとイベント株式会社", NTA, "熊本市中央区水前寺6丁目18番1号", "オープンイベントの会場運営")
    assert section.rows[0][5] == "1,200,000 円"
    assert monthly_report.subcontractors(db, dt.date(month.start.year, month.start.month, 1)) == []  # the vendor's only
    assert progress.generate(db, operator, month, "xlsx")[:2] == b"PK"
    assert actions(db) == ["subcontract.request", "subcontract.approve"]


def test_the_vendors_approved_subcontractor_is_in_the_service_monthly_report_writing(db, operator, monkeypatch):
    monkeypatch.setattr(monthly_report, "to_pdf", lambda *args: b"%PDF-")  # the PDF's charts are not the point here
    row = sub.request(db, VENDOR, draft(name="基盤保守サポート合同会社", corporate_number="", amount_yen=""))
    sub.approve(db, operator, row.id)
    written = monthly_report.write(db, operator, today_jst().replace(day=1), None)
    figures = monthly_report.summary_of(written)
    assert [s["name"] for s in figures["subcontractors"]] == ["基盤保守サポート合同会社"]
    assert figures["subcontractors"][0]["corporate_number"] == "—" and figures["subcontractors"][0]["amount"] == "—"
    found = monthly_report.figures(db, operator, today_jst().replace(day=1), None)
    section = next(s for s in monthly_report.sections(found) if s.title == "再委託（承認済み）")
    assert [r[0] for r in section.rows] == ["基盤保守サポート合同会社"] and written.xlsx[:2] == b"PK"


def test_refusing_takes_a_reason_and_a_decided_request_moves_no_more(db, operator):
    row = sub.request(db, SECRETARIAT, draft())
    with pytest.raises(Invalid) as empty:
        sub.refuse(db, operator, row.id, "  ")
    assert empty.value.problems[0]["field"] == "reason" and row.status is sub.S.pending
    sub.refuse(db, operator, row.id, "再委託先の体制が不明確なため")
    assert (row.status, row.refusal_reason) == (sub.S.refused, "再委託先の体制が不明確なため")
    with pytest.raises(IllegalMove):
        sub.approve(db, operator, row.id)
    with pytest.raises(IllegalMove):
        sub.withdraw(db, SECRETARIAT, row.id)
    assert progress.build_report(db, operator, progress.current_month()).subcontractors == ()


def test_the_contractor_withdraws_while_pending_and_ends_an_approved_one(db, operator):
    pending = sub.request(db, SECRETARIAT, draft())
    sub.withdraw(db, SECRETARIAT, pending.id)
    assert pending.status is sub.S.withdrawn and pending.closed_on == today_jst()
    approved = sub.request(db, SECRETARIAT, draft(name="別の再委託先"))
    with pytest.raises(NotPermitted):
        sub.approve(db, SECRETARIAT, approved.id)  # the prefecture decides, never the contractor
    sub.approve(db, operator, approved.id)
    sub.end(db, SECRETARIAT, approved.id)
    assert approved.status is sub.S.ended
    # ended today: still listed this month (it worked in it), with its period up to today
    [listed] = progress.build_report(db, operator, progress.current_month()).subcontractors
    assert listed.id == approved.id and sub.period_text(listed).endswith(today_jst().isoformat())
    assert actions(db) == ["subcontract.request", "subcontract.withdraw", "subcontract.request", "subcontract.approve",
                           "subcontract.end"]


def test_a_contractor_sees_only_its_own_requests_the_prefecture_and_the_auditor_every_one(db, operator):
    mine = sub.request(db, SECRETARIAT, draft())
    theirs = sub.request(db, VENDOR, draft(name="基盤の再委託先"))
    assert [r.id for r in sub.requests(db, SECRETARIAT)] == [mine.id]
    assert [r.id for r in sub.requests(db, VENDOR)] == [theirs.id]
    with pytest.raises(NotFound):
        sub.get(db, SECRETARIAT, theirs.id)
    with pytest.raises(NotFound):
        sub.withdraw(db, SECRETARIAT, theirs.id)
    assert {r.id for r in sub.requests(db, operator)} == {r.id for r in sub.requests(db, AUDITOR)} == {mine.id, theirs.id}
    with pytest.raises(NotPermitted):
        sub.request(db, operator, draft())  # the prefecture asks nothing of itself


def test_a_wrong_request_is_refused_field_by_field_and_a_person_of_both_contractors_says_which(db):
    with pytest.raises(Invalid) as wrong:
        sub.request(db, SECRETARIAT, draft(name="", corporate_number="1000012050002", amount_yen="十万",
                                           starts_on="2026-13-01", ends_on="2026-04-01", scope="x" * 2001))
    fields = {p["field"] for p in wrong.value.problems}
    assert fields == {"name", "corporate_number", "amount_yen", "starts_on", "scope"}
    assert "検査用数字" in next(p["message_ja"] for p in wrong.value.problems if p["field"] == "corporate_number")
    with pytest.raises(Invalid) as backwards:
        sub.request(db, SECRETARIAT, draft(starts_on="2026-06-01", ends_on="2026-05-31"))
    assert [p["field"] for p in backwards.value.problems] == ["ends_on"]
    both = Actor("urn:test", "both-1", "両方 担当", frozenset({"secretariat", "platform-vendor"}))
    with pytest.raises(Invalid) as which:
        sub.request(db, both, draft())
    assert [p["field"] for p in which.value.problems] == ["contractor"]
    assert sub.request(db, both, draft(contractor="vendor")).contractor is sub.Contractor.vendor
    assert db.scalar(sa.select(sa.func.count()).select_from(sub.Subcontract)) == 1
