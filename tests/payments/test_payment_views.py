"""The payments pages: the ledger, the bank queue, a shop's account, and who may see them."""

import io
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from coop.accounts.models import Role
from coop.clock import today
from coop.extensions import db
from coop.invoicing.models import InvoiceKind
from coop.payments import bank, ledger
from coop.payments.models import (
    BankImport,
    BankLine,
    BankLineStatus,
    Method,
    Payment,
    PaymentStatus,
)
from tests.invoicing import factories as invoices

DATA = Path(__file__).parent / "data"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def statement(*rows: str) -> bytes:
    return "\r\n".join(["Compte courant;00012345678", "", "Date;Libellé;Montant", *rows]).encode(
        "cp1252"
    )


def upload(client, data: bytes, name: str = "releve.csv"):
    return client.post(
        "/payments/bank",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


@pytest.fixture
def treasurer(make):
    return make.user(Role.TREASURER)


@pytest.fixture
def shop(make):
    return make.member(name="Atelier Vélo Croix-Rousse")


@pytest.fixture
def invoice(make, shop):
    return invoices.invoice(shop, make.campaign())


@pytest.fixture
def as_treasurer(client, treasurer):
    client.login_as(treasurer)
    return client


# --- the bank queue ---------------------------------------------------------------------------


def test_the_treasurer_imports_a_statement_and_sees_the_proposal(as_treasurer, invoice):
    label = f"VIR SEPA RECU /DE ACME /MOTIF {invoice.payment_reference.lower()}"
    page = upload(as_treasurer, statement(f"05/12/2026;{label};100,00", "06/12/2026;FRAIS;-2,50"))
    assert page.status_code == 200
    assert (
        "Relevé importé : 2 lignes nouvelles ; 1 virement reçu à rapprocher, 1 avec une "
        "facture proposée."
    ) in page.text
    assert invoice.number in page.text
    assert "montant différent : 100,00\xa0€ reçus, 148,65\xa0€ dus" in page.text
    assert "Référence de paiement" in page.text
    # The debit is kept, under the "ignored" filter.
    ignored = as_treasurer.get("/payments/bank?status=ignored").text
    assert "FRAIS" in ignored and "débit, ignoré à l'import" in ignored


def test_a_bad_statement_shows_its_errors_and_writes_nothing(as_treasurer):
    response = upload(as_treasurer, statement("05/12/2026;VIR;10,00", "32/12/2026;VIR;10,00"))
    assert response.status_code == 422
    assert "1 erreur dans le fichier : rien n'a été importé." in response.text
    assert "date invalide &#39;32/12/2026&#39;" in response.text
    assert ">5</td>" in response.text  # the line in the file
    assert (count(BankImport), count(BankLine)) == (0, 0)


def test_the_same_statement_twice_is_refused_with_a_clear_message(as_treasurer):
    data = (DATA / "credit_agricole.csv").read_bytes()
    assert upload(as_treasurer, data, "ca.csv").status_code == 200
    response = upload(as_treasurer, data, "ca-bis.csv")
    assert response.status_code == 422
    assert "Ce relevé a déjà été importé le" in response.text and "ca.csv" in response.text
    assert (count(BankImport), count(BankLine)) == (1, 7)


def test_an_overlapping_statement_says_how_many_lines_were_known(as_treasurer):
    upload(as_treasurer, (DATA / "releve_1_au_14_novembre.csv").read_bytes())
    page = upload(as_treasurer, (DATA / "releve_14_au_21_novembre.csv").read_bytes())
    assert (
        "Relevé importé : 3 lignes nouvelles, 2 déjà importées ; 2 virements reçus à rapprocher"
    ) in page.text


def test_confirming_a_proposal_records_the_transfer(as_treasurer, treasurer, invoice, shop):
    upload(as_treasurer, statement(f"05/12/2026;VIR {invoice.payment_reference};148,65"))
    line = db.session.scalar(select(BankLine))
    page = as_treasurer.post(f"/payments/bank/lines/{line.id}/confirm", follow_redirects=True)
    assert f"Virement de 148,65\xa0€ d&#39;{shop.name} enregistré : il règle {invoice.number}." in (
        page.text
    )
    payment = db.session.scalar(select(Payment))
    assert (payment.bank_line_id, payment.method, payment.recorded_by) == (
        line.id,
        Method.TRANSFER,
        treasurer,
    )
    assert ledger.balance(invoice).state == "paid"
    # Confirming again is refused, and still one payment.
    again = as_treasurer.post(f"/payments/bank/lines/{line.id}/confirm", follow_redirects=True)
    assert "déjà rapprochée" in again.text and count(Payment) == 1


def test_a_transfer_short_of_its_invoice_asks_first_and_says_what_remains_due(
    as_treasurer, invoice, shop
):
    upload(as_treasurer, statement(f"05/12/2026;VIR {invoice.payment_reference};100,00"))
    line = db.session.scalar(select(BankLine))
    url = f"/payments/bank/lines/{line.id}/confirm"
    page = as_treasurer.post(url)
    assert page.status_code == 200 and "Enregistrer un paiement partiel ?" in page.text
    assert (
        f"Ce virement de 100,00\xa0€ ne règle pas toute la facture {invoice.number} "
        f"d'{shop.name} (148,65\xa0€ dus) : il restera 48,65\xa0€ à payer."
    ) in page.text.replace("&#39;", "'")
    assert '<input type="hidden" name="short" value="1">' in page.text
    assert count(Payment) == 0 and line.status is BankLineStatus.UNMATCHED
    done = as_treasurer.post(url, data={"short": "1"}, follow_redirects=True)
    assert (
        f"Virement de 100,00\xa0€ d&#39;{shop.name} enregistré : il règle en partie "
        f"{invoice.number}, qui reste due de 48,65\xa0€."
    ) in done.text
    assert count(Payment) == 1
    assert ledger.balance(invoice).due == Decimal("48.65")


def test_matching_by_hand_a_transfer_short_of_the_invoice_asks_first(as_treasurer, invoice, shop):
    upload(as_treasurer, statement("05/12/2026;VIR SANS REFERENCE;60,00"))
    line = db.session.scalar(select(BankLine))
    url = f"/payments/bank/lines/{line.id}"
    page = as_treasurer.post(url, data={"invoice": invoice.number})
    assert page.status_code == 200 and "Enregistrer un paiement partiel ?" in page.text
    assert "(148,65\xa0€ dus) : il restera 88,65\xa0€ à payer." in page.text
    assert f'<input type="hidden" name="invoice" value="{invoice.number}">' in page.text
    assert count(Payment) == 0
    as_treasurer.post(url, data={"invoice": invoice.number, "member": "", "short": "1"})
    assert count(Payment) == 1
    assert ledger.balance(invoice).due == Decimal("88.65")


def test_matching_by_hand_checks_the_invoice(as_treasurer, invoice, make, shop):
    credited = invoices.invoice(shop, invoice.campaign)
    note = invoices.invoice(shop, invoice.campaign, kind=InvoiceKind.CREDIT_NOTE, credited=credited)
    upload(as_treasurer, statement("05/12/2026;VIR SANS REFERENCE;60,00"))
    line = db.session.scalar(select(BankLine))
    url = f"/payments/bank/lines/{line.id}"
    page = as_treasurer.get(url)
    assert page.status_code == 200 and "Atelier reconnu" not in page.text
    assert "Aucune facture ouverte de ce montant ou de cet atelier." in page.text
    for data, error in [
        ({}, "Indiquez une facture ou un atelier."),
        ({"invoice": "FA-2099-999999"}, "Aucune facture FA-2099-999999."),
        ({"invoice": note.number}, "est un avoir"),
        ({"invoice": invoice.number, "member": make.member().id}, "est celle d&#39;Atelier"),
    ]:
        response = as_treasurer.post(url, data=data)
        assert response.status_code == 422
        assert error in response.text
    assert count(Payment) == 0
    typed = {"invoice": invoice.number.lower(), "short": "1"}
    done = as_treasurer.post(url, data=typed, follow_redirects=True)
    assert f"il règle en partie {invoice.number}, qui reste due de 88,65\xa0€." in done.text
    assert ledger.balance(invoice).due == Decimal("88.65")


def test_a_transfer_can_go_to_a_shop_account_without_invoice(as_treasurer, shop, invoice):
    upload(as_treasurer, statement("05/12/2026;VIR ATELIER VELO CROIX ROUSSE;200,00"))
    line = db.session.scalar(select(BankLine))
    assert "Atelier reconnu" in as_treasurer.get("/payments/bank").text
    # The line's page offers the open invoices of the shop its label names.
    candidates = as_treasurer.get(f"/payments/bank/lines/{line.id}").text
    assert f'value="{invoice.number}"' in candidates
    page = as_treasurer.post(
        f"/payments/bank/lines/{line.id}", data={"member": shop.id}, follow_redirects=True
    )
    assert page.status_code == 200
    # settle used it on the open invoice; the rest is the shop's credit.
    assert ledger.balance(invoice).state == "paid"
    assert ledger.member_credit(shop) == Decimal("51.35")


def test_ignore_and_unignore_from_the_queue(as_treasurer, treasurer):
    upload(as_treasurer, statement("05/12/2026;REMBOURSEMENT FOURNISSEUR;35,00"))
    line = db.session.scalar(select(BankLine))
    page = as_treasurer.post(f"/payments/bank/lines/{line.id}/ignore", follow_redirects=True)
    assert "Ligne ignorée" in page.text
    assert line.status is BankLineStatus.IGNORED and line.ignored_by == treasurer
    listed = as_treasurer.get("/payments/bank?status=ignored").text
    assert f"par {treasurer.name} le" in listed
    page = as_treasurer.post(f"/payments/bank/lines/{line.id}/unignore", follow_redirects=True)
    assert "Ligne remise dans la file" in page.text
    assert line.status is BankLineStatus.UNMATCHED


def test_confirm_all_asks_first_then_confirms_the_exact_ones(as_treasurer, make, shop):
    campaign = make.campaign()
    exact, short = invoices.invoice(shop, campaign), invoices.invoice(shop, campaign)
    upload(
        as_treasurer,
        statement(
            f"05/12/2026;VIR {exact.payment_reference};148,65",
            f"05/12/2026;VIR {short.payment_reference};100,00",
        ),
    )
    assert "Confirmer le rapprochement exact" in as_treasurer.get("/payments/bank").text
    review = as_treasurer.get("/payments/bank/confirm-all")
    assert exact.number in review.text and short.number not in review.text
    assert count(Payment) == 0
    ids = [line.id for line, _ in bank.exact_lines()]
    page = as_treasurer.post(
        "/payments/bank/confirm-all", data={"line": ids}, follow_redirects=True
    )
    assert "1 virement confirmé." in page.text
    assert (ledger.balance(exact).state, ledger.balance(short).state) == ("paid", "open")


def test_unknown_lines_are_404(as_treasurer):
    assert as_treasurer.get("/payments/bank/lines/999999").status_code == 404
    assert as_treasurer.post("/payments/bank/lines/999999/confirm").status_code == 404


# --- the ledger and manual payments -----------------------------------------------------------


def manual(client, **values):
    data = {
        "method": "transfer",
        "amount": "148,65",
        "received_on": today().isoformat(),
        "reference": "VIR 123",
    } | values
    return client.post("/payments", data=data)


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"amount": ""}, "Indiquez le montant reçu."),
        ({"amount": "-5"}, "Le montant doit être strictement positif."),
        ({"amount": "12,345"}, "Le montant se donne au centime près."),
        ({"amount": "douze"}, "Nombre attendu"),
        (
            # Tomorrow when the test runs, not when it is collected (around midnight in Lyon).
            {"received_on": lambda: (today() + timedelta(days=1)).isoformat()},
            "La date ne peut pas être dans le futur.",
        ),
        ({"invoices": "FA-2099-999999"}, "Aucune facture FA-2099-999999."),
        ({"invoices": "n'importe quoi"}, "n&#39;est pas un numéro de facture"),
        ({"method": "card"}, "N&#39;est pas un choix valide."),
        ({"member": ""}, "Choisissez l'atelier qui a payé."),
    ],
)
def test_a_manual_payment_is_checked_and_nothing_is_written(as_treasurer, shop, values, error):
    values = {name: value() if callable(value) else value for name, value in values.items()}
    response = manual(as_treasurer, **({"member": shop.id} | values))
    assert response.status_code == 422
    assert error in response.text
    assert count(Payment) == 0


def test_a_manual_payment_for_another_shops_invoice_is_refused(as_treasurer, make, invoice):
    response = manual(as_treasurer, member=make.member().id, invoices=invoice.number)
    assert response.status_code == 422
    assert f"La facture {invoice.number} n&#39;est pas de cet adhérent." in response.text
    assert count(Payment) == 0


def test_a_cheque_is_recorded_against_the_invoices_named(as_treasurer, make, shop, invoice):
    second = invoices.invoice(shop, invoice.campaign)
    numbers = f"{second.number}, {invoice.number}"
    response = manual(
        as_treasurer,
        member=shop.id,
        method="cheque",
        amount="200,00",
        invoices=numbers,
        reference="Chèque 0042",
    )
    assert response.status_code == 302
    payment = db.session.scalar(select(Payment))
    assert (payment.method, payment.amount, payment.reference) == (
        Method.CHEQUE,
        Decimal("200.00"),
        "Chèque 0042",
    )
    assert [(a.invoice, a.amount) for a in payment.allocations] == [
        (second, Decimal("148.65")),
        (invoice, Decimal("51.35")),
    ]


def test_the_ledger_lists_filters_and_totals(as_treasurer, make, shop, invoice):
    other = make.member(name="Cycles du Rhône")
    on = date(2026, 11, 20)
    ledger.record_payment(
        shop, Decimal("100.00"), method=Method.TRANSFER, received_on=on, invoices=[invoice]
    )
    ledger.record_payment(
        other,
        Decimal("50.00"),
        method=Method.CARD,
        fees=Decimal("0.98"),
        received_on=on + timedelta(days=2),
    )
    ledger.record_payment(
        other,
        Decimal("30.00"),
        method=Method.SEPA_DEBIT,
        status=PaymentStatus.PENDING,
        received_on=on,
    )
    db.session.commit()
    page = as_treasurer.get("/payments").text
    assert invoice.number in page and "Cycles du Rhône" in page
    assert "180,00" not in page  # pending money is not counted as received
    assert "150,00\xa0€" in page and "0,98\xa0€" in page and "149,02\xa0€" in page
    assert "30,00\xa0€" in page and "pas encore encaissé" in page
    cards = as_treasurer.get("/payments?method=card").text
    assert "50,00\xa0€" in cards and invoice.number not in cards
    period = as_treasurer.get("/payments?date_from=2026-11-21&date_to=2026-11-30").text
    assert "50,00\xa0€" in period and invoice.number not in period
    mine = as_treasurer.get(f"/payments?shop={shop.id}").text
    assert invoice.number in mine and "49,02" not in mine


# --- a shop's account -------------------------------------------------------------------------


def test_the_treasurer_reads_a_shops_account(as_treasurer, shop, invoice):
    ledger.record_payment(
        shop,
        Decimal("200.00"),
        method=Method.TRANSFER,
        received_on=date(2026, 12, 1),
        invoices=[invoice],
    )
    db.session.commit()
    page = as_treasurer.get(f"/payments/accounts/{shop.id}")
    assert page.status_code == 200
    assert invoice.number in page.text and "Payée" in page.text
    assert '<div class="stat" id="credit">51,35\xa0€</div>' in page.text
    assert '<div class="stat" id="due">0,00\xa0€</div>' in page.text


def test_a_shop_reads_its_own_account_but_not_another(client, make, shop, invoice):
    user = make.user(Role.MEMBER, member=shop)
    client.login_as(user)
    assert f'href="/payments/accounts/{shop.id}"' in client.get("/invoices").text
    own = client.get(f"/payments/accounts/{shop.id}")
    assert own.status_code == 200
    assert invoice.number in own.text
    assert "Enregistrer un paiement" not in own.text and "Rembourser" not in own.text
    other = make.member()
    assert client.get(f"/payments/accounts/{other.id}").status_code == 403


PAGES = [("GET", "/payments"), ("GET", "/payments/bank"), ("GET", "/payments/bank/lines/{line}")]
WRITES = [
    ("POST", "/payments"),
    ("POST", "/payments/bank"),
    ("POST", "/payments/bank/lines/{line}"),
    ("POST", "/payments/bank/lines/{line}/confirm"),
    ("POST", "/payments/bank/lines/{line}/ignore"),
    ("GET", "/payments/bank/confirm-all"),
    ("POST", "/payments/bank/confirm-all"),
    ("POST", "/payments/bank/rematch"),
]


def main_of(page) -> str:
    """The page without its header, whose logout button is a form too."""
    return page.text.split("<main", 1)[1].split("</main>", 1)[0]


@pytest.fixture
def line(invoice) -> BankLine:
    bank.import_statement(
        statement(f"05/12/2026;VIR {invoice.payment_reference};148,65"), "releve.csv", by=None
    )
    db.session.commit()
    return db.session.scalar(select(BankLine))


@pytest.mark.parametrize(
    ("role", "method", "path"),
    [(role, *request) for role in (Role.MEMBER, Role.ADMIN) for request in PAGES + WRITES]
    + [(Role.MANAGER, *request) for request in WRITES],
)
def test_shops_and_the_admin_never_reach_the_bank_or_the_ledger_and_the_manager_only_reads(
    client, make, invoice, line, role, method, path
):
    client.login_as(make.user(role))
    response = client.open(
        path.format(line=line.id),
        method=method,
        data={
            "member": invoice.member_id,
            "amount": "148,65",
            "method": "transfer",
            "received_on": "2026-12-05",
            "invoice": invoice.number,
            "line": line.id,
        },
    )
    assert response.status_code == 403
    assert (count(Payment), line.status) == (0, BankLineStatus.UNMATCHED)


def test_the_manager_reads_the_ledger_the_bank_and_a_shops_account_without_their_forms(
    client, make, shop, invoice, line
):
    ledger.record_payment(
        shop,
        Decimal("50.00"),
        method=Method.CHEQUE,
        received_on=date(2026, 12, 1),
        invoices=[invoice],
    )
    db.session.commit()
    client.login_as(make.user(Role.MANAGER))
    payments = client.get("/payments")
    assert payments.status_code == 200
    assert invoice.number in payments.text and "50,00\xa0€" in payments.text
    assert "Enregistrer le paiement" not in payments.text
    queue = client.get("/payments/bank")
    assert queue.status_code == 200
    assert invoice.payment_reference in queue.text
    assert "Importer le relevé" not in queue.text and "Ignorer" not in queue.text
    assert f'action="/payments/bank/lines/{line.id}/confirm"' not in queue.text
    detail = client.get(f"/payments/bank/lines/{line.id}")
    assert detail.status_code == 200
    assert "Rapprocher à la main" not in detail.text
    assert 'method="post"' not in main_of(detail) and 'method="post"' not in main_of(queue)
    account = client.get(f"/payments/accounts/{shop.id}")
    assert account.status_code == 200
    assert invoice.number in account.text
    assert "Enregistrer un paiement" not in account.text and "Rembourser" not in account.text
    assert 'href="/payments"' in client.get("/").text  # in the manager's menu


def test_the_treasurer_still_sees_every_form_of_the_bank_queue(as_treasurer, line):
    queue = as_treasurer.get("/payments/bank").text
    assert "Importer le relevé" in queue and "Ignorer" in queue
    assert "Rapprocher à la main" in as_treasurer.get(f"/payments/bank/lines/{line.id}").text
    assert "Enregistrer le paiement" in as_treasurer.get("/payments").text
