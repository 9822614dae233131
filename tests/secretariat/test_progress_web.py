"""The secretariat's year in /admin and /api/v1 (issue 40 item 7): the page picks owners from the
secretariat's people (no typed ids), shows the era-form fiscal year, marks a late item, records an
issue and its resolution; the monthly report downloads as a workbook and a PDF, each audited; the API
refuses an owner who is not one of the people and a resolution left out, as problem+json; the command
line writes the report."""

from __future__ import annotations

import io
import json
import re

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from admin import identity
from core.audit import AuditRecord
from secretariat.progress import Issue, WorkItem
from tests.conftest import sign_in

CSRF = "p" * 32
PEOPLE = {"kc-sato": "佐藤 花子", "kc-suzuki": "鈴木 一郎"}


@pytest.fixture(autouse=True)
def secretariat_people(monkeypatch):
    """The operators Keycloak would name (tests/secretariat/test_progress.py asks the real one)."""
    monkeypatch.setattr(identity, "secretariat_people", lambda: dict(PEOPLE))


def test_the_page_picks_owners_and_shows_the_year_a_late_item_and_an_issue(client, db):
    sign_in(client, csrf=CSRF)
    html = client.get("/admin/progress/?year=2026").get_data(as_text=True)
    assert "令和8年度（2026年度）" in html
    assert re.search(r'<select id="item-owner" name="owner"[^>]*>\s*(<option value="kc-sato">佐藤 花子</option>)', html)
    added = client.post("/admin/progress/items", data={"csrf_token": CSRF, "year": "2026", "title": "年間計画の作成",
                                                      "due_on": "2026-04-10", "owner": "kc-sato"})
    assert added.status_code == 302
    refused = client.post("/admin/progress/items", data={"csrf_token": CSRF, "year": "2026", "title": "名簿の更新",
                                                        "due_on": "2026-04-20", "owner": "typed-by-hand"},
                          follow_redirects=True)
    assert "担当者を事務局の職員から選んでください" in refused.get_data(as_text=True)
    assert [i.title for i in db.scalars(sa.select(WorkItem))] == ["年間計画の作成"]
    html = client.get("/admin/progress/?year=2026").get_data(as_text=True)
    row = re.search(r'<tr data-item="\d+" class="table-warning">.*?</tr>', html, re.S).group(0)
    assert "年間計画の作成" in row and "遅延" in row and "佐藤 花子" in row

    client.post("/admin/progress/issues", data={"csrf_token": CSRF, "year": "2026", "title": "会場の確保",
                                                "owner": "kc-suzuki"})
    [issue] = db.scalars(sa.select(Issue)).all()
    not_yet = client.post(f"/admin/progress/issues/{issue.id}", data={"csrf_token": CSRF, "status": "resolved"},
                          follow_redirects=True)
    assert "対応結果（解決の内容）を入力してください" in not_yet.get_data(as_text=True)
    client.post(f"/admin/progress/issues/{issue.id}", data={"csrf_token": CSRF, "status": "resolved",
                                                            "resolution": "県庁の会議室を予約"})
    db.expire_all()
    assert (db.get(Issue, issue.id).status.value, db.get(Issue, issue.id).resolution) == ("resolved", "県庁の会議室を予約")
    html = client.get("/admin/progress/").get_data(as_text=True)
    assert "解決済" in html and "県庁の会議室を予約" in html


def test_the_monthly_report_downloads_audited_and_a_bad_month_is_named(client, db):
    sign_in(client, csrf=CSRF)
    client.post("/admin/progress/items", data={"csrf_token": CSRF, "title": "会員募集の案内", "due_on": "2026-05-12",
                                               "owner": "kc-suzuki"})
    book = client.get("/admin/progress/report/2026-05.xlsx")
    assert book.status_code == 200 and "progress-report-2026-05.xlsx" in book.headers["Content-Disposition"]
    assert load_workbook(io.BytesIO(book.data)).sheetnames[0] == "概要"
    pdf = client.get("/admin/progress/report/2026-05.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    formats = [json.loads(r.after)["format"] for r in db.scalars(sa.select(AuditRecord).where(
        AuditRecord.action == "progress.report").order_by(AuditRecord.seq))]
    assert formats == ["xlsx", "pdf"]
    assert client.get("/admin/progress/report/2026-Q1.pdf").status_code == 404
    bad = client.get("/admin/progress/?month=2026-13")
    assert bad.status_code == 422 and "2026-13&#39; は期間ではありません" in bad.get_data(as_text=True)


def test_the_auditor_reads_the_page_without_forms_and_cannot_post(client, db):
    sign_in(client, roles=["auditor"], csrf=CSRF)
    html = client.get("/admin/progress/").get_data(as_text=True)
    assert 'action="/admin/progress/items"' not in html
    assert client.post("/admin/progress/items", data={"csrf_token": CSRF, "title": "x", "due_on": "2026-05-01",
                                                      "owner": "kc-sato"}).status_code == 302  # refused, shown on the page it returns to
    assert db.scalar(sa.select(sa.func.count()).select_from(WorkItem)) == 0


def test_the_api_adds_changes_and_reports_and_refuses_with_problems(open_api, db):
    people = open_api.get("/api/v1/progress/people").get_json()["items"]
    assert people == [{"id": "kc-sato", "name": "佐藤 花子"}, {"id": "kc-suzuki", "name": "鈴木 一郎"}]
    created = open_api.post("/api/v1/progress/items", json={"title": "セミナー開催", "due_on": "2026-06-30",
                                                            "owner": "kc-sato"})
    assert created.status_code == 201, created.get_json()
    item = created.get_json()
    assert (item["fiscal_year"], item["owner_name"], item["status_ja"]) == (2026, "佐藤 花子", "未着手")
    stranger = open_api.post("/api/v1/progress/items", json={"title": "x", "due_on": "2026-06-30", "owner": "nobody"})
    assert stranger.status_code == 422 and stranger.content_type == "application/problem+json"
    assert stranger.get_json()["errors"][0]["field"] == "owner"
    done = open_api.patch(f"/api/v1/progress/items/{item['id']}", json={"status": "done"})
    assert done.status_code == 200 and done.get_json()["done_on"] is not None
    listed = open_api.get("/api/v1/progress/items?fiscal_year=2026").get_json()
    assert listed["fiscal_year_ja"] == "令和8年度（2026年度）" and [i["id"] for i in listed["items"]] == [item["id"]]
    issue = open_api.post("/api/v1/progress/issues", json={"title": "参加者集め", "owner": "kc-suzuki"}).get_json()
    refused = open_api.patch(f"/api/v1/progress/issues/{issue['id']}", json={"status": "resolved"})
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["field"] == "resolution"
    resolved = open_api.patch(f"/api/v1/progress/issues/{issue['id']}", json={"status": "resolved",
                                                                             "resolution": "会員への案内を追加"})
    assert resolved.get_json()["status_ja"] == "解決済"
    assert open_api.get("/api/v1/progress/issues").get_json()["items"][0]["resolution"] == "会員への案内を追加"
    report = open_api.get("/api/v1/progress/report?month=2026-05&format=xlsx")
    assert report.status_code == 200 and load_workbook(io.BytesIO(report.data)).sheetnames[1] == "完了した作業項目"
    assert open_api.get("/api/v1/progress/report?month=2026-Q1").status_code == 422


def test_the_command_line_adds_resolves_and_writes_the_report(app, db, tmp_path):
    def run(*args):
        return app.test_cli_runner().invoke(args=[*args, "--as", "desk-test"])

    listed = run("progress", "people")
    assert listed.exit_code == 0 and "kc-sato\t佐藤 花子" in listed.output
    added = run("progress", "add-item", "--title", "研修の開催", "--due", "2026-05-20", "--owner", "佐藤 花子")
    assert added.exit_code == 0, added.output
    assert db.scalar(sa.select(WorkItem.owner_subject)) == "kc-sato"
    stranger = run("progress", "add-item", "--title", "x", "--due", "2026-05-20", "--owner", "山田 太郎")
    assert stranger.exit_code == 2 and "担当者を事務局の職員から選んでください" in stranger.output
    raised = run("progress", "raise", "--title", "講師の確保", "--owner", "kc-suzuki")
    assert raised.exit_code == 0, raised.output
    issue_id = db.scalar(sa.select(Issue.id))
    assert run("progress", "issue", str(issue_id), "--status", "resolved").exit_code == 2
    assert run("progress", "issue", str(issue_id), "--status", "resolved", "--resolution", "県職員に依頼").exit_code == 0
    book = tmp_path / "report.xlsx"
    report = run("progress", "report", "2026-05", "--xlsx", str(book))
    assert report.exit_code == 0, report.output
    assert "当月に解決した課題" in report.output and load_workbook(book).sheetnames[0] == "概要"
    assert db.scalar(sa.select(AuditRecord.actor_subject).where(AuditRecord.action == "progress.report")) == "desk-test"
