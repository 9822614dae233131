"""Terms of use per dataset: versions and acceptances; the provider index holds the access

Revision ID: 0029
Revises: 0025
Create Date: 2026-11-23 12:16:19.466103

A dataset's own terms of use (catalogue.terms): immutable versions (content hash) and the
consumers' acceptances of them.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0029'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # CKAN's organization filter: the provider index also holds the access (three equalities for a reader)
    with op.batch_alter_table('dataset', schema=None) as batch_op:
        batch_op.drop_index('ix_dataset_provider')
        batch_op.create_index('ix_dataset_provider', ['provider_code', 'status', 'access'], unique=False)
    op.create_table('dataset_terms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('body_md', sa.Text(), nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['dataset.id'], name=op.f('fk_dataset_terms_dataset_id_dataset')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dataset_terms')),
    sa.UniqueConstraint('dataset_id', 'number', name=op.f('uq_dataset_terms_dataset_id'))
    )
    with op.batch_alter_table('dataset_terms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dataset_terms_dataset_id'), ['dataset_id'], unique=False)

    op.create_table('dataset_terms_acceptance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('terms_id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('consumer_code', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_issuer', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('actor_subject', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('actor_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['dataset.id'], name=op.f('fk_dataset_terms_acceptance_dataset_id_dataset')),
    sa.ForeignKeyConstraint(['terms_id'], ['dataset_terms.id'], name=op.f('fk_dataset_terms_acceptance_terms_id_dataset_terms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dataset_terms_acceptance')),
    sa.UniqueConstraint('terms_id', 'consumer_code', name=op.f('uq_dataset_terms_acceptance_terms_id'))
    )
    with op.batch_alter_table('dataset_terms_acceptance', schema=None) as batch_op:
        batch_op.create_index('ix_dataset_terms_acceptance_consumer', ['dataset_id', 'consumer_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_dataset_terms_acceptance_terms_id'), ['terms_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('dataset_terms_acceptance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dataset_terms_acceptance_terms_id'))
        batch_op.drop_index('ix_dataset_terms_acceptance_consumer')

    op.drop_table('dataset_terms_acceptance')
    with op.batch_alter_table('dataset_terms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dataset_terms_dataset_id'))

    op.drop_table('dataset_terms')
    with op.batch_alter_table('dataset', schema=None) as batch_op:
        batch_op.drop_index('ix_dataset_provider')
        batch_op.create_index('ix_dataset_provider', ['provider_code', 'status'], unique=False)
