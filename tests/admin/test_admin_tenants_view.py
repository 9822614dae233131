"""/admin tenants list: search by name or code, filter by status, Japanese by default."""

import re

import pytest

from tests.conftest import sign_in


def codes_in(page):
    return set(re.findall(r">\s*(43\d{4})\s*<", page))


def test_search_by_name_and_by_code(client, tenant_factory):
    for code in ("430005", "431001", "432024", "432032"):
        tenant_factory(code)
    sign_in(client, ["platform-operator"])
    assert codes_in(client.get("/admin/tenants/?search=八代").get_data(as_text=True)) == {"432024"}
    assert codes_in(client.get("/admin/tenants/?search=431001").get_data(as_text=True)) == {"431001"}
    assert codes_in(client.get("/admin/tenants/?search=Hitoyoshi").get_data(as_text=True)) == {"432032"}


def status_equals_arg(app) -> str:
    view = next(v for v in app.extensions["admin"][0]._views if getattr(v, "endpoint", "") == "tenants")
    with app.test_request_context("/?lang=en"):
        index = next(i for i, f in enumerate(view._filters) if f.column.name == "status" and str(f.operation()) == "equals")
    return f"flt0_{index}"


def test_filter_by_status(app, client, tenant_factory):
    tenant_factory("431001", status="active")
    tenant_factory("432059", status="applied")
    tenant_factory("434035", status="applied")
    sign_in(client, ["platform-operator"])
    page = client.get("/admin/tenants/").get_data(as_text=True)
    assert "申請受付" in page and "利用中" in page
    arg = status_equals_arg(app)
    assert codes_in(client.get(f"/admin/tenants/?{arg}=applied").get_data(as_text=True)) == {"432059", "434035"}
    assert codes_in(client.get(f"/admin/tenants/?{arg}=active").get_data(as_text=True)) == {"431001"}


def test_fiscal_years_are_shown_as_era_years(client, tenant_factory):
    tenant_factory("431001", wave_fiscal_year=2024)
    sign_in(client, ["platform-operator"])
    page = client.get("/admin/tenants/").get_data(as_text=True)
    assert "令和6年度" in page
    english = client.get("/admin/tenants/?lang=en").get_data(as_text=True)
    assert "FY2024" in english


@pytest.mark.parametrize("wave,era", [(2010, "平成22年度"), (2019, "令和元年度"), (1989, "平成元年度")])
def test_a_wave_in_heisei_or_in_the_first_year_of_reiwa_is_named_rightly(client, tenant_factory, wave, era):
    tenant_factory("431001", wave_fiscal_year=wave)
    sign_in(client, ["platform-operator"])
    page = client.get("/admin/tenants/").get_data(as_text=True)
    assert era in page
