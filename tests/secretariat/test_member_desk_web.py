"""The secretariat's desk in /admin and /api/v1 (issue 40 items 1 and 2): upload → preview → confirm, a refused
file shown with its problems beside the rows; the report page, its files and the target; the home page's
progress; the API's preview and import; the command line's dry run."""

from __future__ import annotations

import base64
import io
import re

import sqlalchemy as sa
from openpyxl import load_workbook

from bench.member_files import FAULTY_LINES, as_csv, as_xlsx, corporate_number, faulty, member_rows
from tenancy.members.models import Organisation
from tests.conftest import sign_in

CSRF = "t" * 32


def _members(db) -> int:
    return db.scalar(sa.select(sa.func.count()).select_from(Organisation))


def test_a_refused_file_comes_back_with_the_problems_beside_their_rows(client, db):
    sign_in(client, csrf=CSRF)
    raw = as_csv(faulty(member_rows(500)))
    page = client.post("/admin/members-import/", data={"csrf_token": CSRF, "file": (io.BytesIO(raw), "members.csv")},
                       content_type="multipart/form-data")
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    lines = set(map(int, re.findall(r'<tr data-line="(\d+)">', html)))
    assert lines == set(FAULTY_LINES.values())
    # the row's corporate number and name beside its problem (the duplicate at 250 repeats line 4's number)
    assert re.search(rf'<tr data-line="250"><td>250</td><td>{corporate_number(2)}</td><td>会員0248株式会社</td>', html)
    assert _members(db) == 0


def test_upload_preview_confirm_imports_and_the_page_offers_the_template(client, db):
    sign_in(client, csrf=CSRF)
    page = client.get("/admin/members-import/").get_data(as_text=True)
    assert "/admin/members-import/template.xlsx" in page and "/admin/members-import/template.csv" in page
    book = load_workbook(io.BytesIO(client.get("/admin/members-import/template.xlsx").data))
    assert [c.value for c in book.active[1]][:3] == ["法人番号", "名称", "フリガナ"]
    raw = as_xlsx(member_rows(30))
    preview = client.post("/admin/members-import/", data={"csrf_token": CSRF, "file": (io.BytesIO(raw), "members.xlsx")},
                          content_type="multipart/form-data")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and html.count('data-outcome="new"') == 30 and _members(db) == 0
    content = re.search(r'name="content" value="([^"]+)"', html).group(1)
    done = client.post("/admin/members-import/", data={"csrf_token": CSRF, "confirmed": "1", "notify": "0", "content": content})
    assert done.status_code == 302
    assert _members(db) == 30


def test_the_report_page_its_files_the_target_and_the_home_page(client, db, operator):
    from secretariat import members_import

    members_import.import_file(db, operator, as_csv(member_rows(10), "utf-8"))
    db.commit()
    sign_in(client, csrf=CSRF)
    page = client.get("/admin/members-report/?period=FY2019")
    assert page.status_code == 200 and "会員状況報告書" in page.get_data(as_text=True)
    assert client.get("/admin/members-report/?period=2019-Q9").status_code == 422
    book = load_workbook(io.BytesIO(client.get("/admin/members-report/FY2019.xlsx").data))
    assert book["概要"]["A5"].value == "期末の会員数" and book["概要"]["B5"].value == "10"  # members at the end of FY2019: all ten joined in April 2019
    saved = client.post("/admin/members-report/target", data={"csrf_token": CSRF, "fiscal_year": "2019", "target": "20",
                                                              "period": "FY2019"})
    assert saved.status_code == 302
    page = client.get("/admin/members-report/?period=FY2019").get_data(as_text=True)
    assert "10 of the target 20" in page or "目標 20" in page
    home = client.get("/admin/").get_data(as_text=True)
    assert 'id="home-recruitment"' in home


def test_a_municipal_admin_gets_neither_page(client):
    sign_in(client, ("municipal-admin",), ("431001",))
    assert client.get("/admin/members-import/").status_code == 403
    assert client.get("/admin/members-report/").status_code == 403
    assert 'id="home-recruitment"' not in client.get("/admin/").get_data(as_text=True)


def test_the_api_previews_then_imports(client, db, as_operator):
    body = {"filename": "m.csv", "content_base64": base64.b64encode(as_csv(member_rows(3))).decode()}
    preview = client.post("/api/v1/members/import", json=body, headers=as_operator)
    assert preview.status_code == 200 and preview.get_json()["new"] == 3 and preview.get_json()["created"] == []
    assert _members(db) == 0
    done = client.post("/api/v1/members/import", json=body | {"dry_run": False}, headers=as_operator)
    assert done.status_code == 200 and len(done.get_json()["created"]) == 3
    bad = client.post("/api/v1/members/import", headers=as_operator, json={
        "content_base64": base64.b64encode(as_csv(faulty(member_rows(500)))).decode(), "dry_run": False})
    assert bad.status_code == 422 and bad.content_type.startswith("application/problem+json")
    assert {p["field"].split(":")[0] for p in bad.get_json()["errors"]} == {f"line {n}" for n in FAULTY_LINES.values()}
    report = client.get("/api/v1/members/report?period=2024-Q1&format=xlsx", headers=as_operator)
    assert report.status_code == 200 and report.data.startswith(b"PK")
    assert client.get("/api/v1/members/report?period=2024-Q5", headers=as_operator).status_code == 422
    target = client.put("/api/v1/members/recruitment-targets/2025", json={"target": 60}, headers=as_operator)
    assert target.status_code == 200 and target.get_json()["target"] == 60


def test_the_command_line_dry_run_writes_nothing(app, db, tmp_path):
    from admin.commands.members import group

    path = tmp_path / "members.csv"
    path.write_bytes(as_csv(member_rows(4)))
    runner = app.test_cli_runner()
    result = runner.invoke(group, ["import", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "新規 4 件" in result.output and _members(db) == 0
    result = runner.invoke(group, ["import", str(path)])
    assert result.exit_code == 0, result.output
    db.rollback()
    assert _members(db) == 4
    path.write_bytes(as_csv(faulty(member_rows(500))))
    result = runner.invoke(group, ["import", str(path)])
    assert result.exit_code == 2 and "line 12" in result.output


def test_the_command_line_sets_the_target_and_writes_the_report(app, db, operator, tmp_path):
    from admin.commands.members import group
    from secretariat import members_import

    members_import.import_file(db, operator, as_csv(member_rows(3), "utf-8"))
    db.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(group, ["target", "2019", "7"])
    assert result.exit_code == 0, result.output
    xlsx = tmp_path / "report.xlsx"
    result = runner.invoke(group, ["report", "FY2019", "--xlsx", str(xlsx)])
    assert result.exit_code == 0, result.output
    assert "期末の会員数\t3" in result.output and "3（達成率 42%、残り 4）" in result.output
    assert load_workbook(xlsx).sheetnames[0] == "概要"
    assert runner.invoke(group, ["report", "2019-Q7"]).exit_code == 2
