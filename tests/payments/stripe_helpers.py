"""The local Stripe fake in tests: served on a free loopback port, events delivered by hand."""

import json
import threading
from contextlib import contextmanager
from types import SimpleNamespace

import stripe
from sqlalchemy import select
from werkzeug.serving import make_server
from werkzeug.test import Client
from werkzeug.wrappers import Response

from coop.accounts.models import Role
from coop.extensions import db
from coop.payments.models import CheckoutSession
from coop.payments.stripe_fake import StripeFake
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
        "mode": "payment", "currency": "eur", "payment_method_types": ["card", "sepa_debit"],
        "line_items": [{"quantity": 1, "price_data": {
            "currency": "eur", "unit_amount": amount,
            "product_data": {"name": "Facture FA-2026-000001"}}}],
        "metadata": {"invoice_ids": "1", "member_id": "7"},
        "payment_intent_data": {"metadata": {"invoice_ids": "1", "member_id": "7"}},
        "success_url": "http://coop.test/payments/return?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://coop.test/payments/pay?cancelled=1",
    }  # fmt: skip
    params.update(changes)
    return sdk(fake).v1.checkout.sessions.create(params, {"idempotency_key": key}).to_dict()


def pay(fake, session_id: str, outcome: str = "card") -> Response:
    """Click a button of the fake's hosted page, then wait for the events it sends."""
    answer = Client(fake).post(f"/checkout/{session_id}", data={"outcome": outcome})
    fake.wait_until_idle()
    return answer


def apply(fake, session_id: str, event_type: str) -> dict:
    """What `coop stripe-fake send` asks: apply an event to a session; the event sent."""
    answer = Client(fake).post(f"/_fake/sessions/{session_id}/events",
                               data={"type": event_type}, headers=AUTH)  # fmt: skip
    assert answer.status_code == 200, answer.text
    return fake.events[-1]


@contextmanager
def stripe_online(app, monkeypatch):
    """Online payment on, through a fake that keeps its events for the test to deliver."""
    with running_fake() as fake:
        for name, value in (("COOP_STRIPE_SECRET_KEY", SECRET_KEY),
                            ("COOP_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
                            ("COOP_STRIPE_API_BASE", fake.public_url)):  # fmt: skip
            monkeypatch.setitem(app.config, name, value)
        yield fake


def deliver(client, event: dict, *, secret=WEBHOOK_SECRET, timestamp=None, payload=None):
    """POST `event` as Stripe does: the raw JSON and its `Stripe-Signature` header."""
    body = payload if payload is not None else json.dumps(event)
    signature = stripe.WebhookSignature.generate_signature_header(
        json.dumps(event), secret, timestamp
    )
    return client.post("/stripe/webhook", data=body, content_type="application/json",
                       headers={"Stripe-Signature": signature})  # fmt: skip


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
