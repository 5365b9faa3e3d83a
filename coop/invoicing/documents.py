"""Invoice documents: the Factur-X XML, the PDF/A-3 that carries it, stored once.

spec/invoicing.md: every invoice and credit note is a PDF/A-3b with its CII XML
(profile EN 16931, relationship Data) embedded, XSD-valid. The PDF is rendered
once from the issued snapshot, stored with its SHA-256 and served byte-identical.
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import facturx
from flask import render_template
from flask_babel import force_locale
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from coop.accounts.identity import capital, join_legal_line, logo_data_url, registration
from coop.accounts.models import CoopIdentity
from coop.extensions import db
from coop.invoicing.models import (
    INVOICE_KIND_LABELS,
    Invoice,
    InvoiceDocument,
    InvoiceKind,
    LineKind,
    fee_is_service,
    is_gesture,
)

if TYPE_CHECKING:
    from coop.pdf import PdfRenderer

logger = logging.getLogger(__name__)

FACTURX_LEVEL = "en16931"
XML_FILENAME = "factur-x.xml"
TYPE_CODES = {InvoiceKind.INVOICE: "380", InvoiceKind.CREDIT_NOTE: "381"}

# The French mentions (Code de commerce L441-9 / L441-10, CGI ann. II art. 242 nonies A).
NO_DISCOUNT = "Pas d'escompte pour paiement anticipé."
RECOVERY_INDEMNITY = (
    "Indemnité forfaitaire pour frais de recouvrement : 40 € (non soumise à la TVA), "
    "art. L441-10 et D441-5 du Code de commerce."
)
DEFAULT_LATE_RATE = "taux directeur de la BCE majoré de 10 points"

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}


@dataclass
class Address:
    name: str
    street: str
    postcode: str
    city: str
    country: str = "FR"

    def same_place(self, other: "Address") -> bool:
        def key(a):
            return tuple(
                " ".join(str(v).split()).casefold() for v in (a.street, a.postcode, a.city)
            )

        return key(self) == key(other)


@dataclass
class Party:
    name: str
    address: Address
    legal_form: str = ""
    siren: str = ""
    siret: str = ""
    vat_number: str = ""
    email: str = ""
    phone: str = ""
    code: str = ""
    registration: str = ""  # "RCS Lyon 812 345 676" (the seller's)
    capital: str = ""  # "au capital de 15 000,00 €", "à capital variable"
    vat_on_debits: bool = False

    @property
    def legal_line(self) -> str:
        """ "SCIC SAS à capital variable · RCS Lyon 812 345 676": BT-33 and the letterhead."""
        return join_legal_line(self.legal_form, self.capital, self.registration)


@dataclass
class Line:
    position: int
    description: str
    reference: str
    quantity: Decimal
    unit_price: Decimal
    vat_rate: Decimal
    amount: Decimal
    is_service: bool
    sku: str = ""  # the coop's part number: BT-155; `reference` is the shop's own, BT-156


@dataclass
class VatRow:
    rate: Decimal
    base: Decimal
    amount: Decimal


@dataclass
class Facts:
    """What the PDF and the XML both say, read once from the issued invoice."""

    number: str
    type_code: str
    is_credit_note: bool
    issued_on: date
    due_on: date
    seller: Party
    buyer: Party
    delivery: Address | None  # only when it differs from the billing address
    delivered_on: date | None
    campaign_code: str
    campaign_title: str
    buyer_references: list[str]
    lines: list[Line]
    vat: list[VatRow]
    total_excl_vat: Decimal
    total_vat: Decimal
    total_incl_vat: Decimal
    payment_reference: str
    iban: str
    bic: str
    payment_terms: str
    early_payment: str
    late_payment: str
    recovery_indemnity: str
    nature: str
    credited_number: str = ""
    credited_issued_on: date | None = None
    logo: str | None = None  # a data: URL
    imputation: str = ""  # a credit note: what the shop's account does with it
    business_process: str = "B1"  # BT-23 (BR-FR-08): B1 goods, S1 services, M1 both

    @property
    def kind_label(self) -> str:
        """ "Facture" or "Avoir": the document is French whatever the reader's language."""
        kind = InvoiceKind.CREDIT_NOTE if self.is_credit_note else InvoiceKind.INVOICE
        return INVOICE_KIND_LABELS[kind]


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _address(data: dict, name: str, prefix: str = "") -> Address:
    return Address(
        name=name,
        street=_text(data.get(f"{prefix}address")),
        postcode=_text(data.get(f"{prefix}postcode")),
        city=_text(data.get(f"{prefix}city")),
        country=_text(data.get(f"{prefix}country")) or _text(data.get("country")) or "FR",
    )


def _party(data: dict) -> Party:
    name = _text(data.get("name"))
    siret = "".join(_text(data.get("siret")).split())
    siren = "".join(_text(data.get("siren")).split()) or siret[:9]
    return Party(
        name=name,
        address=_address(data, name),
        legal_form=_text(data.get("legal_form")),
        siren=siren,
        siret=siret,
        vat_number=_text(data.get("vat_number")),
        email=_text(data.get("email")),
        phone=_text(data.get("phone")),
        code=_text(data.get("code")),
        registration=registration(data.get("registry"), data.get("registry_city"), siren),
        capital=capital(
            data.get("share_capital"), bool(data.get("variable_capital")), data.get("legal_form")
        ),
        vat_on_debits=bool(data.get("vat_on_debits")),
    )


def _delivery(buyer: dict, billing: Address) -> Address | None:
    """The delivery address when it differs from the billing one (printed only then)."""
    place = _address(buyer, billing.name, prefix="delivery_")
    if not place.street or place.same_place(billing):
        return None
    return place


def _sorted_mentions(snapshot: dict) -> dict[str, str]:
    """The issued mentions by role (snapshot["mentions"], as coop.invoicing.issuing writes it)."""
    mapping = snapshot.get("mentions") or {}
    found = {}
    for role, keys in (
        ("payment_terms", ("payment_terms",)),
        ("early_payment", ("early_payment_discount", "early_payment")),
        ("late_payment", ("late_payment",)),
        ("recovery_indemnity", ("recovery_indemnity",)),
        ("nature", ("nature",)),
    ):
        text = _mention(mapping, *keys)
        if text:
            found[role] = text
    return found


def _logo(seller: dict, current: str | None) -> str | None:
    """The coop's logo as a data: URL: from the snapshot, else the `current` identity's."""
    logo = seller.get("logo")
    if isinstance(logo, str) and logo.startswith("data:image/"):
        return logo
    return current


def _current_logo() -> str | None:
    identity = db.session.get(CoopIdentity, 1)
    return logo_data_url(identity) if identity is not None else None


def _lines(rows, sign: int, fee_service: bool) -> list[Line]:
    lines = [
        Line(
            position=line.position,
            description=line.description,
            reference=_text(line.reference),
            quantity=sign * line.quantity,
            unit_price=line.unit_price,
            vat_rate=line.vat_rate,
            amount=sign * line.amount_excl_vat,
            is_service=fee_service and line.kind == LineKind.FEE,
            sku=_sku(line),
        )
        for line in rows
    ]
    for line in lines:
        if line.unit_price < 0:
            # A rebate line: the price stays positive, the sign goes to the quantity (BR-27).
            line.unit_price, line.quantity = -line.unit_price, -line.quantity
    return lines


def _sku(line) -> str:
    """The coop's SKU of a goods line, as issued: its description reads "SKU — name"."""
    if line.kind != LineKind.GOODS or " — " not in line.description:
        return ""
    return line.description.split(" — ", 1)[0].strip()


def _business_process(lines: list[Line]) -> str:
    """BT-23 of the French 2026 rules (BR-FR-08): B1 goods only, S1 services only, M1 both."""
    services = any(line.is_service for line in lines)
    goods = any(not line.is_service for line in lines)
    if services and goods:
        return "M1"
    return "S1" if services else "B1"


GESTURE_NATURE = "Avoir commercial : rabais, sans retour de marchandises"
NATURES = {
    (False, "B1"): "Facture de biens",
    (False, "S1"): "Facture de services",
    (False, "M1"): "Facture de biens et de services",
    (True, "B1"): "Avoir sur livraison de biens",
    (True, "S1"): "Avoir sur prestation de services",
    (True, "M1"): "Avoir sur biens et services",
}


def _nature(lines: list[Line], is_credit_note: bool = False) -> str:
    """Goods, services or both (CGI ann. II art. 242 nonies A); a credit note's, what it credits."""
    return NATURES[is_credit_note, _business_process(lines)]


# Credited as an amount, nothing returned: where the credit goes, when the snapshot (issued
# before the sentence was kept) does not say. The ledger's rule, coop.payments.ledger.settle.
DEFAULT_IMPUTATION = (
    "Cet avoir est déduit de la facture {number}. Si elle est déjà réglée, le trop-perçu "
    "est porté au crédit de votre compte : il règle vos factures ouvertes, la plus ancienne "
    "échéance d'abord ; le solde est déduit de vos prochaines factures ou remboursé sur demande."
)


def _mention(mentions: dict, *keys: str) -> str:
    for key in keys:
        if _text(mentions.get(key)):
            return _text(mentions.get(key))
    return ""


def invoice_facts(invoice: Invoice) -> Facts:
    """The issued invoice read from its snapshot and lines, amounts as the reader expects.

    A credit note whose amounts were stored negative is shown and exported with
    positive amounts: type 381 already says that they are owed back (EN 16931).
    """
    return _facts(invoice, _current_logo())


def _facts(invoice: Invoice, current_logo: str | None) -> Facts:
    snapshot = invoice.snapshot or {}
    seller_data = snapshot.get("seller") or {}
    buyer_data = snapshot.get("buyer") or {}
    order = snapshot.get("references") or {}
    mentions = _sorted_mentions(snapshot)
    is_credit_note = invoice.kind == InvoiceKind.CREDIT_NOTE
    sign = -1 if is_credit_note and invoice.total_incl_vat < 0 else 1

    seller = _party(seller_data)
    buyer = _party(buyer_data)
    lines = _lines(invoice.lines, sign, fee_is_service(invoice))
    gesture = is_gesture(invoice)
    vat = [VatRow(row.rate, sign * row.base, sign * row.amount) for row in invoice.vat]

    credited = invoice.credited_invoice
    credited_data = snapshot.get("credited_invoice") or {}
    late_rate = _text(seller_data.get("late_payment_rate")) or DEFAULT_LATE_RATE
    campaign = invoice.campaign
    refs = order.get("shop_references") or []
    if isinstance(refs, str):
        refs = [refs]
    return Facts(
        number=invoice.number,
        type_code=TYPE_CODES[InvoiceKind(invoice.kind)],
        is_credit_note=is_credit_note,
        issued_on=invoice.issued_on,
        due_on=invoice.due_on,
        seller=seller,
        buyer=buyer,
        delivery=_delivery(buyer_data, buyer.address),
        delivered_on=_date(snapshot.get("delivered_on")),
        campaign_code=_mention(order, "campaign_code") or (campaign.code if campaign else ""),
        campaign_title=_mention(order, "campaign_title") or (campaign.title if campaign else ""),
        buyer_references=[_text(r) for r in refs if _text(r)],
        lines=lines,
        vat=vat,
        total_excl_vat=sign * invoice.total_excl_vat,
        total_vat=sign * invoice.total_vat,
        total_incl_vat=sign * invoice.total_incl_vat,
        payment_reference=invoice.payment_reference,
        iban="".join(_text(seller_data.get("iban")).split()),
        bic=_text(seller_data.get("bic")),
        payment_terms=mentions.get("payment_terms")
        or (
            "Avoir imputable dès son émission sur la facture qu'il cite."
            if is_credit_note
            else f"Paiement par virement au plus tard le {invoice.due_on:%d/%m/%Y}."
        ),
        early_payment=mentions.get("early_payment") or NO_DISCOUNT,
        late_payment=mentions.get("late_payment")
        or (
            f"En cas de retard de paiement, pénalités exigibles au {late_rate}, sans pouvoir "
            "être inférieures à trois fois le taux d'intérêt légal (art. L441-10 du Code de "
            "commerce)."
        ),
        recovery_indemnity=mentions.get("recovery_indemnity") or RECOVERY_INDEMNITY,
        # A credit note's snapshot copies the invoice's mentions: its nature is its own.
        nature=(GESTURE_NATURE if gesture else _nature(lines, True))
        if is_credit_note
        else mentions.get("nature") or _text(snapshot.get("nature")) or _nature(lines),
        # A gesture is a rebate on the whole invoice: it follows what the invoice sold.
        business_process=_business_process(
            _lines(credited.lines, 1, fee_is_service(credited)) if gesture and credited else lines
        ),
        imputation=(
            _text(snapshot.get("imputation"))
            or DEFAULT_IMPUTATION.format(
                number=credited.number if credited else _text(credited_data.get("number"))
            )
        )
        if is_credit_note
        else "",
        credited_number=credited.number if credited else _text(credited_data.get("number")),
        credited_issued_on=credited.issued_on
        if credited
        else _date(credited_data.get("issued_on")),
        logo=_logo(seller_data, current_logo),
    )


# --- Factur-X (CII, EN 16931) -------------------------------------------------------


def _el(parent, tag: str, text=None, **attributes):
    prefix, name = tag.split(":")
    element = etree.SubElement(parent, f"{{{NS[prefix]}}}{name}", **attributes)
    if text is not None:
        element.text = str(text)
    return element


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def _decimal(value: Decimal) -> str:
    """A quantity or price without trailing zeros beyond the cent (2.5, 12.3456, 3.00)."""
    text = f"{value.normalize():f}"
    if "." not in text:
        return f"{value:.2f}"
    whole, fraction = text.split(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def _percent(rate: Decimal) -> str:
    return _decimal(rate * 100)


def _day(parent, tag: str, value: date, namespace: str = "udt") -> None:
    holder = _el(parent, tag)
    _el(holder, f"{namespace}:DateTimeString", value.strftime("%Y%m%d"), format="102")


def _trade_party(parent, tag: str, party: Party, *, with_contact: bool = False) -> None:
    node = _el(parent, tag)
    _el(node, "ram:Name", party.name)
    if with_contact and party.legal_line:
        # BT-33, the seller's additional legal information: legal form, capital, registry.
        _el(node, "ram:Description", party.legal_line)
    if party.siren:
        # BT-30 / BT-47: the SIREN, scheme 0002 (French rules for Factur-X).
        legal = _el(node, "ram:SpecifiedLegalOrganization")
        _el(legal, "ram:ID", party.siren, schemeID="0002")
    if with_contact and (party.phone or party.email):
        contact = _el(node, "ram:DefinedTradeContact")
        if party.phone:
            _el(
                _el(contact, "ram:TelephoneUniversalCommunication"),
                "ram:CompleteNumber",
                party.phone,
            )
        if party.email:
            _el(_el(contact, "ram:EmailURIUniversalCommunication"), "ram:URIID", party.email)
    _postal_address(node, party.address)
    if party.email:
        _el(_el(node, "ram:URIUniversalCommunication"), "ram:URIID", party.email, schemeID="EM")
    if party.vat_number:
        tax = _el(node, "ram:SpecifiedTaxRegistration")
        _el(tax, "ram:ID", party.vat_number, schemeID="VA")


def _postal_address(parent, address: Address) -> None:
    node = _el(parent, "ram:PostalTradeAddress")
    if address.postcode:
        _el(node, "ram:PostcodeCode", address.postcode)
    lines = [line.strip() for line in address.street.splitlines() if line.strip()]
    for tag, line in zip(("ram:LineOne", "ram:LineTwo", "ram:LineThree"), lines, strict=False):
        _el(node, tag, line)
    if address.city:
        _el(node, "ram:CityName", address.city)
    _el(node, "ram:CountryID", address.country or "FR")


def _build_xml(facts: Facts) -> bytes:
    root = etree.Element(f"{{{NS['rsm']}}}CrossIndustryInvoice", nsmap=NS)
    context = _el(root, "rsm:ExchangedDocumentContext")
    # BT-23, the French 2026 rules' cadre de facturation (BR-FR-08).
    process = _el(context, "ram:BusinessProcessSpecifiedDocumentContextParameter")
    _el(process, "ram:ID", facts.business_process)
    guideline = _el(context, "ram:GuidelineSpecifiedDocumentContextParameter")
    _el(guideline, "ram:ID", "urn:cen.eu:en16931:2017")

    document = _el(root, "rsm:ExchangedDocument")
    _el(document, "ram:ID", facts.number)
    _el(document, "ram:TypeCode", facts.type_code)
    _day(document, "ram:IssueDateTime", facts.issued_on)
    # BT-21 subject codes of the French rules: PMT recovery indemnity, PMD penalties,
    # AAB early-payment discount. A credit note is owed back, not paid late: it says
    # instead how the credit is used (AAI, general information), as its PDF does.
    notes = (
        (("AAI", facts.imputation),)
        if facts.is_credit_note
        else (
            ("AAB", facts.early_payment),
            ("PMD", facts.late_payment),
            ("PMT", facts.recovery_indemnity),
        )
    )
    for subject, content in notes:
        note = _el(document, "ram:IncludedNote")
        _el(note, "ram:Content", content)
        _el(note, "ram:SubjectCode", subject)

    transaction = _el(root, "rsm:SupplyChainTradeTransaction")
    for line in facts.lines:
        item = _el(transaction, "ram:IncludedSupplyChainTradeLineItem")
        _el(_el(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", line.position)
        product = _el(item, "ram:SpecifiedTradeProduct")
        if line.sku:  # BT-155, the seller's item id
            _el(product, "ram:SellerAssignedID", line.sku)
        if line.reference:  # BT-156, the buyer's item id: the shop's own reference
            _el(product, "ram:BuyerAssignedID", line.reference)
        _el(product, "ram:Name", line.description)
        agreement = _el(item, "ram:SpecifiedLineTradeAgreement")
        price = _el(agreement, "ram:NetPriceProductTradePrice")
        _el(price, "ram:ChargeAmount", _decimal(line.unit_price))
        delivery = _el(item, "ram:SpecifiedLineTradeDelivery")
        _el(delivery, "ram:BilledQuantity", _decimal(line.quantity), unitCode="C62")
        settlement = _el(item, "ram:SpecifiedLineTradeSettlement")
        tax = _el(settlement, "ram:ApplicableTradeTax")
        _el(tax, "ram:TypeCode", "VAT")
        _el(tax, "ram:CategoryCode", "S")
        _el(tax, "ram:RateApplicablePercent", _percent(line.vat_rate))
        summation = _el(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
        _el(summation, "ram:LineTotalAmount", _amount(line.amount))

    agreement = _el(transaction, "ram:ApplicableHeaderTradeAgreement")
    if facts.buyer.code:
        _el(agreement, "ram:BuyerReference", facts.buyer.code)
    _trade_party(agreement, "ram:SellerTradeParty", facts.seller, with_contact=True)
    _trade_party(agreement, "ram:BuyerTradeParty", facts.buyer)
    if facts.campaign_code:
        order = _el(agreement, "ram:BuyerOrderReferencedDocument")
        _el(order, "ram:IssuerAssignedID", facts.campaign_code)

    delivery = _el(transaction, "ram:ApplicableHeaderTradeDelivery")
    if facts.delivery:
        ship_to = _el(delivery, "ram:ShipToTradeParty")
        _el(ship_to, "ram:Name", facts.delivery.name)
        _postal_address(ship_to, facts.delivery)
    if facts.delivered_on:
        event = _el(delivery, "ram:ActualDeliverySupplyChainEvent")
        _day(event, "ram:OccurrenceDateTime", facts.delivered_on)

    settlement = _el(transaction, "ram:ApplicableHeaderTradeSettlement")
    _el(settlement, "ram:PaymentReference", facts.payment_reference)
    _el(settlement, "ram:InvoiceCurrencyCode", "EUR")
    if facts.iban and not facts.is_credit_note:  # a credit note is not paid to the coop
        means = _el(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
        _el(means, "ram:TypeCode", "58")  # SEPA credit transfer
        account = _el(means, "ram:PayeePartyCreditorFinancialAccount")
        _el(account, "ram:IBANID", facts.iban)
        if facts.bic:
            bank = _el(means, "ram:PayeeSpecifiedCreditorFinancialInstitution")
            _el(bank, "ram:BICID", facts.bic)
    for row in facts.vat:
        tax = _el(settlement, "ram:ApplicableTradeTax")
        _el(tax, "ram:CalculatedAmount", _amount(row.amount))
        _el(tax, "ram:TypeCode", "VAT")
        _el(tax, "ram:BasisAmount", _amount(row.base))
        _el(tax, "ram:CategoryCode", "S")
        _el(tax, "ram:RateApplicablePercent", _percent(row.rate))
    terms = _el(settlement, "ram:SpecifiedTradePaymentTerms")
    _el(terms, "ram:Description", facts.payment_terms)
    _day(terms, "ram:DueDateDateTime", facts.due_on)
    summation = _el(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _el(summation, "ram:LineTotalAmount", _amount(sum((x.amount for x in facts.lines), Decimal(0))))
    _el(summation, "ram:TaxBasisTotalAmount", _amount(facts.total_excl_vat))
    _el(summation, "ram:TaxTotalAmount", _amount(facts.total_vat), currencyID="EUR")
    _el(summation, "ram:GrandTotalAmount", _amount(facts.total_incl_vat))
    _el(summation, "ram:DuePayableAmount", _amount(facts.total_incl_vat))
    if facts.is_credit_note and facts.credited_number:
        # BT-25 / BT-26: the invoice this credit note corrects.
        cited = _el(settlement, "ram:InvoiceReferencedDocument")
        _el(cited, "ram:IssuerAssignedID", facts.credited_number)
        if facts.credited_issued_on:
            _day(cited, "ram:FormattedIssueDateTime", facts.credited_issued_on, "qdt")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def factur_x_xml(invoice: Invoice) -> bytes:
    """The invoice's CII XML, profile EN 16931, checked against the Factur-X XSD."""
    xml = _build_xml(invoice_facts(invoice))
    facturx.xml_check_xsd(xml, flavor="factur-x", level=FACTURX_LEVEL)
    return xml


# --- PDF ------------------------------------------------------------------------------


def _html(facts: Facts) -> str:
    # The document is French whatever the language of whoever triggered the rendering.
    with force_locale("fr"):
        return render_template("invoicing/invoice_pdf.html", f=facts)


def invoice_html(invoice: Invoice) -> str:
    """The HTML the invoice's PDF is rendered from."""
    return _html(invoice_facts(invoice))


def render_invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice as a Factur-X PDF/A-3b: the French document with its XML embedded."""
    # WeasyPrint takes half a second to import: only the processes that render load it.
    from coop.pdf import PdfRenderer

    return _factur_x_pdf(invoice_facts(invoice), PdfRenderer())


def _factur_x_pdf(facts: Facts, renderer: "PdfRenderer") -> bytes:
    xml = _build_xml(facts)
    pdf = renderer.render(_html(facts), pdf_variant="pdf/a-3b")
    title = f"{facts.kind_label} {facts.number}"
    return facturx.generate_from_binary(
        pdf,
        xml,
        flavor="factur-x",
        level=FACTURX_LEVEL,
        check_xsd=True,
        afrelationship="data",
        lang="fr-FR",
        pdf_metadata={
            "author": facts.seller.name,
            "keywords": "Factur-X, facture",
            "title": f"{facts.seller.name} : {title}",
            "subject": f"{title} du {facts.issued_on:%d/%m/%Y} pour {facts.buyer.name}",
        },
    )


def _store(invoice_id: int, pdf: bytes) -> InvoiceDocument:
    document = InvoiceDocument(
        invoice_id=invoice_id, pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest()
    )
    db.session.add(document)
    return document


def render_and_store(invoice: Invoice) -> InvoiceDocument:
    """The invoice's stored PDF, rendered and inserted the first time only (flushes)."""
    existing = db.session.get(InvoiceDocument, invoice.id)
    if existing is not None:
        return existing
    document = _store(invoice.id, render_invoice_pdf(invoice))
    db.session.flush()
    return document


# Invoices read together by render_pending_documents (a few queries per chunk, not several
# per invoice); each PDF is still committed on its own.
CHUNK = 100


def pending_documents(first: int | None = None, last: int | None = None) -> list[int]:
    """The issued invoices without a PDF yet (only from id `first` to `last`), by id."""
    query = (
        select(Invoice.id)
        .outerjoin(InvoiceDocument, InvoiceDocument.invoice_id == Invoice.id)
        .where(InvoiceDocument.invoice_id.is_(None))
        .order_by(Invoice.id)
    )
    if first is not None:
        query = query.where(Invoice.id >= first)
    if last is not None:
        query = query.where(Invoice.id <= last)
    return db.session.scalars(query).all()


def render_pending_documents(first: int | None = None, last: int | None = None) -> int:
    """Render and store every issued invoice without a PDF (only from id `first` to `last`:
    a piece of a batch, `issuing.issue_job`), committing each; how many."""
    pending = pending_documents(first, last)
    # WeasyPrint takes half a second to import: only the processes that render load it.
    from coop.pdf import PdfRenderer

    # One renderer for the batch: fonts loaded and the logo decoded once, not per invoice.
    renderer = PdfRenderer()
    rendered = 0
    for start in range(0, len(pending), CHUNK):
        chunk = pending[start : start + CHUNK]
        # Plain values, read before the first commit expires the rows they come from.
        facts = _pending_facts(chunk)
        # End the reading transaction before rendering: on SQLite a job's transaction holds
        # the write lock (coop._may_write), which the pages must not wait for while it renders.
        db.session.commit()
        for invoice_id in chunk:
            if invoice_id not in facts:
                continue
            try:
                _store(invoice_id, _factur_x_pdf(facts[invoice_id], renderer))
                db.session.commit()
                rendered += 1
            except Exception:
                # Another worker may have stored it first (primary key), or the rendering
                # failed: the others still get their PDF; the next run retries this one.
                db.session.rollback()
                logger.exception("invoice %s: PDF not stored", invoice_id)
    return rendered


def _pending_facts(invoice_ids: list[int]) -> dict[int, Facts]:
    invoices = db.session.scalars(
        select(Invoice)
        .where(Invoice.id.in_(invoice_ids))
        .options(
            selectinload(Invoice.lines),
            selectinload(Invoice.vat),
            selectinload(Invoice.campaign),
            selectinload(Invoice.credited_invoice),
        )
    )
    logo = _current_logo()  # once, not once per invoice
    facts = {}
    for invoice in invoices:
        try:
            facts[invoice.id] = _facts(invoice, logo)
        except Exception:
            logger.exception("invoice %s: PDF not stored", invoice.id)
    return facts
