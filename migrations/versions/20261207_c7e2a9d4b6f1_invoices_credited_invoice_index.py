"""invoices: an index on the invoice a credit note cites

What each invoice still owes sums its credit notes by a correlated subquery: without the
index, the invoices list's totals scanned every invoice once per invoice.

Revision ID: c7e2a9d4b6f1
Revises: b9d3e1f7c2a5
Create Date: 2026-12-07 17:20:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "c7e2a9d4b6f1"
down_revision = "b9d3e1f7c2a5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("invoices") as batch:
        batch.create_index(batch.f("ix_invoices_credited_invoice_id"), ["credited_invoice_id"])


def downgrade():
    with op.batch_alter_table("invoices") as batch:
        batch.drop_index(batch.f("ix_invoices_credited_invoice_id"))
