"""Consent records completed (issue 37 item 8): a consent text's purposes required or optional, and
what ISO/IEC TS 27560 records of its processing (legal basis, 要配慮個人情報, processing operations,
jurisdiction, retention); the texts made before keep the defaults they were made under.

Revision ID: 0068
Revises: 0065
Create Date: 2026-11-25 09:30:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0068'
down_revision = '0065'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('consent_text') as batch:
        batch.add_column(sa.Column('legal_basis', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False,
                                   server_default='appi-27-1'))
        batch.add_column(sa.Column('special_care', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('processing', sa.Text(), nullable=False, server_default='["transfer", "store", "use"]'))
        batch.add_column(sa.Column('jurisdiction', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False,
                                   server_default='JP'))
        batch.add_column(sa.Column('retention_days', sa.Integer(), nullable=True))
    with op.batch_alter_table('consent_purpose') as batch:
        batch.add_column(sa.Column('required', sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table('consent_purpose') as batch:
        batch.drop_column('required')
    with op.batch_alter_table('consent_text') as batch:
        for column in ('retention_days', 'jurisdiction', 'processing', 'special_care', 'legal_basis'):
            batch.drop_column(column)
