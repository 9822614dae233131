"""Allocation runs: the database guard of their lifecycle, generated from billing.models.RUN_TRANSITIONS

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23 09:30:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


from billing.models import ledger_guards_pg, ledger_guards_sqlite  # noqa: E402
from core.db import quoted_current_schema  # noqa: E402

# The same statements create_all runs: on PostgreSQL the function billing_guard_run and its
# trigger billing_run_moves; on SQLite the triggers billing_run_*. A run's status moves only along
# its declared transitions, each move's record is written once, and a posted run leaves only through
# its reversal. The one posted run per fiscal year is the partial unique index of 0001
# (uq_billing_run_one_approved_per_year), which these guards keep from being stepped around.


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
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        schema = quoted_current_schema(bind)
        op.execute(f"DROP TRIGGER IF EXISTS billing_run_moves ON {schema}.billing_run")
        op.execute(f"DROP FUNCTION IF EXISTS {schema}.billing_guard_run()")
    elif bind.dialect.name == "sqlite":
        for name in ledger_guards_sqlite("billing_run"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
