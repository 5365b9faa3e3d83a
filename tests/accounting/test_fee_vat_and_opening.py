"""The coop fee's treatment, VAT on receipts, and the opening entries of a fiscal year."""

from datetime import date
from decimal import Decimal

import pytest

from coop.accounting import exports
from coop.extensions import db
from coop.invoicing.models import LineKind
from coop.payments import ledger
from coop.payments.models import Method
from tests.invoicing import factories as invoicing

# Goods 100,00 + fee 5,00 at 20 %: VAT 21,00, of which 1,00 on the fee; total 126,00.
LINES = (
    (LineKind.GOODS, "Pneu 700x25", "PN-700", "8", "12.5000", "0.2000"),
    (LineKind.FEE, "Frais de service de la coopérative", None, "1", "5.0000", "0.2000"),
)
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


def rows(content: bytes) -> list[list[str]]:
    return [line.split("\t") for line in content.decode("iso-8859-15").split("\r\n")[1:-1]]


def postings(content: bytes, journal: str) -> list[tuple[str, str, str, str]]:
    """(EcritureDate, CompteNum, Debit, Credit) of the journal's lines."""
    return [(r[3], r[4], r[11], r[12]) for r in rows(content) if r[0] == journal]


def invoice(make, code: str, *, treatment: str, debits: bool = False, issued_on=date(2026, 11, 10)):
    seller = dict(invoicing.SELLER, vat_on_debits=debits, late_payment_rate="taux BCE + 10")
    return invoicing.invoice(
        make.member(code=code, name=f"Atelier {code}"),
        make.campaign(),
        lines=LINES,
        issued_on=issued_on,
        seller=seller,
        fee_treatment=treatment,
    )


def test_the_fee_as_part_of_the_goods_price_is_goods_revenue(make):
    invoice(make, "VELO01", treatment="goods")
    _, content = exports.fec(*NOVEMBER)
    assert postings(content, "VE") == [
        ("20261110", "411", "126,00", "0,00"),
        ("20261110", "707", "0,00", "105,00"),
        ("20261110", "44571", "0,00", "21,00"),
    ]


def test_the_fee_as_a_service_with_vat_on_debits_is_a_service_taxed_at_once(make):
    invoice(make, "VELO01", treatment="service", debits=True)
    _, content = exports.fec(*NOVEMBER)
    assert postings(content, "VE") == [
        ("20261110", "411", "126,00", "0,00"),
        ("20261110", "707", "0,00", "100,00"),
        ("20261110", "706", "0,00", "5,00"),
        ("20261110", "44571", "0,00", "21,00"),
    ]
    assert postings(content, "OD") == []


def test_the_fee_s_vat_on_receipts_waits_until_the_invoice_is_settled(make):
    """Billed as a service without the debits option: the fee's VAT (1,00) goes to 44574,
    and moves to 44571 the day the invoice is settled (lettered), not before."""
    first = invoice(make, "VELO01", treatment="service")
    ledger.record_payment(
        first.member,
        Decimal("60.00"),
        method=Method.TRANSFER,
        received_on=date(2026, 11, 14),
        invoices=[first],
    )
    db.session.commit()
    _, content = exports.fec(*NOVEMBER)
    assert postings(content, "VE") == [
        ("20261110", "411", "126,00", "0,00"),
        ("20261110", "707", "0,00", "100,00"),
        ("20261110", "706", "0,00", "5,00"),
        ("20261110", "44571", "0,00", "20,00"),
        ("20261110", "44574", "0,00", "1,00"),
    ]
    assert postings(content, "OD") == []  # paid in part: not due yet
    ledger.record_payment(
        first.member,
        Decimal("66.00"),
        method=Method.TRANSFER,
        received_on=date(2026, 12, 2),
        invoices=[first],
    )
    db.session.commit()
    _, december = exports.fec(date(2026, 12, 1), date(2026, 12, 31))
    od = [r for r in rows(december) if r[0] == "OD"]
    assert [(r[2], r[3], r[4], r[11], r[12]) for r in od] == [
        ("4", "20261202", "44574", "1,00", "0,00"),
        ("4", "20261202", "44571", "0,00", "1,00"),
    ]
    assert {r[10] for r in od} == {"TVA sur encaissements exigible, lettrage AA"}
    assert exports.fec(*NOVEMBER)[1] == content


@pytest.fixture
def year_end(make, monkeypatch):
    """December 2026: VELO01 is billed 126,00 and pays 100,00 by transfer; VELO02 is billed
    126,00 and pays nothing. On 31/12: 411 VELO01 26,00 and VELO02 126,00 due, 512 100,00,
    VAT collected 42,00, revenue 210,00 (goods and fee): a profit of 210,00."""
    monkeypatch.setattr(exports, "today", lambda: date(2027, 2, 1))
    first = invoice(make, "VELO01", treatment="goods", issued_on=date(2026, 12, 10))
    invoice(make, "VELO02", treatment="goods", issued_on=date(2026, 12, 11))
    ledger.record_payment(
        first.member,
        Decimal("100.00"),
        method=Method.TRANSFER,
        received_on=date(2026, 12, 20),
        invoices=[first],
    )
    db.session.commit()


def test_a_period_across_the_fiscal_year_opens_the_new_year_with_its_balances(year_end):
    _, content = exports.fec(date(2026, 12, 1), date(2027, 1, 31))
    opening = [r for r in rows(content) if r[0] == "AN"]
    assert [(r[2], r[3], r[4], r[6], r[11], r[12]) for r in opening] == [
        ("4", "20270101", "411", "VELO01", "26,00", "0,00"),
        ("4", "20270101", "411", "VELO02", "126,00", "0,00"),
        ("4", "20270101", "44571", "", "0,00", "42,00"),
        ("4", "20270101", "512", "", "100,00", "0,00"),
        ("4", "20270101", "120", "", "0,00", "210,00"),
    ]
    assert {r[1] for r in opening} == {"À nouveaux"}
    # Exported again, and the months alone: the same entry, once.
    assert exports.fec(date(2027, 1, 1), date(2027, 1, 31))[1].count(b"AN\t") == 5
    assert b"AN\t" not in exports.fec(date(2026, 12, 1), date(2026, 12, 31))[1]


def test_a_year_with_nothing_before_it_has_no_opening_entry(make, monkeypatch):
    monkeypatch.setattr(exports, "today", lambda: date(2027, 2, 1))
    invoice(make, "VELO01", treatment="goods", issued_on=date(2027, 1, 10))
    _, content = exports.fec(date(2027, 1, 1), date(2027, 1, 31))
    assert [r[0] for r in rows(content)] == ["VE"] * 3
