"""A year of the joint-use platform's books, told as a finance officer would tell it.

FY2025 (令和7年度). 熊本県 bears half of the year's cost; the municipalities share the other
half, half equally per month of participation (均等割) and half by population × months (人口割).

Participants (populations are round numbers so the shares can be checked on paper):

    431001 熊本市  population 500,000  active all year      12 months
    432024 八代市  population 200,000  active all year      12 months
    432032 人吉市  population 200,000  active from 15 Oct    6 months (October to March)

Every amount below was worked out by hand, not read from the code.
"""

import datetime as dt

from billing import allocation_runs, ledger, operations
from billing.models import RunStatus
from billing.schemas import PaymentCreate

from .conftest import cost_data


def pay(db, finance, code, amount, on, reference):
    return operations.record_payment(db, finance, PaymentCreate(
        tenant_code=code, fiscal_year=2025, amount=amount, received_on=on, reference=reference))


def test_a_year_of_runs_payments_and_one_reversal(db, finance, kumamoto, adopted_policy):
    # April: the finance officer enters the year's costs. The build cost of 6,000,000 yen is
    # amortised over three years: 2,000,000 yen a year. The maintenance invoice is forgotten.
    operations.create_cost_item(db, finance, cost_data(name="クラウド利用料", amount=7_600_000))
    build = operations.create_cost_item(db, finance, cost_data(
        name="基盤構築費", category="build", amount=6_000_000, amortisation_years=3, reference="CON-2024-7"))
    assert [item.amount for item in build] == [2_000_000, 2_000_000, 2_000_000]
    assert [item.fiscal_year for item in build] == [2025, 2026, 2027]
    db.commit()

    # June: run #1 on 9,600,000 yen. The prefecture bears 4,800,000. Of the municipalities'
    # 4,800,000: equal part 2,400,000 over 30 participant-months = 80,000 a month;
    # population part 2,400,000 over 9,600,000 person-months (6,000,000 + 2,400,000 + 1,200,000)
    # = 0.25 yen each.
    #   熊本市 12 × 80,000 + 6,000,000 × 0.25 = 960,000 + 1,500,000 = 2,460,000
    #   八代市 12 × 80,000 + 2,400,000 × 0.25 = 960,000 +   600,000 = 1,560,000
    #   人吉市  6 × 80,000 + 1,200,000 × 0.25 = 480,000 +   300,000 =   780,000
    first = allocation_runs.create_run(db, finance, 2025)
    assert first.total == 9_600_000
    assert {line.tenant_code: line.amount for line in allocation_runs.run_lines(db, first)} == {
        "430005": 4_800_000, "431001": 2_460_000, "432024": 1_560_000, "432032": 780_000}
    allocation_runs.review_run(db, finance, first.id, "費目と参加月数を確認", four_eyes=False)
    allocation_runs.approve_run(db, finance, first.id, posted_on=dt.date(2025, 6, 30), four_eyes=False)
    db.commit()

    # 10 July: 八代市 pays its invoice in full.
    pay(db, finance, "432024", 1_560_000, dt.date(2025, 7, 10), "振込 0710-01")
    db.commit()
    assert ledger.tenant_balance(db, "432024") == 0

    # Then the missing maintenance invoice (2,400,000 yen) turns up. The year is posted, so
    # the cost items are locked until run #1 is reversed.
    locked = None
    try:
        operations.create_cost_item(db, finance, cost_data(name="保守運用委託費", amount=2_400_000))
    except Exception as error:  # noqa: BLE001
        locked = error
    assert locked is not None and locked.kind == "conflict"
    db.rollback()

    # 15 July: run #1 is reversed; every one of its entries gets a reversal entry.
    allocation_runs.reverse_run(db, finance, first.id, "保守運用委託費の計上漏れ", reversed_on=dt.date(2025, 7, 15))
    operations.create_cost_item(db, finance, cost_data(name="保守運用委託費", amount=2_400_000, reference="INV-2025-014"))
    db.commit()
    # 八代市 has paid for a run that no longer stands: the books owe it 1,560,000 yen for now.
    assert ledger.tenant_balance(db, "432024", as_of=dt.date(2025, 7, 20)) == -1_560_000
    assert ledger.tenant_balance(db, "431001", as_of=dt.date(2025, 7, 20)) == 0

    # 31 July: run #2 on 12,000,000 yen. Prefecture 6,000,000; municipalities 6,000,000:
    # equal part 3,000,000 / 30 months = 100,000 a month; population part 3,000,000 /
    # 9,600,000 person-months = 0.3125 yen each.
    #   熊本市 1,200,000 + 1,875,000 = 3,075,000
    #   八代市 1,200,000 +   750,000 = 1,950,000
    #   人吉市   600,000 +   375,000 =   975,000
    second = allocation_runs.create_run(db, finance, 2025)
    allocation_runs.review_run(db, finance, second.id, four_eyes=False)
    allocation_runs.approve_run(db, finance, second.id, posted_on=dt.date(2025, 7, 31), four_eyes=False)
    db.commit()
    assert ledger.tenant_balance(db, "432024") == 1_950_000 - 1_560_000

    # The rest of the year's payments. 人吉市 pays only part before the year closes.
    pay(db, finance, "431001", 3_075_000, dt.date(2025, 8, 29), "振込 0829-03")
    pay(db, finance, "432024", 390_000, dt.date(2025, 9, 30), "振込 0930-02")
    pay(db, finance, "430005", 6_000_000, dt.date(2025, 9, 30), "県 支出命令 123")
    pay(db, finance, "432032", 500_000, dt.date(2026, 3, 31), "振込 0331-01")
    db.commit()

    # 31 March 2026: the books.
    year_end = dt.date(2026, 3, 31)
    books = ledger.trial_balance(db, as_of=year_end)
    assert books.difference == 0
    assert books.total_debit == books.total_credit == 24_000_000
    # money in: 1,560,000 + 3,075,000 + 390,000 + 6,000,000 + 500,000
    assert ledger.balance(db, ledger.BANK, as_of=year_end) == 11_525_000
    assert ledger.tenant_balance(db, "431001", as_of=year_end) == 0
    assert ledger.tenant_balance(db, "432024", as_of=year_end) == 0
    assert ledger.tenant_balance(db, "430005", as_of=year_end) == 0
    assert ledger.tenant_balance(db, "432032", as_of=year_end) == 975_000 - 500_000
    # run #1's 4,800,000 and its reversal cancel; what stands is run #2.
    assert ledger.balance(db, ledger.COST_RECOVERY, as_of=year_end) == 6_000_000
    assert ledger.balance(db, ledger.PREFECTURE_SHARE, as_of=year_end) == 6_000_000
    assert ledger.balance(db, "cost:run", as_of=year_end) == 7_600_000 + 2_400_000
    assert ledger.balance(db, "cost:build", as_of=year_end) == 2_000_000
    assert ledger.balance(db, ledger.PAYABLE, as_of=year_end) == 12_000_000
    # the year recovers its costs exactly: income equals expense
    assert (ledger.balance(db, ledger.COST_RECOVERY) + ledger.balance(db, ledger.PREFECTURE_SHARE)
            == ledger.balance(db, "cost:run") + ledger.balance(db, "cost:build"))

    # Both runs stay visible: #1 reversed, #2 approved.
    assert [(run.id, RunStatus(run.status)) for run in allocation_runs.list_runs(db, finance, 2025)] == [
        (first.id, RunStatus.reversed), (second.id, RunStatus.approved)]
