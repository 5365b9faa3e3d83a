"""FEC entries stored when first exported (numbers, labels, lettering never change); Stripe payouts

Revision ID: 976bdea81548
Revises: 1c93cbc756b1
Create Date: 2026-12-06 16:50:00

"""

import sqlalchemy as sa
from alembic import op

import coop.db

# revision identifiers, used by Alembic.
revision = "976bdea81548"
down_revision = "1c93cbc756b1"
branch_labels = None
depends_on = None


# An exported entry is the accountant's record: the database refuses to delete one or to
# change it, except to letter a line not lettered yet.
REFUSAL = "a FEC entry once exported never changes: only an empty lettering may be set"
CHANGED = " OR ".join(
    f"NEW.{column} IS DISTINCT FROM OLD.{column}"
    for column in (
        "id",
        "number",
        "source_kind",
        "source_id",
        "journal_code",
        "journal_label",
        "entry_date",
        "piece_ref",
        "piece_date",
        "label",
        "member_code",
        "customers_amount",
        "created_at",
    )
)
SQLITE_CHANGED = CHANGED.replace("IS DISTINCT FROM", "IS NOT")
POSTGRESQL_FUNCTION = f"""CREATE FUNCTION fec_entries_immutable() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' OR OLD.lettering IS NOT NULL OR OLD.lettered_on IS NOT NULL
     OR NEW.postings::text IS DISTINCT FROM OLD.postings::text OR {CHANGED} THEN
    RAISE EXCEPTION '{REFUSAL}';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql"""


def upgrade():
    op.create_table(
        "stripe_payouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stripe_id", sa.String(length=255), nullable=False),
        sa.Column("amount", coop.db.Money(precision=12, scale=2), nullable=False),
        sa.Column("arrival_on", sa.Date(), nullable=False),
        sa.Column("bank_line_id", sa.Integer(), nullable=True),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "amount > 0", name=op.f("ck_stripe_payouts_stripe_payout_amount_positive")
        ),
        sa.ForeignKeyConstraint(
            ["bank_line_id"],
            ["bank_lines.id"],
            name=op.f("fk_stripe_payouts_bank_line_id_bank_lines"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_payouts")),
        sa.UniqueConstraint("bank_line_id", name=op.f("uq_stripe_payouts_bank_line_id")),
        sa.UniqueConstraint("stripe_id", name=op.f("uq_stripe_payouts_stripe_id")),
    )
    op.create_table(
        "fec_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("source_kind", sa.String(length=1), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("journal_code", sa.String(length=8), nullable=False),
        sa.Column("journal_label", sa.String(length=60), nullable=False),
        sa.Column("entry_date", sa.Date(), nullable=False),
        sa.Column("piece_ref", sa.String(length=60), nullable=False),
        sa.Column("piece_date", sa.Date(), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("postings", sa.JSON(), nullable=False),
        sa.Column("member_code", sa.String(length=40), nullable=False),
        sa.Column("customers_amount", sa.String(length=20), nullable=False),
        sa.Column("lettering", sa.String(length=8), nullable=True),
        sa.Column("lettered_on", sa.Date(), nullable=True),
        sa.Column("created_at", coop.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fec_entries")),
        sa.UniqueConstraint("number", name=op.f("uq_fec_entries_number")),
        sa.UniqueConstraint("source_kind", "source_id", name="fec_entry_source_once"),
    )
    with op.batch_alter_table("fec_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fec_entries_entry_date"), ["entry_date"])
        batch_op.create_index("ix_fec_entries_lettering", ["lettering"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER fec_entries_no_delete BEFORE DELETE ON fec_entries "
            f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
        )
        op.execute(
            "CREATE TRIGGER fec_entries_no_update BEFORE UPDATE ON fec_entries "
            "WHEN OLD.lettering IS NOT NULL OR OLD.lettered_on IS NOT NULL "
            f"OR NEW.postings IS NOT OLD.postings OR {SQLITE_CHANGED} "
            f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
        )
    else:
        op.execute(POSTGRESQL_FUNCTION)
        op.execute(
            "CREATE TRIGGER fec_entries_immutable BEFORE UPDATE OR DELETE ON fec_entries "
            "FOR EACH ROW EXECUTE FUNCTION fec_entries_immutable()"
        )


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER fec_entries_no_update")
        op.execute("DROP TRIGGER fec_entries_no_delete")
    else:
        op.execute("DROP TRIGGER fec_entries_immutable ON fec_entries")
        op.execute("DROP FUNCTION fec_entries_immutable()")
    with op.batch_alter_table("fec_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_fec_entries_lettering")
        batch_op.drop_index(batch_op.f("ix_fec_entries_entry_date"))
    op.drop_table("fec_entries")
    op.drop_table("stripe_payouts")
