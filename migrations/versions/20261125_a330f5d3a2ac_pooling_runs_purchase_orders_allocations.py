"""pooling runs, purchase orders, allocations, counters

Revision ID: a330f5d3a2ac
Revises: 37b949d3396c
Create Date: 2026-11-25 20:37:39.481420

"""

import sqlalchemy as sa
from alembic import op

import coop.db

# revision identifiers, used by Alembic.
revision = "a330f5d3a2ac"
down_revision = "37b949d3396c"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "counters",
        sa.Column("series", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("series", name=op.f("pk_counters")),
    )
    op.create_table(
        "purchase_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "sent",
                "confirmed",
                "partly_received",
                "received",
                "closed",
                "cancelled",
                name="orderstatus",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("shipping_fee", coop.db.Money(precision=12, scale=2), nullable=False),
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
        sa.Column("requested_delivery_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "shipping_fee >= 0", name=op.f("ck_purchase_orders_shipping_fee_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_purchase_orders_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name=op.f("fk_purchase_orders_supplier_id_suppliers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_orders")),
        sa.UniqueConstraint("number", name=op.f("uq_purchase_orders_number")),
    )
    with op.batch_alter_table("purchase_orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_purchase_orders_campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_purchase_orders_supplier_id"), ["supplier_id"], unique=False
        )

    op.create_table(
        "order_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column("supplier_ref", sa.String(length=60), nullable=True),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("pack_size", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", coop.db.UnitPrice(precision=12, scale=4), nullable=False),
        sa.Column("tier_min_qty", sa.Integer(), nullable=False),
        sa.CheckConstraint("pack_size >= 1", name=op.f("ck_order_lines_pack_size_positive")),
        sa.CheckConstraint("quantity >= 1", name=op.f("ck_order_lines_quantity_positive")),
        sa.CheckConstraint("unit_price >= 0", name=op.f("ck_order_lines_unit_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_order_lines_offer_id_offers")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["purchase_orders.id"],
            name=op.f("fk_order_lines_order_id_purchase_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["part_id"], ["parts.id"], name=op.f("fk_order_lines_part_id_parts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_lines")),
    )
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_lines_order_id"), ["order_id"], unique=False)

    op.create_table(
        "pooling_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "running",
                "done",
                "failed",
                name="runstatus",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("progress", coop.db.Rate(precision=6, scale=4), nullable=False),
        sa.Column("message", sa.String(length=200), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("committed_at", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_pooling_runs_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_pooling_runs_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pooling_runs")),
    )
    with op.batch_alter_table("pooling_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pooling_runs_campaign_id"), ["campaign_id"], unique=False
        )

    op.create_table(
        "allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity >= 1", name=op.f("ck_allocations_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["line_id"], ["order_lines.id"], name=op.f("fk_allocations_line_id_order_lines")
        ),
        sa.ForeignKeyConstraint(
            ["need_id"], ["needs.id"], name=op.f("fk_allocations_need_id_needs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocations")),
        sa.UniqueConstraint("need_id", name=op.f("uq_allocations_need_id")),
    )
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_allocations_line_id"), ["line_id"], unique=False)

    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pooling_reason", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.drop_column("pooling_reason")

    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_allocations_line_id"))

    op.drop_table("allocations")
    with op.batch_alter_table("pooling_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pooling_runs_campaign_id"))

    op.drop_table("pooling_runs")
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_lines_order_id"))

    op.drop_table("order_lines")
    with op.batch_alter_table("purchase_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purchase_orders_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_purchase_orders_campaign_id"))

    op.drop_table("purchase_orders")
    op.drop_table("counters")
