"""Suppliers' invoices and credit notes as received (file kept), their lines, and supplier
payments from bank statement debits allocated to them

Revision ID: b7d41c2e9a63
Revises: 5e2b8d417c90
Create Date: 2026-12-06 19:20:00

"""

import sqlalchemy as sa
from alembic import op

import coop.db

# revision identifiers, used by Alembic.
revision = "b7d41c2e9a63"
down_revision = "5e2b8d417c90"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "supplier_invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "380",
                "381",
                name="supplierinvoicekind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("purchase_order_id", sa.Integer(), nullable=True),
        sa.Column("credited_invoice_id", sa.Integer(), nullable=True),
        sa.Column("total_excl_vat", coop.db.Money(precision=12, scale=2), nullable=False),
        sa.Column("total_vat", coop.db.Money(precision=12, scale=2), nullable=False),
        sa.Column("total_incl_vat", coop.db.Money(precision=12, scale=2), nullable=False),
        sa.Column("vat_breakdown", sa.JSON(), nullable=False),
        sa.Column(
            "source_format",
            sa.Enum(
                "facturx",
                "cii",
                "ubl",
                "manual",
                name="sourceformat",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("file", sa.LargeBinary(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("file_type", sa.String(length=60), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "to_check",
                "disputed",
                "booked",
                name="supplierinvoicestatus",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("differences", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("dispute_message", sa.Text(), nullable=True),
        sa.Column("booked_on", sa.Date(), nullable=True),
        sa.Column("booked_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(status = 'booked') = (booked_on IS NOT NULL)",
            name=op.f("ck_supplier_invoices_booked_has_its_date"),
        ),
        sa.CheckConstraint(
            "kind = '381' OR credited_invoice_id IS NULL",
            name=op.f("ck_supplier_invoices_only_notes_credit"),
        ),
        sa.CheckConstraint(
            "ROUND(total_incl_vat, 2) = ROUND(total_excl_vat + total_vat, 2)",
            name=op.f("ck_supplier_invoices_totals_add_up"),
        ),
        sa.CheckConstraint(
            "total_excl_vat >= 0 AND total_vat >= 0 AND total_incl_vat >= 0",
            name=op.f("ck_supplier_invoices_totals_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["booked_by_id"], ["users.id"], name=op.f("fk_supplier_invoices_booked_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_supplier_invoices_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["credited_invoice_id"],
            ["supplier_invoices.id"],
            name=op.f("fk_supplier_invoices_credited_invoice_id_supplier_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["purchase_order_id"],
            ["purchase_orders.id"],
            name=op.f("fk_supplier_invoices_purchase_order_id_purchase_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_supplier_invoices_supplier_id_suppliers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_invoices")),
        sa.UniqueConstraint("supplier_id", "kind", "number", name="uq_supplier_invoices_number"),
    )
    with op.batch_alter_table("supplier_invoices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supplier_invoices_credited_invoice_id"),
            ["credited_invoice_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_supplier_invoices_purchase_order_id"),
            ["purchase_order_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_supplier_invoices_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_supplier_invoices_supplier_id"), ["supplier_id"], unique=False
        )

    op.create_table(
        "supplier_invoice_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "goods",
                "shipping",
                name="supplierlinekind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("supplier_ref", sa.String(length=60), nullable=True),
        sa.Column("buyer_ref", sa.String(length=60), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("unit_price", coop.db.UnitPrice(precision=12, scale=4), nullable=False),
        sa.Column("amount_excl_vat", coop.db.Money(precision=12, scale=2), nullable=False),
        sa.Column("vat_rate", coop.db.Rate(precision=6, scale=4), nullable=False),
        sa.Column("vat_category", sa.String(length=2), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["supplier_invoices.id"],
            name=op.f("fk_supplier_invoice_lines_invoice_id_supplier_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["part_id"], ["parts.id"], name=op.f("fk_supplier_invoice_lines_part_id_parts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_invoice_lines")),
        sa.UniqueConstraint("invoice_id", "position", name="uq_supplier_invoice_lines_position"),
    )
    with op.batch_alter_table("supplier_invoice_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supplier_invoice_lines_invoice_id"), ["invoice_id"], unique=False
        )

    op.create_table(
        "supplier_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("bank_line_id", sa.Integer(), nullable=False),
        sa.Column("amount", coop.db.Money(precision=12, scale=2), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "amount > 0", name=op.f("ck_supplier_payments_supplier_payment_amount_positive")
        ),
        sa.ForeignKeyConstraint(
            ["bank_line_id"],
            ["bank_lines.id"],
            name=op.f("fk_supplier_payments_bank_line_id_bank_lines"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_supplier_payments_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_supplier_payments_supplier_id_suppliers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_payments")),
        sa.UniqueConstraint("bank_line_id", name=op.f("uq_supplier_payments_bank_line_id")),
    )
    with op.batch_alter_table("supplier_payments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supplier_payments_supplier_id"), ["supplier_id"], unique=False
        )

    op.create_table(
        "supplier_payment_allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("amount", coop.db.Money(precision=12, scale=2), nullable=False),
        sa.CheckConstraint(
            "amount > 0",
            name=op.f("ck_supplier_payment_allocations_supplier_allocation_amount_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["supplier_invoices.id"],
            name=op.f("fk_supplier_payment_allocations_invoice_id_supplier_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["supplier_payments.id"],
            name=op.f("fk_supplier_payment_allocations_payment_id_supplier_payments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_payment_allocations")),
    )
    with op.batch_alter_table("supplier_payment_allocations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supplier_payment_allocations_invoice_id"), ["invoice_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_supplier_payment_allocations_payment_id"), ["payment_id"], unique=False
        )


def downgrade():
    for table in (
        "supplier_payment_allocations",
        "supplier_payments",
        "supplier_invoice_lines",
        "supplier_invoices",
    ):
        op.drop_table(table)
