"""Usage per dataset (issue 22): a usage event may name a dataset of the register; ingest adds the
use of each dataset to its month figure (usage_dataset_month), which the monthly report reads

Revision ID: 0032
Revises: 0031
Create Date: 2026-11-23 19:30:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN (no table copy): on PostgreSQL usage_event is partitioned, and its partitions take the column
    op.add_column('usage_event', sa.Column('dataset', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
    op.create_table('usage_dataset_month',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('metric', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('tenant_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('dataset', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('events', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_dataset_month')),
    sa.UniqueConstraint('period_start', 'metric', 'tenant_code', 'dataset', name='uq_usage_dataset_month_key')
    )


def downgrade() -> None:
    op.drop_table('usage_dataset_month')
    op.drop_column('usage_event', 'dataset')
