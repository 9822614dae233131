"""One residents' portal for every member municipality (issue 56 item 1): resident_portal_municipality holds, per
municipality that has chosen, whether its residents sign in at the portal and the words it shows them, who changed
it and when.

Revision ID: 0124
Revises: 0123
Create Date: 2026-11-28 21:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0124'
down_revision = '0123'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'resident_portal_municipality',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_code', sa.String(length=6), nullable=False),
        sa.Column('opted_in', sa.Boolean(), nullable=False),
        sa.Column('welcome_ja', sa.Text(), server_default='', nullable=False),
        sa.Column('welcome_en', sa.Text(), server_default='', nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('changed_by', sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_portal_municipality')),
        sa.UniqueConstraint('tenant_code', name=op.f('uq_resident_portal_municipality_tenant_code')),
    )


def downgrade() -> None:
    op.drop_table('resident_portal_municipality')
