"""framework agreements (take-or-pay): a committed volume on one offer over a period

Revision ID: d164ea68280e
Revises: 5e2b8d417c90
Create Date: 2026-12-06 19:32:03

"""

import sqlalchemy as sa
from alembic import op

import coop.db

# revision identifiers, used by Alembic.
revision = "d164ea68280e"
down_revision = "5e2b8d417c90"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "framework_agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("committed_qty", sa.Integer(), nullable=False),
        sa.Column("shortfall_fee", coop.db.UnitPrice(precision=12, scale=4), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("campaigns_planned", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "active",
                "ended",
                name="agreementstatus",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "campaigns_planned > 0", name=op.f("ck_framework_agreements_campaigns_planned_positive")
        ),
        sa.CheckConstraint(
            "committed_qty > 0", name=op.f("ck_framework_agreements_committed_qty_positive")
        ),
        sa.CheckConstraint(
            "shortfall_fee >= 0", name=op.f("ck_framework_agreements_shortfall_fee_not_negative")
        ),
        sa.CheckConstraint(
            "valid_to >= valid_from", name=op.f("ck_framework_agreements_period_in_order")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_framework_agreements_created_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_framework_agreements_offer_id_offers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_framework_agreements")),
        sa.UniqueConstraint("code", name=op.f("uq_framework_agreements_code")),
    )
    with op.batch_alter_table("framework_agreements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_framework_agreements_offer_id"), ["offer_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("framework_agreements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_framework_agreements_offer_id"))

    op.drop_table("framework_agreements")
