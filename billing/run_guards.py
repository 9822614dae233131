"""The database guard of allocation runs, generated from :data:`billing.run_lifecycle.RUN_TRANSITIONS`.

A run's status moves only along RUN_TRANSITIONS; each move's record columns change only in the
statement making that move (so once); its flags only go from true to false; and a move to any
status but RUN_POSTED_STATUS is refused while one of the run's posted charges or costs has no
posted reversal (an approved run leaves only through its reversal, and no discarded or reviewed
run keeps charges in the ledger). A run is inserted in RUN_INITIAL_STATUS with no move recorded.
The PostgreSQL function and the SQLite triggers are both built from the table here: the
conditions once, in each dialect's spelling; ``{t}`` is the table prefix (the schema on PostgreSQL).

:mod:`billing.models` installs them with the tables (and the migrations reuse the same text through
its ``ledger_guards_pg`` and ``ledger_guards_sqlite``).
"""

from __future__ import annotations

import enum

import sqlalchemy as sa

from billing.ledger_guards import _pg_function, _pg_trigger
from billing.run_lifecycle import RUN_INITIAL_STATUS, RUN_POSTED_STATUS, RUN_TRANSITIONS, RunMove


def _sql_list(values) -> str:
    return ", ".join(f"'{value.value if isinstance(value, enum.Enum) else value}'" for value in values)


def _run_move_condition(move: RunMove) -> str:
    return f"(OLD.status IN ({_sql_list(sorted(move.sources, key=lambda s: s.value))}) AND NEW.status = '{move.target.value}')"


def _run_moves_text() -> str:
    return "; ".join(f"{m.name} ({', '.join(sorted(s.value for s in m.sources))} -> {m.target.value})"
                     for m in RUN_TRANSITIONS.values())


def _run_record_columns() -> list[str]:
    return list(dict.fromkeys(column for move in RUN_TRANSITIONS.values() for column in move.records))


def _run_flag_columns() -> list[str]:
    return list(dict.fromkeys(column for move in RUN_TRANSITIONS.values() for column in move.lowers))


def _run_unrecorded(table: sa.Table, column: str, side: str = "NEW") -> str:
    """``column`` of ``side`` holds no record yet: NULL, or '' for a text column that is never NULL."""
    sa_column = table.c[column]
    if sa_column.nullable:
        return f"{side}.{column} IS NULL"
    kind = sa_column.type.impl_instance if isinstance(sa_column.type, sa.TypeDecorator) else sa_column.type
    if not isinstance(kind, sa.String):  # pragma: no cover - a declaration error, found at import
        raise TypeError(f"billing_run.{column} records a move: it must be nullable or text")
    return f"{side}.{column} = ''"


def _run_born_condition(table: sa.Table) -> str:
    """What an inserted run must satisfy."""
    return " AND ".join([f"NEW.status = '{RUN_INITIAL_STATUS.value}'",
                         *(_run_unrecorded(table, column) for column in _run_record_columns())])




def _run_unreversed_entry(t: str, entry_kinds) -> str:
    """A SELECT of the run's (NEW's) posted charges, costs and grants that no posted reversal undoes."""
    return (f"SELECT e.idempotency_key FROM {t}billing_journal_entry e WHERE e.run_id = NEW.id AND e.status = 'posted' "
            f"AND e.reverses_id IS NULL AND e.kind IN ({_sql_list(entry_kinds)}) AND NOT EXISTS (SELECT 1 FROM "
            f"{t}billing_journal_entry r WHERE r.reverses_id = e.id AND r.status = 'posted')")


def _run_column_changed(column: str, dialect: str) -> str:
    return f"NEW.{column} IS {'DISTINCT FROM' if dialect == 'postgresql' else 'NOT'} OLD.{column}"


def _run_column_guards(table: sa.Table, dialect: str) -> list[tuple[str, str, str]]:
    """(column, condition refusing the update, what the column is for): one per record and flag column."""
    guards = []
    for column in _run_record_columns():
        moves = [m for m in RUN_TRANSITIONS.values() if column in m.records]
        allowed = " OR ".join(_run_move_condition(m) for m in moves)
        guards.append((column, f"{_run_column_changed(column, dialect)} AND NOT (({allowed}) AND {_run_unrecorded(table, column, 'OLD')})",
                       f"is written once, by the {' or '.join(m.name for m in moves)} move"))
    for column in _run_flag_columns():
        moves = [m for m in RUN_TRANSITIONS.values() if column in m.lowers]
        allowed = " OR ".join(_run_move_condition(m) for m in moves)
        guards.append((column, f"{_run_column_changed(column, dialect)} AND (NEW.{column} OR NOT ({allowed}))",
                       f"is only switched off, by the {' or '.join(m.name for m in moves)} move"))
    return guards


def _run_leaves_posted_entries(dialect: str, t: str, entry_kinds) -> str:
    return (f"{_run_column_changed('status', dialect)} AND NEW.status <> '{RUN_POSTED_STATUS.value}' "
            f"AND EXISTS ({_run_unreversed_entry(t, entry_kinds)})")


def pg_run_guard(table: sa.Table, entry_kinds) -> list[str]:
    """The PostgreSQL function and trigger guarding ``table`` (billing_run); ``entry_kinds`` are the kinds a run posts."""
    moves = " OR ".join(_run_move_condition(m) for m in RUN_TRANSITIONS.values())
    columns = "\n".join(f"""    IF {condition} THEN
        RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
            MESSAGE = '{column} of allocation run ' || OLD.id || ' {what}';
    END IF;""" for column, condition, what in _run_column_guards(table, "postgresql"))
    body = f"""
DECLARE
    entry_key text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NOT ({_run_born_condition(table)}) THEN
            RAISE EXCEPTION USING ERRCODE = 'check_violation',
                MESSAGE = 'an allocation run is created {RUN_INITIAL_STATUS.value}, with no review, approval or reversal recorded';
        END IF;
        RETURN NEW;
    END IF;
    IF {_run_column_changed('status', 'postgresql')} AND NOT ({moves}) THEN
        RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
            MESSAGE = 'allocation run ' || OLD.id || ' cannot move from ' || OLD.status || ' to ' || NEW.status
                      || '; its only moves are {_run_moves_text()}';
    END IF;
{columns}
    IF {_run_column_changed('status', 'postgresql')} AND NEW.status <> '{RUN_POSTED_STATUS.value}' THEN
        {_run_unreversed_entry('{s}.', entry_kinds)} LIMIT 1 INTO entry_key;
        IF entry_key IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
                MESSAGE = 'allocation run ' || OLD.id || ' cannot become ' || NEW.status || ': its posted entry '
                          || entry_key || ' is not reversed (a posted run leaves only through its reversal)';
        END IF;
    END IF;
    RETURN NEW;
END"""
    return [_pg_function("billing_guard_run", body),
            *_pg_trigger("billing_run_moves", "billing_run", """CREATE TRIGGER billing_run_moves
    BEFORE INSERT OR UPDATE ON {s}.billing_run
    FOR EACH ROW EXECUTE FUNCTION {s}.billing_guard_run()""")]


def sqlite_run_guards(table: sa.Table, entry_kinds) -> dict[str, str]:
    """The SQLite triggers guarding ``table`` (billing_run): trigger name -> CREATE statement."""
    moves = " OR ".join(_run_move_condition(m) for m in RUN_TRANSITIONS.values())
    guards = {
        "billing_run_born": f"""
    CREATE TRIGGER billing_run_born BEFORE INSERT ON billing_run
    WHEN NOT ({_run_born_condition(table)})
    BEGIN SELECT RAISE(ABORT, 'an allocation run is created {RUN_INITIAL_STATUS.value}, with no review, approval or reversal recorded'); END""",
        "billing_run_moves": f"""
    CREATE TRIGGER billing_run_moves BEFORE UPDATE OF status ON billing_run
    WHEN {_run_column_changed('status', 'sqlite')} AND NOT ({moves})
    BEGIN SELECT RAISE(ABORT, 'an allocation run moves only along its transitions: {_run_moves_text()}'); END""",
        "billing_run_leaves_reversed": f"""
    CREATE TRIGGER billing_run_leaves_reversed BEFORE UPDATE OF status ON billing_run
    WHEN ({moves}) AND {_run_leaves_posted_entries('sqlite', '', entry_kinds)}
    BEGIN SELECT RAISE(ABORT, 'the allocation run has posted entries that are not reversed: it stays {RUN_POSTED_STATUS.value} until reversed'); END""",
    }
    for column, condition, what in _run_column_guards(table, "sqlite"):
        name = f"billing_run_{column}_{'once' if column in _run_record_columns() else 'only_off'}"
        guards[name] = f"""
    CREATE TRIGGER {name} BEFORE UPDATE OF {column} ON billing_run
    WHEN {condition}
    BEGIN SELECT RAISE(ABORT, '{column} of an allocation run {what}'); END"""
    return guards
