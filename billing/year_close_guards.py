"""The database guards of a closed fiscal year (決算), as DDL text for SQLite and PostgreSQL.

While a row of ``billing_year_close`` for a year is ``closed``, the database refuses:

* a journal entry of the year (``billing_journal_entry.fiscal_year``), so no posting, payment,
  reversal or settlement can be dated in it;
* inserting, changing or deleting a cost item or a grant of the year;
* creating an allocation run of the year;
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
    "billing_journal_entry": ("INSERT",),
    "billing_cost_item": ("INSERT", "UPDATE", "DELETE"),
    "billing_grant": ("INSERT", "UPDATE", "DELETE"),
    "billing_run": ("INSERT",),
}
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


def closed_year_guards_pg(schema: str) -> list[str]:
    """The functions and triggers in ``schema`` (a quoted identifier)."""
    t = f"{schema}."
    options = "LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp"
    statements = []
    for table, operations in YEAR_TABLES.items():
        row_year = ("CASE WHEN TG_OP = 'DELETE' THEN OLD.fiscal_year ELSE NEW.fiscal_year END")
        old_year = "CASE WHEN TG_OP = 'UPDATE' THEN OLD.fiscal_year ELSE NULL END"
        body = f"""
BEGIN
    IF EXISTS ({CLOSED.format(t=t, year=row_year)}) OR EXISTS ({CLOSED.format(t=t, year=old_year)}) THEN
        RAISE EXCEPTION USING ERRCODE = 'restrict_violation', MESSAGE = '{_message(table)}';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END"""
        function = f"{table}_closed_year"
        statements += [
            f"CREATE OR REPLACE FUNCTION {t}{function}() RETURNS trigger {options} AS $guard${body}\n$guard$",
            f"DROP TRIGGER IF EXISTS {function} ON {t}{table}",
            f"CREATE TRIGGER {function} BEFORE {' OR '.join(operations)} ON {t}{table} "
            f"FOR EACH ROW EXECUTE FUNCTION {t}{function}()",
        ]
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
    RETURN NEW;
END"""
    statements += [
        f"CREATE OR REPLACE FUNCTION {t}billing_year_close_guard() RETURNS trigger {options} AS $guard${body}\n$guard$",
        f"DROP TRIGGER IF EXISTS billing_year_close_guard ON {t}billing_year_close",
        f"CREATE TRIGGER billing_year_close_guard BEFORE INSERT OR UPDATE OR DELETE ON {t}billing_year_close "
        f"FOR EACH ROW EXECUTE FUNCTION {t}billing_year_close_guard()",
    ]
    return statements
