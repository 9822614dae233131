"""Closing a fiscal year (決算): billing_year_close and the guards that refuse writing to a closed year

Revision ID: 0055
Revises: 0054
Create Date: 2026-11-25 04:40:00

The guards are billing.year_close_guards' statements, as create_all installs them: while a year is
closed, no journal entry, cost item, grant or allocation run of it can be written, and the close
changes only to ``reopened`` with an adopted council resolution of type ``reopen_fiscal_year``.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

from billing.year_close_guards import closed_year_guards_pg, closed_year_guards_sqlite
from core.db import quoted_current_schema


revision = '0055'
down_revision = '0054'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('billing_year_close',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('requested', 'closed', 'withdrawn', 'reopened', name='yearclosestatus', native_enum=False,
                                length=32, create_constraint=True), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('requested_by_key', sqlmodel.sql.sqltypes.AutoString(length=600), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('statement_json', sa.Text(), server_default='', nullable=False),
    sa.Column('statement_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('reopened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reopen_resolution_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['reopen_resolution_id'], ['council_resolution.id'],
                            name=op.f('fk_billing_year_close_reopen_resolution_id_council_resolution')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_year_close'))
    )
    with op.batch_alter_table('billing_year_close', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_year_close_fiscal_year'), ['fiscal_year'], unique=False)
        batch_op.create_index('uq_billing_year_close_open', ['fiscal_year'], unique=True,
                              sqlite_where=sa.text("status IN ('requested', 'closed')"),
                              postgresql_where=sa.text("status IN ('requested', 'closed')"))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for statement in closed_year_guards_pg(quoted_current_schema(bind)):
            op.execute(statement)
    elif bind.dialect.name == "sqlite":
        for statement in closed_year_guards_sqlite().values():
            op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in closed_year_guards_sqlite():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        schema = quoted_current_schema(bind)
        for table in ("billing_journal_entry", "billing_cost_item", "billing_grant", "billing_run"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_closed_year ON {schema}.{table}")
            op.execute(f"DROP FUNCTION IF EXISTS {schema}.{table}_closed_year()")
        op.execute(f"DROP TRIGGER IF EXISTS billing_year_close_guard ON {schema}.billing_year_close")
        op.execute(f"DROP FUNCTION IF EXISTS {schema}.billing_year_close_guard()")
    with op.batch_alter_table('billing_year_close', schema=None) as batch_op:
        batch_op.drop_index('uq_billing_year_close_open')
        batch_op.drop_index(batch_op.f('ix_billing_year_close_fiscal_year'))
    op.drop_table('billing_year_close')
