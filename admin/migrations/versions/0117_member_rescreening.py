"""The members' yearly re-screening (issue 58 item 4): member_rescreening_round (one per fiscal year),
member_rescreening_file (a 国税庁 difference file imported in it), member_rescreening_finding (a file row naming a
member) and member_rescreening_entry (a member's re-confirmed declaration and the secretariat's decision).

Revision ID: 0117
Revises: 0116
Create Date: 2026-11-27 09:30:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0117'
down_revision = '0116'
branch_labels = None
depends_on = None

PROCESSES = ('new', 'renamed', 'moved', 'moved_abroad', 'closed', 'restored', 'merged', 'merger_void',
             'trade_name_erased', 'deleted')
CAUSES = ('liquidated', 'merger', 'by_registrar', 'other')
DECISIONS = ('continued', 'withdrawal', 'checking')


def upgrade() -> None:
    op.create_table(
        'member_rescreening_round',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('fiscal_year', sa.Integer(), nullable=False),
        sa.Column('started_by', sa.String(length=255), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_member_rescreening_round')),
        sa.UniqueConstraint('fiscal_year', name=op.f('uq_member_rescreening_round_fiscal_year')),
    )
    op.create_table(
        'member_rescreening_file',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('file_name', sa.String(length=255), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('matched', sa.Integer(), nullable=False),
        sa.Column('imported_by', sa.String(length=255), nullable=False),
        sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['round_id'], ['member_rescreening_round.id'],
                                name=op.f('fk_member_rescreening_file_round_id_member_rescreening_round')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_member_rescreening_file')),
        sa.UniqueConstraint('round_id', 'sha256', name=op.f('uq_member_rescreening_file_round_id')),
    )
    op.create_index(op.f('ix_member_rescreening_file_round_id'), 'member_rescreening_file', ['round_id'], unique=False)
    op.create_table(
        'member_rescreening_finding',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('file_id', sa.Integer(), nullable=False),
        sa.Column('line', sa.Integer(), nullable=False),
        sa.Column('corporate_number', sa.String(length=13), nullable=False),
        sa.Column('process', sa.Enum(*PROCESSES, name='process', native_enum=False, length=24), nullable=False),
        sa.Column('updated_on', sa.Date(), nullable=False),
        sa.Column('changed_on', sa.Date(), nullable=False),
        sa.Column('name', sa.String(length=300), nullable=False),
        sa.Column('address', sa.String(length=600), nullable=False),
        sa.Column('closed_on', sa.Date(), nullable=True),
        sa.Column('close_cause', sa.Enum(*CAUSES, name='closecause', native_enum=False, length=24), nullable=True),
        sa.Column('successor', sa.String(length=13), nullable=False),
        sa.ForeignKeyConstraint(['round_id'], ['member_rescreening_round.id'],
                                name=op.f('fk_member_rescreening_finding_round_id_member_rescreening_round')),
        sa.ForeignKeyConstraint(['file_id'], ['member_rescreening_file.id'],
                                name=op.f('fk_member_rescreening_finding_file_id_member_rescreening_file')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_member_rescreening_finding')),
    )
    for column in ('round_id', 'file_id', 'corporate_number'):
        op.create_index(op.f(f'ix_member_rescreening_finding_{column}'), 'member_rescreening_finding', [column],
                        unique=False)
    op.create_table(
        'member_rescreening_entry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('corporate_number', sa.String(length=13), nullable=False),
        sa.Column('declared_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('declared_by', sa.String(length=255), nullable=False),
        sa.Column('decision', sa.Enum(*DECISIONS, name='decision', native_enum=False, length=16), nullable=True),
        sa.Column('decision_reason', sa.Text(), server_default='', nullable=False),
        sa.Column('decided_by', sa.String(length=255), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['round_id'], ['member_rescreening_round.id'],
                                name=op.f('fk_member_rescreening_entry_round_id_member_rescreening_round')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_member_rescreening_entry')),
        sa.UniqueConstraint('round_id', 'corporate_number', name=op.f('uq_member_rescreening_entry_round_id')),
    )
    op.create_index(op.f('ix_member_rescreening_entry_round_id'), 'member_rescreening_entry', ['round_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_member_rescreening_entry_round_id'), table_name='member_rescreening_entry')
    op.drop_table('member_rescreening_entry')
    for column in ('corporate_number', 'file_id', 'round_id'):
        op.drop_index(op.f(f'ix_member_rescreening_finding_{column}'), table_name='member_rescreening_finding')
    op.drop_table('member_rescreening_finding')
    op.drop_index(op.f('ix_member_rescreening_file_round_id'), table_name='member_rescreening_file')
    op.drop_table('member_rescreening_file')
    op.drop_table('member_rescreening_round')
