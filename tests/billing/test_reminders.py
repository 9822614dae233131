"""Reminders (督促状, issue 52 item 2): statements unpaid after their due date, reminded by finance.

The year of ``posted_fy2025``: letters issued on 1 August 2025, due 29 August 2025. 熊本市 owes 3,075,000
yen and pays it in full; 八代市 owes 950,000 (1,950,000 less the 1,000,000 it paid); 人吉市 owes 975,000.
On any day after the due date, the reminder list holds 八代市 and 人吉市 and nothing else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re

import pytest
import sqlalchemy as sa

from billing import documents, operations, reminders
from billing.ledger_errors import BillingConflict, InvalidBillingData
from billing.models import Reminder
from billing.schemas import PaymentCreate
from core.audit import AuditRecord
from core.calendar import date_ja, today_jst
from core.errors import NotPermitted
from tests.conftest import sign_in

from .test_statement_documents import pdf_page_size, pdf_text, settings  # noqa: F401  (settings: the issuer)
from .test_statement_documents_views import csrf

ISSUED, DUE = dt.date(2025, 8, 1), dt.date(2025, 8, 29)
YATSUSHIRO, HITOYOSHI, KUMAMOTO_CITY = ("432024", 2025), ("432032", 2025), ("431001", 2025)


@pytest.fixture
def letters_sent(db, finance, posted_fy2025, settings):
    """The year's letters issued, and 熊本市 paid in full."""
    documents.issue_documents(db, finance, posted_fy2025.id, issued_on=ISSUED, due_on=DUE)
    operations.record_payment(db, finance, PaymentCreate(tenant_code="431001", fiscal_year=2025, amount=3_075_000,
                                                         received_on=dt.date(2025, 8, 20), reference="振込"))
    db.commit()
    return posted_fy2025


def _later() -> dt.date:
    return today_jst() + dt.timedelta(days=14)


def _overdue_keys(db, finance, on=None):
    return [(item.tenant_code, item.fiscal_year, item.owed) for item in reminders.overdue_list(db, finance, on)]


def test_the_list_holds_exactly_the_statements_unpaid_after_their_due_date(client, db, finance, letters_sent):
    assert _overdue_keys(db, finance) == [("432024", 2025, 950_000), ("432032", 2025, 975_000)]  # not 熊本市: paid
    assert _overdue_keys(db, finance, on=DUE) == []  # on the due date itself nothing is overdue yet
    sign_in(client, ["finance-officer"])
    page = client.get("/admin/billing/reminders/").get_data(as_text=True)
    table = page[page.index('id="overdue"'):page.index("</table>", page.index('id="overdue"'))]
    assert "八代市" in table and "人吉市" in table and "熊本市" not in table
    assert "950,000円" in table and "975,000円" in table
    assert "督促" in client.get("/admin/billing/").get_data(as_text=True)  # linked from the billing page


def test_a_reminder_is_one_numbered_a4_page_kept_as_issued(client, db, finance, letters_sent, tmp_path):
    sign_in(client, ["finance-officer"])
    page = client.get("/admin/billing/reminders/").get_data(as_text=True)
    due = _later()
    form = {"csrf_token": csrf(page), "statement": ["432024/2025", "432032/2025"], "due_on": due.isoformat()}
    asked = client.post("/admin/billing/reminders/issue", data=form)
    assert asked.status_code == 200 and "督促状を発行" in asked.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(Reminder)) == 0  # nothing before the confirmation
    done = client.post("/admin/billing/reminders/issue", data={**form, "confirmed": "1"})
    assert done.status_code == 302
    db.expire_all()
    sent = db.scalars(sa.select(Reminder).order_by(Reminder.sequence)).all()
    assert [reminder.tenant_code for reminder in sent] == ["432024", "432032"]
    assert sent[1].sequence == sent[0].sequence + 1 and all(re.fullmatch(r".+第\d+号", r.number) for r in sent)
    yatsushiro = sent[0]
    original = documents.issued_letter(db, finance, "432024", 2025).document

    downloaded = client.get(f"/admin/billing/documents/reminders/{yatsushiro.id}.pdf")
    assert downloaded.status_code == 200 and downloaded.mimetype == "application/pdf"
    from pypdf import PdfReader

    assert len(PdfReader(io.BytesIO(downloaded.data)).pages) == 1
    assert "(A4)" in pdf_page_size(downloaded.data, tmp_path)
    text = pdf_text(downloaded.data, tmp_path)
    flat = "".join(text.split())
    for said in ("督促状", yatsushiro.number, "950,000円", date_ja(due), original.number, date_ja(original.issued_on),
                 "公印省略"):
        assert said in flat, said
    # the audit record names who, the tenant, before and after, and the file's SHA-256; a later download is that file
    record = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "billing.reminder.issue",
                                                     AuditRecord.tenant_code == "432024")).one()
    before, after = (value if isinstance(value, dict) else json.loads(value) for value in (record.before, record.after))
    assert record.actor_subject == "finance-officer-1"
    assert before["unpaid"] == 950_000 and before["letter"] == original.number
    assert after["file_sha256"] == hashlib.sha256(downloaded.data).hexdigest() and after["new_due_on"] == due.isoformat()
    again = client.get(f"/admin/billing/documents/reminders/{yatsushiro.id}.pdf")
    assert hashlib.sha256(again.data).hexdigest() == hashlib.sha256(downloaded.data).hexdigest()


def test_the_municipality_sees_its_own_reminder_and_its_paid_date(client, db, finance, letters_sent):
    due = _later()
    [sent] = reminders.issue_reminders(db, finance, [YATSUSHIRO], due)
    [other] = reminders.issue_reminders(db, finance, [HITOYOSHI], due)
    db.commit()
    sign_in(client, ["municipal-admin"], ["432024"])
    own = client.get("/admin/billing/").get_data(as_text=True)
    table = own[own.index('id="own-reminders"'):own.index("</table>", own.index('id="own-reminders"'))]
    assert sent.number in table and date_ja(sent.issued_on) in table and date_ja(due) in table and "未納" in table
    assert other.number not in own
    statement = client.get("/admin/billing/statements/432024/2025/").get_data(as_text=True)
    assert sent.number in statement and "950,000円" in statement
    assert client.get(f"/admin/billing/documents/reminders/{sent.id}.pdf").status_code == 200
    assert client.get(f"/admin/billing/documents/reminders/{other.id}.pdf").status_code == 404  # another's: not there

    operations.record_payment(db, finance, PaymentCreate(tenant_code="432024", fiscal_year=2025, amount=950_000,
                                                         received_on=today_jst(), reference="督促後の振込"))
    db.commit()
    db.expire_all()
    assert db.get(Reminder, sent.id).paid_on == today_jst() and db.get(Reminder, other.id).paid_on is None
    own = client.get("/admin/billing/").get_data(as_text=True)
    table = own[own.index('id="own-reminders"'):own.index("</table>", own.index('id="own-reminders"'))]
    assert f"{date_ja(today_jst())} 納入済み" in table
    assert ("432024", 2025, 950_000) not in _overdue_keys(db, finance)


def test_only_finance_reminds_and_sees_the_list(client, db, finance, letters_sent):
    municipal = finance.__class__(issuer="urn:test", subject="yatsushiro-1", name="八代市 担当",
                                  roles=frozenset({"municipal-admin"}), tenant_codes=frozenset({"432024"}))
    with pytest.raises(NotPermitted):
        reminders.issue_reminders(db, municipal, [YATSUSHIRO], _later())
    with pytest.raises(NotPermitted):
        reminders.overdue_list(db, municipal)
    sign_in(client, ["municipal-admin"], ["432024"], csrf="known-token")
    assert client.get("/admin/billing/reminders/").status_code == 403
    assert client.post("/admin/billing/reminders/issue", data={"csrf_token": "known-token", "statement": "432024/2025",
                                                               "due_on": _later().isoformat(), "confirmed": "1"}).status_code == 403
    assert db.scalar(sa.select(sa.func.count()).select_from(Reminder)) == 0


def test_a_past_due_date_is_refused_beside_the_field_with_what_was_typed(client, db, finance, letters_sent):
    sign_in(client, ["finance-officer"])
    page = client.get("/admin/billing/reminders/").get_data(as_text=True)
    typed = today_jst().isoformat()  # today is not after today
    refused = client.post("/admin/billing/reminders/issue", data={"csrf_token": csrf(page), "statement": "432024/2025",
                                                                  "due_on": typed, "confirmed": "1"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422
    field = body[body.index('id="due_on"') - 300:body.index('id="due_on-error"') + 300]
    assert f'value="{typed}"' in field and "今日" in field and "より後の日付" in field
    # no statement ticked: refused in words before the confirmation, the date typed kept
    later = _later().isoformat()
    none = client.post("/admin/billing/reminders/issue", data={"csrf_token": csrf(page), "due_on": later})
    assert none.status_code == 422 and "督促する負担金を選んでください" in none.get_data(as_text=True)
    assert f'value="{later}"' in none.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(Reminder)) == 0


def test_refusals_in_words(client, db, finance, letters_sent):
    due = _later()
    with pytest.raises(BillingConflict, match="paid") as paid:
        reminders.issue_reminders(db, finance, [KUMAMOTO_CITY], due)
    assert "納入済み" in paid.value.message_ja
    with pytest.raises(BillingConflict) as early:
        reminders.issue_reminders(db, finance, [YATSUSHIRO], DUE + dt.timedelta(days=5), issued_on=DUE)
    assert "納期限" in early.value.message_ja and "過ぎていない" in early.value.message_ja
    with pytest.raises(InvalidBillingData):
        reminders.issue_reminders(db, finance, [YATSUSHIRO], today_jst() - dt.timedelta(days=1))
    reminders.issue_reminders(db, finance, [YATSUSHIRO], due)
    db.commit()
    with pytest.raises(BillingConflict) as twice:
        reminders.issue_reminders(db, finance, [YATSUSHIRO], due)
    assert "発行済み" in twice.value.message_ja
    db.rollback()
    # the same refusal on the page: a message, the list again, nothing written (never a 500)
    sign_in(client, ["finance-officer"])
    page = client.get("/admin/billing/reminders/").get_data(as_text=True)
    again = client.post("/admin/billing/reminders/issue", data={"csrf_token": csrf(page), "statement": "432024/2025",
                                                                "due_on": due.isoformat(), "confirmed": "1"})
    assert again.status_code == 422 and "発行済み" in again.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(Reminder)) == 1
    # a second reminder with another new due date is sent, numbered after the first
    second = reminders.issue_reminders(db, finance, [YATSUSHIRO], due + dt.timedelta(days=7))
    assert second[0].due_on == due + dt.timedelta(days=7)


def test_the_same_reminder_sent_twice_at_once_is_sent_once_and_the_other_refused_in_words(app, db, finance, letters_sent):
    from tests.billing.conftest import colleague
    from tests.race import race

    due = _later()
    outcomes = race(app, [lambda session, n=n: reminders.issue_reminders(session, colleague(n), [YATSUSHIRO], due)[0].number
                          for n in (1, 2)])
    assert sorted(outcome.ok for outcome in outcomes) == [False, True]
    [refused] = [outcome.error for outcome in outcomes if not outcome.ok]
    assert isinstance(refused, BillingConflict) and "発行済み" in refused.message_ja
    db.expire_all()
    assert db.scalar(sa.select(sa.func.count()).select_from(Reminder)) == 1


def test_the_api_sends_lists_and_serves_reminders_with_problems_in_words(client, db, letters_sent, user_factory):
    _, finance_headers = user_factory(("finance-officer",))
    _, yatsushiro_headers = user_factory(("municipal-admin",), "432024")
    overdue = client.get("/api/v1/billing/reminders/overdue", headers=finance_headers)
    assert overdue.status_code == 200
    assert [(s["tenant_code"], s["owed"]) for s in overdue.get_json()["statements"]] == [("432024", 950_000),
                                                                                          ("432032", 975_000)]
    past = client.post("/api/v1/billing/reminders", headers=finance_headers,
                       json={"statements": [{"tenant_code": "432024", "fiscal_year": 2025}], "due_on": today_jst().isoformat()})
    assert past.status_code == 422 and past.mimetype == "application/problem+json"
    assert any(problem["field"] == "due_on" and "今日" in problem["message_ja"] for problem in past.get_json()["errors"])
    due = _later().isoformat()
    sent = client.post("/api/v1/billing/reminders", headers=finance_headers,
                       json={"statements": [{"tenant_code": "432024", "fiscal_year": 2025}], "due_on": due})
    assert sent.status_code == 201
    [reminder] = sent.get_json()["reminders"]
    assert reminder["amount"] == 950_000 and reminder["due_on"] == due and reminder["paid_on"] is None
    again = client.post("/api/v1/billing/reminders", headers=finance_headers,
                        json={"statements": [{"tenant_code": "432024", "fiscal_year": 2025}], "due_on": due})
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    assert "発行済み" in again.get_json()["detail_ja"]
    assert client.post("/api/v1/billing/reminders", headers=yatsushiro_headers,
                       json={"statements": [{"tenant_code": "432024", "fiscal_year": 2025}], "due_on": due}).status_code == 403
    own = client.get("/api/v1/billing/statements/432024/2025/reminders", headers=yatsushiro_headers).get_json()
    assert [r["number"] for r in own["reminders"]] == [reminder["number"]]
    pdf = client.get(f"/api/v1/billing/reminders/{reminder['id']}?format=pdf", headers=yatsushiro_headers)
    assert pdf.status_code == 200 and hashlib.sha256(pdf.data).hexdigest() == reminder["sha256"]
    assert client.get("/api/v1/billing/statements/432032/2025/reminders", headers=yatsushiro_headers).status_code == 403
