"""The local Stripe fake: the SDK really talks HTTP to it, and its events are signed."""

import json

import pytest
import stripe
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from coop import config
from devtools.cli import main as devtools
from devtools.stripe_fake import decode_form
from tests.payments.stripe_helpers import (
    SECRET_KEY,
    WEBHOOK_SECRET,
    apply,
    new_session,
    pay,
    running_fake,
    sdk,
    serving,
)


@pytest.fixture
def fake():
    with running_fake() as running:
        yield running


def test_stripe_form_encoding_is_decoded_into_nested_values():
    pairs = [
        ("line_items[0][price_data][unit_amount]", "100"),
        ("line_items[1][quantity]", "2"),
        ("payment_method_types[0]", "card"),
        ("payment_method_types[1]", "sepa_debit"),
        ("metadata[invoice_ids]", "1,2"),
        ("expand[]", "a"),
        ("expand[]", "b.c"),
    ]
    assert decode_form(pairs) == {
        "line_items": [{"price_data": {"unit_amount": "100"}}, {"quantity": "2"}],
        "payment_method_types": ["card", "sepa_debit"],
        "metadata": {"invoice_ids": "1,2"},
        "expand": ["a", "b.c"],
    }


def test_the_sdk_creates_and_reads_back_a_checkout_session(fake):
    session = new_session(fake)
    assert session["id"].startswith("cs_test_")
    assert (session["status"], session["payment_status"]) == ("open", "unpaid")
    assert session["amount_total"] == 14865
    assert session["url"] == f"{fake.public_url}/checkout/{session['id']}"
    assert session["metadata"] == {"invoice_ids": "1", "member_id": "7"}
    assert sdk(fake).v1.checkout.sessions.retrieve(session["id"]).to_dict() == session


def test_the_same_idempotency_key_gives_the_same_session_and_other_parameters_are_refused(fake):
    first = new_session(fake, key="same")
    assert new_session(fake, key="same")["id"] == first["id"]
    assert new_session(fake, key="other")["id"] != first["id"]
    with pytest.raises(stripe.IdempotencyError):
        new_session(fake, key="same", amount=100)


def test_the_fake_refuses_requests_without_a_test_key(fake):
    live = stripe.StripeClient("sk_live_x", base_addresses={"api": fake.public_url})
    with pytest.raises(stripe.AuthenticationError):
        live.v1.checkout.sessions.retrieve("cs_test_x")
    with pytest.raises(stripe.InvalidRequestError, match="No such object"):
        sdk(fake).v1.checkout.sessions.retrieve("cs_test_missing")


def test_the_hosted_page_offers_card_sepa_and_failure(fake):
    session = new_session(fake)
    page = Client(fake).get(f"/checkout/{session['id']}").text
    for text in (
        "Paiement de test",
        "Payer par carte",
        "Payer par prélèvement SEPA",
        "Échec",
        "Facture FA-2026-000001",
        "148,65",
    ):
        assert text in page


def test_a_card_payment_completes_the_session_with_a_fee_and_returns_to_the_app(fake):
    session = new_session(fake)
    answer = pay(fake, session["id"])
    assert answer.status_code == 303
    assert answer.location == f"http://coop.test/payments/return?session_id={session['id']}"
    found = sdk(fake).v1.checkout.sessions.retrieve(session["id"]).to_dict()
    assert (found["status"], found["payment_status"]) == ("complete", "paid")
    expand = {"expand": ["latest_charge.balance_transaction"]}
    intent = sdk(fake).v1.payment_intents.retrieve(found["payment_intent"], expand).to_dict()
    assert intent["status"] == "succeeded"
    assert intent["metadata"] == {"invoice_ids": "1", "member_id": "7"}
    charge = intent["latest_charge"]
    assert charge["payment_method_details"]["type"] == "card"
    # 1.5 % of 148.65 EUR is 2.229..., rounded to 2.23, plus 0.25.
    assert charge["balance_transaction"]["fee"] == 248
    assert [e["type"] for e in fake.events] == ["checkout.session.completed"]
    assert fake.events[0]["data"]["object"]["payment_status"] == "paid"


def test_a_sepa_debit_is_processing_until_it_settles_or_fails(fake):
    debit, refused = new_session(fake, key="a"), new_session(fake, key="b")
    pay(fake, debit["id"], "sepa_debit")
    pay(fake, refused["id"], "sepa_failed")
    for session in (debit, refused):
        found = sdk(fake).v1.checkout.sessions.retrieve(session["id"]).to_dict()
        assert (found["status"], found["payment_status"]) == ("complete", "unpaid")
        intent = sdk(fake).v1.payment_intents.retrieve(found["payment_intent"]).to_dict()
        assert intent["status"] == "processing"
    apply(fake, debit["id"], "checkout.session.async_payment_succeeded")
    apply(fake, refused["id"], "checkout.session.async_payment_failed")
    settled = sdk(fake).v1.checkout.sessions.retrieve(debit["id"], {"expand": ["payment_intent"]})
    assert settled.to_dict()["payment_intent"]["status"] == "succeeded"
    assert settled.to_dict()["payment_status"] == "paid"
    failed = sdk(fake).v1.checkout.sessions.retrieve(refused["id"], {"expand": ["payment_intent"]})
    assert failed.to_dict()["payment_intent"]["status"] == "requires_payment_method"
    assert [e["type"] for e in fake.events][-2:] == [
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
    ]


def test_refunds_are_made_once_per_key_listed_and_announced(fake):
    session = new_session(fake)
    pay(fake, session["id"])
    intent = sdk(fake).v1.checkout.sessions.retrieve(session["id"]).to_dict()["payment_intent"]
    params = {"payment_intent": intent, "amount": 1000}
    refund = sdk(fake).v1.refunds.create(params, {"idempotency_key": "r1"}).to_dict()
    assert sdk(fake).v1.refunds.create(params, {"idempotency_key": "r1"}).to_dict() == refund
    assert (refund["amount"], refund["status"]) == (1000, "pending")
    fake.wait_until_idle()
    assert fake.events[-1]["type"] == "charge.refunded"
    listed = sdk(fake).v1.refunds.list({"charge": refund["charge"]}).to_dict()["data"]
    assert [(r["id"], r["status"]) for r in listed] == [(refund["id"], "succeeded")]
    with pytest.raises(stripe.InvalidRequestError, match="greater than the unrefunded"):
        sdk(fake).v1.refunds.create({"payment_intent": intent, "amount": 14000})


def test_a_payout_pays_the_balance_out_once_and_is_read_back_with_the_sdk(fake):
    first, second = new_session(fake, key="a"), new_session(fake, key="b", amount=10000)
    pay(fake, first["id"])
    pay(fake, second["id"])
    intent = sdk(fake).v1.checkout.sessions.retrieve(second["id"]).to_dict()["payment_intent"]
    sdk(fake).v1.refunds.create({"payment_intent": intent, "amount": 1000})
    fake.wait_until_idle()
    # 148,65 - 2,48 fee + 100,00 - 1,75 fee (1,5 % + 0,25) - 10,00 refunded = 234,42.
    event = fake.pay_out(1_796_000_000)
    assert event["type"] == "payout.paid"
    payout = sdk(fake).v1.payouts.retrieve(event["data"]["object"]["id"]).to_dict()
    assert payout == event["data"]["object"]
    assert (payout["amount"], payout["status"], payout["arrival_date"]) == (
        23442,
        "paid",
        1_796_000_000,
    )
    assert fake.pay_out(1_796_086_400)["data"]["object"]["amount"] == 0


def test_a_dispute_is_opened_on_the_session_s_charge(fake):
    session = new_session(fake)
    pay(fake, session["id"])
    event = apply(fake, session["id"], "charge.dispute.created")
    dispute = event["data"]["object"]
    assert (dispute["object"], dispute["amount"], dispute["status"]) == (
        "dispute",
        14865,
        "needs_response",
    )
    assert dispute["payment_intent"].startswith("pi_")


def test_events_are_posted_signed_to_the_webhook_url_and_retried_on_5xx():
    received, answers = [], iter([503, 200])

    @Request.application
    def webhook(request):
        received.append((request.get_data(as_text=True), request.headers["Stripe-Signature"]))
        return Response("", status=next(answers))

    with serving(webhook) as url, running_fake(webhook_url=url) as fake:
        session = new_session(fake)
        pay(fake, session["id"])
    assert len(received) == 2  # the 503 was retried
    payload, signature = received[-1]
    event = stripe.Webhook.construct_event(payload, signature, WEBHOOK_SECRET, tolerance=300)
    assert event["type"] == "checkout.session.completed"
    assert json.loads(payload)["data"]["object"]["id"] == session["id"]
    assert [d["outcome"] for d in fake.deliveries] == [503, 200]


def test_the_send_command_asks_the_running_fake(runner, app, fake, monkeypatch):
    monkeypatch.setitem(app.config, "COOP_STRIPE_API_BASE", fake.public_url)
    monkeypatch.setitem(app.config, "COOP_STRIPE_SECRET_KEY", SECRET_KEY)
    session = new_session(fake)
    pay(fake, session["id"], "sepa_debit")
    result = runner.invoke(
        devtools,
        args=[
            "stripe-fake",
            "send",
            "checkout.session.async_payment_succeeded",
            "--session",
            session["id"],
        ],
    )
    assert result.exit_code == 0, result.output
    assert "checkout.session.async_payment_succeeded sent; the app answered not sent" in (
        result.output
    )
    assert sdk(fake).v1.checkout.sessions.retrieve(session["id"]).to_dict()["payment_status"] == (
        "paid"
    )
    refused = runner.invoke(
        devtools, args=["stripe-fake", "send", "charge.refunded", "--session", "cs_x"]
    )
    assert refused.exit_code == 1
    assert "No such checkout.session" in refused.output


def test_serving_the_fake_needs_the_webhook_secret(runner, app, monkeypatch):
    monkeypatch.setitem(app.config, "COOP_STRIPE_WEBHOOK_SECRET", None)
    result = runner.invoke(devtools, args=["stripe-fake", "serve", "--port", "0"])
    assert result.exit_code == 1
    assert "COOP_STRIPE_WEBHOOK_SECRET is not set" in result.output


def test_the_demo_pays_through_the_local_fake_unless_told_otherwise(monkeypatch, tmp_path):
    for name in config.DEMO_STRIPE:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COOP_DEMO", "1")
    assert {k: config.load(tmp_path)[k] for k in config.DEMO_STRIPE} == config.DEMO_STRIPE
    monkeypatch.setenv("COOP_STRIPE_SECRET_KEY", "sk_test_real")
    settings = config.load(tmp_path)
    assert settings["COOP_STRIPE_SECRET_KEY"] == "sk_test_real"
    assert settings["COOP_STRIPE_API_BASE"] is None  # Stripe itself
    monkeypatch.delenv("COOP_DEMO")
    monkeypatch.delenv("COOP_STRIPE_SECRET_KEY")
    monkeypatch.setenv("COOP_SECRET_KEY", "s3cret")
    assert config.load(tmp_path)["COOP_STRIPE_SECRET_KEY"] is None  # online payment off
