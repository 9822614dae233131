"""Allocation runs move only along their declared transitions, in the database too (issue 27).

Raw SQL goes through the app's own database connection: on PostgreSQL in CI that is the
application role (tests/conftest.py), on SQLite the database file. Both dialects run every test
here; the owner's part (dropping the guard) uses ``owner_bind``.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from billing import allocation_runs, integrity, ledger, models, operations, run_guards, run_lifecycle
from billing.ledger_errors import BillingConflict, FourEyesRefused, IllegalTransition
from billing.models import AllocationRun, RunStatus
from core.actor import Actor
from tests.billing.conftest import colleague, cost_data
from tests.conftest import owner_bind

AUDITOR = Actor(issuer="urn:test", subject="auditor-1", name="監査委員", roles=frozenset({"auditor"}))
REVIEWER, APPROVER = colleague(2), colleague(3, "県 財政課長")

# The moves docs/ledger.md draws (computed ─review→ reviewed ─approve→ approved ─reverse→ reversed;
# computed, reviewed ─discard→ discarded), written out here rather than read from the code.
DRAWN_MOVES = {("computed", "reviewed"), ("reviewed", "approved"), ("approved", "reversed"),
               ("computed", "discarded"), ("reviewed", "discarded")}


def refused(db, statement: str, **params) -> str:
    """``statement`` on the app's own connection, in a transaction of its own: it must be refused.
    Returns the database's message; nothing it tried stays."""
    db.commit()
    with pytest.raises(sa.exc.DBAPIError) as refusal:
        with db.get_bind().connect() as connection, connection.begin():
            connection.execute(sa.text(statement), params)
    db.expire_all()
    return str(refusal.value.orig)


def status(db, run_id: int) -> str:
    return db.execute(sa.text("SELECT status FROM billing_run WHERE id = :id"), {"id": run_id}).scalar_one()


def charged(db, tenant: str = "431001") -> int:
    return ledger.tenant_balance(db, tenant, fiscal_year=2025)


@pytest.fixture
def year(db, finance, kumamoto, adopted_policy):
    """FY2025 with its costs entered (12,000,000 yen to share)."""
    operations.create_cost_item(db, finance, cost_data(name="クラウド利用料", amount=10_000_000))
    operations.create_cost_item(db, finance, cost_data(name="基盤構築費", category="build", amount=2_000_000))
    db.commit()
    return 2025


def approved_run(db, finance) -> AllocationRun:
    run = allocation_runs.create_run(db, finance, 2025)
    allocation_runs.review_run(db, REVIEWER, run.id)
    allocation_runs.approve_run(db, APPROVER, run.id, posted_on=dt.date(2025, 7, 31))
    db.commit()
    return run


@pytest.fixture
def every_status(db, finance, year) -> dict[str, int]:
    """One FY2025 run in each status: status → run id."""
    first = approved_run(db, finance)
    allocation_runs.reverse_run(db, APPROVER, first.id, "人口の出典を更新", reversed_on=dt.date(2025, 8, 1))
    posted = approved_run(db, finance)
    reviewed = allocation_runs.create_run(db, finance, 2025)
    allocation_runs.review_run(db, REVIEWER, reviewed.id)
    computed = allocation_runs.create_run(db, finance, 2025)
    discarded = allocation_runs.create_run(db, finance, 2025)
    allocation_runs.discard_run(db, REVIEWER, discarded.id)
    db.commit()
    runs = {"reversed": first.id, "approved": posted.id, "reviewed": reviewed.id, "computed": computed.id,
            "discarded": discarded.id}
    assert {name: status(db, run_id) for name, run_id in runs.items()} == {name: name for name in runs}
    return runs


@pytest.fixture
def owner_drops_the_run_guard(db):
    """The schema owner drops the runs' guard (PostgreSQL: billing_run_moves; SQLite: every
    billing_run trigger); put back afterwards on PostgreSQL, whose schema outlives the test."""
    bind = owner_bind(db)

    def drop() -> None:
        db.commit()
        with bind.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("DROP TRIGGER billing_run_moves ON billing_run"))
            else:
                for name in models.ledger_guards_sqlite("billing_run"):
                    connection.execute(sa.text(f'DROP TRIGGER "{name}"'))
        db.expire_all()

    yield drop
    if bind.dialect.name == "postgresql":
        from core.db import quoted_current_schema

        with bind.begin() as connection:
            for statement in models.ledger_guards_pg(quoted_current_schema(connection), "billing_run"):
                connection.execute(sa.text(statement))


@pytest.fixture
def owner_drops_the_charged_once_rule(db):
    """The schema owner also drops the ledger's rule that a year is charged once per slot
    (billing.posted_year_guards); put back afterwards on PostgreSQL."""
    from billing import posted_year_guards

    bind = owner_bind(db)

    def drop() -> None:
        db.commit()
        with bind.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("DROP TRIGGER billing_journal_entry_charged_once ON billing_journal_entry"))
            else:
                for name in posted_year_guards.posted_year_guards_sqlite():
                    if name.startswith("billing_journal_entry_charged_once"):
                        connection.execute(sa.text(f'DROP TRIGGER "{name}"'))
        db.expire_all()

    yield drop
    if bind.dialect.name == "postgresql":
        from core.db import quoted_current_schema

        db.rollback()  # the test's session lets go of the tables before the trigger is put back
        with bind.begin() as connection:
            for statement in posted_year_guards.posted_year_guards_pg(quoted_current_schema(connection)):
                if "charged_once" in statement:
                    connection.execute(sa.text(statement))


# --- the moves -------------------------------------------------------------------------------------

def attempt(db, statement: str, **params) -> str | None:
    """None when the app's connection may run ``statement`` (rolled back), else the refusal."""
    db.commit()
    with db.get_bind().connect() as connection:
        transaction = connection.begin()
        try:
            connection.execute(sa.text(statement), params)
            return None
        except sa.exc.DBAPIError as error:
            return str(error.orig)
        finally:
            transaction.rollback()


def test_the_database_allows_exactly_the_drawn_moves(db, every_status):
    """Every status to every other by raw SQL: a move the lifecycle does not draw is refused as such;
    of the drawn ones, the approved run's move to reversed needs its reversal entries (below) and a
    second approved run in the year is refused by the one-posted-run index."""
    outcomes = {(source, target.value): attempt(db, "UPDATE billing_run SET status = :to WHERE id = :id",
                                                to=target.value, id=run_id)
                for source, run_id in every_status.items() for target in RunStatus if target.value != source}
    not_a_move = ("cannot move from", "moves only along its transitions")
    assert {pair for pair, refusal in outcomes.items()
            if refusal and any(text in refusal for text in not_a_move)} == set(outcomes) - DRAWN_MOVES
    assert {pair for pair, refusal in outcomes.items() if refusal is None} == DRAWN_MOVES - {
        ("approved", "reversed"), ("reviewed", "approved")}
    assert "not reversed" in outcomes[("approved", "reversed")]
    assert "uq_billing_run_one_approved_per_year" in outcomes[("reviewed", "approved")] \
        or "UNIQUE constraint failed: billing_run.fiscal_year" in outcomes[("reviewed", "approved")]


def test_the_code_reads_the_same_table(db):
    assert {(source.value, move.target.value) for move in run_lifecycle.RUN_TRANSITIONS.values()
            for source in move.sources} == DRAWN_MOVES


def test_the_double_charging_attack_is_refused_at_its_first_statement(db, finance, year):
    """Issue 27's attack: set a posted run back to computed, discard it, approve a second run."""
    posted = approved_run(db, finance)
    owed = charged(db)
    message = refused(db, "UPDATE billing_run SET status = 'computed' WHERE id = :id", id=posted.id)
    assert "approved" in message and "computed" in message
    assert status(db, posted.id) == "approved"
    # so the rest of the attack finds the run still posted: it cannot be discarded, nor a second approved
    with pytest.raises(IllegalTransition):
        allocation_runs.discard_run(db, REVIEWER, posted.id)
    db.rollback()
    second = allocation_runs.create_run(db, finance, 2025)
    allocation_runs.review_run(db, REVIEWER, second.id)
    with pytest.raises(BillingConflict, match=f"#{posted.id}"):
        allocation_runs.approve_run(db, APPROVER, second.id)
    db.rollback()
    assert charged(db) == owed
    assert integrity.check(db, AUDITOR).ok


def test_a_posted_run_leaves_only_through_its_reversal(db, finance, year):
    posted = approved_run(db, finance)
    key = f"run:{posted.id}:c"
    message = refused(db, "UPDATE billing_run SET status = 'reversed' WHERE id = :id", id=posted.id)
    assert "not reversed" in message
    assert key in message or db.get_bind().dialect.name == "sqlite"  # SQLite's RAISE cannot name it
    # through the reversal it goes, and then a second run can be approved for the year
    allocation_runs.reverse_run(db, APPROVER, posted.id, "人口の出典を更新")
    second = approved_run(db, finance)
    assert (status(db, posted.id), status(db, second.id)) == ("reversed", "approved")
    assert integrity.check(db, AUDITOR).ok


def test_a_run_is_created_computed_with_no_move_recorded(db, every_status):
    """A copy of the computed run (for FY2024) may be inserted; marked approved, or with an approval, not."""
    def copy(status: str = "status", approved_by: str = "approved_by", approved_at: str = "approved_at") -> str:
        return ("INSERT INTO billing_run (fiscal_year, status, policy_id, total, prefecture_code, snapshot_json, created_at, "
                "created_by, reviewed_by, review_note, approved_by, reversed_by, reversal_reason, created_by_key, "
                f"reviewed_by_key, four_eyes, approved_at) SELECT 2024, {status}, policy_id, total, prefecture_code, "
                f"snapshot_json, created_at, created_by, '', '', {approved_by}, '', '', created_by_key, '', four_eyes, "
                f"{approved_at} FROM billing_run WHERE id = :id")

    run_id, posted_id = every_status["computed"], every_status["approved"]
    approval = "(SELECT approved_at FROM billing_run WHERE id = :posted)"
    for statement in (copy(status="'approved'"), copy(approved_by="'誰か'"), copy(approved_at=approval)):
        assert "created computed" in refused(db, statement, id=run_id, posted=posted_id)
    assert attempt(db, copy(), id=run_id) is None


# --- records written once ----------------------------------------------------------------------

@pytest.mark.parametrize(("column", "value"), [
    ("approved_by", "県 財政課長（別人）"), ("approved_at", "2025-08-01 00:00:00+00"), ("posted_on", "2025-08-01"),
    ("reviewed_by", "別の確認者"), ("review_note", "書き換え"), ("reviewed_by_key", "urn:x|y"),
])
def test_an_approved_runs_review_and_approval_are_written_once(db, every_status, column, value):
    run_id = every_status["approved"]
    before = db.execute(sa.text(f"SELECT {column} FROM billing_run WHERE id = :id"), {"id": run_id}).scalar_one()
    assert f"{column} of a" in refused(db, f"UPDATE billing_run SET {column} = :value WHERE id = :id", value=value, id=run_id)
    assert db.execute(sa.text(f"SELECT {column} FROM billing_run WHERE id = :id"), {"id": run_id}).scalar_one() == before


def test_a_reversals_record_is_written_once_and_four_eyes_only_switched_off(db, every_status):
    reversed_id, computed_id = every_status["reversed"], every_status["computed"]
    assert "reversal_reason of a" in refused(db, "UPDATE billing_run SET reversal_reason = 'x' WHERE id = :id", id=reversed_id)
    assert "reversed_by of a" in refused(db, "UPDATE billing_run SET reversed_by = 'x' WHERE id = :id", id=reversed_id)
    # a reviewer's name cannot be written before the review, nor without it
    assert "reviewed_by of a" in refused(db, "UPDATE billing_run SET reviewed_by = 'x' WHERE id = :id", id=computed_id)
    assert "four_eyes of a" in refused(db, "UPDATE billing_run SET four_eyes = :off WHERE id = :id",
                                       off=False, id=every_status["approved"])
    # the review move itself writes its record (what allocation_runs.review_run does)
    assert attempt(db, "UPDATE billing_run SET status = 'reviewed', reviewed_by = 'x', four_eyes = :off WHERE id = :id",
                   off=False, id=computed_id) is None


def test_a_second_approval_is_refused_by_the_code_too(db, finance, year, owner_drops_the_run_guard):
    """Were the status set back by the owner (guard dropped), approving again would overwrite who
    approved and add a second approval record: the code refuses."""
    posted = approved_run(db, finance)
    approver = db.get(AllocationRun, posted.id).approved_by
    owner_drops_the_run_guard()
    with owner_bind(db).begin() as connection:
        connection.execute(sa.text("UPDATE billing_run SET status = 'reviewed' WHERE id = :id"), {"id": posted.id})
    db.expire_all()
    with pytest.raises(IllegalTransition, match="approved once") as refusal:
        allocation_runs.approve_run(db, colleague(4, "別の課長"), posted.id)
    assert "承認は一度だけです" in refusal.value.message_ja
    db.rollback()
    assert db.get(AllocationRun, posted.id).approved_by == approver
    approvals = db.execute(sa.text("SELECT count(*) FROM audit_record WHERE action = 'billing.run.approve' "
                                   "AND target_id = :id"), {"id": str(posted.id)}).scalar_one()
    assert approvals == 1


# --- with the guard dropped by the owner: renkei check ---------------------------------------------

def test_with_the_run_guard_dropped_the_ledger_still_refuses_charging_the_year_twice(
        db, finance, year, owner_drops_the_run_guard):
    """The owner sets a posted run back (its guard dropped): the second run's approval passes the
    code's checks, but the database refuses its charges while the first run's stand unreversed."""
    posted = approved_run(db, finance)
    owed = charged(db)
    owner_drops_the_run_guard()
    with db.get_bind().begin() as connection:
        connection.execute(sa.text("UPDATE billing_run SET status = 'computed' WHERE id = :id"), {"id": posted.id})
    db.expire_all()
    allocation_runs.discard_run(db, REVIEWER, posted.id)
    db.commit()
    with pytest.raises(BillingConflict) as refusal:
        approved_run(db, finance)
    assert "同じ種類の別の按分計算の負担金が計上されています" in refusal.value.message_ja
    db.rollback()
    assert charged(db) == owed


def test_with_the_guard_dropped_check_names_the_doubled_year(app, db, finance, year, owner_drops_the_run_guard,
                                                             owner_drops_the_charged_once_rule):
    posted = approved_run(db, finance)
    owed = charged(db)
    owner_drops_the_run_guard()
    owner_drops_the_charged_once_rule()
    # the attack's first statement, now let through (the app's own connection: the role may update status)
    with db.get_bind().begin() as connection:
        connection.execute(sa.text("UPDATE billing_run SET status = 'computed' WHERE id = :id"), {"id": posted.id})
    db.expire_all()
    allocation_runs.discard_run(db, REVIEWER, posted.id)
    second = approved_run(db, finance)
    assert charged(db) == 2 * owed  # charged twice; the trial balance still balances
    assert ledger.trial_balance(db).difference == 0

    result = app.test_cli_runner().invoke(args=["check", "--as", "kensa"])

    assert result.exit_code == 1, result.output
    assert "FY2025" in result.output and "令和7年度" in result.output
    assert f"approved run #{second.id} costs 12,000,000 yen" in result.output
    assert "posted charges net of reversals are 24,000,000 yen" in result.output
    assert f"run #{posted.id} (discarded): run:{posted.id}:charge:430005" in result.output
    report = integrity.check(db, AUDITOR)
    assert [finding.check for finding in report.findings] == ["years"]
    assert f"run:{posted.id}:costs" in report.findings[0].message_en


def test_check_names_a_year_whose_charges_have_no_approved_run(db, finance, year, owner_drops_the_run_guard):
    """A posted run marked reversed without its reversal entries: charges stay, no run is approved."""
    posted = approved_run(db, finance)
    owner_drops_the_run_guard()
    with db.get_bind().begin() as connection:
        connection.execute(sa.text("UPDATE billing_run SET status = 'discarded' WHERE id = :id"), {"id": posted.id})
    db.expire_all()

    report = integrity.check(db, AUDITOR)

    assert not report.ok
    finding = report.findings[0]
    assert finding.check == "years"
    assert finding.message_en.startswith("FY2025: posted charges net of reversals are 12,000,000 yen, but no run is approved")
    assert f"run #{posted.id} (discarded)" in finding.message_en
    assert "令和7年度" in finding.message_ja and "承認済みの按分計算はありません" in finding.message_ja


def test_check_passes_a_year_with_a_reversed_run_and_its_successor(db, every_status):
    report = integrity.check(db, AUDITOR)
    assert report.ok, [finding.describe() for finding in report.findings]
    assert report.checked["fiscal years"] == 1


# --- what the application role can still do, and what names it -----------------------------------

def test_a_run_marked_approved_by_raw_sql_is_named_by_check(db, finance, year):
    """The role may make a drawn move without the operation: marking a reviewed run approved posts
    nothing, and the check names the run whose entries are missing."""
    run = allocation_runs.create_run(db, finance, 2025)
    allocation_runs.review_run(db, REVIEWER, run.id)
    db.commit()
    with db.get_bind().begin() as connection:
        connection.execute(sa.text("UPDATE billing_run SET status = 'approved', approved_by = '誰か', "
                                   "posted_on = :day WHERE id = :id"), {"id": run.id, "day": dt.date(2025, 7, 31)})
    db.expire_all()
    report = integrity.check(db, AUDITOR)
    assert report.findings[0].check == "runs"
    assert f"run #{run.id} (FY2025) is approved but 5 of its 5 entries are not in the ledger" in report.findings[0].message_en


def test_a_review_by_raw_sql_does_not_let_the_runs_author_approve_it(db, finance, year):
    """A review written by raw SQL names whoever the role likes, but not who computed the run (the
    role cannot change created_by_key): that person still cannot approve it."""
    run = allocation_runs.create_run(db, finance, 2025)
    db.commit()
    with db.get_bind().begin() as connection:
        connection.execute(sa.text("UPDATE billing_run SET status = 'reviewed', reviewed_by = '誰か', "
                                   "reviewed_by_key = 'urn:x|someone' WHERE id = :id"), {"id": run.id})
    db.expire_all()
    with pytest.raises(FourEyesRefused):
        allocation_runs.approve_run(db, finance, run.id)
    db.rollback()
    assert status(db, run.id) == "reviewed"
    reviews = db.execute(sa.text("SELECT count(*) FROM audit_record WHERE action = 'billing.run.review' "
                                 "AND target_id = :id"), {"id": str(run.id)}).scalar_one()
    assert reviews == 0  # the audit log has no record of that review


def test_charges_posted_beside_the_approved_run_are_named_by_check(db, finance, year):
    """The role holds the ledger writer's rights: it can post any balanced entry. A charge and a
    matching cost (the year still balances) are named as not being the approved run's."""
    posted = approved_run(db, finance)
    legs = (ledger.debit(ledger.receivable("431001"), 500_000), ledger.credit(ledger.COST_RECOVERY, 500_000))
    ledger.post_entries(db, [
        ledger.NewEntry("extra:charge", models.EntryKind.charge, 2025, dt.date(2025, 8, 1), legs, tenant_code="431001"),
        ledger.NewEntry("extra:costs", models.EntryKind.cost, 2025, dt.date(2025, 8, 1),
                        (ledger.debit("cost:run", 500_000), ledger.credit(ledger.PAYABLE, 500_000))),
    ])
    db.commit()
    report = integrity.check(db, AUDITOR)
    assert [finding.check for finding in report.findings] == ["years"]
    assert report.findings[0].message_en == (
        f"FY2025: posted charges net of reversals are 12,500,000 yen, but approved run #{posted.id} costs "
        "12,000,000 yen; posted entries not of that run and not reversed: without a run: extra:charge, extra:costs")


def test_a_second_approved_run_is_named_when_the_owner_drops_the_guards(db, finance, year, owner_drops_the_run_guard):
    """With the guard and the one-posted-run index dropped, a second run marked approved is named."""
    first = approved_run(db, finance)
    second = allocation_runs.create_run(db, finance, 2025)
    allocation_runs.review_run(db, REVIEWER, second.id)
    owner_drops_the_run_guard()
    bind = owner_bind(db)
    try:
        with bind.begin() as connection:
            connection.execute(sa.text("DROP INDEX uq_billing_run_one_approved_per_year_kind"))
        with db.get_bind().begin() as connection:
            connection.execute(sa.text("UPDATE billing_run SET status = 'approved' WHERE id = :id"), {"id": second.id})
        db.expire_all()
        report = integrity.check(db, AUDITOR)
        assert not report.ok
        assert f"run #{second.id} (FY2025) is approved but" in report.findings[0].message_en
        assert report.findings[1].message_en.startswith(f"FY2025: 2 runs are approved (#{first.id}, #{second.id})")
    finally:
        if bind.dialect.name == "postgresql":
            db.commit()
            with bind.begin() as connection:
                connection.execute(sa.text("TRUNCATE billing_run, billing_run_line, billing_journal_entry, billing_posting CASCADE"))
                connection.execute(sa.text(
                    "CREATE UNIQUE INDEX uq_billing_run_one_approved_per_year_kind ON billing_run (fiscal_year, kind) "
                    "WHERE status = 'approved'"))


# --- one table, read by the code and the guard -------------------------------------------------------

def test_the_guard_is_generated_from_the_transition_table(monkeypatch):
    """Declaring a move (here the attack's, approved → computed) is all it takes for both the code and
    the database to allow it: the guard has no list of its own."""
    extra = run_lifecycle.RunMove("reopen", frozenset({RunStatus.approved}), RunStatus.computed, "再開")
    condition = "(OLD.status IN ('approved') AND NEW.status = 'computed')"
    assert condition not in run_guards.sqlite_run_guards(AllocationRun.__table__, models.RUN_ENTRY_KINDS)["billing_run_moves"]
    assert all(condition not in statement for statement in run_guards.pg_run_guard(AllocationRun.__table__, models.RUN_ENTRY_KINDS))
    monkeypatch.setitem(run_lifecycle.RUN_TRANSITIONS, "reopen", extra)
    assert condition in run_guards.sqlite_run_guards(AllocationRun.__table__, models.RUN_ENTRY_KINDS)["billing_run_moves"]
    assert condition in run_guards.pg_run_guard(AllocationRun.__table__, models.RUN_ENTRY_KINDS)[0]
    run = AllocationRun(id=1, fiscal_year=2025, status=RunStatus.approved, policy_id=1, total=0, snapshot_json=json.dumps({}))
    assert "reopen" in allocation_runs.allowed_run_actions(run)


def test_the_lifecycle_has_no_cycle():
    """Each move happens at most once per run, so a move's record is written once."""
    reachable = {status: set() for status in RunStatus}
    for move in run_lifecycle.RUN_TRANSITIONS.values():
        for source in move.sources:
            reachable[source].add(move.target)
    changed = True
    while changed:
        changed = False
        for status_, targets in reachable.items():
            more = set().union(*(reachable[t] for t in targets)) - targets if targets else set()
            if more:
                targets |= more
                changed = True
    assert all(status_ not in targets for status_, targets in reachable.items())
