"""Money Stripe moved that does not fit the session or the payment: an anomaly, never a payment."""

import html
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from coop.accounts.models import Role
from coop.clock import today
from coop.extensions import db
from coop.payments import ledger
from coop.payments.models import (
    AnomalyKind,
    Dispute,
    Payment,
    PaymentAnomaly,
    PaymentStatus,
    Refund,
)
from tests.payments.stripe_helpers import (
    apply,
    deliver,
    pay,
    sdk,
    shop_paying_two_invoices,
    stripe_online,
)

TWO = Decimal("297.30")  # two factory invoices of 148.65


@pytest.fixture
def world(client, make, app, monkeypatch):
    with stripe_online(app, monkeypatch) as fake:
        yield shop_paying_two_invoices(client, make, fake)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def states(world) -> list[str]:
    return [ledger.balance(invoice).state for invoice in world.invoices]


def paid(world, **intent_changes) -> dict:
    """The shop pays by card; Stripe's intent as changed; the `completed` event it sends."""
    pay(world.fake, world.session.stripe_id)
    world.fake.objects[intent_id(world)].update(intent_changes)
    return world.fake.events[-1]


def intent_id(world) -> str:
    return world.fake.objects[world.session.stripe_id]["payment_intent"]


def refunded(world, cents: int, **refund_changes) -> dict:
    made = sdk(world.fake).v1.refunds.create({"payment_intent": intent_id(world), "amount": cents})
    world.fake.objects[made["id"]].update(refund_changes)
    world.fake.wait_until_idle()
    return world.fake.events[-1]


def anomalies() -> list[tuple]:
    rows = db.session.scalars(select(PaymentAnomaly).order_by(PaymentAnomaly.id))
    return [(a.kind, a.amount_minor, a.currency, a.expected) for a in rows]


def page_text(client, path: str) -> str:
    text = html.unescape(client.get(path).text)
    return text.replace("\u202f", " ").replace("\xa0", " ")


def test_a_payment_in_dollars_on_a_euro_session_is_an_anomaly_not_a_payment(client, world, make):
    completed = paid(world, currency="usd", amount=100)
    response = deliver(client, completed)
    assert (response.status_code, response.text) == (200, "payment set aside")
    assert count(Payment) == 0
    assert states(world) == ["open", "open"]
    assert anomalies() == [(AnomalyKind.PAYMENT_CURRENCY, 100, "usd", TWO)]
    anomaly = db.session.scalars(select(PaymentAnomaly)).one()
    assert (anomaly.stripe_id, anomaly.member, anomaly.checkout_session, anomaly.payment) == (
        intent_id(world),
        world.member,
        world.session,
        None,
    )
    # Stripe sends the session's event again: one anomaly still, and still no payment.
    again = apply(world.fake, world.session.stripe_id, "checkout.session.completed")
    assert deliver(client, again).text == "payment set aside"
    assert count(PaymentAnomaly) == 1
    assert count(Payment) == 0

    message = (
        f"Paiement Stripe {intent_id(world)} de 1,00 $US pour 297,30 € de factures en euros : "
        "reçu dans une autre devise, il n'est pas enregistré. Vérifiez-le sur Stripe et "
        "remboursez-le si besoin."
    )
    client.login_as(make.user(Role.TREASURER))
    assert message in page_text(client, "/payments")
    assert message in page_text(client, f"/payments/accounts/{world.member.id}")


def test_the_shop_does_not_see_the_treasurer_s_anomalies(client, world, make):
    deliver(client, paid(world, currency="usd", amount=100))
    page = page_text(client, f"/payments/accounts/{world.member.id}")
    assert "Anomalies Stripe" not in page
    assert intent_id(world) not in page


def test_a_payment_of_another_amount_than_its_session_is_an_anomaly(client, world, make):
    response = deliver(client, paid(world, amount=100))
    assert (response.status_code, response.text) == (200, "payment set aside")
    assert count(Payment) == 0
    assert states(world) == ["open", "open"]
    assert anomalies() == [(AnomalyKind.PAYMENT_AMOUNT, 100, "eur", TWO)]
    client.login_as(make.user(Role.TREASURER))
    assert (
        f"Paiement Stripe {intent_id(world)} de 1,00 € pour 297,30 € de factures : le montant "
        "diffère, il n'est pas enregistré. Vérifiez-le sur Stripe."
    ) in page_text(client, "/payments")


def test_a_refund_in_another_currency_is_an_anomaly_and_the_invoices_stay_paid(client, world):
    deliver(client, paid(world))
    event = refunded(world, 5000, currency="usd")
    response = deliver(client, event)
    assert (response.status_code, response.text) == (200, "1 refund(s) in step")
    assert count(Refund) == 0
    assert anomalies() == [(AnomalyKind.REFUND_CURRENCY, 5000, "usd", None)]
    assert (
        db.session.scalars(select(PaymentAnomaly)).one().payment
        == db.session.scalars(select(Payment)).one()
    )
    assert states(world) == ["paid", "paid"]


def test_a_refund_larger_than_what_the_payment_has_left_is_an_anomaly_not_a_retry(
    client, world, make
):
    deliver(client, paid(world))
    payment = db.session.scalars(select(Payment)).one()
    # 250 € were already paid back by transfer: 47,30 € are left to refund.
    ledger.record_refund(payment, Decimal("250.00"), on=today())
    response = deliver(client, refunded(world, 5000))
    assert (response.status_code, response.text) == (200, "1 refund(s) in step")
    assert [r.amount for r in payment.refunds] == [Decimal("250.00")]
    assert anomalies() == [(AnomalyKind.REFUND_TOO_LARGE, 5000, "eur", Decimal("47.30"))]
    client.login_as(make.user(Role.TREASURER))
    refund_id = db.session.scalars(select(PaymentAnomaly)).one().stripe_id
    assert (
        f"Remboursement Stripe {refund_id} de 50,00 € : plus que les 47,30 € encore "
        "remboursables sur ce paiement, il n'est pas enregistré. Vérifiez-le sur Stripe."
    ) in page_text(client, "/payments")


def test_a_refund_and_a_dispute_of_a_payment_left_aside_are_anomalies_too(client, world, make):
    completed = paid(world, currency="usd")
    refund_event = refunded(world, 5000)
    dispute_event = apply(world.fake, world.session.stripe_id, "charge.dispute.created")
    # The refund comes first: the payment is read from Stripe, set aside, and so is the refund.
    assert deliver(client, refund_event).text == "payment set aside, 1 refund(s) in step"
    assert deliver(client, dispute_event).text == "payment set aside, dispute set aside"
    assert deliver(client, completed).text == "payment set aside"
    assert count(Payment) == count(Refund) == count(Dispute) == 0
    assert anomalies() == [
        (AnomalyKind.PAYMENT_CURRENCY, 29730, "usd", TWO),
        (AnomalyKind.REFUND_UNRECORDED, 5000, "eur", None),
        (AnomalyKind.DISPUTE_UNRECORDED, 29730, "eur", None),
    ]
    client.login_as(make.user(Role.TREASURER))
    page = page_text(client, "/payments")
    refund_id, dispute_id = (
        a.stripe_id
        for a in db.session.scalars(select(PaymentAnomaly).order_by(PaymentAnomaly.id)).all()[1:]
    )
    assert (
        f"Remboursement Stripe {refund_id} de 50,00 € d'un paiement non enregistré (voir "
        "l'anomalie de ce paiement) : vérifiez-le sur Stripe."
    ) in page
    assert (
        f"Litige Stripe {dispute_id} de 297,30 € sur un paiement non enregistré (voir "
        "l'anomalie de ce paiement) : répondez-y sur Stripe."
    ) in page


def test_a_dispute_in_another_currency_is_an_anomaly(client, world):
    deliver(client, paid(world))
    event = apply(world.fake, world.session.stripe_id, "charge.dispute.created")
    world.fake.objects[event["data"]["object"]["id"]]["currency"] = "gbp"
    assert deliver(client, event).text == "dispute set aside"
    assert count(Dispute) == 0
    assert anomalies() == [(AnomalyKind.DISPUTE_CURRENCY, 29730, "gbp", None)]
    payment = db.session.scalars(select(Payment)).one()
    assert payment.status is PaymentStatus.SUCCEEDED
