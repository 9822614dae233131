"""The record retention page and API (issue 35 item 6): the one table in Japanese with era years, what
is past it, its signed export, and the disposal that asks first and is refused in words."""

from __future__ import annotations

import json

import sqlalchemy as sa

from core import retention
from core.audit import AuditRecord
from tests.conftest import sign_in

CSRF = "retention-csrf"


def test_the_operator_reads_the_table_in_japanese_with_era_years(client, db):
    sign_in(client, csrf=CSRF)
    page = client.get("/admin/retention/").get_data(as_text=True)
    assert "記録の保存期間" in page and "会計帳簿（仕訳）" in page and "1年間（365日）" in page
    assert "の記録は令和" in page and "年3月31日まで" in page  # this fiscal year's books, until when (era dates)
    assert "廃棄する…" not in page  # nothing is past its retention in an empty database: no disposal offered
    english = client.get("/admin/retention/?lang=en").get_data(as_text=True)
    assert "Ledger (journal entries)" in english and "one year (365 days)" in english


def test_the_auditor_reads_it_but_may_not_dispose_and_a_municipal_admin_may_not_read_it(client, db):
    sign_in(client, ["auditor"], csrf=CSRF)
    page = client.get("/admin/retention/")
    assert page.status_code == 200 and "廃棄の方法" in page.get_data(as_text=True)
    assert client.post("/admin/retention/dispose", data={"csrf_token": CSRF, "kind": "ledger",
                                                         "fiscal_year": "2019"}).status_code == 403
    sign_in(client, ["municipal-admin"], ["431001"])
    assert client.get("/admin/retention/").status_code == 403


def test_the_signed_list_downloads_and_is_audited(client, db):
    sign_in(client)
    response = client.get("/admin/retention/due.json")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    signed = json.loads(response.get_data())
    assert signed["signature"]["algorithm"] and {k["kind"] for k in signed["document"]["kinds"]} >= {"ledger", "audit_log"}
    db.expire_all()
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord).where(
        AuditRecord.action == "retention.due.export")) == 1


def test_a_year_not_closed_answers_in_words_not_500(client, db):
    sign_in(client)
    response = client.get("/admin/retention/year/2024.tar")
    assert response.status_code == 409 and "決算（締め）が済んでいない" in response.get_data(as_text=True)


def test_disposal_asks_first_stating_the_consequence_and_is_refused_inside_retention(client, db):
    sign_in(client, csrf=CSRF)
    asked = client.post("/admin/retention/dispose", data={"csrf_token": CSRF, "kind": "ledger", "fiscal_year": "2025"})
    text = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "操作ログに残り、取り消せません" in text and 'name="confirmed" value="1"' in text
    done = client.post("/admin/retention/dispose", follow_redirects=True,
                       data={"csrf_token": CSRF, "kind": "ledger", "fiscal_year": "2025", "confirmed": "1"})
    until = retention.kind("ledger").keep_until_year(2025)
    assert until.isoformat() == "2031-03-31"
    assert "令和7年度の会計帳簿（仕訳）は令和13年3月31日まで保存しなければなりません" in done.get_data(as_text=True)
    db.expire_all()
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord).where(
        AuditRecord.action == "retention.dispose")) == 0
    assert client.post("/admin/retention/dispose", data={"csrf_token": CSRF, "kind": "audit_log",
                                                         "fiscal_year": "2019"}).status_code == 400


def test_the_api_gives_the_table_and_the_due_list(open_api, db):
    table = open_api.get("/api/v1/retention")
    assert table.status_code == 200
    items = {item["kind"]: item for item in table.get_json()["items"]}
    assert items["ledger"]["years"] == 5 and items["ledger"]["counts_from"] == "fiscal_year_end"
    assert items["linkage"]["days"] == 365 and table.get_json()["total"] == len(retention.KINDS)
    listed = open_api.get("/api/v1/retention/due").get_json()
    assert {item["kind"] for item in listed["items"]} >= {"ledger", "council", "usage_events"}
    assert all(item["count"] == 0 for item in listed["items"])  # an empty database has nothing past retention
