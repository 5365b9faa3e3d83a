"""Suppliers' e-invoices as suppliers send them, built without the app's own code: CII XML
written by hand to the EN 16931 profile, wrapped into a Factur-X PDF by the factur-x library
(`generate_from_binary`), and UBL made by the library from the same business terms."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape

import facturx
from weasyprint import HTML

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Party:
    name: str
    country: str
    vat_number: str | None = None
    siren: str | None = None
    city: str = "Lyon"


COOP = Party("Coopérative vélo Lyon", "FR", "FR96552100554", "552100554")


@dataclass(frozen=True)
class Line:
    seller_id: str | None
    buyer_id: str | None
    name: str
    quantity: str
    price: str
    category: str = "S"
    rate: str = "20"

    @property
    def amount(self) -> Decimal:
        return (Decimal(self.quantity) * Decimal(self.price)).quantize(CENT)


@dataclass(frozen=True)
class Charge:
    amount: str
    reason: str = "Transport"
    code: str = "FC"
    category: str = "S"
    rate: str = "20"


@dataclass(frozen=True)
class EInvoice:
    number: str
    seller: Party
    lines: list[Line]
    charges: list[Charge] = field(default_factory=list)
    type_code: str = "380"
    issued_on: date = date(2026, 12, 1)
    due_on: date = date(2026, 12, 31)
    currency: str = "EUR"
    order_reference: str | None = None
    preceding: str | None = None
    # Why no VAT is charged (K, G), as BR-IC-10 / BR-G-10 want it said.
    exemption: str | None = None
    # Overrides to break the totals on purpose.
    grand_total: str | None = None

    def breakdown(self) -> dict[tuple[str, str], Decimal]:
        bases: dict[tuple[str, str], Decimal] = {}
        for item in [*self.lines, *self.charges]:
            key = (item.category, item.rate)
            amount = item.amount if isinstance(item, Line) else Decimal(item.amount)
            bases[key] = bases.get(key, Decimal("0.00")) + amount
        return bases

    @property
    def total_excl_vat(self) -> Decimal:
        return sum(self.breakdown().values(), Decimal("0.00"))

    @property
    def total_vat(self) -> Decimal:
        return sum(
            (
                (base * Decimal(rate) / 100).quantize(CENT)
                for (_, rate), base in self.breakdown().items()
            ),
            Decimal("0.00"),
        )


def _day(value: date) -> str:
    return f'<udt:DateTimeString format="102">{value:%Y%m%d}</udt:DateTimeString>'


def _party(tag: str, party: Party) -> str:
    legal = (
        f'<ram:SpecifiedLegalOrganization><ram:ID schemeID="0002">{party.siren}</ram:ID>'
        "</ram:SpecifiedLegalOrganization>"
        if party.siren
        else ""
    )
    vat = (
        f'<ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">{party.vat_number}</ram:ID>'
        "</ram:SpecifiedTaxRegistration>"
        if party.vat_number
        else ""
    )
    return (
        f"<ram:{tag}><ram:Name>{escape(party.name)}</ram:Name>{legal}"
        f"<ram:PostalTradeAddress><ram:CityName>{party.city}</ram:CityName>"
        f"<ram:CountryID>{party.country}</ram:CountryID></ram:PostalTradeAddress>{vat}</ram:{tag}>"
    )


def _line(position: int, line: Line) -> str:
    ids = "".join(
        f"<ram:{tag}>{escape(value)}</ram:{tag}>"
        for tag, value in (("SellerAssignedID", line.seller_id), ("BuyerAssignedID", line.buyer_id))
        if value
    )
    return (
        "<ram:IncludedSupplyChainTradeLineItem><ram:AssociatedDocumentLineDocument>"
        f"<ram:LineID>{position}</ram:LineID></ram:AssociatedDocumentLineDocument>"
        f"<ram:SpecifiedTradeProduct>{ids}<ram:Name>{escape(line.name)}</ram:Name>"
        "</ram:SpecifiedTradeProduct><ram:SpecifiedLineTradeAgreement>"
        f"<ram:NetPriceProductTradePrice><ram:ChargeAmount>{line.price}</ram:ChargeAmount>"
        "</ram:NetPriceProductTradePrice></ram:SpecifiedLineTradeAgreement>"
        f'<ram:SpecifiedLineTradeDelivery><ram:BilledQuantity unitCode="C62">{line.quantity}'
        "</ram:BilledQuantity></ram:SpecifiedLineTradeDelivery><ram:SpecifiedLineTradeSettlement>"
        f"{_tax(line.category, line.rate)}<ram:SpecifiedTradeSettlementLineMonetarySummation>"
        f"<ram:LineTotalAmount>{line.amount}</ram:LineTotalAmount>"
        "</ram:SpecifiedTradeSettlementLineMonetarySummation></ram:SpecifiedLineTradeSettlement>"
        "</ram:IncludedSupplyChainTradeLineItem>"
    )


def _tax(category: str, rate: str, tag: str = "ApplicableTradeTax") -> str:
    return (
        f"<ram:{tag}><ram:TypeCode>VAT</ram:TypeCode><ram:CategoryCode>{category}"
        f"</ram:CategoryCode><ram:RateApplicablePercent>{rate}</ram:RateApplicablePercent>"
        f"</ram:{tag}>"
    )


def _breakdown(invoice: EInvoice) -> str:
    rows = []
    for (category, rate), base in invoice.breakdown().items():
        reason = invoice.exemption if category != "S" else None
        rows.append(
            "<ram:ApplicableTradeTax><ram:CalculatedAmount>"
            f"{(base * Decimal(rate) / 100).quantize(CENT)}</ram:CalculatedAmount>"
            "<ram:TypeCode>VAT</ram:TypeCode>"
            + (f"<ram:ExemptionReason>{escape(reason)}</ram:ExemptionReason>" if reason else "")
            + f"<ram:BasisAmount>{base}</ram:BasisAmount>"
            f"<ram:CategoryCode>{category}</ram:CategoryCode>"
            f"<ram:RateApplicablePercent>{rate}</ram:RateApplicablePercent>"
            "</ram:ApplicableTradeTax>"
        )
    return "".join(rows)


def _charge(charge: Charge) -> str:
    return (
        "<ram:SpecifiedTradeAllowanceCharge><ram:ChargeIndicator><udt:Indicator>true"
        f"</udt:Indicator></ram:ChargeIndicator><ram:ActualAmount>{charge.amount}</ram:ActualAmount>"
        f"<ram:ReasonCode>{charge.code}</ram:ReasonCode><ram:Reason>{escape(charge.reason)}"
        f"</ram:Reason>{_tax(charge.category, charge.rate, 'CategoryTradeTax')}"
        "</ram:SpecifiedTradeAllowanceCharge>"
    )


NAMESPACES = " ".join(
    f'xmlns:{prefix}="urn:un:unece:uncefact:data:standard:{name}:100"'
    for prefix, name in (
        ("rsm", "CrossIndustryInvoice"),
        ("ram", "ReusableAggregateBusinessInformationEntity"),
        ("udt", "UnqualifiedDataType"),
        ("qdt", "QualifiedDataType"),
    )
)
GUIDELINE = (
    "<rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>"
    "<ram:ID>urn:cen.eu:en16931:2017</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter>"
    "</rsm:ExchangedDocumentContext>"
)
PAYMENT_MEANS = (
    "<ram:SpecifiedTradeSettlementPaymentMeans><ram:TypeCode>58</ram:TypeCode>"
    "<ram:PayeePartyCreditorFinancialAccount><ram:IBANID>FR7630006000011234567890189"
    "</ram:IBANID></ram:PayeePartyCreditorFinancialAccount></ram:SpecifiedTradeSettlementPaymentMeans>"
)


def cii_xml(invoice: EInvoice) -> bytes:
    """The invoice as a CII XML of the EN 16931 profile (Factur-X's), written by hand."""
    lines_total = sum((line.amount for line in invoice.lines), Decimal("0.00"))
    charges_total = sum((Decimal(c.amount) for c in invoice.charges), Decimal("0.00"))
    excl, vat = invoice.total_excl_vat, invoice.total_vat
    grand = invoice.grand_total or f"{excl + vat}"
    order = (
        f"<ram:BuyerOrderReferencedDocument><ram:IssuerAssignedID>{invoice.order_reference}"
        "</ram:IssuerAssignedID></ram:BuyerOrderReferencedDocument>"
        if invoice.order_reference
        else ""
    )
    preceding = (
        f"<ram:InvoiceReferencedDocument><ram:IssuerAssignedID>{invoice.preceding}"
        "</ram:IssuerAssignedID></ram:InvoiceReferencedDocument>"
        if invoice.preceding
        else ""
    )
    # Where the goods went and when: an intra-EU supply must say it (BR-IC-11, BR-IC-12).
    delivery = (
        "<ram:ShipToTradeParty><ram:Name>Coopérative vélo Lyon</ram:Name><ram:PostalTradeAddress>"
        "<ram:CountryID>FR</ram:CountryID></ram:PostalTradeAddress></ram:ShipToTradeParty>"
        f"<ram:ActualDeliverySupplyChainEvent><ram:OccurrenceDateTime>{_day(invoice.issued_on)}"
        "</ram:OccurrenceDateTime></ram:ActualDeliverySupplyChainEvent>"
    )
    charge_total = (
        f"<ram:ChargeTotalAmount>{charges_total}</ram:ChargeTotalAmount>" if invoice.charges else ""
    )
    lines = "".join(_line(n, line) for n, line in enumerate(invoice.lines, start=1))
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice {NAMESPACES}>
  {GUIDELINE}
  <rsm:ExchangedDocument>
    <ram:ID>{invoice.number}</ram:ID>
    <ram:TypeCode>{invoice.type_code}</ram:TypeCode>
    <ram:IssueDateTime>{_day(invoice.issued_on)}</ram:IssueDateTime>
  </rsm:ExchangedDocument>
  <rsm:SupplyChainTradeTransaction>
    {lines}
    <ram:ApplicableHeaderTradeAgreement>
      {_party("SellerTradeParty", invoice.seller)}
      {_party("BuyerTradeParty", COOP)}
      {order}
    </ram:ApplicableHeaderTradeAgreement>
    <ram:ApplicableHeaderTradeDelivery>{delivery}</ram:ApplicableHeaderTradeDelivery>
    <ram:ApplicableHeaderTradeSettlement>
      <ram:InvoiceCurrencyCode>{invoice.currency}</ram:InvoiceCurrencyCode>
      {PAYMENT_MEANS}
      {_breakdown(invoice)}
      {"".join(_charge(c) for c in invoice.charges)}
      <ram:SpecifiedTradePaymentTerms>
        <ram:DueDateDateTime>{_day(invoice.due_on)}</ram:DueDateDateTime>
      </ram:SpecifiedTradePaymentTerms>
      <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
        <ram:LineTotalAmount>{lines_total}</ram:LineTotalAmount>
        {charge_total}
        <ram:TaxBasisTotalAmount>{excl}</ram:TaxBasisTotalAmount>
        <ram:TaxTotalAmount currencyID="{invoice.currency}">{vat}</ram:TaxTotalAmount>
        <ram:GrandTotalAmount>{grand}</ram:GrandTotalAmount>
        <ram:DuePayableAmount>{grand}</ram:DuePayableAmount>
      </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
      {preceding}
    </ram:ApplicableHeaderTradeSettlement>
  </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>
"""
    return xml.encode()


def plain_pdf(text: str = "Facture") -> bytes:
    """A small PDF, as a supplier's software would print the invoice."""
    return HTML(string=f"<h1>{escape(text)}</h1>").write_pdf()


def facturx_pdf(invoice: EInvoice) -> bytes:
    """The invoice as a Factur-X PDF: the hand-written CII embedded by the factur-x library."""
    return facturx.generate_from_binary(
        plain_pdf(f"Facture {invoice.number}"), cii_xml(invoice), flavor="factur-x", level="en16931"
    )


def ubl_xml(invoice: EInvoice) -> bytes:
    """The same invoice as UBL 2.1, made by the factur-x library from its business terms."""
    terms = facturx.parse_ubl_cii_xml(cii_xml(invoice))
    return facturx.generate_ubl_xml(terms, level="en16931", check_schematron=False)
