"""A consent text's data item names its dataset by the register's row (issue 23); the audit log finds a
person's records by id (issue 25)

* ``consent_data_item.dataset_ref`` (free text, never checked) becomes ``dataset_id``, a foreign key to
  ``dataset.id``. A reference that names a dataset of the register (by its uid or catalogue name) is
  kept as that dataset's row; one that names none cannot be kept as a reference: it is dropped, and
  each one dropped is said in the migration's output (item, text and the text it held).
* ``audit_record`` gets indexes on (target_type, target_id) and on actor_subject: the log's pages and
  its CSV name people of records written before names were stored by reading the person's other
  records (admin.views.labels), a lookup by id that must not scan the log.

Revision ID: 0034
Revises: 0031
Create Date: 2026-11-23 19:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('consent_data_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dataset_id', sa.Integer(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, text_id, name, dataset_ref FROM consent_data_item "
                                "WHERE dataset_ref IS NOT NULL AND dataset_ref <> ''")).all()
    for item_id, text_id, name, ref in rows:
        found = bind.execute(sa.text("SELECT id FROM dataset WHERE uid = :ref OR name = :ref ORDER BY id"),
                             {"ref": ref.strip()}).first()
        if found is not None:
            bind.execute(sa.text("UPDATE consent_data_item SET dataset_id = :d WHERE id = :i"),
                         {"d": found[0], "i": item_id})
        else:
            print(f"0034: consent text #{text_id}, data item {name!r}: {ref!r} names no dataset of the register; "
                  "the item is kept without a dataset")
    with op.batch_alter_table('consent_data_item', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_consent_data_item_dataset_id_dataset'), 'dataset',
                                    ['dataset_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_consent_data_item_dataset_id'), ['dataset_id'], unique=False)
        batch_op.drop_column('dataset_ref')
    # audit_record is append-only (its triggers refuse UPDATE and DELETE): plain CREATE INDEX, never a
    # batch rebuild of the table
    op.create_index(op.f('ix_audit_record_target'), 'audit_record', ['target_type', 'target_id'], unique=False)
    op.create_index(op.f('ix_audit_record_actor_subject'), 'audit_record', ['actor_subject'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_audit_record_actor_subject'), table_name='audit_record')
    op.drop_index(op.f('ix_audit_record_target'), table_name='audit_record')
    with op.batch_alter_table('consent_data_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dataset_ref', sa.String(length=200), nullable=True))
    op.execute("UPDATE consent_data_item SET dataset_ref = (SELECT name FROM dataset WHERE dataset.id = "
               "consent_data_item.dataset_id) WHERE dataset_id IS NOT NULL")
    with op.batch_alter_table('consent_data_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_data_item_dataset_id'))
        batch_op.drop_constraint(batch_op.f('fk_consent_data_item_dataset_id_dataset'), type_='foreignkey')
        batch_op.drop_column('dataset_id')
