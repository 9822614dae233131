"""The tenant registry's import in the operator's UI (issue 25), as the CLI does it: the file is checked
row by row first (nothing written), problems are listed by line and bounded, a good file is shown and
registered only when the operator confirms, all or nothing, in one audit record."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa

from core.audit import AuditRecord
from tenancy.registry.models import Tenant
from tests.admin.test_labels import visible_text
from tests.conftest import sign_in

CSRF = "import-csrf"
GOOD = ("団体コード,団体名,種別,人口\r\n431001,熊本市,政令指定都市,738865\r\n432024,八代市,市,123067\r\n"
        "433675,南阿蘇村,村,10000\r\n").encode("cp932")


def upload(client, data: bytes, name: str = "tenants.csv"):
    return client.post("/admin/tenants-import/", data={"csrf_token": CSRF, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def tenants(db) -> list[str]:
    db.expire_all()
    return list(db.scalars(sa.select(Tenant.code).order_by(Tenant.code)))


def test_the_operator_checks_then_confirms_and_the_import_is_one_audited_act(client, db):
    sign_in(client, csrf=CSRF)
    assert "参加団体を CSV・Excel ファイルから一括登録" in client.get("/admin/tenants-import/").get_data(as_text=True)
    checked = upload(client, GOOD)
    page = checked.get_data(as_text=True)
    text = visible_text(page)
    assert checked.status_code == 200 and "3 団体を登録できます。まだ何も登録していません" in text
    assert "431001 熊本市 政令指定都市 738,865" in text and "後から削除できず" in text
    assert tenants(db) == []  # the check wrote nothing
    content = re.search(r'name="content" value="([^"]+)"', page).group(1)
    done = client.post("/admin/tenants-import/", data={"csrf_token": CSRF, "confirmed": "1", "content": content},
                       follow_redirects=True)
    assert "3 団体を登録しました" in visible_text(done.get_data(as_text=True))
    assert tenants(db) == ["431001", "432024", "433675"]
    [record] = db.scalars(sa.select(AuditRecord)).all()
    assert record.action == "tenant.import" and record.target_id == "3 tenants" and record.actor_subject == "operator-1"


def test_a_file_with_bad_rows_is_listed_by_line_and_nothing_is_written(client, db, tenant_factory):
    tenant_factory("432024")
    bad = ("団体コード,団体名,種別,人口\r\n431001,熊本市,政令指定都市,738865\r\n432024,八代市,市,123067\r\n"
           "433675,南阿蘇村,村,たくさん\r\n431001,熊本市,政令指定都市,1\r\n").encode("cp932")
    sign_in(client, csrf=CSRF)
    refused = upload(client, bad)
    text = visible_text(refused.get_data(as_text=True))
    assert refused.status_code == 422 and "取り込みは行っていません" in text
    lines = dict(re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td></tr>", refused.get_data(as_text=True)))
    assert set(lines) == {"3", "4", "5"}
    assert "すでに登録されています" in lines["3"] and "2 行目と重複" in lines["5"]
    assert tenants(db) == ["432024"]
    assert db.scalar(sa.select(sa.func.count(AuditRecord.id)).where(AuditRecord.action == "tenant.import")) == 0


def test_the_problems_listed_are_bounded_and_all_are_counted(client, db, monkeypatch):
    from core import csvfile

    monkeypatch.setattr(csvfile, "MAX_PROBLEMS_LISTED", 5)
    rows = "".join(f"{code},町{code},町,-1\r\n" for code in range(100000, 100040))
    sign_in(client, csrf=CSRF)
    refused = upload(client, ("団体コード,団体名,種別,人口\r\n" + rows).encode("utf-8"))
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and len(re.findall(r"<tr><td>\d+</td>", page)) == 5
    assert "件のうち最初の 5 件を示します" in visible_text(page) and "最大 5 件まで表示" in visible_text(page)


def test_a_tenant_registered_between_the_check_and_the_confirmation_stops_the_whole_import(client, db, tenant_factory):
    sign_in(client, csrf=CSRF)
    content = re.search(r'name="content" value="([^"]+)"', upload(client, GOOD).get_data(as_text=True)).group(1)
    tenant_factory("433675")  # someone else registered it meanwhile
    answer = client.post("/admin/tenants-import/", data={"csrf_token": CSRF, "confirmed": "1", "content": content})
    assert answer.status_code == 422 and "433675 はすでに登録されています" in visible_text(answer.get_data(as_text=True))
    assert tenants(db) == ["433675"]  # all or nothing


def test_only_the_operator_imports(client, db):
    for roles in (["municipal-admin"], ["auditor"], ["finance-officer"]):
        sign_in(client, roles, ["431001"], csrf=CSRF)
        assert client.get("/admin/tenants-import/").status_code == 403
        assert upload(client, GOOD).status_code == 403
    assert tenants(db) == []


def workbook(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    saved = io.BytesIO()
    book.save(saved)
    return saved.getvalue()


def test_an_excel_workbook_is_checked_by_row_number_and_imported_as_a_csv_would_be(client, db, tenant_factory):
    """The registry as a clerk keeps it in Excel: codes and populations typed as numbers, a blank row
    between; a bad row is named by its row number in the sheet, and the corrected workbook imports."""
    tenant_factory("432024")
    header = ["団体コード", "団体名", "種別", "人口"]
    sign_in(client, csrf=CSRF)
    bad = workbook([header, [431001, "熊本市", "政令指定都市", 738865], [], [432024, "八代市", "市", 123067],
                    [433675, "南阿蘇村", "村", "たくさん"]])
    refused = upload(client, bad, "名簿.xlsx")
    lines = dict(re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td></tr>", refused.get_data(as_text=True)))
    assert refused.status_code == 422 and set(lines) == {"4", "5"}  # rows 4 and 5 of the sheet
    assert "すでに登録されています" in lines["4"]
    assert tenants(db) == ["432024"]

    good = workbook([header, [431001, "熊本市", "政令指定都市", 738865.0], [], [433675, "南阿蘇村", "村", 10000]])
    page = upload(client, good, "名簿.xlsx").get_data(as_text=True)
    assert "2 団体を登録できます" in visible_text(page) and "431001 熊本市 政令指定都市 738,865" in visible_text(page)
    content = re.search(r'name="content" value="([^"]+)"', page).group(1)
    client.post("/admin/tenants-import/", data={"csrf_token": CSRF, "confirmed": "1", "content": content})
    assert tenants(db) == ["431001", "432024", "433675"]


def test_a_file_that_only_looks_like_a_workbook_is_refused_in_words(client, db):
    sign_in(client, csrf=CSRF)
    refused = upload(client, b"PK\x03\x04 not really a workbook", "名簿.xlsx")
    assert refused.status_code == 422 and "Excel ブック（.xlsx）として読めません" in visible_text(refused.get_data(as_text=True))
    assert tenants(db) == []
