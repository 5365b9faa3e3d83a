"""The shop's account: allocations, partial and over-payments, credit, refunds, failures."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from coop.accounts.models import Role
from coop.errors import DomainError
from coop.extensions import db
from coop.invoicing import crediting
from coop.payments import ledger
from coop.payments.models import Method, PaymentStatus, RefundStatus
from tests.invoicing import factories as invoices

ON = date(2026, 12, 20)
AT = datetime(2026, 12, 20, 9, 0, tzinfo=UTC)
TOTAL = Decimal("148.65")  # factories.LINES: 127.50 excl. VAT + 19.50 (20 %) + 1.65 (5.5 %)


@pytest.fixture
def shop(make):
    return make.member()


@pytest.fixture
def campaign(make):
    return make.campaign()


def pay(shop, amount, *invoices_, **kwargs):
    kwargs.setdefault("method", Method.TRANSFER)
    payment = ledger.record_payment(
        shop, Decimal(amount), received_on=ON, invoices=list(invoices_), **kwargs
    )
    db.session.commit()
    return payment


def state(invoice):
    b = ledger.balance(invoice)
    return b.state, b.due


def test_the_factory_invoice_total_is_hand_computed(shop, campaign):
    assert invoices.invoice(shop, campaign).total_incl_vat == TOTAL


def test_a_partial_then_a_final_payment(shop, campaign):
    invoice = invoices.invoice(shop, campaign)
    pay(shop, "100.00", invoice)
    assert state(invoice) == ("partly_paid", Decimal("48.65"))
    pay(shop, "48.65", invoice)
    assert state(invoice) == ("paid", Decimal("0.00"))
    assert ledger.member_credit(shop) == Decimal("0.00")


def test_an_over_payment_is_kept_as_credit_and_pays_the_next_invoice(shop, campaign):
    first = invoices.invoice(shop, campaign)
    pay(shop, "200.00", first)
    assert state(first) == ("paid", Decimal("0.00"))
    assert ledger.member_credit(shop) == Decimal("51.35")
    second = invoices.invoice(shop, campaign)
    ledger.settle(shop)
    db.session.commit()
    assert state(second) == ("partly_paid", Decimal("97.30"))
    assert ledger.member_credit(shop) == Decimal("0.00")


def test_a_payment_without_invoices_goes_to_the_oldest_due_first(shop, campaign):
    late = invoices.invoice(shop, campaign, issued_on=date(2026, 10, 1))
    recent = invoices.invoice(shop, campaign, issued_on=date(2026, 12, 1))
    pay(shop, "160.00")
    assert state(late) == ("paid", Decimal("0.00"))
    assert state(recent) == ("partly_paid", Decimal("137.30"))


def test_a_payment_never_settles_another_shops_invoice(shop, campaign, make):
    other = invoices.invoice(make.member(), campaign)
    with pytest.raises(DomainError, match="pas de cet adhérent"):
        ledger.record_payment(
            shop, Decimal("10.00"), method=Method.TRANSFER, received_on=ON, invoices=[other]
        )
    db.session.rollback()
    pay(shop, "10.00")  # no invoice of its own: all credit, nothing on the other shop's
    assert state(other) == ("open", TOTAL)
    assert ledger.member_credit(shop) == Decimal("10.00")


@pytest.mark.parametrize(
    ("amount", "fees"), [("0", "0"), ("-5", "0"), ("10.001", "0"), ("10", "11"), ("10", "-1")]
)
def test_bad_amounts_are_refused(shop, amount, fees):
    with pytest.raises(DomainError):
        ledger.record_payment(
            shop, Decimal(amount), fees=Decimal(fees), method=Method.CARD, received_on=ON
        )


def test_a_credit_note_on_a_paid_invoice_becomes_credit_then_a_refund(shop, campaign, make):
    invoice = invoices.invoice(shop, campaign)
    payment = pay(shop, "148.65", invoice)
    note = crediting.credit_invoice(invoice, reason="Retour", by=make.user(Role.TREASURER), at=AT)
    db.session.commit()
    assert state(invoice) == ("credited", Decimal("0.00"))
    assert ledger.member_credit(shop) == TOTAL
    ledger.record_refund(payment, TOTAL, on=ON, credit_note=note)
    db.session.commit()
    assert ledger.member_credit(shop) == Decimal("0.00")
    assert ledger.refundable(payment) == Decimal("0.00")
    with pytest.raises(DomainError, match="pas plus que le paiement"):
        ledger.record_refund(payment, Decimal("0.01"), on=ON)


def test_a_refund_beyond_the_credit_reopens_the_invoice(shop, campaign):
    invoice = invoices.invoice(shop, campaign)
    payment = pay(shop, "150.00", invoice)
    assert ledger.member_credit(shop) == Decimal("1.35")
    ledger.record_refund(payment, Decimal("51.35"), on=ON)
    db.session.commit()
    assert ledger.member_credit(shop) == Decimal("0.00")
    assert state(invoice) == ("partly_paid", Decimal("50.00"))


def test_a_stripe_refund_is_recorded_once(shop, campaign):
    invoice = invoices.invoice(shop, campaign)
    payment = pay(shop, "148.65", invoice, method=Method.CARD, stripe_payment_intent_id="pi_1")
    first = ledger.record_refund(
        payment, Decimal("10.00"), on=ON, stripe_refund_id="re_1", status=RefundStatus.PENDING
    )
    again = ledger.record_refund(payment, Decimal("10.00"), on=ON, stripe_refund_id="re_1")
    db.session.commit()
    assert again.id == first.id and again.status is RefundStatus.SUCCEEDED
    assert state(invoice) == ("partly_paid", Decimal("10.00"))


def test_a_pending_sepa_payment_settles_or_fails(shop, campaign, make):
    invoice = invoices.invoice(shop, campaign)
    payment = pay(shop, "148.65", method=Method.SEPA_DEBIT, status=PaymentStatus.PENDING)
    assert ledger.balance(invoice).paid == Decimal("0.00")
    assert ledger.mark_succeeded(payment, on=ON) is True
    assert ledger.mark_succeeded(payment, on=ON) is False  # idempotent
    db.session.commit()
    assert state(invoice) == ("paid", Decimal("0.00"))
    assert ledger.mark_failed(payment) is True
    db.session.commit()
    assert state(invoice) == ("open", TOTAL)
    with pytest.raises(DomainError, match="échoué"):
        ledger.mark_succeeded(payment, on=ON)


def test_payments_of_an_invoice(shop, campaign):
    invoice = invoices.invoice(shop, campaign)
    first = pay(shop, "50.00", invoice)
    second = pay(shop, "120.00", invoice)
    assert ledger.payments_of(invoice) == [(first, Decimal("50.00")), (second, Decimal("98.65"))]
    assert ledger.member_credit(shop) == Decimal("21.35")
