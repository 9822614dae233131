"""Reminders (issue 52, item 2): billing_reminder holds each 督促状 sent for a statement unpaid after its
due date: its number (the office's one letter sequence), the letter it follows, the amount unpaid, the new
納期限 and, once the statement is paid off, the day it was. Its file is kept in billing_letter_file (kind
'reminder', a value of the unchecked kind column: no change there).

Revision ID: 0102
Revises: 0101
Create Date: 2026-11-26 15:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0102'
down_revision = '0101'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'billing_reminder',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('document_id', sa.Integer(), nullable=False),
        sa.Column('tenant_code', sa.String(length=6), nullable=False),
        sa.Column('fiscal_year', sa.Integer(), nullable=False),
        sa.Column('number_year', sa.Integer(), nullable=False),
        sa.Column('sequence', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=60), nullable=False),
        sa.Column('issued_on', sa.Date(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('issued_by', sa.String(length=255), nullable=False),
        sa.Column('paid_on', sa.Date(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('amount > 0', name=op.f('ck_billing_reminder_amount_positive')),
        sa.CheckConstraint('due_on > issued_on', name=op.f('ck_billing_reminder_due_after_issue')),
        sa.ForeignKeyConstraint(['document_id'], ['billing_statement_document.id'],
                                name=op.f('fk_billing_reminder_document_id_billing_statement_document')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_reminder')),
        sa.UniqueConstraint('tenant_code', 'fiscal_year', 'due_on', name='uq_billing_reminder_statement_due'),
        sa.UniqueConstraint('number_year', 'sequence', name='uq_billing_reminder_year_sequence'),
    )
    op.create_index(op.f('ix_billing_reminder_document_id'), 'billing_reminder', ['document_id'], unique=False)
    op.create_index(op.f('ix_billing_reminder_tenant_code'), 'billing_reminder', ['tenant_code'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_billing_reminder_tenant_code'), table_name='billing_reminder')
    op.drop_index(op.f('ix_billing_reminder_document_id'), table_name='billing_reminder')
    op.drop_table('billing_reminder')
