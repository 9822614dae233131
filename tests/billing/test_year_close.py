"""Closing a fiscal year (決算): two people after the 出納整理期間, the 収支決算 fixed with its hash, and
a closed year that the database itself refuses to write to (raw SQL as the application's role
included) until the council reopens it."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from billing import grants, operations, year_close
from billing.ledger_errors import BillingConflict, FourEyesRefused
from billing.models import YearClose, YearCloseStatus
from billing.schemas import GrantCreate, PaymentCreate
from core.audit import AuditRecord

from .conftest import colleague, cost_data, pay_from_bank
from .test_grants import _approve, _year_with_costs

JUNE_2026 = dt.date(2026, 6, 1)


def _closed_fy2025(db, finance):
    _year_with_costs(db, finance)
    grants.create_grant(db, finance, GrantCreate.model_validate({
        "fiscal_year": 2025, "name": "交付金", "grantor": "内閣府", "rate": "1/2", "categories": ["run"],
        "decided_amount": 6_000_000, "decided_on": "2025-06-01"}))
    _approve(db, finance)
    pay_from_bank(db, finance, "431001", 2025, 1_793_750, dt.date(2026, 5, 20), "ｸﾏﾓﾄｼ")
    year_close.request_close(db, finance, 2025, today=JUNE_2026)
    close = year_close.close_year(db, colleague(3, "県 財政課長"), 2025)
    db.commit()
    return close


def test_a_year_closes_after_may_by_two_people_with_its_accounts_fixed(db, finance, kumamoto, adopted_policy):
    _year_with_costs(db, finance)
    with pytest.raises(BillingConflict) as too_early:
        year_close.request_close(db, finance, 2025, today=dt.date(2026, 5, 31))
    assert "出納整理期間" in too_early.value.message_ja and "令和8年6月1日" in too_early.value.message_ja
    db.rollback()
    close = _closed_fy2025(db, finance)
    assert YearCloseStatus(close.status) == YearCloseStatus.closed and close.closed_by == "県 財政課長"
    accounts = json.loads(close.statement_json)
    # revenue: the municipalities' shares 3,500,000, the prefecture's 3,500,000, the grant 5,000,000
    assert [(row["source"], row["amount"]) for row in accounts["revenue"]] == [
        ("負担金収入（市町村）", 3_500_000), ("県負担金", 3_500_000), ("交付金収入", 5_000_000)]
    assert accounts["expenditure_total"] == 12_000_000 and accounts["balance"] == 0
    assert accounts["outstanding"] == 7_000_000 - 1_793_750
    # the hash of the statement is in the close's audit record, so in the chain
    record = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "billing.year.close")).one()
    assert json.loads(record.after)["statement_sha256"] == close.statement_sha256 == \
        year_close.accounts_of_year(db, finance, 2025).sha256()


def test_the_one_who_asked_cannot_close_alone(db, finance, kumamoto):
    year_close.request_close(db, finance, 2025, today=JUNE_2026)
    with pytest.raises(FourEyesRefused):
        year_close.close_year(db, finance, 2025)


def test_a_closed_year_refuses_every_write_in_words(db, finance, kumamoto, adopted_policy):
    _closed_fy2025(db, finance)
    for attempt in (lambda: operations.create_cost_item(db, finance, cost_data(amount=1)),
                    lambda: operations.record_payment(db, finance, PaymentCreate(
                        tenant_code="432024", fiscal_year=2025, amount=1, received_on=dt.date(2026, 7, 1),
                        reference="遅れた振込"))):
        with pytest.raises(BillingConflict) as refused:
            attempt()
        assert "決算済み" in refused.value.message_ja
        db.rollback()


def _raw_insert_entry(db):
    db.execute(sa.text("INSERT INTO billing_journal_entry (idempotency_key, status, kind, fiscal_year, occurred_on, "
                       "description, created_at, created_by) VALUES ('forged:1', 'pending', 'payment', 2025, "
                       "'2026-07-01', '', CURRENT_TIMESTAMP, 'x')"))


def _raw_insert_cost_item(db):
    db.execute(sa.text("INSERT INTO billing_cost_item (fiscal_year, name, category, amount, invoiced_amount, "
                       "tax_treatment, tax_amount, vendor, reference, amortisation_years, amortisation_index, created_at, "
                       "created_by) VALUES (2025, 'x', 'run', 1, 1, 'exempt', 0, '', '', 1, 1, CURRENT_TIMESTAMP, 'x')"))


def _raw_update_cost_item(db):
    db.execute(sa.text("UPDATE billing_cost_item SET amount = 99000000, invoiced_amount = 99000000 WHERE fiscal_year = 2025"))


def _raw_insert_run(db):
    policy_id = db.scalar(sa.text("SELECT id FROM billing_policy LIMIT 1"))
    db.execute(sa.text("INSERT INTO billing_run (fiscal_year, status, policy_id, total, snapshot_json, created_at, "
                       "created_by, reviewed_by, review_note, approved_by, reversed_by, reversal_reason, created_by_key, "
                       "reviewed_by_key, four_eyes) VALUES (2025, 'computed', :p, 1, '{}', CURRENT_TIMESTAMP, 'x', '', '', "
                       "'', '', '', '', '', true)"), {"p": policy_id})


def _raw_reopen(db):
    db.execute(sa.text("UPDATE billing_year_close SET status = 'reopened' WHERE fiscal_year = 2025"))


@pytest.mark.parametrize("write", [_raw_insert_entry, _raw_insert_cost_item, _raw_update_cost_item, _raw_insert_run,
                                   _raw_reopen])
def test_the_database_refuses_writing_to_a_closed_year_as_the_applications_role(db, finance, kumamoto, adopted_policy,
                                                                                write):
    _closed_fy2025(db, finance)
    with pytest.raises(sa.exc.DatabaseError) as refused:
        write(db)
        db.commit()
    db.rollback()
    # the year also has a posted run, whose own guard refuses its cost items too (billing.posted_year_guards)
    assert "closed" in str(refused.value) or "reopen" in str(refused.value) or "posted run" in str(refused.value)


def test_the_council_reopens_a_closed_year(db, finance, kumamoto, adopted_policy, operator, tenant_factory):
    from governance import council
    from governance.models import VoteChoice
    from governance.schemas import ProposalCreate
    from tests.governance.test_governance_read_permissions import person

    _closed_fy2025(db, finance)
    closes_at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=10)
    proposal = council.propose(db, operator, ProposalCreate(
        title="令和7年度の再開", closes_at=closes_at, change_type="reopen_fiscal_year",
        params={"fiscal_year": 2025, "reason": "監査で費目の誤りが見つかったため"}))
    for code in kumamoto:  # every member votes, so the vote closes before its window ends
        council.cast_vote(db, person(f"admin-{code}", "municipal-admin", tenants=[code]), proposal.id, VoteChoice.for_)
    resolution = council.close_proposal(db, operator, proposal.id)
    db.commit()
    db.expire_all()
    close = db.scalars(sa.select(YearClose)).one()
    assert YearCloseStatus(close.status) == YearCloseStatus.reopened and close.reopen_resolution_id == resolution.id
    # the year takes entries again: the posted run can be reversed to be computed anew
    from billing import allocation_runs

    [run] = allocation_runs.list_runs(db, finance, 2025)
    allocation_runs.reverse_run(db, colleague(3), run.id, "監査で費目の誤りが見つかったため")
    db.commit()


def test_the_accounts_open_as_a_workbook_and_a_pdf(db, finance, kumamoto, adopted_policy):
    close = _closed_fy2025(db, finance)
    accounts = year_close.accounts_of_year(db, finance, 2025)
    sheet = load_workbook(io.BytesIO(year_close.accounts_xlsx(accounts, close))).active
    assert sheet["A1"].value == "令和7年度 連携基盤共同利用事業 収支決算書"
    assert ["収入", "交付金収入", 5_000_000] in [[cell.value for cell in row] for row in sheet.iter_rows(min_row=3)]
    pdf = year_close.accounts_pdf(accounts, close)
    assert pdf.startswith(b"%PDF")


def test_two_finance_officers_close_a_year_from_the_command_line(app, db, finance, kumamoto, adopted_policy, tmp_path):
    _year_with_costs(db, finance)
    _approve(db, finance)
    runner = app.test_cli_runner()
    asked = runner.invoke(args=["billing", "close", "2025", "--as", "tanaka"])
    assert asked.exit_code == 0 and "requested" in asked.output
    assert runner.invoke(args=["billing", "close-approve", "2025", "--as", "tanaka"]).exit_code == 1  # the same person
    closed = runner.invoke(args=["billing", "close-approve", "2025", "--as", "kacho"])
    assert closed.exit_code == 0 and "closed" in closed.output and "SHA-256" in closed.output
    target = tmp_path / "accounts.pdf"
    assert runner.invoke(args=["billing", "accounts", "2025", "--format", "pdf", "-o", str(target)]).exit_code == 0
    assert target.read_bytes().startswith(b"%PDF")


def test_the_year_page_asks_closes_after_a_confirmation_and_offers_the_accounts(client, db, finance, kumamoto,
                                                                             adopted_policy):
    from tests.billing.test_finance_views import as_finance, csrf

    _year_with_costs(db, finance)
    _approve(db, finance)
    token = as_finance(client, 1)
    page = client.get("/admin/billing/?fy=2025").get_data(as_text=True)
    assert "年度の締め（決算）" in page and "年度の締めを申請する" in page
    assert client.post("/admin/billing/close/2025/request", data={"csrf_token": token}).status_code == 302
    token = as_finance(client, 2)
    asked = client.post("/admin/billing/close/2025/approve", data={"csrf_token": token})
    assert asked.status_code == 200 and "協議会が再開を議決するまで" in asked.get_data(as_text=True)
    assert year_close.year_close(db, 2025).status == YearCloseStatus.requested  # nothing written before confirming
    token = csrf(asked.get_data(as_text=True))
    done = client.post("/admin/billing/close/2025/approve", data={"csrf_token": token, "confirmed": "1"})
    assert done.status_code == 302
    db.expire_all()
    assert YearCloseStatus(year_close.year_close(db, 2025).status) == YearCloseStatus.closed
    pdf = client.get("/admin/billing/accounts/2025.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
