"""Submitted and approved (issue 57 item 2): submission, a document a contractor owes the prefecture (its kind, what
it refers to, the contractor, the due date, its state and the approved version's SHA-256), and submission_version,
each version submitted (its content or file, its SHA-256, who and when, on time or not) with its inspection.

Revision ID: 0123
Revises: 0122
Create Date: 2026-11-28 16:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0123'
down_revision = '0122'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'submission',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum('minutes', 'progress_report', 'service_report', 'incident_report', 'project_plan',
                                  'deliverable', name='submissionkind', native_enum=False, length=32,
                                  create_constraint=True), nullable=False),
        sa.Column('refers_to', sa.String(length=100), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('contractor', sa.Enum('secretariat', 'vendor', name='contractor', native_enum=False, length=16,
                                        create_constraint=True), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('status', sa.Enum('open', 'submitted', 'returned', 'approved', name='submissionstatus',
                                    native_enum=False, length=16, create_constraint=True), nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('opened_by', sa.String(length=200), nullable=False),
        sa.Column('approved_version', sa.Integer(), nullable=True),
        sa.Column('approved_sha256', sa.String(length=64), nullable=False),
        sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('approved_by', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_submission')),
        sa.UniqueConstraint('kind', 'refers_to', name=op.f('uq_submission_kind')),
    )
    op.create_index(op.f('ix_submission_kind'), 'submission', ['kind'], unique=False)
    op.create_index(op.f('ix_submission_contractor'), 'submission', ['contractor'], unique=False)
    op.create_index(op.f('ix_submission_due_on'), 'submission', ['due_on'], unique=False)
    op.create_index(op.f('ix_submission_status'), 'submission', ['status'], unique=False)
    op.create_table(
        'submission_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('submission_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), server_default='', nullable=False),
        sa.Column('file', sa.LargeBinary(), nullable=True),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('submitted_by', sa.String(length=255), nullable=False),
        sa.Column('submitted_by_name', sa.String(length=200), nullable=False),
        sa.Column('on_time', sa.Boolean(), nullable=False),
        sa.Column('inspection', sa.Enum('', 'approved', 'returned', name='inspection', native_enum=False, length=16,
                                        create_constraint=True), server_default='', nullable=False),
        sa.Column('reason', sa.Text(), server_default='', nullable=False),
        sa.Column('inspected_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('inspected_by', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['submission_id'], ['submission.id'],
                                name=op.f('fk_submission_version_submission_id_submission')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_submission_version')),
        sa.UniqueConstraint('submission_id', 'number', name=op.f('uq_submission_version_submission_id')),
    )
    op.create_index(op.f('ix_submission_version_submission_id'), 'submission_version', ['submission_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_submission_version_submission_id'), table_name='submission_version')
    op.drop_table('submission_version')
    for column in ('status', 'due_on', 'contractor', 'kind'):
        op.drop_index(op.f(f'ix_submission_{column}'), table_name='submission')
    op.drop_table('submission')
