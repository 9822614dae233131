"""The consortium's yearly survey (issue 58 item 5): survey_question (a fiscal year's question, its key kept
year to year), survey_recipient (an address, its one-time token's hash, when it answered) and survey_answer.

Revision ID: 0125
Revises: 0124
Create Date: 2026-11-28 17:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0125'
down_revision = '0124'
branch_labels = None
depends_on = None

KINDS = ('single', 'multiple', 'free_text')


def upgrade() -> None:
    op.create_table(
        'survey_question',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('fiscal_year', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=40), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum(*KINDS, name='questionkind', native_enum=False, length=32), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('choices', sa.Text(), server_default='', nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_question')),
        sa.UniqueConstraint('fiscal_year', 'key', name=op.f('uq_survey_question_fiscal_year')),
    )
    op.create_index(op.f('ix_survey_question_fiscal_year'), 'survey_question', ['fiscal_year'])
    op.create_table(
        'survey_recipient',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('fiscal_year', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('member', sa.Boolean(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_recipient')),
        sa.UniqueConstraint('fiscal_year', 'email', name=op.f('uq_survey_recipient_fiscal_year')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_survey_recipient_token_hash')),
    )
    op.create_index(op.f('ix_survey_recipient_fiscal_year'), 'survey_recipient', ['fiscal_year'])
    op.create_table(
        'survey_answer',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('recipient_id', sa.Integer(), nullable=False),
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['recipient_id'], ['survey_recipient.id'],
                                name=op.f('fk_survey_answer_recipient_id_survey_recipient')),
        sa.ForeignKeyConstraint(['question_id'], ['survey_question.id'],
                                name=op.f('fk_survey_answer_question_id_survey_question')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_answer')),
    )
    op.create_index(op.f('ix_survey_answer_recipient_id'), 'survey_answer', ['recipient_id'])
    op.create_index(op.f('ix_survey_answer_question_id'), 'survey_answer', ['question_id'])


def downgrade() -> None:
    op.drop_table('survey_answer')
    op.drop_table('survey_recipient')
    op.drop_table('survey_question')
