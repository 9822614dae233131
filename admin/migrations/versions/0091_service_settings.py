"""Sign-ins kept from Keycloak's LOGIN events (sign_in_event: the event's id, time, Japan-time day, client
and person; no address) for the monthly report (issue 39, item 5)

Revision ID: 0091
Revises: 0085
Create Date: 2026-11-25 20:45:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0091'
down_revision = '0085'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sign_in_event',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
                    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('day', sa.Date(), nullable=False),
                    sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
                    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_event')),
                    sa.UniqueConstraint('event_id', name=op.f('uq_sign_in_event_event_id')))
    op.create_index(op.f('ix_sign_in_event_at'), 'sign_in_event', ['at'], unique=False)
    op.create_index(op.f('ix_sign_in_event_day'), 'sign_in_event', ['day'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_sign_in_event_day'), table_name='sign_in_event')
    op.drop_index(op.f('ix_sign_in_event_at'), table_name='sign_in_event')
    op.drop_table('sign_in_event')
