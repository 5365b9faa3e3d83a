"""`coop import suppliers|parts|offers`: price lists from CSV files (spec/formats.md)."""

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from coop import bounds, identifiers
from coop import csv_import as c
from coop.errors import FieldError
from coop.extensions import db
from coop.suppliers.catalogue import PART_FIELDS, replace_tiers
from coop.suppliers.models import Offer, Part, Supplier
from coop.suppliers.origin import country_code

SUPPLIER_COLUMNS = (
    c.Column("code", c.code(20), required=True),
    c.Column("name", c.text(200), required=True),
    c.Column("country", country_code, required=True),
    c.Column("address", c.text(200)),
    c.Column("postcode", c.text(20)),
    c.Column("city", c.text(100)),
    c.Column("local", c.yes_no, default=False),
    c.Column("siret", identifiers.siret),
    c.Column("vat_number", identifiers.vat_number),
    c.Column("email", identifiers.email),
    c.Column("phone", c.text(30)),
    c.Column("shipping_fee_eur", c.amount(), default=Decimal("0.00")),
    c.Column("free_shipping_over_eur", c.amount()),
    c.Column("default_lead_time_days", c.integer(0, bound=bounds.lead_time_days)),
)
# CSV column -> model attribute, where they differ.
SUPPLIER_ATTRIBUTES = {
    "local": "is_local",
    "shipping_fee_eur": "shipping_fee",
    "free_shipping_over_eur": "free_shipping_over",
}

PART_COLUMNS = (
    c.Column("sku", c.code(40), required=True),
    c.Column("name", c.text(200), required=True),
    c.Column("category", c.text(40)),
    c.Column("unit", c.text(20), default="piece"),
    c.Column("weight_g", c.integer(0, bound=bounds.weight_g)),
    c.Column("vat_rate", c.fraction, default=Decimal("0.20")),
    c.Column("ean", identifiers.ean13),
)

OFFER_COLUMNS = (
    c.Column("supplier_code", c.code(20), required=True),
    c.Column("sku", c.code(40), required=True),
    c.Column("min_qty", c.integer(1, bound=bounds.quantity), required=True),
    c.Column("unit_price_eur", c.unit_price, required=True),
    c.Column("supplier_ref", c.text(60)),
    c.Column("made_in", country_code),
    c.Column("pack_size", c.integer(1, bound=bounds.quantity), default=1),
    c.Column("moq", c.integer(0, bound=bounds.quantity), default=0),
    c.Column("lead_time_days", c.integer(0, bound=bounds.lead_time_days)),
    c.Column("valid_until", c.day),
)
# Every row of one offer must agree on these (spec/formats.md).
OFFER_TERMS = ("supplier_ref", "made_in", "pack_size", "moq", "lead_time_days", "valid_until")


def import_suppliers(data: bytes) -> c.ImportResult:
    """Create or update suppliers by code."""
    rows = c.read_rows(data, SUPPLIER_COLUMNS)
    c.raise_if_errors(rows, _duplicate_keys([row for row in rows if row.ok], "code"))
    codes = [row.get("code") for row in rows]
    existing = {
        s.code: s for s in db.session.scalars(select(Supplier).where(Supplier.code.in_(codes)))
    }
    created = 0
    for row in rows:
        supplier = existing.get(row.get("code"))
        if supplier is None:
            supplier = Supplier(is_active=True, code=row.get("code"))
            db.session.add(supplier)
            created += 1
        for column in SUPPLIER_COLUMNS:
            name = column.name
            if row.has(name) or supplier.id is None:
                setattr(supplier, SUPPLIER_ATTRIBUTES.get(name, name), row.get(name))
    db.session.flush()
    return c.ImportResult(created=created, updated=len(rows) - created)


def import_parts(data: bytes) -> c.ImportResult:
    """Create or update catalogue parts by SKU."""
    rows = c.read_rows(data, PART_COLUMNS)
    clean = [row for row in rows if row.ok]
    errors = _duplicate_keys(clean, "sku") + _duplicate_keys(clean, "ean")
    skus = [row.get("sku") for row in rows]
    existing = {p.sku: p for p in db.session.scalars(select(Part).where(Part.sku.in_(skus)))}
    eans = {row.get("ean") for row in rows if row.get("ean")}
    ean_holders = dict(
        db.session.execute(select(Part.ean, Part.sku).where(Part.ean.in_(eans))).tuples().all()
    )
    for row in clean:
        holder = ean_holders.get(row.get("ean"))
        if holder and holder != row.get("sku"):
            errors.append(FieldError(row.line, "ean", f"EAN déjà celui de la pièce {holder}"))
    c.raise_if_errors(rows, errors)
    created = 0
    for row in rows:
        part = existing.get(row.get("sku"))
        if part is None:
            part = Part(is_active=True)
            db.session.add(part)
            created += 1
        for name in PART_FIELDS:
            if row.has(name) or part.id is None:
                setattr(part, name, row.get(name))
    db.session.flush()
    return c.ImportResult(created=created, updated=len(rows) - created)


def import_offers(data: bytes) -> c.ImportResult:
    """Create or update offers; one row per tier, an imported offer's tiers replace its own."""
    rows = c.read_rows(data, OFFER_COLUMNS)
    groups: dict[tuple[str, str], list[c.Row]] = defaultdict(list)
    for row in (row for row in rows if row.ok):
        groups[(row.get("supplier_code"), row.get("sku"))].append(row)

    suppliers = {
        s.code: s
        for s in db.session.scalars(
            select(Supplier).where(Supplier.code.in_({k[0] for k in groups}))
        )
    }
    parts = {
        p.sku: p
        for p in db.session.scalars(select(Part).where(Part.sku.in_({k[1] for k in groups})))
    }
    errors = []
    for (supplier_code, sku), group in groups.items():
        first = group[0]
        if supplier_code not in suppliers:
            errors.append(
                FieldError(first.line, "supplier_code", f"fournisseur {supplier_code} inconnu")
            )
        if sku not in parts:
            errors.append(FieldError(first.line, "sku", f"pièce {sku} inconnue du catalogue"))
        errors.extend(_disagreements(group))
        seen: dict[int, int] = {}
        for row in group:
            min_qty = row.get("min_qty")
            if min_qty in seen:
                errors.append(
                    FieldError(
                        row.line, "min_qty", f"palier {min_qty} déjà donné ligne {seen[min_qty]}"
                    )
                )
            seen.setdefault(min_qty, row.line)
    c.raise_if_errors(rows, errors)

    existing = {
        (o.supplier_id, o.part_id): o
        for o in db.session.scalars(
            select(Offer)
            .where(Offer.part_id.in_([p.id for p in parts.values()]))
            .options(selectinload(Offer.tiers))
        )
    }
    created = 0
    for (supplier_code, sku), group in groups.items():
        supplier, part = suppliers[supplier_code], parts[sku]
        offer = existing.get((supplier.id, part.id))
        if offer is None:
            offer = Offer(supplier=supplier, part=part)
            db.session.add(offer)
            created += 1
        first = group[0]
        for name in OFFER_TERMS:
            if first.has(name) or offer.id is None:
                setattr(offer, name, first.get(name))
        offer.made_in = offer.made_in or supplier.country
        db.session.flush()
        replace_tiers(offer, sorted((r.get("min_qty"), r.get("unit_price_eur")) for r in group))
    return c.ImportResult(created=created, updated=len(groups) - created)


def _disagreements(group: list[c.Row]) -> list[FieldError]:
    """Rows of one offer that differ from its first row on anything but the tier."""
    first = group[0]
    return [
        FieldError(
            row.line,
            name,
            f"doit être identique à la ligne {first.line} de la même offre ({first.get(name)})",
        )
        for row in group[1:]
        for name in OFFER_TERMS
        if row.get(name) != first.get(name)
    ]


def _duplicate_keys(rows: list[c.Row], key: str) -> list[FieldError]:
    first_line: dict = {}
    errors = []
    for row in rows:
        value = row.get(key)
        if value is None:
            continue
        if value in first_line:
            errors.append(
                FieldError(row.line, key, f"{value} déjà présent ligne {first_line[value]}")
            )
        first_line.setdefault(value, row.line)
    return errors
