"""The yearly account review (issue 57 item 6): account_review, one a tenant and fiscal year, attested by the
municipal admin; account_review_entry, what was decided for each person (kept, disabled, handed over).

Revision ID: 0112
Revises: 0111
Create Date: 2026-11-27 06:30:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0112'
down_revision = '0111'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'account_review',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_code', sa.String(length=6), nullable=False),
        sa.Column('fiscal_year', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_by', sa.String(length=255), nullable=False),
        sa.Column('attested_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('attested_by', sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_account_review')),
        sa.UniqueConstraint('tenant_code', 'fiscal_year', name=op.f('uq_account_review_tenant_code')),
    )
    op.create_index(op.f('ix_account_review_tenant_code'), 'account_review', ['tenant_code'], unique=False)
    op.create_index(op.f('ix_account_review_fiscal_year'), 'account_review', ['fiscal_year'], unique=False)
    op.create_table(
        'account_review_entry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('review_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('username', sa.String(length=255), nullable=False),
        sa.Column('decision', sa.String(length=16), nullable=False),
        sa.Column('successor_id', sa.String(length=64), nullable=False),
        sa.Column('last_sign_in', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_by', sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(['review_id'], ['account_review.id'],
                                name=op.f('fk_account_review_entry_review_id_account_review')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_account_review_entry')),
        sa.UniqueConstraint('review_id', 'user_id', name=op.f('uq_account_review_entry_review_id')),
    )
    op.create_index(op.f('ix_account_review_entry_review_id'), 'account_review_entry', ['review_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_account_review_entry_review_id'), table_name='account_review_entry')
    op.drop_table('account_review_entry')
    op.drop_index(op.f('ix_account_review_fiscal_year'), table_name='account_review')
    op.drop_index(op.f('ix_account_review_tenant_code'), table_name='account_review')
    op.drop_table('account_review')
