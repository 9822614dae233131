"""The residents' recovery (issue 42 item 3): a split link is ended, not deleted (one current link per
service user ID and per resident and service, by partial unique indexes), a moved link keeps the resident
it was made for; a merged resident points at the surviving one; the four-eyes proposals, the marks of the
linkage records made under a wrong link, and the residents' notices

Revision ID: 0088
Revises: 0089
Create Date: 2026-11-25 20:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0088'
down_revision = '0089'
branch_labels = None
depends_on = None

_STATUSES = ("active", "review", "duplicate")
_CURRENT = sa.text("ended_at IS NULL")


def _status_check(values: tuple[str, ...]) -> sa.TextClause:
    return sa.text(f"status IN ({', '.join(repr(value) for value in values)})")


def upgrade() -> None:
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_resident_merged_into_id_resident'), 'resident', ['merged_into_id'], ['id'])
        batch_op.drop_constraint(op.f('ck_resident_residentstatus'), type_='check')
        batch_op.create_check_constraint(op.f('ck_resident_residentstatus'), _status_check((*_STATUSES, "merged")))
    with op.batch_alter_table('service_link', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin_resident_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('ended_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('ended_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False,
                                      server_default=''))
        batch_op.create_foreign_key(batch_op.f('fk_service_link_origin_resident_id_resident'), 'resident',
                                    ['origin_resident_id'], ['id'])
        batch_op.drop_constraint(op.f('uq_service_link_resident_id'), type_='unique')
        batch_op.drop_constraint(op.f('uq_service_link_service_id'), type_='unique')
        batch_op.create_index('uq_service_link_current_user', ['service_id', 'service_user_id'], unique=True,
                              sqlite_where=_CURRENT, postgresql_where=_CURRENT)
        batch_op.create_index('uq_service_link_current_resident', ['resident_id', 'service_id'], unique=True,
                              sqlite_where=_CURRENT, postgresql_where=_CURRENT)
    with op.batch_alter_table('service_link', schema=None) as batch_op:  # as create_all writes them: no default
        batch_op.alter_column('ended_by', server_default=None)
        batch_op.alter_column('ended_reason', server_default=None)
    op.create_table('resident_recovery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('kind', sa.Enum('split', 'merge', name='recoverykind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status', sa.Enum('proposed', 'approved', 'refused', 'cancelled', name='recoverystatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=True),
    sa.Column('merged_id', sa.Integer(), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('proposed_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('proposed_by_key', sqlmodel.sql.sqltypes.AutoString(length=600), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('decided_by_key', sqlmodel.sql.sqltypes.AutoString(length=600), nullable=False),
    sa.Column('decision_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.ForeignKeyConstraint(['link_id'], ['service_link.id'], name=op.f('fk_resident_recovery_link_id_service_link')),
    sa.ForeignKeyConstraint(['merged_id'], ['resident.id'], name=op.f('fk_resident_recovery_merged_id_resident')),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_resident_recovery_resident_id_resident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_recovery'))
    )
    op.create_index(op.f('ix_resident_recovery_resident_id'), 'resident_recovery', ['resident_id'], unique=False)
    op.create_index(op.f('ix_resident_recovery_tenant_code'), 'resident_recovery', ['tenant_code'], unique=False)
    op.create_table('linkage_mark',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recovery_id', sa.Integer(), nullable=False),
    sa.Column('linkage_seq', sa.BigInteger(), nullable=False),
    sa.Column('marked_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recovery_id'], ['resident_recovery.id'], name=op.f('fk_linkage_mark_recovery_id_resident_recovery')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_linkage_mark')),
    sa.UniqueConstraint('recovery_id', 'linkage_seq', name=op.f('uq_linkage_mark_recovery_id'))
    )
    op.create_index(op.f('ix_linkage_mark_linkage_seq'), 'linkage_mark', ['linkage_seq'], unique=False)
    op.create_table('resident_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('recovery_id', sa.Integer(), nullable=True),
    sa.Column('title_ja', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('title_en', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('body_ja', sa.Text(), nullable=False),
    sa.Column('body_en', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['recovery_id'], ['resident_recovery.id'], name=op.f('fk_resident_notice_recovery_id_resident_recovery')),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_resident_notice_resident_id_resident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_notice'))
    )
    op.create_index(op.f('ix_resident_notice_resident_id'), 'resident_notice', ['resident_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_resident_notice_resident_id'), table_name='resident_notice')
    op.drop_table('resident_notice')
    op.drop_index(op.f('ix_linkage_mark_linkage_seq'), table_name='linkage_mark')
    op.drop_table('linkage_mark')
    op.drop_index(op.f('ix_resident_recovery_tenant_code'), table_name='resident_recovery')
    op.drop_index(op.f('ix_resident_recovery_resident_id'), table_name='resident_recovery')
    op.drop_table('resident_recovery')
    # the older schema knows neither ended links nor merged residents: they go with the recovery's tables
    op.execute("DELETE FROM service_link WHERE ended_at IS NOT NULL")
    op.execute("UPDATE resident SET status = 'active', merged_into_id = NULL WHERE status = 'merged'")
    with op.batch_alter_table('service_link', schema=None) as batch_op:
        batch_op.drop_index('uq_service_link_current_resident')
        batch_op.drop_index('uq_service_link_current_user')
        batch_op.create_unique_constraint(op.f('uq_service_link_service_id'), ['service_id', 'service_user_id'])
        batch_op.create_unique_constraint(op.f('uq_service_link_resident_id'), ['resident_id', 'service_id'])
        batch_op.drop_constraint(batch_op.f('fk_service_link_origin_resident_id_resident'), type_='foreignkey')
        batch_op.drop_column('ended_reason')
        batch_op.drop_column('ended_by')
        batch_op.drop_column('ended_at')
        batch_op.drop_column('origin_resident_id')
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_resident_residentstatus'), type_='check')
        batch_op.create_check_constraint(op.f('ck_resident_residentstatus'), _status_check(_STATUSES))
        batch_op.drop_constraint(batch_op.f('fk_resident_merged_into_id_resident'), type_='foreignkey')
        batch_op.drop_column('merged_into_id')
