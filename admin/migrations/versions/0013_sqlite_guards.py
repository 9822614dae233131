"""SQLite guards: accounts fixed once used, receivables bound to their tenant, run lines fixed from review on, council resolutions fixed

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-23 10:00:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401


revision = '0013'
down_revision = '0011'
branch_labels = None
depends_on = None


from billing.models import ledger_guards_sqlite  # noqa: E402
from governance.models import resolution_guards_sqlite  # noqa: E402

# SQLite only: the SQLite forms of the guards PostgreSQL got in 0006 (billing_guard_account,
# billing_guard_run_line, council_guard_resolution), the same statements create_all runs.


def _guards() -> dict[str, str]:
    return {**ledger_guards_sqlite("billing_account"), **ledger_guards_sqlite("billing_run_line"),
            **resolution_guards_sqlite()}  # the runs' guards came in 0016


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, statement in _guards().items():
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in _guards():
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
