"""The secretariat's members list: paged, searchable, exported as CSV and xlsx with municipalities'
derived corporate numbers and with typed formulas neutralised; refused to a municipal admin."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from tests.conftest import sign_in


def test_the_list_pages_and_searches(client, applied, tenant_factory):
    tenant_factory("431001")
    applied()
    sign_in(client)
    page = client.get("/admin/members/").get_data(as_text=True)
    assert "9000020431001" in page and "7000012050002" in page and "くまもとデータ株式会社" in page
    found = client.get("/admin/members/?q=くまもとデータ").get_data(as_text=True)
    assert "7000012050002" in found and "9000020431001" not in found
    assert client.get("/admin/members/?page=0").status_code == 400


def test_csv_and_xlsx_hold_everyone_and_neutralise_formulas(client, applied, tenant_factory):
    tenant_factory("431001")
    applied(name="=HYPERLINK(\"http://evil\")")
    sign_in(client)
    rows = list(csv.reader(io.StringIO(client.get("/admin/members/export.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "法人番号"
    by_number = {row[0]: row for row in rows[1:]}
    assert by_number["9000020431001"][6] == "431001"
    assert by_number["7000012050002"][1].startswith("'=")
    book = load_workbook(io.BytesIO(client.get("/admin/members/export.xlsx").data))
    values = [[cell.value for cell in row] for row in book.active.iter_rows()]
    assert {row[0] for row in values[1:]} == {"9000020431001", "7000012050002"}


def test_a_municipal_admin_gets_no_members_page(client, applied):
    applied()
    sign_in(client, ["municipal-admin"], ["431001"])
    assert client.get("/admin/members/").status_code == 403
    assert client.get("/admin/members/export.csv").status_code == 403


def test_the_public_form_is_japanese_labelled_and_needs_no_account(client):
    page = client.get("/join/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and '<html lang="ja">' in text
    for field in ("corporate_number", "name", "kind", "prefecture", "representative", "contact_name", "contact_email"):
        assert f'<label for="{field}">' in text
    assert client.post("/join/", data={"corporate_number": "7000012050002"}).status_code == 400  # no CSRF token


def test_an_organisation_admin_sees_only_its_own_record(client, applied, db, tenant_factory):
    import sqlalchemy as sa

    from tenancy.members.models import MemberStatus, Organisation

    tenant_factory("431001")
    applied()
    applied("9000012050099", name="別会社株式会社", email="other@example.jp")
    db.scalar(sa.select(Organisation).where(Organisation.corporate_number == "7000012050002")).status = MemberStatus.approved
    db.commit()
    sign_in(client, ["org-admin"], ["7000012050002"])
    assert client.get("/admin/").status_code == 200
    page = client.get("/admin/members/").get_data(as_text=True)
    assert "7000012050002" in page and "9000012050099" not in page and "9000020431001" not in page
    assert client.get("/admin/members/9000012050099").status_code == 403
    assert client.get("/admin/tenants/").status_code == 403


def test_hostile_form_input_is_refused_in_words_not_500(client):
    client.get("/join/")
    with client.session_transaction() as session:
        token = session["csrf"]
    response = client.post("/join/", data={"csrf_token": token, "corporate_number": "７０００01205000２" * 50,
                                           "name": "x" * 5000, "kind": "<script>", "prefecture": "火星",
                                           "contact_email": "a@b"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "13桁" in text and "<script>" not in text
    assert client.get("/join/confirm/" + "A" * 3000).status_code == 404
