"""The demo's letters: Kumamoto's sample municipalities, the demo's settings, this fiscal year's run.

What the README's demo gives a finance officer who enters a year's costs and runs the allocation:
熊本市's letter is one A4 page that carries its number, deadline and where to pay, with the
ledger's figures; the batch has one page per municipality that shares the year.
"""

from __future__ import annotations

import sqlalchemy as sa

from billing import allocation_policies, allocation_runs, documents, ledger, operations
from billing.models import AllocationRunLine
from billing.schemas import CostItemCreate, PolicyCreate
from core.actor import Actor, console_actor
from core import authz
from core.calendar import fiscal_year_of, today_jst
from tenancy.registry.sample import WAVE_1, load_kumamoto, load_kumamoto_settings
from tests.billing.test_statement_documents import pdf_pages, pdf_text


def test_the_demos_letters_are_one_a4_page_each_with_the_ledgers_figures(db, tmp_path):
    loader = console_actor("demo", {authz.OPERATOR})
    load_kumamoto(db, loader)
    load_kumamoto_settings(db, loader)
    finance = [Actor(issuer="urn:test", subject=f"finance-{n}", name=f"県 財政担当{n}", roles=frozenset({"finance-officer"}))
               for n in (1, 2, 3)]
    year = fiscal_year_of(today_jst())
    for name, category, amount in (("クラウド利用料", "run", 7_600_000), ("基盤構築費（償却分）", "build", 2_000_000)):
        operations.create_cost_item(db, finance[0], CostItemCreate(fiscal_year=year, name=name, category=category,
                                                                   amount=amount, tax_treatment="taxable_10"))
    policy = allocation_policies.create_policy(db, finance[0], PolicyCreate(
        name="共同利用負担金の按分", prefecture_share="1/2",
        components=[{"basis": "equal", "weight": "1/2"}, {"basis": "population", "weight": "1/2"}]))
    allocation_policies.adopt_policy(db, finance[2], policy.id)  # four eyes: not the drafter
    run = allocation_runs.create_run(db, finance[0], year)
    allocation_runs.review_run(db, finance[1], run.id)
    allocation_runs.approve_run(db, finance[2], run.id)
    issued = documents.issue_documents(db, finance[0], run.id)
    db.commit()
    sharing = db.scalars(sa.select(AllocationRunLine.tenant_code).where(
        AllocationRunLine.run_id == run.id, AllocationRunLine.is_prefecture.is_(False))).all()
    assert sorted(sharing) == sorted(WAVE_1) == sorted(document.tenant_code for document in issued)

    kumamoto = documents.issued_letter(db, finance[0], "431001", year)
    pdf = documents.letters_pdf(db, finance[0], [kumamoto])
    assert len(pdf_pages(pdf, tmp_path / "one")) == 1
    text = pdf_text(pdf, tmp_path)
    owed = ledger.tenant_balance(db, "431001", fiscal_year=year)
    assert owed > 0 and f"{owed:,}円" in text and documents.yen_in_words(owed) in text
    for component in kumamoto.statement.components:
        assert f"{component.amount:,}円" in text
    assert sum(component.amount for component in kumamoto.statement.components) == owed
    assert kumamoto.document.number in text and "納期限" in text and "肥後銀行" in text and "消費税の課税対象外" in text

    batch = documents.letters_pdf(db, finance[0], documents.run_letters(db, finance[0], run.id))
    assert len(pdf_pages(batch, tmp_path / "batch")) == len(WAVE_1)
