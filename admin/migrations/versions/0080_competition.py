"""The project competition (issue 41): calls with their milestones and scoring table, questions and
answers, declarations with their documents, proposals with their estimate lines, and the review (reviewers
assigned per call, conflicts of interest, scores, closed stages)

Revision ID: 0080
Revises: 0079
Create Date: 2026-11-25 16:42:28.895856
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0080'
down_revision = '0079'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('competition_call',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('themes', sa.Text(), server_default='', nullable=False),
    sa.Column('cap_yen', sa.Integer(), nullable=False),
    sa.Column('commission_count', sa.Integer(), nullable=False),
    sa.Column('page_limit', sa.Integer(), nullable=False),
    sa.Column('eligible_costs', sa.Text(), server_default='', nullable=False),
    sa.Column('ineligible_costs', sa.Text(), server_default='', nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competition_call')),
    sa.UniqueConstraint('fiscal_year', name=op.f('uq_competition_call_fiscal_year'))
    )
    op.create_table('competition_criterion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('kind', sa.Enum('gate', 'score', name='criterionkind', native_enum=False, length=8), nullable=False),
    sa.Column('max_score', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['competition_call.id'], name=op.f('fk_competition_criterion_call_id_competition_call')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competition_criterion'))
    )
    with op.batch_alter_table('competition_criterion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competition_criterion_call_id'), ['call_id'], unique=False)

    op.create_table('competition_declaration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('group_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('representative', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
    sa.Column('members', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('declared_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('declared_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['competition_call.id'], name=op.f('fk_competition_declaration_call_id_competition_call')),
    sa.ForeignKeyConstraint(['group_id'], ['member_project_group.id'], name=op.f('fk_competition_declaration_group_id_member_project_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competition_declaration')),
    sa.UniqueConstraint('call_id', 'group_id', name=op.f('uq_competition_declaration_call_id'))
    )
    with op.batch_alter_table('competition_declaration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competition_declaration_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_competition_declaration_group_id'), ['group_id'], unique=False)

    op.create_table('competition_milestone',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('label_ja', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('label_en', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('timed', sa.Boolean(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('documents', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['competition_call.id'], name=op.f('fk_competition_milestone_call_id_competition_call')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competition_milestone')),
    sa.UniqueConstraint('call_id', 'key', name=op.f('uq_competition_milestone_call_id'))
    )
    with op.batch_alter_table('competition_milestone', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competition_milestone_call_id'), ['call_id'], unique=False)

    op.create_table('competition_question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('asked_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('asked_for', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
    sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answer', sa.Text(), server_default='', nullable=False),
    sa.Column('answered_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['call_id'], ['competition_call.id'], name=op.f('fk_competition_question_call_id_competition_call')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competition_question'))
    )
    with op.batch_alter_table('competition_question', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competition_question_call_id'), ['call_id'], unique=False)

    op.create_table('competition_reviewer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('assigned_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['competition_call.id'], name=op.f('fk_competition_reviewer_call_id_competition_call')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competition_reviewer')),
    sa.UniqueConstraint('call_id', 'subject', name=op.f('uq_competition_reviewer_call_id'))
    )
    with op.batch_alter_table('competition_reviewer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competition_reviewer_call_id'), ['call_id'], unique=False)

    op.create_table('competition_stage_closed',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.Enum('first', 'second', name='stage', native_enum=False, length=8), nullable=False),
    sa.Column('closed_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['competition_call.id'], name=op.f('fk_competition_stage_closed_call_id_competition_call')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competition_stage_closed')),
    sa.UniqueConstraint('call_id', 'stage', name=op.f('uq_competition_stage_closed_call_id'))
    )
    op.create_table('competition_conflict',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('declared_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['member_project_group.id'], name=op.f('fk_competition_conflict_group_id_member_project_group')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['competition_reviewer.id'], name=op.f('fk_competition_conflict_reviewer_id_competition_reviewer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competition_conflict')),
    sa.UniqueConstraint('reviewer_id', 'group_id', name=op.f('uq_competition_conflict_reviewer_id'))
    )
    with op.batch_alter_table('competition_conflict', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competition_conflict_reviewer_id'), ['reviewer_id'], unique=False)

    op.create_table('competition_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('declaration_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('participation_form', 'company_profile', 'pledge', 'initiatives', 'proposal', name='documentkind', native_enum=False, length=24), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['declaration_id'], ['competition_declaration.id'], name=op.f('fk_competition_document_declaration_id_competition_declaration')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competition_document'))
    )
    with op.batch_alter_table('competition_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competition_document_declaration_id'), ['declaration_id'], unique=False)

    op.create_table('competition_score',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.Enum('first', 'second', name='stage', native_enum=False, length=8), nullable=False),
    sa.Column('declaration_id', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=False),
    sa.Column('criterion_id', sa.Integer(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=True),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('scored_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['criterion_id'], ['competition_criterion.id'], name=op.f('fk_competition_score_criterion_id_competition_criterion')),
    sa.ForeignKeyConstraint(['declaration_id'], ['competition_declaration.id'], name=op.f('fk_competition_score_declaration_id_competition_declaration')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['competition_reviewer.id'], name=op.f('fk_competition_score_reviewer_id_competition_reviewer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competition_score')),
    sa.UniqueConstraint('stage', 'declaration_id', 'reviewer_id', 'criterion_id', name=op.f('uq_competition_score_stage'))
    )
    with op.batch_alter_table('competition_score', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competition_score_declaration_id'), ['declaration_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_competition_score_reviewer_id'), ['reviewer_id'], unique=False)

    op.create_table('competition_proposal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('declaration_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('estimate_total_yen', sa.Integer(), nullable=False),
    sa.Column('submitted_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['declaration_id'], ['competition_declaration.id'], name=op.f('fk_competition_proposal_declaration_id_competition_declaration')),
    sa.ForeignKeyConstraint(['document_id'], ['competition_document.id'], name=op.f('fk_competition_proposal_document_id_competition_document')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competition_proposal')),
    sa.UniqueConstraint('declaration_id', name=op.f('uq_competition_proposal_declaration_id'))
    )
    op.create_table('competition_estimate_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('item', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('amount_yen', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['proposal_id'], ['competition_proposal.id'], name=op.f('fk_competition_estimate_line_proposal_id_competition_proposal')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competition_estimate_line'))
    )
    with op.batch_alter_table('competition_estimate_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competition_estimate_line_proposal_id'), ['proposal_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('competition_estimate_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competition_estimate_line_proposal_id'))

    op.drop_table('competition_estimate_line')
    op.drop_table('competition_proposal')
    with op.batch_alter_table('competition_score', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competition_score_reviewer_id'))
        batch_op.drop_index(batch_op.f('ix_competition_score_declaration_id'))

    op.drop_table('competition_score')
    with op.batch_alter_table('competition_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competition_document_declaration_id'))

    op.drop_table('competition_document')
    with op.batch_alter_table('competition_conflict', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competition_conflict_reviewer_id'))

    op.drop_table('competition_conflict')
    op.drop_table('competition_stage_closed')
    with op.batch_alter_table('competition_reviewer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competition_reviewer_call_id'))

    op.drop_table('competition_reviewer')
    with op.batch_alter_table('competition_question', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competition_question_call_id'))

    op.drop_table('competition_question')
    with op.batch_alter_table('competition_milestone', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competition_milestone_call_id'))

    op.drop_table('competition_milestone')
    with op.batch_alter_table('competition_declaration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competition_declaration_group_id'))
        batch_op.drop_index(batch_op.f('ix_competition_declaration_call_id'))

    op.drop_table('competition_declaration')
    with op.batch_alter_table('competition_criterion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competition_criterion_call_id'))

    op.drop_table('competition_criterion')
    op.drop_table('competition_call')
