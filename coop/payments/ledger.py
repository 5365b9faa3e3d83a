"""The shop's account: what each invoice still owes, payments, credit and refunds.

An invoice owes its total incl. VAT, less the credit notes citing it, less the
payments allocated to it. A succeeded payment is allocated to the invoices it
was meant for, then to the shop's other open invoices, oldest due first; what
is left is the shop's credit, applied to its next invoice as soon as it is
issued (settle). Every change goes through this module, under a lock on the
shop's row, so two changes to one shop's account never interleave.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import exists, func, select, type_coerce
from sqlalchemy.orm import aliased

from coop.accounts.models import Member, User
from coop.activity.recording import change, record
from coop.db import Money
from coop.errors import DomainError
from coop.extensions import db
from coop.i18n import N_, money
from coop.invoicing.events import document_issued
from coop.invoicing.models import Invoice, InvoiceKind
from coop.money import quantize
from coop.payments.models import (
    BankLine,
    CheckoutSession,
    Method,
    Payment,
    PaymentAllocation,
    PaymentStatus,
    Refund,
    RefundStatus,
    checkout_session_invoices,
)

ZERO = Decimal("0.00")


# --- what an invoice owes ----------------------------------------------------------------------


def _sum(expression):
    # Read back through the Money type: sums come back as Decimal cents on both databases.
    return type_coerce(func.coalesce(func.sum(expression), 0), Money)


def credited_column(invoice=Invoice):
    """The credit notes citing `invoice` (a correlated subquery)."""
    notes = aliased(Invoice)
    return (
        select(_sum(notes.total_incl_vat))
        .where(notes.credited_invoice_id == invoice.id)
        .scalar_subquery()
    )


def paid_column(invoice=Invoice):
    """The payments allocated to `invoice` (a correlated subquery)."""
    return (
        select(_sum(PaymentAllocation.amount))
        .where(PaymentAllocation.invoice_id == invoice.id)
        .scalar_subquery()
    )


def outstanding_column(invoice=Invoice):
    """What `invoice` still owes: negative when it was paid and then credited."""
    return invoice.total_incl_vat - credited_column(invoice) - paid_column(invoice)


def _pending(invoice_id):
    """The payments meant for the invoice `invoice_id` and not settled yet (SEPA)."""
    return (
        select(Payment)
        .join(
            checkout_session_invoices,
            checkout_session_invoices.c.checkout_session_id == Payment.checkout_session_id,
        )
        .where(
            checkout_session_invoices.c.invoice_id == invoice_id,
            Payment.status == PaymentStatus.PENDING,
        )
    )


def pending_column(invoice=Invoice):
    """True while a payment meant for `invoice` is initiated but not settled (SEPA)."""
    return exists(_pending(invoice.id).with_only_columns(Payment.id))


def pending_payments(invoice: Invoice) -> list[Payment]:
    """The payments meant for `invoice` that are initiated but not settled yet (SEPA)."""
    return db.session.scalars(_pending(invoice.id).order_by(Payment.received_on, Payment.id)).all()


STATES = {
    "open": N_("À payer"),
    "pending": N_("Paiement en cours"),
    "partly_paid": N_("Partiellement payée"),
    "paid": N_("Payée"),
    "credited": N_("Créditée"),
}


@dataclass(frozen=True)
class Balance:
    total: Decimal
    credited: Decimal
    paid: Decimal
    pending: bool

    @property
    def due(self) -> Decimal:
        """What the invoice still owes (never below zero: an excess is the shop's credit)."""
        return max(self.total - self.credited - self.paid, ZERO)

    @property
    def state(self) -> str:
        if self.credited >= self.total:
            return "credited"
        if self.due == ZERO:
            return "paid"
        if self.pending:
            return "pending"
        return "partly_paid" if self.paid > ZERO else "open"

    @property
    def label(self) -> str:
        return _(STATES[self.state])


def balances(invoices: list[Invoice]) -> dict[int, Balance]:
    """Each invoice's balance, in one query."""
    ids = [invoice.id for invoice in invoices]
    if not ids:
        return {}
    rows = db.session.execute(
        select(
            Invoice.id, Invoice.total_incl_vat, credited_column(), paid_column(), pending_column()
        ).where(Invoice.id.in_(ids))
    ).all()
    return {row[0]: Balance(row[1], row[2], row[3], bool(row[4])) for row in rows}


def balance(invoice: Invoice) -> Balance:
    return balances([invoice])[invoice.id]


# --- the shop's credit -------------------------------------------------------------------------


def unallocated(payment: Payment) -> Decimal:
    """What a payment has not settled (nor paid back): it is the shop's credit."""
    if payment.status is not PaymentStatus.SUCCEEDED:
        return ZERO
    allocated = sum((a.amount for a in payment.allocations), ZERO)
    refunded = sum((r.amount for r in payment.refunds if r.status is not RefundStatus.FAILED), ZERO)
    return payment.amount - allocated - refunded


def member_credit(member: Member) -> Decimal:
    """The shop's credit: payments received and not yet used or paid back."""
    return sum((unallocated(p) for p in _succeeded_payments(member)), ZERO)


def _succeeded_payments(member: Member) -> list[Payment]:
    return db.session.scalars(
        select(Payment)
        .where(Payment.member_id == member.id, Payment.status == PaymentStatus.SUCCEEDED)
        .order_by(Payment.received_on, Payment.id)
    ).all()


def lock_member_ledger(member: Member) -> None:
    """Serialise changes to one shop's account (a row lock on PostgreSQL)."""
    db.session.execute(select(Member.id).where(Member.id == member.id).with_for_update())


def _open_invoices(member: Member) -> list[Invoice]:
    return db.session.scalars(
        select(Invoice)
        .where(Invoice.member_id == member.id, Invoice.kind == InvoiceKind.INVOICE)
        .where(outstanding_column() > ZERO)
        .order_by(Invoice.due_on, Invoice.number)
    ).all()


def _allocate(payment: Payment, invoices: list[Invoice]) -> None:
    """Allocate what `payment` has left to `invoices`, in order, up to what each owes."""
    left = unallocated(payment)
    for invoice in invoices:
        if left <= ZERO:
            return
        if invoice.member_id != payment.member_id or invoice.kind is not InvoiceKind.INVOICE:
            continue
        take = min(balance(invoice).due, left)
        if take > ZERO:
            allocation = PaymentAllocation(payment=payment, invoice=invoice, amount=take)
            db.session.add(allocation)
            db.session.flush()
            left -= take


def _release(invoice: Invoice, amount: Decimal) -> None:
    """Take `amount` of allocations off `invoice`, latest first (they become credit)."""
    allocations = db.session.scalars(
        select(PaymentAllocation)
        .where(PaymentAllocation.invoice_id == invoice.id)
        .order_by(PaymentAllocation.id.desc())
    ).all()
    for allocation in allocations:
        if amount <= ZERO:
            break
        take = min(allocation.amount, amount)
        amount -= take
        if take == allocation.amount:
            allocation.payment.allocations.remove(allocation)
            db.session.delete(allocation)
        else:
            allocation.amount -= take
    db.session.flush()


def settle(member: Member) -> None:
    """Make the shop's account consistent after any change.

    An invoice credited after it was paid gives its excess back as credit; the
    shop's credit then pays its open invoices, oldest due first.
    """
    lock_member_ledger(member)
    overpaid = db.session.execute(
        select(Invoice, -outstanding_column())
        .where(Invoice.member_id == member.id, Invoice.kind == InvoiceKind.INVOICE)
        .where(outstanding_column() < ZERO, paid_column() > ZERO)
    ).all()
    for invoice, excess in overpaid:
        _release(invoice, min(excess, balance(invoice).paid))
    payments = [p for p in _succeeded_payments(member) if unallocated(p) > ZERO]
    if payments:
        invoices = _open_invoices(member)
        for payment in payments:
            _allocate(payment, invoices)


@document_issued.connect
def _settle_after_issue(document: Invoice) -> None:
    """An invoice (the credit pays it) or a credit note (an excess paid becomes credit)."""
    settle(document.member)


# --- recording payments ------------------------------------------------------------------------


def _positive(amount: Decimal, what: str) -> Decimal:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise DomainError(_("%(what)s doit être un montant positif.", what=what))
    if quantize(amount) != amount:
        raise DomainError(_("%(what)s se donne au centime près.", what=what))
    return amount


def record_payment(
    member: Member,
    amount: Decimal,
    *,
    method: Method,
    received_on: date,
    status: PaymentStatus = PaymentStatus.SUCCEEDED,
    fees: Decimal = ZERO,
    reference: str | None = None,
    note: str | None = None,
    invoices: list[Invoice] = (),
    by: User | None = None,
    stripe_payment_intent_id: str | None = None,
    checkout_session: CheckoutSession | None = None,
    bank_line: BankLine | None = None,
) -> Payment:
    """Record money received from `member`, allocated to `invoices` first.

    A pending payment (SEPA) is allocated when it succeeds (mark_succeeded).
    """
    _positive(amount, _("Le montant"))
    if fees < ZERO or fees > amount or quantize(fees) != fees:
        raise DomainError(_("Les frais vont de 0 au montant du paiement, au centime près."))
    for invoice in invoices:
        if invoice.member_id != member.id:
            raise DomainError(
                _("La facture %(number)s n'est pas de cet adhérent.", number=invoice.number)
            )
        if invoice.kind is not InvoiceKind.INVOICE:
            raise DomainError(
                _(
                    "%(number)s est un avoir : un paiement règle des factures.",
                    number=invoice.number,
                )
            )
    lock_member_ledger(member)
    payment = Payment(
        member=member,
        method=method,
        status=status,
        amount=amount,
        fees=fees,
        received_on=received_on,
        reference=reference,
        note=note,
        recorded_by=by,
        stripe_payment_intent_id=stripe_payment_intent_id,
        checkout_session=checkout_session,
        bank_line_id=bank_line.id if bank_line is not None else None,
    )
    db.session.add(payment)
    db.session.flush()
    if status is PaymentStatus.SUCCEEDED:
        _allocate(payment, list(invoices))
        settle(member)
    _record(
        payment,
        "payment.recorded",
        by,
        amount=amount,
        method=method,
        status=status,
        invoices=[invoice.number for invoice in invoices],
    )
    return payment


def _record(payment: Payment, action: str, by: User | None = None, **details) -> None:
    record(
        action,
        object_type="payment",
        object_id=payment.id,
        label=f"n°{payment.id}",
        member=payment.member_id,
        details=details,
        actor=by,
    )


def intended_invoices(payment: Payment) -> list[Invoice]:
    return list(payment.checkout_session.invoices) if payment.checkout_session else []


def mark_succeeded(payment: Payment, *, on: date, fees: Decimal | None = None) -> bool:
    """A pending payment settled: allocate it. False when it already had (idempotent)."""
    if payment.status is PaymentStatus.SUCCEEDED:
        return False
    if payment.status is PaymentStatus.FAILED:
        raise DomainError(_("Ce paiement a échoué : il ne peut plus aboutir."))
    lock_member_ledger(payment.member)
    before = payment.status
    payment.status = PaymentStatus.SUCCEEDED
    payment.received_on = on
    if fees is not None:
        payment.fees = fees
    db.session.flush()
    _record(payment, "payment.succeeded", amount=payment.amount, status=change(before, "succeeded"))
    _allocate(payment, intended_invoices(payment))
    settle(payment.member)
    return True


def mark_failed(payment: Payment) -> bool:
    """The payment did not go through (a SEPA debit refused): the invoices owe again."""
    if payment.status is PaymentStatus.FAILED:
        return False
    lock_member_ledger(payment.member)
    for allocation in list(payment.allocations):
        payment.allocations.remove(allocation)
        db.session.delete(allocation)
    before = payment.status
    payment.status = PaymentStatus.FAILED
    db.session.flush()
    _record(payment, "payment.failed", amount=payment.amount, status=change(before, "failed"))
    settle(payment.member)
    return True


def refundable(payment: Payment) -> Decimal:
    """What can still be paid back out of `payment`."""
    if payment.status is not PaymentStatus.SUCCEEDED:
        return ZERO
    refunded = sum((r.amount for r in payment.refunds if r.status is not RefundStatus.FAILED), ZERO)
    return payment.amount - refunded


def record_refund(
    payment: Payment,
    amount: Decimal,
    *,
    on: date,
    status: RefundStatus = RefundStatus.SUCCEEDED,
    stripe_refund_id: str | None = None,
    credit_note: Invoice | None = None,
    reason: str | None = None,
    by: User | None = None,
) -> Refund:
    """Pay `amount` back out of `payment`: first its unused part, then what it settled.

    With a Stripe refund id the call is idempotent: the same refund is recorded once.
    """
    if stripe_refund_id:
        known = db.session.scalar(select(Refund).where(Refund.stripe_refund_id == stripe_refund_id))
        if known is not None:
            if known.status is not status:
                moved = change(known.status, status)
                _record_refund(known, "refund.status_changed", by, status=moved)
                known.status = status
                db.session.flush()
                settle(payment.member)
            return known
    _positive(amount, _("Le remboursement"))
    lock_member_ledger(payment.member)
    if amount > refundable(payment):
        raise DomainError(
            _(
                "On ne rembourse pas plus que le paiement : %(left)s au plus.",
                left=money(refundable(payment)),
            )
        )
    beyond_credit = amount - unallocated(payment)
    for allocation in reversed(list(payment.allocations)):
        if beyond_credit <= ZERO:
            break
        take = min(allocation.amount, beyond_credit)
        beyond_credit -= take
        if take == allocation.amount:
            payment.allocations.remove(allocation)
            db.session.delete(allocation)
        else:
            allocation.amount -= take
    refund = Refund(
        payment=payment,
        amount=amount,
        status=status,
        refunded_on=on,
        stripe_refund_id=stripe_refund_id,
        credit_note=credit_note,
        reason=reason,
        recorded_by_id=by.id if by else None,
    )
    db.session.add(refund)
    db.session.flush()
    _record_refund(refund, "refund.recorded", by, amount=amount, status=status, reason=reason)
    settle(payment.member)
    return refund


def _record_refund(refund: Refund, action: str, by: User | None, **details) -> None:
    record(
        action,
        object_type="refund",
        object_id=refund.id,
        label=f"n°{refund.id}",
        member=refund.payment.member_id,
        details={"payment": f"n°{refund.payment_id}", **details},
        actor=by,
    )


def payments_of(invoice: Invoice) -> list[tuple[Payment, Decimal]]:
    """The payments settling `invoice`, with the amount each allocated to it."""
    rows = db.session.execute(
        select(Payment, PaymentAllocation.amount)
        .join(PaymentAllocation, PaymentAllocation.payment_id == Payment.id)
        .where(PaymentAllocation.invoice_id == invoice.id)
        .order_by(Payment.received_on, Payment.id)
    ).all()
    totals: dict[Payment, Decimal] = defaultdict(lambda: ZERO)
    for payment, amount in rows:
        totals[payment] += amount
    return list(totals.items())
