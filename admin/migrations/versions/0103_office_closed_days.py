"""The office's own closed days (issue 57 item 8): prefecture_settings.closed_days, ISO dates one per line, which
every due date counted in business days skips beside weekends, public holidays and the year-end closure.

Revision ID: 0103
Revises: 0102
Create Date: 2026-11-26 18:20:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0103'
down_revision = '0102'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('prefecture_settings', sa.Column('closed_days', sa.Text(), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('prefecture_settings') as batch:
        batch.drop_column('closed_days')
