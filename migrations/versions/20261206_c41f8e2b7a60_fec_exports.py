"""FEC exports: the day up to which entries are closed

Revision ID: c41f8e2b7a60
Revises: b7e4c2a91d35
Create Date: 2026-12-06 20:05:00

"""

import sqlalchemy as sa
from alembic import op

import coop.db

# revision identifiers, used by Alembic.
revision = "c41f8e2b7a60"
down_revision = "b7e4c2a91d35"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "fec_exports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("closed_through", sa.Date(), nullable=False),
        sa.Column("created_at", coop.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fec_exports")),
    )


def downgrade():
    op.drop_table("fec_exports")
