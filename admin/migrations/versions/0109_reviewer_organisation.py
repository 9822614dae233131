"""Reviewers who are who they say (issue 59 item 3): competition_reviewer records the member organisations the
reviewer's account is tied to when assigned (their names and corporate numbers), what the conflicts renkei finds
are decided by. Reviewers assigned before keep empty values (no organisation found).

Revision ID: 0109
Revises: 0108
Create Date: 2026-11-27 02:40:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0109'
down_revision = '0108'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('competition_reviewer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organisation', sa.String(length=500), server_default='', nullable=False))
        batch_op.add_column(sa.Column('corporate_numbers', sa.String(length=500), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('competition_reviewer', schema=None) as batch_op:
        batch_op.drop_column('corporate_numbers')
        batch_op.drop_column('organisation')
