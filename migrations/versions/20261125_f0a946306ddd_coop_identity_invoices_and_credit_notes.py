"""coop identity, invoices and credit notes

Revision ID: f0a946306ddd
Revises: c4090f70376c
Create Date: 2026-11-25 22:12:54.576866

"""

import sqlalchemy as sa
from alembic import op

import coop.db

# revision identifiers, used by Alembic.
revision = "f0a946306ddd"
down_revision = "c4090f70376c"
branch_labels = None
depends_on = None


# Issued invoices never change (spec/invoicing.md): the database refuses updates and
# deletes on every table of an invoice, whatever the application does.
IMMUTABLE = ("invoices", "invoice_lines", "invoice_vat", "invoice_documents")
POSTGRESQL_FUNCTION = """CREATE FUNCTION invoice_immutable() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'an issued invoice is never changed or deleted: issue a credit note';
END $$ LANGUAGE plpgsql"""


def upgrade():
    op.create_table(
        "coop_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("legal_form", sa.String(length=100), nullable=True),
        sa.Column("siren", sa.String(length=9), nullable=False),
        sa.Column("vat_number", sa.String(length=20), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("postcode", sa.String(length=10), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=30), nullable=True),
        sa.Column("iban", sa.String(length=34), nullable=True),
        sa.Column("bic", sa.String(length=11), nullable=True),
        sa.Column("payment_terms_days", sa.Integer(), nullable=False),
        sa.Column("late_payment_rate", sa.String(length=200), nullable=False),
        sa.Column("logo", sa.LargeBinary(), nullable=True),
        sa.Column("logo_type", sa.String(length=40), nullable=True),
        sa.Column("account_customers", sa.String(length=10), nullable=False),
        sa.Column("account_goods", sa.String(length=10), nullable=False),
        sa.Column("account_shipping", sa.String(length=10), nullable=False),
        sa.Column("account_fee", sa.String(length=10), nullable=False),
        sa.Column("account_vat", sa.String(length=10), nullable=False),
        sa.Column("account_bank", sa.String(length=10), nullable=False),
        sa.Column("account_bank_fees", sa.String(length=10), nullable=False),
        sa.Column("updated_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_coop_identity_single_row")),
        sa.CheckConstraint(
            "payment_terms_days >= 0", name=op.f("ck_coop_identity_terms_not_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coop_identity")),
    )
    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=35), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "invoice",
                "credit_note",
                name="invoicekind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("credited_invoice_id", sa.Integer(), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("total_excl_vat", coop.db.Money(precision=12, scale=2), nullable=False),
        sa.Column("total_vat", coop.db.Money(precision=12, scale=2), nullable=False),
        sa.Column("total_incl_vat", coop.db.Money(precision=12, scale=2), nullable=False),
        sa.Column("payment_reference", sa.String(length=35), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'credit_note') = (credited_invoice_id IS NOT NULL)",
            name=op.f("ck_invoices_credit_note_cites_its_invoice"),
        ),
        sa.CheckConstraint("due_on >= issued_on", name=op.f("ck_invoices_due_after_issue")),
        sa.CheckConstraint(
            "ROUND(total_incl_vat, 2) = ROUND(total_excl_vat + total_vat, 2)",
            name=op.f("ck_invoices_totals_add_up"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_invoices_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["credited_invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoices_credited_invoice_id_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["issued_by_id"], ["users.id"], name=op.f("fk_invoices_issued_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_invoices_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("number", name=op.f("uq_invoices_number")),
        sa.UniqueConstraint("payment_reference", name=op.f("uq_invoices_payment_reference")),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoices_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoices_member_id"), ["member_id"], unique=False)

    op.create_table(
        "invoice_documents",
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("rendered_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_documents_invoice_id_invoices")
        ),
        sa.PrimaryKeyConstraint("invoice_id", name=op.f("pk_invoice_documents")),
    )
    op.create_table(
        "invoice_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "goods",
                "shipping",
                "charge",
                "fee",
                name="linekind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=60), nullable=True),
        sa.Column("quantity", coop.db.UnitPrice(precision=12, scale=4), nullable=False),
        sa.Column("unit_price", coop.db.UnitPrice(precision=12, scale=4), nullable=False),
        sa.Column("vat_rate", coop.db.Rate(precision=6, scale=4), nullable=False),
        sa.Column("amount_excl_vat", coop.db.Money(precision=12, scale=2), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_lines_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["need_id"], ["needs.id"], name=op.f("fk_invoice_lines_need_id_needs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
        sa.UniqueConstraint("invoice_id", "position", name="uq_invoice_lines_position"),
    )
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_lines_invoice_id"), ["invoice_id"], unique=False
        )

    op.create_table(
        "invoice_vat",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("rate", coop.db.Rate(precision=6, scale=4), nullable=False),
        sa.Column("base", coop.db.Money(precision=12, scale=2), nullable=False),
        sa.Column("amount", coop.db.Money(precision=12, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_vat_invoice_id_invoices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_vat")),
        sa.UniqueConstraint("invoice_id", "rate", name="uq_invoice_vat_rate"),
    )
    with op.batch_alter_table("invoice_vat", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoice_vat_invoice_id"), ["invoice_id"], unique=False)
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:
        op.execute(POSTGRESQL_FUNCTION)
    for table in IMMUTABLE:
        for action in ("UPDATE", "DELETE"):
            name = f"{table}_no_{action.lower()}"
            if sqlite:
                op.execute(
                    f"CREATE TRIGGER {name} BEFORE {action} ON {table} BEGIN SELECT RAISE(ABORT, "
                    "'an issued invoice is never changed or deleted: issue a credit note'); END"
                )
            else:
                op.execute(
                    f"CREATE TRIGGER {name} BEFORE {action} ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION invoice_immutable()"
                )


def downgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in IMMUTABLE:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER {table}_no_{action}" + ("" if sqlite else f" ON {table}"))
    if not sqlite:
        op.execute("DROP FUNCTION invoice_immutable()")
    with op.batch_alter_table("invoice_vat", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_vat_invoice_id"))

    op.drop_table("invoice_vat")
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_lines_invoice_id"))

    op.drop_table("invoice_lines")
    op.drop_table("invoice_documents")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoices_member_id"))
        batch_op.drop_index(batch_op.f("ix_invoices_campaign_id"))

    op.drop_table("invoices")
    op.drop_table("coop_identity")
