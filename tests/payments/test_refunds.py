"""Paying a shop's credit back: through Stripe for online payments, by transfer otherwise."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from coop.accounts.models import Role
from coop.errors import DomainError
from coop.extensions import db
from coop.invoicing import crediting
from coop.payments import ledger, refunds
from coop.payments.models import Method, Payment, Refund, RefundStatus
from tests.invoicing import factories as invoices
from tests.payments.stripe_helpers import deliver, pay, shop_paying_two_invoices, stripe_online

AT = datetime(2026, 12, 20, 9, 0, tzinfo=UTC)
ON = date(2026, 12, 15)


@pytest.fixture
def treasurer(make):
    return make.user(Role.TREASURER)


@pytest.fixture
def stripe_on(app, monkeypatch):
    with stripe_online(app, monkeypatch) as fake:
        yield fake


@pytest.fixture
def world(client, make, stripe_on):
    return shop_paying_two_invoices(client, make, stripe_on)


def stripe_refunds(fake) -> list[dict]:
    return [o for o in fake.objects.values() if o["object"] == "refund"]


@pytest.fixture
def card_credit(client, world, treasurer):
    """The shop paid both invoices by card; the second was then credited in full."""
    pay(world.fake, world.session.stripe_id)
    deliver(client, world.fake.events[-1])
    note = crediting.credit_invoice(world.invoices[1], reason="Retour", by=treasurer, at=AT)
    db.session.commit()
    assert ledger.member_credit(world.member) == Decimal("148.65")
    world.note = note
    return world


def test_a_card_payment_s_credit_goes_back_through_stripe(client, card_credit, treasurer):
    w = card_credit
    client.login_as(treasurer)
    response = client.post(
        f"/members/{w.member.id}/refund", data={"amount": "100,00", "credit_note": w.note.id}
    )
    assert response.location == f"/payments/accounts/{w.member.id}"
    refund = db.session.scalars(select(Refund)).one()
    assert (refund.amount, refund.status, refund.credit_note) == (
        Decimal("100.00"),
        RefundStatus.PENDING,
        w.note,
    )
    assert refund.recorded_by_id == treasurer.id
    [made] = stripe_refunds(w.fake)
    assert (made["id"], made["amount"]) == (refund.stripe_refund_id, 10000)
    assert ledger.member_credit(w.member) == Decimal("48.65")
    # Stripe then says the refund went through.
    w.fake.wait_until_idle()
    assert deliver(client, w.fake.events[-1]).text == "1 refund(s) in step"
    assert refund.status is RefundStatus.SUCCEEDED
    assert ledger.member_credit(w.member) == Decimal("48.65")
    assert [ledger.balance(i).state for i in w.invoices] == ["paid", "credited"]


def test_a_refund_retried_after_a_lost_commit_is_made_once_on_stripe(card_credit, treasurer):
    w = card_credit
    refunds.refund_credit(w.member, Decimal("148.65"), by=treasurer)
    db.session.rollback()  # the commit never happened: Stripe refunded, we know nothing
    assert db.session.scalars(select(Refund)).all() == []
    [refund] = refunds.refund_credit(w.member, Decimal("148.65"), by=treasurer)
    db.session.commit()
    assert [r["id"] for r in stripe_refunds(w.fake)] == [refund.stripe_refund_id]
    assert ledger.member_credit(w.member) == Decimal("0.00")


def test_when_stripe_refuses_nothing_is_recorded(client, card_credit, treasurer):
    w = card_credit
    payment = db.session.scalars(select(Payment)).one()
    payment.stripe_payment_intent_id = "pi_unknown_to_stripe"
    db.session.commit()
    client.login_as(treasurer)
    client.post(f"/members/{w.member.id}/refund", data={"amount": "10,00"})
    with client.session_transaction() as session:
        [(category, message)] = session["_flashes"]
    assert category == "error" and message.startswith("Stripe n'a pas remboursé le paiement du")
    assert db.session.scalars(select(Refund)).all() == []
    assert ledger.member_credit(w.member) == Decimal("148.65")


def test_what_stripe_refunded_is_kept_when_a_later_payment_s_refund_fails(
    client, card_credit, treasurer
):
    w = card_credit
    older = ledger.record_payment(
        w.member,
        Decimal("20.00"),
        method=Method.CARD,
        received_on=date(2026, 1, 5),
        stripe_payment_intent_id="pi_unknown_to_stripe",
    )
    db.session.commit()
    client.login_as(treasurer)
    client.post(f"/members/{w.member.id}/refund", data={"amount": "160,00"})
    with client.session_transaction() as session:
        flashes = [message for _, message in session["_flashes"]]
    assert flashes[0] == (
        "Stripe n'a pas remboursé 11,35\xa0€ : ils restent au crédit de "
        "l'atelier ; réessayez plus tard."
    )
    [refund] = db.session.scalars(select(Refund)).all()
    assert refund.amount == Decimal("148.65") and refund.payment is not older
    assert ledger.member_credit(w.member) == Decimal("20.00")
    assert [r["amount"] for r in stripe_refunds(w.fake)] == [14865]


def test_a_transfer_s_credit_is_paid_back_by_the_treasurer_s_transfer(
    client, make, treasurer, stripe_on
):
    shop = make.member()
    invoice = invoices.invoice(shop, make.campaign())
    older = ledger.record_payment(
        shop, Decimal("160.00"), method=Method.TRANSFER, received_on=ON, invoices=[invoice]
    )
    later = ledger.record_payment(
        shop, Decimal("20.00"), method=Method.CHEQUE, received_on=date(2026, 12, 16)
    )
    db.session.commit()
    assert ledger.member_credit(shop) == Decimal("31.35")
    client.login_as(treasurer)
    page = f"http://localhost/payments/accounts/{shop.id}?x=1"
    response = client.post(
        f"/members/{shop.id}/refund", data={"amount": "31.35"}, headers={"Referer": page}
    )
    assert response.location == f"/payments/accounts/{shop.id}?x=1"
    made = db.session.scalars(select(Refund).order_by(Refund.id)).all()
    # The latest payment first.
    assert [(r.payment, r.amount, r.status) for r in made] == [
        (later, Decimal("20.00"), RefundStatus.SUCCEEDED),
        (older, Decimal("11.35"), RefundStatus.SUCCEEDED),
    ]
    assert all(r.stripe_refund_id is None for r in made)
    assert stripe_refunds(stripe_on) == []
    assert ledger.member_credit(shop) == Decimal("0.00")
    assert ledger.balance(invoice).state == "paid"
    with client.session_transaction() as session:
        [(_, message)] = session["_flashes"]
    assert message == (
        f"31,35\xa0€ enregistrés comme remboursés par virement : faites le "
        f"virement à {shop.name} depuis le compte de la coopérative."
    )


def test_more_than_the_credit_is_refused_and_nothing_is_recorded(client, make, treasurer):
    shop = make.member()
    ledger.record_payment(shop, Decimal("30.00"), method=Method.TRANSFER, received_on=ON)
    db.session.commit()
    client.login_as(treasurer)
    response = client.post(
        f"/members/{shop.id}/refund",
        data={"amount": "30.01"},
        headers={"Referer": "http://evil.example/phish"},
    )
    assert response.location == f"/payments/accounts/{shop.id}"  # never another site
    with client.session_transaction() as session:
        flashes = [message for _, message in session.get("_flashes", [])]
    assert flashes == ["L'atelier a 30,00\xa0€ de crédit : on ne rembourse pas plus."]
    assert db.session.scalars(select(Refund)).all() == []
    assert ledger.member_credit(shop) == Decimal("30.00")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Indiquez le montant à rembourser."),
        ("dix euros", "Nombre attendu, pas 'dix euros'."),
        ("1,005", "Le montant se donne au centime près."),
    ],
)
def test_a_mistyped_amount_is_refused_with_its_reason(client, make, treasurer, typed, message):
    shop = make.member()
    ledger.record_payment(shop, Decimal("30.00"), method=Method.TRANSFER, received_on=ON)
    db.session.commit()
    client.login_as(treasurer)
    client.post(f"/members/{shop.id}/refund", data={"amount": typed})
    with client.session_transaction() as session:
        assert [m for _, m in session["_flashes"]] == [message]
    assert db.session.scalars(select(Refund)).all() == []


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-5"), Decimal("1.005")])
def test_an_amount_must_be_positive_and_in_cents(make, treasurer, amount):
    shop = make.member()
    with pytest.raises(DomainError) as refused:
        refunds.refund_credit(shop, amount, by=treasurer)
    assert refused.value.field == "amount"


def test_a_credit_note_of_another_shop_is_refused(make, treasurer):
    shop, other = make.member(), make.member()
    invoice = invoices.invoice(other, make.campaign())
    note = crediting.credit_invoice(invoice, reason="Erreur", by=treasurer, at=AT)
    ledger.record_payment(shop, Decimal("30.00"), method=Method.TRANSFER, received_on=ON)
    db.session.commit()
    with pytest.raises(DomainError, match="avoir de cet atelier"):
        refunds.refund_credit(shop, Decimal("10.00"), by=treasurer, credit_note=note)


@pytest.mark.parametrize("role", [Role.MEMBER, Role.MANAGER, Role.ADMIN])
def test_only_the_treasurer_pays_credit_back(client, make, role):
    shop = make.member()
    ledger.record_payment(shop, Decimal("30.00"), method=Method.TRANSFER, received_on=ON)
    db.session.commit()
    client.login_as(make.user(role, member=shop if role is Role.MEMBER else None))
    assert client.post(f"/members/{shop.id}/refund", data={"amount": "30.00"}).status_code == 403
    assert db.session.scalars(select(Refund)).all() == []


def test_the_refund_form_shows_the_credit_and_the_shop_s_credit_notes(app, make, treasurer):
    from flask import render_template

    from coop.payments.refund_forms import RefundForm

    shop = make.member()
    invoice = invoices.invoice(shop, make.campaign())
    note = crediting.credit_invoice(invoice, reason="Retour", by=treasurer, at=AT)
    db.session.commit()
    with app.test_request_context():
        html = render_template(
            "payments/_refund_form.html",
            member=shop,
            credit=Decimal("148.65"),
            form=RefundForm(member=shop),
        )
    assert f'action="/members/{shop.id}/refund"' in html
    assert "148,65" in html and note.number in html
    assert 'name="amount"' in html and 'name="credit_note"' in html
