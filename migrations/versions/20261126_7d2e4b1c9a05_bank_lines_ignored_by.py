"""bank lines: who ignored a line, and when

Revision ID: 7d2e4b1c9a05
Revises: 5bc636a824a4
Create Date: 2026-11-26 09:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

import coop.db

# revision identifiers, used by Alembic.
revision = "7d2e4b1c9a05"
down_revision = "5bc636a824a4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("bank_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ignored_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("ignored_at", coop.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_bank_lines_ignored_by_id_users"), "users", ["ignored_by_id"], ["id"]
        )


def downgrade():
    with op.batch_alter_table("bank_lines", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_bank_lines_ignored_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("ignored_at")
        batch_op.drop_column("ignored_by_id")
