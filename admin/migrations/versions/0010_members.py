"""consortium members: organisations by corporate number, intake and screening, project groups

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 11:00:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


# columns that hold a tenant code and now also a member organisation's corporate number (13 digits)
_WIDENED = (("audit_record", "tenant_code", True), ("notification", "tenant_code", True),
            ("identity_incident", "tenant_code", False))


def _widen(length_from: int, length_to: int) -> None:
    dialect = op.get_bind().dialect.name
    for table, column, nullable in _WIDENED:
        if dialect == "postgresql":
            op.alter_column(table, column, type_=sa.String(length=length_to),
                            existing_type=sa.String(length=length_from), existing_nullable=nullable)
            continue
        # SQLite: a batch rebuild drops the table's triggers; the audit log's guards are put back
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, type_=sa.String(length=length_to),
                                  existing_type=sa.String(length=length_from), existing_nullable=nullable)
        if table == "audit_record":
            from core.audit import AUDIT_GUARD_DDL

            for statement in AUDIT_GUARD_DDL["sqlite"]["audit_record"]:
                op.execute(statement.strip())


def upgrade() -> None:
    op.create_table(
        'member_organisation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('corporate_number', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('name_kana', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('kind', sa.Enum('company', 'university', 'npo', 'other', name='organisationkind',
                                  native_enum=False, length=32), nullable=False),
        sa.Column('prefecture', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column('in_prefecture', sa.Boolean(), nullable=False),
        sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column('representative', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('contact_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('contact_email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column('contact_phone', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('status', sa.Enum('unconfirmed', 'applied', 'approved', 'rejected', 'withdrawn',
                                    name='memberstatus', native_enum=False, length=32), nullable=False),
        sa.Column('email_token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('email_confirmed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('pledge_received_on', sa.Date(), nullable=True),
        sa.Column('profile_received_on', sa.Date(), nullable=True),
        sa.Column('decision_reason', sa.Text(), server_default='', nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_member_organisation')),
        sa.UniqueConstraint('corporate_number', name=op.f('uq_member_organisation_corporate_number')),
    )
    with op.batch_alter_table('member_organisation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_organisation_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_member_organisation_email_token_hash'), ['email_token_hash'], unique=False)
    op.create_table(
        'member_screening_item',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('label_ja', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('label_en', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_member_screening_item')),
    )
    op.create_table(
        'member_screening_check',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('checked', sa.Boolean(), nullable=False),
        sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column('checked_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['item_id'], ['member_screening_item.id'],
                                name=op.f('fk_member_screening_check_item_id_member_screening_item')),
        sa.ForeignKeyConstraint(['organisation_id'], ['member_organisation.id'],
                                name=op.f('fk_member_screening_check_organisation_id_member_organisation')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_member_screening_check')),
        sa.UniqueConstraint('organisation_id', 'item_id', name=op.f('uq_member_screening_check_organisation_id')),
    )
    with op.batch_alter_table('member_screening_check', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_screening_check_organisation_id'), ['organisation_id'], unique=False)
    op.create_table(
        'member_project_group',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('representative', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_member_project_group')),
        sa.UniqueConstraint('name', name=op.f('uq_member_project_group_name')),
    )
    op.create_table(
        'member_project_group_member',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('corporate_number', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['member_project_group.id'],
                                name=op.f('fk_member_project_group_member_group_id_member_project_group')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_member_project_group_member')),
        sa.UniqueConstraint('group_id', 'corporate_number', name=op.f('uq_member_project_group_member_group_id')),
    )
    with op.batch_alter_table('member_project_group_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_project_group_member_group_id'), ['group_id'], unique=False)
    _widen(6, 13)


def downgrade() -> None:
    _widen(13, 6)
    op.drop_table('member_project_group_member')
    op.drop_table('member_project_group')
    op.drop_table('member_screening_check')
    op.drop_table('member_screening_item')
    op.drop_table('member_organisation')
