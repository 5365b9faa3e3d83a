"""Credit notes: in full, by lines or by an amount, never beyond what was invoiced."""

import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from coop.accounts.models import Role
from coop.errors import DomainError
from coop.extensions import db
from coop.invoicing import crediting, documents
from coop.invoicing.models import Invoice, InvoiceKind
from tests.conftest import at_once
from tests.invoicing import factories as invoices

AT = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def invoice(make):
    return invoices.invoice(make.member(), make.campaign())


def count_invoices() -> int:
    return db.session.scalar(select(func.count()).select_from(Invoice))


def lines_by_ref(invoice):
    return {line.reference or line.description: line for line in invoice.lines}


def test_a_full_credit_note_mirrors_the_invoice_and_cites_it(invoice, make):
    treasurer = make.user(Role.TREASURER)
    note = crediting.credit_invoice(invoice, reason="Erreur de prix", by=treasurer, at=AT)
    assert note.number == "AV-2026-000001"
    assert note.kind is InvoiceKind.CREDIT_NOTE
    assert note.credited_invoice_id == invoice.id
    assert note.snapshot["credited_invoice"] == {
        "number": invoice.number,
        "issued_on": "2026-12-07",
    }
    assert note.snapshot["reason"] == "Erreur de prix"
    assert note.snapshot["buyer"] == invoice.snapshot["buyer"]
    assert (note.total_excl_vat, note.total_vat, note.total_incl_vat) == (
        Decimal("127.50"),
        Decimal("21.15"),
        Decimal("148.65"),
    )
    assert [(v.rate, v.base, v.amount) for v in note.vat] == [
        (v.rate, v.base, v.amount) for v in invoice.vat
    ]
    assert note.payment_reference != invoice.payment_reference
    assert note.issued_by_id == treasurer.id
    assert crediting.credited_total(invoice) == Decimal("148.65")
    assert crediting.remaining_creditable(invoice) == Decimal("0.00")


def test_a_partial_credit_note_by_lines_credits_the_chosen_quantities(invoice):
    tyre = lines_by_ref(invoice)["PNEU-700-35"]
    note = crediting.credit_invoice(
        invoice, lines={tyre.id: Decimal(1)}, reason="Pneu abîmé", by=None, at=AT
    )
    assert [(line.reference, line.quantity, line.amount_excl_vat) for line in note.lines] == [
        ("PNEU-700-35", Decimal(1), Decimal("21.90"))
    ]
    assert (note.total_vat, note.total_incl_vat) == (Decimal("4.38"), Decimal("26.28"))
    assert crediting.remaining_quantities(invoice)[tyre.id] == Decimal(3)
    assert crediting.remaining_creditable(invoice) == Decimal("122.37")


def test_a_partial_credit_note_by_amount_is_one_line_at_the_main_rate(invoice):
    note = crediting.credit_invoice(
        invoice, amount=Decimal("10"), reason="Geste commercial", by=None, at=AT
    )
    [line] = note.lines
    assert (line.description, line.vat_rate, line.amount_excl_vat) == (
        "Remise / régularisation",
        Decimal("0.2000"),
        Decimal("10.00"),
    )
    assert note.total_incl_vat == Decimal("12.00")


def test_crediting_more_than_remains_is_refused_and_writes_nothing(invoice):
    tyre = lines_by_ref(invoice)["PNEU-700-35"]
    crediting.credit_invoice(invoice, lines={tyre.id: 3}, reason="Retour", by=None, at=AT)
    before = count_invoices()
    with pytest.raises(DomainError, match="au plus 1"):
        crediting.credit_invoice(invoice, lines={tyre.id: 2}, reason="Retour", by=None, at=AT)
    with pytest.raises(DomainError, match="il ne reste que"):
        crediting.credit_invoice(invoice, amount=Decimal("100"), reason="Trop", by=None, at=AT)
    assert count_invoices() == before


def test_the_rest_of_a_partly_credited_invoice_can_still_be_credited_in_full(invoice):
    tyre = lines_by_ref(invoice)["PNEU-700-35"]
    first = crediting.credit_invoice(invoice, lines={tyre.id: 3}, reason="Retour", by=None, at=AT)
    rest = crediting.credit_invoice(invoice, reason="Annulation", by=None, at=AT)
    assert rest.number == "AV-2026-000002"
    assert first.total_incl_vat + rest.total_incl_vat == invoice.total_incl_vat
    with pytest.raises(DomainError, match="entièrement créditée"):
        crediting.credit_invoice(invoice, reason="Encore", by=None, at=AT)


def test_a_credit_note_cannot_be_credited_nor_a_zero_amount_nor_without_reason(invoice):
    note = crediting.credit_invoice(invoice, amount=Decimal("5"), reason="Remise", by=None, at=AT)
    with pytest.raises(DomainError, match="un avoir ne se crédite pas"):
        crediting.credit_invoice(note, reason="Non", by=None, at=AT)
    with pytest.raises(DomainError, match="positif"):
        crediting.credit_invoice(invoice, amount=Decimal("0"), reason="Zéro", by=None, at=AT)
    with pytest.raises(DomainError, match="motif"):
        crediting.credit_invoice(invoice, reason="  ", by=None, at=AT)


def test_a_credit_note_renders_as_an_avoir_citing_the_original(invoice):
    note = crediting.credit_invoice(invoice, reason="Erreur", by=None, at=AT)
    stored = documents.render_and_store(note)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(stored.pdf)).pages)
    assert "Avoir" in text
    assert invoice.number in text
    assert "381" in documents.factur_x_xml(note).decode()


@pytest.mark.parametrize("role", [Role.MANAGER, Role.MEMBER, Role.ADMIN])
def test_only_the_treasurer_issues_credit_notes(client, make, invoice, role):
    client.login_as(
        make.user(role, member=invoice.member) if role is Role.MEMBER else make.user(role)
    )
    assert client.get(f"/invoices/{invoice.number}/credit").status_code == 403
    assert client.post(f"/invoices/{invoice.number}/credit", data={}).status_code == 403


def test_anonymous_is_sent_to_login(client, invoice):
    response = client.get(f"/invoices/{invoice.number}/credit")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_the_treasurer_credits_lines_and_the_original_shows_it(client, make, invoice, monkeypatch):
    rendered = []
    monkeypatch.setattr(
        "coop.invoicing.views.run_in_background", lambda job, *args: rendered.append(job)
    )
    client.login_as(make.user(Role.TREASURER))
    page = client.get(f"/invoices/{invoice.number}")
    assert "Émettre un avoir" in page.text
    tyre = lines_by_ref(invoice)["PNEU-700-35"]
    response = client.post(
        f"/invoices/{invoice.number}/credit",
        data={
            "mode": "lines",
            f"qty-{tyre.id}": "2",
            "reason": "Pneus abîmés",
            "confirm": "y",
        },
    )
    assert response.status_code == 302
    assert response.location.endswith("/invoices/AV-2026-000001")
    assert rendered == [documents.render_pending_documents]
    page = client.get(f"/invoices/{invoice.number}").text
    assert "Créditée par" in page and "AV-2026-000001" in page
    assert "Partiellement créditée" in page
    listing = client.get("/invoices?status=credit_notes").text
    assert "AV-2026-000001" in listing and invoice.number not in listing


def test_a_refused_credit_note_keeps_the_form_and_says_why(client, make, invoice):
    client.login_as(make.user(Role.TREASURER))
    response = client.post(
        f"/invoices/{invoice.number}/credit",
        data={
            "mode": "amount",
            "amount": "1000",
            "reason": "Trop",
            "confirm": "y",
        },
    )
    assert response.status_code == 200
    assert "il ne reste que" in response.text
    assert crediting.credited_total(invoice) == Decimal("0.00")


def test_a_credit_note_without_a_mode_ties_the_error_to_the_choice(client, make, invoice):
    client.login_as(make.user(Role.TREASURER))
    response = client.post(
        f"/invoices/{invoice.number}/credit", data={"reason": "Trop", "confirm": "y"}
    )
    assert response.status_code == 200
    assert '<fieldset class="field has-error" aria-describedby="mode-error">' in response.text
    assert 'id="mode-error"' in response.text


def test_fully_credited_invoices_can_be_listed(client, make, invoice):
    other = invoices.invoice(invoice.member, invoice.campaign)
    crediting.credit_invoice(invoice, reason="Annulée", by=None, at=AT)
    db.session.commit()
    client.login_as(make.user(Role.TREASURER))
    listing = client.get("/invoices?status=credited").text
    assert invoice.number in listing and other.number not in listing


# --- two treasurers at once (PostgreSQL) --------------------------------------------------------


def test_two_treasurers_crediting_at_once_never_credit_more_than_invoiced(committing_app):
    from tests import factories

    with committing_app.app_context():
        invoice_id = invoices.invoice(factories.member(), factories.campaign()).id
        db.session.remove()

    def credit(start):
        invoice = db.session.get(Invoice, invoice_id)
        start()
        note = crediting.credit_invoice(
            invoice, amount=Decimal("100.00"), reason="Geste commercial", by=None, at=AT
        )
        db.session.commit()
        return note.number

    credited, refused = at_once(committing_app, credit)
    assert credited == ["AV-2026-000001"]
    assert len(refused) == 1
    with committing_app.app_context():
        notes = db.session.scalars(
            select(Invoice).where(Invoice.kind == InvoiceKind.CREDIT_NOTE)
        ).all()
        assert [n.total_excl_vat for n in notes] == [Decimal("100.00")]


def test_a_new_credit_note_says_its_pdf_is_coming_then_links_it(client, make, invoice, monkeypatch):
    monkeypatch.setattr("coop.invoicing.views.run_in_background", lambda job, *args: None)
    client.login_as(make.user(Role.TREASURER))
    response = client.post(
        f"/invoices/{invoice.number}/credit",
        data={
            "mode": "amount",
            "amount": "10",
            "reason": "Geste",
            "confirm": "y",
        },
    )
    pdf = "/invoices/AV-2026-000001.pdf"

    waiting = client.get(response.location).text

    assert "PDF en préparation" in waiting
    assert f'<a href="{response.location}">Actualiser</a>' in waiting
    assert pdf not in waiting
    documents.render_pending_documents()
    ready = client.get(response.location).text
    assert pdf in ready and "PDF en préparation" not in ready
    assert client.get(pdf).data.startswith(b"%PDF")


def test_a_credit_note_rendered_at_once_links_its_pdf_on_the_first_page(client, make, invoice):
    client.login_as(make.user(Role.TREASURER))
    response = client.post(
        f"/invoices/{invoice.number}/credit",
        data={
            "mode": "amount",
            "amount": "10",
            "reason": "Geste",
            "confirm": "y",
        },
    )
    page = client.get(response.location).text
    assert "/invoices/AV-2026-000001.pdf" in page
