"""Payments from the bank's files (issue 52 item 1): the files imported, their credit lines, the link from a
payment entry to the bank line it records, and the manual payments two people decide (billing.bank_models).

Revision ID: 0099
Revises: 0098
Create Date: 2026-11-26 11:16:46
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0099'
down_revision = '0098'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('billing_bank_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('account', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('credit_count', sa.Integer(), nullable=False),
    sa.Column('credit_total', sa.BigInteger(), nullable=False),
    sa.Column('refused_lines', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('imported_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_bank_file')),
    sa.UniqueConstraint('sha256', name=op.f('uq_billing_bank_file_sha256'))
    )
    op.create_table('billing_bank_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('identity', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('booked_on', sa.Date(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('payer', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
    sa.Column('bank_ref', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('sender_bank', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_billing_bank_line_amount_positive')),
    sa.ForeignKeyConstraint(['file_id'], ['billing_bank_file.id'], name=op.f('fk_billing_bank_line_file_id_billing_bank_file')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_bank_line')),
    sa.UniqueConstraint('identity', name=op.f('uq_billing_bank_line_identity'))
    )
    with op.batch_alter_table('billing_bank_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_bank_line_booked_on'), ['booked_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_bank_line_file_id'), ['file_id'], unique=False)

    op.create_table('billing_bank_payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bank_line_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('tenant_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.ForeignKeyConstraint(['bank_line_id'], ['billing_bank_line.id'], name=op.f('fk_billing_bank_payment_bank_line_id_billing_bank_line')),
    sa.ForeignKeyConstraint(['entry_id'], ['billing_journal_entry.id'], name=op.f('fk_billing_bank_payment_entry_id_billing_journal_entry')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_bank_payment')),
    sa.UniqueConstraint('bank_line_id', name=op.f('uq_billing_bank_payment_bank_line_id')),
    sa.UniqueConstraint('entry_id', name=op.f('uq_billing_bank_payment_entry_id'))
    )
    op.create_table('billing_manual_payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('requested_by_key', sqlmodel.sql.sqltypes.AutoString(length=600), nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_billing_manual_payment_amount_positive')),
    sa.ForeignKeyConstraint(['entry_id'], ['billing_journal_entry.id'], name=op.f('fk_billing_manual_payment_entry_id_billing_journal_entry')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_manual_payment')),
    sa.UniqueConstraint('entry_id', name=op.f('uq_billing_manual_payment_entry_id'))
    )


def downgrade() -> None:
    op.drop_table('billing_manual_payment')
    op.drop_table('billing_bank_payment')
    with op.batch_alter_table('billing_bank_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_bank_line_file_id'))
        batch_op.drop_index(batch_op.f('ix_billing_bank_line_booked_on'))

    op.drop_table('billing_bank_line')
    op.drop_table('billing_bank_file')
