"""Suppliers' e-invoices read, stored and matched: three Factur-X PDFs made with the factur-x
library (a French, an Italian and a Taiwanese supplier), a plain CII and a UBL XML, and every
file the coop refuses (nothing written, the file named)."""

import hashlib
from dataclasses import replace
from decimal import Decimal

import facturx
import pytest
from sqlalchemy import func, select

from coop.accounts.models import Role
from coop.errors import DomainError
from coop.extensions import db
from coop.purchases import importing, matching
from coop.purchases.models import (
    SourceFormat,
    SupplierInvoice,
    SupplierInvoiceKind,
    SupplierInvoiceStatus,
    SupplierLineKind,
    SupplierRegime,
    supplier_regime,
)
from tests.invoicing.test_documents import en16931  # noqa: F401  (the schematron, compiled once)
from tests.purchases.einvoices import (
    Charge,
    EInvoice,
    Line,
    Party,
    cii_xml,
    facturx_pdf,
    plain_pdf,
    ubl_xml,
)


def stored() -> int:
    return db.session.scalar(select(func.count()).select_from(SupplierInvoice))


def codes(invoice: SupplierInvoice) -> list[str]:
    return [found["code"] for found in invoice.differences]


def test_the_three_fixtures_are_real_factur_x_invoices(purchases, en16931):  # noqa: F811
    for purchase in (purchases.french, purchases.italian, purchases.taiwanese):
        pdf = facturx_pdf(purchase.einvoice)
        name, xml = facturx.get_xml_from_pdf(pdf, check_xsd=False)
        assert name == "factur-x.xml"
        assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
        assert en16931(xml) == [], purchase.einvoice.number


def test_a_french_supplier_s_factur_x_is_read_and_matches_its_order(purchases, make):
    manager = make.user(Role.MANAGER)
    pdf = facturx_pdf(purchases.french.einvoice)
    invoice = importing.import_invoice(pdf, "F-2026-0042.pdf", by=manager)
    assert invoice.supplier == purchases.french.supplier
    assert (invoice.kind, invoice.number, invoice.source_format) == (
        SupplierInvoiceKind.INVOICE,
        "F-2026-0042",
        SourceFormat.FACTURX,
    )
    assert invoice.purchase_order == purchases.french.order
    # 20 x 12.50 + 30 x 4.20 + 15.00 transport = 391.00; VAT 20 % = 78.20.
    assert (invoice.total_excl_vat, invoice.total_vat, invoice.total_incl_vat) == (
        Decimal("391.00"),
        Decimal("78.20"),
        Decimal("469.20"),
    )
    assert invoice.vat_breakdown == [
        {"category": "S", "rate": "20.00", "base": "391.00", "amount": "78.20"}
    ]
    assert [
        (line.kind, line.part.sku if line.part else None, line.quantity, line.unit_price)
        for line in invoice.lines
    ] == [
        (SupplierLineKind.GOODS, "PNEU-700", Decimal("20.000"), Decimal("12.5000")),
        (SupplierLineKind.GOODS, "CHAMBRE-700", Decimal("30.000"), Decimal("4.2000")),
        (SupplierLineKind.SHIPPING, None, Decimal("1.000"), Decimal("15.0000")),
    ]
    assert [line.amount_excl_vat for line in invoice.lines] == [
        Decimal("250.00"),
        Decimal("126.00"),
        Decimal("15.00"),
    ]
    assert invoice.lines[0].vat_rate == Decimal("0.2000")
    assert invoice.differences == []
    assert invoice.status is SupplierInvoiceStatus.TO_CHECK
    # The original is kept byte for byte.
    assert invoice.file == pdf
    assert invoice.file_sha256 == hashlib.sha256(pdf).hexdigest()
    assert invoice.file_type == "application/pdf"
    assert supplier_regime(invoice.supplier) is SupplierRegime.FRANCE


def test_an_italian_supplier_billing_above_the_order_is_flagged(purchases):
    invoice = importing.import_invoice(
        facturx_pdf(purchases.italian.einvoice), "ricambi.pdf", by=None
    )
    # 10 x 41.00 + 25.00 = 435.00, no VAT (intra-EU supply, category K).
    assert (invoice.total_excl_vat, invoice.total_vat, invoice.total_incl_vat) == (
        Decimal("435.00"),
        Decimal("0.00"),
        Decimal("435.00"),
    )
    assert invoice.vat_breakdown == [
        {"category": "K", "rate": "0.00", "base": "435.00", "amount": "0.00"}
    ]
    assert [line.vat_category for line in invoice.lines] == ["K", "K"]
    assert invoice.lines[1].kind is SupplierLineKind.SHIPPING  # "Spese di trasporto", code FC
    assert supplier_regime(invoice.supplier) is SupplierRegime.EU
    # (41.00 - 38.00) x 10 = 30.00 over, beyond max(0.5 % of 380.00, 1.00 €); and so the total.
    assert invoice.differences == [
        {
            "code": "price_above_order",
            "label": "Prix unitaire au-dessus du bon de commande",
            "line": "1. Deragliatore 9v",
            "expected": "38.0000",
            "billed": "41.0000",
            "format": "price",
        },
        {
            "code": "total_differs",
            "label": "Total HT différent du bon de commande",
            "expected": "405.00",
            "billed": "435.00",
            "format": "money",
        },
    ]


def test_a_taiwanese_supplier_s_export_invoice_matches(purchases):
    invoice = importing.import_invoice(
        facturx_pdf(purchases.taiwanese.einvoice), "formosa.pdf", by=None
    )
    assert (invoice.total_excl_vat, invoice.total_vat, invoice.total_incl_vat) == (
        Decimal("960.00"),
        Decimal("0.00"),
        Decimal("960.00"),
    )
    assert invoice.vat_breakdown[0]["category"] == "G"
    assert [line.part.sku for line in invoice.lines if line.part] == ["JANTE-622"]
    assert invoice.differences == []
    assert supplier_regime(invoice.supplier) is SupplierRegime.OUTSIDE_EU


def test_a_plain_cii_xml_and_a_ubl_xml_are_read_alike(purchases):
    cii = importing.import_invoice(cii_xml(purchases.french.einvoice), "dupont.xml", by=None)
    assert cii.source_format is SourceFormat.CII
    ubl_invoice = replace(purchases.taiwanese.einvoice)
    ubl = importing.import_invoice(ubl_xml(ubl_invoice), "formosa-ubl.xml", by=None)
    assert ubl.source_format is SourceFormat.UBL
    assert ubl.file_type == "application/xml"
    assert (ubl.number, ubl.total_incl_vat, ubl.purchase_order) == (
        "FCP-2026-0977",
        Decimal("960.00"),
        purchases.taiwanese.order,
    )
    assert [(line.kind, line.amount_excl_vat) for line in ubl.lines] == [
        (SupplierLineKind.GOODS, Decimal("900.00")),
        (SupplierLineKind.SHIPPING, Decimal("60.00")),
    ]
    assert ubl.differences == []


def test_a_ubl_credit_note_reduces_the_invoice_it_cites(purchases):
    invoice = importing.import_invoice(facturx_pdf(purchases.french.einvoice), "f.pdf", by=None)
    note = EInvoice(
        "AV-2026-0007",
        purchases.french.einvoice.seller,
        [Line("DUP-PN700", "PNEU-700", "Pneu 700x35 (retour)", "2", "12.50")],
        type_code="381",
        preceding="F-2026-0042",
    )
    credit = importing.import_invoice(ubl_xml(note), "avoir.xml", by=None)
    assert credit.kind is SupplierInvoiceKind.CREDIT_NOTE
    assert credit.credited_invoice == invoice
    # A credit note carries positive amounts: 2 x 12.50 = 25.00 + 5.00 VAT.
    assert (credit.total_excl_vat, credit.total_incl_vat) == (Decimal("25.00"), Decimal("30.00"))
    assert credit.differences == []


def test_billing_more_than_was_received_is_flagged(purchases, make):
    order = make.purchase_order(
        purchases.taiwanese.supplier,
        purchases.taiwanese.order.campaign,
        [(purchases.taiwanese.order.lines[0].offer, 40, "22.5000")],
        shipping_fee="60.00",
    )
    make.receipt(order, {order.lines[0]: 36})
    einvoice = replace(
        purchases.taiwanese.einvoice, number="FCP-2026-1000", order_reference=order.number
    )
    invoice = importing.import_invoice(facturx_pdf(einvoice), "short.pdf", by=None)
    # 4 units over what arrived, 4 x 22.50 = 90.00: beyond max(0.5 % of 900.00, 1.00 €).
    assert invoice.differences == [
        {
            "code": "quantity_above_received",
            "label": "Quantité facturée au-delà de la quantité reçue",
            "line": "Jante 622",
            "expected": "36",
            "billed": "40",
            "format": "quantity",
        }
    ]


def test_a_difference_within_the_tolerance_is_not_flagged(app, purchases):
    # 41.00 instead of 38.00 on 10 units is 30.00 over 380.00: 7.9 %.
    einvoice = purchases.italian.einvoice
    app.config["COOP_PURCHASE_MATCH_TOLERANCE_PERCENT"] = Decimal("8")
    try:
        invoice = importing.import_invoice(facturx_pdf(einvoice), "ricambi.pdf", by=None)
    finally:
        app.config["COOP_PURCHASE_MATCH_TOLERANCE_PERCENT"] = Decimal("0.5")
    assert codes(invoice) == []


def test_no_order_found_and_unknown_lines_are_flagged(purchases):
    einvoice = replace(
        purchases.french.einvoice,
        order_reference="BC-1999-99999",
        lines=[Line("XX-1", "NOPE", "Sonnette", "1", "8.00")],
        charges=[],
    )
    invoice = importing.import_invoice(facturx_pdf(einvoice), "f.pdf", by=None)
    assert invoice.purchase_order is None
    assert codes(invoice) == ["no_purchase_order", "unknown_line"]


def test_vat_that_does_not_fit_the_supplier_s_regime_is_flagged(purchases):
    charged = replace(
        purchases.italian.einvoice,
        lines=[Line("RB-D9", None, "Deragliatore 9v", "10", "38.00")],
        charges=[Charge("25.00")],
    )
    invoice = importing.import_invoice(facturx_pdf(charged), "it.pdf", by=None)
    assert codes(invoice) == ["vat_from_foreign_supplier"]
    untaxed = replace(
        purchases.french.einvoice,
        lines=[
            Line(*args)
            for args in (
                ("DUP-PN700", "PNEU-700", "Pneu", "20", "12.50", "E", "0"),
                ("DUP-CH700", None, "Chambre", "30", "4.20", "E", "0"),
            )
        ],
        charges=[Charge("15.00", category="E", rate="0")],
        exemption="Franchise en base de TVA",
    )
    invoice = importing.import_invoice(facturx_pdf(untaxed), "fr.pdf", by=None)
    assert codes(invoice) == ["no_vat_from_french_supplier"]


def test_an_eu_supplier_without_a_vat_number_is_flagged(purchases):
    purchases.italian.supplier.vat_number = None
    db.session.commit()
    invoice = importing.import_invoice(facturx_pdf(purchases.italian.einvoice), "it.pdf", by=None)
    assert supplier_regime(invoice.supplier) is SupplierRegime.EU
    (missing,) = [found for found in invoice.differences if found["code"] == "vat_number_missing"]
    assert missing["label"] == "Numéro de TVA intracommunautaire absent"


def test_the_seller_is_found_by_siret_then_by_exact_name(purchases):
    purchases.french.supplier.vat_number = None
    db.session.commit()
    by_siren = importing.import_invoice(facturx_pdf(purchases.french.einvoice), "a.pdf", by=None)
    assert by_siren.supplier == purchases.french.supplier
    nameless = Party("Formosa Cycle Parts", "TW")
    purchases.taiwanese.supplier.vat_number = None
    db.session.commit()
    einvoice = replace(purchases.taiwanese.einvoice, seller=nameless)
    assert importing.import_invoice(facturx_pdf(einvoice), "b.pdf", by=None).supplier == (
        purchases.taiwanese.supplier
    )


# --- refusals: the file named, nothing written ------------------------------------------------


def refused(data: bytes, filename: str) -> str:
    before = stored()
    with pytest.raises(DomainError) as error:
        importing.import_invoice(data, filename, by=None)
    db.session.rollback()
    assert stored() == before
    assert error.value.message.startswith(f"{filename} : ")
    return error.value.message


def test_a_garbage_file_is_refused(purchases):
    assert "ni un PDF Factur-X ni un fichier XML" in refused(b"\x00\x01 not an invoice", "x.bin")
    assert "XML est mal formé" in refused(b"<Invoice><unclosed>", "bad.xml")
    assert "pas une facture électronique connue" in refused(b"<html><body/></html>", "page.xml")


def test_a_pdf_without_an_invoice_inside_is_refused(purchases):
    message = refused(plain_pdf(), "scan.pdf")
    assert "ne contient pas de facture électronique" in message
    assert "PDF est illisible" in refused(b"%PDF-1.7 broken", "broken.pdf")


def test_an_unknown_seller_is_refused_by_name(purchases):
    stranger = replace(
        purchases.french.einvoice, seller=Party("Vélos Inconnus", "FR", "FR96552100554")
    )
    message = refused(facturx_pdf(stranger), "inconnu.pdf")
    assert "fournisseur inconnu : « Vélos Inconnus » (TVA FR96552100554)" in message


def test_the_same_invoice_twice_is_refused(purchases):
    pdf = facturx_pdf(purchases.french.einvoice)
    importing.import_invoice(pdf, "first.pdf", by=None)
    db.session.commit()
    message = refused(cii_xml(purchases.french.einvoice), "again.xml")
    assert "Facture n° F-2026-0042 de Cycles Dupont : ce document est déjà enregistré" in message


def test_an_invoice_in_another_currency_is_refused(purchases):
    dollars = replace(purchases.taiwanese.einvoice, currency="USD")
    assert "facture en USD : seules les factures en euros" in refused(
        facturx_pdf(dollars), "usd.pdf"
    )


def test_totals_that_do_not_add_up_are_refused(purchases):
    wrong = replace(purchases.french.einvoice, grand_total="469.21")
    message = refused(cii_xml(wrong), "wrong.xml")
    assert "391,00\u00a0€ HT + 78,20\u00a0€ TVA ≠ 469,21\u00a0€ TTC" in message


def test_a_corrected_invoice_is_refused_with_its_name(purchases):
    corrected = replace(purchases.french.einvoice, type_code="384")
    assert "type 384 (facture rectificative)" in refused(cii_xml(corrected), "384.xml")


def test_a_schema_invalid_xml_is_refused(purchases):
    xml = cii_xml(purchases.french.einvoice).replace(b"<ram:TypeCode>380</ram:TypeCode>", b"")
    assert "pas conforme au schéma officiel" in refused(xml, "invalid.xml")


def test_an_external_entity_is_never_read(purchases, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xml = (
        cii_xml(purchases.french.einvoice)
        .replace(
            b'<?xml version="1.0" encoding="UTF-8"?>',
            f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY s SYSTEM "{secret.as_uri()}">]>'.encode(),
        )
        .replace(b"<ram:ID>F-2026-0042</ram:ID>", b"<ram:ID>&s;</ram:ID>")
    )
    with pytest.raises(DomainError) as error:
        importing.import_invoice(xml, "xxe.xml", by=None)
    assert "TOP-SECRET" not in error.value.message


def test_rematch_after_a_receipt_clears_a_quantity_difference(purchases, make):
    order = make.purchase_order(
        purchases.taiwanese.supplier,
        purchases.taiwanese.order.campaign,
        [(purchases.taiwanese.order.lines[0].offer, 40, "22.5000")],
        shipping_fee="60.00",
    )
    make.receipt(order, {order.lines[0]: 30})
    einvoice = replace(
        purchases.taiwanese.einvoice, number="FCP-2026-1001", order_reference=order.number
    )
    invoice = importing.import_invoice(facturx_pdf(einvoice), "late.pdf", by=None)
    assert codes(invoice) == ["quantity_above_received"]
    make.receipt(order, {order.lines[0]: 10})
    matching.rematch(invoice)
    assert codes(invoice) == []
