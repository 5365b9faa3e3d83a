"""negotiation messages: the address an entry written through a supplier's link came from

Revision ID: 181446674924
Revises: 352250eadcfb
Create Date: 2026-12-06 09:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "181446674924"
down_revision = "352250eadcfb"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("negotiation_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("remote_addr", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("negotiation_messages", schema=None) as batch_op:
        batch_op.drop_column("remote_addr")
