"""A resident may leave in the portal (issue 42 item 7): the status ``left``, when they left, and when the key
material of their data (the encrypted items, the hashes, the providers' identifiers) was erased after the retention

Revision ID: 0094
Revises: 0092
Create Date: 2026-11-26 01:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0094'
down_revision = '0092'
branch_labels = None
depends_on = None

_STATUSES = ("active", "review", "duplicate", "merged")


def _status_check(values: tuple[str, ...]) -> sa.TextClause:
    return sa.text(f"status IN ({', '.join(repr(value) for value in values)})")


def upgrade() -> None:
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('left_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(op.f('ck_resident_residentstatus'), type_='check')
        batch_op.create_check_constraint(op.f('ck_resident_residentstatus'), _status_check((*_STATUSES, "left")))


def downgrade() -> None:
    # the older schema knows no leaving: a left resident is kept as a duplicate (never issued again, no links)
    op.execute("UPDATE resident SET status = 'duplicate' WHERE status = 'left'")
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_resident_residentstatus'), type_='check')
        batch_op.create_check_constraint(op.f('ck_resident_residentstatus'), _status_check(_STATUSES))
        batch_op.drop_column('erased_at')
        batch_op.drop_column('left_at')
