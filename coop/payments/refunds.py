"""Paying a shop's credit back (e.g. a credit note on an invoice it had paid).

The credit is money of the shop's payments that no invoice uses; it goes back out
of those payments, the latest first: a Stripe payment through Stripe's Refunds
API (recorded pending, completed by the `charge.refunded` webhook), a transfer or
a cheque by a transfer the treasurer makes from the bank.
"""

import hashlib
import logging
from decimal import Decimal

import stripe
from flask_babel import gettext as _
from sqlalchemy import select

from coop.accounts.models import Member, User
from coop.clock import today
from coop.errors import DomainError
from coop.extensions import db
from coop.i18n import day, money
from coop.invoicing.models import Invoice, InvoiceKind
from coop.money import quantize
from coop.payments import ledger, stripe_client
from coop.payments.models import Payment, PaymentStatus, Refund, RefundStatus
from coop.payments.stripe_client import to_cents

log = logging.getLogger(__name__)

ZERO = ledger.ZERO


def refund_credit(
    member: Member, amount: Decimal, *, by: User, credit_note: Invoice | None = None
) -> list[Refund]:
    """Pay `amount` of the shop's credit back, out of the payments holding it, latest first."""
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= ZERO:
        raise DomainError(_("Indiquez un montant positif."), field="amount")
    if quantize(amount) != amount:
        raise DomainError(_("Le montant se donne au centime près."), field="amount")
    if credit_note is not None and (
        credit_note.member_id != member.id or credit_note.kind is not InvoiceKind.CREDIT_NOTE
    ):
        raise DomainError(_("Choisissez un avoir de cet atelier."), field="credit_note")
    ledger.lock_member_ledger(member)  # the credit checked is the credit paid back
    credit = ledger.member_credit(member)
    if amount > credit:
        raise DomainError(
            _("L'atelier a %(credit)s de crédit : on ne rembourse pas plus.", credit=money(credit)),
            field="amount",
        )
    holding = db.session.scalars(
        select(Payment)
        .where(Payment.member_id == member.id, Payment.status == PaymentStatus.SUCCEEDED)
        .order_by(Payment.received_on.desc(), Payment.id.desc())
    ).all()
    refunds, left = [], amount
    for payment in holding:
        take = min(ledger.unallocated(payment), left)
        if take <= ZERO:
            continue
        try:
            refunds.append(_refund(payment, take, by=by, credit_note=credit_note))
        except StripeRefused as refused:
            if not refunds:
                raise DomainError(refused.message) from refused
            # Keep what Stripe paid back already; the rest stays credit (the caller says so).
            break
        left -= take
        if left == ZERO:
            break
    return refunds


class StripeRefused(DomainError):
    """Stripe did not make a refund (refused, or not reached)."""


def _refund(payment: Payment, amount: Decimal, *, by: User, credit_note: Invoice | None) -> Refund:
    if not payment.stripe_payment_intent_id:
        # The treasurer makes the transfer from the coop's bank: recorded as done.
        return ledger.record_refund(payment, amount, on=today(), credit_note=credit_note, by=by)
    refunded = payment.amount - ledger.refundable(payment)
    # What was refunded so far is part of the key: the same click twice is one refund,
    # a second refund of the same amount later is another.
    text = f"{payment.id}:{to_cents(refunded)}:{to_cents(amount)}"
    key = "coop-refund-" + hashlib.sha256(text.encode()).hexdigest()[:40]
    params = {
        "payment_intent": payment.stripe_payment_intent_id,
        "amount": to_cents(amount),
        "reason": "requested_by_customer",
        "metadata": {
            "member_id": str(payment.member_id),
            "payment_id": str(payment.id),
            "credit_note": credit_note.number if credit_note else "",
        },
    }
    # Recorded (pending) before Stripe is asked, in a savepoint undone if Stripe refuses: the
    # row is written, and locked, before the webhook confirming the refund can look for it.
    with db.session.begin_nested():
        refund = ledger.record_refund(
            payment, amount, on=today(), status=RefundStatus.PENDING, credit_note=credit_note, by=by
        )
        try:
            made = stripe_client.client().v1.refunds.create(params, {"idempotency_key": key})
        except stripe.StripeError as error:
            log.warning("Stripe refund of payment %s refused or not reached: %s", payment.id, error)
            message = _(
                "Stripe n'a pas remboursé le paiement du %(day)s : réessayez plus tard.",
                day=day(payment.received_on),
            )
            raise StripeRefused(message) from error
        refund.stripe_refund_id = made.to_dict()["id"]
    return refund
