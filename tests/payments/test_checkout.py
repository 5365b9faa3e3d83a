"""A shop pays some of its invoices through Stripe Checkout; it comes back to our own records."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from coop.accounts.models import Role
from coop.extensions import db
from coop.payments import checkout, ledger
from coop.payments.models import CheckoutSession, Method, PaymentStatus
from tests.invoicing import factories as invoices
from tests.payments.stripe_helpers import SECRET_KEY, pay, sdk, stripe_online

TOTAL = Decimal("148.65")


@pytest.fixture
def stripe_on(app, monkeypatch):
    with stripe_online(app, monkeypatch) as fake:
        yield fake


@pytest.fixture
def shop(make):
    member = make.member()
    return member, make.user(Role.MEMBER, member=member)


@pytest.fixture
def campaign(make):
    return make.campaign()


def sessions_count() -> int:
    return db.session.scalar(select(func.count()).select_from(CheckoutSession))


def start(client, *invoice_list):
    return client.post("/payments/pay", data={"invoice": [i.id for i in invoice_list]})


def only_session() -> CheckoutSession:
    return db.session.scalars(select(CheckoutSession)).one()


def test_the_pay_page_lists_what_the_shop_still_owes_and_nothing_of_other_shops(
    client, make, shop, campaign, stripe_on
):
    member, user = shop
    partly, whole, paid = (invoices.invoice(member, campaign) for _ in range(3))
    ledger.record_payment(
        member,
        Decimal("100.00"),
        method=Method.TRANSFER,
        received_on=date(2026, 12, 10),
        invoices=[partly],
    )
    ledger.record_payment(
        member, TOTAL, method=Method.CHEQUE, received_on=date(2026, 12, 10), invoices=[paid]
    )
    other = invoices.invoice(make.member(), campaign)
    db.session.commit()
    client.login_as(user)
    page = client.get("/payments/pay").text.replace("\u202f", " ").replace("\xa0", " ")
    assert partly.number in page and whole.number in page
    assert paid.number not in page and other.number not in page
    assert "48,65 €" in page  # what the partly paid invoice still owes
    assert "197,30 €" in page  # the total still due, and preselected
    assert page.count('name="invoice"') == 2
    assert "Payer en ligne" in page


def test_paying_two_invoices_makes_one_checkout_session_and_goes_to_stripe(
    client, shop, campaign, stripe_on
):
    member, user = shop
    first, second = invoices.invoice(member, campaign), invoices.invoice(member, campaign)
    ledger.record_payment(
        member,
        Decimal("48.65"),
        method=Method.TRANSFER,
        received_on=date(2026, 12, 10),
        invoices=[second],
    )
    db.session.commit()
    client.login_as(user)
    response = start(client, second, first)
    row = only_session()
    assert response.status_code == 303
    assert response.location == row.url == f"{stripe_on.public_url}/checkout/{row.stripe_id}"
    assert row.member == member and row.invoices == [first, second]
    assert row.amount == Decimal("248.65")
    assert (row.status, row.payment_status) == ("open", "unpaid")
    sent = sdk(stripe_on).v1.checkout.sessions.retrieve(row.stripe_id).to_dict()
    assert sent["mode"] == "payment" and sent["currency"] == "eur"
    assert sent["payment_method_types"] == ["card", "sepa_debit"]
    assert sent["amount_total"] == 24865
    assert [(i["description"], i["amount_total"]) for i in stripe_on.line_items[row.stripe_id]] == [
        (f"Facture {first.number}", 14865),
        (f"Facture {second.number}", 10000),
    ]
    assert sent["metadata"] == {
        "member_id": str(member.id),
        "member_code": member.code,
        "invoice_ids": f"{first.id},{second.id}",
        "invoice_numbers": f"{first.number},{second.number}",
    }
    assert sent["client_reference_id"] == f"member-{member.id}"
    assert sent["success_url"] == (
        "http://coop.test/payments/return?session_id={CHECKOUT_SESSION_ID}"
    )
    assert sent["cancel_url"] == "http://coop.test/payments/pay?cancelled=1"


def test_the_idempotency_key_depends_on_the_shop_the_invoices_and_what_they_owe():
    key = checkout.idempotency_key(7, {3: 14865, 2: 10000})
    assert key == checkout.idempotency_key(7, {2: 10000, 3: 14865})
    assert key.startswith("coop-checkout-") and len(key) <= 255
    assert key != checkout.idempotency_key(8, {2: 10000, 3: 14865})
    assert key != checkout.idempotency_key(7, {2: 10000})
    assert key != checkout.idempotency_key(7, {2: 9999, 3: 14865})


def test_paying_the_same_invoices_twice_gets_the_same_session_until_what_is_due_changes(
    client, shop, campaign, stripe_on
):
    member, user = shop
    invoice = invoices.invoice(member, campaign)
    client.login_as(user)
    first = start(client, invoice).location
    assert start(client, invoice).location == first  # a double click: one session
    assert sessions_count() == 1
    assert len([o for o in stripe_on.objects.values() if o["object"] == "checkout.session"]) == 1
    ledger.record_payment(
        member,
        Decimal("50.00"),
        method=Method.TRANSFER,
        received_on=date(2026, 12, 10),
        invoices=[invoice],
    )
    db.session.commit()
    assert start(client, invoice).location != first
    assert sessions_count() == 2


def test_a_shop_cannot_pay_another_shop_s_invoice(client, make, shop, campaign, stripe_on):
    member, user = shop
    own = invoices.invoice(member, campaign)
    other = invoices.invoice(make.member(), campaign)
    client.login_as(user)
    assert start(client, own, other).status_code == 403
    assert start(client, other).status_code == 403
    assert sessions_count() == 0
    assert stripe_on.objects == {}  # Stripe was never asked


def test_a_paid_or_pending_invoice_cannot_be_paid_again(client, shop, campaign, stripe_on):
    member, user = shop
    paid, pending = invoices.invoice(member, campaign), invoices.invoice(member, campaign)
    ledger.record_payment(
        member, TOTAL, method=Method.TRANSFER, received_on=date(2026, 12, 10), invoices=[paid]
    )
    db.session.commit()
    client.login_as(user)
    start(client, pending)
    pay(stripe_on, only_session().stripe_id, "sepa_debit")
    ledger.record_payment(
        member,
        TOTAL,
        method=Method.SEPA_DEBIT,
        received_on=date(2026, 12, 10),
        status=PaymentStatus.PENDING,
        checkout_session=only_session(),
        stripe_payment_intent_id="pi_x",
    )
    db.session.commit()
    page = client.get("/payments/pay").text
    assert "Paiement en cours" in page and page.count('name="invoice"') == 0
    response = start(client, paid)
    assert response.status_code == 302
    assert "n&#39;a plus rien à payer" in client.get(response.location).text
    assert "a déjà un paiement en cours" in client.get(start(client, pending).location).text
    assert "Cochez au moins une facture" in client.get(start(client).location).text
    assert sessions_count() == 1


def test_without_a_secret_key_online_payment_is_not_offered(client, shop, campaign):
    member, user = shop
    invoice = invoices.invoice(member, campaign)
    client.login_as(user)
    page = client.get("/payments/pay").text
    assert "Le paiement en ligne n'est pas proposé" in page
    assert invoice.number in page and 'name="invoice"' not in page
    assert "Payer en ligne</button>" not in page
    assert "/payments/pay" not in client.get("/invoices").text
    assert "/payments/pay" not in client.get(f"/invoices/{invoice.number}").text
    refused = start(client, invoice)
    assert "Le paiement en ligne n&#39;est pas activé" in client.get(refused.location).text
    assert sessions_count() == 0


def test_the_invoice_pages_link_to_paying_online(client, shop, campaign, stripe_on):
    member, user = shop
    invoice = invoices.invoice(member, campaign)
    client.login_as(user)
    assert 'href="/payments/pay"' in client.get("/invoices").text
    assert f'href="/payments/pay?invoice={invoice.id}"' in (
        client.get(f"/invoices/{invoice.number}").text
    )
    chosen = client.get(f"/payments/pay?invoice={invoice.id}").text
    assert f'value="{invoice.id}" id="invoice-{invoice.id}" checked' in chosen


def test_when_stripe_is_unreachable_the_shop_is_told_and_nothing_is_kept(
    client, shop, campaign, app, monkeypatch
):
    member, user = shop
    invoice = invoices.invoice(member, campaign)
    monkeypatch.setitem(app.config, "COOP_STRIPE_SECRET_KEY", SECRET_KEY)
    monkeypatch.setitem(app.config, "COOP_STRIPE_API_BASE", "http://127.0.0.1:9")  # nobody
    monkeypatch.setattr("coop.payments.stripe_client.RETRIES", 0)
    client.login_as(user)
    response = start(client, invoice)
    assert response.location == "/payments/pay"
    assert "momentanément indisponible" in client.get(response.location).text
    assert sessions_count() == 0


# --- coming back from Stripe -------------------------------------------------------------------


def test_the_return_page_reads_our_records_never_the_redirect(client, shop, campaign, stripe_on):
    member, user = shop
    invoice = invoices.invoice(member, campaign)
    client.login_as(user)
    start(client, invoice)
    row = only_session()
    pay(stripe_on, row.stripe_id)  # paid on Stripe; its event not delivered yet
    page = client.get(f"/payments/return?session_id={row.stripe_id}").text
    assert "Nous attendons la confirmation de Stripe" in page
    assert 'hx-trigger="every 2s"' in page  # and it asks again
    assert ledger.balance(invoice).state == "open"


def test_the_return_page_says_paid_pending_or_failed_from_the_ledger(
    client, shop, campaign, stripe_on
):
    member, user = shop
    invoice = invoices.invoice(member, campaign)
    client.login_as(user)
    start(client, invoice)
    row = only_session()
    url = f"/payments/return?session_id={row.stripe_id}"
    payment = ledger.record_payment(
        member,
        TOTAL,
        method=Method.SEPA_DEBIT,
        received_on=date(2026, 12, 10),
        status=PaymentStatus.PENDING,
        checkout_session=row,
        stripe_payment_intent_id="pi_1",
    )
    db.session.commit()
    pending = client.get(url, headers={"HX-Request": "true"}).text
    assert "Prélèvement SEPA de 148,65" in pending and "every 2s" in pending
    assert "<html" not in pending  # htmx swaps the status alone
    ledger.mark_failed(payment)
    db.session.commit()
    failed = client.get(url).text
    assert "n'a pas abouti" in failed and "every 2s" not in failed
    assert "Payer à nouveau" in failed
    ledger.record_payment(
        member,
        TOTAL,
        method=Method.CARD,
        received_on=date(2026, 12, 11),
        checkout_session=row,
        stripe_payment_intent_id="pi_2",
    )
    db.session.commit()
    paid = client.get(url).text
    assert "Merci : votre paiement de 148,65" in paid and "every 2s" not in paid
    assert "Payée" in paid


def test_a_shop_cannot_see_another_shop_s_payment(client, make, shop, campaign, stripe_on):
    member, user = shop
    invoice = invoices.invoice(member, campaign)
    client.login_as(user)
    start(client, invoice)
    row = only_session()
    client.login_as(make.user(Role.MEMBER))
    response = client.get(f"/payments/return?session_id={row.stripe_id}")
    assert response.status_code == 404
    assert invoice.number not in response.text
    assert client.get("/payments/return?session_id=cs_test_nothing").status_code == 404
    assert client.get("/payments/return").location == "/payments/pay"


def test_staff_do_not_pay_for_shops(client, make, stripe_on):
    client.login_as(make.user(Role.TREASURER))
    assert client.get("/payments/pay").status_code == 403
    assert client.post("/payments/pay", data={"invoice": [1]}).status_code == 403
