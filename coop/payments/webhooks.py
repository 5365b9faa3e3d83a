"""Stripe's webhook events, each applied once, whatever order and however often they come.

The event id is inserted first, in the transaction of the event's effect: a
replay then fails on the primary key and does nothing, and on PostgreSQL a second
delivery arriving meanwhile waits on that row until the first commits, then fails
the same way. Any failure rolls the id back with the effect, so Stripe's retry
applies the event later.

Events come twice and out of order, so an event is only a signal: the handlers
read the Checkout Session, its payment intent, the charge's refunds and the
dispute again from the API and bring our records to Stripe's current state. A
`charge.refunded` or `charge.dispute.created` arriving before the session's
`completed` records the payment first, then the refund or the dispute; the late
`completed` then changes nothing. Every event applied alone gives the ledger the
state Stripe is in, so any order ends in the same state (spec/invoicing.md, Payments).

Money that does not match the session (another currency, another amount) or the
payment (a refund larger than what is left) is never recorded as such: it becomes
an anomaly for the treasurer (coop/payments/anomalies.py).
"""

import json
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from coop.activity.models import ActorKind
from coop.activity.recording import acting_as
from coop.clock import today
from coop.extensions import db
from coop.payments import bank, ledger, stripe_client
from coop.payments.anomalies import record_anomaly
from coop.payments.models import (
    AnomalyKind,
    CheckoutSession,
    Dispute,
    Method,
    Payment,
    PaymentAnomaly,
    PaymentStatus,
    Refund,
    RefundStatus,
    StripeEvent,
    StripePayout,
)
from coop.payments.stripe_client import CURRENCY, from_cents, local_day, to_cents

log = logging.getLogger(__name__)

# The length of the columns keeping Stripe's ids.
MAX_ID = 255


class AlreadyApplied(Exception):
    """The event was applied before: the caller rolls back and answers 200."""


class MalformedEvent(ValueError):
    """A validly signed event we cannot read: refused (400), nothing written."""

    def __init__(self, problem: str, event_id: str | None = None) -> None:
        super().__init__(problem)
        self.problem, self.event_id = problem, event_id


@dataclass(frozen=True)
class Event:
    """A verified event, read: `object` is its `data.object`, for the types we handle only."""

    id: str
    type: str
    object: dict | None


def read_event(body: bytes) -> Event:
    """The event in a verified body, checked before anything is written (MalformedEvent)."""
    try:
        payload = json.loads(body)
    except ValueError as error:
        raise MalformedEvent(f"the body is not JSON ({error})") from None
    if not isinstance(payload, dict):
        raise MalformedEvent("the event is not a JSON object")
    event_id = payload.get("id")
    if not _is_id(event_id):
        raise MalformedEvent("the event has no id")
    kind = payload.get("type")
    if not isinstance(kind, str) or not kind:
        raise MalformedEvent("the event has no type", event_id)
    if kind not in HANDLERS:
        return Event(event_id, kind, None)
    carried = HANDLERS[kind][0]
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise MalformedEvent("the event has no data.object", event_id)
    if obj.get("object") != carried:
        raise MalformedEvent(f"{kind} carries a {obj.get('object')!r}, not a {carried!r}", event_id)
    if not _is_id(obj.get("id")):
        raise MalformedEvent("data.object has no id", event_id)
    if carried in ("charge", "dispute"):
        # A charge or dispute names its payment intent (null when it is not a Checkout one).
        if "payment_intent" not in obj:
            raise MalformedEvent("data.object has no payment_intent", event_id)
        if obj["payment_intent"] is not None and not _is_id(obj["payment_intent"]):
            raise MalformedEvent("data.object.payment_intent is not an id", event_id)
    return Event(event_id, kind, obj)


def _is_id(value) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID


def apply_event(event: Event) -> str:
    """Apply one verified event; say what was done. The caller commits."""
    if event.object is None:
        return "ignored"
    db.session.add(StripeEvent(id=event.id, type=event.type))
    try:
        db.session.flush()
    except IntegrityError:
        raise AlreadyApplied(event.id) from None
    with acting_as(ActorKind.WEBHOOK):
        return HANDLERS[event.type][1](event.object)


def _said(*outcomes: str) -> str:
    return ", ".join(o for o in outcomes if o != "no change") or "no change"


# --- Checkout Sessions -------------------------------------------------------------------------


def _locked_session(stripe_id: str) -> CheckoutSession | None:
    # One event of a session at a time: the second waits here, then sees what the first did.
    return db.session.scalar(
        select(CheckoutSession).where(CheckoutSession.stripe_id == stripe_id).with_for_update()
    )


def sync_checkout_session(obj: dict) -> str:
    """A session completed, or its SEPA debit settled or failed: bring our records in step."""
    row = _locked_session(obj["id"])
    if row is None:
        log.warning("Stripe checkout session %s is not one of ours: ignored", obj["id"])
        return "not ours"
    return _sync(row)[0]


def _sync(row: CheckoutSession) -> tuple[str, Payment | None]:
    """Bring the payment of a (locked) session to Stripe's current state; what was done.

    The event's copy may be older than another event already applied, so the session and
    its payment intent are read again from Stripe.
    """
    api = stripe_client.client()
    session = api.v1.checkout.sessions.retrieve(row.stripe_id).to_dict()
    row.status, row.payment_status = session["status"], session["payment_status"]
    if not session.get("payment_intent"):
        return "no payment yet", None
    intent = api.v1.payment_intents.retrieve(
        session["payment_intent"], {"expand": ["latest_charge.balance_transaction"]}
    ).to_dict()
    payment = db.session.scalar(
        select(Payment).where(Payment.stripe_payment_intent_id == intent["id"])
    )
    if payment is None and _mismatch(row, session, intent) is not None:
        return "payment set aside", None
    charge = intent.get("latest_charge") if isinstance(intent.get("latest_charge"), dict) else {}
    transaction = charge.get("balance_transaction")
    transaction = transaction if isinstance(transaction, dict) else None
    fees = from_cents(transaction["fee"]) if transaction else ledger.ZERO
    on = local_day(transaction["created"]) if transaction else today()

    if session["payment_status"] == "paid":
        if payment is None:
            payment = _record(row, intent, charge, PaymentStatus.SUCCEEDED, on=on, fees=fees)
            return "payment recorded", payment
        settled = ledger.mark_succeeded(payment, on=on, fees=fees)
        return ("payment settled" if settled else "no change"), payment
    if intent["status"] == "processing":
        if payment is None:
            payment = _record(row, intent, charge, PaymentStatus.PENDING, on=today())
            return "pending payment recorded", payment
        return "no change", payment
    if session["status"] == "complete":
        # Complete but unpaid and no longer processing: the debit was refused.
        if payment is None:
            payment = _record(row, intent, charge, PaymentStatus.FAILED, on=today())
            return "failed payment recorded", payment
        return ("payment failed" if ledger.mark_failed(payment) else "no change"), payment
    return "no change", payment


def _mismatch(row: CheckoutSession, session: dict, intent: dict) -> PaymentAnomaly | None:
    """The anomaly of a payment intent that does not pay what the session asked, in euros.

    The session was made for `row.amount` in EUR, one line per invoice for what it owed:
    a payment in another currency or of another amount is not a payment of those invoices.
    """
    expected = to_cents(row.amount)
    if {str(intent.get("currency")).lower(), str(session.get("currency")).lower()} != {CURRENCY}:
        kind = AnomalyKind.PAYMENT_CURRENCY
    elif intent.get("amount") != expected or session.get("amount_total") != expected:
        kind = AnomalyKind.PAYMENT_AMOUNT
    else:
        return None
    return record_anomaly(
        kind,
        intent["id"],
        amount_minor=intent["amount"],
        currency=intent["currency"],
        member=row.member,
        session=row,
        expected=row.amount,
    )


def _record(
    row: CheckoutSession, intent: dict, charge: dict, status: PaymentStatus, *, on, fees=ledger.ZERO
) -> Payment:
    kind = (charge.get("payment_method_details") or {}).get("type") or (
        intent.get("payment_method_types") or ["card"]
    )[0]
    return ledger.record_payment(
        row.member,
        from_cents(intent["amount"]),
        method=Method.SEPA_DEBIT if kind == "sepa_debit" else Method.CARD,
        received_on=on,
        status=status,
        fees=fees,
        reference=intent["id"],
        invoices=list(row.invoices),
        stripe_payment_intent_id=intent["id"],
        checkout_session=row,
    )


def _session_paid_by(intent_id: str | None) -> CheckoutSession | None:
    """Our (locked) Checkout Session whose payment is `intent_id`, recorded yet or not."""
    if intent_id is None:
        return None
    recorded = db.session.scalar(
        select(Payment.checkout_session_id).where(Payment.stripe_payment_intent_id == intent_id)
    )
    if recorded is not None:
        return db.session.scalar(
            select(CheckoutSession).where(CheckoutSession.id == recorded).with_for_update()
        )
    # Not recorded yet (the session's events are still on their way): Stripe knows its session.
    listed = stripe_client.client().v1.checkout.sessions.list(
        {"payment_intent": intent_id, "limit": 1}
    )
    for session in listed.to_dict()["data"]:
        row = _locked_session(session["id"])
        if row is not None:
            return row
    return None


# --- refunds and disputes ----------------------------------------------------------------------


def refund_status(stripe_status: str) -> RefundStatus:
    """Stripe's refund status in ours: pending until it succeeds or fails."""
    return {
        "succeeded": RefundStatus.SUCCEEDED,
        "failed": RefundStatus.FAILED,
        "canceled": RefundStatus.FAILED,
    }.get(stripe_status, RefundStatus.PENDING)


def record_charge_refunds(charge: dict) -> str:
    """Record each refund of the charge, ours (pending until now) or made on Stripe's dashboard.

    The payment is brought in step first (this event may come before the session's), then
    the refunds are listed again from the API: the event's charge may be stale, and Stripe
    leaves them out of the charge object anyway.
    """
    row = _session_paid_by(charge["payment_intent"])
    if row is None:
        log.warning("Stripe charge %s refunded: no session of ours has it", charge["id"])
        return "not ours"
    outcome, payment = _sync(row)
    # One change to the shop's account at a time: a refund being made (refunds.py) holds this
    # lock until its row, with Stripe's id, is committed, so the list below finds it.
    ledger.lock_member_ledger(row.member)
    listed = stripe_client.client().v1.refunds.list({"charge": charge["id"], "limit": 100})
    refunds = sorted((r.to_dict() for r in listed.auto_paging_iter()), key=lambda r: r["created"])
    for refund in refunds:
        status = refund_status(refund["status"])
        known = db.session.scalar(select(Refund.id).where(Refund.stripe_refund_id == refund["id"]))
        if known is None:
            if status is RefundStatus.FAILED:
                continue  # never paid back: nothing to record
            if _refund_mismatch(row, payment, refund) is not None:
                continue
        ledger.record_refund(
            payment,
            from_cents(refund["amount"]),
            on=local_day(refund["created"]),
            status=status,
            stripe_refund_id=refund["id"],
        )
    return _said(outcome, f"{len(refunds)} refund(s) in step")


def _refund_mismatch(
    row: CheckoutSession, payment: Payment | None, refund: dict
) -> PaymentAnomaly | None:
    """The anomaly of a refund the ledger cannot take: in another currency, or too large."""
    expected = None
    if payment is None:
        kind = AnomalyKind.REFUND_UNRECORDED
    elif str(refund.get("currency")).lower() != CURRENCY:
        kind = AnomalyKind.REFUND_CURRENCY
    elif from_cents(refund["amount"]) > ledger.refundable(payment):
        kind, expected = AnomalyKind.REFUND_TOO_LARGE, ledger.refundable(payment)
    else:
        return None
    return record_anomaly(
        kind,
        refund["id"],
        amount_minor=refund["amount"],
        currency=refund["currency"],
        member=row.member,
        session=row,
        payment=payment,
        expected=expected,
    )


def record_dispute(obj: dict) -> str:
    """A shop's bank contests a payment: kept against the payment for the treasurer.

    The payment is brought in step first (this event may come before the session's), and
    the dispute read again from the API for its current amount and status.
    """
    row = _session_paid_by(obj["payment_intent"])
    if row is None:
        log.warning("Stripe dispute %s: no session of ours has it", obj["id"])
        return "not ours"
    outcome, payment = _sync(row)
    dispute = stripe_client.client().v1.disputes.retrieve(obj["id"]).to_dict()
    if payment is None or str(dispute.get("currency")).lower() != CURRENCY:
        kind = AnomalyKind.DISPUTE_UNRECORDED if payment is None else AnomalyKind.DISPUTE_CURRENCY
        record_anomaly(
            kind,
            dispute["id"],
            amount_minor=dispute["amount"],
            currency=dispute["currency"],
            member=row.member,
            session=row,
            payment=payment,
        )
        return _said(outcome, "dispute set aside")
    known = db.session.scalar(select(Dispute).where(Dispute.stripe_dispute_id == dispute["id"]))
    if known is None:
        db.session.add(
            Dispute(
                payment=payment,
                stripe_dispute_id=dispute["id"],
                amount=from_cents(dispute["amount"]),
                reason=dispute.get("reason"),
                status=dispute["status"],
            )
        )
    else:
        known.status = dispute["status"]
    db.session.flush()
    log.warning(
        "Stripe dispute %s on payment %s (%s)", dispute["id"], payment.id, dispute.get("reason")
    )
    return _said(outcome, "dispute recorded")


def record_payout(obj: dict) -> str:
    """Stripe paid the balance out to the coop's bank: kept, then matched to the bank line.

    The payout is read again from the API (the event may be stale); one in another
    currency, of nothing or not paid is not ours to book.
    """
    payout = stripe_client.client().v1.payouts.retrieve(obj["id"]).to_dict()
    ours = str(payout.get("currency")).lower() == CURRENCY and payout.get("amount", 0) > 0
    if payout.get("status") != "paid" or not ours:
        log.warning("Stripe payout %s is %s: not recorded", payout["id"], payout.get("status"))
        return "ignored"
    known = db.session.scalar(select(StripePayout).where(StripePayout.stripe_id == payout["id"]))
    if known is not None:
        return "no change"
    db.session.add(
        StripePayout(
            stripe_id=payout["id"],
            amount=from_cents(payout["amount"]),
            arrival_on=local_day(payout["arrival_date"]),
        )
    )
    db.session.flush()
    return "payout recorded, matched to the bank" if bank.match_payouts() else "payout recorded"


# The events we apply: the kind of object (Stripe's `object` field) each carries, its handler.
HANDLERS = {
    "checkout.session.completed": ("checkout.session", sync_checkout_session),
    "checkout.session.async_payment_succeeded": ("checkout.session", sync_checkout_session),
    "checkout.session.async_payment_failed": ("checkout.session", sync_checkout_session),
    "charge.refunded": ("charge", record_charge_refunds),
    "charge.dispute.created": ("dispute", record_dispute),
    "payout.paid": ("payout", record_payout),
}
