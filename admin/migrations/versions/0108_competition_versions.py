"""Applicants' rights before a deadline (issue 59 item 2): a declaration may be withdrawn (withdrawn_at, withdrawn_by)
and amended (its replaced documents kept: competition_document.replaced_at); a proposal has versions (one row per
version: version, replaced_at, withdrawn_at, withdrawn_by; unique per declaration and version instead of one per
declaration); a score's earlier values are kept when its reviewer corrects it (competition_score_revision).

Revision ID: 0108
Revises: 0107
Create Date: 2026-11-27 02:10:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0108'
down_revision = '0107'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('competition_declaration') as batch:
        batch.add_column(sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('withdrawn_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False,
                                   server_default=''))
    with op.batch_alter_table('competition_document') as batch:
        batch.add_column(sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('competition_proposal') as batch:
        batch.drop_constraint('uq_competition_proposal_declaration_id', type_='unique')
        batch.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        batch.add_column(sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('withdrawn_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False,
                                   server_default=''))
        batch.create_unique_constraint('uq_competition_proposal_version', ['declaration_id', 'version'])
        batch.create_index('ix_competition_proposal_declaration_id', ['declaration_id'], unique=False)
    op.create_table(
        'competition_score_revision',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('score_id', sa.Integer(), nullable=False),
        sa.Column('passed', sa.Boolean(), nullable=True),
        sa.Column('points', sa.Integer(), nullable=False),
        sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column('scored_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('replaced_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['score_id'], ['competition_score.id'],
                                name=op.f('fk_competition_score_revision_score_id_competition_score')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_competition_score_revision')),
    )
    op.create_index(op.f('ix_competition_score_revision_score_id'), 'competition_score_revision', ['score_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_competition_score_revision_score_id'), table_name='competition_score_revision')
    op.drop_table('competition_score_revision')
    op.execute("DELETE FROM competition_estimate_line WHERE proposal_id IN "
               "(SELECT id FROM competition_proposal WHERE replaced_at IS NOT NULL OR withdrawn_at IS NOT NULL)")
    op.execute("DELETE FROM competition_proposal WHERE replaced_at IS NOT NULL OR withdrawn_at IS NOT NULL")
    with op.batch_alter_table('competition_proposal') as batch:
        batch.drop_index('ix_competition_proposal_declaration_id')
        batch.drop_constraint('uq_competition_proposal_version', type_='unique')
        batch.drop_column('withdrawn_by')
        batch.drop_column('withdrawn_at')
        batch.drop_column('replaced_at')
        batch.drop_column('version')
        batch.create_unique_constraint('uq_competition_proposal_declaration_id', ['declaration_id'])
    with op.batch_alter_table('competition_document') as batch:
        batch.drop_column('replaced_at')
    with op.batch_alter_table('competition_declaration') as batch:
        batch.drop_column('withdrawn_by')
        batch.drop_column('withdrawn_at')
