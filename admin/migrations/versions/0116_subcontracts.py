"""Subcontracting (issue 57 item 3): subcontract, a contractor's request for approval of a subcontractor (who,
which part of the work, why, the amount and the period) and the prefecture's decision.

Revision ID: 0116
Revises: 0115
Create Date: 2026-11-27 08:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0116'
down_revision = '0115'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'subcontract',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('contractor', sa.Enum('secretariat', 'vendor', name='contractor', native_enum=False, length=16,
                                        create_constraint=True), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('corporate_number', sa.String(length=13), nullable=False),
        sa.Column('address', sa.String(length=300), nullable=False),
        sa.Column('scope', sa.Text(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('amount_yen', sa.BigInteger(), nullable=True),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('status', sa.Enum('pending', 'approved', 'refused', 'withdrawn', 'ended', name='subcontractstatus',
                                    native_enum=False, length=16, create_constraint=True), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('requested_by', sa.String(length=200), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decided_by', sa.String(length=200), nullable=False),
        sa.Column('refusal_reason', sa.Text(), server_default='', nullable=False),
        sa.Column('closed_on', sa.Date(), nullable=True),
        sa.Column('closed_by', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_subcontract')),
    )
    op.create_index(op.f('ix_subcontract_contractor'), 'subcontract', ['contractor'], unique=False)
    op.create_index(op.f('ix_subcontract_status'), 'subcontract', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_subcontract_status'), table_name='subcontract')
    op.drop_index(op.f('ix_subcontract_contractor'), table_name='subcontract')
    op.drop_table('subcontract')
