"""How staff verified a person's identity when they linked a service's user ID at a counter
(service_link.verification; None for links the resident or the service made; issue 42, item 8).

Revision ID: 0095
Revises: 0092
Create Date: 2026-11-26 01:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0095'
down_revision = '0093'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('service_link', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verification', sa.Enum('my_number_card', 'photo_id', 'two_documents', 'provider',
                                                               name='verificationmethod', native_enum=False, length=32),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('service_link', schema=None) as batch_op:
        batch_op.drop_column('verification')
