"""個人情報ファイル簿 (issue 56 item 5): 熊本市's register lists every file of personal information it keeps, with facts
equal to the records (computed here from the database's rows by SQL of the test's own), for its admins and the
operator, as a page, a workbook and a PDF; the public page shows it only once the municipality publishes it."""

from __future__ import annotations

import io
import json

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from residents import file_register
from residents.models import VerificationMethod
from tests.conftest import OPERATOR, sign_in
from tests.consent.conftest import admin_of
from tests.residents.conftest import KUMAMOTO, YATSUSHIRO
from tests.residents.test_portal_records import TEXT, ME, story  # noqa: F401  (the fixture)

CSRF = "file-register-token"


@pytest.fixture
def city(app, db, story, consent_setup):
    """The story's 熊本市 (くらしナビ linked, 健康ポイント split), a 熊本市 service nobody linked, and 八代市's own."""
    consent_setup(name="子育て応援アプリ", text={**TEXT, "title": "子育て", "purposes": ["子育て支援の案内", "アンケート"],
                                                 "items": {"氏名": {}, "生年月日": {}}})
    consent_setup(YATSUSHIRO, name="八代ナビ", text=TEXT)
    return story


def expected_files(db) -> dict[str, dict]:
    """The facts of 熊本市's files, read from the rows by the test's own SQL."""
    q = lambda sql, **params: db.execute(sa.text(sql), {"code": KUMAMOTO, **params}).all()  # noqa: E731
    residents_of = "SELECT id FROM resident WHERE tenant_code = :code"
    held = q("SELECT count(*) FROM resident WHERE tenant_code = :code AND erased_at IS NULL")[0][0]
    verifications = {row[0] for row in q("SELECT DISTINCT verification FROM resident WHERE tenant_code = :code "
                                         "AND erased_at IS NULL")}
    linked_now = sorted(row[0] for row in q(
        f"SELECT DISTINCT s.name FROM service_link l JOIN data_service s ON s.id = l.service_id "
        f"WHERE l.ended_at IS NULL AND l.resident_id IN ({residents_of})"))
    files = {"register": {"persons": held, "recipients": linked_now,
                          "verifications": {VerificationMethod(v).ja for v in verifications}}}
    services = q(f"SELECT id, name, current_text_id, retention_days FROM data_service WHERE owner_code = :code "
                 f"OR id IN (SELECT service_id FROM service_link WHERE resident_id IN ({residents_of}))")
    for service_id, name, text_id, days in services:
        purposes = [row[0] for row in q("SELECT statement FROM consent_purpose WHERE text_id = :t ORDER BY position",
                                        t=text_id)]
        items = [row[0] for row in q("SELECT name FROM consent_data_item WHERE text_id = :t ORDER BY position", t=text_id)]
        persons = q(f"SELECT count(DISTINCT resident_id) FROM service_link WHERE service_id = :s AND ended_at IS NULL "
                    f"AND resident_id IN ({residents_of})", s=service_id)[0][0]
        files[f"service-{service_id}"] = {"name": name, "purposes": purposes, "items": items, "persons": persons,
                                          "days": days}
    return files


def test_kumamotos_register_lists_every_file_with_the_facts_of_the_records(app, db, city):
    found = file_register.register(db, admin_of(KUMAMOTO), KUMAMOTO)
    expected = expected_files(db)
    assert [file.key for file in found.files][0] == "register"
    assert {file.key for file in found.files} == set(expected)
    assert {expected[key]["name"] for key in expected if key != "register"} == {"くらしナビ", "健康ポイント", "子育て応援アプリ"}
    by_key = {file.key: file for file in found.files}
    ledger = by_key["register"]
    assert ledger.persons == expected["register"]["persons"] == 2  # me and someone else
    assert list(ledger.recipients) == expected["register"]["recipients"] == ["くらしナビ"]  # 健康ポイント's link was split
    assert {step.split("：", 1)[1] for step in ledger.collected if step.startswith("本人確認")} == \
        expected["register"]["verifications"]
    assert "氏名" in ledger.items and "共通ID" in ledger.items and "熊本市" in ledger.office
    for key, facts in expected.items():
        if key == "register":
            continue
        file = by_key[key]
        assert facts["name"] in file.name and file.persons == facts["persons"]
        assert file.purpose == "、".join(facts["purposes"]) and list(file.items) == facts["items"]
        assert f"{facts['days']}日" in file.retention and facts["name"] in file.recipients[0]
    assert [by_key[k].persons for k in by_key if by_key[k].name.startswith("くらしナビ")] == [2]
    assert ME not in repr(found)  # the register names no person


def test_only_the_municipalitys_admins_and_the_operator_read_it(app, db, city):
    from core.errors import NotPermitted

    assert file_register.register(db, OPERATOR, KUMAMOTO).files
    with pytest.raises(NotPermitted):
        file_register.register(db, admin_of(YATSUSHIRO), KUMAMOTO)


def test_the_page_and_the_workbook_and_the_pdf_carry_the_same_files(app, client, db, city):
    from openpyxl import load_workbook

    sign_in(client, ["municipal-admin"], [KUMAMOTO])
    page = client.get(f"/admin/file-register/?tenant={KUMAMOTO}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "個人情報ファイル簿" in text
    expected = expected_files(db)
    table = text.split('id="file-register"', 1)[1].split("</table>", 1)[0]
    for key, facts in expected.items():
        row = table.split(f'id="file-{key}"', 1)[1].split("</tr>", 1)[0]
        assert f'>{facts["persons"]}<' in row
    assert "令和" in text  # the day generated, in the era's years
    workbook = client.get(f"/admin/file-register/{KUMAMOTO}/file-register.xlsx")
    assert workbook.status_code == 200
    sheet = load_workbook(io.BytesIO(workbook.data)).worksheets[0]
    rows = [row for row in sheet.iter_rows(min_row=4, values_only=True) if row[0]]
    assert len(rows) == len(expected) and sorted(row[7] for row in rows) == sorted(f["persons"] for f in expected.values())
    pdf = client.get(f"/admin/file-register/{KUMAMOTO}/file-register.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert client.get(f"/admin/file-register/{YATSUSHIRO}/file-register.xlsx").status_code == 403


def test_the_public_page_shows_it_only_once_the_municipality_publishes_it_audited(app, client, db, city):
    assert client.get(f"/file-register/{KUMAMOTO}").status_code == 404
    sign_in(client, ["municipal-admin"], [YATSUSHIRO], csrf=CSRF)  # another city's admin cannot publish it
    client.post("/admin/file-register/publish", data={"csrf_token": CSRF, "tenant": KUMAMOTO, "published": "1"})
    assert client.get(f"/file-register/{KUMAMOTO}").status_code == 404
    sign_in(client, ["municipal-admin"], [KUMAMOTO], csrf=CSRF)
    assert client.post("/admin/file-register/publish", data={"tenant": KUMAMOTO, "published": "1"}).status_code == 400
    answer = client.post("/admin/file-register/publish", data={"csrf_token": CSRF, "tenant": KUMAMOTO, "published": "1"})
    assert answer.status_code == 302
    db.expire_all()
    record = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "resident.file_register.publish")).one()
    assert record.tenant_code == KUMAMOTO and record.target_id == KUMAMOTO and json.loads(record.after) == {"register_published": True}
    with client.session_transaction() as session:
        session.clear()
    public = client.get(f"/file-register/{KUMAMOTO}")
    text = public.get_data(as_text=True)
    assert public.status_code == 200 and "くらしナビ 連携記録ファイル" in text and "住民共通ID台帳" in text
    assert ME not in text
    sign_in(client, ["municipal-admin"], [KUMAMOTO], csrf=CSRF)
    client.post("/admin/file-register/publish", data={"csrf_token": CSRF, "tenant": KUMAMOTO, "published": "0"})
    assert client.get(f"/file-register/{KUMAMOTO}").status_code == 404
