"""catalogue: suppliers, parts, offers, price tiers

Revision ID: 581d9b8cc7ee
Revises: 3bacdbae61e8
Create Date: 2026-11-25 18:43:55.605708

"""

import sqlalchemy as sa
from alembic import op

import coop.db

# revision identifiers, used by Alembic.
revision = "581d9b8cc7ee"
down_revision = "3bacdbae61e8"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("weight_g", sa.Integer(), nullable=True),
        sa.Column("vat_rate", coop.db.Rate(precision=6, scale=4), nullable=False),
        sa.Column("ean", sa.String(length=13), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "vat_rate >= 0 AND vat_rate < 1", name=op.f("ck_parts_vat_rate_is_a_fraction")
        ),
        sa.CheckConstraint("weight_g >= 0", name=op.f("ck_parts_weight_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parts")),
        sa.UniqueConstraint("ean", name=op.f("uq_parts_ean")),
        sa.UniqueConstraint("sku", name=op.f("uq_parts_sku")),
    )
    with op.batch_alter_table("parts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_parts_category"), ["category"], unique=False)

    op.create_table(
        "suppliers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("is_local", sa.Boolean(), nullable=False),
        sa.Column("siret", sa.String(length=14), nullable=True),
        sa.Column("vat_number", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=30), nullable=True),
        sa.Column("shipping_fee", coop.db.Money(precision=12, scale=2), nullable=False),
        sa.Column("free_shipping_over", coop.db.Money(precision=12, scale=2), nullable=True),
        sa.Column("default_lead_time_days", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "default_lead_time_days >= 0", name=op.f("ck_suppliers_lead_time_not_negative")
        ),
        sa.CheckConstraint(
            "shipping_fee >= 0", name=op.f("ck_suppliers_shipping_fee_not_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppliers")),
        sa.UniqueConstraint("code", name=op.f("uq_suppliers_code")),
    )
    op.create_table(
        "offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column("supplier_ref", sa.String(length=60), nullable=True),
        sa.Column("made_in", sa.String(length=2), nullable=False),
        sa.Column("pack_size", sa.Integer(), nullable=False),
        sa.Column("moq", sa.Integer(), nullable=False),
        sa.Column("lead_time_days", sa.Integer(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("lead_time_days >= 0", name=op.f("ck_offers_lead_time_not_negative")),
        sa.CheckConstraint("moq >= 0", name=op.f("ck_offers_moq_not_negative")),
        sa.CheckConstraint("pack_size >= 1", name=op.f("ck_offers_pack_size_positive")),
        sa.ForeignKeyConstraint(["part_id"], ["parts.id"], name=op.f("fk_offers_part_id_parts")),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name=op.f("fk_offers_supplier_id_suppliers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
        sa.UniqueConstraint("supplier_id", "part_id", name="uq_offers_supplier_part"),
    )
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offers_part_id"), ["part_id"], unique=False)

    op.create_table(
        "price_tiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("min_qty", sa.Integer(), nullable=False),
        sa.Column("unit_price", coop.db.UnitPrice(precision=12, scale=4), nullable=False),
        sa.Column("valid_from", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_to", coop.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("min_qty >= 1", name=op.f("ck_price_tiers_min_qty_positive")),
        sa.CheckConstraint("unit_price > 0", name=op.f("ck_price_tiers_unit_price_positive")),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_price_tiers_offer_id_offers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_tiers")),
    )
    with op.batch_alter_table("price_tiers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_price_tiers_offer_id"), ["offer_id"], unique=False)
        batch_op.create_index(
            "uq_price_tiers_current",
            ["offer_id", "min_qty"],
            unique=True,
            postgresql_where=sa.text("valid_to IS NULL"),
            sqlite_where=sa.text("valid_to IS NULL"),
        )


def downgrade():
    with op.batch_alter_table("price_tiers", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_price_tiers_current",
            postgresql_where=sa.text("valid_to IS NULL"),
            sqlite_where=sa.text("valid_to IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_price_tiers_offer_id"))

    op.drop_table("price_tiers")
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offers_part_id"))

    op.drop_table("offers")
    op.drop_table("suppliers")
    with op.batch_alter_table("parts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_parts_category"))

    op.drop_table("parts")
