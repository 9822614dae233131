"""The letters (納入通知書) and the prefecture's settings in the browser's pages."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from billing.models import StatementDocument
from core.audit import AuditRecord
from core.calendar import date_ja, today_jst
from tenancy.registry.models import PrefectureSettings
from tenancy.registry.sample import KUMAMOTO_SETTINGS
from tests.conftest import sign_in


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def fill_settings(client, **changes):
    page = client.get("/admin/settings/").get_data(as_text=True)
    data = {**{name: str(value) for name, value in KUMAMOTO_SETTINGS.items()}, **changes, "csrf_token": csrf(page)}
    return client.post("/admin/settings/", data=data)


def test_the_operator_sets_the_prefecture_once_and_a_refused_form_keeps_what_was_typed(client, db):
    sign_in(client, ["platform-operator"])
    empty = client.get("/admin/settings/").get_data(as_text=True)
    assert "県の設定" in empty and "まだ何も設定されていません" in empty
    refused = fill_settings(client, account_number="12-345", office_phone="")
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert 'value="12-345"' in text and 'value="熊本県知事"' in text  # what was typed comes back
    assert 'id="account_number-error"' in text and 'id="office_phone-error"' in text
    assert db.get(PrefectureSettings, 1) is None
    assert fill_settings(client).status_code == 302
    saved = db.get(PrefectureSettings, 1)
    assert saved.bank_name == "肥後銀行" and saved.document_symbol == "デ戦"
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord).where(AuditRecord.action == "settings.update")) == 1


def test_the_offices_own_closed_days_are_saved_as_dates_and_a_wrong_one_is_named_beside_the_field(client, db):
    """Renkei issue 57 item 8: the office's own closed days, which every due date counted in business days skips."""
    sign_in(client, ["platform-operator"])
    typed = "2026-05-01\n2026年5月1日は\n令和8年5月7日"
    refused = fill_settings(client, closed_days=typed)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="closed_days-error"' in text and "2番目が日付ではありません" in text
    assert "2026年5月1日は" in text and db.get(PrefectureSettings, 1) is None  # as typed, nothing saved
    assert fill_settings(client, closed_days="令和8年5月7日、2026/5/1\n2026-05-01").status_code == 302
    assert db.get(PrefectureSettings, 1).closed_days == "2026-05-01\n2026-05-07"  # sorted, each once
    from tenancy.registry.prefecture import office_closed_days

    assert office_closed_days(db) == {dt.date(2026, 5, 1), dt.date(2026, 5, 7)}
    assert "2026-05-07" in client.get("/admin/settings/").get_data(as_text=True)


def test_only_the_operator_edits_the_settings(client):
    for roles in (["finance-officer"], ["auditor"], ["municipal-admin"]):
        sign_in(client, roles, ["431001"] if roles == ["municipal-admin"] else [])
        assert client.get("/admin/settings/").status_code == 403


def test_finance_issues_the_letters_after_confirming_and_downloads_them(client, db, posted_fy2025):
    sign_in(client, ["platform-operator"])
    fill_settings(client)
    sign_in(client, ["finance-officer"])
    run_page = client.get(f"/admin/billing/runs/{posted_fy2025.id}/").get_data(as_text=True)
    assert "0 / 3 通を発行済み" in run_page and 'name="due_on"' in run_page
    due = today_jst() + dt.timedelta(days=45)  # the deadline must not be before the issue date (today)
    asked = client.post(f"/admin/billing/documents/runs/{posted_fy2025.id}/issue",
                        data={"csrf_token": csrf(run_page), "due_on": due.isoformat()})
    assert asked.status_code == 200 and "文書番号" in asked.get_data(as_text=True)  # asks first, says the consequence
    assert db.scalar(sa.select(sa.func.count()).select_from(StatementDocument)) == 0
    done = client.post(f"/admin/billing/documents/runs/{posted_fy2025.id}/issue",
                       data={"csrf_token": csrf(run_page), "due_on": due.isoformat(), "confirmed": "1"})
    assert done.status_code == 302
    assert sorted(db.scalars(sa.select(StatementDocument.number))) == ["デ戦第1号", "デ戦第2号", "デ戦第3号"]
    batch = client.get(f"/admin/billing/documents/runs/{posted_fy2025.id}.pdf")
    assert batch.status_code == 200 and batch.mimetype == "application/pdf" and batch.data.startswith(b"%PDF")
    statement = client.get("/admin/billing/statements/431001/2025/").get_data(as_text=True)
    assert "デ戦第1号" in statement and date_ja(due) in statement and "肥後銀行" in statement
    assert "/admin/billing/documents/431001/2025.pdf" in statement


def test_a_municipality_downloads_its_own_letter_only(client, db, posted_fy2025, finance, operator):
    from billing import documents
    from tenancy.registry.prefecture import PrefectureSettingsIn, update_settings

    update_settings(db, operator, PrefectureSettingsIn.model_validate(KUMAMOTO_SETTINGS))
    documents.issue_documents(db, finance, posted_fy2025.id)
    db.commit()
    sign_in(client, ["municipal-admin"], ["431001"])
    own = client.get("/admin/billing/documents/431001/2025.pdf")
    assert own.status_code == 200 and own.data.startswith(b"%PDF")
    assert "納入通知書" in own.headers["Content-Disposition"] or "%E7%B4%8D" in own.headers["Content-Disposition"]
    assert client.get("/admin/billing/documents/432024/2025.pdf").status_code == 403
    assert client.get(f"/admin/billing/documents/runs/{posted_fy2025.id}.pdf").status_code == 403
    assert client.post("/admin/billing/documents/431001/2025/reissue").status_code in (400, 403)


def test_a_letter_not_issued_yet_says_so_in_the_page_and_its_pdf_is_a_japanese_404(client, posted_fy2025):
    sign_in(client, ["municipal-admin"], ["431001"])
    page = client.get("/admin/billing/statements/431001/2025/").get_data(as_text=True)
    assert "まだ発行されていません" in page
    missing = client.get("/admin/billing/documents/431001/2025.pdf")
    assert missing.status_code == 404 and "まだ発行されていません" in missing.get_data(as_text=True)


def test_a_reissue_asks_first_and_keeps_the_number(client, db, posted_fy2025, finance, operator):
    from billing import documents
    from tenancy.registry.prefecture import PrefectureSettingsIn, update_settings

    update_settings(db, operator, PrefectureSettingsIn.model_validate(KUMAMOTO_SETTINGS))
    documents.issue_documents(db, finance, posted_fy2025.id)
    db.commit()
    sign_in(client, ["finance-officer"])
    page = client.get("/admin/billing/statements/432024/2025/").get_data(as_text=True)
    assert "再発行" in page
    asked = client.post("/admin/billing/documents/432024/2025/reissue", data={"csrf_token": csrf(page)})
    assert asked.status_code == 200 and db.scalars(sa.select(StatementDocument.reissue_count)).all() == [0, 0, 0]
    client.post("/admin/billing/documents/432024/2025/reissue", data={"csrf_token": csrf(page), "confirmed": "1"})
    db.expire_all()
    reissued = db.scalars(sa.select(StatementDocument).where(StatementDocument.tenant_code == "432024")).one()
    assert reissued.reissue_count == 1 and reissued.number == "デ戦第2号"
