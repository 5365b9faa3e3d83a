"""A credit note says what the shop's account does with it; a gesture is booked to 709."""

from datetime import UTC, date, datetime
from decimal import Decimal

from coop.accounting import exports
from coop.accounting.imputation import credit_note_imputation
from coop.invoicing import crediting
from coop.invoicing.models import is_gesture
from coop.payments import ledger
from coop.payments.models import Method
from tests.invoicing import factories as invoicing

AT = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)


def gesture(invoice):
    return crediting.credit_invoice(
        invoice,
        amount=Decimal("10.00"),
        reason="Geste commercial",
        by=None,
        at=AT,
        imputation=credit_note_imputation,
    )


def paid(invoice):
    ledger.record_payment(
        invoice.member,
        invoice.total_incl_vat,
        method=Method.TRANSFER,
        received_on=date(2026, 12, 8),
        invoices=[invoice],
    )


def test_a_credit_on_an_unpaid_invoice_is_deducted_from_what_it_still_owes(make):
    invoice = invoicing.invoice(make.member(), make.campaign())
    note = gesture(invoice)
    assert note.total_incl_vat == Decimal("12.00")
    assert note.snapshot["imputation"] == (
        f"Cet avoir est déduit de la facture {invoice.number}, qui reste due pour 136,65\xa0€."
    )


def test_a_credit_on_a_paid_invoice_pays_the_shops_next_open_invoice(make):
    shop = make.member()
    invoice = invoicing.invoice(shop, make.campaign())
    other = invoicing.invoice(shop, make.campaign())
    paid(invoice)
    note = gesture(invoice)
    assert note.snapshot["imputation"] == (
        f"Cet avoir est déduit de la facture {invoice.number}, déjà réglée : le trop-perçu de "
        f"12,00\xa0€ est porté au crédit de votre compte et imputé : 12,00\xa0€ sur la facture "
        f"{other.number}."
    )
    # What the note says is what the ledger did.
    assert ledger.balance(other).paid == Decimal("12.00")
    assert ledger.member_credit(shop) == Decimal("0.00")


def test_a_credit_on_a_paid_invoice_with_nothing_else_open_stays_on_account(make):
    shop = make.member()
    invoice = invoicing.invoice(shop, make.campaign())
    paid(invoice)
    note = gesture(invoice)
    assert note.snapshot["imputation"] == (
        f"Cet avoir est déduit de la facture {invoice.number}, déjà réglée : le trop-perçu de "
        "12,00\xa0€ est porté au crédit de votre compte. Reste à votre crédit : 12,00\xa0€, déduit "
        "de vos prochaines factures ou remboursé sur demande."
    )
    assert ledger.member_credit(shop) == Decimal("12.00")


def test_a_commercial_gesture_is_booked_to_709_and_a_return_to_707(make):
    invoice = invoicing.invoice(make.member(), make.campaign())
    tyres = next(line for line in invoice.lines if line.reference == "PNEU-700-35")
    returned = crediting.credit_invoice(
        invoice, lines={tyres.id: 1}, reason="Retour", by=None, at=AT
    )
    note = gesture(invoice)
    assert is_gesture(note) and not is_gesture(returned)
    booked = {p.account: (p.debit, p.credit) for p in exports.sales_entry(note).postings}
    assert booked == {
        "customers": (Decimal("0.00"), Decimal("12.00")),
        "rebates": (Decimal("10.00"), Decimal("0.00")),
        "vat": (Decimal("2.00"), Decimal("0.00")),
    }
    accounts = {p.account for p in exports.sales_entry(returned).postings}
    assert accounts == {"customers", "goods", "vat"}
    assert exports.coop_ledger().rebates == "709"
