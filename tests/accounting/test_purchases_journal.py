"""The purchase side in the FEC: suppliers' invoices in the purchases journal (HA), VAT by
the supplier's regime, suppliers paid from the bank, and the suppliers' account lettered."""

from datetime import date
from decimal import Decimal

import pytest

from coop.accounting import exports
from coop.accounts.identity import save_identity
from coop.extensions import db
from coop.payments import bank
from coop.payments.models import BankLine
from coop.purchases.models import (
    SupplierInvoice,
    SupplierInvoiceStatus,
    SupplierLineKind,
    SupplierPayment,
    SupplierPaymentAllocation,
)
from tests import factories
from tests.accounts.test_identity import valid

NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))
PDF = b"%PDF-1.7 supplier"


def booked(supplier, number, issued_on, booked_on, lines, vat, *, credited=None):
    """A booked supplier document; `lines`: (kind, part, quantity, unit price)."""
    return factories.supplier_invoice(
        supplier, number, lines, vat, credited=credited, issued_on=issued_on, booked_on=booked_on
    )


def paid(line: BankLine, supplier, invoices: list[SupplierInvoice], amounts: list[str]):
    payment = SupplierPayment(
        supplier=supplier, bank_line=line, amount=-line.amount, paid_on=line.booked_on
    )
    payment.allocations = [
        SupplierPaymentAllocation(invoice=invoice, amount=Decimal(amount))
        for invoice, amount in zip(invoices, amounts, strict=True)
    ]
    db.session.add(payment)
    return payment


@pytest.fixture
def purchases(make):
    """Three suppliers' invoices, one credit note, two payments (see each entry below).

    CYCLAB (Lyon) bills 150,00 + 50,00 of goods and 20,00 of shipping, VAT 44,00: 264,00;
    credits 50,00 + VAT 10,00 (60,00) and is paid the 204,00 left on 20/11.
    MILANO (Italy) bills 300,00 at 20 % and 100,00 of books at 5,5 %, no VAT: 400,00;
    the coop self-assesses 60,00 + 5,50 = 65,50. Not paid yet.
    TAIPEI (Taiwan) bills 500,00 and 80,00 of shipping, no VAT: 580,00; import VAT
    self-assessed 116,00. Paid on 25/11.
    """
    cyclab = make.supplier(code="CYCLAB", name="Cyclab Lyon", country="FR")
    milano = make.supplier(
        code="MILANO", name="Ciclo Milano", country="IT", vat_number="IT12345678901"
    )
    taipei = make.supplier(code="TAIPEI", name="Taipei Bikes", country="TW")
    tyre = make.part(name="Pneu 700x25", vat_rate=Decimal("0.2000"))
    chain = make.part(name="Chaîne 11v", vat_rate=Decimal("0.2000"))
    book = make.part(name="Manuel d'atelier", vat_rate=Decimal("0.0550"))
    goods, shipping = SupplierLineKind.GOODS, SupplierLineKind.SHIPPING
    f100 = booked(
        cyclab,
        "F-100",
        date(2026, 11, 5),
        date(2026, 11, 6),
        [
            (goods, tyre, "10", "15.00"),
            (goods, chain, "5", "10.00"),
            (shipping, None, "1", "20.00"),
        ],
        "44.00",
    )
    booked(
        milano,
        "IT-7",
        date(2026, 11, 8),
        date(2026, 11, 9),
        [(goods, tyre, "20", "15.00"), (goods, book, "10", "10.00")],
        "0.00",
    )
    tw9 = booked(
        taipei,
        "TW-9",
        date(2026, 11, 10),
        date(2026, 11, 12),
        [(goods, chain, "50", "10.00"), (shipping, None, "1", "80.00")],
        "0.00",
    )
    booked(
        cyclab,
        "CN-1",
        date(2026, 11, 15),
        date(2026, 11, 15),
        [(goods, chain, "5", "10.00")],
        "10.00",
        credited=f100,
    )
    bank.import_statement(
        b"Date;Libell\xe9;Montant\r\n"
        b"20/11/2026;VIR CYCLAB F-100;-204,00\r\n"
        b"25/11/2026;VIR TAIPEI BIKES TW-9;-580,00\r\n",
        "releve.csv",
        by=None,
    )
    first, second = db.session.query(BankLine).order_by(BankLine.id).all()
    payments = (paid(first, cyclab, [f100], ["204.00"]), paid(second, taipei, [tw9], ["580.00"]))
    db.session.commit()
    return payments


def test_the_purchases_journal_books_vat_by_the_supplier_s_regime(purchases):
    to_cyclab, _ = purchases
    _, content = exports.fec(*NOVEMBER)
    lines = content.decode("iso-8859-15").split("\r\n")[1:-1]
    cyclab = "CYCLAB\tCyclab Lyon"
    assert lines[:4] == [
        f"HA\tAchats\t1\t20261106\t401\tFournisseurs\t{cyclab}\tF-100\t20261105\t"
        "Facture CYCLAB F-100\t0,00\t264,00\tAA\t20261120\t20261106\t\t",
        "HA\tAchats\t1\t20261106\t607\tAchats de marchandises\t\t\tF-100\t20261105\t"
        "Facture CYCLAB F-100\t200,00\t0,00\t\t\t20261106\t\t",
        "HA\tAchats\t1\t20261106\t6087\tFrais accessoires d'achat (port)\t\t\tF-100\t20261105\t"
        "Facture CYCLAB F-100\t20,00\t0,00\t\t\t20261106\t\t",
        "HA\tAchats\t1\t20261106\t44566\tTVA déductible sur biens et services\t\t\tF-100\t"
        "20261105\tFacture CYCLAB F-100\t44,00\t0,00\t\t\t20261106\t\t",
    ]
    rows = [line.split("\t") for line in lines]
    entries = [(r[2], r[3], r[4], r[6], r[11], r[12], r[13]) for r in rows[4:]]
    assert entries == [
        # Italy: an intra-Community acquisition, VAT self-assessed and deducted.
        ("2", "20261109", "401", "MILANO", "0,00", "400,00", ""),
        ("2", "20261109", "607", "", "400,00", "0,00", ""),
        ("2", "20261109", "44566", "", "65,50", "0,00", ""),
        ("2", "20261109", "4452", "", "0,00", "65,50", ""),
        # Taiwan: an import, its VAT self-assessed on the invoice's value.
        ("3", "20261112", "401", "TAIPEI", "0,00", "580,00", "AB"),
        ("3", "20261112", "607", "", "500,00", "0,00", ""),
        ("3", "20261112", "6087", "", "80,00", "0,00", ""),
        ("3", "20261112", "445662", "", "116,00", "0,00", ""),
        ("3", "20261112", "4452", "", "0,00", "116,00", ""),
        # CYCLAB's credit note mirrors an invoice.
        ("4", "20261115", "401", "CYCLAB", "60,00", "0,00", "AA"),
        ("4", "20261115", "607", "", "0,00", "50,00", ""),
        ("4", "20261115", "44566", "", "0,00", "10,00", ""),
        # The suppliers paid from the bank.
        ("5", "20261120", "401", "CYCLAB", "204,00", "0,00", "AA"),
        ("5", "20261120", "512", "", "0,00", "204,00", ""),
        ("6", "20261125", "401", "TAIPEI", "580,00", "0,00", "AB"),
        ("6", "20261125", "512", "", "0,00", "580,00", ""),
    ]
    assert {r[10] for r in rows if r[2] == "5"} == {"Paiement fournisseur CYCLAB F-100"}
    assert {r[8] for r in rows if r[2] == "5"} == {f"PAF-{to_cyclab.id:06d}"}
    # 264,00 + 465,50 + 696,00 + 60,00 + 204,00 + 580,00 on each side.
    debit = sum(Decimal(r[11].replace(",", ".")) for r in rows)
    assert debit == sum(Decimal(r[12].replace(",", ".")) for r in rows) == Decimal("2269.50")


def test_the_purchase_accounts_come_from_the_settings(purchases, make):
    save_identity(valid(account_suppliers="40100000", account_purchase_shipping="6241"))
    db.session.commit()
    _, content = exports.fec(*NOVEMBER)
    accounts = {line.split("\t")[4] for line in content.decode("iso-8859-15").split("\r\n")[1:-1]}
    assert {"40100000", "6241", "607", "44566", "4452", "445662", "512"} == accounts


def test_an_invoice_not_booked_is_not_in_the_journal(make):
    supplier = make.supplier(code="CYCLAB")
    invoice = booked(supplier, "F-1", date(2026, 11, 5), date(2026, 11, 6), [], "0.00")
    invoice.status, invoice.booked_on = SupplierInvoiceStatus.TO_CHECK, None
    db.session.commit()
    _, content = exports.fec(*NOVEMBER)
    assert b"HA\t" not in content
