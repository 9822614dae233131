"""The database guards of a closed fiscal year (決算), as DDL text for SQLite and PostgreSQL.

While a row of ``billing_year_close`` for a year is ``closed``, the database refuses:

* inserting, changing or deleting a journal entry of the year (``billing_journal_entry.fiscal_year``),
  so no posting, payment, reversal or settlement can be dated in it, a pending entry of the year
  left from before the close cannot be posted, and no entry can be moved into (or out of) the year;
* inserting, changing or deleting a posting (leg) of an entry of the year;
* inserting, changing or deleting a cost item or a grant of the year;
* creating, changing (its snapshot, status, any field) or deleting an allocation run of the year, or
  a line of such a run;
* closing a year that holds pending journal entries (the close operation refuses it in words first);
* moving the close itself anywhere but ``reopened``, and that only with a council resolution that
  was adopted on a proposal of type ``reopen_fiscal_year``; a close row is never deleted.

They hold for the application's own role with raw SQL (the triggers and functions belong to the
schema owner). ``create_all`` installs them once every table exists (:mod:`billing.models`), the
migration that created ``billing_year_close`` runs the same statements. No "%" in them: SQLAlchemy's
DDL() treats it as a format character.
"""

from __future__ import annotations

CLOSED = "SELECT 1 FROM {t}billing_year_close c WHERE c.fiscal_year = {year} AND c.status = 'closed'"
# the tables whose rows carry a fiscal year, and the statements refused on them
YEAR_TABLES: dict[str, tuple[str, ...]] = {
    "billing_journal_entry": ("INSERT", "UPDATE", "DELETE"),
    "billing_cost_item": ("INSERT", "UPDATE", "DELETE"),
    "billing_grant": ("INSERT", "UPDATE", "DELETE"),
    "billing_run": ("INSERT", "UPDATE", "DELETE"),
}
# the tables whose rows belong to a row carrying the year: (table, parent table, the row's reference)
CHILD_TABLES: dict[str, tuple[str, str]] = {
    "billing_posting": ("billing_journal_entry", "entry_id"),
    "billing_run_line": ("billing_run", "run_id"),
}
CHILD_CLOSED = ("SELECT 1 FROM {t}{parent} p JOIN {t}billing_year_close c ON c.fiscal_year = p.fiscal_year "
                "WHERE p.id = {ref} AND c.status = 'closed'")
PENDING = "SELECT 1 FROM {t}billing_journal_entry e WHERE e.fiscal_year = NEW.fiscal_year AND e.status = 'pending'"
PENDING_MESSAGE = ("the fiscal year holds pending journal entries: a year is closed only when none of its entries "
                   "is pending; post or delete them first")
REOPENING_RESOLUTION = (
    "SELECT 1 FROM {t}council_resolution r JOIN {t}council_proposal p ON p.id = r.proposal_id "
    "WHERE r.id = NEW.reopen_resolution_id AND r.adopted AND p.change_type = 'reopen_fiscal_year'")


def _message(table: str) -> str:
    return f"the fiscal year is closed (決算): {table} of that year cannot be written; the council may reopen it"


def closed_year_guards_sqlite() -> dict[str, str]:
    """Trigger name -> CREATE statement."""
    guards = {}
    for table, operations in YEAR_TABLES.items():
        for operation in operations:
            rows = ["OLD"] if operation == "DELETE" else ["NEW"] if operation == "INSERT" else ["NEW", "OLD"]
            condition = " OR ".join(f"EXISTS ({CLOSED.format(t='', year=f'{row}.fiscal_year')})" for row in rows)
            name = f"{table}_closed_year_{operation.lower()}"
            guards[name] = (f"CREATE TRIGGER {name} BEFORE {operation} ON {table} WHEN {condition} "
                            f"BEGIN SELECT RAISE(ABORT, '{_message(table)}'); END")
    for table, (parent, reference) in CHILD_TABLES.items():
        for operation in ("INSERT", "UPDATE", "DELETE"):
            rows = ["OLD"] if operation == "DELETE" else ["NEW"] if operation == "INSERT" else ["NEW", "OLD"]
            condition = " OR ".join(
                f"EXISTS ({CHILD_CLOSED.format(t='', parent=parent, ref=f'{row}.{reference}')})" for row in rows)
            name = f"{table}_closed_year_{operation.lower()}"
            guards[name] = (f"CREATE TRIGGER {name} BEFORE {operation} ON {table} WHEN {condition} "
                            f"BEGIN SELECT RAISE(ABORT, '{_message(table)}'); END")
    guards["billing_year_close_no_pending"] = (
        "CREATE TRIGGER billing_year_close_no_pending BEFORE UPDATE OF status ON billing_year_close "
        f"WHEN NEW.status = 'closed' AND OLD.status <> 'closed' AND EXISTS ({PENDING.format(t='')}) "
        f"BEGIN SELECT RAISE(ABORT, '{PENDING_MESSAGE}'); END")
    guards["billing_year_close_moves"] = (
        "CREATE TRIGGER billing_year_close_moves BEFORE UPDATE ON billing_year_close "
        "WHEN OLD.status IN ('closed', 'reopened', 'withdrawn') AND NOT (OLD.status = 'closed' AND NEW.status = 'reopened' "
        f"AND NEW.fiscal_year = OLD.fiscal_year AND NEW.statement_sha256 = OLD.statement_sha256 AND EXISTS ({REOPENING_RESOLUTION.format(t='')})) "
        "BEGIN SELECT RAISE(ABORT, 'a closed fiscal year reopens only by a council resolution to reopen it; "
        "a reopened or withdrawn close does not change'); END")
    guards["billing_year_close_born"] = (
        "CREATE TRIGGER billing_year_close_born BEFORE INSERT ON billing_year_close WHEN NEW.status <> 'requested' "
        "BEGIN SELECT RAISE(ABORT, 'a fiscal year close is created requested, then closed by a second person'); END")
    guards["billing_year_close_kept"] = (
        "CREATE TRIGGER billing_year_close_kept BEFORE DELETE ON billing_year_close "
        "BEGIN SELECT RAISE(ABORT, 'a fiscal year close is kept'); END")
    return guards


_PG_OPTIONS = "LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp"


def _refusing_trigger(t: str, table: str, operations, condition: str) -> list[str]:
    """The function and the row trigger on ``table`` refusing ``operations`` while ``condition`` holds (a year
    closed), with the table's words."""
    body = f"""
BEGIN
    IF {condition} THEN
        RAISE EXCEPTION USING ERRCODE = 'restrict_violation', MESSAGE = '{_message(table)}';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END"""
    function = f"{table}_closed_year"
    return [
        f"CREATE OR REPLACE FUNCTION {t}{function}() RETURNS trigger {_PG_OPTIONS} AS $guard${body}\n$guard$",
        f"DROP TRIGGER IF EXISTS {function} ON {t}{table}",
        f"CREATE TRIGGER {function} BEFORE {' OR '.join(operations)} ON {t}{table} "
        f"FOR EACH ROW EXECUTE FUNCTION {t}{function}()",
    ]


def closed_year_guards_pg(schema: str) -> list[str]:
    """The functions and triggers in ``schema`` (a quoted identifier)."""
    t = f"{schema}."
    options = _PG_OPTIONS
    statements = []
    for table, operations in YEAR_TABLES.items():
        row_year = ("CASE WHEN TG_OP = 'DELETE' THEN OLD.fiscal_year ELSE NEW.fiscal_year END")
        old_year = "CASE WHEN TG_OP = 'UPDATE' THEN OLD.fiscal_year ELSE NULL END"
        statements += _refusing_trigger(
            t, table, operations,
            f"EXISTS ({CLOSED.format(t=t, year=row_year)}) OR EXISTS ({CLOSED.format(t=t, year=old_year)})")
    for table, (parent, reference) in CHILD_TABLES.items():
        row_ref = f"CASE WHEN TG_OP = 'DELETE' THEN OLD.{reference} ELSE NEW.{reference} END"
        old_ref = f"CASE WHEN TG_OP = 'UPDATE' THEN OLD.{reference} ELSE NULL END"
        statements += _refusing_trigger(
            t, table, ("INSERT", "UPDATE", "DELETE"),
            f"EXISTS ({CHILD_CLOSED.format(t=t, parent=parent, ref=row_ref)})\n"
            f"            OR EXISTS ({CHILD_CLOSED.format(t=t, parent=parent, ref=old_ref)})")
    body = f"""
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION USING ERRCODE = 'restrict_violation', MESSAGE = 'a fiscal year close is kept';
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'requested' THEN
            RAISE EXCEPTION USING ERRCODE = 'check_violation',
                MESSAGE = 'a fiscal year close is created requested, then closed by a second person';
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.status IN ('closed', 'reopened', 'withdrawn') AND NOT (OLD.status = 'closed' AND NEW.status = 'reopened'
            AND NEW.fiscal_year = OLD.fiscal_year AND NEW.statement_sha256 = OLD.statement_sha256
            AND EXISTS ({REOPENING_RESOLUTION.format(t=t)})) THEN
        RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
            MESSAGE = 'a closed fiscal year reopens only by a council resolution to reopen it; a reopened or withdrawn close does not change';
    END IF;
    IF NEW.status = 'closed' AND OLD.status <> 'closed' AND EXISTS ({PENDING.format(t=t)}) THEN
        RAISE EXCEPTION USING ERRCODE = 'restrict_violation', MESSAGE = '{PENDING_MESSAGE}';
    END IF;
    RETURN NEW;
END"""
    statements += [
        f"CREATE OR REPLACE FUNCTION {t}billing_year_close_guard() RETURNS trigger {options} AS $guard${body}\n$guard$",
        f"DROP TRIGGER IF EXISTS billing_year_close_guard ON {t}billing_year_close",
        f"CREATE TRIGGER billing_year_close_guard BEFORE INSERT OR UPDATE OR DELETE ON {t}billing_year_close "
        f"FOR EACH ROW EXECUTE FUNCTION {t}billing_year_close_guard()",
    ]
    return statements
