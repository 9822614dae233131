"""`renkei billing run / review / approve / statement / trial-balance` against the database."""

import io

import sqlalchemy as sa
from openpyxl import load_workbook

from billing.models import JournalEntry

from .conftest import cost_data


def test_a_year_from_the_command_line(app, db, finance, kumamoto, adopted_policy, tmp_path):
    from billing import operations

    operations.create_cost_item(db, finance, cost_data(amount=12_000_000))
    db.commit()
    runner = app.test_cli_runner()
    computed = runner.invoke(args=["billing", "run", "2025"])
    assert computed.exit_code == 0, computed.output
    assert "3,075,000" in computed.output and "人吉市" in computed.output
    run_id = computed.output.split()[1].lstrip("#")
    assert runner.invoke(args=["billing", "approve", run_id, "--as", "kacho"]).exit_code == 1  # not reviewed yet
    # four eyes: the one who computed may review, but neither computer nor reviewer approves
    assert runner.invoke(args=["billing", "review", run_id, "--note", "確認"]).exit_code == 0
    assert runner.invoke(args=["billing", "approve", run_id]).exit_code == 1
    assert runner.invoke(args=["billing", "approve", run_id, "--as", "kacho"]).exit_code == 0
    assert runner.invoke(args=["billing", "approve", run_id, "--as", "kacho"]).exit_code == 0
    db.expire_all()
    assert db.scalar(sa.select(sa.func.count()).select_from(JournalEntry)) == 5

    target = tmp_path / "kumamoto.xlsx"
    written = runner.invoke(args=["billing", "statement", "431001", "2025", "--format", "xlsx", "-o", str(target)])
    assert written.exit_code == 0, written.output
    cells = {row[0].value: row[1].value for row in load_workbook(io.BytesIO(target.read_bytes())).active.iter_rows(
        min_col=1, max_col=2) if row[0].value}
    assert cells["負担金額（合計）"] == 3_075_000

    books = runner.invoke(args=["billing", "trial-balance", "--fiscal-year", "2025"])
    assert books.exit_code == 0
    assert books.output.splitlines()[-1].split()[-2:] == ["24,000,000", "24,000,000"]


def test_a_refused_command_says_why_in_both_languages(app, db, kumamoto):
    result = app.test_cli_runner().invoke(args=["billing", "run", "2025"])
    assert result.exit_code == 2
    assert "採用中の按分方式がありません" in result.output and "no allocation policy is adopted" in result.output
