"""The database guards of a posted fiscal year, as DDL text for SQLite and PostgreSQL.

Two rules the application keeps (billing.operations, billing.allocation_runs) and the database keeps
again, so that the application's own role cannot break them with raw SQL:

* **A posted year's cost items are frozen.** While a run of the year is approved (posted, not
  reversed) and its kind fixes the year (:data:`billing.run_kinds.FREEZING_RUN_KINDS`: 確定 or 精算),
  no cost item of the year is inserted, changed or deleted, and no grant of the year is inserted,
  deleted or changed except for its fixed amount (額の確定 is recorded at any time). Under a 概算
  run the year stays open: the 精算 works from the actual costs.
* **One posted run per fiscal year and slot in the ledger.** A run's charge entry is posted only
  while no other run of the same slot (:data:`billing.run_kinds.RUN_KIND_SLOT`: 確定 and 概算 share
  one, 精算 has its own) has posted charges of the year that no posted reversal undoes. The unique
  index on approved runs per year and kind says the same of the runs' status; this rule holds even
  when a run's status was set back outside renkei, so a second run cannot charge the year twice.
* **A run's year and kind never change** (:data:`RUN_FIXED_COLUMNS`), nor what a 精算 settles.

``create_all`` installs them once every table exists (:mod:`billing.models`); migration 0056 runs
the same statements. No "%" in them: SQLAlchemy's DDL() treats it as a format character.
"""

from __future__ import annotations

from billing.run_kinds import FREEZING_RUN_KINDS, RUN_KIND_SLOT

_KINDS = ", ".join(f"'{kind.value}'" for kind in FREEZING_RUN_KINDS)
FROZEN = ("SELECT 1 FROM {t}billing_run r WHERE r.fiscal_year = {year} AND r.status = 'approved' "
          f"AND r.kind IN ({_KINDS})")
# the grant's columns that may change in a frozen year: its fixed amount and date
GRANT_FIXING = ("fixed_amount", "fixed_on")
GRANT_COLUMNS = ("fiscal_year", "name", "grantor", "rate", "categories", "item_ids", "applied_amount",
                 "decided_amount", "decided_on", "decision_reference")


RUN_FIXED_COLUMNS = ("fiscal_year", "kind", "settles_run_id")
_FIXED_MESSAGE = "the fiscal year and the kind of an allocation run never change"


def _slot(alias: str) -> str:
    cases = " ".join(f"WHEN '{kind.value}' THEN '{slot}'" for kind, slot in RUN_KIND_SLOT.items())
    return f"(CASE {alias}.kind {cases} END)"


def _twice_charged(t: str) -> str:
    """A SELECT of another run's standing posted charge of NEW's year in NEW's run's slot."""
    return (f"SELECT 1 FROM {t}billing_journal_entry e JOIN {t}billing_run r ON r.id = e.run_id "
            f"JOIN {t}billing_run mine ON mine.id = NEW.run_id "
            f"WHERE e.fiscal_year = NEW.fiscal_year AND e.kind = 'charge' AND e.status = 'posted' "
            f"AND e.reverses_id IS NULL AND e.run_id <> NEW.run_id AND {_slot('r')} = {_slot('mine')} "
            f"AND NOT EXISTS (SELECT 1 FROM {t}billing_journal_entry x WHERE x.reverses_id = e.id AND x.status = 'posted')")


_CHARGE_POSTED = ("NEW.status = 'posted' AND NEW.kind = 'charge' AND NEW.run_id IS NOT NULL "
                  "AND NEW.reverses_id IS NULL")
_FROZEN_MESSAGE = ("the fiscal year has a posted run that fixes it (確定 or 精算): {table} of that year cannot be "
                   "written; reverse the run first")
_TWICE_MESSAGE = ("another run of the same kind has posted charges of this fiscal year that are not reversed: "
                  "a year is charged once (確定 or 概算) and settled once (精算)")


def is_charged_twice(error: BaseException) -> bool:
    """Whether a database error is the refusal of :data:`_TWICE_MESSAGE` (either dialect, wrapped or not)."""
    return _TWICE_MESSAGE[:60] in str(error)


def posted_year_guards_sqlite() -> dict[str, str]:
    """Trigger name -> CREATE statement."""
    guards = {}
    for table, operations in (("billing_cost_item", ("INSERT", "UPDATE", "DELETE")),
                              ("billing_grant", ("INSERT", "UPDATE", "DELETE"))):
        for operation in operations:
            rows = ["OLD"] if operation == "DELETE" else ["NEW"] if operation == "INSERT" else ["NEW", "OLD"]
            condition = " OR ".join(f"EXISTS ({FROZEN.format(t='', year=f'{row}.fiscal_year')})" for row in rows)
            of = ""
            if table == "billing_grant" and operation == "UPDATE":
                of = f" OF {', '.join(GRANT_COLUMNS)}"
                changed = " OR ".join(f"NEW.{column} IS NOT OLD.{column}" for column in GRANT_COLUMNS)
                condition = f"({changed}) AND ({condition})"
            name = f"{table}_posted_year_{operation.lower()}"
            guards[name] = (f"CREATE TRIGGER {name} BEFORE {operation}{of} ON {table} WHEN {condition} "
                            f"BEGIN SELECT RAISE(ABORT, '{_FROZEN_MESSAGE.format(table=table)}'); END")
    guards["billing_run_fixed"] = (
        "CREATE TRIGGER billing_run_fixed BEFORE UPDATE ON billing_run WHEN "
        + " OR ".join(f"NEW.{column} IS NOT OLD.{column}" for column in RUN_FIXED_COLUMNS)
        + f" BEGIN SELECT RAISE(ABORT, '{_FIXED_MESSAGE}'); END")
    for operation, when in (("INSERT", _CHARGE_POSTED), ("UPDATE", f"OLD.status <> 'posted' AND {_CHARGE_POSTED}")):
        name = f"billing_journal_entry_charged_once_{operation.lower()}"
        of = " OF status" if operation == "UPDATE" else ""
        guards[name] = (f"CREATE TRIGGER {name} BEFORE {operation}{of} ON billing_journal_entry "
                        f"WHEN {when} AND EXISTS ({_twice_charged('')}) "
                        f"BEGIN SELECT RAISE(ABORT, '{_TWICE_MESSAGE}'); END")
    return guards


def posted_year_guards_pg(schema: str) -> list[str]:
    """The functions and triggers in ``schema`` (a quoted identifier)."""
    t = f"{schema}."
    options = "LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp"
    statements = []
    changed = " OR ".join(f"NEW.{column} IS DISTINCT FROM OLD.{column}" for column in GRANT_COLUMNS)
    for table, exempt in (("billing_cost_item", "FALSE"), ("billing_grant", f"TG_OP = 'UPDATE' AND NOT ({changed})")):
        row_year = "CASE WHEN TG_OP = 'DELETE' THEN OLD.fiscal_year ELSE NEW.fiscal_year END"
        old_year = "CASE WHEN TG_OP = 'UPDATE' THEN OLD.fiscal_year ELSE NULL END"
        body = f"""
BEGIN
    IF NOT ({exempt}) AND (EXISTS ({FROZEN.format(t=t, year=row_year)}) OR EXISTS ({FROZEN.format(t=t, year=old_year)})) THEN
        RAISE EXCEPTION USING ERRCODE = 'restrict_violation', MESSAGE = '{_FROZEN_MESSAGE.format(table=table)}';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END"""
        function = f"{table}_posted_year"
        statements += [
            f"CREATE OR REPLACE FUNCTION {t}{function}() RETURNS trigger {options} AS $guard${body}\n$guard$",
            f"DROP TRIGGER IF EXISTS {function} ON {t}{table}",
            f"CREATE TRIGGER {function} BEFORE INSERT OR UPDATE OR DELETE ON {t}{table} "
            f"FOR EACH ROW EXECUTE FUNCTION {t}{function}()",
        ]
    body = f"""
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.status = 'posted' THEN
            RETURN NEW;
        END IF;
    END IF;
    IF {_CHARGE_POSTED} AND EXISTS ({_twice_charged(t)}) THEN
        RAISE EXCEPTION USING ERRCODE = 'unique_violation', MESSAGE = '{_TWICE_MESSAGE}';
    END IF;
    RETURN NEW;
END"""
    fixed = " OR ".join(f"NEW.{column} IS DISTINCT FROM OLD.{column}" for column in RUN_FIXED_COLUMNS)
    statements += [
        f"CREATE OR REPLACE FUNCTION {t}billing_run_fixed() RETURNS trigger {options} AS $guard$\nBEGIN\n"
        f"    IF {fixed} THEN\n        RAISE EXCEPTION USING ERRCODE = 'restrict_violation', MESSAGE = '{_FIXED_MESSAGE}';\n"
        f"    END IF;\n    RETURN NEW;\nEND\n$guard$",
        f"DROP TRIGGER IF EXISTS billing_run_fixed ON {t}billing_run",
        f"CREATE TRIGGER billing_run_fixed BEFORE UPDATE ON {t}billing_run FOR EACH ROW EXECUTE FUNCTION {t}billing_run_fixed()",
    ]
    statements += [
        f"CREATE OR REPLACE FUNCTION {t}billing_journal_entry_charged_once() RETURNS trigger {options} AS $guard${body}\n$guard$",
        f"DROP TRIGGER IF EXISTS billing_journal_entry_charged_once ON {t}billing_journal_entry",
        f"CREATE TRIGGER billing_journal_entry_charged_once BEFORE INSERT OR UPDATE OF status ON {t}billing_journal_entry "
        f"FOR EACH ROW EXECUTE FUNCTION {t}billing_journal_entry_charged_once()",
    ]
    return statements


def drop_statements(dialect: str, schema: str = "") -> list[str]:
    """What removes the guards again (the migration's downgrade)."""
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {name}" for name in posted_year_guards_sqlite()]
    t = f"{schema}."
    drops = []
    for table in ("billing_cost_item", "billing_grant"):
        drops += [f"DROP TRIGGER IF EXISTS {table}_posted_year ON {t}{table}",
                  f"DROP FUNCTION IF EXISTS {t}{table}_posted_year()"]
    drops += [f"DROP TRIGGER IF EXISTS billing_run_fixed ON {t}billing_run", f"DROP FUNCTION IF EXISTS {t}billing_run_fixed()"]
    return drops + ["DROP TRIGGER IF EXISTS billing_journal_entry_charged_once ON "
                    f"{t}billing_journal_entry", f"DROP FUNCTION IF EXISTS {t}billing_journal_entry_charged_once()"]

