"""campaigns, needs, part requests

Revision ID: f824c5cb5000
Revises: 581d9b8cc7ee
Create Date: 2026-11-25 18:59:22.385516

"""

import sqlalchemy as sa
from alembic import op

import coop.db

# revision identifiers, used by Alembic.
revision = "f824c5cb5000"
down_revision = "581d9b8cc7ee"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "open",
                "closed",
                "pooled",
                "ordered",
                "received",
                "invoiced",
                "archived",
                name="campaignstatus",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("opens_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closes_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("order_date", sa.Date(), nullable=False),
        sa.Column("delivery_on", sa.Date(), nullable=True),
        sa.Column(
            "delivery_mode",
            sa.Enum(
                "hub",
                "shops",
                name="deliverymode",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("fee_rate", coop.db.Rate(precision=6, scale=4), nullable=False),
        sa.Column("penalty_local", coop.db.Rate(precision=6, scale=4), nullable=False),
        sa.Column("penalty_france", coop.db.Rate(precision=6, scale=4), nullable=False),
        sa.Column("penalty_europe", coop.db.Rate(precision=6, scale=4), nullable=False),
        sa.Column("penalty_asia", coop.db.Rate(precision=6, scale=4), nullable=False),
        sa.Column("penalty_other", coop.db.Rate(precision=6, scale=4), nullable=False),
        sa.Column("reminder_sent_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("opened_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "closes_at IS NULL OR opens_at IS NULL OR opens_at < closes_at",
            name=op.f("ck_campaigns_opens_before_closing"),
        ),
        sa.CheckConstraint(
            "fee_rate >= 0 AND fee_rate < 1", name=op.f("ck_campaigns_fee_rate_is_a_fraction")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("code", name=op.f("uq_campaigns_code")),
    )
    op.create_table(
        "needs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("tolerance", sa.Integer(), nullable=False),
        sa.Column("min_quantity", sa.Integer(), nullable=False),
        sa.Column("needed_by", sa.Date(), nullable=True),
        sa.Column("max_unit_price", coop.db.UnitPrice(precision=12, scale=4), nullable=True),
        sa.Column("ref", sa.String(length=40), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("max_unit_price > 0", name=op.f("ck_needs_max_unit_price_positive")),
        sa.CheckConstraint(
            "min_quantity >= 1 AND min_quantity <= quantity",
            name=op.f("ck_needs_min_quantity_within_quantity"),
        ),
        sa.CheckConstraint("quantity >= 1", name=op.f("ck_needs_quantity_positive")),
        sa.CheckConstraint("tolerance >= 0", name=op.f("ck_needs_tolerance_not_negative")),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_needs_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_needs_member_id_members")
        ),
        sa.ForeignKeyConstraint(["part_id"], ["parts.id"], name=op.f("fk_needs_part_id_parts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_needs")),
        sa.UniqueConstraint("campaign_id", "member_id", "ref", name="uq_needs_member_ref"),
    )
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_needs_part_id"), ["part_id"], unique=False)

    op.create_table(
        "part_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "converted",
                "declined",
                name="requeststatus",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("need_id", sa.Integer(), nullable=True),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity >= 1", name=op.f("ck_part_requests_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_part_requests_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_part_requests_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["need_id"],
            ["needs.id"],
            name=op.f("fk_part_requests_need_id_needs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_part_requests")),
    )
    with op.batch_alter_table("part_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_part_requests_campaign_id"), ["campaign_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("part_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_part_requests_campaign_id"))

    op.drop_table("part_requests")
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_needs_part_id"))

    op.drop_table("needs")
    op.drop_table("campaigns")
