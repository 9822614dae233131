"""Budgets (予算): versions of a fiscal year's budget per cost category, adopted by the council

Revision ID: 0053
Revises: 0052
Create Date: 2026-11-25 04:10:00

billing_budget keeps every version (a revision, 補正, is a new one), at most one adopted a year;
billing_budget_line holds a version's amount per cost category. The cost category 一般管理費
(``overhead``) and the council change type ``adopt_budget`` are new values of plain string columns.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0053'
down_revision = '0052'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('billing_budget',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'adopted', 'superseded', name='budgetstatus', native_enum=False, length=32,
                                create_constraint=True), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('contract_ceiling', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('adopted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_ref', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.CheckConstraint('contract_ceiling IS NULL OR contract_ceiling >= 0', name=op.f('ck_billing_budget_ceiling_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_budget')),
    sa.UniqueConstraint('fiscal_year', 'version', name='uq_billing_budget_year_version')
    )
    with op.batch_alter_table('billing_budget', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_budget_fiscal_year'), ['fiscal_year'], unique=False)
        batch_op.create_index('uq_billing_budget_adopted', ['fiscal_year'], unique=True,
                              sqlite_where=sa.text("status = 'adopted'"), postgresql_where=sa.text("status = 'adopted'"))
    op.create_table('billing_budget_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('budget_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.Enum('build', 'run', 'overhead', name='costcategory', native_enum=False, length=32), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_billing_budget_line_amount_not_negative')),
    sa.ForeignKeyConstraint(['budget_id'], ['billing_budget.id'], name=op.f('fk_billing_budget_line_budget_id_billing_budget')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_budget_line')),
    sa.UniqueConstraint('budget_id', 'category', name='uq_billing_budget_line_category')
    )
    with op.batch_alter_table('billing_budget_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_budget_line_budget_id'), ['budget_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('billing_budget_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_budget_line_budget_id'))
    op.drop_table('billing_budget_line')
    with op.batch_alter_table('billing_budget', schema=None) as batch_op:
        batch_op.drop_index('uq_billing_budget_adopted')
        batch_op.drop_index(batch_op.f('ix_billing_budget_fiscal_year'))
    op.drop_table('billing_budget')
