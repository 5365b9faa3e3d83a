"""Stripe's webhook: signed, applied once, in any order, and never lost on a failure."""

import json
import time
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from coop.accounts.models import Role
from coop.extensions import db
from coop.payments import ledger
from coop.payments.models import (
    Dispute,
    Method,
    Payment,
    PaymentAllocation,
    PaymentStatus,
    Refund,
    RefundStatus,
    StripeEvent,
)
from tests.invoicing import factories as invoices
from tests.payments.stripe_helpers import (
    apply,
    committed_checkout,
    deliver,
    deliver_at_once,
    deliver_text,
    pay,
    sdk,
    shop_paying_two_invoices,
    slow_stripe,
    stripe_online,
)

TWO = Decimal("297.30")  # two factory invoices of 148.65


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def states(world) -> list[str]:
    return [ledger.balance(invoice).state for invoice in world.invoices]


@pytest.fixture
def world(client, make, app, monkeypatch):
    with stripe_online(app, monkeypatch) as fake:
        yield shop_paying_two_invoices(client, make, fake)


def paid(world, outcome="card") -> dict:
    """The shop pays on Stripe's page; the `checkout.session.completed` event Stripe sends."""
    pay(world.fake, world.session.stripe_id, outcome)
    return world.fake.events[-1]


def only_payment() -> Payment:
    return db.session.scalars(select(Payment)).one()


def test_a_card_payment_pays_both_invoices_and_keeps_stripe_s_fee(client, world):
    response = deliver(client, paid(world))
    assert (response.status_code, response.text) == (200, "payment recorded")
    payment = only_payment()
    assert (payment.method, payment.status, payment.amount) == (
        Method.CARD,
        PaymentStatus.SUCCEEDED,
        TWO,
    )
    assert payment.fees == Decimal("4.71")  # 1.5 % of 297.30 is 4.4595 -> 4.46, plus 0.25
    assert payment.stripe_payment_intent_id.startswith("pi_")
    assert payment.checkout_session == world.session
    assert states(world) == ["paid", "paid"]
    assert (world.session.status, world.session.payment_status) == ("complete", "paid")
    assert db.session.get(StripeEvent, world.fake.events[-1]["id"]) is not None


def test_a_bad_signature_is_refused_and_nothing_is_applied(client, world):
    event = paid(world)
    assert deliver(client, event, secret="whsec_someone_else").status_code == 400
    tampered = json.dumps(event).replace('"paid"', '"unpaid"')
    assert deliver(client, event, payload=tampered).status_code == 400
    unsigned = client.post(
        "/stripe/webhook", data=json.dumps(event), content_type="application/json"
    )
    assert unsigned.status_code == 400
    assert count(StripeEvent) == count(Payment) == 0
    assert states(world) == ["open", "open"]


def test_without_a_webhook_secret_no_event_is_applied(client, world, app, monkeypatch, caplog):
    event = paid(world)
    monkeypatch.setitem(app.config, "COOP_STRIPE_WEBHOOK_SECRET", None)
    response = deliver(client, event)
    assert response.status_code == 503
    assert "COOP_STRIPE_WEBHOOK_SECRET is not set" in caplog.text
    assert count(StripeEvent) == count(Payment) == 0


def test_a_replayed_event_does_nothing_and_an_old_one_is_refused(client, world):
    event = paid(world)
    assert deliver(client, event).text == "payment recorded"
    again = deliver(client, event)
    assert (again.status_code, again.text) == (200, "already applied")
    captured_long_ago = deliver(client, event, timestamp=int(time.time()) - 301)
    assert captured_long_ago.status_code == 400
    assert count(Payment) == 1
    assert sum(a.amount for a in db.session.scalars(select(PaymentAllocation))) == TWO


def test_the_same_event_delivered_twice_pays_once(client, world):
    event = paid(world)
    answers = [deliver(client, event).text for _ in range(2)]
    assert answers == ["payment recorded", "already applied"]
    assert count(Payment) == 1
    assert ledger.member_credit(world.member) == Decimal("0.00")
    assert states(world) == ["paid", "paid"]


def test_events_we_do_not_handle_are_acknowledged(client, world):
    response = deliver(
        client,
        {
            "id": "evt_1",
            "object": "event",
            "type": "customer.created",
            "data": {"object": {"id": "cus_1"}},
        },
    )
    assert (response.status_code, response.text) == (200, "ignored")
    assert count(StripeEvent) == 0


def test_a_session_that_is_not_ours_is_acknowledged_once(client, world):
    event = paid(world)
    event["data"]["object"]["id"] = "cs_test_of_another_app"
    assert deliver(client, event).text == "not ours"
    assert deliver(client, event).text == "already applied"
    assert count(Payment) == 0


# --- signed, but not an event we can read: 400, logged, nothing written ------------------------


def _without(mapping: dict, key: str) -> dict:
    return {k: v for k, v in mapping.items() if k != key}


def _carrying(event: dict, obj) -> dict:
    return dict(event, data={"object": obj})


MALFORMED = {
    "a JSON array": lambda e: json.dumps([e]),
    "a JSON string": lambda e: json.dumps(e["id"]),
    "not JSON at all": lambda e: "{" + json.dumps(e),
    "no id": lambda e: json.dumps(_without(e, "id")),
    "an id that is a number": lambda e: json.dumps(dict(e, id=12)),
    "no type": lambda e: json.dumps(_without(e, "type")),
    "no data": lambda e: json.dumps(_without(e, "data")),
    "no data.object": lambda e: json.dumps(dict(e, data={})),
    "data.object is a list": lambda e: json.dumps(_carrying(e, [e["data"]["object"]])),
    "data.object is a charge": lambda e: json.dumps(
        _carrying(e, dict(e["data"]["object"], object="charge"))
    ),
    "data.object has no id": lambda e: json.dumps(
        _carrying(e, _without(e["data"]["object"], "id"))
    ),
    "data.object's id is 300 characters long": lambda e: json.dumps(
        _carrying(e, dict(e["data"]["object"], id="cs_" + "x" * 297))
    ),
    "a refunded charge without its payment intent": lambda e: json.dumps(
        dict(e, type="charge.refunded", data={"object": {"id": "ch_1", "object": "charge"}})
    ),
    "a dispute whose payment intent is a number": lambda e: json.dumps(
        dict(
            e,
            type="charge.dispute.created",
            data={"object": {"id": "dp_1", "object": "dispute", "payment_intent": 7}},
        )
    ),
}


@pytest.mark.parametrize("shape", MALFORMED)
def test_a_signed_event_that_cannot_be_read_is_refused_and_writes_nothing(
    client, world, shape, caplog
):
    event = paid(world)
    response = deliver_text(client, MALFORMED[shape](event))
    assert (response.status_code, response.text) == (400, "malformed event")
    assert count(StripeEvent) == count(Payment) == 0
    assert states(world) == ["open", "open"]
    assert "refused" in caplog.text
    # Stripe's good copy of the event, sent again, is applied as usual.
    assert deliver(client, event).text == "payment recorded"


def test_a_malformed_event_is_logged_with_its_id(client, world, caplog):
    event = dict(paid(world), data={})
    response = deliver(client, event)
    assert (response.status_code, response.text) == (400, "malformed event")
    assert f"Stripe event {event['id']} refused: the event has no data.object" in caplog.text
    assert count(StripeEvent) == 0


def test_a_malformed_event_without_an_id_is_logged_as_such(client, world, caplog):
    response = deliver_text(client, json.dumps([paid(world)]))
    assert (response.status_code, response.text) == (400, "malformed event")
    assert "Stripe event (no id) refused: the event is not a JSON object" in caplog.text


def test_an_event_of_a_type_we_ignore_need_not_carry_an_object(client, world):
    response = deliver(client, {"id": "evt_1", "object": "event", "type": "customer.created"})
    assert (response.status_code, response.text) == (200, "ignored")
    assert count(StripeEvent) == 0


# --- SEPA Direct Debit: settled days later, in any order -----------------------------------------


def test_a_sepa_debit_is_pending_until_it_settles(client, world):
    deliver(client, paid(world, "sepa_debit"))
    payment = only_payment()
    assert (payment.method, payment.status, payment.fees) == (
        Method.SEPA_DEBIT,
        PaymentStatus.PENDING,
        Decimal("0.00"),
    )
    assert states(world) == ["pending", "pending"]
    assert payment.allocations == []
    settled = apply(world.fake, world.session.stripe_id, "checkout.session.async_payment_succeeded")
    assert deliver(client, settled).text == "payment settled"
    assert (payment.status, payment.fees) == (PaymentStatus.SUCCEEDED, Decimal("0.35"))
    assert states(world) == ["paid", "paid"]


def test_async_payment_succeeded_before_completed_pays_once(client, world):
    completed = paid(world, "sepa_debit")
    settled = apply(world.fake, world.session.stripe_id, "checkout.session.async_payment_succeeded")
    assert deliver(client, settled).text == "payment recorded"
    payment = only_payment()
    assert (payment.method, payment.status) == (Method.SEPA_DEBIT, PaymentStatus.SUCCEEDED)
    # The late `completed` still says "unpaid" in its copy; the session read again says paid.
    assert completed["data"]["object"]["payment_status"] == "unpaid"
    assert deliver(client, completed).text == "no change"
    assert count(Payment) == 1
    assert payment.status is PaymentStatus.SUCCEEDED
    assert states(world) == ["paid", "paid"]


def test_a_sepa_debit_that_fails_after_pending_leaves_the_invoices_to_pay(client, world):
    assert deliver(client, paid(world, "sepa_debit")).text == "pending payment recorded"
    failed = apply(world.fake, world.session.stripe_id, "checkout.session.async_payment_failed")
    assert deliver(client, failed).text == "payment failed"
    assert only_payment().status is PaymentStatus.FAILED
    assert states(world) == ["open", "open"]
    page = client.get(f"/payments/return?session_id={world.session.stripe_id}").text
    assert "n'a pas abouti" in page


# --- refunds and disputes ------------------------------------------------------------------------


def test_a_refund_made_on_stripe_is_recorded_once(client, world):
    deliver(client, paid(world))
    payment = only_payment()
    params = {"payment_intent": payment.stripe_payment_intent_id, "amount": 5000}
    made = sdk(world.fake).v1.refunds.create(params).to_dict()
    world.fake.wait_until_idle()
    refunded = world.fake.events[-1]
    assert refunded["type"] == "charge.refunded"
    assert deliver(client, refunded).text == "1 refund(s) in step"
    assert deliver(client, refunded).text == "already applied"
    refund = db.session.scalars(select(Refund)).one()
    assert (refund.stripe_refund_id, refund.amount, refund.status) == (
        made["id"],
        Decimal("50.00"),
        RefundStatus.SUCCEEDED,
    )
    # The money went back: the last invoice it settled owes that part again.
    assert [ledger.balance(i).due for i in world.invoices] == [Decimal("0.00"), Decimal("50.00")]


def test_a_dispute_is_recorded_against_its_payment(client, world, caplog, make):
    deliver(client, paid(world))
    opened = apply(world.fake, world.session.stripe_id, "charge.dispute.created")
    assert deliver(client, opened).text == "dispute recorded"
    assert deliver(client, opened).text == "already applied"
    dispute = db.session.scalars(select(Dispute)).one()
    assert (dispute.payment, dispute.amount, dispute.reason, dispute.status) == (
        only_payment(),
        TWO,
        "fraudulent",
        "needs_response",
    )
    assert only_payment().disputes == [dispute]
    assert f"Stripe dispute {dispute.stripe_dispute_id}" in caplog.text
    # The treasurer's ledger flags the contested payment.
    client.login_as(make.user(Role.TREASURER))
    page = client.get("/payments").text.replace("\u202f", " ").replace("\xa0", " ")
    assert "Contesté : " in page and "fraudulent" in page


# --- failures: Stripe sends the event again later -----------------------------------------------


def test_a_database_error_mid_event_records_nothing_and_the_retry_pays_once(
    client, world, monkeypatch
):
    event = paid(world)
    settle, failures = ledger.settle, []

    def settle_once_the_database_is_back(member):
        if not failures:
            failures.append(member)
            raise OperationalError("SELECT ...", {}, Exception("server closed the connection"))
        settle(member)

    monkeypatch.setattr(ledger, "settle", settle_once_the_database_is_back)
    first = deliver(client, event)
    assert first.status_code == 503
    assert failures  # it failed after the payment row was written...
    assert count(StripeEvent) == count(Payment) == count(PaymentAllocation) == 0  # ...rolled back
    assert states(world) == ["open", "open"]
    assert deliver(client, event).text == "payment recorded"  # Stripe's retry
    assert deliver(client, event).text == "already applied"
    assert count(Payment) == 1
    assert sum(a.amount for a in db.session.scalars(select(PaymentAllocation))) == TWO
    assert states(world) == ["paid", "paid"]


def test_when_stripe_cannot_be_read_again_the_event_waits_for_its_retry(
    client, world, app, monkeypatch
):
    event = paid(world)
    monkeypatch.setitem(app.config, "COOP_STRIPE_API_BASE", "http://127.0.0.1:9")  # nobody
    monkeypatch.setattr("coop.payments.stripe_client.RETRIES", 0)
    assert deliver(client, event).status_code == 503
    assert count(StripeEvent) == count(Payment) == 0


def test_two_deliveries_of_one_event_at_once_pay_once(committing_app):
    """PostgreSQL: the second insert of the event id waits for the first, then fails on it."""
    # The first delivery holds its event row while it reads Stripe.
    with slow_stripe(committing_app, 0.3) as fake:
        stripe_id, invoice_id = committed_checkout(committing_app)
        pay(fake, stripe_id)
        answers = deliver_at_once(committing_app, [fake.events[-1]] * 2)
    assert sorted((a.status_code, a.text) for a in answers) == [
        (200, "already applied"),
        (200, "payment recorded"),
    ]
    with committing_app.app_context():
        assert count(Payment) == 1
        assert count(StripeEvent) == 1
        assert ledger.balance(db.session.get(invoices.Invoice, invoice_id)).state == "paid"
