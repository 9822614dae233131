"""Letters as issued (issue 52, item 3): billing_letter_file keeps the exact file of every issued letter
(納入通知書, 精算書, 負担金見込額; one row per edition: the first issue and each reissue) with its SHA-256;
prefecture_settings.seal says whether letters carry 「公印省略」 (omitted, the default) or the printed seal.

Revision ID: 0101
Revises: 0100
Create Date: 2026-11-26 12:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0101'
down_revision = '0100'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'billing_letter_file',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum('statement', 'estimate', name='letterfilekind', native_enum=False, length=16),
                  nullable=False),
        sa.Column('letter_id', sa.Integer(), nullable=False),
        sa.Column('edition', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=60), nullable=False),
        sa.Column('tenant_code', sa.String(length=6), nullable=False),
        sa.Column('fiscal_year', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('edition >= 0', name=op.f('ck_billing_letter_file_edition_not_negative')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_letter_file')),
        sa.UniqueConstraint('kind', 'letter_id', 'edition', name='uq_billing_letter_file_edition'),
    )
    op.add_column('prefecture_settings', sa.Column('seal', sa.Enum('omitted', 'printed', name='sealmark',
                                                                   native_enum=False, length=16),
                                                   nullable=False, server_default='omitted'))


def downgrade() -> None:
    op.drop_column('prefecture_settings', 'seal')
    op.drop_table('billing_letter_file')
