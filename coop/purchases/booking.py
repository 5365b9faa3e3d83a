"""The manager's decisions on a supplier's invoice: link it, match it again, book it, dispute it.

Booking puts the invoice in the purchases journal on its accounting date (its issue date
unless the manager gives another): it never changes afterwards. An invoice with
differences is booked only with a note saying why. A dispute e-mails the supplier the
manager's message and waits: the supplier's credit note or explanation may follow, and
the invoice may be booked then.
"""

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from coop import mail
from coop.accounts.identity import letterhead
from coop.accounts.models import User
from coop.activity.recording import record
from coop.errors import DomainError
from coop.extensions import db
from coop.orders.purchasing.models import PurchaseOrder
from coop.purchases import matching
from coop.purchases.models import (
    SUPPLIER_INVOICE_TRANSITIONS,
    SupplierInvoice,
    SupplierInvoiceKind,
    SupplierInvoiceStatus,
)


def _lock(invoice: SupplierInvoice, to: SupplierInvoiceStatus | None = None) -> None:
    """Lock the invoice and check it may move `to` (or still be changed, when None): two
    managers never book one invoice twice."""
    db.session.execute(
        select(SupplierInvoice.id).where(SupplierInvoice.id == invoice.id).with_for_update()
    )
    db.session.refresh(invoice)
    if to is None and invoice.status is not SupplierInvoiceStatus.TO_CHECK:
        raise DomainError(
            _("Cette facture n'est plus à vérifier (%(status)s).", status=invoice.status.label)
        )
    if to is not None and to not in SUPPLIER_INVOICE_TRANSITIONS[invoice.status]:
        raise DomainError(
            {
                SupplierInvoiceStatus.BOOKED: _("Cette facture est déjà comptabilisée."),
                SupplierInvoiceStatus.DISPUTED: _("Cette facture est déjà contestée."),
                SupplierInvoiceStatus.TO_CHECK: _("Cette facture est à vérifier."),
            }[invoice.status]
        )


def has_differences(invoice: SupplierInvoice) -> bool:
    """Whether the match found something to explain (not counting mere information)."""
    return any(not found.get("info") for found in invoice.differences)


def book(
    invoice: SupplierInvoice, *, on: date | None = None, note: str | None = None, by: User | None
) -> None:
    """Book the invoice (to the purchases journal) on `on`, by default its issue date."""
    _lock(invoice, SupplierInvoiceStatus.BOOKED)
    note = (note or "").strip() or None
    if has_differences(invoice) and note is None:
        raise DomainError(
            _("Le rapprochement a relevé des écarts : dites en note pourquoi vous comptabilisez."),
            field="note",
        )
    booked_on = on or invoice.issued_on
    if booked_on < invoice.issued_on:
        raise DomainError(
            _("La date comptable ne peut pas précéder la date de la facture."), field="booked_on"
        )
    invoice.status = SupplierInvoiceStatus.BOOKED
    invoice.booked_on = booked_on
    invoice.booked_by_id = by.id if by else None
    invoice.note = note or invoice.note
    db.session.flush()
    _record(invoice, "supplier_invoice.booked", by, booked_on=booked_on, comment=note)


def dispute(invoice: SupplierInvoice, message: str, *, by: User | None) -> None:
    """Contest the invoice: e-mail the supplier `message`, and keep it out of the journal."""
    _lock(invoice, SupplierInvoiceStatus.DISPUTED)
    message = message.strip()
    if not message:
        raise DomainError(_("Écrivez le message au fournisseur."), field="message")
    supplier = invoice.supplier
    if not supplier.email:
        raise DomainError(
            _(
                "Le fournisseur %(name)s n'a pas d'adresse e-mail : ajoutez-la à sa fiche.",
                name=supplier.name,
            ),
            field="message",
        )
    invoice.status = SupplierInvoiceStatus.DISPUTED
    invoice.dispute_message = message
    db.session.flush()
    coop = letterhead()
    mail.queue(
        supplier.email,
        f"{invoice.kind.label} {invoice.number} – {coop['name']}",
        "supplier_invoice_disputed",
        invoice=invoice,
        message=message,
        coop=coop,
    )
    _record(invoice, "supplier_invoice.disputed", by, comment=message)


def link(
    invoice: SupplierInvoice,
    *,
    order: PurchaseOrder | None,
    credited: SupplierInvoice | None,
    by: User | None,
) -> None:
    """Set by hand the purchase order (and, for a credit note, the invoice it credits), then
    match again."""
    _lock(invoice)
    if order is not None and order.supplier_id != invoice.supplier_id:
        raise DomainError(
            _("Le bon de commande %(number)s est d'un autre fournisseur.", number=order.number),
            field="purchase_order",
        )
    if credited is not None and (
        invoice.kind is not SupplierInvoiceKind.CREDIT_NOTE
        or credited.supplier_id != invoice.supplier_id
        or credited.kind is not SupplierInvoiceKind.INVOICE
    ):
        raise DomainError(
            _("Seul un avoir cite une facture, du même fournisseur."), field="credited_invoice"
        )
    invoice.purchase_order = order
    invoice.credited_invoice = credited
    matching.rematch(invoice)
    _record(
        invoice,
        "supplier_invoice.linked",
        by,
        orders=order.number if order else None,
        credited_invoice=credited.number if credited else None,
    )


def rematch(invoice: SupplierInvoice) -> None:
    """Match a waiting invoice again (a receipt, a part's reference, a setting changed)."""
    _lock(invoice)
    matching.rematch(invoice)


def _record(invoice: SupplierInvoice, action: str, by: User | None, **details) -> None:
    record(
        action,
        object_type="supplier_invoice",
        object_id=invoice.id,
        label=f"{invoice.supplier.name} {invoice.number}",
        details={"total_incl_vat": invoice.total_incl_vat, **details},
        actor=by,
    )
