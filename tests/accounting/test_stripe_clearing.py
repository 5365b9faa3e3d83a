"""Stripe in the FEC: receipts to the clearing account, fees to 627, the payout to the bank."""

import functools
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from coop.accounting import exports
from coop.accounts.models import Role
from coop.clock import today
from coop.errors import DomainError
from coop.extensions import db
from coop.payments import bank
from coop.payments.models import BankLine, BankLineStatus, CheckoutSession, Payment, StripePayout
from coop.payments.stripe_client import BUSINESS_TZ
from tests.invoicing import factories as invoices
from tests.payments.stripe_helpers import deliver, pay, stripe_online

# Issued with the fee as part of the goods' price (the default treatment): 707.
goods_fee_invoice = functools.partial(invoices.invoice, fee_treatment="goods")


@pytest.fixture
def paid_by_card(client, make, app, monkeypatch):
    """A shop pays its two invoices (148,65 each, issued ten days ago) by card on Stripe."""
    with stripe_online(app, monkeypatch) as fake:
        member = make.member(code="VELO07", name="Roue Libre")
        campaign = make.campaign()
        issued = today() - timedelta(days=10)
        pair = [
            goods_fee_invoice(member, campaign, issued_on=issued),
            goods_fee_invoice(member, campaign, issued_on=issued),
        ]
        client.login_as(make.user(Role.MEMBER, member=member))
        client.post("/payments/pay", data={"invoice": [i.id for i in pair]})
        session = db.session.scalars(select(CheckoutSession)).one()
        pay(fake, session.stripe_id, "card")
        assert deliver(client, fake.events[-1]).text == "payment recorded"
        payment = db.session.scalars(select(Payment)).one()
        yield fake, pair, payment


def unix(day) -> int:
    return int(datetime.combine(day, time(12), BUSINESS_TZ).timestamp())


def fec_rows(date_from, date_to) -> list[list[str]]:
    _, content = exports.fec(date_from, date_to)
    return [line.split("\t") for line in content.decode("iso-8859-15").split("\r\n")[1:-1]]


def test_a_card_payment_its_fee_and_its_payout_from_the_statement_give_the_exact_entries(
    client, paid_by_card
):
    fake, pair, payment = paid_by_card
    received = payment.received_on
    # Stripe keeps 1,5 % of 297,30 (4,4595 -> 4,46) + 0,25 = 4,71 and pays out 292,59,
    # arriving two days later; the bank books it the day after.
    arrival, booked = received + timedelta(days=2), received + timedelta(days=3)
    event = fake.pay_out(unix(arrival))
    assert event["data"]["object"]["amount"] == 29259
    assert deliver(client, event).text == "payout recorded"
    db.session.commit()
    outcome = bank.import_statement(
        "\r\n".join(
            [
                "Compte courant;00012345678",
                "",
                "Date;Libellé;Montant",
                f"{booked:%d/%m/%Y};VIR STRIPE PAYOUT;292,59",
                f"{booked:%d/%m/%Y};VIR ATELIER X FACTURE;292,59",
            ]
        ).encode("cp1252"),
        "releve.csv",
        by=None,
    )
    db.session.commit()
    payout = db.session.scalars(select(StripePayout)).one()
    first, second = db.session.scalars(select(BankLine).order_by(BankLine.id)).all()
    # The first line of the amount in the dates is the payout's; the other stays queued.
    assert (payout.amount, payout.arrival_on, payout.bank_line) == (
        Decimal("292.59"),
        arrival,
        first,
    )
    assert (first.status, second.status, outcome.received) == (
        BankLineStatus.IGNORED,
        BankLineStatus.UNMATCHED,
        1,
    )

    rows = fec_rows(pair[0].issued_on, booked)
    day, arrived = f"{received:%Y%m%d}", f"{booked:%Y%m%d}"
    a, b = sorted(i.number for i in pair)
    ref, po = f"REG-{payment.id:06d}", payout.stripe_id
    label = f"Règlement carte VELO07 {a} {b}"
    clearing, fees = (
        "511\tValeurs à l'encaissement (Stripe)",
        "627\tServices bancaires et assimilés",
    )
    paid, paid_out = f"{ref}\t{day}\t{label}", f"{po}\t{arrived}\tVirement Stripe {po}"
    assert ["\t".join(row) for row in rows if row[0] == "BQ"] == [
        f"BQ\tBanque\t3\t{day}\t{clearing}\t\t\t{paid}\t292,59\t0,00\t\t\t{day}\t\t",
        f"BQ\tBanque\t3\t{day}\t{fees}\t\t\t{paid}\t4,71\t0,00\t\t\t{day}\t\t",
        f"BQ\tBanque\t3\t{day}\t411\tClients\tVELO07\tRoue Libre\t{paid}\t0,00\t297,30\t"
        f"AA\t{day}\t{day}\t\t",
        f"BQ\tBanque\t4\t{arrived}\t512\tBanque\t\t\t{paid_out}\t292,59\t0,00\t\t\t{arrived}\t\t",
        f"BQ\tBanque\t4\t{arrived}\t{clearing}\t\t\t{paid_out}\t0,00\t292,59\t\t\t{arrived}\t\t",
    ]
    # The clearing account is square once the payout is on the bank.
    clearing = [row for row in rows if row[4] == "511"]
    assert (
        sum(Decimal(r[11].replace(",", ".")) - Decimal(r[12].replace(",", ".")) for r in clearing)
        == 0
    )


def test_a_payout_recorded_after_its_statement_line_is_matched_then(client, paid_by_card):
    fake, _, payment = paid_by_card
    day = payment.received_on + timedelta(days=2)
    bank.import_statement(
        f"Compte courant;1\r\n\r\nDate;Libellé;Montant\r\n{day:%d/%m/%Y};STRIPE;292,59".encode(),
        "releve.csv",
        by=None,
    )
    db.session.commit()
    line = db.session.scalars(select(BankLine)).one()
    assert line.status is BankLineStatus.UNMATCHED
    event = fake.pay_out(unix(day))
    assert deliver(client, event).text == "payout recorded, matched to the bank"
    assert deliver(client, dict(event, id="evt_again")).text == "no change"
    assert db.session.scalars(select(StripePayout)).one().bank_line == line
    assert line.status is BankLineStatus.IGNORED


def test_a_payout_far_from_the_line_s_date_or_of_another_amount_is_not_matched(
    client, paid_by_card
):
    fake, _, payment = paid_by_card
    day = payment.received_on + timedelta(days=2)
    late = day + timedelta(days=4)
    bank.import_statement(
        (
            "Compte courant;1\r\n\r\nDate;Libellé;Montant\r\n"
            f"{late:%d/%m/%Y};STRIPE;292,59\r\n{day:%d/%m/%Y};STRIPE;292,60"
        ).encode(),
        "releve.csv",
        by=None,
    )
    deliver(client, fake.pay_out(unix(day)))
    assert db.session.scalars(select(StripePayout)).one().bank_line is None
    assert {line.status for line in db.session.scalars(select(BankLine))} == {
        BankLineStatus.UNMATCHED
    }


def test_a_payout_s_line_is_not_put_back_in_the_queue(client, paid_by_card):
    fake, _, payment = paid_by_card
    day = payment.received_on + timedelta(days=2)
    bank.import_statement(
        f"Compte courant;1\r\n\r\nDate;Libellé;Montant\r\n{day:%d/%m/%Y};STRIPE;292,59".encode(),
        "releve.csv",
        by=None,
    )
    deliver(client, fake.pay_out(unix(day)))
    line = db.session.scalars(select(BankLine)).one()
    payout = db.session.scalars(select(StripePayout)).one()
    with pytest.raises(DomainError) as refused:
        bank.unignore(line)
    assert str(refused.value) == (
        f"Cette ligne est le virement Stripe {payout.stripe_id} : elle reste hors de la file."
    )
    assert line.status is BankLineStatus.IGNORED
