"""`coop import needs --campaign CODE FILE`: shops' needs in bulk (spec/formats.md).

A shop's needs also go out in the same columns (an export it can edit and import back,
and a template to start from).
"""

import dataclasses
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from coop import bounds
from coop import csv_import as c
from coop.accounts.models import Member
from coop.csv_export import Figure, as_typed
from coop.errors import FieldError
from coop.extensions import db
from coop.orders.campaigns.models import Campaign, Need
from coop.orders.campaigns.needs import NeedTerms, check_terms, ensure_open, lock_and_judge
from coop.suppliers.models import Part

NEED_COLUMNS = (
    c.Column("member_code", c.code(20), required=True),
    c.Column("sku", c.code(40), required=True),
    c.Column("quantity", c.integer(1, bound=bounds.quantity), required=True),
    c.Column("tolerance", c.integer(0, bound=bounds.quantity), default=0),
    c.Column("min_quantity", c.integer(1, bound=bounds.quantity)),
    c.Column("needed_by", c.day),
    c.Column("max_unit_price_eur", c.unit_price),
    c.Column("ref", c.text(40)),
)
# A file the app wrote quotes any text a spreadsheet would run (csv_export): read it back
# without the quote, so that an exported file imports as it went out.
READ_COLUMNS = tuple(
    dataclasses.replace(column, parse=lambda cell, parse=column.parse: parse(as_typed(cell)))
    for column in NEED_COLUMNS
)
# Where the file says which columns, the terms are read from the row.
TERM_COLUMNS = {
    "quantity": "quantity",
    "tolerance": "tolerance",
    "min_quantity": "min_quantity",
    "needed_by": "needed_by",
    "max_unit_price_eur": "max_unit_price",
}


def import_needs(
    campaign: Campaign,
    data: bytes,
    *,
    at: datetime | None = None,
    only_member: Member | None = None,
) -> c.ImportResult:
    """Create or update needs by member and ref; a shop may import only its own lines.

    Judged at `at`, or at the clock once the campaign is locked (`lock_and_judge`)."""
    judged = lock_and_judge(campaign, at)
    ensure_open(campaign, judged)
    rows = c.read_rows(data, READ_COLUMNS)
    clean = [row for row in rows if row.ok]
    members = {
        m.code: m
        for m in db.session.scalars(
            select(Member).where(Member.code.in_({r.get("member_code") for r in clean}))
        )
    }
    parts = {
        p.sku: p
        for p in db.session.scalars(select(Part).where(Part.sku.in_({r.get("sku") for r in clean})))
    }
    errors: list[FieldError] = []
    first_line: dict[tuple[str, str], int] = {}
    for row in clean:
        code, ref = row.get("member_code"), _ref(row)
        member = members.get(code)
        if only_member is not None and code != only_member.code:
            message = f"vous ne pouvez importer que les besoins de {only_member.code}"
            errors.append(FieldError(row.line, "member_code", message))
        elif member is None or not member.is_active:
            errors.append(
                FieldError(row.line, "member_code", f"adhérent {code} inconnu ou inactif")
            )
        part = parts.get(row.get("sku"))
        if part is None or not part.is_active:
            errors.append(
                FieldError(row.line, "sku", f"pièce {row.get('sku')} absente du catalogue")
            )
        for term, message in check_terms(_terms(row), campaign):
            errors.append(FieldError(row.line, _column_of(term), message))
        if (code, ref) in first_line:
            message = f"référence {ref} déjà utilisée ligne {first_line[(code, ref)]}"
            errors.append(FieldError(row.line, "ref", message))
        first_line.setdefault((code, ref), row.line)
    c.raise_if_errors(rows, errors)

    existing = {
        (n.member_id, n.ref): n
        for n in db.session.scalars(
            select(Need).where(
                Need.campaign_id == campaign.id,
                Need.member_id.in_([m.id for m in members.values()]),
            )
        )
    }
    created = 0
    for row in rows:
        member, part, terms = members[row.get("member_code")], parts[row.get("sku")], _terms(row)
        need = existing.get((member.id, terms.ref))
        if need is None:
            need = Need(campaign=campaign, member=member, ref=terms.ref)
            db.session.add(need)
            created += 1
            if at is None:
                need.created_at = judged
        if at is None:
            need.updated_at = judged
        need.part = part
        need.quantity = terms.quantity
        need.tolerance = terms.tolerance or 0
        need.min_quantity = terms.min_quantity or terms.quantity
        need.needed_by = terms.needed_by
        need.max_unit_price = terms.max_unit_price
    db.session.flush()
    return c.ImportResult(created=created, updated=len(rows) - created)


def _ref(row: c.Row) -> str:
    return row.get("ref") or str(row.line)


def _terms(row: c.Row) -> NeedTerms:
    price = row.get("max_unit_price_eur")
    return NeedTerms(
        quantity=row.get("quantity"),
        tolerance=row.get("tolerance") or 0,
        min_quantity=row.get("min_quantity"),
        needed_by=row.get("needed_by"),
        max_unit_price=Decimal(price) if price is not None else None,
        ref=_ref(row),
    )


def _column_of(term: str) -> str:
    return {v: k for k, v in TERM_COLUMNS.items()}.get(term, term)


# --- the same columns, going out ---------------------------------------------------------


def _price(value: Decimal | None) -> str:
    return "" if value is None else Figure(f"{value.normalize():f}".replace(".", ","))


def need_rows(needs: list[Need]) -> list[list]:
    """Needs as the import reads them: its header, then one row per need."""
    rows: list[list] = [[column.name for column in NEED_COLUMNS]]
    for need in needs:
        rows.append(
            [
                need.member.code,
                need.part.sku,
                need.quantity,
                need.tolerance,
                need.min_quantity,
                need.needed_by.isoformat() if need.needed_by else "",
                _price(need.max_unit_price),
                need.ref,
            ]
        )
    return rows


def template_rows(member_code: str) -> list[list]:
    """The import's header and one example row, for a shop to fill in."""
    part = db.session.scalar(
        select(Part).where(Part.is_active.is_(True)).order_by(Part.sku).limit(1)
    )
    sku = part.sku if part is not None else "PNEU-700X35"
    return [
        [column.name for column in NEED_COLUMNS],
        [member_code, sku, 10, 2, 8, "", Figure("4,50"), "L1"],
    ]
