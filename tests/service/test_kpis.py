"""The grant's results report (実績報告, issue 57 item 7): each indicator's figure on the 実績報告 sheet (the workbook
as the grantor receives it) and on the page equals what the page that shows it to users gives.

The running year is seeded with a different count per indicator (3 municipalities and the prefecture, 2 approved
data services and one awaiting approval, 4 published datasets and a draft, 6,234 API calls, 5 members, 6 enrolled
residents), so a figure taken from the wrong records, or a column swapped, fails.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from core.audit import AuditRecord
from core.calendar import fiscal_year_of, today_jst
from service.models import Kpi
from tests.conftest import record_usages, sign_in
from tests.consent.conftest import consent_setup  # noqa: F401  (fixture: the two cities, the levels, a service maker)

CSRF = "k" * 32
FINANCE, AUDITOR = ("finance-officer",), ("auditor",)


@pytest.fixture
def year() -> int:
    """The running fiscal year."""
    return fiscal_year_of(today_jst())


@pytest.fixture
def seeded(db, operator, tenant_factory, consent_setup, keys, year):  # noqa: F811
    """The running year's records: a different count per indicator."""
    from bench.member_files import as_csv, member_rows
    from catalogue import operations as datasets
    from residents import operations as residents
    from secretariat import members_import
    from tests.datasets.conftest import KUMAMOTO_ADMIN, draft
    from tests.residents.conftest import desk, person

    tenant_factory("432032")  # 人吉市: with 熊本市 and 八代市, three municipalities
    tenant_factory("430005")  # the prefecture takes part, and is no municipality
    consent_setup()
    consent_setup(name="見守りサービス")
    consent_setup(name="承認待ちのサービス", approve=False)
    for number in range(5):
        dataset = datasets.register(db, KUMAMOTO_ADMIN, draft(title_ja=f"AED設置箇所一覧 {number}"))
        if number < 4:  # the fifth stays a draft
            dataset.status, dataset.published_at = "published", dt.datetime.now(dt.timezone.utc)
    record_usages(db, [("431001", "api_calls", 1_234, None), ("432024", "api_calls", 5_000, None),
                       ("431001", "broker_entities", 777, None)])  # another metric is no API call
    members_import.import_file(db, operator, as_csv(member_rows(5), "utf-8"))
    for number in range(6):
        residents.enrol(db, desk(), keys, person(full_name=f"住民 {number:02d}", birth_date=f"1980-01-{number + 1:02d}"))
    db.commit()
    return year


@pytest.fixture
def keys():
    from residents.crypto import new_key_entry, parse_keys

    return parse_keys(new_key_entry("k1"))


def sheet_figures(client, year: int) -> dict[str, list]:
    """The 実績報告 sheet of the downloaded workbook: indicator → [単位, 目標値, 実績値, 達成率]."""
    response = client.get(f"/admin/kpis/{year}.xlsx")
    assert response.status_code == 200, response.get_data(as_text=True)
    sheet = load_workbook(io.BytesIO(response.data))["実績報告"]
    return {row[0]: list(row[1:5]) for row in sheet.iter_rows(min_row=4, values_only=True)}


def page_actual(client, year: int, kpi: Kpi) -> str:
    html = client.get(f"/admin/kpis/?fy={year}").get_data(as_text=True)
    row = re.search(rf'<tr data-kpi="{kpi.value}">(.*?)</tr>', html, re.S).group(1)
    return re.search(r'data-actual="([^"]*)"', row).group(1)


def assert_sheet_and_page_show(client, year: int, kpi: Kpi, expected: int) -> None:
    sign_in(client)
    assert sheet_figures(client, year)[kpi.ja][2] == expected
    assert page_actual(client, year, kpi) == str(expected)


def test_municipalities_are_the_annual_reports(client, db, operator, seeded, year):
    from billing import annual_report

    shown = annual_report.build_annual_report(db, operator, year).municipalities
    assert shown == 3
    assert_sheet_and_page_show(client, seeded, Kpi.municipalities, shown)


def test_services_are_the_consent_services_pages_approved_list(client, db, operator, seeded, year):
    from residents.consent import operations as consent
    from residents.consent.models import ServiceStatus

    shown = len(consent.list_services(db, operator, status=ServiceStatus.approved))
    assert shown == 2
    assert_sheet_and_page_show(client, seeded, Kpi.services, shown)


def test_datasets_are_the_registers_published_count(client, db, operator, seeded, year):
    from catalogue import operations as datasets
    from catalogue.models import DatasetStatus

    shown = datasets.status_counts(db, operator)[DatasetStatus.published]
    assert shown == 4
    assert_sheet_and_page_show(client, seeded, Kpi.datasets, shown)


def test_api_calls_are_the_usage_pages_months_added_up(client, db, operator, seeded, year):
    from usage import reports

    shown = sum(calls for _month, calls in reports.months_of_year(db, operator, year, "api_calls"))
    assert shown == 6_234
    assert_sheet_and_page_show(client, seeded, Kpi.api_calls, shown)


def test_members_are_the_member_reports(client, db, operator, seeded, year):
    from secretariat import member_report

    shown = member_report.build_report(db, operator, member_report.parse_period(f"FY{year}")).members
    assert shown == 5
    assert_sheet_and_page_show(client, seeded, Kpi.members, shown)


def test_residents_are_the_policy_figures_enrolments(client, db, seeded, year):
    from residents import figures
    from tests.residents.conftest import desk

    numbers = figures.policy_figures(db, desk(), "431001", fiscal_year=year, threshold=1)
    shown = numbers["enrolments"]["total"]["value"]
    assert shown == 6
    assert_sheet_and_page_show(client, seeded, Kpi.residents, shown)


def test_the_operator_sets_targets_in_the_form_and_the_change_is_audited(client, db, year):
    sign_in(client, csrf=CSRF)
    page = client.get(f"/admin/kpis/?fy={year}").get_data(as_text=True)
    assert "未設定" in page and "0.0%" not in page
    refused = client.post("/admin/kpis/targets", data={"csrf_token": CSRF, "fiscal_year": str(year),
                                                        "municipalities": "０", "members": "たくさん"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'id="members-error"' in html and 'id="municipalities-error"' in html and 'value="たくさん"' in html
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord).where(AuditRecord.action == "kpi.target")) == 0

    saved = client.post("/admin/kpis/targets", data={"csrf_token": CSRF, "fiscal_year": str(year),
                                                      "municipalities": "２１", "api_calls": "1,000,000"})
    assert saved.status_code == 302
    figures = sheet_figures(client, year)
    assert figures[Kpi.municipalities.ja][1] == 21 and figures[Kpi.api_calls.ja][1] == 1_000_000
    assert figures[Kpi.municipalities.ja][3] == "0.0%"  # measured: none took part
    assert figures[Kpi.members.ja][1:4:2] == ["未設定", "未設定"]
    record = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "kpi.target")).one()
    assert json.loads(record.before)["targets"] == {}
    assert json.loads(record.after)["targets"] == {"municipalities": 21, "api_calls": 1_000_000}

    # a blank box takes the target away
    client.post("/admin/kpis/targets", data={"csrf_token": CSRF, "fiscal_year": str(year), "municipalities": "21"})
    assert sheet_figures(client, year)[Kpi.api_calls.ja][1] == "未設定"


def test_finance_and_the_auditor_read_and_may_not_set_targets(client, db, year):
    for roles in (FINANCE, AUDITOR):
        sign_in(client, roles, csrf=CSRF)
        page = client.get(f"/admin/kpis/?fy={year}").get_data(as_text=True)
        assert 'id="kpis"' in page and 'action="/admin/kpis/targets"' not in page
        refused = client.post("/admin/kpis/targets", data={"csrf_token": CSRF, "fiscal_year": str(year),
                                                            "municipalities": "21"})
        assert refused.status_code == 403
    sign_in(client, ("municipal-admin",), ("431001",))
    assert client.get(f"/admin/kpis/?fy={year}").status_code == 403


def test_a_year_not_begun_is_not_measured(client, db, year):
    sign_in(client, csrf=CSRF)
    client.post("/admin/kpis/targets", data={"csrf_token": CSRF, "fiscal_year": str(year + 1), "members": "60"})
    figures = sheet_figures(client, year + 1)
    assert figures[Kpi.members.ja] == ["者", 60, "未計測", "未計測"]
    assert figures[Kpi.residents.ja] == ["人", "未設定", "未計測", "未設定"]


def test_the_pdf_is_the_sheet_in_a4_with_the_era_year(db, operator, tmp_path, year):
    from core.calendar import fiscal_year_ja
    from service import kpis
    from tests.billing.test_statement_documents import pdf_page_size, pdf_text

    kpis.set_targets(db, operator, year, {"datasets": 40})
    pdf = kpis.generate(db, operator, year, "pdf")
    assert "(A4)" in pdf_page_size(pdf, tmp_path)
    text = pdf_text(pdf, tmp_path)
    assert f"{fiscal_year_ja(year)} 連携基盤共同利用事業 実績報告書（成果指標）" in text
    line = next(line for line in text.splitlines() if "公開データセット数" in line)
    assert "40" in line and "0.0%" in line
    assert next(line for line in text.splitlines() if "登録住民数" in line).count("未設定") == 2
    record = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "report.results.generate")).one()
    assert json.loads(record.after)["format"] == "pdf"
