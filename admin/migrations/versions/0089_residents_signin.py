"""Residents' sign-in with the My Number card (issue 42 item 4): the identity providers residents sign in
with, at their assurance levels, and each sign-in (provider, identifier, assurance, verified claims, when)

Revision ID: 0089
Revises: 0091
Create Date: 2026-11-25 20:30:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0089'
down_revision = '0091'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('resident_provider',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alias', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('issuer', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('discovery_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('assurance_level', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.ForeignKeyConstraint(['assurance_level'], ['assurance_level.level'], name=op.f('fk_resident_provider_assurance_level_assurance_level')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_provider')),
    sa.UniqueConstraint('alias', name=op.f('uq_resident_provider_alias'))
    )
    op.create_table('resident_sign_in',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('assurance_level', sa.Integer(), nullable=False),
    sa.Column('verified_claims', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('signed_in_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assurance_level'], ['assurance_level.level'], name=op.f('fk_resident_sign_in_assurance_level_assurance_level')),
    sa.ForeignKeyConstraint(['provider_id'], ['resident_provider.id'], name=op.f('fk_resident_sign_in_provider_id_resident_provider')),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_resident_sign_in_resident_id_resident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_sign_in'))
    )
    op.create_index(op.f('ix_resident_sign_in_resident_id'), 'resident_sign_in', ['resident_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_resident_sign_in_resident_id'), table_name='resident_sign_in')
    op.drop_table('resident_sign_in')
    op.drop_table('resident_provider')
