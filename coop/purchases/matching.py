"""The three-way match: a supplier's invoice against its purchase order and what was received.

First the invoice is linked: to its purchase order (the supplier's BT-13, our PO number),
each line to a catalogue part (the buyer's item id BT-156 is our SKU, else the seller's
item id BT-155 is the supplier's reference on its offer), a credit note to the invoice it
credits (BT-25). Then the differences are listed for the manager: prices above the order,
quantities above what arrived, lines the order does not have, shipping and totals above
the order, and VAT that does not fit the supplier's regime. A difference within the
tolerance (the larger of COOP_PURCHASE_MATCH_TOLERANCE_PERCENT of the amount at stake and
COOP_PURCHASE_MATCH_TOLERANCE_AMOUNT euros) is not listed.

Each difference is a dict, stored as JSON on the invoice: `code`, `label` (the French
text, translated on the page), `line` (which line, when it is about one), `expected` and
`billed` (as strings, in the `format` the page shows them: money, price, quantity or text),
and `info` when it only informs (a line of the order not billed yet): those do not ask for
a note at booking.
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from coop.extensions import db
from coop.i18n import N_
from coop.money import quantize
from coop.orders.purchasing.models import OrderLine, OrderStatus, PurchaseOrder
from coop.purchases.models import (
    SupplierInvoice,
    SupplierInvoiceKind,
    SupplierInvoiceLine,
    SupplierInvoiceStatus,
    SupplierLineKind,
    SupplierRegime,
    supplier_regime,
)
from coop.suppliers.models import Offer, Part, Supplier

ZERO = Decimal("0.00")

LABELS = {
    "no_purchase_order": N_("Aucun bon de commande trouvé"),
    "price_above_order": N_("Prix unitaire au-dessus du bon de commande"),
    "quantity_above_received": N_("Quantité facturée au-delà de la quantité reçue"),
    "unknown_line": N_("Ligne absente du bon de commande"),
    "line_not_billed": N_("Ligne du bon de commande pas encore facturée"),
    "shipping_above_order": N_("Port au-dessus du bon de commande"),
    "total_differs": N_("Total HT différent du bon de commande"),
    "vat_number_missing": N_("Numéro de TVA intracommunautaire absent"),
    "vat_from_foreign_supplier": N_("TVA facturée par un fournisseur établi hors de France"),
    "no_vat_from_french_supplier": N_("Aucune TVA facturée par un fournisseur français"),
    "credited_invoice_missing": N_("Avoir sans facture d'origine trouvée"),
    "credit_above_invoice": N_("Avoir supérieur à la facture d'origine"),
}


@dataclass(frozen=True)
class Tolerance:
    percent: Decimal
    amount: Decimal

    def allows(self, excess: Decimal, at_stake: Decimal) -> bool:
        """Whether `excess` euros over `at_stake` euros is small enough to pass unflagged."""
        return excess <= max(quantize(abs(at_stake) * self.percent / 100), self.amount)


def tolerance() -> Tolerance:
    """The tolerance the settings give."""
    config = current_app.config
    return Tolerance(
        Decimal(config["COOP_PURCHASE_MATCH_TOLERANCE_PERCENT"]),
        Decimal(config["COOP_PURCHASE_MATCH_TOLERANCE_AMOUNT"]),
    )


# --- linking ------------------------------------------------------------------------------------


def find_order(supplier: Supplier, reference: str | None) -> PurchaseOrder | None:
    """The supplier's purchase order the invoice cites (BT-13), not a cancelled one."""
    if not reference:
        return None
    return db.session.scalar(
        select(PurchaseOrder).where(
            PurchaseOrder.supplier_id == supplier.id,
            PurchaseOrder.number == reference.strip().upper(),
            PurchaseOrder.status != OrderStatus.CANCELLED,
        )
    )


def find_part(supplier: Supplier, buyer_ref: str | None, supplier_ref: str | None) -> Part | None:
    """Our SKU (BT-156), else the supplier's reference on its offer (BT-155)."""
    if buyer_ref:
        part = db.session.scalar(select(Part).where(Part.sku == buyer_ref.strip()))
        if part is not None:
            return part
    if supplier_ref:
        return db.session.scalar(
            select(Part)
            .join(Offer, Offer.part_id == Part.id)
            .where(Offer.supplier_id == supplier.id, Offer.supplier_ref == supplier_ref.strip())
            .limit(1)
        )
    return None


def find_credited(supplier: Supplier, numbers: tuple[str, ...]) -> SupplierInvoice | None:
    """The supplier's invoice a credit note cites (BT-25), the first one found."""
    for number in numbers:
        invoice = db.session.scalar(
            select(SupplierInvoice).where(
                SupplierInvoice.supplier_id == supplier.id,
                SupplierInvoice.kind == SupplierInvoiceKind.INVOICE,
                SupplierInvoice.number == number,
            )
        )
        if invoice is not None:
            return invoice
    return None


# --- the differences ----------------------------------------------------------------------------


def difference(code: str, *, line=None, expected=None, billed=None, fmt="money", info=False):
    """One difference as the invoice stores it."""
    found = {
        "code": code,
        "label": LABELS[code],
        "expected": None if expected is None else str(expected),
        "billed": None if billed is None else str(billed),
        "format": fmt,
    }
    if line is not None:
        found["line"] = line
    if info:
        found["info"] = True
    return found


def differences(invoice: SupplierInvoice, within: Tolerance) -> list[dict]:
    """What the manager should look at before booking `invoice`."""
    found = _regime_differences(invoice)
    if invoice.kind is SupplierInvoiceKind.CREDIT_NOTE:
        return _credit_differences(invoice) + found
    for line in invoice.lines:
        if line.kind is SupplierLineKind.GOODS and line.amount_excl_vat > 0 and not line.part_id:
            found.append(difference("unknown_line", line=_name(line), billed=line.amount_excl_vat))
    order = invoice.purchase_order
    if order is None:
        return [difference("no_purchase_order", fmt="text"), *found]
    return _order_differences(invoice, order, within) + found


def _name(line: SupplierInvoiceLine) -> str:
    return f"{line.position}. {line.name}"


def _regime_differences(invoice: SupplierInvoice) -> list[dict]:
    supplier = invoice.supplier
    regime = supplier_regime(supplier)
    found = []
    if regime is SupplierRegime.EU and not supplier.vat_number:
        found.append(difference("vat_number_missing", fmt="text"))
    if regime is SupplierRegime.FRANCE and invoice.total_vat == 0 and invoice.total_excl_vat > 0:
        found.append(difference("no_vat_from_french_supplier", billed=invoice.total_vat))
    if regime is not SupplierRegime.FRANCE and invoice.total_vat > 0:
        found.append(
            difference("vat_from_foreign_supplier", expected=ZERO, billed=invoice.total_vat)
        )
    return found


def _credit_differences(note: SupplierInvoice) -> list[dict]:
    credited = note.credited_invoice
    if credited is None:
        return [difference("credited_invoice_missing", fmt="text")]
    if note.total_incl_vat > credited.total_incl_vat:
        return [
            difference(
                "credit_above_invoice",
                line=credited.number,
                expected=credited.total_incl_vat,
                billed=note.total_incl_vat,
            )
        ]
    return []


def _order_differences(
    invoice: SupplierInvoice, order: PurchaseOrder, within: Tolerance
) -> list[dict]:
    found = []
    order_lines: dict[int, OrderLine] = {}
    for order_line in order.lines:
        order_lines.setdefault(order_line.part_id, order_line)
    billed_here: dict[int, Decimal] = defaultdict(Decimal)
    for line in invoice.lines:
        if line.kind is not SupplierLineKind.GOODS or not line.part_id:
            continue
        order_line = order_lines.get(line.part_id)
        if order_line is None:
            if line.amount_excl_vat > 0:
                found.append(
                    difference("unknown_line", line=_name(line), billed=line.amount_excl_vat)
                )
            continue
        billed_here[line.part_id] += line.quantity
        excess = quantize((line.unit_price - order_line.unit_price) * line.quantity)
        if excess > 0 and not within.allows(excess, order_line.unit_price * line.quantity):
            found.append(
                difference(
                    "price_above_order",
                    line=_name(line),
                    expected=order_line.unit_price,
                    billed=line.unit_price,
                    fmt="price",
                )
            )
    billed_before = _billed_elsewhere(invoice, order)
    for part_id, order_line in order_lines.items():
        quantity = billed_here.get(part_id)
        if quantity is None:
            if not billed_before.get(part_id):
                found.append(
                    difference(
                        "line_not_billed",
                        line=order_line.description,
                        expected=order_line.quantity,
                        fmt="quantity",
                        info=True,
                    )
                )
            continue
        billable = order_line.received_units - billed_before.get(part_id, 0)
        excess = quantize((quantity - billable) * order_line.unit_price)
        if quantity > billable and not within.allows(excess, order_line.amount):
            found.append(
                difference(
                    "quantity_above_received",
                    line=order_line.description,
                    expected=billable,
                    billed=_plain_quantity(quantity),
                    fmt="quantity",
                )
            )
    shipping = sum(
        (line.amount_excl_vat for line in invoice.lines if line.kind is SupplierLineKind.SHIPPING),
        ZERO,
    )
    if shipping > order.shipping_fee and not within.allows(
        shipping - order.shipping_fee, order.shipping_fee
    ):
        found.append(
            difference("shipping_above_order", expected=order.shipping_fee, billed=shipping)
        )
    if not within.allows(abs(invoice.total_excl_vat - order.total), order.total):
        found.append(
            difference("total_differs", expected=order.total, billed=invoice.total_excl_vat)
        )
    return found


def _plain_quantity(quantity: Decimal) -> Decimal:
    """`10.000` as `10`: units read as units."""
    return quantity.quantize(Decimal(1)) if quantity == quantity.to_integral() else quantity


def _billed_elsewhere(invoice: SupplierInvoice, order: PurchaseOrder) -> dict[int, Decimal]:
    """Per part, what the order's other invoices billed, less what credit notes took back
    (this invoice's own credit notes included); disputed documents count for nothing."""
    rows = db.session.execute(
        select(SupplierInvoice.id, SupplierInvoice.kind, SupplierInvoiceLine)
        .join(SupplierInvoiceLine, SupplierInvoiceLine.invoice_id == SupplierInvoice.id)
        .outerjoin(
            credited := SupplierInvoice.__table__.alias("credited"),
            credited.c.id == SupplierInvoice.credited_invoice_id,
        )
        .where(
            SupplierInvoice.status != SupplierInvoiceStatus.DISPUTED,
            SupplierInvoiceLine.part_id.is_not(None),
            SupplierInvoiceLine.kind == SupplierLineKind.GOODS,
            (SupplierInvoice.purchase_order_id == order.id)
            | (credited.c.purchase_order_id == order.id),
        )
    ).all()
    billed: dict[int, Decimal] = defaultdict(Decimal)
    for invoice_id, kind, line in rows:
        if kind is SupplierInvoiceKind.CREDIT_NOTE:
            billed[line.part_id] -= line.quantity
        elif invoice_id != invoice.id:
            billed[line.part_id] += line.quantity
    return billed


def rematch(invoice: SupplierInvoice) -> None:
    """Link the lines to parts again and list the differences anew (while it waits)."""
    for line in invoice.lines:
        part = find_part(invoice.supplier, line.buyer_ref, line.supplier_ref)
        line.part_id = part.id if part is not None else None
    db.session.flush()
    invoice.differences = differences(invoice, tolerance())
    db.session.flush()
