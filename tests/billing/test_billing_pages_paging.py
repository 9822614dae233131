"""At national size the run's page, the year's page and the what-if comparison list 50 tenants a
page, and a search by code or name finds a tenant beyond the first page (issue #12)."""

from __future__ import annotations

import datetime as dt
import re

from billing import allocation_runs, operations
from billing.models import AllocationRun
from tests.conftest import sign_in

from .conftest import colleague, cost_data


def _add_tenants(db, count: int) -> list[str]:
    from core.codes import with_check_digit
    from tenancy.registry.models import Tenant, TenantKind, TenantStatus

    codes = [with_check_digit(f"{47000 + n:05d}") for n in range(count)]
    db.add_all([Tenant(code=code, name_ja=f"試験町{n:03d}", name_en=f"Test {n:03d}", kind=TenantKind.town,
                       population=1000 + n, status=TenantStatus.active, wave_fiscal_year=2024)
                for n, code in enumerate(codes)])
    db.commit()
    return codes


def _posted_run(db, finance) -> AllocationRun:
    operations.create_cost_item(db, finance, cost_data(amount=12_000_000))
    run = allocation_runs.create_run(db, finance, 2025)
    allocation_runs.review_run(db, colleague(2), run.id)
    allocation_runs.approve_run(db, colleague(3, "県 財政課長"), run.id, posted_on=dt.date(2025, 7, 31))
    db.commit()
    return run


def _listed(page: str, table: str) -> list[str]:
    body = re.search(rf'<table[^>]*id="{table}".*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    return sorted(set(re.findall(r"\b(47\d{4})\b", body)))


def test_a_run_page_lists_fifty_shares_a_page_and_finds_one_beyond(client, db, finance, kumamoto, adopted_policy):
    codes = _add_tenants(db, 60)
    run = _posted_run(db, finance)
    sign_in(client, ["finance-officer"])
    first = client.get(f"/admin/billing/runs/{run.id}/").get_data(as_text=True)
    shown = _listed(first, "lines")
    assert 40 <= len(shown) < 60 and codes[-1] not in shown  # 3 Kumamoto members come first by code... then 47xxxx
    assert "次へ" in first
    found = client.get(f"/admin/billing/runs/{run.id}/?q=試験町059").get_data(as_text=True)
    assert _listed(found, "lines") == [codes[59]]
    assert codes[59] in _listed(found, "entries")  # the journal of the same search: its receivable
    second = client.get(f"/admin/billing/runs/{run.id}/?page=2").get_data(as_text=True)
    assert codes[-1] in _listed(second, "lines")


def test_the_year_page_pages_the_statements_and_finds_one_beyond(client, db, finance, kumamoto, adopted_policy):
    codes = _add_tenants(db, 60)
    _posted_run(db, finance)
    sign_in(client, ["finance-officer"])
    first = client.get("/admin/billing/?fy=2025").get_data(as_text=True)
    assert codes[-1] not in _listed(first, "summary") and "次へ" in first
    found = client.get("/admin/billing/?fy=2025&q=試験町059").get_data(as_text=True)
    assert _listed(found, "summary") == [codes[59]] and _listed(found, "trial-balance") == [codes[59]]


def test_the_what_if_comparison_pages_its_rows_and_finds_one_beyond(client, db, finance, kumamoto, adopted_policy):
    codes = _add_tenants(db, 60)
    operations.create_cost_item(db, finance, cost_data(amount=12_000_000))
    db.commit()
    sign_in(client, ["finance-officer"])
    first = client.get("/admin/billing/what-if?fy=2025").get_data(as_text=True)
    assert codes[-1] not in _listed(first, "comparison") and "次へ" in first
    found = client.get("/admin/billing/what-if?fy=2025&q=試験町059").get_data(as_text=True)
    assert _listed(found, "comparison") == [codes[59]]
