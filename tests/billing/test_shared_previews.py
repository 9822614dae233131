"""The what-if page's two allocations read the year's municipalities once, and the faster paths
(whole-year members, exact rounding over a common denominator) give the very same yen."""

from __future__ import annotations

import datetime as dt
import math
from fractions import Fraction

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from billing import allocation, allocation_policies, allocation_previews, operations
from billing.ledger_errors import InvalidBillingData
from core.calendar import JST
from tenancy.registry.history import participation_months, record_transition
from tenancy.registry.models import TenantStatus

from .conftest import cost_data, policy_data


def _reference_rounding(parts: list[Fraction], total: int) -> list[int]:
    """The documented rule written out plainly: floor every part, then one yen each to the largest
    fractional parts, ties to the earlier part."""
    rounded = [math.floor(part) for part in parts]
    order = sorted(range(len(parts)), key=lambda index: (-(parts[index] - rounded[index]), index))
    for index in order[:total - sum(rounded)]:
        rounded[index] += 1
    return rounded


@settings(deadline=None, max_examples=300)
@given(st.lists(st.tuples(st.integers(0, 10**9), st.sampled_from([1, 2, 3, 7, 12, 97, 1741, 10**6 + 3])),
                min_size=1, max_size=40),
       st.data())
def test_rounding_gives_the_yen_of_the_documented_rule(pairs, data):
    parts = [Fraction(numerator, denominator) for numerator, denominator in pairs]
    exact_total = sum(parts, Fraction(0))
    total = math.ceil(exact_total) if data.draw(st.booleans()) else math.floor(exact_total)
    total = max(total, sum(math.floor(part) for part in parts))
    assert allocation.round_preserving_total(parts, total) == _reference_rounding(parts, total)


def test_equal_remainders_go_to_the_earlier_part():
    parts = [Fraction(1, 3), Fraction(2, 6), Fraction(4, 12)]  # the same third, written three ways
    assert allocation.round_preserving_total(parts, 1) == [1, 0, 0]


def test_a_member_active_exactly_from_the_first_to_the_last_moment_of_the_year(db, tenant_factory, operator):
    tenant = tenant_factory("432024", status="provisioning")
    record_transition(db, operator, tenant, TenantStatus.active, at=dt.datetime(2025, 4, 1, tzinfo=JST))
    record_transition(db, operator, tenant, TenantStatus.suspended, at=dt.datetime(2026, 4, 1, tzinfo=JST))
    assert [participation_months(db, tenant, year) for year in (2024, 2025, 2026)] == [0, 12, 0]


def _figures(preview):
    return ([(line.code, line.amount, line.exact, dict(line.components), line.months, line.bound)
             for line in preview.result.lines], preview.names, preview.not_sharing, preview.municipalities)


def test_previews_together_equal_previews_alone(db, finance, kumamoto, tenant_factory, operator):
    tenant_factory("432041", population=50_000, status="applied")  # counted only with the applicants
    late = tenant_factory("432067", status="provisioning")
    record_transition(db, operator, late, TenantStatus.active, at=dt.datetime(2025, 12, 10, 9, 0, tzinfo=JST))
    capped = allocation_policies.create_policy(db, finance, policy_data(name="上限つき", floor=100_000, cap=2_000_000))
    operations.create_cost_item(db, finance, cost_data(amount=9_876_543))
    db.commit()
    choices = [(capped, "participating"), (capped, "with_applicants"), (capped, "everyone")]
    together = allocation_previews.preview_allocations(db, finance, 2025, choices)
    alone = [allocation_previews.preview_allocation(db, finance, 2025, capped, members)
             for members in ("participating", "with_applicants")]
    assert [_figures(preview) for preview in together[:2]] == [_figures(preview) for preview in alone]
    assert any(line.bound for line in together[0].result.lines)  # the floor or the cap took part
    assert {line.months for line in together[0].result.lines} >= {4, 12}  # the December joiner pays 4 months
    assert isinstance(together[2], InvalidBillingData)  # an unknown member set is refused on its own
    no_costs = allocation_previews.preview_allocations(db, finance, 2026, choices[:1])
    assert isinstance(no_costs[0], InvalidBillingData) and "2026" in no_costs[0].message_en


def test_the_what_if_page_reads_the_municipalities_once_for_both_sides(client, db, finance, kumamoto, adopted_policy,
                                                                     app):
    from tests.billing.test_finance_views import as_finance

    operations.create_cost_item(db, finance, cost_data())
    db.commit()
    as_finance(client)
    reads = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if "FROM tenant" in statement and "tenant.kind !=" in statement:  # every municipality
            reads.append(statement)

    with app.app_context():
        engine = db.get_bind()
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        page = client.get("/admin/billing/what-if?fy=2025")
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert page.status_code == 200 and "熊本市（431001）" in page.get_data(as_text=True)
    assert len(reads) == 1, reads
