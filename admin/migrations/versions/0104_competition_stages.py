"""Where a call stands (issue 59 item 1): competition_call.status along competition.stages.CALLS (CHECK-constrained)
and closed_reason; existing calls get the stage their records show (unpublished: draft; a final selection:
contracts; a first-stage selection: hearing; a closed stage or a score: first_review; else open).

Revision ID: 0104
Revises: 0103
Create Date: 2026-11-26 23:30:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0104'
down_revision = '0103'
branch_labels = None
depends_on = None

STATUSES = ('draft', 'open', 'first_review', 'hearing', 'contracts', 'closed')


def upgrade() -> None:
    with op.batch_alter_table('competition_call') as batch:
        batch.add_column(sa.Column('status', sa.Enum(*STATUSES, name='callstatus', native_enum=False, create_constraint=True,
                                                     length=16), nullable=False, server_default='draft'))
        batch.add_column(sa.Column('closed_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False,
                                   server_default=''))
    op.execute("""
        UPDATE competition_call SET status = CASE
          WHEN published_at IS NULL THEN 'draft'
          WHEN EXISTS (SELECT 1 FROM competition_selection s WHERE s.call_id = competition_call.id
                       AND s.stage = 'second') THEN 'contracts'
          WHEN EXISTS (SELECT 1 FROM competition_selection s WHERE s.call_id = competition_call.id
                       AND s.stage = 'first') THEN 'hearing'
          WHEN EXISTS (SELECT 1 FROM competition_stage_closed c WHERE c.call_id = competition_call.id)
            OR EXISTS (SELECT 1 FROM competition_score sc JOIN competition_declaration d ON d.id = sc.declaration_id
                       WHERE d.call_id = competition_call.id) THEN 'first_review'
          ELSE 'open' END
    """)


def downgrade() -> None:
    with op.batch_alter_table('competition_call') as batch:
        batch.drop_column('closed_reason')
        batch.drop_column('status')
