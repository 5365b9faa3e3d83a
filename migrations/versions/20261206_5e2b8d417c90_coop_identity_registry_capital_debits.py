"""coop identity: RCS/RM registry, share capital, VAT on debits, rebates account

Revision ID: 5e2b8d417c90
Revises: 976bdea81548
Create Date: 2026-12-06 16:55:00

"""

import sqlalchemy as sa
from alembic import op

import coop.db

# revision identifiers, used by Alembic.
revision = "5e2b8d417c90"
down_revision = "976bdea81548"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("coop_identity") as batch:
        batch.add_column(sa.Column("registry", sa.String(length=3), nullable=True))
        batch.add_column(sa.Column("registry_city", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("share_capital", coop.db.Money(), nullable=True))
        batch.add_column(
            sa.Column("variable_capital", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("vat_on_debits", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("account_rebates", sa.String(length=10), nullable=False, server_default="709")
        )


def downgrade():
    with op.batch_alter_table("coop_identity") as batch:
        for name in (
            "account_rebates",
            "vat_on_debits",
            "variable_capital",
            "share_capital",
            "registry_city",
            "registry",
        ):
            batch.drop_column(name)
