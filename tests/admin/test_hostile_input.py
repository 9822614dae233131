"""Hostile requests (issue 14): each gets a 4xx application/problem+json naming the field, never a 500.

Runs on SQLite and, with RENKEI_TEST_DATABASE_URL, on PostgreSQL (where 2^31 ids and NUL bytes
used to fail). Most tests use the development-open API (the operator, no token); the usage and
token tests use the session's Keycloak.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import time
import urllib.request

import pytest
import sqlalchemy as sa

from tenancy.registry.models import Tenant
from tests.usage.conftest import JST

PROBLEM = "application/problem+json"


def problem_of(response, status: int | tuple[int, ...]) -> dict:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["detail_en"] and body["detail_ja"] and body["detail_en"] != body["detail_ja"]
    return body


def fields(body: dict) -> set[str]:
    return {item["field"] for item in body["errors"]}


def tenant_body(**fields_):
    return {"code": "431001", "name_ja": "熊本市", "name_en": "Kumamoto", "kind": "city", "population": 730000,
            **fields_}


# --- integers in paths and queries -------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/api/v1/billing/runs/2147483648",
    "/api/v1/billing/runs/99999999999999999999999",
    "/api/v1/billing/policies/2147483648",
    "/api/v1/council/proposals/9223372036854775808",
])
def test_an_id_beyond_the_database_range_is_a_404_problem(open_api, path):
    problem_of(open_api.get(path), 404)


def test_every_api_operation_reads_its_query_and_body_by_the_edges_rules(app):
    """flask-openapi3's own readers are lenient (``?page=1.0``, ``"7"`` for 7); every API blueprint
    and the app itself build their views through admin.edge's strict readers instead."""
    from flask_openapi3 import APIBlueprint

    from admin.edge import StrictAPIBlueprint, StrictOpenAPI

    assert isinstance(app, StrictOpenAPI)
    api = [blueprint for blueprint in app.blueprints.values() if isinstance(blueprint, APIBlueprint)]
    assert api and all(isinstance(blueprint, StrictAPIBlueprint) for blueprint in api), \
        [blueprint.name for blueprint in api if not isinstance(blueprint, StrictAPIBlueprint)]


def test_full_width_digits_are_not_an_id(open_api):
    problem_of(open_api.get("/api/v1/billing/runs/１"), 404)


@pytest.mark.parametrize("query, field", [
    ("page=2147483648", "page"),
    ("page=１", "page"),
    ("per_page=%2B5", "per_page"),
    ("from=0001-01-01", "from"),
    ("to=0", "to"),
    ("to=20250401", "to"),
])
def test_query_integers_and_dates_are_exact_and_bounded(open_api, query, field):
    body = problem_of(open_api.get(f"/api/v1/audit/records?{query}"), 422)
    assert fields(body) == {field}


def test_a_date_within_the_supported_years_is_still_read(open_api):
    today = dt.datetime.now(JST).date().isoformat()
    assert open_api.get(f"/api/v1/audit/records?from={today}&to={today}").status_code == 200


# --- JSON bodies -------------------------------------------------------------------------------

def test_a_body_nested_a_thousand_deep_is_a_400(open_api):
    deep = '{"a":' * 1000 + "1" + "}" * 1000
    problem_of(open_api.post("/api/v1/tenants", data=deep, content_type="application/json"), 400)


def test_duplicate_keys_are_refused_naming_the_key(open_api, db):
    raw = json.dumps(tenant_body())[:-1] + ', "population": 1}'
    body = problem_of(open_api.post("/api/v1/tenants", data=raw, content_type="application/json"), 400)
    assert fields(body) == {"population"}
    assert db.scalar(sa.select(sa.func.count()).select_from(Tenant)) == 0


def test_a_refused_value_under_a_key_of_a_lone_surrogate_is_a_422_in_utf_8_not_a_500(open_api, db):
    raw = json.dumps(tenant_body())[:-1] + ', "\\ud800": "\\u0007"}'
    answer = open_api.post("/api/v1/tenants", data=raw, content_type="application/json")
    body = problem_of(answer, 422)
    answer.get_data().decode("utf-8")  # UTF-8 that any client reads: the lone surrogate written as its JSON escape
    assert "\ud800" in fields(body)
    assert db.scalar(sa.select(sa.func.count()).select_from(Tenant)) == 0


@pytest.mark.parametrize("value", [False, "7", 7.5])
def test_a_quota_limit_must_be_a_real_integer(open_api, tenant_factory, value):
    tenant_factory("431001")
    answer = open_api.put("/api/v1/tenants/431001/quota-override",
                          json={"metric": "api_calls", "limit": value, "enforcement": "hard"})
    body = problem_of(answer, 422)
    assert fields(body) == {"limit"}
    now = open_api.get("/api/v1/tenants/431001/usage").get_json()
    assert "hard" not in json.dumps(now)  # no hard limit of 0 (or 7) was set


@pytest.mark.parametrize("name, code", [("熊本\x00市", "U+0000"), ("熊本\x07市", "U+0007"), ("熊本\n市", "U+000A")])
def test_a_tenant_name_with_nul_or_control_characters_is_refused(open_api, db, name, code):
    body = problem_of(open_api.post("/api/v1/tenants", json=tenant_body(name_ja=name)), 422)
    assert fields(body) == {"name_ja"}
    assert code in body["errors"][0]["message_en"] and code in body["errors"][0]["message_ja"]
    assert db.scalar(sa.select(sa.func.count()).select_from(Tenant)) == 0


def test_a_nul_byte_in_a_query_or_path_is_refused(open_api):
    problem_of(open_api.get("/api/v1/tenants/43100%00"), 422)
    body = problem_of(open_api.get("/api/v1/tenants?q=%00"), 422)
    assert fields(body) == {"q"}


@pytest.mark.parametrize("query", [b"page=\xff", b"x=\xed\xa0\x80", b"q=\xc3"])
def test_a_query_string_of_raw_bytes_that_are_no_utf8_is_a_400(open_api, query):
    """Raw bytes in the request target (a server passes them on as they came): werkzeug cannot read
    them as text; the edge says so instead of a 500."""
    response = open_api.get("/api/v1/tenants", environ_overrides={"QUERY_STRING": query.decode("latin-1")})
    body = problem_of(response, 400)
    assert "UTF-8" in body["detail_en"] and "UTF-8" in body["detail_ja"]


@pytest.mark.parametrize("path", ["/admin/", "/admin/tenants/", "/join/", "/catalog.ttl", "/catalog", "/catalogue/themes",
                                  "/api/3/action/package_search"])
def test_a_page_asked_with_raw_bytes_that_are_no_utf8_is_a_400_not_a_500(client, path):
    """The same outside the API: the locale and the page read the query, so the request is refused
    before anything reads it, with the layout's page (or the catalogue's own 400)."""
    response = client.get(path, environ_overrides={"QUERY_STRING": "q=\xff\xfe&lang=ja"})
    assert response.status_code == 400
    if path.startswith(("/admin", "/join")):
        page = response.get_data(as_text=True)
        assert '<html lang="ja"' in page and "</nav>" in page


def test_a_query_id_beyond_the_integer_column_is_refused_naming_it(open_api):
    body = problem_of(open_api.get("/api/v1/billing/ledger/entries?run_id=2147483648"), 422)
    assert fields(body) == {"run_id"}


def test_a_number_beyond_any_column_is_refused_naming_it(open_api):
    body = problem_of(open_api.post("/api/v1/tenants", json=tenant_body(population=2**64)), 422)
    assert fields(body) == {"population"}


# --- tokens ------------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_an_es256_token_naming_the_realms_rsa_key_is_a_401(client, keycloak_settings):
    from cryptography.hazmat.primitives.asymmetric import ec, utils
    from cryptography.hazmat.primitives import hashes

    certs = f"{keycloak_settings.url}/realms/{keycloak_settings.realm}/protocol/openid-connect/certs"
    with urllib.request.urlopen(certs, timeout=10) as answer:
        keys = json.load(answer)["keys"]
    rsa_kid = next(key["kid"] for key in keys if key["kty"] == "RSA" and key.get("use", "sig") == "sig")
    now = int(time.time())
    header = _b64(json.dumps({"alg": "ES256", "typ": "JWT", "kid": rsa_kid}).encode())
    claims = _b64(json.dumps({"iss": "x", "sub": "x", "aud": "x", "iat": now, "exp": now + 60}).encode())
    key = ec.generate_private_key(ec.SECP256R1())
    r, s = utils.decode_dss_signature(key.sign(f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256())))
    token = f"{header}.{claims}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
    problem_of(client.get("/api/v1/tenants", headers={"Authorization": f"Bearer {token}"}), 401)


# --- exports -------------------------------------------------------------------------------------

def test_a_stored_name_with_a_formula_and_a_control_character_breaks_no_export(open_api, db, tenant_factory):
    from openpyxl import load_workbook

    from tenancy.registry.importing import export_csv

    tenant_factory("431001")
    tenant_factory("432024")
    hostile = '=HYPERLINK("http://example.invalid","八代")\x07市'
    db.execute(sa.update(Tenant).where(Tenant.code == "432024").values(name_ja=hostile))  # as stored before the rule
    db.commit()
    month = dt.datetime.now(JST).strftime("%Y-%m")
    xlsx = open_api.get(f"/api/v1/usage/report?month={month}&format=xlsx")
    assert xlsx.status_code == 200
    cells = {value for row in load_workbook(io.BytesIO(xlsx.data)).worksheets[0].iter_rows(values_only=True)
             for value in row}
    assert "'" + hostile.replace("\x07", "\ufffd") in cells
    csv_text = open_api.get(f"/api/v1/usage/report?month={month}&format=csv").get_data(as_text=True)
    assert "'=HYPERLINK" in csv_text and "\x07" not in csv_text
    registry = export_csv(db.scalars(sa.select(Tenant)).all()).decode("utf-8-sig")
    assert "'=HYPERLINK" in registry and "\x07" not in registry


def test_every_csv_download_names_one_charset(open_api, client, db, tenant_factory):
    """``text/csv; charset=utf-8; charset=utf-8`` was answered: Werkzeug adds the charset to a text/*
    mimetype that already carried one. The API's and the pages' CSV files say it once."""
    from tests.conftest import sign_in

    tenant_factory("431001")
    month = dt.datetime.now(JST).strftime("%Y-%m")
    answers = [open_api.get(f"/api/v1/usage/report?month={month}&format=csv")]
    sign_in(client, ["platform-operator"])
    answers += [client.get(path) for path in (f"/admin/usage/report.csv?month={month}",
                                              f"/admin/usage/datasets.csv?month={month}",
                                              "/admin/members/export.csv")]
    for answer in answers:
        assert answer.status_code == 200, answer.request.path
        assert answer.headers["Content-Type"] == "text/csv; charset=utf-8", answer.request.path


@pytest.mark.parametrize("field", ["name_ja", "name_en"])
def test_a_tenant_name_with_a_right_to_left_override_is_refused(open_api, field):
    """U+202E shows "市本熊" reversed; a name holding it (or any format character) is a 422 naming it."""
    body = problem_of(open_api.post("/api/v1/tenants", json=tenant_body(**{field: "Kuma\u202emoto"})), 422)
    assert fields(body) == {field}
    assert "U+202E" in body["errors"][0]["message_en"] and "U+202E" in body["errors"][0]["message_ja"]
