"""Receiving a supplier's invoice: from its e-invoice file, or typed by hand from its PDF.

Either way the invoice is stored with its original file (byte for byte, with its
SHA-256), linked to its supplier, purchase order, parts and credited invoice, and
matched (coop.purchases.matching); it then waits for the manager, TO_CHECK. A refused
file writes nothing. The same document twice (supplier, type, number) is refused.
"""

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from coop.accounts.models import User
from coop.activity.recording import record
from coop.errors import DomainError
from coop.extensions import db
from coop.i18n import day, money
from coop.i18n import rate as shown_rate
from coop.money import quantize
from coop.orders.purchasing.models import PurchaseOrder
from coop.purchases import matching
from coop.purchases.models import (
    SourceFormat,
    SupplierInvoice,
    SupplierInvoiceKind,
    SupplierInvoiceLine,
    SupplierLineKind,
    SupplierRegime,
    supplier_regime,
)
from coop.purchases.reading import ReadLine, Seller, Unreadable, VatRow, file_type, read_invoice
from coop.suppliers.models import Supplier
from coop.uniqueness import refusing_duplicates

ZERO = Decimal("0.00")


def find_supplier(seller: Seller, filename: str) -> Supplier:
    """The supplier the invoice's seller is: by VAT number, then SIRET (or SIREN), then
    exact name; an unknown or ambiguous seller is refused, named."""
    searches = []
    if seller.vat_number:
        compact = func.upper(func.replace(Supplier.vat_number, " ", ""))
        searches.append(compact == seller.vat_number)
    if seller.siret:
        searches.append(Supplier.siret == seller.siret)
    if seller.siren:
        searches.append(Supplier.siret.startswith(seller.siren, autoescape=True))
    searches.append(Supplier.name == seller.name)
    for condition in searches:
        found = db.session.scalars(select(Supplier).where(condition).limit(2)).all()
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise Unreadable(
                filename,
                _(
                    "plusieurs fournisseurs de l'annuaire répondent au vendeur « %(name)s » "
                    "(%(first)s, %(second)s) : corrigez leurs fiches.",
                    name=seller.name,
                    first=found[0].code,
                    second=found[1].code,
                ),
            )
    known = ", ".join(
        f"{label} {value}"
        for label, value in ((_("TVA"), seller.vat_number), (_("SIRET"), seller.siret))
        if value
    )
    ids = f" ({known})" if known else ""
    raise Unreadable(
        filename,
        _(
            "fournisseur inconnu : « %(name)s »%(ids)s n'est pas dans l'annuaire des "
            "fournisseurs (cherché par numéro de TVA, SIRET puis nom exact) : ajoutez-le ou "
            "complétez sa fiche, puis importez à nouveau.",
            name=seller.name,
            ids=ids,
        ),
    )


def _refuse_duplicate(
    supplier: Supplier, kind: SupplierInvoiceKind, number: str, filename: str
) -> None:
    earlier = db.session.scalar(
        select(SupplierInvoice).where(
            SupplierInvoice.supplier_id == supplier.id,
            SupplierInvoice.kind == kind,
            SupplierInvoice.number == number,
        )
    )
    if earlier is not None:
        raise _duplicate(supplier, kind, number, filename, earlier)


def _duplicate(supplier, kind, number, filename, earlier=None) -> DomainError:
    when = _(" le %(day)s", day=day(earlier.created_at)) if earlier is not None else ""
    return Unreadable(
        filename,
        _(
            "%(kind)s n° %(number)s de %(supplier)s : ce document est déjà enregistré%(when)s, "
            "rien n'a été ajouté.",
            kind=kind.label,
            number=number,
            supplier=supplier.name,
            when=when,
        ),
    )


def import_invoice(data: bytes, filename: str, *, by: User | None) -> SupplierInvoice:
    """Import a supplier's Factur-X PDF, CII or UBL XML: stored, linked, matched."""
    read = read_invoice(data, filename)
    supplier = find_supplier(read.seller, filename)
    invoice = _store(
        supplier,
        kind=read.kind,
        number=read.number,
        issued_on=read.issued_on,
        due_on=read.due_on,
        order=matching.find_order(supplier, read.order_reference),
        credited=(
            matching.find_credited(supplier, read.preceding_numbers)
            if read.kind is SupplierInvoiceKind.CREDIT_NOTE
            else None
        ),
        lines=read.lines,
        vat=read.vat,
        totals=(read.total_excl_vat, read.total_vat, read.total_incl_vat),
        source=read.source_format,
        file=(data, filename, file_type(data)),
        by=by,
    )
    _record(invoice, "supplier_invoice.imported", by)
    return invoice


@dataclass(frozen=True)
class TypedLine:
    """A line typed from a paper or PDF invoice; the VAT rate as a fraction (0.2000)."""

    kind: SupplierLineKind
    name: str
    quantity: Decimal
    unit_price: Decimal
    vat_rate: Decimal
    supplier_ref: str | None = None
    buyer_ref: str | None = None


@dataclass(frozen=True)
class TypedInvoice:
    """An invoice typed by hand: its lines, its VAT per rate and totals as printed."""

    supplier: Supplier
    kind: SupplierInvoiceKind
    number: str
    issued_on: date
    due_on: date | None
    order: PurchaseOrder | None
    credited: SupplierInvoice | None
    lines: tuple[TypedLine, ...]
    vat: dict[Decimal, Decimal]  # rate (fraction) -> VAT amount as printed
    total_excl_vat: Decimal
    total_vat: Decimal
    total_incl_vat: Decimal


def category(regime: SupplierRegime, rate: Decimal) -> str:
    """The VAT category of a typed line: standard when VAT is charged, else by regime
    (intra-EU supply K, export G, zero-rated Z)."""
    if rate > 0:
        return "S"
    return {SupplierRegime.EU: "K", SupplierRegime.OUTSIDE_EU: "G"}.get(regime, "Z")


def enter_invoice(
    typed: TypedInvoice, pdf: bytes, filename: str, *, by: User | None
) -> SupplierInvoice:
    """Record an invoice typed by hand with its PDF; refused unless its figures add up."""
    if file_type(pdf) != "application/pdf":
        raise DomainError(_("Joignez la facture en PDF."), field="file")
    if not typed.lines:
        raise DomainError(_("Saisissez au moins une ligne."))
    if typed.order is not None and typed.order.supplier_id != typed.supplier.id:
        raise DomainError(
            _(
                "Le bon de commande %(number)s est d'un autre fournisseur.",
                number=typed.order.number,
            ),
            field="purchase_order",
        )
    if typed.credited is not None and (
        typed.kind is not SupplierInvoiceKind.CREDIT_NOTE
        or typed.credited.supplier_id != typed.supplier.id
    ):
        raise DomainError(
            _("Seul un avoir cite une facture, du même fournisseur."), field="credited_number"
        )
    regime = supplier_regime(typed.supplier)
    lines = tuple(
        ReadLine(
            kind=line.kind,
            name=line.name,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=quantize(line.quantity * line.unit_price),
            vat_category=category(regime, line.vat_rate),
            vat_rate=line.vat_rate,
            supplier_ref=line.supplier_ref,
            buyer_ref=line.buyer_ref,
        )
        for line in typed.lines
    )
    vat = _typed_vat(typed, lines)
    invoice = _store(
        typed.supplier,
        kind=typed.kind,
        number=typed.number,
        issued_on=typed.issued_on,
        due_on=typed.due_on,
        order=typed.order,
        credited=typed.credited,
        lines=lines,
        vat=vat,
        totals=(typed.total_excl_vat, typed.total_vat, typed.total_incl_vat),
        source=SourceFormat.MANUAL,
        file=(pdf, filename, "application/pdf"),
        by=by,
    )
    _record(invoice, "supplier_invoice.entered", by)
    return invoice


def _typed_vat(typed: TypedInvoice, lines: tuple[ReadLine, ...]) -> tuple[VatRow, ...]:
    """The VAT breakdown of a typed invoice, checked against its lines and printed totals.

    A VAT amount may differ from its base times its rate by a cent per line at that rate:
    some suppliers round the VAT per line.
    """
    bases: dict[Decimal, Decimal] = {}
    counts: dict[Decimal, int] = {}
    categories: dict[Decimal, str] = {}
    for line in lines:
        bases[line.vat_rate] = bases.get(line.vat_rate, ZERO) + line.amount
        counts[line.vat_rate] = counts.get(line.vat_rate, 0) + 1
        categories[line.vat_rate] = line.vat_category
    lines_total = sum(bases.values(), ZERO)
    if lines_total != typed.total_excl_vat:
        raise DomainError(
            _(
                "Les lignes totalisent %(lines)s HT, pas %(total)s.",
                lines=money(lines_total),
                total=money(typed.total_excl_vat),
            ),
            field="total_excl_vat",
        )
    unknown = set(typed.vat) - set(bases)
    if unknown:
        raise DomainError(
            _(
                "Aucune ligne au taux de %(rate)s : retirez ce montant de TVA.",
                rate=shown_rate(min(unknown)),
            ),
            field="total_vat",
        )
    rows = []
    for rate in sorted(bases):
        amount = typed.vat.get(rate, ZERO)
        computed = quantize(bases[rate] * rate)
        if abs(amount - computed) > Decimal("0.01") * counts[rate]:
            raise DomainError(
                _(
                    "TVA à %(rate)s : %(amount)s saisis, %(computed)s attendus sur une base "
                    "de %(base)s.",
                    rate=shown_rate(rate),
                    amount=money(amount),
                    computed=money(computed),
                    base=money(bases[rate]),
                ),
                field="total_vat",
            )
        rows.append(VatRow(categories[rate], quantize(rate * 100), bases[rate], amount))
    vat_total = sum((row.amount for row in rows), ZERO)
    if vat_total != typed.total_vat:
        raise DomainError(
            _(
                "La TVA par taux totalise %(vat)s, pas %(total)s.",
                vat=money(vat_total),
                total=money(typed.total_vat),
            ),
            field="total_vat",
        )
    if typed.total_excl_vat + typed.total_vat != typed.total_incl_vat:
        raise DomainError(
            _(
                "%(excl)s HT + %(vat)s TVA ≠ %(incl)s TTC.",
                excl=money(typed.total_excl_vat),
                vat=money(typed.total_vat),
                incl=money(typed.total_incl_vat),
            ),
            field="total_incl_vat",
        )
    return tuple(rows)


def _store(
    supplier: Supplier,
    *,
    kind: SupplierInvoiceKind,
    number: str,
    issued_on: date,
    due_on: date | None,
    order: PurchaseOrder | None,
    credited: SupplierInvoice | None,
    lines: tuple[ReadLine, ...],
    vat: tuple[VatRow, ...],
    totals: tuple[Decimal, Decimal, Decimal],
    source: SourceFormat,
    file: tuple[bytes, str, str],
    by: User | None,
) -> SupplierInvoice:
    data, filename, mimetype = file
    _refuse_duplicate(supplier, kind, number, filename)
    parts = [matching.find_part(supplier, line.buyer_ref, line.supplier_ref) for line in lines]
    total_excl, total_vat, total_incl = totals
    invoice = SupplierInvoice(
        supplier=supplier,
        kind=kind,
        number=number,
        issued_on=issued_on,
        due_on=due_on,
        currency="EUR",
        total_excl_vat=total_excl,
        total_vat=total_vat,
        total_incl_vat=total_incl,
        vat_breakdown=[row.to_json() for row in vat],
        source_format=source,
        file=data,
        filename=filename[:255] or "facture",
        file_type=mimetype,
        file_sha256=hashlib.sha256(data).hexdigest(),
        created_by_id=by.id if by else None,
    )
    invoice.lines = [
        SupplierInvoiceLine(
            position=position,
            kind=line.kind,
            supplier_ref=line.supplier_ref,
            buyer_ref=line.buyer_ref,
            name=line.name,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount_excl_vat=line.amount,
            vat_rate=line.vat_rate,
            vat_category=line.vat_category,
            part=part,
        )
        for position, (line, part) in enumerate(zip(lines, parts, strict=True), start=1)
    ]
    with refusing_duplicates(
        uq_supplier_invoices_number=_duplicate(supplier, kind, number, filename)
    ):
        db.session.add(invoice)
        # Linked once in the session: the credited invoice lists its credit notes.
        invoice.purchase_order, invoice.credited_invoice = order, credited
        db.session.flush()
    invoice.differences = matching.differences(invoice, matching.tolerance())
    db.session.flush()
    return invoice


def _record(invoice: SupplierInvoice, action: str, by: User | None) -> None:
    record(
        action,
        object_type="supplier_invoice",
        object_id=invoice.id,
        label=f"{invoice.supplier.name} {invoice.number}",
        details={
            "supplier": invoice.supplier.code,
            "kind": invoice.kind,
            "total_incl_vat": invoice.total_incl_vat,
            "differences": len([d for d in invoice.differences if not d.get("info")]),
        },
        actor=by,
    )
