"""The gateway call-log segments folded into the database, by file name (gateway_folded_segment), so
that a segment folded again after a stop between the commit and the file's removal adds its dataset
use once (issue 36, item 7)

Revision ID: 0083
Revises: 0082
Create Date: 2026-11-25 16:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0083'
down_revision = '0082'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('gateway_folded_segment',
                    sa.Column('name', sa.String(length=200), nullable=False),
                    sa.Column('folded_at', sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('name', name=op.f('pk_gateway_folded_segment')))
    op.create_index(op.f('ix_gateway_folded_segment_folded_at'), 'gateway_folded_segment', ['folded_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_gateway_folded_segment_folded_at'), table_name='gateway_folded_segment')
    op.drop_table('gateway_folded_segment')
