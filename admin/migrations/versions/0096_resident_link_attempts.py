"""Wrong link codes a resident entered in the portal (issue 42 item 2): counted per resident over the last
15 minutes, so that guessing a service's one-time code is limited across workers. A review may hold the changed
items of a known person's sign-in (resident_review.claims_of_id, issue 42 item 4).

Revision ID: 0096
Revises: 0095
Create Date: 2026-11-26 01:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0096'
down_revision = '0095'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('resident_link_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_resident_link_attempt_resident_id_resident')),
    sa.ForeignKeyConstraint(['service_id'], ['data_service.id'], name=op.f('fk_resident_link_attempt_service_id_data_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_link_attempt'))
    )
    op.create_index('ix_resident_link_attempt_recent', 'resident_link_attempt', ['resident_id', 'attempted_at'], unique=False)
    with op.batch_alter_table('resident_review', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claims_of_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_resident_review_claims_of_id_resident'), 'resident', ['claims_of_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('resident_review', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_resident_review_claims_of_id_resident'), type_='foreignkey')
        batch_op.drop_column('claims_of_id')
    op.drop_index('ix_resident_link_attempt_recent', table_name='resident_link_attempt')
    op.drop_table('resident_link_attempt')
