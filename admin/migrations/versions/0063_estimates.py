"""負担金見込額: the estimates issued to the municipalities for their budget requests (billing_estimate)

Revision ID: 0063
Revises: 0056
Create Date: 2026-11-25 06:50:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel



revision = '0063'
down_revision = '0056'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('billing_estimate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('tenant_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('tenant_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('components_json', sa.Text(), nullable=False),
    sa.Column('basis_json', sa.Text(), nullable=False),
    sa.Column('assumptions_json', sa.Text(), nullable=False),
    sa.Column('number_year', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('issued_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_billing_estimate_amount_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_estimate')),
    sa.UniqueConstraint('fiscal_year', 'version', 'tenant_code', name='uq_billing_estimate_year_version_tenant'),
    sa.UniqueConstraint('number_year', 'sequence', name='uq_billing_estimate_year_sequence')
    )
    with op.batch_alter_table('billing_estimate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_estimate_fiscal_year'), ['fiscal_year'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_estimate_tenant_code'), ['tenant_code'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('billing_estimate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_estimate_tenant_code'))
        batch_op.drop_index(batch_op.f('ix_billing_estimate_fiscal_year'))
    op.drop_table('billing_estimate')
