"""The grant's results report (issue 57 item 7): kpi_target, a fiscal year's target of one indicator (成果指標).

Revision ID: 0118
Revises: 0117
Create Date: 2026-12-01 08:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0118'
down_revision = '0117'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'kpi_target',
        sa.Column('fiscal_year', sa.Integer(), nullable=False),
        sa.Column('kpi', sa.Enum('municipalities', 'services', 'datasets', 'api_calls', 'members', 'residents',
                                 name='kpi', native_enum=False, length=32), nullable=False),
        sa.Column('target', sa.BigInteger(), nullable=False),
        sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('set_by', sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint('fiscal_year', 'kpi', name=op.f('pk_kpi_target')),
    )


def downgrade() -> None:
    op.drop_table('kpi_target')
