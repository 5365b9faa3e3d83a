"""Bank statements: French exports read, lines kept once, transfers matched to invoices."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from coop.accounts.models import Role
from coop.errors import DomainError, FieldError, InvalidRows
from coop.extensions import db
from coop.invoicing.models import InvoiceKind
from coop.payments import bank, ledger
from coop.payments.models import BankImport, BankLine, BankLineStatus, Method, Payment
from tests.conftest import at_once
from tests.invoicing import factories as invoices

DATA = Path(__file__).parent / "data"
TOTAL = Decimal("148.65")  # the factory invoice, incl. VAT


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def statement(*rows: str, header: str = "Date;Libellé;Montant") -> bytes:
    """A small statement as a French bank writes it: a line about the account, then the table."""
    return "\r\n".join(["Compte courant;00012345678", "", header, *rows]).encode("cp1252")


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def import_(data: bytes, name: str = "releve.csv", by=None) -> bank.ImportOutcome:
    outcome = bank.import_statement(data, name, by=by)
    db.session.commit()
    return outcome


def lines() -> list[BankLine]:
    return db.session.scalars(select(BankLine).order_by(BankLine.id)).all()


# --- reading French exports ------------------------------------------------------------------


def test_a_credit_agricole_export_is_read_past_its_header_lines():
    ops = bank.parse_statement(read("credit_agricole.csv"))
    assert [(op.line, op.booked_on, op.amount) for op in ops] == [
        (9, date(2026, 11, 3), Decimal("1250.00")),
        (11, date(2026, 11, 4), Decimal("-39.99")),
        (13, date(2026, 11, 5), Decimal("148.65")),
        (15, date(2026, 11, 5), Decimal("-2.50")),
        (16, date(2026, 11, 12), Decimal("1234.56")),
        (17, date(2026, 11, 12), Decimal("80.00")),
        (18, date(2026, 11, 12), Decimal("80.00")),
    ]
    # Windows-1252 accents, and a label the bank wrote over two lines read as one.
    assert ops[2].label == "VIR SEPA RECU /DE CYCLES DU RHÔNE /MOTIF RÈGLEMENT"
    assert ops[4].label == "VIR SEPA RECU /DE L'ÉCHAPPÉE BELLE /MOTIF REMISE CHÈQUES"


def test_a_la_banque_postale_export_has_one_signed_amount_column_and_francs_ignored():
    ops = bank.parse_statement(read("la_banque_postale.csv"))
    assert [(op.booked_on, op.label, op.amount) for op in ops] == [
        (date(2026, 11, 28), "VIREMENT DE MME GÉRALDINE MÜLLER REF. ACOMPTE", Decimal("200.00")),
        (date(2026, 11, 27), "PRELEVEMENT DE URSSAF RHONE ALPES", Decimal("-312.00")),
        (date(2026, 11, 26), "CARTE X1234 25/11 DÉCATHLON LYON", Decimal("-45.90")),
        (date(2026, 11, 25), "VIREMENT DE VELO SERVICE PLUS", Decimal("96.30")),
    ]


def test_utf8_with_bom_commas_and_iso_dates():
    data = '\ufeffDate,Libellé,Montant,Devise\n2026-11-03,VIR DE ROUE LIBRE,"1 048,50",EUR\n'
    [op] = bank.parse_statement(data.encode("utf-8"))
    assert (op.line, op.booked_on, op.label, op.amount) == (
        2,
        date(2026, 11, 3),
        "VIR DE ROUE LIBRE",
        Decimal("1048.50"),
    )


def test_tab_separated_with_a_non_breaking_space_in_thousands():
    data = "Date de valeur\tIntitulé\tCrédit\tDébit\n03/11/2026\tVIR ATELIER\t2\u00a0500,00\t\n"
    [op] = bank.parse_statement(data.encode("utf-8"))
    assert (op.booked_on, op.amount) == (date(2026, 11, 3), Decimal("2500.00"))


def test_a_short_and_a_long_label_are_joined_and_the_operation_date_wins():
    data = statement(
        "03/11/2026;05/11/2026;VIR SEPA;VIREMENT;VIR SEPA RECU DE ROUE LIBRE RF18 COOP;12,00",
        header="Date de valeur;Date opération;Libellé court;Type opération;Libellé opération;"
        "Montant opération",
    )
    [op] = bank.parse_statement(data)
    assert op.booked_on == date(2026, 11, 5)
    assert op.label == "VIR SEPA RECU DE ROUE LIBRE RF18 COOP"


def test_balance_lines_and_blank_lines_are_skipped():
    data = statement("03/11/2026;VIR ATELIER;10,00", "", ";Solde au 30/11/2026;1 234,56")
    assert [op.amount for op in bank.parse_statement(data)] == [Decimal("10.00")]


def test_a_label_continued_on_the_next_row_is_joined_to_its_operation():
    data = statement(
        "03/11/2026;VIR SEPA RECU /DE ROUE LIBRE;10,00",
        ";/MOTIF RF18 COOP 01;",
        "04/11/2026;FRAIS;-1,00",
    )
    first, second = bank.parse_statement(data)
    assert first.label == "VIR SEPA RECU /DE ROUE LIBRE /MOTIF RF18 COOP 01"
    assert (second.line, second.label) == (6, "FRAIS")


@pytest.mark.parametrize(
    ("cell", "amount"),
    [
        ("1 234,56", "1234.56"),
        ("-12,50", "-12.50"),
        ("1.234,56 €", "1234.56"),
        ("+148.65", "148.65"),
        ("148,6", "148.60"),
        ("1\u202f234,56", "1234.56"),
        ("1.234.567", "1234567.00"),
        ("1,234.56", "1234.56"),
        ("\u221245,90", "-45.90"),
        ("42", "42.00"),
    ],
)
def test_amounts_as_french_banks_write_them(cell, amount):
    assert bank.parse_amount(cell) == Decimal(amount)


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("1.234", "montant ambigu"),
        ("12,345", "montant ambigu"),
        ("12,3456", "au centime"),
        ("abc", "montant attendu"),
        ("1,2,3", "montant invalide"),
        ("12.345,6.7", "invalide"),
    ],
)
def test_amounts_that_cannot_be_read_are_refused(cell, message):
    with pytest.raises(ValueError, match=message):
        bank.parse_amount(cell)


def test_every_bad_cell_is_reported_with_its_line_and_column():
    data = statement(
        "03/11/2026;VIR ATELIER;10,00",
        "31/11/2026;VIR ATELIER;10,00",
        "04/11/2026;VIR ATELIER;dix euros",
        "05/11/2026;;10,00",
        "06/11/2026;VIR ATELIER;",
        header="Date;Libellé;Montant (EUR)",
    )
    with pytest.raises(InvalidRows) as raised:
        bank.parse_statement(data)
    assert raised.value.errors == [
        FieldError(5, "Date", "date invalide '31/11/2026' (attendu JJ/MM/AAAA ou AAAA-MM-JJ)"),
        FieldError(6, "Montant (EUR)", "montant attendu, pas 'dix euros'"),
        FieldError(7, "Libellé", "libellé manquant"),
        FieldError(8, "Montant (EUR)", "montant manquant"),
    ]
    assert str(raised.value.errors[0]).startswith("line 5, column Date: date invalide")


def test_debit_and_credit_columns_must_hold_exactly_one_amount():
    data = statement(
        "03/11/2026;VIR;10,00;5,00", "04/11/2026;VIR;;", header="Date;Libellé;Débit;Crédit"
    )
    with pytest.raises(InvalidRows) as raised:
        bank.parse_statement(data)
    assert raised.value.errors == [
        FieldError(4, "Débit", "débit et crédit sur la même ligne"),
        FieldError(5, "Crédit", "ni débit ni crédit"),
    ]


def test_a_statement_in_another_currency_is_refused():
    data = statement("03/11/2026;VIR;10,00;USD", header="Date;Libellé;Montant;Devise")
    with pytest.raises(InvalidRows) as raised:
        bank.parse_statement(data)
    assert raised.value.errors == [
        FieldError(4, "Devise", "devise USD : seuls les relevés en euros sont importés")
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "le fichier est vide"),
        (b"%PDF-1.7\x00\x01binary", "ce n'est pas un fichier CSV"),
        (b"Date;Description\n03/11/2026;VIR\n", "aucune ligne d'en-tête reconnue"),
        (b"Compte;123\nDate;Libell\xe9;Montant\n\n", "aucune opération dans le relevé"),
    ],
)
def test_files_that_are_not_statements_say_why(data, message):
    with pytest.raises(InvalidRows) as raised:
        bank.parse_statement(data)
    assert message in raised.value.errors[0].message


# --- importing --------------------------------------------------------------------------------


def test_credits_wait_in_the_queue_and_debits_are_kept_ignored(db_session, make):
    treasurer = make.user(Role.TREASURER)
    outcome = import_(read("credit_agricole.csv"), "CA-novembre.csv", by=treasurer)
    assert (outcome.new, outcome.known, outcome.received, outcome.proposed) == (7, 0, 5, 0)
    assert outcome.bank_import.filename == "CA-novembre.csv"
    assert outcome.bank_import.imported_by_id == treasurer.id
    assert [(line.amount, line.status) for line in lines()] == [
        (Decimal("1250.00"), BankLineStatus.UNMATCHED),
        (Decimal("-39.99"), BankLineStatus.IGNORED),
        (Decimal("148.65"), BankLineStatus.UNMATCHED),
        (Decimal("-2.50"), BankLineStatus.IGNORED),
        (Decimal("1234.56"), BankLineStatus.UNMATCHED),
        (Decimal("80.00"), BankLineStatus.UNMATCHED),
        (Decimal("80.00"), BankLineStatus.UNMATCHED),
    ]


def test_the_same_statement_imported_again_is_refused(db_session):
    import_(read("la_banque_postale.csv"), "lbp.csv")
    with pytest.raises(DomainError, match=r"Ce relevé a déjà été importé le .* « lbp\.csv »"):
        bank.import_statement(read("la_banque_postale.csv"), "copie.csv", by=None)
    db.session.rollback()
    assert (count(BankImport), count(BankLine)) == (1, 4)


def test_overlapping_statements_add_only_the_new_lines(db_session):
    first = import_(read("releve_1_au_14_novembre.csv"))
    second = import_(read("releve_14_au_21_novembre.csv"))
    assert (first.new, first.known) == (4, 0)
    # The two cheques of the 14th were known; the third one of that day is new.
    assert (second.new, second.known, second.received) == (3, 2, 2)
    cheques = [line for line in lines() if line.label == "REMISE CHEQUE 0042"]
    assert len(cheques) == 3
    assert (count(BankImport), count(BankLine)) == (2, 7)


def test_a_bad_file_writes_nothing(db_session):
    data = statement("03/11/2026;VIR ATELIER;10,00", "04/11/2026;VIR ATELIER;10,0O")
    with pytest.raises(InvalidRows):
        bank.import_statement(data, "releve.csv", by=None)
    db.session.rollback()
    assert (count(BankImport), count(BankLine)) == (0, 0)


# --- matching ---------------------------------------------------------------------------------


@pytest.fixture
def campaign(make):
    return make.campaign()


def spaced(reference: str) -> str:
    """A reference as a shop types it in its bank's app: lower case, in groups of four."""
    compact = reference.lower()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def only_line() -> BankLine:
    [line] = [line for line in lines() if line.amount > 0]
    return line


def test_the_reference_is_found_whatever_its_spacing_and_case(db_session, make, campaign):
    shop = make.member()
    invoice = invoices.invoice(shop, campaign)
    label = f"VIR SEPA RECU /DE ACME /MOTIF {spaced(invoice.payment_reference)} /REF 4471"
    outcome = import_(statement(f"03/12/2026;{label};148,65"))
    line = only_line()
    assert outcome.proposed == 1
    assert (line.proposed_invoice, line.proposal_reason) == (invoice, "reference")
    proposal = bank.proposals([line])[line.id]
    assert proposal.is_exact and proposal.mismatch is None and proposal.due == TOTAL


def test_the_invoice_number_is_found_when_there_is_no_reference(db_session, make, campaign):
    invoice = invoices.invoice(make.member(), campaign)
    label = f"VIREMENT FACTURE {invoice.number.lower().replace('-', ' ')}"
    import_(statement(f"03/12/2026;{label};148,65"))
    line = only_line()
    assert (line.proposed_invoice, line.proposal_reason) == (invoice, "invoice_number")


def test_by_amount_the_shop_named_in_the_label_wins(db_session, make, campaign):
    croix_rousse = make.member(name="Atelier Vélo Croix-Rousse")
    other = make.member(name="Cycles du Rhône")
    invoices.invoice(other, campaign)
    invoice = invoices.invoice(croix_rousse, campaign)
    import_(statement("03/12/2026;VIR SEPA RECU /DE ATELIER VELO CROIX ROUSSE SARL;148,65"))
    line = only_line()
    assert (line.proposed_invoice, line.proposal_reason) == (invoice, "amount_and_shop")
    assert not bank.proposals([line])[line.id].is_exact


def test_by_amount_alone_only_when_one_open_invoice_owes_it(db_session, make, campaign):
    invoice = invoices.invoice(make.member(), campaign)
    import_(statement("03/12/2026;VIR SEPA RECU /DE M DUPONT;148,65"))
    assert (only_line().proposed_invoice, only_line().proposal_reason) == (invoice, "amount")

    invoices.invoice(make.member(), campaign)
    import_(statement("04/12/2026;VIR SEPA RECU /DE M MARTIN;148,65"))
    second = lines()[-1]
    assert second.proposed_invoice is None and second.proposal_reason is None


def test_one_invoice_is_proposed_by_amount_to_one_line_of_a_statement(db_session, make, campaign):
    shop = make.member(name="Roue Libre")
    invoice = invoices.invoice(shop, campaign)
    import_(statement("03/12/2026;VIR ROUE LIBRE;148,65", "04/12/2026;VIR ROUE LIBRE;148,65"))
    first, second = lines()
    assert first.proposed_invoice == invoice and second.proposed_invoice is None


def test_a_different_amount_is_flagged_then_kept_as_a_partial_payment(db_session, make, campaign):
    treasurer = make.user(Role.TREASURER)
    shop = make.member()
    invoice = invoices.invoice(shop, campaign)
    import_(statement(f"05/12/2026;VIR {invoice.payment_reference};100,00"))
    line = only_line()
    proposal = bank.proposals([line])[line.id]
    assert proposal.invoice == invoice and not proposal.is_exact
    assert proposal.mismatch == "montant différent : 100,00\xa0€ reçus, 148,65\xa0€ dus"

    payment = bank.confirm(line, by=treasurer)
    db.session.commit()
    assert (payment.member, payment.amount, payment.method) == (
        shop,
        Decimal("100.00"),
        Method.TRANSFER,
    )
    assert (payment.received_on, payment.reference) == (date(2026, 12, 5), line.label)
    assert (payment.bank_line_id, payment.recorded_by) == (line.id, treasurer)
    assert line.status is BankLineStatus.MATCHED
    balance = ledger.balance(invoice)
    assert (balance.state, balance.paid, balance.due) == (
        "partly_paid",
        Decimal("100.00"),
        Decimal("48.65"),
    )
    assert ledger.member_credit(shop) == Decimal("0.00")


def test_an_over_payment_settles_the_invoice_and_the_rest_is_credit(db_session, make, campaign):
    shop = make.member()
    invoice = invoices.invoice(shop, campaign)
    import_(statement(f"05/12/2026;VIR {invoice.payment_reference};200,00"))
    bank.confirm(only_line(), by=None)
    db.session.commit()
    assert ledger.balance(invoice).state == "paid"
    assert ledger.member_credit(shop) == Decimal("51.35")


def test_an_already_paid_invoice_is_flagged_and_the_transfer_becomes_credit(
    db_session, make, campaign
):
    shop = make.member()
    invoice = invoices.invoice(shop, campaign)
    ledger.record_payment(
        shop, TOTAL, method=Method.CARD, received_on=date(2026, 12, 1), invoices=[invoice]
    )
    import_(statement(f"05/12/2026;VIR {invoice.payment_reference};148,65"))
    line = only_line()
    assert "facture déjà réglée" in bank.proposals([line])[line.id].mismatch
    bank.confirm(line, by=None)
    assert ledger.member_credit(shop) == TOTAL


def test_another_invoice_or_a_shop_can_be_picked(db_session, make, campaign):
    shop = make.member()
    first, second = invoices.invoice(shop, campaign), invoices.invoice(shop, campaign)
    import_(
        statement(
            f"05/12/2026;VIR {first.payment_reference};148,65",
            "06/12/2026;VIR SANS REFERENCE;100,00",
        )
    )
    by_invoice, to_account = lines()
    bank.confirm(by_invoice, second, by=None)
    assert (ledger.balance(second).state, ledger.balance(first).state) == ("paid", "open")
    # Without an invoice the transfer goes to the shop's account, where settle uses it.
    payment = bank.confirm(to_account, member=shop, by=None)
    db.session.commit()
    assert [(a.invoice, a.amount) for a in payment.allocations] == [(first, Decimal("100.00"))]
    assert ledger.balance(first).due == Decimal("48.65")


def test_an_invoice_of_another_shop_or_a_credit_note_is_refused(db_session, make, campaign):
    shop, other = make.member(), make.member()
    invoice = invoices.invoice(other, campaign)
    note = invoices.invoice(other, campaign, kind=InvoiceKind.CREDIT_NOTE, credited=invoice)
    import_(statement("05/12/2026;VIR;10,00"))
    line = only_line()
    with pytest.raises(DomainError, match="est celle d'Atelier"):
        bank.confirm(line, invoice, member=shop, by=None)
    with pytest.raises(DomainError, match="est un avoir"):
        bank.confirm(line, note, by=None)
    db.session.rollback()
    assert line.status is BankLineStatus.UNMATCHED and count(Payment) == 0


def test_a_line_is_recorded_once(db_session, make, campaign):
    invoice = invoices.invoice(make.member(), campaign)
    import_(statement(f"05/12/2026;VIR {invoice.payment_reference};148,65"))
    line = only_line()
    bank.confirm(line, by=None)
    with pytest.raises(DomainError, match="déjà rapprochée"):
        bank.confirm(line, by=None)
    assert count(Payment) == 1


def test_ignore_then_unignore(db_session, make):
    treasurer = make.user(Role.TREASURER)
    import_(statement("05/12/2026;REMBOURSEMENT FOURNISSEUR;35,00", "06/12/2026;FRAIS;-3,00"))
    line, debit = lines()
    bank.ignore(line, by=treasurer)
    db.session.commit()
    assert (line.status, line.ignored_by, line.ignored_at is not None) == (
        BankLineStatus.IGNORED,
        treasurer,
        True,
    )
    with pytest.raises(DomainError, match="ignorée"):
        bank.confirm(line, member=make.member(), by=None)
    bank.unignore(line)
    db.session.commit()
    assert (line.status, line.ignored_by, line.ignored_at) == (BankLineStatus.UNMATCHED, None, None)
    with pytest.raises(DomainError, match="Un débit"):
        bank.unignore(debit)


def test_confirm_all_takes_only_exact_proposals(db_session, make, campaign):
    shop = make.member()
    exact, short, twice = (invoices.invoice(shop, campaign) for _ in range(3))
    import_(
        statement(
            f"05/12/2026;VIR {exact.payment_reference};148,65",
            f"05/12/2026;VIR {short.payment_reference};140,00",
            f"06/12/2026;VIR {twice.payment_reference} PREMIER;148,65",
            f"07/12/2026;VIR {twice.payment_reference} SECOND;148,65",
        )
    )
    listed = bank.exact_lines()
    assert [(line.label, p.invoice) for line, p in listed] == [
        (f"VIR {exact.payment_reference}", exact),
        (f"VIR {twice.payment_reference} PREMIER", twice),
    ]
    assert bank.confirm_exact([line.id for line, _ in listed], by=None) == 2
    db.session.commit()
    assert [line.status.value for line in lines()] == [
        "matched",
        "unmatched",
        "matched",
        "unmatched",
    ]
    assert (ledger.balance(exact).state, ledger.balance(twice).state) == ("paid", "paid")
    assert ledger.balance(short).state == "open"


def test_confirm_all_confirms_only_the_lines_reviewed(db_session, make, campaign):
    shop = make.member()
    first, second = invoices.invoice(shop, campaign), invoices.invoice(shop, campaign)
    import_(
        statement(
            f"05/12/2026;VIR {first.payment_reference};148,65",
            f"05/12/2026;VIR {second.payment_reference};148,65",
        )
    )
    reviewed = lines()[0]
    assert bank.confirm_exact([reviewed.id], by=None) == 1
    assert [line.status.value for line in lines()] == ["matched", "unmatched"]


def test_lines_imported_before_their_invoice_are_matched_again(db_session, make, campaign):
    shop = make.member(name="Pignon sur Rue")
    import_(statement("05/12/2026;VIR PIGNON SUR RUE;148,65"))
    assert only_line().proposed_invoice is None
    invoice = invoices.invoice(shop, campaign)
    assert bank.rematch() == 1
    assert (only_line().proposed_invoice, only_line().proposal_reason) == (
        invoice,
        "amount_and_shop",
    )


# --- two treasurers at once (PostgreSQL) --------------------------------------------------------


def test_two_treasurers_confirming_one_line_at_once_record_one_payment(committing_app):
    from tests import factories

    with committing_app.app_context():
        invoice = invoices.invoice(factories.member(), factories.campaign())
        import_(statement(f"05/12/2026;VIR {invoice.payment_reference};148,65"))
        line_id = only_line().id
        db.session.remove()

    def confirm(start):
        line = db.session.get(BankLine, line_id)
        start()
        payment = bank.confirm(line, by=None)
        db.session.commit()
        return payment.id

    confirmed, refused = at_once(committing_app, confirm)
    assert (len(confirmed), refused) == (1, ["Cette ligne est déjà rapprochée d'un paiement."])
    with committing_app.app_context():
        assert count(Payment) == 1
        assert ledger.member_credit(db.session.get(BankLine, line_id).payment.member) == 0
