"""coop identity: the coop fee's treatment and the purchase side's accounts

Revision ID: b7e4c2a91d35
Revises: b7d41c2e9a63
Create Date: 2026-12-06 20:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b7e4c2a91d35"
down_revision = "b7d41c2e9a63"
branch_labels = None
depends_on = None

COLUMNS = (
    ("fee_treatment", "goods"),
    ("account_vat_pending", "44574"),
    ("account_suppliers", "401"),
    ("account_purchases", "607"),
    ("account_purchase_shipping", "6087"),
    ("account_vat_deductible", "44566"),
    ("account_vat_self_assessed", "4452"),
    ("account_vat_import", "445662"),
)


def upgrade():
    with op.batch_alter_table("coop_identity") as batch:
        for name, usual in COLUMNS:
            batch.add_column(
                sa.Column(name, sa.String(length=10), nullable=False, server_default=usual)
            )


def downgrade():
    with op.batch_alter_table("coop_identity") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
