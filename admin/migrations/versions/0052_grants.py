"""Grants (交付金) of a fiscal year: billing_grant

Revision ID: 0052
Revises: 0043
Create Date: 2026-11-25 04:00:00

A grant funds part of a year's costs; the municipalities share what the grants leave
(billing.allocation.apply_grants). Journal entries of the new kind ``grant`` need no change of
schema: the entry kind is a plain string column.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0052'
down_revision = '0043'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('billing_grant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('grantor', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('rate', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('categories', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('item_ids', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('applied_amount', sa.BigInteger(), nullable=True),
    sa.Column('decided_amount', sa.BigInteger(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('decision_reference', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('fixed_amount', sa.BigInteger(), nullable=True),
    sa.Column('fixed_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.CheckConstraint('applied_amount IS NULL OR applied_amount >= 0', name=op.f('ck_billing_grant_applied_not_negative')),
    sa.CheckConstraint('decided_amount IS NULL OR decided_amount >= 0', name=op.f('ck_billing_grant_decided_not_negative')),
    sa.CheckConstraint('fixed_amount IS NULL OR fixed_amount >= 0', name=op.f('ck_billing_grant_fixed_not_negative')),
    sa.CheckConstraint('(decided_amount IS NULL) = (decided_on IS NULL)', name=op.f('ck_billing_grant_decided_with_date')),
    sa.CheckConstraint('(fixed_amount IS NULL) = (fixed_on IS NULL)', name=op.f('ck_billing_grant_fixed_with_date')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_grant')),
    sa.UniqueConstraint('fiscal_year', 'name', name='uq_billing_grant_year_name')
    )
    with op.batch_alter_table('billing_grant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_grant_fiscal_year'), ['fiscal_year'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('billing_grant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_grant_fiscal_year'))
    op.drop_table('billing_grant')
