"""A closed fiscal year closed to every write (issue 52 item 4): the closed-year guards of
billing.year_close_guards now refuse changing or deleting a journal entry of the year (so a pending
entry left from before the close is not posted, and no entry is moved into the year), any posting of
an entry of the year, changing or deleting an allocation run of the year or a line of it, and a
close of a year that holds pending entries.

Revision ID: 0097
Revises: 0096
Create Date: 2026-11-26 09:00:00

The statements are those create_all runs (billing.models installs billing.year_close_guards').
"""
from alembic import op

from billing.year_close_guards import CHILD_TABLES, closed_year_guards_pg, closed_year_guards_sqlite
from core.db import quoted_current_schema


revision = '0097'
down_revision = '0096'
branch_labels = None
depends_on = None

_NEW_SQLITE = [f"{table}_closed_year_{operation}" for table in ("billing_journal_entry", "billing_run")
               for operation in ("update", "delete")]
_NEW_SQLITE += [f"{table}_closed_year_{operation}" for table in CHILD_TABLES for operation in ("insert", "update", "delete")]
_NEW_SQLITE += ["billing_year_close_no_pending"]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for statement in closed_year_guards_pg(quoted_current_schema(bind)):
            op.execute(statement)
    elif bind.dialect.name == "sqlite":
        for name, statement in closed_year_guards_sqlite().items():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
            op.execute(statement)


def downgrade() -> None:
    """Back to 0055's refusals: the new triggers go; on PostgreSQL the entry's and the run's guards
    fire on INSERT only again (the close's own guard keeps refusing a year with pending entries)."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in _NEW_SQLITE:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        return
    schema = quoted_current_schema(bind)
    for table in CHILD_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_closed_year ON {schema}.{table}")
        op.execute(f"DROP FUNCTION IF EXISTS {schema}.{table}_closed_year()")
    for table in ("billing_journal_entry", "billing_run"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_closed_year ON {schema}.{table}")
        op.execute(f"CREATE TRIGGER {table}_closed_year BEFORE INSERT ON {schema}.{table} "
                   f"FOR EACH ROW EXECUTE FUNCTION {schema}.{table}_closed_year()")
