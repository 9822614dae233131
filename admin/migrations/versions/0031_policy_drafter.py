"""Who drafted an allocation policy, by identity: the drafter alone may not adopt it (four eyes)

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-23 12:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('billing_policy', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by_key', sa.String(length=600), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('billing_policy', schema=None) as batch_op:
        batch_op.drop_column('created_by_key')
