"""Allocation runs get a kind (確定, 概算, 精算); a posted year's cost items are frozen in the database,
and a year is charged once per slot in the ledger

Revision ID: 0056
Revises: 0055
Create Date: 2026-11-25 06:30:00

Every existing run is ``final`` (確定), which is what it was. The unique index of approved runs per
year becomes one per year and kind. The guards are billing.posted_year_guards', as create_all installs them. On SQLite the table is rebuilt, which drops
its triggers and SQLite checks those that name it: they are set aside and written back.
"""
from alembic import op
import sqlalchemy as sa

from billing.models import ledger_guards_pg
from billing.posted_year_guards import drop_statements, posted_year_guards_pg, posted_year_guards_sqlite
from core.db import quoted_current_schema


revision = '0056'
down_revision = '0055'
branch_labels = None
depends_on = None


def _sqlite_set_aside() -> list[tuple[str, str]]:
    """SQLite checks every trigger when billing_run is rebuilt and renamed: those that name it are set
    aside (dropped) and written back afterwards, as they were."""
    bind = op.get_bind()
    found = bind.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND sql LIKE '%billing_run%'").all()
    for name, _ in found:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    return [(name, sql) for name, sql in found]


def _sqlite_put_back(triggers: list[tuple[str, str]]) -> None:
    for name, statement in triggers:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(statement)


def upgrade() -> None:
    bind = op.get_bind()
    aside = _sqlite_set_aside() if bind.dialect.name == "sqlite" else []
    with op.batch_alter_table('billing_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.Enum('final', 'provisional', 'settlement', name='runkind',
                                                      native_enum=False, length=32, create_constraint=True),
                                      server_default='final', nullable=False))
        batch_op.add_column(sa.Column('settles_run_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_billing_run_settles_run_id_billing_run'), 'billing_run',
                                    ['settles_run_id'], ['id'])
        batch_op.create_check_constraint(batch_op.f('ck_billing_run_settlement_settles_a_run'),
                                         "(kind = 'settlement') = (settles_run_id IS NOT NULL)")
        batch_op.drop_index('uq_billing_run_one_approved_per_year')
        batch_op.create_index('uq_billing_run_one_approved_per_year_kind', ['fiscal_year', 'kind'], unique=True,
                              sqlite_where=sa.text("status = 'approved'"), postgresql_where=sa.text("status = 'approved'"))
    if bind.dialect.name == "postgresql":
        schema = quoted_current_schema(bind)
        for statement in [*ledger_guards_pg(schema, "billing_run"), *posted_year_guards_pg(schema)]:
            op.execute(statement)
    elif bind.dialect.name == "sqlite":
        _sqlite_put_back(aside)
        _sqlite_put_back(list(posted_year_guards_sqlite().items()))


def downgrade() -> None:
    bind = op.get_bind()
    schema = quoted_current_schema(bind) if bind.dialect.name == "postgresql" else ""
    for statement in drop_statements(bind.dialect.name, schema):
        op.execute(statement)
    aside = _sqlite_set_aside() if bind.dialect.name == "sqlite" else []
    with op.batch_alter_table('billing_run', schema=None) as batch_op:
        batch_op.drop_index('uq_billing_run_one_approved_per_year_kind')
        batch_op.create_index('uq_billing_run_one_approved_per_year', ['fiscal_year'], unique=True,
                              sqlite_where=sa.text("status = 'approved'"), postgresql_where=sa.text("status = 'approved'"))
        batch_op.drop_constraint(batch_op.f('ck_billing_run_settlement_settles_a_run'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_billing_run_settles_run_id_billing_run'), type_='foreignkey')
        batch_op.drop_column('settles_run_id')
        batch_op.drop_column('kind')
    _sqlite_put_back(aside)
