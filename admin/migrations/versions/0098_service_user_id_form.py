"""The form of a service's user IDs (issue 54 item 4): data_service.user_id_pattern, user_id_min_length and
user_id_max_length (residents.consent.subject_ids). Their server defaults are the platform's own form of a
user ID (8 to 128 of A-Z a-z 0-9 . _ : @ -), which every service user ID stored before this met.

Revision ID: 0098
Revises: 0097
Create Date: 2026-11-26 12:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0098'
down_revision = '0097'
branch_labels = None
depends_on = None

DEFAULT_PATTERN = r"^[A-Za-z0-9._:@-]+$"  # residents.consent.subject_ids.DEFAULT_PATTERN, as of this revision


def upgrade() -> None:
    with op.batch_alter_table('data_service', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id_pattern', sa.String(length=200), nullable=False,
                                      server_default=DEFAULT_PATTERN))
        batch_op.add_column(sa.Column('user_id_min_length', sa.Integer(), nullable=False, server_default='8'))
        batch_op.add_column(sa.Column('user_id_max_length', sa.Integer(), nullable=False, server_default='128'))


def downgrade() -> None:
    with op.batch_alter_table('data_service', schema=None) as batch_op:
        batch_op.drop_column('user_id_max_length')
        batch_op.drop_column('user_id_min_length')
        batch_op.drop_column('user_id_pattern')
