"""The member register's information (issue 40 item 2): industry (日本標準産業分類 major group), size band,
employees and capital, municipality by code, join and leave dates and the leave reason; the year's
recruitment target (member_recruitment_target)

Revision ID: 0072
Revises: 0071
Create Date: 2026-11-25 12:50:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0072'
down_revision = '0071'
branch_labels = None
depends_on = None

_TEXT_COLUMNS = (('industry', 1), ('size_band', 16), ('municipality_code', 6))


def upgrade() -> None:
    with op.batch_alter_table('member_organisation', schema=None) as batch_op:
        for name, length in _TEXT_COLUMNS:
            batch_op.add_column(sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=False,
                                          server_default=''))
        batch_op.add_column(sa.Column('employees', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('capital_yen', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('joined_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('left_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('leave_reason', sa.Text(), server_default='', nullable=False))
        batch_op.create_index(batch_op.f('ix_member_organisation_joined_on'), ['joined_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_member_organisation_left_on'), ['left_on'], unique=False)
    with op.batch_alter_table('member_organisation', schema=None) as batch_op:
        for name, _ in _TEXT_COLUMNS:
            batch_op.alter_column(name, server_default=None)
    _dates_from_decisions()
    op.create_table('member_recruitment_target',
    sa.Column('fiscal_year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('target', sa.Integer(), nullable=False),
    sa.Column('set_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('fiscal_year', name=op.f('pk_member_recruitment_target'))
    )


def _dates_from_decisions() -> None:
    """Members decided before this revision: an approved one joined, a withdrawn one left, on the day
    (JST) of its last decision, for the reason given then (a withdrawn member's join date is unknown)."""
    import datetime as dt

    jst = dt.timezone(dt.timedelta(hours=9))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, status, decided_at, decision_reason FROM member_organisation "
                                "WHERE status IN ('approved', 'withdrawn') AND decided_at IS NOT NULL")).all()
    for row_id, status, decided_at, reason in rows:
        if isinstance(decided_at, str):  # SQLite hands the timestamp back as text
            decided_at = dt.datetime.fromisoformat(decided_at)
        if decided_at.tzinfo is None:
            decided_at = decided_at.replace(tzinfo=dt.timezone.utc)
        day = decided_at.astimezone(jst).date()
        if status == 'approved':
            bind.execute(sa.text("UPDATE member_organisation SET joined_on = :day WHERE id = :id"), {"day": day, "id": row_id})
        else:
            bind.execute(sa.text("UPDATE member_organisation SET left_on = :day, leave_reason = :reason WHERE id = :id"),
                         {"day": day, "reason": reason or "", "id": row_id})


def downgrade() -> None:
    op.drop_table('member_recruitment_target')
    with op.batch_alter_table('member_organisation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_organisation_left_on'))
        batch_op.drop_index(batch_op.f('ix_member_organisation_joined_on'))
        for name in ('leave_reason', 'left_on', 'joined_on', 'capital_yen', 'employees'):
            batch_op.drop_column(name)
        for name, _ in reversed(_TEXT_COLUMNS):
            batch_op.drop_column(name)
