"""Paying suppliers: a debit of the bank statement matched to booked invoices of one supplier.

A statement's debits are imported set aside (coop.payments.bank: IGNORED, by no one).
Those still waiting are proposed here against what the coop owes: by the supplier's
invoice numbers in the label, by the supplier's name and an amount owed (one invoice, or
all its open ones), or by an amount only one invoice owes. The treasurer confirms: the
debit becomes a supplier payment allocated to the invoices, oldest due first, and leaves
the waiting list (MATCHED). Paying more than the invoices owe is refused.
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from coop.accounts.models import User
from coop.activity.recording import record
from coop.errors import DomainError
from coop.extensions import db
from coop.i18n import N_, money
from coop.payments.models import BankLine, BankLineStatus
from coop.purchases.models import (
    SupplierInvoice,
    SupplierInvoiceKind,
    SupplierInvoiceStatus,
    SupplierPayment,
    SupplierPaymentAllocation,
    amount_owed,
)
from coop.suppliers.models import Supplier
from coop.suppliers.search import search_key
from coop.uniqueness import refusing_duplicates

ZERO = Decimal("0.00")

REASONS = {
    "reference": N_("Numéro de facture du fournisseur"),
    "supplier_and_amount": N_("Fournisseur et montant"),
    "amount": N_("Montant seul"),
}


def waiting_debits_query():
    """Debits of the bank statements set aside at import and paid to no supplier yet."""
    return (
        select(BankLine)
        .where(
            BankLine.amount < ZERO,
            BankLine.status == BankLineStatus.IGNORED,
            BankLine.ignored_at.is_(None),
            BankLine.id.not_in(select(SupplierPayment.bank_line_id)),
        )
        .order_by(BankLine.booked_on.desc(), BankLine.id.desc())
    )


def open_invoices(supplier: Supplier | None = None) -> list[tuple[SupplierInvoice, Decimal]]:
    """Booked invoices the coop still owes something on, with what it owes, oldest due first."""
    query = (
        select(SupplierInvoice)
        .where(
            SupplierInvoice.status == SupplierInvoiceStatus.BOOKED,
            SupplierInvoice.kind == SupplierInvoiceKind.INVOICE,
        )
        .options(
            selectinload(SupplierInvoice.allocations),
            selectinload(SupplierInvoice.credit_notes),
            selectinload(SupplierInvoice.supplier),
        )
    )
    if supplier is not None:
        query = query.where(SupplierInvoice.supplier_id == supplier.id)
    owed = [(invoice, amount_owed(invoice)) for invoice in db.session.scalars(query)]
    return sorted(
        ((invoice, due) for invoice, due in owed if due > 0),
        key=lambda pair: (pair[0].due_on or pair[0].issued_on, pair[0].id),
    )


@dataclass(frozen=True)
class Proposal:
    """What a debit seems to pay: invoices of one supplier, and how it was found."""

    supplier: Supplier
    invoices: tuple[SupplierInvoice, ...]
    reason: str

    @property
    def reason_label(self) -> str:
        return _(REASONS[self.reason])


def _compact(text: str) -> str:
    return search_key(text).replace(" ", "")


def _named(label: str, invoice: SupplierInvoice) -> bool:
    """The label cites the invoice's number (4 characters at least, punctuation aside)."""
    number = _compact(invoice.number)
    return len(number) >= 4 and number in _compact(label)


def _names_supplier(label: str, supplier: Supplier) -> bool:
    """Every word of the supplier's name (or its code) is a word of the label."""
    words = set(search_key(label).split())
    name = set(search_key(supplier.name).split())
    return (bool(name) and name <= words) or search_key(supplier.code) in words


def propose(lines: list[BankLine]) -> dict[int, Proposal]:
    """A proposal for each debit that fits what the coop owes."""
    owed = open_invoices()
    by_supplier: dict[int, list[tuple[SupplierInvoice, Decimal]]] = defaultdict(list)
    for invoice, due in owed:
        by_supplier[invoice.supplier_id].append((invoice, due))
    found = {}
    for line in lines:
        proposal = _propose(line, -line.amount, owed, by_supplier)
        if proposal is not None:
            found[line.id] = proposal
    return found


def _propose(line: BankLine, paid: Decimal, owed, by_supplier) -> Proposal | None:
    named = [(invoice, due) for invoice, due in owed if _named(line.label, invoice)]
    suppliers = {invoice.supplier_id for invoice, _due in named}
    if len(suppliers) == 1:
        exact = [invoice for invoice, due in named if due == paid]
        if exact:
            return Proposal(exact[0].supplier, (exact[0],), "reference")
        if sum((due for _invoice, due in named), ZERO) == paid:
            return Proposal(named[0][0].supplier, tuple(i for i, _due in named), "reference")
    for invoices in by_supplier.values():
        supplier = invoices[0][0].supplier
        if not _names_supplier(line.label, supplier):
            continue
        exact = [invoice for invoice, due in invoices if due == paid]
        if exact:
            return Proposal(supplier, (exact[0],), "supplier_and_amount")
        if sum((due for _invoice, due in invoices), ZERO) == paid:
            return Proposal(supplier, tuple(i for i, _due in invoices), "supplier_and_amount")
    exact = [invoice for invoice, due in owed if due == paid]
    if len(exact) == 1:
        return Proposal(exact[0].supplier, (exact[0],), "amount")
    return None


def _lock(line: BankLine) -> None:
    db.session.execute(select(BankLine.id).where(BankLine.id == line.id).with_for_update())
    db.session.refresh(line)
    taken = db.session.scalar(
        select(SupplierPayment.id).where(SupplierPayment.bank_line_id == line.id)
    )
    if taken is not None or line.status is BankLineStatus.MATCHED:
        raise DomainError(_("Cette ligne du relevé est déjà rapprochée."))
    if line.amount >= 0:
        raise DomainError(_("Seul un débit du relevé paie un fournisseur."))
    if line.status is not BankLineStatus.IGNORED or line.ignored_at is not None:
        raise DomainError(
            _("Cette ligne a été écartée à la main (ou est un virement Stripe) : elle ne paie pas.")
        )


def pay(line: BankLine, invoices: list[SupplierInvoice], *, by: User | None) -> SupplierPayment:
    """Record the debit `line` as paying `invoices` (one supplier's, booked), oldest due first."""
    _lock(line)
    if not invoices:
        raise DomainError(_("Choisissez au moins une facture."), field="invoices")
    suppliers = {invoice.supplier_id for invoice in invoices}
    if len(suppliers) > 1:
        raise DomainError(
            _("Un paiement règle les factures d'un seul fournisseur."), field="invoices"
        )
    for invoice in invoices:
        db.session.execute(
            select(SupplierInvoice.id).where(SupplierInvoice.id == invoice.id).with_for_update()
        )
        db.session.refresh(invoice)
        if (
            invoice.kind is not SupplierInvoiceKind.INVOICE
            or invoice.status is not SupplierInvoiceStatus.BOOKED
        ):
            raise DomainError(
                _(
                    "%(number)s n'est pas une facture comptabilisée : seules celles-ci se paient.",
                    number=invoice.number,
                ),
                field="invoices",
            )
    owed = sorted(
        ((invoice, amount_owed(invoice)) for invoice in invoices),
        key=lambda pair: (pair[0].due_on or pair[0].issued_on, pair[0].id),
    )
    paid = -line.amount
    total = sum((due for _invoice, due in owed), ZERO)
    if paid > total:
        raise DomainError(
            _(
                "Le débit de %(paid)s dépasse ce que la coopérative doit sur ces factures "
                "(%(owed)s) : choisissez d'autres factures.",
                paid=money(paid),
                owed=money(max(total, ZERO)),
            ),
            field="invoices",
        )
    payment = SupplierPayment(
        supplier=invoices[0].supplier,
        bank_line=line,
        amount=paid,
        paid_on=line.booked_on,
        created_by_id=by.id if by else None,
    )
    shares, left = [], paid
    for invoice, due in owed:
        share = min(due, left)
        if share > 0:
            shares.append((invoice, share))
            left -= share
    line.status = BankLineStatus.MATCHED
    with refusing_duplicates(
        uq_supplier_payments_bank_line_id=DomainError(
            _("Cette ligne du relevé est déjà rapprochée.")
        )
    ):
        db.session.add(payment)
        # Allocated once in the session: each invoice lists what paid it.
        payment.allocations = [
            SupplierPaymentAllocation(invoice=invoice, amount=share) for invoice, share in shares
        ]
        db.session.flush()
    record(
        "supplier_payment.recorded",
        object_type="supplier_payment",
        object_id=payment.id,
        label=f"{line.booked_on:%d/%m/%Y} {invoices[0].supplier.name}",
        details={
            "amount": paid,
            "supplier": invoices[0].supplier.code,
            "invoices": [a.invoice.number for a in payment.allocations],
        },
        actor=by,
    )
    return payment
