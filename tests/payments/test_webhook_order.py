"""Stripe's events in every order, and twice: the ledger ends the same whatever the order."""

from decimal import Decimal
from itertools import permutations

import pytest
from sqlalchemy import select

from coop.extensions import db
from coop.payments import ledger
from coop.payments.models import Dispute, Method, Payment, PaymentStatus, Refund, RefundStatus
from tests.invoicing import factories as invoices
from tests.payments.stripe_helpers import (
    apply,
    committed_checkout,
    deliver,
    deliver_at_once,
    pay,
    sdk,
    shop_paying_two_invoices,
    slow_stripe,
    stripe_online,
)

ZERO = Decimal("0.00")
TWO = Decimal("297.30")  # two factory invoices of 148.65


@pytest.fixture
def world(client, make, app, monkeypatch):
    with stripe_online(app, monkeypatch) as fake:
        yield shop_paying_two_invoices(client, make, fake)


def ledger_state(world) -> dict:
    """Everything the events may change, without the ids and dates that differ between runs."""
    payments = db.session.scalars(select(Payment).order_by(Payment.id)).all()
    return {
        "payments": [(p.method, p.status, p.amount, p.fees) for p in payments],
        # Which of the shop's two invoices each allocation settles, and how much of it.
        "allocations": [
            (world.invoices.index(a.invoice), a.amount) for p in payments for a in p.allocations
        ],
        "refunds": [(r.amount, r.status) for r in db.session.scalars(select(Refund))],
        "disputes": [(d.amount, d.reason, d.status) for d in db.session.scalars(select(Dispute))],
        "due": [ledger.balance(invoice).due for invoice in world.invoices],
        "credit": ledger.member_credit(world.member),
    }


def refund(world, cents: int) -> dict:
    """A refund made on Stripe's dashboard; the `charge.refunded` event Stripe sends."""
    payment_intent = world.fake.objects[world.session.stripe_id]["payment_intent"]
    sdk(world.fake).v1.refunds.create({"payment_intent": payment_intent, "amount": cents})
    world.fake.wait_until_idle()
    assert world.fake.events[-1]["type"] == "charge.refunded"
    return world.fake.events[-1]


def card_refunded_and_disputed(world) -> dict:
    pay(world.fake, world.session.stripe_id)
    events = {"completed": world.fake.events[-1], "refunded": refund(world, 5000)}
    events["disputed"] = apply(world.fake, world.session.stripe_id, "charge.dispute.created")
    return events


def sepa_settled_then_refunded(world) -> dict:
    pay(world.fake, world.session.stripe_id, "sepa_debit")
    events = {"completed": world.fake.events[-1]}
    events["settled"] = apply(
        world.fake, world.session.stripe_id, "checkout.session.async_payment_succeeded"
    )
    events["refunded"] = refund(world, 29730)
    return events


def sepa_refused(world) -> dict:
    pay(world.fake, world.session.stripe_id, "sepa_failed")
    events = {"completed": world.fake.events[-1]}
    events["failed"] = apply(
        world.fake, world.session.stripe_id, "checkout.session.async_payment_failed"
    )
    return events


SCENARIOS = {
    # Paid by card, 50 € paid back, then contested: the last invoice owes the 50 € again.
    card_refunded_and_disputed: {
        "payments": [(Method.CARD, PaymentStatus.SUCCEEDED, TWO, Decimal("4.71"))],
        "allocations": [(0, Decimal("148.65")), (1, Decimal("98.65"))],
        "refunds": [(Decimal("50.00"), RefundStatus.SUCCEEDED)],
        "disputes": [(TWO, "fraudulent", "needs_response")],
        "due": [ZERO, Decimal("50.00")],
        "credit": ZERO,
    },
    # A SEPA debit settled days later, then paid back in full: both invoices owe again.
    sepa_settled_then_refunded: {
        "payments": [(Method.SEPA_DEBIT, PaymentStatus.SUCCEEDED, TWO, Decimal("0.35"))],
        "allocations": [],
        "refunds": [(TWO, RefundStatus.SUCCEEDED)],
        "disputes": [],
        "due": [Decimal("148.65"), Decimal("148.65")],
        "credit": ZERO,
    },
    # A SEPA debit refused: kept for the record, the invoices owe everything.
    sepa_refused: {
        "payments": [(Method.SEPA_DEBIT, PaymentStatus.FAILED, TWO, ZERO)],
        "allocations": [],
        "refunds": [],
        "disputes": [],
        "due": [Decimal("148.65"), Decimal("148.65")],
        "credit": ZERO,
    },
}


def orders(scenario) -> list:
    names = {
        card_refunded_and_disputed: ("completed", "refunded", "disputed"),
        sepa_settled_then_refunded: ("completed", "settled", "refunded"),
        sepa_refused: ("completed", "failed"),
    }[scenario]
    every = [list(order) for order in permutations(names)]
    # Stripe also delivers each event twice, the second time after the others.
    return [*every, list(reversed(names)) + list(names)]


CASES = [
    pytest.param(scenario, order, id=f"{scenario.__name__}:{'-'.join(order)}")
    for scenario in SCENARIOS
    for order in orders(scenario)
]


@pytest.mark.parametrize(("scenario", "order"), CASES)
def test_the_ledger_ends_the_same_whatever_order_the_events_come_in(client, world, scenario, order):
    events = scenario(world)
    answers = [deliver(client, events[name]).status_code for name in order]
    assert answers == [200] * len(order)
    assert ledger_state(world) == SCENARIOS[scenario]


def test_a_refund_before_the_payment_records_both(client, world):
    events = card_refunded_and_disputed(world)
    assert deliver(client, events["refunded"]).text == "payment recorded, 1 refund(s) in step"
    assert deliver(client, events["completed"]).text == "no change"
    payment = db.session.scalars(select(Payment)).one()
    assert (payment.status, payment.amount) == (PaymentStatus.SUCCEEDED, TWO)
    assert [(r.amount, r.status) for r in payment.refunds] == [
        (Decimal("50.00"), RefundStatus.SUCCEEDED)
    ]
    assert [ledger.balance(invoice).due for invoice in world.invoices] == [ZERO, Decimal("50.00")]


def test_a_dispute_before_the_payment_records_both(client, world):
    events = card_refunded_and_disputed(world)
    assert deliver(client, events["disputed"]).text == "payment recorded, dispute recorded"
    dispute = db.session.scalars(select(Dispute)).one()
    assert (dispute.payment.status, dispute.payment.amount) == (PaymentStatus.SUCCEEDED, TWO)
    assert deliver(client, events["disputed"]).text == "already applied"
    assert deliver(client, events["completed"]).text == "no change"
    assert db.session.scalars(select(Dispute)).all() == [dispute]


def test_a_refund_of_a_session_of_another_app_is_acknowledged_and_nothing_recorded(client, world):
    events = card_refunded_and_disputed(world)
    # Another app on the same Stripe account: its session is on Stripe, not in our records.
    db.session.delete(world.session)
    db.session.flush()
    assert deliver(client, events["refunded"]).text == "not ours"
    assert db.session.scalars(select(Payment)).all() == []
    assert db.session.scalars(select(Refund)).all() == []


def test_a_refund_and_its_payment_delivered_at_once_record_both_once(committing_app):
    """PostgreSQL: both events lock the session's row; the second sees what the first did."""
    # Each delivery holds its locks while it reads Stripe.
    with slow_stripe(committing_app, 0.2) as fake:
        stripe_id, invoice_id = committed_checkout(committing_app)
        pay(fake, stripe_id)
        completed = fake.events[-1]
        intent = fake.objects[stripe_id]["payment_intent"]
        sdk(fake).v1.refunds.create({"payment_intent": intent, "amount": 5000})
        fake.wait_until_idle()
        answers = deliver_at_once(committing_app, [completed, fake.events[-1]])
    assert sorted(a.status_code for a in answers) == [200, 200]
    with committing_app.app_context():
        payment = db.session.scalars(select(Payment)).one()
        assert (payment.status, payment.amount) == (PaymentStatus.SUCCEEDED, Decimal("148.65"))
        assert [(r.amount, r.status) for r in payment.refunds] == [
            (Decimal("50.00"), RefundStatus.SUCCEEDED)
        ]
        due = ledger.balance(db.session.get(invoices.Invoice, invoice_id)).due
        assert due == Decimal("50.00")
