"""Statements (負担金通知) come out of the ledger: Excel, CSV, printable HTML, and the year's summary."""

import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from billing import allocation_runs, ledger, operations, statements
from billing.ledger_errors import BillingNotFound, StatementMismatch
from billing.models import EntryKind
from tests.conftest import sign_in


def test_statement_reads_charge_payments_and_balance_from_the_ledger(db, finance, posted_fy2025):
    statement = statements.build_statement(db, finance, "432024", 2025)
    assert statement.tenant_name == "八代市"
    assert statement.charged == 1_950_000
    assert [(c.label_ja, c.amount) for c in statement.components] == [("均等割", 1_200_000), ("人口割", 750_000)]
    assert statement.paid == 1_000_000
    assert statement.balance == 950_000
    assert statement.months == 12 and statement.population == 200_000
    assert statement.policy_in_words == "県負担 50%、残りを均等割 50%・人口割 50% で按分"
    assert statement.resolution_ref is None  # adopted by a second finance officer (by a resolution: test_policy_adoption)


def test_a_reversed_run_leaves_no_charge_on_the_statement(db, finance, posted_fy2025):
    allocation_runs.reverse_run(db, finance, posted_fy2025.id, "人口の誤り", reversed_on=dt.date(2025, 8, 20))
    db.commit()
    with pytest.raises(BillingNotFound) as missing:
        statements.build_statement(db, finance, "431001", 2025)
    assert "まだ計上されていません" in missing.value.message_ja
    rerun = allocation_runs.create_run(db, finance, 2025)
    allocation_runs.review_run(db, finance, rerun.id, four_eyes=False)
    allocation_runs.approve_run(db, finance, rerun.id, posted_on=dt.date(2025, 8, 21), four_eyes=False)
    db.commit()
    statement = statements.build_statement(db, finance, "432024", 2025)
    assert statement.run_id == rerun.id
    assert statement.charged == 1_950_000 and statement.balance == 950_000
    # the history, by date: charge 31 Jul, reversal 20 Aug, new charge 21 Aug, payment 1 Sep
    assert [(line.occurred_on.isoformat(), line.amount) for line in statement.history] == [
        ("2025-07-31", 1_950_000), ("2025-08-20", -1_950_000), ("2025-08-21", 1_950_000), ("2025-09-01", -1_000_000)]


def _charge_by_hand(db, run_id: int, tenant_code: str, amount: int) -> None:
    """A charge posted outside the run's approval (as a repair by hand would): the books now disagree with the run."""
    ledger.post_entry(db, ledger.NewEntry(
        idempotency_key=f"by-hand:{tenant_code}", kind=EntryKind.charge, fiscal_year=2025,
        occurred_on=dt.date(2025, 8, 1), tenant_code=tenant_code, run_id=run_id,
        legs=(ledger.debit(ledger.receivable(tenant_code), amount), ledger.credit(ledger.COST_RECOVERY, amount))))
    db.commit()


def test_a_ledger_that_disagrees_with_its_run_is_refused_in_japanese_and_english(db, finance, posted_fy2025):
    _charge_by_hand(db, posted_fy2025.id, "432024", 5_000)
    with pytest.raises(StatementMismatch) as mismatch:
        statements.build_statement(db, finance, "432024", 2025)
    assert "1,950,000円" in mismatch.value.message_ja and "1,955,000円" in mismatch.value.message_ja
    assert "says 1950000 but the ledger charged 1955000" in mismatch.value.message_en
    assert mismatch.value.kind == "conflict"


def test_a_statement_from_books_that_disagree_is_a_conflict_page_not_a_server_error(client, db, posted_fy2025):
    _charge_by_hand(db, posted_fy2025.id, "432024", 5_000)
    sign_in(client, ["municipal-admin"], ["432024"])
    page = client.get("/admin/billing/statements/432024/2025/")
    assert page.status_code == 409
    assert "帳簿の計上額 1,955,000円が一致しません" in page.get_data(as_text=True)


def test_the_prefecture_statement_shows_the_prefecture_share(db, finance, posted_fy2025):
    statement = statements.build_statement(db, finance, "430005", 2025)
    assert statement.is_prefecture
    assert [(c.label_ja, c.amount) for c in statement.components] == [("県負担", 6_000_000)]
    assert statement.balance == 6_000_000


def test_excel_statement_has_japanese_headers_and_yen_cells(db, finance, posted_fy2025):
    sheet = load_workbook(io.BytesIO(statements.to_xlsx(statements.build_statement(db, finance, "431001", 2025)))).active
    assert sheet.title == "負担金通知"
    assert sheet["A1"].value == "令和7年度 連携基盤共同利用負担金 通知書"
    cells = {row[0].value: row[1] for row in sheet.iter_rows(min_col=1, max_col=2) if row[0].value}
    assert cells["団体名"].value == "熊本市"
    assert cells["按分の方法"].value == "県負担 50%、残りを均等割 50%・人口割 50% で按分"
    assert cells["均等割"].value == 1_200_000 and cells["人口割"].value == 1_875_000
    assert cells["負担金額（合計）"].value == 3_075_000
    assert cells["負担金額（合計）"].number_format == '#,##0"円"'
    assert cells["差引残高（未納額）"].value == 3_075_000


def test_csv_statement_is_utf8_with_bom_for_excel(db, finance, posted_fy2025):
    data = statements.to_csv(statements.build_statement(db, finance, "432024", 2025))
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["項目", "内容"]
    amounts = {row[0]: row[1] for row in rows if len(row) == 2}
    assert amounts["負担金額（合計）"] == "1950000"
    assert amounts["入金 2025/09/01（銀行明細 #1）"] == "1000000"
    assert amounts["入金額（合計）"] == "1000000"
    assert amounts["差引残高（未納額）"] == "950000"


def test_html_statement_is_a_printable_page_with_the_breakdown(db, finance, posted_fy2025):
    page = statements.to_html(statements.build_statement(db, finance, "432032", 2025))
    assert page.startswith("<!DOCTYPE html>") and '<html lang="ja">' in page
    assert "人吉市" in page and "6か月" in page
    assert "均等割</th><td class=\"yen\">600,000円" in page
    assert "人口割</th><td class=\"yen\">375,000円" in page
    assert "県負担 50%、残りを均等割 50%・人口割 50% で按分" in page


def test_summary_lists_every_tenant_and_adds_up_to_the_year(db, finance, posted_fy2025):
    summary = statements.build_summary(db, finance, 2025)
    assert [(row.tenant_code, row.charged, row.paid, row.balance) for row in summary.rows] == [
        ("430005", 6_000_000, 0, 6_000_000), ("431001", 3_075_000, 0, 3_075_000),
        ("432024", 1_950_000, 1_000_000, 950_000), ("432032", 975_000, 0, 975_000)]
    assert summary.charged == 12_000_000 and summary.balance == 11_000_000
    sheet = load_workbook(io.BytesIO(statements.summary_to_xlsx(summary))).active
    assert [cell.value for cell in sheet[3]] == ["団体コード", "団体名", "参加月数", "負担金額", "入金額", "未納額"]
    assert [cell.value for cell in sheet[8]][3:] == [12_000_000, 1_000_000, 11_000_000]
    assert sheet["D8"].number_format == '#,##0"円"'


def test_a_name_that_looks_like_a_formula_is_text_in_the_statement():
    from billing.statements import safe_text

    assert safe_text("=HYPERLINK(\"http://example.invalid\")") == "'=HYPERLINK(\"http://example.invalid\")"
    assert safe_text("+81-96") == "'+81-96" and safe_text("@SUM(A1)") == "'@SUM(A1)"
    assert safe_text("クラウド利用料") == "クラウド利用料" and safe_text(1200) == 1200


@pytest.mark.parametrize("fiscal_year,era", [(2010, "平成22年度"), (2019, "令和元年度")])
def test_a_statement_names_its_fiscal_year_by_the_era_of_that_year(db, finance, kumamoto, adopted_policy, fiscal_year, era):
    from tests.billing.conftest import cost_data

    operations.create_cost_item(db, finance, cost_data(fiscal_year=fiscal_year, amount=1_200_000))
    run = allocation_runs.create_run(db, finance, fiscal_year)
    allocation_runs.review_run(db, finance, run.id, four_eyes=False)
    allocation_runs.approve_run(db, finance, run.id, posted_on=dt.date(fiscal_year, 7, 31), four_eyes=False)
    db.commit()
    statement = statements.build_statement(db, finance, "431001", fiscal_year)
    sheet = load_workbook(io.BytesIO(statements.to_xlsx(statement))).active
    assert sheet["A1"].value == f"{era} 連携基盤共同利用負担金 通知書"
    rows = dict(row for row in csv.reader(io.StringIO(statements.to_csv(statement).decode("utf-8-sig"))) if len(row) == 2)
    assert rows["年度"] == f"{era}（FY{fiscal_year}）"
    assert era in statements.to_html(statement)
    summary = load_workbook(io.BytesIO(statements.summary_to_xlsx(statements.build_summary(db, finance, fiscal_year)))).active
    assert summary["A1"].value.startswith(f"{era} 負担金 一覧")
