"""Allocation runs: their database guard counts grant entries as the run's (a posted run leaves only
through its reversal, its grants' entries included)

Revision ID: 0054
Revises: 0053
Create Date: 2026-11-25 04:20:00

The statements are billing.models' (RUN_ENTRY_KINDS), as create_all installs them; the guard of
0016 is replaced.
"""
from alembic import op

from billing.models import ledger_guards_pg, ledger_guards_sqlite
from core.db import quoted_current_schema


revision = '0054'
down_revision = '0053'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for statement in ledger_guards_pg(quoted_current_schema(bind), "billing_run"):
            op.execute(statement)
    elif bind.dialect.name == "sqlite":
        for name, statement in ledger_guards_sqlite("billing_run").items():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
            op.execute(statement)


def downgrade() -> None:
    pass  # the guard of 0016 differs only in leaving grant entries out; keeping the wider one is safe
