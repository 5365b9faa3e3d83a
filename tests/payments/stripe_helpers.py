"""The local Stripe fake in tests: served on a free loopback port, events delivered by hand."""

import json
import threading
import time
from contextlib import contextmanager
from types import SimpleNamespace

import stripe
from sqlalchemy import select
from werkzeug.serving import make_server
from werkzeug.test import Client
from werkzeug.wrappers import Response

from coop.accounts.models import Role
from coop.extensions import db
from coop.payments import checkout
from coop.payments.models import CheckoutSession
from devtools.stripe_fake import StripeFake
from tests import factories
from tests.invoicing import factories as invoices

SECRET_KEY = "sk_test_coop"
WEBHOOK_SECRET = "whsec_test_coop"
AUTH = {"Authorization": f"Bearer {SECRET_KEY}"}


@contextmanager
def serving(app):
    """Serve a WSGI app on a free loopback port from a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@contextmanager
def running_fake(webhook_url=None, **options):
    """A fake on loopback, sending its events at once (or keeping them when no webhook URL)."""
    options.setdefault("webhook_delay", 0)
    options.setdefault("sepa_delay", None)
    fake = StripeFake(webhook_url=webhook_url, webhook_secret=WEBHOOK_SECRET, **options)
    with serving(fake) as url:
        fake.public_url = url
        yield fake


def sdk(fake) -> stripe.StripeClient:
    return stripe.StripeClient(SECRET_KEY, base_addresses={"api": fake.public_url})


def new_session(fake, key="key-1", amount=14865, **changes):
    params = {
        "mode": "payment",
        "currency": "eur",
        "payment_method_types": ["card", "sepa_debit"],
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": "eur",
                    "unit_amount": amount,
                    "product_data": {"name": "Facture FA-2026-000001"},
                },
            }
        ],
        "metadata": {"invoice_ids": "1", "member_id": "7"},
        "payment_intent_data": {"metadata": {"invoice_ids": "1", "member_id": "7"}},
        "success_url": "http://coop.test/payments/return?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://coop.test/payments/pay?cancelled=1",
    }
    params.update(changes)
    return sdk(fake).v1.checkout.sessions.create(params, {"idempotency_key": key}).to_dict()


def pay(fake, session_id: str, outcome: str = "card") -> Response:
    """Click a button of the fake's hosted page, then wait for the events it sends."""
    answer = Client(fake).post(f"/checkout/{session_id}", data={"outcome": outcome})
    fake.wait_until_idle()
    return answer


def apply(fake, session_id: str, event_type: str) -> dict:
    """What `coop-devtools stripe-fake send` asks: apply an event to a session; the event sent."""
    answer = Client(fake).post(
        f"/_fake/sessions/{session_id}/events", data={"type": event_type}, headers=AUTH
    )
    assert answer.status_code == 200, answer.text
    return fake.events[-1]


@contextmanager
def stripe_online(app, monkeypatch):
    """Online payment on, through a fake that keeps its events for the test to deliver."""
    with running_fake() as fake:
        for name, value in (
            ("COOP_STRIPE_SECRET_KEY", SECRET_KEY),
            ("COOP_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
            ("COOP_STRIPE_API_BASE", fake.public_url),
        ):
            monkeypatch.setitem(app.config, name, value)
        yield fake


def deliver(client, event: dict, *, secret=WEBHOOK_SECRET, timestamp=None, payload=None):
    """POST `event` as Stripe does: the raw JSON and its `Stripe-Signature` header."""
    body = payload if payload is not None else json.dumps(event)
    signature = stripe.WebhookSignature.generate_signature_header(
        json.dumps(event), secret, timestamp
    )
    return client.post(
        "/stripe/webhook",
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": signature},
    )


def deliver_text(client, text: str):
    """POST any body, validly signed: what Stripe's key would sign, however it is shaped."""
    signature = stripe.WebhookSignature.generate_signature_header(text, WEBHOOK_SECRET)
    return client.post(
        "/stripe/webhook",
        data=text.encode(),
        content_type="application/json",
        headers={"Stripe-Signature": signature},
    )


def shop_paying_two_invoices(client, make, fake) -> SimpleNamespace:
    """A shop with two invoices whose user asked to pay both online."""
    member = make.member()
    campaign = make.campaign()
    pair = [invoices.invoice(member, campaign), invoices.invoice(member, campaign)]
    client.login_as(make.user(Role.MEMBER, member=member))
    client.post("/payments/pay", data={"invoice": [i.id for i in pair]})
    session = db.session.scalars(select(CheckoutSession)).one()
    return SimpleNamespace(member=member, invoices=pair, session=session, fake=fake)


# --- PostgreSQL tests across threads (the `committing_app` fixture) ------------------------------


@contextmanager
def slow_stripe(app, delay: float):
    """A fake answering each call `delay` seconds late, so a delivery holds its locks meanwhile."""
    fake = StripeFake(
        webhook_url=None, webhook_secret=WEBHOOK_SECRET, webhook_delay=0, sepa_delay=None
    )

    def late(environ, start_response):
        time.sleep(delay)
        return fake(environ, start_response)

    with serving(late) as url:
        fake.public_url = url
        app.config.update(
            COOP_STRIPE_SECRET_KEY=SECRET_KEY,
            COOP_STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            COOP_STRIPE_API_BASE=url,
        )
        yield fake


def committed_checkout(app) -> tuple[str, int]:
    """A shop's invoice and the Checkout Session paying it, committed: their Stripe id and id."""
    with app.app_context():
        member = factories.member()
        invoice = invoices.invoice(member, factories.campaign())
        session = checkout.start_checkout(
            member,
            [invoice.id],
            by=factories.user(Role.MEMBER, member=member),
            success_url="http://coop.test/{CHECKOUT_SESSION_ID}",
            cancel_url="http://coop.test",
        )
        db.session.commit()
        stripe_id, invoice_id = session.stripe_id, invoice.id
        db.session.remove()
    return stripe_id, invoice_id


def deliver_at_once(app, events: list[dict]) -> list:
    """Deliver `events` from as many threads, all at the same moment; the answers."""
    start, answers = threading.Barrier(len(events)), []

    def deliver_now(event):
        client = app.test_client()
        start.wait(timeout=10)
        answers.append(deliver(client, event))

    threads = [threading.Thread(target=deliver_now, args=(event,)) for event in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers
