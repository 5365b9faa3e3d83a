"""stored split checked by the database

Revision ID: c4090f70376c
Revises: 6653abab8a32
Create Date: 2026-11-25 22:00:30.939514

"""

import sqlalchemy as sa
from alembic import op

import coop.db

# revision identifiers, used by Alembic.
revision = "c4090f70376c"
down_revision = "6653abab8a32"
branch_labels = None
depends_on = None


# Shares add up to their amount to the cent, and neither moves once the amount exists:
# the stored split is rewritten whole (amounts deleted first, then shares).
SQLITE_TRIGGERS = [
    """CREATE TRIGGER split_amount_balanced BEFORE INSERT ON split_amounts
    WHEN (SELECT ROUND(COALESCE(SUM(amount), 0) * 100) FROM split_shares
          WHERE campaign_id = NEW.campaign_id AND source = NEW.source) <> ROUND(NEW.amount * 100)
    BEGIN SELECT RAISE(ABORT, 'split shares do not add up to the amount'); END""",
    """CREATE TRIGGER split_amount_frozen BEFORE UPDATE ON split_amounts
    BEGIN SELECT RAISE(ABORT, 'a stored split is rewritten whole, never updated'); END""",
    """CREATE TRIGGER split_share_frozen BEFORE UPDATE ON split_shares
    BEGIN SELECT RAISE(ABORT, 'a stored split is rewritten whole, never updated'); END""",
    """CREATE TRIGGER split_share_kept BEFORE DELETE ON split_shares
    WHEN EXISTS (SELECT 1 FROM split_amounts
                 WHERE campaign_id = OLD.campaign_id AND source = OLD.source)
    BEGIN SELECT RAISE(ABORT, 'a share goes only after its amount'); END""",
    """CREATE TRIGGER split_share_late BEFORE INSERT ON split_shares
    WHEN EXISTS (SELECT 1 FROM split_amounts
                 WHERE campaign_id = NEW.campaign_id AND source = NEW.source)
    BEGIN SELECT RAISE(ABORT, 'a share comes only before its amount'); END""",
]
POSTGRESQL_TRIGGERS = [
    """CREATE FUNCTION split_check() RETURNS trigger AS $$
    BEGIN
      IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'a stored split is rewritten whole, never updated';
      END IF;
      IF TG_TABLE_NAME = 'split_amounts' THEN
        IF (SELECT COALESCE(SUM(amount), 0) FROM split_shares
            WHERE campaign_id = NEW.campaign_id AND source = NEW.source) <> NEW.amount THEN
          RAISE EXCEPTION 'split shares do not add up to the amount';
        END IF;
        RETURN NEW;
      END IF;
      IF TG_OP = 'DELETE' THEN
        IF EXISTS (SELECT 1 FROM split_amounts
                   WHERE campaign_id = OLD.campaign_id AND source = OLD.source) THEN
          RAISE EXCEPTION 'a share goes only after its amount';
        END IF;
        RETURN OLD;
      END IF;
      IF EXISTS (SELECT 1 FROM split_amounts
                 WHERE campaign_id = NEW.campaign_id AND source = NEW.source) THEN
        RAISE EXCEPTION 'a share comes only before its amount';
      END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER split_amount_check BEFORE INSERT OR UPDATE ON split_amounts
    FOR EACH ROW EXECUTE FUNCTION split_check()""",
    """CREATE TRIGGER split_share_check BEFORE INSERT OR UPDATE OR DELETE ON split_shares
    FOR EACH ROW EXECUTE FUNCTION split_check()""",
]


def upgrade():
    op.create_table(
        "split_amounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("amount", coop.db.Money(precision=12, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_split_amounts_campaign_id_campaigns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_split_amounts")),
        sa.UniqueConstraint("campaign_id", "source", name="uq_split_amounts_campaign_source"),
    )
    op.create_table(
        "split_shares",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("amount", coop.db.Money(precision=12, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_split_shares_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["need_id"], ["needs.id"], name=op.f("fk_split_shares_need_id_needs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_split_shares")),
    )
    with op.batch_alter_table("split_shares", schema=None) as batch_op:
        batch_op.create_index(
            "ix_split_shares_campaign_source", ["campaign_id", "source"], unique=False
        )
    triggers = SQLITE_TRIGGERS if op.get_bind().dialect.name == "sqlite" else POSTGRESQL_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for name in (
            "split_amount_balanced",
            "split_amount_frozen",
            "split_share_frozen",
            "split_share_kept",
            "split_share_late",
        ):
            op.execute(f"DROP TRIGGER {name}")
    else:
        op.execute("DROP TRIGGER split_amount_check ON split_amounts")
        op.execute("DROP TRIGGER split_share_check ON split_shares")
        op.execute("DROP FUNCTION split_check()")
    with op.batch_alter_table("split_shares", schema=None) as batch_op:
        batch_op.drop_index("ix_split_shares_campaign_source")

    op.drop_table("split_shares")
    op.drop_table("split_amounts")
