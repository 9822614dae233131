"""The two hot tenant reads (GET by code, a page): what they answer is what the documented
schema says, field for field, contacts included, and the filters still select the right tenants."""

import datetime as dt

from tenancy.registry.schemas import TenantOut

CONTACTS = [
    {"role": "admin", "name": "山田 花子", "department": "情報政策課", "email": "hanako@example.jp", "phone": "096-000-0001"},
    {"role": "billing", "name": "佐藤 \"太郎\"", "department": "", "email": "taro@example.jp", "phone": ""},
]


def _as_schema(tenant) -> dict:
    """The tenant as the schema documents it (pydantic, from the ORM object): independent of the read path."""
    return TenantOut.model_validate(tenant).model_dump(mode="json")


def _comparable(body: dict) -> dict:
    body = dict(body)
    for name in ("created_at", "updated_at"):
        assert body[name].endswith("Z")  # UTC, written with Z
        body[name] = dt.datetime.fromisoformat(body[name].replace("Z", "+00:00"))
    return body


def test_get_by_code_and_a_page_answer_exactly_the_documented_fields(client, db, tenant_factory, as_operator):
    kumamoto = tenant_factory("431001", contacts=CONTACTS)
    yatsushiro = tenant_factory("432024", name_kana="やつしろし", wave_fiscal_year=2025)
    expected = {t.code: _comparable(_as_schema(t)) for t in (kumamoto, yatsushiro)}

    one = client.get("/api/v1/tenants/431001", headers=as_operator)
    assert one.status_code == 200 and one.mimetype == "application/json"
    assert _comparable(one.get_json()) == expected["431001"]
    assert [c["name"] for c in one.get_json()["contacts"]] == ["山田 花子", "佐藤 \"太郎\""]
    assert "山田".encode() in one.data  # Japanese as text, not \\u escapes

    page = client.get("/api/v1/tenants?per_page=100", headers=as_operator).get_json()
    assert set(page) == {"items", "total", "page", "per_page"}
    assert (page["total"], page["page"], page["per_page"]) == (2, 1, 100)
    assert [_comparable(item) for item in page["items"]] == [expected["431001"], expected["432024"]]


def test_filters_and_paging_select_the_right_tenants(client, tenant_factory, as_operator):
    tenant_factory("431001", status="active", wave_fiscal_year=2024)
    tenant_factory("432024", status="applied", wave_fiscal_year=2025)
    tenant_factory("432032", status="active", wave_fiscal_year=2025)

    def codes(query):
        body = client.get(f"/api/v1/tenants?{query}", headers=as_operator).get_json()
        return [item["code"] for item in body["items"]], body["total"]

    assert codes("status=active") == (["431001", "432032"], 2)
    assert codes("wave=2025") == (["432024", "432032"], 2)
    assert codes("status=active&wave=2025") == (["432032"], 1)
    assert codes("kind=designated_city") == (["431001"], 1)
    assert codes("per_page=1&page=2") == (["432024"], 3)
    assert codes("per_page=2&page=9") == ([], 3)
