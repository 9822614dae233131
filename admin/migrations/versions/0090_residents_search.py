"""The residents' blind index of names (resident.name_hash: the keyed hash of the normalised full name, for
the staff's search by name with a reason; issue 42, item 8). Rows enrolled before it hold '' until
`renkei residents rotate-key` writes their hash (the key is not in the database, so a migration cannot).

Revision ID: 0090
Revises: 0087
Create Date: 2026-11-25 20:30:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0090'
down_revision = '0087'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_hash', sqlmodel.sql.sqltypes.AutoString(length=64), server_default='',
                                      nullable=False))
        batch_op.create_index('ix_resident_tenant_name', ['tenant_code', 'name_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.drop_index('ix_resident_tenant_name')
        batch_op.drop_column('name_hash')
