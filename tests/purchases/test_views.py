"""The suppliers' invoices pages: upload, list, detail, book, dispute, typed by hand, pay, the
campaign's margin, the CLI; and who may see them."""

import io
from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from coop import mail
from coop.accounts.models import Role
from coop.extensions import db
from coop.payments import bank
from coop.payments.models import BankLine, BankLineStatus
from coop.purchases import booking, importing
from coop.purchases.models import (
    SourceFormat,
    SupplierInvoice,
    SupplierInvoiceKind,
    SupplierInvoiceStatus,
    SupplierPayment,
)
from tests.html import form_values
from tests.purchases.einvoices import cii_xml, facturx_pdf, plain_pdf


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def manager(make):
    return make.user(Role.MANAGER)


@pytest.fixture
def treasurer(make):
    return make.user(Role.TREASURER)


def upload(client, *files: tuple[bytes, str]):
    return client.post(
        "/supplier-invoices",
        data={"files": [(io.BytesIO(data), name) for data, name in files]},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def test_the_manager_uploads_several_files_and_a_refused_one_is_named(client, manager, purchases):
    client.login_as(manager)
    response = upload(
        client,
        (facturx_pdf(purchases.french.einvoice), "dupont.pdf"),
        (b"garbage", "photo.jpg"),
        (facturx_pdf(purchases.italian.einvoice), "ricambi.pdf"),
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "1 fichier refusé" in page
    assert "photo.jpg : ce n&#39;est ni un PDF Factur-X ni un fichier XML" in page
    assert "2 factures importées" in page
    numbers = db.session.scalars(select(SupplierInvoice.number).order_by(SupplierInvoice.id)).all()
    assert numbers == ["F-2026-0042", "RB/2026/118"]
    assert "1 écart" not in page and "2 écarts" in page  # the Italian invoice's


def test_uploading_nothing_is_refused(client, manager):
    client.login_as(manager)
    response = client.post("/supplier-invoices", data={}, follow_redirects=True)
    assert response.status_code == 422
    assert "Choisissez au moins un fichier." in response.get_data(as_text=True)


def test_the_list_searches_by_supplier_or_number_and_filters_by_status(client, manager, purchases):
    for purchase in (purchases.french, purchases.italian):
        importing.import_invoice(facturx_pdf(purchase.einvoice), "f.pdf", by=None)
    db.session.commit()
    client.login_as(manager)
    page = client.get("/supplier-invoices?q=ricambi").get_data(as_text=True)
    assert "RB/2026/118" in page and "F-2026-0042" not in page
    page = client.get("/supplier-invoices?q=0042").get_data(as_text=True)
    assert "F-2026-0042" in page and "RB/2026/118" not in page
    page = client.get("/supplier-invoices?status=booked").get_data(as_text=True)
    assert "Aucune facture fournisseur." in page


def test_the_manager_home_counts_the_invoices_to_check_and_links_to_them(
    client, manager, purchases
):
    client.login_as(manager)
    card = '<a class="card card-link" id="supplier-invoices-to-check"'
    assert card in client.get("/").get_data(as_text=True)
    for purchase in (purchases.french, purchases.italian):
        importing.import_invoice(facturx_pdf(purchase.einvoice), "f.pdf", by=None)
    db.session.commit()
    home = client.get("/").get_data(as_text=True)
    assert 'href="/supplier-invoices?status=to_check"' in home
    assert (
        '<div class="stat">2</div><div class="stat-label">factures fournisseurs à contrôler' in home
    )
    booking.book(db.session.scalar(select(SupplierInvoice)), note="vu", by=manager)
    db.session.commit()
    home = client.get("/").get_data(as_text=True)
    assert (
        '<div class="stat">1</div><div class="stat-label">facture fournisseur à contrôler' in home
    )


def test_the_detail_shows_lines_and_differences_and_gives_the_original_back(
    client, manager, purchases
):
    pdf = facturx_pdf(purchases.italian.einvoice)
    invoice = importing.import_invoice(pdf, "ricambi.pdf", by=None)
    db.session.commit()
    client.login_as(manager)
    page = client.get(f"/supplier-invoices/{invoice.id}").get_data(as_text=True)
    assert "Prix unitaire au-dessus du bon de commande" in page
    assert "Deragliatore 9v" in page and "DERAIL-9" in page
    assert "Union européenne" in page
    download = client.get(f"/supplier-invoices/{invoice.id}/file")
    assert download.data == pdf
    assert download.mimetype == "application/pdf"
    assert 'filename="ricambi.pdf"' in download.headers["Content-Disposition"]


def test_booking_with_differences_asks_for_a_note(client, manager, purchases):
    invoice = importing.import_invoice(facturx_pdf(purchases.italian.einvoice), "r.pdf", by=None)
    db.session.commit()
    client.login_as(manager)
    response = client.post(f"/supplier-invoices/{invoice.id}/book", data={"note": ""})
    assert response.status_code == 422
    assert "dites en note pourquoi" in response.get_data(as_text=True)
    assert db.session.get(SupplierInvoice, invoice.id).status is SupplierInvoiceStatus.TO_CHECK
    response = client.post(
        f"/supplier-invoices/{invoice.id}/book",
        data={"note": "Hausse acceptée", "booked_on": "2026-12-05"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    booked = db.session.get(SupplierInvoice, invoice.id)
    assert (booked.status, booked.note, str(booked.booked_on), booked.booked_by_id) == (
        SupplierInvoiceStatus.BOOKED,
        "Hausse acceptée",
        "2026-12-05",
        manager.id,
    )


def test_disputing_e_mails_the_supplier(client, treasurer, purchases):
    invoice = importing.import_invoice(facturx_pdf(purchases.italian.einvoice), "r.pdf", by=None)
    db.session.commit()
    mail.sent_messages().clear()
    client.login_as(treasurer)
    response = client.post(
        f"/supplier-invoices/{invoice.id}/dispute",
        data={"message": "Prix convenu : 38,00 €."},
        follow_redirects=True,
    )
    assert "Contestation envoyée à amm@ricambi.example" in response.get_data(as_text=True)
    assert db.session.get(SupplierInvoice, invoice.id).status is SupplierInvoiceStatus.DISPUTED
    assert [m["To"] for m in mail.sent_messages()] == ["amm@ricambi.example"]


def test_linking_a_purchase_order_by_hand(client, manager, purchases):
    einvoice = replace(purchases.french.einvoice, order_reference=None)
    invoice = importing.import_invoice(facturx_pdf(einvoice), "f.pdf", by=None)
    db.session.commit()
    client.login_as(manager)
    response = client.post(
        f"/supplier-invoices/{invoice.id}/link",
        data={"purchase_order": str(purchases.french.order.id), "credited_invoice": ""},
        follow_redirects=True,
    )
    assert "Rapprochement refait." in response.get_data(as_text=True)
    linked = db.session.get(SupplierInvoice, invoice.id)
    assert linked.purchase_order_id == purchases.french.order.id
    assert linked.differences == []


ENTRY = {
    "kind": "380",
    "number": "PAPIER-17",
    "issued_on": "2026-12-02",
    "due_on": "2027-01-01",
    "lines-0-kind": "goods",
    "lines-0-supplier_ref": "DUP-PN700",
    "lines-0-name": "Pneu 700x35",
    "lines-0-quantity": "20",
    "lines-0-unit_price": "12,50",
    "lines-0-vat_rate": "20",
    "lines-1-kind": "goods",
    "lines-1-buyer_ref": "CHAMBRE-700",
    "lines-1-name": "Chambre à air",
    "lines-1-quantity": "30",
    "lines-1-unit_price": "4,20",
    "lines-1-vat_rate": "20",
    "lines-2-kind": "shipping",
    "lines-2-name": "Port",
    "lines-2-quantity": "1",
    "lines-2-unit_price": "15",
    "lines-2-vat_rate": "20",
    "vat-0-rate": "20",
    "vat-0-amount": "78,20",
    "total_excl_vat": "391,00",
    "total_vat": "78,20",
    "total_incl_vat": "469,20",
}


def enter(client, purchases, **changes):
    # What the page's form sends (its blank rows, its token), filled in as a person would.
    data = form_values(client.get("/supplier-invoices/new").text) | ENTRY
    data |= {
        "supplier": str(purchases.french.supplier.id),
        "purchase_order": str(purchases.french.order.id),
        **changes,
    }
    data["file"] = (io.BytesIO(plain_pdf("Facture papier")), "papier.pdf")
    return client.post(
        "/supplier-invoices/new",
        data=data,
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def test_an_invoice_typed_by_hand_is_stored_with_its_pdf_and_matched(client, manager, purchases):
    client.login_as(manager)
    response = enter(client, purchases)
    assert response.status_code == 200, response.get_data(as_text=True)
    invoice = db.session.scalar(select(SupplierInvoice))
    assert (invoice.number, invoice.kind, invoice.source_format) == (
        "PAPIER-17",
        SupplierInvoiceKind.INVOICE,
        SourceFormat.MANUAL,
    )
    assert (invoice.total_excl_vat, invoice.total_vat, invoice.total_incl_vat) == (
        Decimal("391.00"),
        Decimal("78.20"),
        Decimal("469.20"),
    )
    assert invoice.vat_breakdown == [
        {"category": "S", "rate": "20.00", "base": "391.00", "amount": "78.20"}
    ]
    assert [line.part.sku if line.part else None for line in invoice.lines] == [
        "PNEU-700",
        "CHAMBRE-700",
        None,
    ]
    assert invoice.file.startswith(b"%PDF-")
    assert invoice.differences == []


def test_a_typed_invoice_that_does_not_add_up_is_refused(client, manager, purchases):
    client.login_as(manager)
    response = enter(client, purchases, total_incl_vat="470,00")
    assert response.status_code == 422
    assert "391,00\u00a0€ HT + 78,20\u00a0€ TVA ≠ 470,00\u00a0€ TTC" in response.get_data(
        as_text=True
    )
    response = enter(client, purchases, **{"vat-0-amount": "70,00", "total_vat": "70,00"})
    assert response.status_code == 422
    assert "TVA à 20\u00a0% : 70,00\u00a0€ saisis, 78,20\u00a0€ attendus" in response.get_data(
        as_text=True
    )
    response = enter(client, purchases, **{"lines-0-quantity": "", "lines-0-unit_price": "abc"})
    assert response.status_code == 422
    assert count(SupplierInvoice) == 0


STATEMENT = """Date;Libellé;Montant
03/12/2026;VIR SEPA CYCLES DUPONT FACT F-2026-0042;-469,20
05/12/2026;FRAIS TENUE DE COMPTE;-12,00
"""


def test_the_treasurer_confirms_a_proposed_supplier_payment(client, treasurer, manager, purchases):
    invoice = importing.import_invoice(facturx_pdf(purchases.french.einvoice), "f.pdf", by=None)
    booking.book(invoice, by=None)
    bank.import_statement(STATEMENT.encode(), "releve.csv", by=None)
    db.session.commit()
    line = db.session.scalar(select(BankLine).where(BankLine.label.contains("DUPONT")))
    client.login_as(manager)
    page = client.get("/supplier-invoices/payments").get_data(as_text=True)
    assert "Numéro de facture du fournisseur" in page and "FRAIS TENUE DE COMPTE" in page
    assert client.post(f"/supplier-invoices/payments/{line.id}", data={}).status_code == 403
    client.login_as(treasurer)
    response = client.post(
        f"/supplier-invoices/payments/{line.id}",
        data={"invoices": [str(invoice.id)]},
        follow_redirects=True,
    )
    assert "Paiement de 469,20" in response.get_data(as_text=True)
    payment = db.session.scalar(select(SupplierPayment))
    assert (payment.amount, payment.bank_line_id, payment.created_by_id) == (
        Decimal("469.20"),
        line.id,
        treasurer.id,
    )
    assert db.session.get(BankLine, line.id).status is BankLineStatus.MATCHED
    queue = client.get("/payments/bank?status=matched").get_data(as_text=True)
    assert "paiement fournisseur" in queue


def test_paying_more_than_owed_from_the_page_is_refused(client, treasurer, purchases):
    invoice = importing.import_invoice(facturx_pdf(purchases.french.einvoice), "f.pdf", by=None)
    booking.book(invoice, by=None)
    bank.import_statement(
        b"Date;Libell\xc3\xa9;Montant\n03/12/2026;VIR DUPONT;-500,00\n", "r.csv", by=None
    )
    db.session.commit()
    line = db.session.scalar(select(BankLine))
    client.login_as(treasurer)
    response = client.post(
        f"/supplier-invoices/payments/{line.id}", data={"invoices": [str(invoice.id)]}
    )
    assert response.status_code == 422
    assert "dépasse ce que la coopérative doit" in response.get_data(as_text=True)
    assert count(SupplierPayment) == 0


def test_the_campaign_margin_page(client, manager, purchases):
    client.login_as(manager)
    campaign = purchases.french.order.campaign
    page = client.get(f"/supplier-invoices/campaigns/{campaign.id}/margin").get_data(as_text=True)
    assert "Marge de la campagne" in page and "PRINTEMPS" in page


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/supplier-invoices"),
        ("post", "/supplier-invoices"),
        ("get", "/supplier-invoices/new"),
        ("get", "/supplier-invoices/{invoice}"),
        ("get", "/supplier-invoices/{invoice}/file"),
        ("post", "/supplier-invoices/{invoice}/book"),
        ("post", "/supplier-invoices/{invoice}/dispute"),
        ("get", "/supplier-invoices/payments"),
        ("get", "/supplier-invoices/campaigns/{campaign}/margin"),
    ],
)
def test_a_shop_or_an_admin_gets_403(client, make, purchases, method, path):
    invoice = importing.import_invoice(facturx_pdf(purchases.french.einvoice), "f.pdf", by=None)
    db.session.commit()
    url = path.format(invoice=invoice.id, campaign=purchases.french.order.campaign.id)
    for account in (make.user(), make.user(Role.ADMIN)):
        client.login_as(account)
        assert getattr(client, method)(url).status_code == 403, (account, url)
    client.get("/logout")


def test_the_cli_imports_each_file_and_exits_1_on_a_refusal(runner, purchases, tmp_path):
    good = tmp_path / "dupont.xml"
    good.write_bytes(cii_xml(purchases.french.einvoice))
    bad = tmp_path / "facture.txt"
    bad.write_bytes(b"not an invoice")
    result = runner.invoke(args=["supplier-invoices", "import", str(good), str(bad)])
    assert result.exit_code == 1
    assert "imported: dupont.xml: Facture F-2026-0042 from Cycles Dupont" in result.output, (
        result.output
    )
    assert "refused: facture.txt : ce n'est ni un PDF" in result.output
    assert count(SupplierInvoice) == 1
    again = runner.invoke(args=["supplier-invoices", "import", str(good)])
    assert again.exit_code == 1
    assert "déjà enregistré" in again.output


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("lines-0-unit_price", "1e999", "Au plus 1 000 000 €."),
        ("lines-0-quantity", "-3", "La quantité doit être strictement positive."),
        ("lines-0-vat_rate", "150", "Un pourcentage entre 0 et 100 est attendu."),
        ("total_excl_vat", "NaN", "Nombre attendu"),
        ("issued_on", "1899-01-01", "Date trop lointaine"),
    ],
)
def test_a_typed_value_past_its_bounds_is_refused(
    client, manager, purchases, field, value, message
):
    client.login_as(manager)
    response = enter(client, purchases, **{field: value})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(SupplierInvoice) == 0


def test_an_upload_past_coop_max_upload_mb_is_refused_whole(app, client, manager, purchases):
    client.login_as(manager)
    pdf = facturx_pdf(purchases.french.einvoice)
    limit = app.config.get("MAX_CONTENT_LENGTH")
    app.config["MAX_CONTENT_LENGTH"] = len(pdf) // 2  # what COOP_MAX_UPLOAD_MB sets
    try:
        response = upload(client, (pdf, "dupont.pdf"))
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert response.status_code == 413
    assert "Fichier trop volumineux" in response.get_data(as_text=True)
    assert count(SupplierInvoice) == 0
