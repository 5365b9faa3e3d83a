"""Stripe's webhook events, each applied once, whatever order and however often they come.

The event id is inserted first, in the transaction of the event's effect: a
replay then fails on the primary key and does nothing, and on PostgreSQL a second
delivery arriving meanwhile waits on that row until the first commits, then fails
the same way. Any failure rolls the id back with the effect, so Stripe's retry
applies the event later. Events come twice and out of order, so the handlers
re-read the session and its payment intent from the API and bring our records to
Stripe's current state: every transition is idempotent (spec/invoicing.md, Payments).
"""

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from coop.clock import today
from coop.extensions import db
from coop.payments import ledger, stripe_client
from coop.payments.models import (
    CheckoutSession,
    Dispute,
    Method,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    StripeEvent,
)
from coop.payments.stripe_client import from_cents, local_day

log = logging.getLogger(__name__)


class AlreadyApplied(Exception):
    """The event was applied before: the caller rolls back and answers 200."""


def apply_event(event: dict) -> str:
    """Apply one verified event (a plain dict); say what was done. The caller commits."""
    handler = HANDLERS.get(event["type"])
    if handler is None:
        return "ignored"
    db.session.add(StripeEvent(id=event["id"], type=event["type"]))
    try:
        db.session.flush()
    except IntegrityError:
        raise AlreadyApplied(event["id"]) from None
    return handler(event["data"]["object"])


# --- Checkout Sessions -------------------------------------------------------------------------


def sync_checkout_session(obj: dict) -> str:
    """Bring our records to the session's current state (completed, async succeeded or failed).

    The event's copy may be older than another event already applied, so the session and
    its payment intent are read again from Stripe.
    """
    row = db.session.scalar(
        select(CheckoutSession).where(CheckoutSession.stripe_id == obj["id"]).with_for_update()
    )
    if row is None:
        log.warning("Stripe checkout session %s is not one of ours: ignored", obj["id"])
        return "not ours"
    api = stripe_client.client()
    session = api.v1.checkout.sessions.retrieve(row.stripe_id).to_dict()
    row.status, row.payment_status = session["status"], session["payment_status"]
    if not session.get("payment_intent"):
        return "no payment yet"
    intent = api.v1.payment_intents.retrieve(
        session["payment_intent"], {"expand": ["latest_charge.balance_transaction"]}
    ).to_dict()
    payment = db.session.scalar(
        select(Payment).where(Payment.stripe_payment_intent_id == intent["id"])
    )
    charge = intent.get("latest_charge") if isinstance(intent.get("latest_charge"), dict) else {}
    transaction = charge.get("balance_transaction")
    transaction = transaction if isinstance(transaction, dict) else None
    fees = from_cents(transaction["fee"]) if transaction else ledger.ZERO
    on = local_day(transaction["created"]) if transaction else today()

    if session["payment_status"] == "paid":
        if payment is None:
            _record(row, intent, charge, PaymentStatus.SUCCEEDED, on=on, fees=fees)
            return "payment recorded"
        settled = ledger.mark_succeeded(payment, on=on, fees=fees)
        return "payment settled" if settled else "no change"
    if intent["status"] == "processing":
        if payment is None:
            _record(row, intent, charge, PaymentStatus.PENDING, on=today())
            return "pending payment recorded"
        return "no change"
    if session["status"] == "complete":
        # Complete but unpaid and no longer processing: the debit was refused.
        if payment is None:
            _record(row, intent, charge, PaymentStatus.FAILED, on=today())
            return "failed payment recorded"
        return "payment failed" if ledger.mark_failed(payment) else "no change"
    return "no change"


def _record(row: CheckoutSession, intent: dict, charge: dict, status: PaymentStatus, *, on,
            fees=ledger.ZERO) -> Payment:  # fmt: skip
    kind = (charge.get("payment_method_details") or {}).get("type") or (
        intent.get("payment_method_types") or ["card"]
    )[0]
    return ledger.record_payment(
        row.member, from_cents(intent["amount"]),
        method=Method.SEPA_DEBIT if kind == "sepa_debit" else Method.CARD,
        received_on=on, status=status, fees=fees, reference=intent["id"],
        invoices=list(row.invoices), stripe_payment_intent_id=intent["id"], checkout_session=row,
    )  # fmt: skip


# --- refunds and disputes ----------------------------------------------------------------------


def refund_status(stripe_status: str) -> RefundStatus:
    """Stripe's refund status in ours: pending until it succeeds or fails."""
    return {"succeeded": RefundStatus.SUCCEEDED, "failed": RefundStatus.FAILED,
            "canceled": RefundStatus.FAILED}.get(stripe_status, RefundStatus.PENDING)  # fmt: skip


def _payment_of(intent_id: str | None) -> Payment | None:
    if not intent_id:
        return None
    return db.session.scalar(select(Payment).where(Payment.stripe_payment_intent_id == intent_id))


def record_charge_refunds(charge: dict) -> str:
    """Record each refund of the charge, ours (pending until now) or made on Stripe's dashboard.

    The refunds are listed again from the API: the event's charge may be stale, and
    Stripe leaves them out of the charge object anyway.
    """
    payment = _payment_of(charge.get("payment_intent"))
    if payment is None:
        log.warning("Stripe charge %s refunded: no payment of ours has it", charge["id"])
        return "not ours"
    ledger._lock(payment.member)  # one change to the shop's account at a time, checks included
    listed = stripe_client.client().v1.refunds.list({"charge": charge["id"], "limit": 100})
    refunds = sorted(listed.to_dict()["data"], key=lambda refund: refund["created"])
    for refund in refunds:
        status = refund_status(refund["status"])
        known = db.session.scalar(select(Refund.id).where(Refund.stripe_refund_id == refund["id"]))
        if known is None and status is RefundStatus.FAILED:
            continue  # never paid back: nothing to record
        ledger.record_refund(payment, from_cents(refund["amount"]), on=local_day(refund["created"]),
                             status=status, stripe_refund_id=refund["id"])  # fmt: skip
    return f"{len(refunds)} refund(s) in step"


def record_dispute(dispute: dict) -> str:
    """A shop's bank contests a payment: kept against the payment for the treasurer."""
    payment = _payment_of(dispute.get("payment_intent"))
    if payment is None:
        log.warning("Stripe dispute %s: no payment of ours has it", dispute["id"])
        return "not ours"
    known = db.session.scalar(select(Dispute).where(Dispute.stripe_dispute_id == dispute["id"]))
    if known is None:
        db.session.add(Dispute(payment=payment, stripe_dispute_id=dispute["id"],
                               amount=from_cents(dispute["amount"]),
                               reason=dispute.get("reason"), status=dispute["status"]))  # fmt: skip
        db.session.flush()
    log.warning("Stripe dispute %s on payment %s (%s)", dispute["id"], payment.id,
                dispute.get("reason"))  # fmt: skip
    return "dispute recorded"


HANDLERS = {
    "checkout.session.completed": sync_checkout_session,
    "checkout.session.async_payment_succeeded": sync_checkout_session,
    "checkout.session.async_payment_failed": sync_checkout_session,
    "charge.refunded": record_charge_refunds,
    "charge.dispute.created": record_dispute,
}
