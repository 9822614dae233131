"""Usage events: known by event_id and instant, the key usage_event already has; usage_event_key goes

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23 04:10:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table('usage_event_key')


def downgrade() -> None:
    # the earlier rule: one row per event_id (of two events sharing one, the earlier is kept)
    op.create_table('usage_event_key',
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_usage_event_key'))
    )
    op.execute("INSERT INTO usage_event_key (event_id, occurred_at, batch_id) "
               "SELECT event_id, occurred_at, batch_id FROM usage_event e WHERE occurred_at = "
               "(SELECT min(occurred_at) FROM usage_event f WHERE f.event_id = e.event_id)")
