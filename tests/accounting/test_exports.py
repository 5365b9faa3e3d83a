"""The accountant's exports on a hand-computed example: FEC, CSV, ZIP, CLI and page."""

import csv
import functools
import io
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from coop.accounting import exports
from coop.accounting.models import FecEntry
from coop.accounts.models import CoopIdentity, Role
from coop.errors import DomainError
from coop.extensions import db
from coop.invoicing.models import InvoiceDocument, InvoiceKind, LineKind
from coop.payments import ledger
from coop.payments.models import Method, PaymentStatus
from tests.invoicing import factories as invoicing

# Issued with the fee as part of the goods' price (the default treatment): 707.
goods_fee_invoice = functools.partial(invoicing.invoice, fee_treatment="goods")

HEADER = (
    "JournalCode\tJournalLib\tEcritureNum\tEcritureDate\tCompteNum\tCompteLib\tCompAuxNum\t"
    "CompAuxLib\tPieceRef\tPieceDate\tEcritureLib\tDebit\tCredit\tEcritureLet\tDateLet\t"
    "ValidDate\tMontantdevise\tIdevise"
)
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))
PDF = b"%PDF-1.7 test"

# Invoice 1, two VAT rates. 20 %: 125,00 + 8,40 + 3,10 + 2,92 = 139,42 -> VAT 27,884 = 27,88;
# The fee is part of the goods' price (707): goods 125,00 + 21,00 + fee 2,92 = 148,92.
# 5,5 %: 21,00 -> VAT 1,155 = 1,16 (half up). Excl. 160,42 + VAT 29,04 = 189,46.
FIRST = (
    (LineKind.GOODS, "Pneu 700x25", "PN-700", "10", "12.5000", "0.2000"),
    (LineKind.GOODS, "Manuel d'atelier", "LIVRE", "1", "21.0000", "0.0550"),
    (LineKind.SHIPPING, "Port fournisseur (quote-part)", None, "1", "8.4000", "0.2000"),
    (LineKind.CHARGE, "Douane", None, "1", "3.1000", "0.2000"),
    (LineKind.FEE, "Frais de service de la coopérative", None, "1", "2.9200", "0.2000"),
)
# Invoice 2: 60,00 + 1,20 = 61,20 -> VAT 12,24 -> 73,44.
SECOND = (
    (LineKind.GOODS, "Chaîne 11 vitesses", "CH-11", "2", "30.0000", "0.2000"),
    (LineKind.FEE, "Frais de service de la coopérative", None, "1", "1.2000", "0.2000"),
)
# Credit note on invoice 1: two tyres back, 25,00 + VAT 5,00 = 30,00.
CREDIT = ((LineKind.GOODS, "Pneu 700x25 (retour)", "PN-700", "2", "12.5000", "0.2000"),)


@pytest.fixture
def example(make):
    first_shop = make.member(code="VELO01", name="Atelier Vélo Croix-Rousse")
    second_shop = make.member(code="VELO02", name="Cycles Gerland")
    campaign = make.campaign(code="AUT26")
    other_campaign = make.campaign(code="HIV26")
    first = goods_fee_invoice(first_shop, campaign, lines=FIRST, issued_on=date(2026, 11, 10))
    second = goods_fee_invoice(second_shop, campaign, lines=SECOND, issued_on=date(2026, 11, 12))
    credit = goods_fee_invoice(
        first_shop,
        campaign,
        kind=InvoiceKind.CREDIT_NOTE,
        credited=first,
        lines=CREDIT,
        issued_on=date(2026, 11, 15),
    )
    # Outside November and outside the campaign: in no export below.
    later = goods_fee_invoice(
        second_shop, other_campaign, lines=SECOND, issued_on=date(2026, 12, 1)
    )
    return campaign, first, second, credit, later


def fec_rows(first, second, credit) -> list[str]:
    """The expected FEC rows, written out by hand."""
    a, b, c = first.number, second.number, credit.number
    croix_rousse = "VELO01\tAtelier Vélo Croix-Rousse"
    return [
        f"VE\tVentes\t1\t20261110\t411\tClients\t{croix_rousse}\t{a}\t20261110\t"
        f"Facture {a} VELO01\t189,46\t0,00\t\t\t20261110\t\t",
        f"VE\tVentes\t1\t20261110\t707\tVentes de marchandises\t\t\t{a}\t20261110\t"
        f"Facture {a} VELO01\t0,00\t148,92\t\t\t20261110\t\t",
        f"VE\tVentes\t1\t20261110\t7085\tPorts et frais accessoires facturés\t\t\t{a}\t20261110\t"
        f"Facture {a} VELO01\t0,00\t11,50\t\t\t20261110\t\t",
        f"VE\tVentes\t1\t20261110\t44571\tTVA collectée\t\t\t{a}\t20261110\t"
        f"Facture {a} VELO01\t0,00\t29,04\t\t\t20261110\t\t",
        f"VE\tVentes\t2\t20261112\t411\tClients\tVELO02\tCycles Gerland\t{b}\t20261112\t"
        f"Facture {b} VELO02\t73,44\t0,00\t\t\t20261112\t\t",
        f"VE\tVentes\t2\t20261112\t707\tVentes de marchandises\t\t\t{b}\t20261112\t"
        f"Facture {b} VELO02\t0,00\t61,20\t\t\t20261112\t\t",
        f"VE\tVentes\t2\t20261112\t44571\tTVA collectée\t\t\t{b}\t20261112\t"
        f"Facture {b} VELO02\t0,00\t12,24\t\t\t20261112\t\t",
        f"VE\tVentes\t3\t20261115\t411\tClients\t{croix_rousse}\t{c}\t20261115\t"
        f"Avoir {c} VELO01\t0,00\t30,00\t\t\t20261115\t\t",
        f"VE\tVentes\t3\t20261115\t707\tVentes de marchandises\t\t\t{c}\t20261115\t"
        f"Avoir {c} VELO01\t25,00\t0,00\t\t\t20261115\t\t",
        f"VE\tVentes\t3\t20261115\t44571\tTVA collectée\t\t\t{c}\t20261115\t"
        f"Avoir {c} VELO01\t5,00\t0,00\t\t\t20261115\t\t",
    ]


def amount(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


# --- FEC ------------------------------------------------------------------------------------


def test_the_fec_of_the_example_is_exactly_the_hand_computed_file(example):
    _, first, second, credit, _ = example
    filename, content = exports.fec(*NOVEMBER)
    assert filename == "812345676FEC20261130.txt"
    text = content.decode("iso-8859-15")
    assert text.endswith("\r\n")
    lines = text.split("\r\n")[:-1]
    assert lines[0] == HEADER
    assert lines[1:] == fec_rows(first, second, credit)


def test_every_fec_entry_is_balanced_and_numbered_without_gaps(example):
    _, content = exports.fec(*NOVEMBER)
    rows = [line.split("\t") for line in content.decode("iso-8859-15").split("\r\n")[1:-1]]
    assert all(len(row) == 18 for row in rows)
    numbers = [int(row[2]) for row in rows]
    assert sorted(set(numbers)) == list(range(1, max(numbers) + 1))
    assert numbers == sorted(numbers)
    for number in set(numbers):
        entry = [row for row in rows if int(row[2]) == number]
        assert sum(amount(r[11]) for r in entry) == sum(amount(r[12]) for r in entry)


def test_the_fec_is_latin9_with_transliterated_typography(make):
    shop = make.member(code="VELO09", name="L’Atelier — Vélo 🚲")
    goods_fee_invoice(shop, make.campaign(), lines=SECOND, issued_on=date(2026, 11, 3))
    _, content = exports.fec(*NOVEMBER)
    assert "VELO09\tL'Atelier - Vélo ?\t".encode("iso-8859-15") in content


def test_the_fec_takes_its_accounts_and_siren_from_the_identity_settings(example):
    db.session.add(
        CoopIdentity(
            id=1,
            name="Coop",
            siren="732829320",
            address="1 rue X",
            postcode="69003",
            city="Lyon",
            account_customers="41100000",
            account_goods="70700000",
            account_shipping="70850000",
            account_fee="70600000",
            account_vat="44571200",
        )
    )
    db.session.commit()
    filename, content = exports.fec(*NOVEMBER)
    assert filename == "732829320FEC20261130.txt"
    accounts = {line.split("\t")[4] for line in content.decode("iso-8859-15").split("\r\n")[1:-1]}
    # The fee is part of the goods' price: no 706 line.
    assert accounts == {"41100000", "70700000", "70850000", "44571200"}


def test_an_empty_period_gives_the_header_alone(example):
    _, content = exports.fec(date(2025, 1, 1), date(2025, 1, 31))
    assert content == (HEADER + "\r\n").encode()


def test_a_period_ending_before_it_starts_is_refused(db_session):
    with pytest.raises(DomainError, match="date de début"):
        exports.fec(date(2026, 11, 30), date(2026, 11, 1))


# --- the bank journal and lettering ---------------------------------------------------------


@pytest.fixture
def settled(example):
    """The example's money: a card payment with fees, a refund, a partial transfer.

    VELO01 pays invoice 1 in full by card on 11/11 (189,46, of which Stripe keeps
    1,5 % + 0,25 = 3,09); the credit note of 15/11 leaves 30,00 of it unused, paid
    back on 18/11: invoice 1, its credit note, the payment and the refund settle each
    other. VELO02 pays 50,00 of its 73,44 by transfer on 20/11: not settled.
    """
    _, first, second, credit, _ = example
    card = ledger.record_payment(
        first.member,
        Decimal("189.46"),
        method=Method.CARD,
        received_on=date(2026, 11, 11),
        fees=Decimal("3.09"),
        invoices=[first],
        stripe_payment_intent_id="pi_1",
    )
    refund = ledger.record_refund(card, Decimal("30.00"), on=date(2026, 11, 18), credit_note=credit)
    transfer = ledger.record_payment(
        second.member,
        Decimal("50.00"),
        method=Method.TRANSFER,
        received_on=date(2026, 11, 20),
        invoices=[second],
    )
    db.session.commit()
    return card, refund, transfer


def lettered(rows: list[str], lines: dict[int, tuple[str, str]]) -> list[str]:
    """`rows` with EcritureLet and DateLet set on the rows at the given positions."""
    out = []
    for n, row in enumerate(rows):
        cells = row.split("\t")
        if n in lines:
            cells[13], cells[14] = lines[n]
        out.append("\t".join(cells))
    return out


def numbered(rows: list[str], number: int) -> list[str]:
    """`rows` of one entry given the EcritureNum `number`."""
    return ["\t".join([*row.split("\t")[:2], str(number), *row.split("\t")[3:]]) for row in rows]


def test_entries_are_numbered_by_day_across_journals_and_lettered_as_soon_as_sets_balance(
    example, settled
):
    _, first, second, credit, _ = example
    card, refund, transfer = settled
    a, b, c = first.number, second.number, credit.number
    croix_rousse, gerland = "VELO01\tAtelier Vélo Croix-Rousse", "VELO02\tCycles Gerland"
    p1, r1, p2 = f"REG-{card.id:06d}", f"RMB-{refund.id:06d}", f"REG-{transfer.id:06d}"
    # Invoice 1 (its 411 line is row 0) and the card payment balance on 11/11: AA; the
    # credit note (row 7) and its refund on 18/11: AB.
    sales = lettered(
        fec_rows(first, second, credit), {0: ("AA", "20261111"), 7: ("AB", "20261118")}
    )
    card_entry = [
        f"BQ\tBanque\t2\t20261111\t511\tValeurs à l'encaissement (Stripe)\t\t\t{p1}\t20261111\t"
        f"Règlement carte VELO01 {a}\t186,37\t0,00\t\t\t20261111\t\t",
        f"BQ\tBanque\t2\t20261111\t627\tServices bancaires et assimilés\t\t\t{p1}\t20261111\t"
        f"Règlement carte VELO01 {a}\t3,09\t0,00\t\t\t20261111\t\t",
        f"BQ\tBanque\t2\t20261111\t411\tClients\t{croix_rousse}\t{p1}\t20261111\t"
        f"Règlement carte VELO01 {a}\t0,00\t189,46\tAA\t20261111\t20261111\t\t",
    ]
    refund_entry = [
        f"BQ\tBanque\t5\t20261118\t411\tClients\t{croix_rousse}\t{r1}\t20261118\t"
        f"Remboursement VELO01 avoir {c}\t30,00\t0,00\tAB\t20261118\t20261118\t\t",
        f"BQ\tBanque\t5\t20261118\t511\tValeurs à l'encaissement (Stripe)\t\t\t{r1}\t20261118\t"
        f"Remboursement VELO01 avoir {c}\t0,00\t30,00\t\t\t20261118\t\t",
    ]
    transfer_entry = [
        f"BQ\tBanque\t6\t20261120\t512\tBanque\t\t\t{p2}\t20261120\t"
        f"Règlement virement VELO02 {b}\t50,00\t0,00\t\t\t20261120\t\t",
        f"BQ\tBanque\t6\t20261120\t411\tClients\t{gerland}\t{p2}\t20261120\t"
        f"Règlement virement VELO02 {b}\t0,00\t50,00\t\t\t20261120\t\t",
    ]
    _, content = exports.fec(*NOVEMBER)
    lines = content.decode("iso-8859-15").split("\r\n")[:-1]
    assert lines[0] == HEADER
    # 10/11 invoice 1, 11/11 card, 12/11 invoice 2, 15/11 credit note, 18/11 refund, 20/11 transfer.
    assert lines[1:] == [
        *numbered(sales[0:4], 1),
        *card_entry,
        *numbered(sales[4:7], 3),
        *numbered(sales[7:10], 4),
        *refund_entry,
        *transfer_entry,
    ]
    assert [line.split("\t")[3] for line in lines[1:]] == sorted(
        line.split("\t")[3] for line in lines[1:]
    )


def test_the_file_with_the_bank_journal_is_balanced_and_gapless(example, settled):
    _, content = exports.fec(*NOVEMBER)
    rows = [line.split("\t") for line in content.decode("iso-8859-15").split("\r\n")[1:-1]]
    assert all(len(row) == 18 for row in rows)
    numbers = [int(row[2]) for row in rows]
    assert numbers == sorted(numbers) and sorted(set(numbers)) == list(range(1, 7))
    for number in set(numbers):
        entry = [row for row in rows if int(row[2]) == number]
        assert sum(amount(r[11]) for r in entry) == sum(amount(r[12]) for r in entry)
    assert sum(amount(r[11]) for r in rows) == sum(amount(r[12]) for r in rows)
    # Lettered lines balance on the customers' account, code by code.
    for code in {row[13] for row in rows if row[13]}:
        group = [row for row in rows if row[13] == code]
        assert {row[4] for row in group} == {"411"}
        assert sum(amount(r[11]) for r in group) == sum(amount(r[12]) for r in group)


def test_a_failed_or_pending_payment_is_not_in_the_bank_journal(example):
    _, first, *_ = example
    pending = ledger.record_payment(
        first.member,
        Decimal("100.00"),
        method=Method.SEPA_DEBIT,
        received_on=date(2026, 11, 20),
        status=PaymentStatus.PENDING,
    )
    failed = ledger.record_payment(
        first.member,
        Decimal("100.00"),
        method=Method.SEPA_DEBIT,
        received_on=date(2026, 11, 21),
        status=PaymentStatus.PENDING,
    )
    ledger.mark_failed(failed)
    db.session.commit()
    _, november = exports.fec(*NOVEMBER)
    assert b"BQ\t" not in november
    ledger.mark_succeeded(pending, on=date(2026, 11, 25))
    db.session.commit()
    # November is closed: the payment confirmed since joins the next export, on its first
    # day, its piece keeping the day the money arrived.
    assert exports.fec(*NOVEMBER)[1] == november
    _, december = exports.fec(date(2026, 12, 1), date(2026, 12, 31))
    bank = [row.split("\t") for row in december.decode("iso-8859-15").split("\r\n")]
    bank = [row for row in bank if row[0] == "BQ"]
    assert [(row[3], row[4], row[9]) for row in bank] == [
        ("20261201", "511", "20261125"),  # a SEPA debit waits on Stripe's clearing account
        ("20261201", "411", "20261125"),
    ]


def test_an_invoice_settled_in_the_next_period_is_lettered_there_and_codes_are_kept(
    example, settled
):
    _, first, second, credit, later = example
    card, refund, transfer = settled
    # VELO02 pays the rest of invoice 2 (23,44) and the December invoice (73,44) on 03/12.
    december = ledger.record_payment(
        second.member,
        Decimal("96.88"),
        method=Method.TRANSFER,
        received_on=date(2026, 12, 3),
        invoices=[second, later],
    )
    db.session.commit()
    november = exports.fec(*NOVEMBER)[1]
    assert november == exports.fec(*NOVEMBER)[1]  # the same file, asked again later
    assert b"\tAC\t" not in november  # on 30/11, invoice 2 was not settled yet

    def groups(content: bytes) -> dict:
        found = {}
        for row in (line.split("\t") for line in content.decode("iso-8859-15").split("\r\n")):
            if len(row) == 18 and row[13] and row[13] != "EcritureLet":
                found.setdefault((row[13], row[14]), set()).add(row[8])
        return found

    paid = {first.number, f"REG-{card.id:06d}"}
    refunded = {credit.number, f"RMB-{refund.id:06d}"}
    assert groups(november) == {("AA", "20261111"): paid, ("AB", "20261118"): refunded}
    assert groups(exports.fec(date(2026, 11, 1), date(2026, 12, 31))[1]) == {
        ("AA", "20261111"): paid,
        ("AB", "20261118"): refunded,
        ("AC", "20261203"): {
            second.number,
            later.number,
            f"REG-{transfer.id:06d}",
            f"REG-{december.id:06d}",
        },
    }
    # December alone: the payment's line carries the code its invoices got.
    assert groups(exports.fec(date(2026, 12, 1), date(2026, 12, 31))[1]) == {
        ("AC", "20261203"): {later.number, f"REG-{december.id:06d}"},
    }


def test_a_past_month_exported_again_after_later_events_is_byte_identical(example, settled):
    _, first, second, _, later = example
    november = exports.fec(*NOVEMBER)[1]
    db.session.commit()
    # December: a new invoice for VELO01, a payment settling November's invoice 2 and
    # December's (it letters a November entry), a renamed shop, other account numbers.
    december = goods_fee_invoice(
        first.member, first.campaign, lines=SECOND, issued_on=date(2026, 12, 2)
    )
    ledger.record_payment(
        second.member,
        Decimal("96.88"),
        method=Method.TRANSFER,
        received_on=date(2026, 12, 3),
        invoices=[second, later],
    )
    ledger.record_payment(
        first.member,
        Decimal("73.44"),
        method=Method.TRANSFER,
        received_on=date(2026, 12, 4),
        invoices=[december],
    )
    second.member.name = "Cycles Gerland et fils"
    db.session.add(
        CoopIdentity(
            id=1,
            name="Coop",
            siren="812345676",
            address="1 rue X",
            postcode="69003",
            city="Lyon",
            account_customers="41100000",
            account_bank="51210000",
        )
    )
    db.session.commit()
    both = exports.fec(date(2026, 11, 1), date(2026, 12, 31))[1]
    db.session.commit()
    assert exports.fec(*NOVEMBER)[1] == november
    # The two months together: November's entries as exported (invoice 2 lettered on
    # 03/12 besides), then December's, numbered on, with the shop's new name and the
    # new account numbers.
    nov_rows = november.split(b"\r\n")[1:-1]
    rows = both.split(b"\r\n")[1:-1]
    assert [row for row in rows[: len(nov_rows)] if row not in nov_rows] == [
        row.replace(b"\t\t\t20261112", b"\tAC\t20261203\t20261112")
        for row in nov_rows
        if row.startswith(b"VE\tVentes\t3\t20261112\t411\t")
    ] + [
        row.replace(b"\t\t\t20261120", b"\tAC\t20261203\t20261120")
        for row in nov_rows
        if row.startswith(b"BQ\tBanque\t6\t20261120\t411\t")
    ]
    december_rows = [row.decode("iso-8859-15").split("\t") for row in rows[len(nov_rows) :]]
    assert [(row[2], row[3], row[4], row[7]) for row in december_rows if row[6]] == [
        ("7", "20261201", "41100000", "Cycles Gerland et fils"),
        ("8", "20261202", "41100000", "Atelier Vélo Croix-Rousse"),
        ("9", "20261203", "41100000", "Cycles Gerland et fils"),
        ("10", "20261204", "41100000", "Atelier Vélo Croix-Rousse"),
    ]


def test_a_later_month_exported_first_numbers_the_earlier_ones_before_its_own(example, settled):
    december = exports.fec(date(2026, 12, 1), date(2026, 12, 31))[1]
    rows = [line.split("\t") for line in december.decode("iso-8859-15").split("\r\n")[1:-1]]
    # November's six entries are booked first (1 to 6): December's invoice is the 7th.
    assert {(row[2], row[3]) for row in rows} == {("7", "20261201")}
    november = exports.fec(*NOVEMBER)[1]
    numbers = [line.split(b"\t")[2] for line in november.split(b"\r\n")[1:-1]]
    assert sorted(set(numbers), key=int) == [b"1", b"2", b"3", b"4", b"5", b"6"]


def test_an_exported_entry_cannot_be_changed_or_deleted_even_in_sql(example):
    exports.fec(*NOVEMBER)
    db.session.commit()
    entry = db.session.scalars(select(FecEntry).order_by(FecEntry.number)).first()
    with pytest.raises(DomainError):
        entry.label = "autre"
        db.session.flush()
    db.session.rollback()
    for statement in (
        "UPDATE fec_entries SET label = 'autre' WHERE number = 1",
        "UPDATE fec_entries SET number = 99 WHERE number = 1",
        "DELETE FROM fec_entries WHERE number = 1",
    ):
        with pytest.raises(DBAPIError):
            db.session.execute(text(statement))
        db.session.rollback()
    db.session.execute(
        text("UPDATE fec_entries SET lettering = 'AA', lettered_on = '2026-11-30' WHERE number = 1")
    )
    with pytest.raises(DBAPIError):
        db.session.execute(text("UPDATE fec_entries SET lettering = 'AB' WHERE number = 1"))
    db.session.rollback()


@pytest.fixture
def credited_then_reused(make):
    """VELO03's invoice paid, then partly credited; the excess pays its next invoice.

    Invoice A (2 chains, 61,20 excl. + 12,24 VAT = 73,44) issued 02/11, paid by a
    73,44 transfer on 03/11. Credit note on A, 30,00 (25,00 + 5,00 VAT), on 05/11:
    30,00 of the payment becomes credit. Invoice B (73,44) issued 06/11: the credit
    pays 30,00 of it; a transfer of 43,44 on 08/11 pays the rest.
    """
    shop = make.member(code="VELO03", name="Rayons de Lyon")
    campaign = make.campaign(code="AUT27")
    first = goods_fee_invoice(shop, campaign, lines=SECOND, issued_on=date(2026, 11, 2))
    paid = ledger.record_payment(
        shop,
        Decimal("73.44"),
        method=Method.TRANSFER,
        received_on=date(2026, 11, 3),
        invoices=[first],
    )
    note = goods_fee_invoice(
        shop,
        campaign,
        kind=InvoiceKind.CREDIT_NOTE,
        credited=first,
        lines=CREDIT,
        issued_on=date(2026, 11, 5),
    )
    ledger.settle(shop)
    second = goods_fee_invoice(shop, campaign, lines=SECOND, issued_on=date(2026, 11, 6))
    ledger.settle(shop)
    rest = ledger.record_payment(
        shop,
        Decimal("43.44"),
        method=Method.TRANSFER,
        received_on=date(2026, 11, 8),
        invoices=[second],
    )
    db.session.commit()
    assert [(a.invoice, a.amount) for a in paid.allocations] == [
        (first, Decimal("43.44")),
        (second, Decimal("30.00")),
    ]
    return first, paid, note, second, rest


def test_an_invoice_paid_then_credited_whose_excess_pays_another_is_all_lettered(
    credited_then_reused,
):
    first, paid, note, second, rest = credited_then_reused
    _, content = exports.fec(*NOVEMBER)
    customers = [
        (row[8], row[11], row[12], row[13], row[14])
        for row in (line.split("\t") for line in content.decode("iso-8859-15").split("\r\n"))
        if len(row) == 18 and row[4] == "411"
    ]
    # A and its payment balance on 03/11 (AA); the credit note, B and the second
    # transfer balance on 08/11 (-30,00 + 73,44 - 43,44 = 0): AB.
    assert customers == [
        (first.number, "73,44", "0,00", "AA", "20261103"),
        (f"REG-{paid.id:06d}", "0,00", "73,44", "AA", "20261103"),
        (note.number, "0,00", "30,00", "AB", "20261108"),
        (second.number, "73,44", "0,00", "AB", "20261108"),
        (f"REG-{rest.id:06d}", "0,00", "43,44", "AB", "20261108"),
    ]


def test_a_shop_whose_open_lines_balance_is_lettered_even_without_links(make):
    shop = make.member(code="VELO04", name="Pignon sur rue")
    invoice = goods_fee_invoice(shop, make.campaign(), lines=SECOND, issued_on=date(2026, 11, 2))
    # Recorded on the shop's account without naming the invoice, then never allocated.
    payment = ledger.record_payment(
        shop, Decimal("73.44"), method=Method.CHEQUE, received_on=date(2026, 11, 9)
    )
    for allocation in list(payment.allocations):
        payment.allocations.remove(allocation)
        db.session.delete(allocation)
    db.session.commit()
    _, content = exports.fec(*NOVEMBER)
    lettering = {
        row[8]: (row[13], row[14])
        for row in (line.split("\t") for line in content.decode("iso-8859-15").split("\r\n"))
        if len(row) == 18 and row[4] == "411"
    }
    assert lettering == {
        invoice.number: ("AA", "20261109"),
        f"REG-{payment.id:06d}": ("AA", "20261109"),
    }


def test_letter_codes_run_from_aa_to_zz_then_three_letters():
    assert [exports.letter_code(n) for n in (0, 1, 25, 26, 675, 676, 677)] == [
        "AA",
        "AB",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
        "AAB",
    ]


def test_the_bank_accounts_come_from_the_identity_settings(app, example, settled, monkeypatch):
    monkeypatch.setitem(app.config, "COOP_ACCOUNT_STRIPE_CLEARING", "46710000")
    db.session.add(
        CoopIdentity(
            id=1,
            name="Coop",
            siren="732829320",
            address="1 rue X",
            postcode="69003",
            city="Lyon",
            account_customers="41100000",
            account_bank="51210000",
            account_bank_fees="62780000",
        )
    )
    db.session.commit()
    _, content = exports.fec(*NOVEMBER)
    bank = [
        line.split("\t")
        for line in content.decode("iso-8859-15").split("\r\n")
        if line.startswith("BQ\t")
    ]
    assert {row[4] for row in bank} == {"41100000", "46710000", "51210000", "62780000"}


# --- CSV and ZIP ----------------------------------------------------------------------------


def test_the_csv_has_one_row_per_line_with_its_invoice_totals(example):
    _, first, second, credit, _ = example
    filename, content = exports.invoices_csv(exports.Selection(*NOVEMBER))
    assert filename == "factures-20261101-20261130.csv"
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    a, b, c = first.number, second.number, credit.number
    croix_rousse = ["VELO01", "Atelier Vélo Croix-Rousse"]
    totals_a, totals_b = ["160,42", "29,04", "189,46"], ["61,20", "12,24", "73,44"]
    assert rows == [
        list(exports.CSV_HEADER),
        [
            a,
            "Facture",
            "10/11/2026",
            *croix_rousse,
            "Marchandises",
            "Pneu 700x25",
            "10",
            "12,50",
            "20",
            "125,00",
            *totals_a,
        ],
        [
            a,
            "Facture",
            "10/11/2026",
            *croix_rousse,
            "Marchandises",
            "Manuel d'atelier",
            "1",
            "21,00",
            "5,5",
            "21,00",
            *totals_a,
        ],
        [
            a,
            "Facture",
            "10/11/2026",
            *croix_rousse,
            "Port",
            "Port fournisseur (quote-part)",
            "1",
            "8,40",
            "20",
            "8,40",
            *totals_a,
        ],
        [
            a,
            "Facture",
            "10/11/2026",
            *croix_rousse,
            "Frais",
            "Douane",
            "1",
            "3,10",
            "20",
            "3,10",
            *totals_a,
        ],
        [
            a,
            "Facture",
            "10/11/2026",
            *croix_rousse,
            "Commission",
            "Frais de service de la coopérative",
            "1",
            "2,92",
            "20",
            "2,92",
            *totals_a,
        ],
        [
            b,
            "Facture",
            "12/11/2026",
            "VELO02",
            "Cycles Gerland",
            "Marchandises",
            "Chaîne 11 vitesses",
            "2",
            "30,00",
            "20",
            "60,00",
            *totals_b,
        ],
        [
            b,
            "Facture",
            "12/11/2026",
            "VELO02",
            "Cycles Gerland",
            "Commission",
            "Frais de service de la coopérative",
            "1",
            "1,20",
            "20",
            "1,20",
            *totals_b,
        ],
        [
            c,
            "Avoir",
            "15/11/2026",
            *croix_rousse,
            "Marchandises",
            "Pneu 700x25 (retour)",
            "2",
            "12,50",
            "20",
            "25,00",
            "25,00",
            "5,00",
            "30,00",
        ],
    ]
    assert content.count(b"\r\n") == len(rows)


def test_the_csv_of_a_campaign_ignores_the_period(example):
    campaign = example[0]
    filename, content = exports.invoices_csv(exports.Selection(campaign=campaign))
    assert filename == "factures-AUT26.csv"
    rows = csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";")
    numbers = {row[0] for row in rows}
    assert numbers == {"Numéro", example[1].number, example[2].number, example[3].number}


def test_the_zip_holds_the_stored_pdfs_and_lists_the_missing_ones(example):
    _, first, second, credit, _ = example
    for invoice in (first, credit):
        db.session.add(InvoiceDocument(invoice_id=invoice.id, pdf=PDF, sha256="0" * 64))
    db.session.commit()
    filename, content = exports.invoices_zip(exports.Selection(*NOVEMBER))
    assert filename == "factures-20261101-20261130.zip"
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert sorted(archive.namelist()) == sorted(
            [f"{first.number}.pdf", f"{credit.number}.pdf", "README.txt"]
        )
        assert archive.read(f"{first.number}.pdf") == PDF
        readme = archive.read("README.txt").decode("utf-8")
    assert "2 PDF sur 3 documents." in readme
    assert f"- {second.number} du 12/11/2026, VELO02" in readme
    assert first.number not in readme


def test_a_selection_needs_a_period_or_a_campaign(db_session):
    with pytest.raises(DomainError, match="période ou une campagne"):
        exports.Selection(date(2026, 11, 1), None)


# --- text a spreadsheet would run -----------------------------------------------------------


@pytest.fixture
def hostile(make):
    shop = make.member(code="-VELO", name='=HYPERLINK("http://evil.example";"Atelier")')
    lines = ((LineKind.GOODS, "@SUM(1+1)*cmd|' /C calc'!A0", "PN", "3", "12.5000", "0.2000"),)
    invoice = goods_fee_invoice(
        shop, make.campaign(code="AUT26"), lines=lines, issued_on=date(2026, 11, 10)
    )
    return invoice


def test_the_fec_quotes_a_shop_name_a_spreadsheet_would_run_and_keeps_the_amounts(
    client, make, hostile
):
    client.login_as(make.user(Role.TREASURER))
    response = client.get("/exports/fec?date_from=2026-11-01&date_to=2026-11-30")
    lines = response.data.decode("iso-8859-15").split("\r\n")
    n = hostile.number
    assert lines[1] == (
        f"VE\tVentes\t1\t20261110\t411\tClients\t'-VELO\t"
        f'\'=HYPERLINK("http://evil.example";"Atelier")\t{n}\t20261110\t'
        f"Facture {n} -VELO\t45,00\t0,00\t\t\t20261110\t\t"
    )
    assert [line.split("\t")[11:13] for line in lines[2:4]] == [["0,00", "37,50"], ["0,00", "7,50"]]


def test_the_invoices_csv_quotes_text_a_spreadsheet_would_run_and_keeps_the_numbers(
    client, make, hostile
):
    client.login_as(make.user(Role.TREASURER))
    response = client.get("/exports/invoices.csv?date_from=2026-11-01&date_to=2026-11-30")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[1] == [
        hostile.number,
        "Facture",
        "10/11/2026",
        "'-VELO",
        '\'=HYPERLINK("http://evil.example";"Atelier")',
        "Marchandises",
        "'@SUM(1+1)*cmd|' /C calc'!A0",
        "3",
        "12,50",
        "20",
        "37,50",
        "37,50",
        "7,50",
        "45,00",
    ]


# --- CLI ------------------------------------------------------------------------------------


def test_cli_writes_the_fec_under_its_legal_name(runner, example, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(args=["export", "fec", "--from", "2026-11-01", "--to", "2026-11-30"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "812345676FEC20261130.txt").read_bytes() == exports.fec(*NOVEMBER)[1]


def test_cli_writes_the_fec_where_asked(runner, example, tmp_path):
    out = tmp_path / "fec.txt"
    result = runner.invoke(
        args=["export", "fec", "--from", "2026-11-01", "--to", "2026-11-30", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(HEADER.encode())


def test_cli_refuses_a_period_ending_before_it_starts(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(args=["export", "fec", "--from", "2026-12-01", "--to", "2026-11-30"])
    assert result.exit_code == 1
    assert "La date de début doit être antérieure ou égale à la date de fin" in result.output
    assert list(tmp_path.iterdir()) == []


# --- the treasurer's page -------------------------------------------------------------------


def test_the_page_proposes_the_current_month(client, make, monkeypatch):
    monkeypatch.setattr("coop.accounting.export_forms.today", lambda: date(2026, 2, 14))
    client.login_as(make.user(Role.TREASURER))
    page = client.get("/exports").text
    assert 'value="2026-02-01"' in page
    assert 'value="2026-02-28"' in page
    assert "/exports/fec" in page and "/exports/invoices.csv" in page


def test_the_treasurer_downloads_the_three_exports(client, make, example):
    client.login_as(make.user(Role.TREASURER))
    period = "date_from=2026-11-01&date_to=2026-11-30"
    fec = client.get(f"/exports/fec?{period}&campaign=")
    assert fec.status_code == 200
    assert fec.data == exports.fec(*NOVEMBER)[1]
    assert 'filename="812345676FEC20261130.txt"' in fec.headers["Content-Disposition"]
    by_campaign = client.get(f"/exports/invoices.csv?{period}&campaign={example[0].id}")
    assert 'filename="factures-AUT26.csv"' in by_campaign.headers["Content-Disposition"]
    archive = client.get(f"/exports/invoices.zip?{period}")
    assert archive.mimetype == "application/zip"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("date_from=2026-11-30&date_to=2026-11-01", "La date de fin doit suivre la date de début"),
        ("date_from=&date_to=2026-11-30", "Indiquez la date de début"),
        ("date_from=31/02/2026&date_to=2026-11-30", "Date invalide"),
    ],
)
def test_a_bad_period_is_shown_next_to_the_field_in_french(client, make, query, message):
    client.login_as(make.user(Role.TREASURER))
    for endpoint in ("fec", "invoices.csv", "invoices.zip"):
        response = client.get(f"/exports/{endpoint}?{query}")
        assert response.status_code == 422
        assert message in response.text
        assert 'class="error"' in response.text


def test_a_campaign_needs_no_period_except_for_the_fec(client, make, example):
    client.login_as(make.user(Role.TREASURER))
    no_period = f"date_from=&date_to=&campaign={example[0].id}"
    assert client.get(f"/exports/invoices.csv?{no_period}").status_code == 200
    assert client.get(f"/exports/fec?{no_period}").status_code == 422
    unknown = client.get("/exports/invoices.zip?campaign=999999")
    assert unknown.status_code == 422
    assert "Campagne inconnue" in unknown.text


@pytest.mark.parametrize("role", [Role.MEMBER, Role.MANAGER, Role.ADMIN])
def test_only_the_treasurer_exports(client, make, role):
    client.login_as(make.user(role))
    assert client.get("/exports").status_code == 403
    assert client.get("/exports/fec?date_from=2026-11-01&date_to=2026-11-30").status_code == 403


def test_anonymous_is_sent_to_login(client):
    assert client.get("/exports/fec").location.startswith("/login")


def test_the_exports_link_shows_for_the_treasurer_only(client, make):
    client.login_as(make.user(Role.MANAGER))
    assert "/exports" not in client.get("/").text
    client.login_as(make.user(Role.TREASURER))
    assert 'href="/exports"' in client.get("/").text
