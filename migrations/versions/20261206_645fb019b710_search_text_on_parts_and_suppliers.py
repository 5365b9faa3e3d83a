"""parts and suppliers: a search text, written for the rows already there

Revision ID: 645fb019b710
Revises: db3be280b0ae
Create Date: 2026-12-06 09:00:00.000000

"""

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

from coop.suppliers.search import part_search_text, supplier_search_text

# revision identifiers, used by Alembic.
revision = "645fb019b710"
down_revision = "db3be280b0ae"
branch_labels = None
depends_on = None

suppliers = sa.table(
    "suppliers",
    sa.column("id"),
    sa.column("code"),
    sa.column("name"),
    sa.column("city"),
    sa.column("search_text"),
)
parts = sa.table(
    "parts",
    sa.column("id"),
    sa.column("sku"),
    sa.column("name"),
    sa.column("ean"),
    sa.column("search_text"),
)
offers = sa.table(
    "offers", sa.column("part_id"), sa.column("supplier_id"), sa.column("supplier_ref")
)


def upgrade():
    for table in ("suppliers", "parts"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("search_text", sa.Text(), server_default="", nullable=False)
            )
    connection = op.get_bind()
    texts = [
        {"row_id": row.id, "text": supplier_search_text(row.code, row.name, row.city)}
        for row in connection.execute(sa.select(suppliers))
    ]
    _write(connection, suppliers, texts)
    terms = defaultdict(list)
    for row in connection.execute(
        sa.select(offers.c.part_id, suppliers.c.code, suppliers.c.name, offers.c.supplier_ref).join(
            suppliers, suppliers.c.id == offers.c.supplier_id
        )
    ):
        terms[row.part_id].append((row.code, row.name, row.supplier_ref))
    texts = [
        {"row_id": row.id, "text": part_search_text(row.name, row.sku, row.ean, terms[row.id])}
        for row in connection.execute(sa.select(parts))
    ]
    _write(connection, parts, texts)


def _write(connection, table, texts: list[dict]) -> None:
    if texts:
        connection.execute(
            table.update()
            .where(table.c.id == sa.bindparam("row_id"))
            .values(search_text=sa.bindparam("text")),
            texts,
        )


def downgrade():
    for table in ("parts", "suppliers"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("search_text")
