"""A grant's rounding and whether its fixed amount decides it, as its 交付要綱 says (issue 52, item 5):
billing_grant.rounding (yen: 1円単位, today's behaviour; thousand: 千円未満切捨て) and
billing_grant.fixed_amount_authoritative (false: the fixed amount caps the grant, as before).

Revision ID: 0100
Revises: 0099
Create Date: 2026-11-26 11:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0100'
down_revision = '0099'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ALTER TABLE ADD COLUMN on both databases (a batch would rebuild the table on SQLite and lose
    # its posted-year and closed-year triggers)
    op.add_column('billing_grant', sa.Column('rounding', sa.Enum('yen', 'thousand', name='grantrounding',
                                                                 native_enum=False, length=32),
                                             nullable=False, server_default='yen'))
    op.add_column('billing_grant', sa.Column('fixed_amount_authoritative', sa.Boolean(), nullable=False,
                                             server_default=sa.false()))


def downgrade() -> None:
    op.drop_column('billing_grant', 'fixed_amount_authoritative')  # SQLite 3.35+ drops a plain column in place
    op.drop_column('billing_grant', 'rounding')
