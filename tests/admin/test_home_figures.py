"""Every figure on every home page equals the count of the list it links to (issue 38 item 3): each
role's home page, in a database seeded with something in every list, each figure followed to its
list and compared with the count that list shows (bench/home_figures.py walks them; at national size
bench/bench_home_figures.py runs the same walk)."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from bench.home_figures import compare
from tests.admin.test_home_pages import (kumamoto, open_proposal, over_quota, overdue_agreement,  # noqa: F401
                                         posted_fy2025)
from tests.conftest import sign_in

# the lists each role's home page must link its figures to (the #id where the list's count is)
EXPECTED = {
    ("platform-operator",): {"awaiting-screening", "provisioning-failures", "board-pages", "quota-alerts",
                             "open-proposals", "open-heading", "unpaid-pages", "current-notices", "pages", "inquiries"},
    ("finance-officer",): {"runs-to-review", "runs-to-approve", "unpaid-pages", "cost-items"},
    ("auditor",): {"list-count", "pages"},
    ("municipal-admin",): {"pages"},
    ("municipal-staff",): {"pages"},
    ("data-provider",): {"pages"},
}
TENANTS = {("municipal-admin",): ("431001",), ("municipal-staff",): ("431001",), ("data-provider",): ("431001",)}


@pytest.fixture
def seeded(db, operator, kumamoto, overdue_agreement, open_proposal, over_quota, posted_fy2025):  # noqa: F811
    """Something in every list: tenants in each state, an overdue agreement, an open vote, a quota
    reached, an identity incident, FY2025 posted and partly paid, a FY2026 run waiting, and the demo's
    33 sample datasets (one withdrawn, one back to draft) at three providers."""
    from catalogue.sample import load_sample_datasets

    created = load_sample_datasets(db, operator)
    from secretariat import inquiries

    for subject in ("遅れた問合せ", "もう一つ遅れた問合せ"):  # received a month ago, due in 3 business days: overdue
        inquiries.record_inquiry(db, operator, inquiries.InquiryDraft(
            inquirer_kind="resident", channel="mail", category="technical", subject=subject, question="？",
            inquirer_name="問合 太郎", email="taro@example.jp"), response_days=3,
            now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=30))
    db.commit()
    assert created
    return created


@pytest.mark.parametrize("roles", list(EXPECTED))
def test_every_figure_on_the_home_page_equals_the_count_of_its_list(client, seeded, roles):
    sign_in(client, roles, TENANTS.get(roles, ()))
    figures = compare(client)
    assert {figure.href.partition("#")[2] for figure in figures} >= EXPECTED[roles]
    disagreeing = [figure for figure in figures if not figure.agrees]
    assert not disagreeing, disagreeing
    assert any(figure.shown for figure in figures)  # not only zeros: the seed puts something in the lists


def test_a_figure_past_the_first_page_of_its_list_still_agrees(client, db, seeded):
    """More applications than the board lists: the home figure is their number, and the board's count
    of them (which lists the first 50) says the same."""
    from tests.admin.test_home_pages import _add_tenants

    _add_tenants(db, 120)  # a quarter of them applied: more than a page of applications awaiting screening
    sign_in(client, ["platform-operator"])
    figures = {figure.href.partition("#")[2]: figure for figure in compare(client)}
    assert figures["awaiting-screening"].shown > 50  # the board lists the first 50 and counts them all
    assert all(figure.agrees for figure in figures.values()), figures


def _chart_rows(page: str, key: str) -> list[tuple[str, str, str]]:
    table = page[page.index(f'id="{key}-table"'):]
    table = table[:table.index("</table>")]
    return re.findall(r'<tr><th scope="row"><a href="([^"]+)">([^<]+)</a></th><td class="text-right">([^<]+)</td></tr>', table)


def test_finance_sees_what_is_still_owed_per_year_as_the_unpaid_statements_add_up(client, seeded):
    """FY2025 posted and partly paid: the chart's year is the sum of the balances the finance page
    lists as unpaid (熊本市 3,075,000 yen, 八代市 950,000 after its payment, and the others)."""
    sign_in(client, ["finance-officer"])
    rows = _chart_rows(client.get("/admin/").get_data(as_text=True), "chart-outstanding")
    listed = client.get("/admin/billing/").get_data(as_text=True)
    unpaid = listed[listed.index('id="unpaid-h"'):listed.index('id="policy-h"')]
    balances = [int(n.replace(",", "")) for n in re.findall(r"令和7年度: ([\d,]+)円", unpaid)]
    assert "熊本市（431001） 令和7年度: 3,075,000円" in unpaid and "八代市（432024） 令和7年度: 950,000円" in unpaid
    assert rows == [("/admin/billing/?fy=2025", "令和7年度", f"{sum(balances):,}円")]


def test_the_usage_chart_shows_this_months_calls_as_the_usage_page_totals_them(client, seeded):
    """熊本市 made 1,500 API calls this month (over_quota): this month's bar, linking to the month's usage page."""
    from core.calendar import current_month

    sign_in(client, ["platform-operator"])
    rows = _chart_rows(client.get("/admin/").get_data(as_text=True), "chart-usage")
    month = current_month()
    href, label, figure = rows[-1]
    assert label == f"{month.month}月" and figure == "1,500"
    assert html.unescape(href) == f"/admin/usage/?month={month:%Y-%m}&metric=api_calls"
    assert all(figure == "0" for _href, _label, figure in rows[:-1])


def test_the_audit_lists_recent_records_only_for_the_home_pages_period(client, seeded):
    """``?recent=30`` is the home figure's list; another period is refused (400), never ignored."""
    sign_in(client, ["auditor"])
    assert client.get("/admin/audit/?recent=7").status_code == 400
    page = client.get("/admin/audit/?recent=30").get_data(as_text=True)
    assert "直近30日間の記録" in page and 'href="/admin/audit/"' in page  # says so, and leads back to every record
