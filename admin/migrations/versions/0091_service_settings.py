"""Sign-ins kept from Keycloak's LOGIN events (sign_in_event: the event's id, time, Japan-time day, client
and person; no address) for the monthly report (issue 39, item 5); the service settings' first-report
deadline and the prefecture's recipients of the reports, kept on the prefecture settings page (item 4)

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
    with op.batch_alter_table('service_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_report_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('report_recipients', sa.String(length=2000), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('service_settings', schema=None) as batch_op:
        batch_op.drop_column('report_recipients')
        batch_op.drop_column('first_report_minutes')
    op.drop_index(op.f('ix_sign_in_event_day'), table_name='sign_in_event')
    op.drop_index(op.f('ix_sign_in_event_at'), table_name='sign_in_event')
    op.drop_table('sign_in_event')
