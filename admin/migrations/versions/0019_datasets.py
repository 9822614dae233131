"""Datasets: the register of what the platform carries, its lists, distributions, grants and schema checks

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-23 09:00:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401



revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dataset',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('provider_code', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
    sa.Column('title_ja', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('title_en', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('category_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('keywords', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('licence_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('access', sa.Enum('open', 'members', 'named', name='access', native_enum=False, length=16), nullable=False),
    sa.Column('frequency', sa.Enum('realtime', 'daily', 'weekly', 'monthly', 'quarterly', 'yearly', 'irregular', name='frequency', native_enum=False, length=16), nullable=False),
    sa.Column('last_updated_on', sa.Date(), nullable=True),
    sa.Column('department', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('contact_email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('contact_phone', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('personal_info', sa.Enum('none', 'yes', 'processed', name='personalinfo', native_enum=False, length=16), nullable=False),
    sa.Column('standard_kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('responsibility_remark', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('status', sa.Enum('draft', 'submitted', 'published', 'withdrawn', name='datasetstatus', native_enum=False, length=16), nullable=False),
    sa.Column('review_reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('conformant', sa.Boolean(), nullable=True),
    sa.Column('problem_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('modified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('search_text', sa.Text(), server_default='', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dataset')),
    sa.UniqueConstraint('name', name=op.f('uq_dataset_name')),
    sa.UniqueConstraint('uid', name=op.f('uq_dataset_uid'))
    )
    op.create_index('ix_dataset_catalogue', 'dataset', ['status', 'access', 'name'], unique=False)
    op.create_index(op.f('ix_dataset_category_code'), 'dataset', ['category_code'], unique=False)
    op.create_index('ix_dataset_search', 'dataset', ['status', 'access', 'search_text'], unique=False)
    op.create_index(op.f('ix_dataset_modified_at'), 'dataset', ['modified_at'], unique=False)
    op.create_index('ix_dataset_provider', 'dataset', ['provider_code', 'status'], unique=False)
    op.create_index(op.f('ix_dataset_standard_kind'), 'dataset', ['standard_kind'], unique=False)
    op.create_table('dataset_category',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('label_ja', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('label_en', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dataset_category')),
    sa.UniqueConstraint('code', name=op.f('uq_dataset_category_code'))
    )
    op.create_table('dataset_licence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('title_ja', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('title_en', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('own_terms', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dataset_licence')),
    sa.UniqueConstraint('code', name=op.f('uq_dataset_licence_code'))
    )
    op.create_table('dataset_check',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('dataset_version', sa.Integer(), nullable=False),
    sa.Column('standard_kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('encoding', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('conformant', sa.Boolean(), nullable=False),
    sa.Column('problem_count', sa.Integer(), nullable=False),
    sa.Column('problems', sa.Text(), server_default='[]', nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('checked_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['dataset.id'], name=op.f('fk_dataset_check_dataset_id_dataset')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dataset_check'))
    )
    op.create_index(op.f('ix_dataset_check_dataset_id'), 'dataset_check', ['dataset_id'], unique=False)
    op.create_table('dataset_distribution',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('is_api', sa.Boolean(), nullable=False),
    sa.Column('format', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('media_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('byte_size', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['dataset_id'], ['dataset.id'], name=op.f('fk_dataset_distribution_dataset_id_dataset')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dataset_distribution'))
    )
    op.create_index(op.f('ix_dataset_distribution_dataset_id'), 'dataset_distribution', ['dataset_id'], unique=False)
    op.create_index(op.f('ix_dataset_distribution_format'), 'dataset_distribution', ['format'], unique=False)
    op.create_table('dataset_grant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('grantee', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['dataset.id'], name=op.f('fk_dataset_grant_dataset_id_dataset')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dataset_grant')),
    sa.UniqueConstraint('dataset_id', 'grantee', name=op.f('uq_dataset_grant_dataset_id'))
    )
    op.create_index(op.f('ix_dataset_grant_dataset_id'), 'dataset_grant', ['dataset_id'], unique=False)
    op.create_index(op.f('ix_dataset_grant_grantee'), 'dataset_grant', ['grantee'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_dataset_grant_grantee'), table_name='dataset_grant')
    op.drop_index(op.f('ix_dataset_grant_dataset_id'), table_name='dataset_grant')
    op.drop_table('dataset_grant')
    op.drop_index(op.f('ix_dataset_distribution_format'), table_name='dataset_distribution')
    op.drop_index(op.f('ix_dataset_distribution_dataset_id'), table_name='dataset_distribution')
    op.drop_table('dataset_distribution')
    op.drop_index(op.f('ix_dataset_check_dataset_id'), table_name='dataset_check')
    op.drop_table('dataset_check')
    op.drop_table('dataset_licence')
    op.drop_table('dataset_category')
    op.drop_index(op.f('ix_dataset_standard_kind'), table_name='dataset')
    op.drop_index('ix_dataset_provider', table_name='dataset')
    op.drop_index('ix_dataset_search', table_name='dataset')
    op.drop_index(op.f('ix_dataset_modified_at'), table_name='dataset')
    op.drop_index(op.f('ix_dataset_category_code'), table_name='dataset')
    op.drop_index('ix_dataset_catalogue', table_name='dataset')
    op.drop_table('dataset')
