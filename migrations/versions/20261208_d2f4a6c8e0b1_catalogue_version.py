"""catalogue version: renewed by every transaction that changes an offer, a tier or a supplier

Revision ID: d2f4a6c8e0b1
Revises: c7e2a9d4b6f1
Create Date: 2026-12-08 03:00:00

"""

import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d2f4a6c8e0b1"
down_revision = "c7e2a9d4b6f1"
branch_labels = None
depends_on = None


def upgrade():
    version = op.create_table(
        "catalogue_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_version")),
    )
    op.bulk_insert(version, [{"id": 1, "version": secrets.token_hex(16)}])


def downgrade():
    op.drop_table("catalogue_version")
