"""A community meeting held as an event names its group (secretariat_event.group_id → secretariat_group),
shown on the group's page

Revision ID: 0092
Revises: 0090
Create Date: 2026-11-25 21:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0092'
down_revision = '0090'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('secretariat_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_secretariat_event_group_id_secretariat_group'), 'secretariat_group',
                                    ['group_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_secretariat_event_group_id'), ['group_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('secretariat_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_secretariat_event_group_id'))
        batch_op.drop_constraint(batch_op.f('fk_secretariat_event_group_id_secretariat_group'), type_='foreignkey')
        batch_op.drop_column('group_id')
