"""A verdict bound to the distribution's file (issue 54 item 2): dataset_check.of_distribution says whether a check
was of the file the distribution serves (the dataset's verdict, its checksum the one the catalogue publishes) or of
another file only (kept in the history). Every check written before was the dataset's verdict when it was given: true.

Revision ID: 0105
Revises: 0104
Create Date: 2026-11-26 23:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0105'
down_revision = '0104'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('dataset_check', sa.Column('of_distribution', sa.Boolean(), nullable=False,
                                             server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table('dataset_check') as batch:
        batch.drop_column('of_distribution')
