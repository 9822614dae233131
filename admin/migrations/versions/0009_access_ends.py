"""access ends: deny list of subjects, four-eyes switch recorded with runs

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-22 11:00:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401


revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('denied_subject',
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('denied_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('keep_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('subject', name=op.f('pk_denied_subject'))
    )
    with op.batch_alter_table('denied_subject', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_denied_subject_keep_until'), ['keep_until'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('denied_subject', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_denied_subject_keep_until'))
    op.drop_table('denied_subject')
