"""The demo's sample year (issue 38): after ``renkei demo``, FY2025 (令和7年度) is there as the office
lived it (costs, a 1/2 grant, an adopted policy, an approved run, its letters and 熊本市's payment),
marked as samples, and finance, the auditor and a municipal admin see it without typing a year.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from admin.cli import DEMO_LOADER
from admin.commands.demo import DEMO_APPROVER
from billing import integrity, ledger, operations
from billing.models import (AllocationPolicy, AllocationRun, CostItem, EntryKind, Grant, JournalEntry, PolicyStatus,
                            RunKind, RunStatus, StatementDocument)
from billing.sample import SAMPLE, SAMPLE_YEAR, load_sample_year
from billing.schemas import CostItemCreate
from core import authz
from core.actor import Actor, console_actor
from core.audit import AuditRecord
from tenancy.registry.sample import WAVE_1, load_kumamoto, load_kumamoto_settings
from tests.conftest import sign_in

AUDITOR = Actor(issuer="urn:test", subject="auditor-1", name="監査委員", roles=frozenset({"auditor"}))
TABLES = (CostItem, Grant, AllocationPolicy, AllocationRun, StatementDocument, JournalEntry, AuditRecord)


def people():
    return console_actor(DEMO_LOADER, {authz.FINANCE}), console_actor(DEMO_APPROVER, {authz.FINANCE})


def demo_year(db):
    """What ``renkei demo`` loads before the sample year, then the sample year, committed."""
    operator = console_actor(DEMO_LOADER, {authz.OPERATOR})
    load_kumamoto(db, operator)
    load_kumamoto_settings(db, operator)
    loaded = load_sample_year(db, *people())
    db.commit()
    return loaded


def counts(db) -> dict[str, int]:
    return {table.__name__: db.scalar(sa.select(sa.func.count()).select_from(table)) for table in TABLES}


@pytest.fixture
def sample_year(db):
    return demo_year(db)


def test_the_sample_year_is_lived_by_two_officers_and_a_second_demo_adds_nothing(db):
    first = demo_year(db)
    assert first.added and first.fiscal_year == 2025 and first.letters == len(WAVE_1) and first.payments == 1
    before = counts(db)
    again = demo_year(db)
    assert not again.added and (again.run_id, again.letters, again.payments) == (first.run_id, first.letters, 1)
    assert counts(db) == before  # nothing entered, numbered, posted or audited twice

    runs = db.scalars(sa.select(AllocationRun).where(AllocationRun.fiscal_year == 2025)).all()
    assert [(run.id, RunKind(run.kind), RunStatus(run.status)) for run in runs] == [
        (first.run_id, RunKind.final, RunStatus.approved)]
    run = runs[0]
    assert run.four_eyes and run.created_by == run.reviewed_by == DEMO_LOADER and run.approved_by == DEMO_APPROVER
    policy = db.get(AllocationPolicy, run.policy_id)
    assert PolicyStatus(policy.status) == PolicyStatus.adopted and policy.created_by == DEMO_LOADER
    assert policy.adopted_by == DEMO_APPROVER  # four eyes: the drafter did not adopt it
    # everything the office reads is marked as a sample
    names = [item.name for item in db.scalars(sa.select(CostItem))] + [grant.name for grant in db.scalars(sa.select(Grant))]
    assert {item.category for item in db.scalars(sa.select(CostItem))} == {"run", "build"}
    assert len(names) == 3 and all(name.endswith(SAMPLE) for name in names + [policy.name])
    assert sorted(document.tenant_code for document in db.scalars(sa.select(StatementDocument))) == sorted(WAVE_1)


def test_the_sample_years_books_balance_and_only_kumamoto_has_paid(db, sample_year):
    report = integrity.check(db, AUDITOR)
    assert report.findings == [] and report.checked["payments against their audit records"] == 1
    trial = ledger.trial_balance(db, fiscal_year=SAMPLE_YEAR)
    assert trial.difference == 0 and trial.total_debit > 0
    charges = dict(db.execute(sa.select(JournalEntry.tenant_code, sa.func.count()).where(
        JournalEntry.kind == EntryKind.charge, JournalEntry.fiscal_year == 2025).group_by(JournalEntry.tenant_code)).all())
    assert set(WAVE_1) <= set(charges)
    assert ledger.tenant_balance(db, "431001", fiscal_year=2025) == 0  # 熊本市 paid its letter in full
    assert all(ledger.tenant_balance(db, code, fiscal_year=2025) > 0 for code in WAVE_1 if code != "431001")
    grant_entries = db.scalar(sa.select(sa.func.count()).select_from(JournalEntry).where(
        JournalEntry.kind == EntryKind.grant, JournalEntry.fiscal_year == 2025))
    assert grant_entries == 1  # the 1/2 grant funds part of the year


def test_a_year_the_office_has_entered_is_left_as_it_is(db):
    operator = console_actor(DEMO_LOADER, {authz.OPERATOR})
    load_kumamoto(db, operator)
    load_kumamoto_settings(db, operator)
    own = Actor(issuer="urn:test", subject="finance-1", name="県 財政担当", roles=frozenset({"finance-officer"}))
    operations.create_cost_item(db, own, CostItemCreate.model_validate(
        {"fiscal_year": 2025, "name": "クラウド利用料", "category": "run", "amount": 1_000_000, "tax_treatment": "taxable_10"}))
    db.commit()
    before = counts(db)
    loaded = load_sample_year(db, *people())
    assert (loaded.added, loaded.run_id, loaded.letters, loaded.payments) == (False, None, 0, 0)
    assert counts(db) == before


def run_link(page: str, run_id: int) -> bool:
    return f'href="/admin/billing/runs/{run_id}/"' in page


def test_finance_lands_on_the_sample_year_with_its_run_and_letters_without_typing_a_year(client, db, sample_year):
    sign_in(client, ["finance-officer"])
    page = client.get("/admin/billing/").get_data(as_text=True)
    assert re.search(r"<h1>[^<]*<small[^>]*>令和7年度", page)  # the year shown with no year chosen
    assert run_link(page, sample_year.run_id) and "承認済み" in page
    assert f"{len(WAVE_1)} 通を発行済み" in page  # the letters, from the year's page
    assert f'href="/admin/billing/documents/runs/{sample_year.run_id}.pdf"' in page
    assert f"クラウド利用料{SAMPLE}" in page and f"基盤構築費（償却分）{SAMPLE}" in page and "内閣府" in page
    run_page = client.get(f"/admin/billing/runs/{sample_year.run_id}/").get_data(as_text=True)
    assert f"{len(WAVE_1)} / {len(WAVE_1)} 通を発行済み" in run_page
    home = client.get("/admin/").get_data(as_text=True)  # the home page: the year's costs, the letters still unpaid
    assert 'href="/admin/billing/?fy=2025"' in home and 'href="/admin/billing/statements/432024/2025/"' in home
    assert "/admin/billing/statements/431001/2025/" not in home  # 熊本市 has paid
    letters = client.get(f"/admin/billing/documents/runs/{sample_year.run_id}.pdf")
    assert letters.status_code == 200 and letters.data.startswith(b"%PDF")


def test_the_auditor_reads_the_sample_year_and_changes_nothing(client, db, sample_year):
    sign_in(client, ["auditor"])
    page = client.get("/admin/billing/").get_data(as_text=True)
    assert run_link(page, sample_year.run_id) and f"{len(WAVE_1)} 通を発行済み" in page
    assert "/admin/billing/runs/new" not in page and "/admin/billing/cost-items/new" not in page
    run_page = client.get(f"/admin/billing/runs/{sample_year.run_id}/").get_data(as_text=True)
    assert f"{len(WAVE_1)} / {len(WAVE_1)} 通を発行済み" in run_page and "/issue" not in run_page
    assert client.get(f"/admin/billing/documents/runs/{sample_year.run_id}.pdf").data.startswith(b"%PDF")


def test_kumamotos_admin_sees_its_own_statement_and_letter_of_the_sample_year_only(client, db, sample_year):
    sign_in(client, ["municipal-admin"], ["431001"])
    page = client.get("/admin/billing/").get_data(as_text=True)
    assert 'href="/admin/billing/statements/431001/2025/"' in page and "432024" not in page
    document = db.scalars(sa.select(StatementDocument).where(StatementDocument.tenant_code == "431001")).one()
    statement = client.get("/admin/billing/statements/431001/2025/").get_data(as_text=True)
    assert document.number in statement and f"口座振込{SAMPLE}" in statement  # its letter and its payment
    assert re.search(r"差引残高（未納額）</th><td[^>]*>0円", statement)  # paid in full
    assert client.get("/admin/billing/documents/431001/2025.pdf").data.startswith(b"%PDF")
    assert client.get("/admin/billing/statements/432024/2025/").status_code == 403
    assert client.get(f"/admin/billing/runs/{sample_year.run_id}/").status_code == 403
    assert client.get(f"/admin/billing/documents/runs/{sample_year.run_id}.pdf").status_code == 403
