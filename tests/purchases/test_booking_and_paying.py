"""Booking and disputing suppliers' invoices, and paying them from the bank statement's debits:
the three invoices of the campaign imported, booked (one with a note) and paid."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from coop import mail
from coop.accounting import exports
from coop.accounts.models import Role
from coop.activity.models import Activity
from coop.errors import DomainError
from coop.extensions import db
from coop.payments import bank
from coop.payments.models import BankLine, BankLineStatus
from coop.purchases import booking, importing, paying
from coop.purchases.models import SupplierInvoiceStatus, SupplierPayment, amount_owed
from coop.purchases.vat import SelfAssessed, self_assessed_vat
from tests.purchases.einvoices import EInvoice, Line, facturx_pdf, ubl_xml

STATEMENT = """Relevé de compte;;
Date;Libellé;Montant
03/12/2026;VIR SEPA CYCLES DUPONT FACT F-2026-0042;-469,20
04/12/2026;VIR SEPA RICAMBI BICI SRL;-435,00
05/12/2026;VIR INTL 960.00 EUR;-960,00
05/12/2026;FRAIS TENUE DE COMPTE;-12,00
06/12/2026;VIR ATELIER DU RHONE;120,00
"""


def imported(purchases):
    return [
        importing.import_invoice(facturx_pdf(p.einvoice), f"{p.supplier.code}.pdf", by=None)
        for p in (purchases.french, purchases.italian, purchases.taiwanese)
    ]


def debits() -> dict[str, BankLine]:
    bank.import_statement(STATEMENT.encode(), "releve.csv", by=None)
    db.session.commit()
    lines = db.session.scalars(select(BankLine).where(BankLine.amount < Decimal(0))).all()
    return {line.label: line for line in lines}


def actions(object_type: str) -> list[str]:
    return db.session.scalars(
        select(Activity.action).where(Activity.object_type == object_type).order_by(Activity.id)
    ).all()


def test_the_three_invoices_are_booked_then_paid_from_the_bank_statement(purchases, make):
    manager, treasurer = make.user(Role.MANAGER), make.user(Role.TREASURER)
    french, italian, taiwanese = imported(purchases)
    db.session.commit()
    booking.book(french, by=manager)
    with pytest.raises(DomainError) as error:
        booking.book(italian, by=manager)
    assert error.value.field == "note"
    booking.book(italian, note="Hausse du cours de l'aluminium acceptée au téléphone.", by=manager)
    booking.book(taiwanese, on=date(2026, 12, 10), by=manager)
    db.session.commit()
    assert [(i.status, i.booked_on, i.booked_by_id) for i in (french, italian, taiwanese)] == [
        (SupplierInvoiceStatus.BOOKED, date(2026, 12, 1), manager.id),
        (SupplierInvoiceStatus.BOOKED, date(2026, 12, 1), manager.id),
        (SupplierInvoiceStatus.BOOKED, date(2026, 12, 10), manager.id),
    ]
    assert italian.note == "Hausse du cours de l'aluminium acceptée au téléphone."

    lines = debits()
    waiting = db.session.scalars(paying.waiting_debits_query()).all()
    assert {line.label for line in waiting} == set(lines)
    proposals = paying.propose(waiting)
    dupont = lines["VIR SEPA CYCLES DUPONT FACT F-2026-0042"]
    ricambi = lines["VIR SEPA RICAMBI BICI SRL"]
    formosa = lines["VIR INTL 960.00 EUR"]
    assert (proposals[dupont.id].invoices, proposals[dupont.id].reason) == ((french,), "reference")
    assert (proposals[ricambi.id].invoices, proposals[ricambi.id].reason) == (
        (italian,),
        "supplier_and_amount",
    )
    assert (proposals[formosa.id].invoices, proposals[formosa.id].reason) == (
        (taiwanese,),
        "amount",
    )
    assert lines["FRAIS TENUE DE COMPTE"].id not in proposals

    for line in (dupont, ricambi, formosa):
        paying.pay(line, list(proposals[line.id].invoices), by=treasurer)
    db.session.commit()
    payments = db.session.scalars(select(SupplierPayment).order_by(SupplierPayment.id)).all()
    assert [(p.supplier, p.amount, p.paid_on) for p in payments] == [
        (purchases.french.supplier, Decimal("469.20"), date(2026, 12, 3)),
        (purchases.italian.supplier, Decimal("435.00"), date(2026, 12, 4)),
        (purchases.taiwanese.supplier, Decimal("960.00"), date(2026, 12, 5)),
    ]
    assert [[(a.invoice, a.amount) for a in p.allocations] for p in payments] == [
        [(french, Decimal("469.20"))],
        [(italian, Decimal("435.00"))],
        [(taiwanese, Decimal("960.00"))],
    ]
    assert [amount_owed(i) for i in (french, italian, taiwanese)] == [Decimal("0.00")] * 3
    assert dupont.status is BankLineStatus.MATCHED
    assert [line.label for line in db.session.scalars(paying.waiting_debits_query())] == [
        "FRAIS TENUE DE COMPTE"
    ]
    assert actions("supplier_invoice") == [
        "supplier_invoice.imported",
        "supplier_invoice.imported",
        "supplier_invoice.imported",
        "supplier_invoice.booked",
        "supplier_invoice.booked",
        "supplier_invoice.booked",
    ]
    assert actions("supplier_payment") == ["supplier_payment.recorded"] * 3


def test_one_debit_pays_several_invoices_of_a_supplier_oldest_due_first(purchases, make):
    french = imported(purchases)[0]
    second = importing.import_invoice(
        ubl_xml(
            EInvoice(
                "F-2026-0050",
                purchases.french.einvoice.seller,
                [Line("DUP-PN700", "PNEU-700", "Pneu 700x35", "2", "12.50")],
                due_on=date(2027, 1, 15),
            )
        ),
        "second.xml",
        by=None,
    )
    booking.book(french, note="ok", by=None)
    booking.book(second, note="sans commande", by=None)
    line = debits()["VIR SEPA CYCLES DUPONT FACT F-2026-0042"]
    # 469.20 + 30.00 = 499.20 owed; a debit of 480.00 pays the first in full, the second in part.
    line.amount = Decimal("-480.00")
    payment = paying.pay(line, [second, french], by=None)
    assert [(a.invoice, a.amount) for a in payment.allocations] == [
        (french, Decimal("469.20")),
        (second, Decimal("10.80")),
    ]
    assert amount_owed(second) == Decimal("19.20")


def test_paying_more_than_owed_is_refused_and_writes_nothing(purchases):
    french, italian, _taiwanese = imported(purchases)
    booking.book(french, by=None)
    booking.book(italian, note="ok", by=None)
    lines = debits()
    line = lines["VIR INTL 960.00 EUR"]
    with pytest.raises(DomainError, match="dépasse ce que la coopérative doit"):
        paying.pay(line, [french], by=None)
    with pytest.raises(DomainError, match="un seul fournisseur"):
        paying.pay(line, [french, italian], by=None)
    db.session.rollback()
    assert db.session.scalars(select(SupplierPayment)).all() == []
    assert db.session.get(BankLine, line.id).status is BankLineStatus.IGNORED


def test_an_invoice_not_booked_and_a_credit_line_are_not_paid(purchases):
    french = imported(purchases)[0]
    lines = debits()
    with pytest.raises(DomainError, match="pas une facture comptabilisée"):
        paying.pay(lines["VIR SEPA CYCLES DUPONT FACT F-2026-0042"], [french], by=None)
    db.session.rollback()
    received = db.session.scalar(select(BankLine).where(BankLine.amount > Decimal(0)))
    booking.book(french, by=None)
    with pytest.raises(DomainError, match="Seul un débit"):
        paying.pay(received, [french], by=None)


def test_a_debit_is_paid_once(purchases):
    french = imported(purchases)[0]
    booking.book(french, by=None)
    line = debits()["VIR SEPA CYCLES DUPONT FACT F-2026-0042"]
    paying.pay(line, [french], by=None)
    db.session.commit()
    with pytest.raises(DomainError, match="déjà rapprochée"):
        paying.pay(line, [french], by=None)


def test_a_booked_credit_note_reduces_what_is_owed(purchases):
    french = imported(purchases)[0]
    booking.book(french, by=None)
    note = importing.import_invoice(
        ubl_xml(
            EInvoice(
                "AV-2026-0007",
                purchases.french.einvoice.seller,
                [Line("DUP-PN700", "PNEU-700", "Pneu 700x35 (retour)", "2", "12.50")],
                type_code="381",
                preceding="F-2026-0042",
            )
        ),
        "avoir.xml",
        by=None,
    )
    assert amount_owed(french) == Decimal("469.20")  # not booked yet
    booking.book(note, by=None)
    # 469.20 - 30.00
    assert amount_owed(french) == Decimal("439.20")
    assert amount_owed(note) == Decimal("0.00")


def test_a_disputed_invoice_e_mails_the_supplier_and_may_be_booked_later(app, purchases):
    italian = imported(purchases)[1]
    db.session.commit()
    mail.sent_messages().clear()
    booking.dispute(italian, "Le prix convenu est de 38,00 € HT par dérailleur.", by=None)
    db.session.commit()
    assert italian.status is SupplierInvoiceStatus.DISPUTED
    assert italian.dispute_message == "Le prix convenu est de 38,00 € HT par dérailleur."
    (message,) = mail.sent_messages()
    assert message["To"] == "amm@ricambi.example"
    assert "RB/2026/118" in message["Subject"]
    assert "38,00 € HT par dérailleur" in message.get_body(("plain",)).get_content()
    with pytest.raises(DomainError, match="déjà contestée"):
        booking.dispute(italian, "encore", by=None)
    booking.book(italian, note="Avoir promis par le fournisseur.", by=None)
    assert italian.status is SupplierInvoiceStatus.BOOKED
    with pytest.raises(DomainError, match="déjà comptabilisée"):
        booking.book(italian, note="deux fois", by=None)


def test_a_supplier_without_e_mail_cannot_be_disputed_by_mail(purchases):
    taiwanese = imported(purchases)[2]
    with pytest.raises(DomainError, match="pas d'adresse e-mail") as error:
        booking.dispute(taiwanese, "Prix ?", by=None)
    assert error.value.field == "message"


def test_linking_the_order_by_hand_matches_again(purchases):
    einvoice = replace(purchases.french.einvoice, order_reference=None)
    invoice = importing.import_invoice(facturx_pdf(einvoice), "sans-bc.pdf", by=None)
    assert [d["code"] for d in invoice.differences] == ["no_purchase_order"]
    booking.link(invoice, order=purchases.french.order, credited=None, by=None)
    assert invoice.purchase_order == purchases.french.order
    assert invoice.differences == []
    with pytest.raises(DomainError, match="d'un autre fournisseur"):
        booking.link(invoice, order=purchases.italian.order, credited=None, by=None)


def test_the_vat_self_assessed_follows_the_supplier_s_regime_and_the_parts_rates(purchases):
    french, italian, taiwanese = imported(purchases)
    assert self_assessed_vat(french) == []  # its VAT is on the invoice: 78.20
    # 410.00 of derailleurs at the part's 20 % and 25.00 of shipping at the standard rate.
    assert self_assessed_vat(italian) == [
        SelfAssessed(Decimal("0.2000"), Decimal("435.00"), Decimal("87.00"))
    ]
    rim = purchases.taiwanese.order.lines[0].part
    rim.vat_rate = Decimal("0.0550")  # as if rims took a reduced rate
    db.session.flush()
    # 900.00 x 5.5 % = 49.50; 60.00 of freight x 20 % = 12.00.
    assert self_assessed_vat(taiwanese) == [
        SelfAssessed(Decimal("0.2000"), Decimal("60.00"), Decimal("12.00")),
        SelfAssessed(Decimal("0.0550"), Decimal("900.00"), Decimal("49.50")),
    ]


def test_the_three_invoices_booked_and_paid_are_in_the_fec_with_their_vat_accounts(purchases, make):
    """Dupont (France) 376,00 of goods + 15,00 shipping + VAT 78,20 = 469,20; Ricambi (Italy)
    410,00 + 25,00, no VAT billed: 87,00 self-assessed at 20 %; Formosa (Taiwan) 900,00 +
    60,00: import VAT 192,00 self-assessed. Each paid from the statement: 401 lettered."""
    manager, treasurer = make.user(Role.MANAGER), make.user(Role.TREASURER)
    french, italian, taiwanese = imported(purchases)
    booking.book(french, by=manager)
    booking.book(italian, note="Hausse acceptée.", by=manager)
    booking.book(taiwanese, on=date(2026, 12, 10), by=manager)
    debits()
    waiting = db.session.scalars(paying.waiting_debits_query()).all()
    proposals = paying.propose(waiting)
    for line in waiting:
        if line.id in proposals:
            paying.pay(line, list(proposals[line.id].invoices), by=treasurer)
    db.session.commit()
    _, content = exports.fec(date(2026, 12, 1), date(2026, 12, 31))
    rows = [line.split("\t") for line in content.decode("iso-8859-15").split("\r\n")[1:-1]]
    dupont, ricambi, formosa = (p.supplier.code for p in vars(purchases).values())
    assert [(r[2], r[3], r[0], r[4], r[6], r[11], r[12], r[13]) for r in rows] == [
        ("1", "20261201", "HA", "401", dupont, "0,00", "469,20", "AA"),
        ("1", "20261201", "HA", "607", "", "376,00", "0,00", ""),
        ("1", "20261201", "HA", "6087", "", "15,00", "0,00", ""),
        ("1", "20261201", "HA", "44566", "", "78,20", "0,00", ""),
        ("2", "20261201", "HA", "401", ricambi, "0,00", "435,00", "AB"),
        ("2", "20261201", "HA", "607", "", "410,00", "0,00", ""),
        ("2", "20261201", "HA", "6087", "", "25,00", "0,00", ""),
        ("2", "20261201", "HA", "44566", "", "87,00", "0,00", ""),
        ("2", "20261201", "HA", "4452", "", "0,00", "87,00", ""),
        ("3", "20261203", "BQ", "401", dupont, "469,20", "0,00", "AA"),
        ("3", "20261203", "BQ", "512", "", "0,00", "469,20", ""),
        ("4", "20261204", "BQ", "401", ricambi, "435,00", "0,00", "AB"),
        ("4", "20261204", "BQ", "512", "", "0,00", "435,00", ""),
        ("5", "20261205", "BQ", "401", formosa, "960,00", "0,00", "AC"),
        ("5", "20261205", "BQ", "512", "", "0,00", "960,00", ""),
        ("6", "20261210", "HA", "401", formosa, "0,00", "960,00", "AC"),
        ("6", "20261210", "HA", "607", "", "900,00", "0,00", ""),
        ("6", "20261210", "HA", "6087", "", "60,00", "0,00", ""),
        ("6", "20261210", "HA", "445662", "", "192,00", "0,00", ""),
        ("6", "20261210", "HA", "4452", "", "0,00", "192,00", ""),
    ]
