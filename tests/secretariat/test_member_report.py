"""The member report to the prefecture (issue 40 item 2, Done-when 2): for a quarter it counts the members
by industry, size and location and those who joined and left exactly as an independent count of the same
generated register; the year's recruitment target (50 unless set) and its progress; xlsx and PDF in Japanese."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import Counter

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from bench.member_files import corporate_number
from core.audit import AuditRecord
from core.errors import Invalid
from secretariat import member_report
from tenancy.members.models import MemberStatus, Organisation, OrganisationKind

DAYS = st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2026, 3, 31))
MEMBER = st.fixed_dictionaries({
    "industry": st.sampled_from(["", "A", "E", "G", "P"]),
    "size_band": st.sampled_from(["", "small", "medium", "large"]),
    "place": st.sampled_from([("熊本県", "431001"), ("熊本県", "432024"), ("熊本県", ""), ("福岡県", "401307")]),
    "joined_on": DAYS,
    "stay_days": st.one_of(st.none(), st.integers(min_value=0, max_value=800)),
})


def _store(db, members: list[dict]) -> None:
    """The register holds exactly ``members`` (uncommitted: the caller rolls them back)."""
    for i, m in enumerate(members):
        left = m["joined_on"] + dt.timedelta(days=m["stay_days"]) if m["stay_days"] is not None else None
        db.add(Organisation(corporate_number=corporate_number(i), name=f"会員{i}", kind=OrganisationKind.company,
                            prefecture=m["place"][0], in_prefecture=m["place"][0] == "熊本県", representative="",
                            contact_name="", contact_email="", status=MemberStatus.withdrawn if left else MemberStatus.approved,
                            industry=m["industry"], size_band=m["size_band"], municipality_code=m["place"][1],
                            joined_on=m["joined_on"], left_on=left))
    db.flush()


def _independent(members: list[dict], start: dt.date, end: dt.date):
    """The same figures counted straight from the generated members, not from the register."""
    def left_on(m):
        return m["joined_on"] + dt.timedelta(days=m["stay_days"]) if m["stay_days"] is not None else None

    current = [m for m in members if m["joined_on"] <= end and (left_on(m) is None or left_on(m) > end)]
    location = Counter(m["place"][0] if m["place"][0] != "熊本県" else m["place"][1] for m in current)
    fy_start = dt.date(end.year if end.month >= 4 else end.year - 1, 4, 1)
    return (len(current), Counter(m["industry"] for m in current), Counter(m["size_band"] for m in current), location,
            sum(1 for m in members if start <= m["joined_on"] <= end),
            sum(1 for m in members if left_on(m) is not None and start <= left_on(m) <= end),
            sum(1 for m in members if fy_start <= m["joined_on"] <= end))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(members=st.lists(MEMBER, max_size=40), quarter=st.sampled_from(["2024-Q1", "2024-Q3", "2024-Q4", "2025-Q2"]))
def test_a_quarter_counts_exactly_what_an_independent_count_finds(db, operator, tenant_factory, members, quarter):
    if not db.scalar(sa.select(sa.func.count()).select_from(sa.table("tenant"))):
        tenant_factory("430005")
    db.rollback()  # the register as the fixture gives it: empty (the previous example's members are rolled back)
    assert not db.scalar(sa.select(sa.func.count()).select_from(Organisation))
    _store(db, members)
    period = member_report.parse_period(quarter)
    report = member_report.build_report(db, operator, period)
    total, industry, size, location, joined, left, year_joined = _independent(members, period.start, period.end)
    assert report.members == total
    assert report.by_industry == {k: v for k, v in industry.items() if v}
    assert report.by_size == {k: v for k, v in size.items() if v}
    assert report.by_location == {k: v for k, v in location.items() if v}
    assert (len(report.joined), len(report.left), report.progress.joined) == (joined, left, year_joined)
    db.rollback()


def test_quarters_months_and_years_are_the_fiscal_years():
    q4 = member_report.parse_period("2025-Q4")
    assert (q4.start, q4.end) == (dt.date(2026, 1, 1), dt.date(2026, 3, 31)) and q4.fiscal_year == 2025
    assert "第4四半期" in q4.label and "令和7年度" in q4.label
    month = member_report.parse_period("2024-02")
    assert (month.start, month.end) == (dt.date(2024, 2, 1), dt.date(2024, 2, 29)) and month.fiscal_year == 2023
    year = member_report.parse_period("FY2026")
    assert (year.start, year.end) == (dt.date(2026, 4, 1), dt.date(2027, 3, 31))
    for bad in ("2026-13", "2026-Q5", "2026", "FY20", ""):
        with pytest.raises(Invalid):
            member_report.parse_period(bad)


def test_the_target_is_fifty_until_the_secretariat_sets_it_and_progress_counts_from_april(db, operator):
    _store(db, [{"industry": "E", "size_band": "small", "place": ("熊本県", "431001"), "joined_on": day, "stay_days": None}
                for day in (dt.date(2025, 3, 31), dt.date(2025, 4, 1), dt.date(2025, 6, 30), dt.date(2025, 7, 1))])
    progress = member_report.build_report(db, operator, member_report.parse_period("2025-Q1")).progress
    assert (progress.target, progress.joined, progress.percent, progress.remaining) == (50, 2, 4, 48)
    member_report.set_recruitment_target(db, operator, 2025, 4)
    progress = member_report.build_report(db, operator, member_report.parse_period("FY2025")).progress
    assert (progress.target, progress.joined, progress.percent) == (4, 3, 75)
    record = db.scalar(sa.select(AuditRecord).where(AuditRecord.action == "member.target"))
    assert record.target_id == "2025" and json.loads(record.after) == {"target": 4}
    with pytest.raises(Invalid):
        member_report.set_recruitment_target(db, operator, 2025, 0)


def test_the_workbook_and_the_pdf_are_in_japanese_and_audited(db, operator, tenant_factory):
    tenant_factory("430005")
    _store(db, [{"industry": "G", "size_band": "medium", "place": ("熊本県", "431001"), "joined_on": dt.date(2024, 5, 1),
                 "stay_days": None},
                {"industry": "E", "size_band": "large", "place": ("福岡県", "401307"), "joined_on": dt.date(2023, 5, 1),
                 "stay_days": 400}])
    period = member_report.parse_period("2024-Q1")
    book = load_workbook(io.BytesIO(member_report.generate(db, operator, period, "xlsx")))
    assert book.sheetnames == ["概要", "業種別", "規模別", "所在地別", "入会", "退会"]
    industries = [[c.value for c in row] for row in book["業種別"].iter_rows(min_row=4)]
    assert industries == [["G", "G 情報通信業", 1]]
    # the size bands in words, never their codes (small, medium, large, not_applicable)
    sizes = [[c.value for c in row] for row in book["規模別"].iter_rows(min_row=4)]
    assert sizes == [["中小企業", "中小企業（従業員300人以下または資本金3億円以下）", 1]]
    places = [[c.value for c in row] for row in book["所在地別"].iter_rows(min_row=4)]
    assert places == [["431001", "熊本市", 1]]
    left = [[c.value for c in row] for row in book["退会"].iter_rows(min_row=4)]
    assert left[0][:3] == [corporate_number(1), "会員1", "2024-06-04"]
    pdf = member_report.generate(db, operator, period, "pdf")
    assert pdf.startswith(b"%PDF")
    formats = [r.after for r in db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "member.report"))]
    assert len(formats) == 2 and all("2024-Q1" in after for after in formats)
