"""charges: the framework agreement whose shortfall fee a charge is

Revision ID: e5a7c3d9b214
Revises: 376e19dc1e66
Create Date: 2026-12-06 21:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e5a7c3d9b214"
down_revision = "376e19dc1e66"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("charges") as batch:
        batch.add_column(sa.Column("agreement_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_charges_agreement_id_framework_agreements"),
            "framework_agreements",
            ["agreement_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("charges") as batch:
        batch.drop_constraint(
            batch.f("fk_charges_agreement_id_framework_agreements"), type_="foreignkey"
        )
        batch.drop_column("agreement_id")
