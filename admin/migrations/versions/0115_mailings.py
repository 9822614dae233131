"""Mailings to members by segment (issue 58 item 3): secretariat_mailing, a mailing written by the secretariat and
sent once through the outbox, and secretariat_mail_preference, a member's choice about announcements (the
unsubscribe link or the member's page).

Revision ID: 0115
Revises: 0113
Create Date: 2026-11-27 09:30:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0115'
down_revision = '0114'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'secretariat_mailing',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum('advertising', 'service', name='mailingkind', native_enum=False, length=16,
                                  create_constraint=True), nullable=False),
        sa.Column('subject', sa.String(length=150), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('segment', sa.Text(), nullable=False),
        sa.Column('status', sa.Enum('draft', 'sent', name='mailingstatus', native_enum=False, length=16,
                                    create_constraint=True), nullable=False),
        sa.Column('created_by', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_by', sa.String(length=255), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('recipient_count', sa.Integer(), nullable=False),
        sa.Column('opted_out_count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_secretariat_mailing')),
    )
    op.create_index(op.f('ix_secretariat_mailing_status'), 'secretariat_mailing', ['status'], unique=False)
    op.create_table(
        'secretariat_mail_preference',
        sa.Column('corporate_number', sa.String(length=13), nullable=False),
        sa.Column('advertising', sa.Boolean(), nullable=False),
        sa.Column('via', sa.String(length=16), nullable=False),
        sa.Column('changed_by', sa.String(length=255), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('corporate_number', name=op.f('pk_secretariat_mail_preference')),
    )


def downgrade() -> None:
    op.drop_table('secretariat_mail_preference')
    op.drop_index(op.f('ix_secretariat_mailing_status'), table_name='secretariat_mailing')
    op.drop_table('secretariat_mailing')
