"""Reading a supplier's e-invoice: a Factur-X / ZUGFeRD PDF, a CII XML or a UBL XML.

The factur-x library does the reading: it takes the XML out of the PDF
(`get_xml_from_pdf`), checks it against the official schema and maps CII and UBL
alike onto the EN 16931 business terms (`parse_ubl_cii_xml`: BT-1, BG-25...). What
is left here is what the coop needs of it, and the checks that make a file
bookable: a known document type, euros, a number, a seller, lines, and totals
that add up (EN 16931 BR-CO-10, 13, 15). Everything is read before anything is
written, and a refusal names the file.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

import facturx
from flask_babel import gettext as _
from lxml import etree

from coop import bounds
from coop.errors import DomainError
from coop.i18n import money
from coop.money import RATE, UNIT_PRICE, quantize
from coop.purchases.models import SourceFormat, SupplierInvoiceKind, SupplierLineKind

ZERO = Decimal("0.00")
QUANTITY = Decimal("0.001")

# UNTDID 1001 codes the coop books; the others are refused with their name (see TYPE_NAMES).
KINDS = {"380": SupplierInvoiceKind.INVOICE, "381": SupplierInvoiceKind.CREDIT_NOTE}
# Type codes a supplier may send that the coop does not book as they are: a corrected
# invoice (384) is asked for as a credit note plus a new invoice, the coop does not
# self-bill (389, 261), and a down payment (386) is no purchase of goods.
TYPE_NAMES = {
    "384": "facture rectificative",
    "389": "autofacture",
    "261": "avoir autofacturé",
    "386": "facture d'acompte",
    "383": "note de débit",
}

# Document-level charges (BG-21) that are the carriage of the goods (UNTDID 7161: FC
# freight, DL delivery, ABW customs...), or whose reason says so, become shipping lines.
FREIGHT_CODES = frozenset({"FC", "DL", "FI", "ABW"})
FREIGHT_WORDS = (
    "port",
    "transport",
    "livraison",
    "expédition",
    "expedition",
    "fret",
    "shipping",
    "freight",
    "delivery",
    "carriage",
)

# A supplier's file is never trusted: no entity, no network, no giant tree.
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@dataclass(frozen=True)
class Seller:
    """The seller as the invoice names it (BG-4)."""

    name: str
    vat_number: str | None
    siret: str | None
    siren: str | None
    country: str | None


@dataclass(frozen=True)
class ReadLine:
    kind: SupplierLineKind
    name: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    vat_category: str
    vat_rate: Decimal  # a fraction: 0.2000
    supplier_ref: str | None = None
    buyer_ref: str | None = None


@dataclass(frozen=True)
class VatRow:
    """One row of the VAT breakdown (BG-23): the rate in percent, as invoices print it."""

    category: str
    rate: Decimal
    base: Decimal
    amount: Decimal

    def to_json(self) -> dict:
        return {
            "category": self.category,
            "rate": f"{self.rate:.2f}",
            "base": f"{self.base:.2f}",
            "amount": f"{self.amount:.2f}",
        }


@dataclass(frozen=True)
class ReadInvoice:
    source_format: SourceFormat
    kind: SupplierInvoiceKind
    number: str
    issued_on: date
    due_on: date | None
    currency: str
    seller: Seller
    order_reference: str | None  # BT-13
    preceding_numbers: tuple[str, ...]  # BT-25
    lines: tuple[ReadLine, ...]
    vat: tuple[VatRow, ...]
    total_excl_vat: Decimal
    total_vat: Decimal
    total_incl_vat: Decimal


class Unreadable(DomainError):
    """A file the coop cannot book as it is: the message names it and says why."""

    def __init__(self, filename: str, reason: str):
        super().__init__(
            _("%(file)s : %(reason)s", file=filename or _("fichier sans nom"), reason=reason),
            field="files",
        )


def file_type(data: bytes) -> str:
    """The file's MIME type, from its first bytes: a PDF, an XML, or neither."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return "application/xml"
    return "application/octet-stream"


def read_invoice(data: bytes, filename: str) -> ReadInvoice:
    """Read a supplier's invoice file, or raise Unreadable saying why, naming the file."""
    kind = file_type(data)
    if kind == "application/pdf":
        xml = _xml_in_pdf(data, filename)
        syntax = SourceFormat.FACTURX
    elif kind == "application/xml":
        xml = data
        syntax = None
    else:
        raise Unreadable(
            filename,
            _("ce n'est ni un PDF Factur-X ni un fichier XML (CII ou UBL) de facture."),
        )
    root = _xml_root(xml, filename)
    flavor = _flavor(root, filename)
    if syntax is None:
        syntax = SourceFormat.CII if flavor == "factur-x" else SourceFormat.UBL
    try:
        terms = facturx.parse_ubl_cii_xml(root, flavor=flavor, check_xsd=True)
    except Exception as error:  # the library raises bare Exceptions, in English
        raise Unreadable(
            filename,
            _(
                "le XML n'est pas conforme au schéma officiel de la facture électronique "
                "(%(detail)s).",
                detail=str(error)[:300],
            ),
        ) from None
    return _invoice(terms, syntax, filename)


def _xml_in_pdf(data: bytes, filename: str) -> bytes:
    try:
        _name, xml = facturx.get_xml_from_pdf(data, check_xsd=False)
    except Exception:  # pypdf's many errors on a broken file
        raise Unreadable(filename, _("ce PDF est illisible.")) from None
    if not xml:
        raise Unreadable(
            filename,
            _(
                "ce PDF ne contient pas de facture électronique (Factur-X ou ZUGFeRD) : "
                "saisissez la facture à la main en joignant le PDF."
            ),
        )
    return xml


def _xml_root(xml: bytes, filename: str):
    try:
        return etree.fromstring(xml, parser=PARSER)
    except etree.XMLSyntaxError:
        raise Unreadable(filename, _("le XML est mal formé.")) from None


def _flavor(root, filename: str) -> str:
    name = etree.QName(root).localname
    namespace = etree.QName(root).namespace or ""
    if name == "CrossIndustryInvoice":
        return "factur-x"
    if name == "CrossIndustryDocument":
        raise Unreadable(
            filename,
            _("ZUGFeRD 1.0 n'est pas lu : demandez au fournisseur du Factur-X ou ZUGFeRD 2."),
        )
    if name == "Invoice" and namespace.startswith("urn:oasis:names:specification:ubl"):
        return "ubl-2.1-invoice"
    if name == "CreditNote" and namespace.startswith("urn:oasis:names:specification:ubl"):
        return "ubl-2.1-creditnote"
    raise Unreadable(
        filename,
        _(
            "ce XML n'est pas une facture électronique connue (CII CrossIndustryInvoice ou "
            "UBL Invoice / CreditNote attendu, pas « %(name)s »).",
            name=name,
        ),
    )


# --- from the business terms to the coop's invoice ----------------------------------------------


def _invoice(terms: dict, syntax: SourceFormat, filename: str) -> ReadInvoice:
    number = _text(terms.get("BT-1"))
    if not number:
        raise Unreadable(filename, _("le numéro de facture (BT-1) manque."))
    if len(number) > 60:
        raise Unreadable(filename, _("le numéro de facture dépasse 60 caractères."))
    kind = _kind(_text(terms.get("BT-3")), filename)
    currency = _text(terms.get("BT-5")).upper()
    if currency != "EUR":
        raise Unreadable(
            filename,
            _(
                "facture en %(currency)s : seules les factures en euros (EUR) sont acceptées.",
                currency=currency or "?",
            ),
        )
    issued_on = terms.get("BT-2")
    if not isinstance(issued_on, date):
        raise Unreadable(filename, _("la date de facture (BT-2) manque."))
    issued_on = _bounded(bounds.day, issued_on, "BT-2", filename)
    due_on = terms.get("BT-9")
    if isinstance(due_on, date):
        due_on = _bounded(bounds.day, due_on, "BT-9", filename)
    seller = _seller(terms.get("BG-4") or {}, filename)
    if not terms.get("BG-25"):
        raise Unreadable(
            filename,
            _(
                "la facture n'a pas de lignes (profil MINIMUM ou BASIC WL) : demandez au "
                "fournisseur le profil EN 16931, ou saisissez-la à la main."
            ),
        )
    lines = (
        *(_line(row, filename) for row in terms["BG-25"]),
        *(_charge(row, filename) for row in terms.get("BG-21") or []),
        *(_allowance(row, filename) for row in terms.get("BG-20") or []),
    )
    vat = tuple(_vat_row(row, filename) for row in terms.get("BG-23") or [])
    total_excl = _amount(terms.get("BT-109"), "BT-109", filename, required=True)
    total_vat = _amount(terms.get("BT-110"), "BT-110", filename)
    total_incl = _amount(terms.get("BT-112"), "BT-112", filename, required=True)
    _check_totals(lines, vat, total_excl, total_vat, total_incl, filename)
    preceding = tuple(
        _text(row.get("BT-25")) for row in terms.get("BG-3") or [] if _text(row.get("BT-25"))
    )
    return ReadInvoice(
        source_format=syntax,
        kind=kind,
        number=number,
        issued_on=issued_on,
        due_on=due_on if isinstance(due_on, date) else None,
        currency=currency,
        seller=seller,
        order_reference=_text(terms.get("BT-13")) or None,
        preceding_numbers=preceding,
        lines=lines,
        vat=vat,
        total_excl_vat=total_excl,
        total_vat=total_vat,
        total_incl_vat=total_incl,
    )


def _kind(code: str, filename: str) -> SupplierInvoiceKind:
    if code in KINDS:
        return KINDS[code]
    if code in TYPE_NAMES:
        raise Unreadable(
            filename,
            _(
                "document de type %(code)s (%(name)s) : la coopérative enregistre des "
                "factures (380) et des avoirs (381) ; demandez au fournisseur un avoir et "
                "une nouvelle facture.",
                code=code,
                name=TYPE_NAMES[code],
            ),
        )
    raise Unreadable(
        filename,
        _(
            "type de document %(code)s non pris en charge (380 facture ou 381 avoir attendu).",
            code=code or "?",
        ),
    )


def _seller(party: dict, filename: str) -> Seller:
    name = _text(party.get("name"))
    if not name:
        raise Unreadable(filename, _("le vendeur (BG-4) n'a pas de nom."))
    ids = [_text(party.get("legal_identifier"))]
    ids += [_text(value) for value in (party.get("identifiers") or {}).values()]
    digits = ["".join(ch for ch in value if ch.isdigit()) for value in ids if value]
    vat_number = "".join(_text(party.get("vat_identifier")).split()).upper()
    return Seller(
        name=name,
        vat_number=vat_number or None,
        siret=next((d for d in digits if len(d) == 14), None),
        siren=next((d for d in digits if len(d) == 9), None),
        country=_text(party.get("country_code")).upper() or None,
    )


def _line(row: dict, filename: str) -> ReadLine:
    where = _("ligne %(id)s", id=_text(row.get("BT-126")) or "?")
    quantity = _bounded(
        bounds.quantity, _decimal(row.get("BT-129"), f"{where}, BT-129", filename), where, filename
    )
    if quantity != quantity.quantize(QUANTITY):
        raise Unreadable(filename, _("%(where)s : quantité au millième attendue.", where=where))
    price = _decimal(row.get("BT-146"), f"{where}, BT-146", filename)
    base_quantity = row.get("BT-149")
    if base_quantity:
        per = _decimal(base_quantity, f"{where}, BT-149", filename)
        if per <= 0:
            raise Unreadable(filename, _("%(where)s : quantité de base nulle.", where=where))
        price = price / per
    return ReadLine(
        kind=SupplierLineKind.GOODS,
        name=(_text(row.get("BT-153")) or _text(row.get("BT-154")) or where)[:255],
        quantity=quantity,
        unit_price=_bounded(bounds.amount, quantize(price, UNIT_PRICE), where, filename),
        amount=_amount(row.get("BT-131"), f"{where}, BT-131", filename, required=True),
        vat_category=_category(row.get("BT-151"), where, filename),
        vat_rate=_rate(row.get("BT-152"), f"{where}, BT-152", filename),
        supplier_ref=_text(row.get("BT-155"))[:60] or None,
        buyer_ref=_text(row.get("BT-156"))[:60] or None,
    )


def _is_freight(row: dict) -> bool:
    reason = _text(row.get("reason")).casefold()
    return _text(row.get("reason_code")).upper() in FREIGHT_CODES or any(
        word in reason for word in FREIGHT_WORDS
    )


def _charge(row: dict, filename: str) -> ReadLine:
    """A document-level charge (BG-21): shipping when it carries the goods."""
    where = _("frais de pied de facture")
    amount = _amount(row.get("amount"), where, filename, required=True)
    return ReadLine(
        kind=SupplierLineKind.SHIPPING if _is_freight(row) else SupplierLineKind.GOODS,
        name=(_text(row.get("reason")) or _("Frais"))[:255],
        quantity=Decimal("1"),
        unit_price=amount,
        amount=amount,
        vat_category=_category(row.get("vat_category_code"), where, filename),
        vat_rate=_rate(row.get("vat_rate"), where, filename),
    )


def _allowance(row: dict, filename: str) -> ReadLine:
    """A document-level allowance (BG-20): a line that takes its amount off."""
    where = _("remise de pied de facture")
    amount = _amount(row.get("amount"), where, filename, required=True)
    return ReadLine(
        kind=SupplierLineKind.GOODS,
        name=(
            _("Remise : %(reason)s", reason=_text(row.get("reason")))
            if row.get("reason")
            else _("Remise")
        )[:255],
        quantity=Decimal("1"),
        unit_price=-amount,
        amount=-amount,
        vat_category=_category(row.get("vat_category_code"), where, filename),
        vat_rate=_rate(row.get("vat_rate"), where, filename),
    )


def _vat_row(row: dict, filename: str) -> VatRow:
    where = _("ventilation de TVA")
    return VatRow(
        category=_category(row.get("BT-118"), where, filename),
        rate=quantize(_decimal(row.get("BT-119") or "0", f"{where}, BT-119", filename)),
        base=_amount(row.get("BT-116"), f"{where}, BT-116", filename, required=True),
        amount=_amount(row.get("BT-117"), f"{where}, BT-117", filename, required=True),
    )


def _check_totals(lines, vat, total_excl, total_vat, total_incl, filename: str) -> None:
    """BR-CO-10/13 (lines, charges, allowances make the total excl. VAT), BR-CO-14 (the
    breakdown makes the VAT total), BR-CO-15 (excl. VAT + VAT = incl. VAT)."""
    if total_excl < 0 or total_incl < 0:
        raise Unreadable(
            filename,
            _(
                "total négatif : un avoir s'envoie comme document de type 381, en montants "
                "positifs."
            ),
        )
    lines_total = sum((line.amount for line in lines), ZERO)
    if lines_total != total_excl:
        raise Unreadable(
            filename,
            _(
                "les lignes et frais totalisent %(lines)s HT, la facture annonce %(total)s HT.",
                lines=money(lines_total),
                total=money(total_excl),
            ),
        )
    if total_excl + total_vat != total_incl:
        raise Unreadable(
            filename,
            _(
                "les totaux ne s'additionnent pas : %(excl)s HT + %(vat)s TVA ≠ %(incl)s TTC.",
                excl=money(total_excl),
                vat=money(total_vat),
                incl=money(total_incl),
            ),
        )
    if not vat:
        raise Unreadable(filename, _("la ventilation de la TVA par taux (BG-23) manque."))
    bases = sum((row.base for row in vat), ZERO)
    amounts = sum((row.amount for row in vat), ZERO)
    if bases != total_excl or amounts != total_vat:
        raise Unreadable(
            filename,
            _(
                "la ventilation de la TVA (%(bases)s HT, %(amounts)s TVA) ne fait pas les "
                "totaux de la facture (%(excl)s HT, %(vat)s TVA).",
                bases=money(bases),
                amounts=money(amounts),
                excl=money(total_excl),
                vat=money(total_vat),
            ),
        )


# --- values -------------------------------------------------------------------------------------


def _text(value) -> str:
    if isinstance(value, list):  # a term the XML repeats: the first one
        value = value[0] if value else ""
    return " ".join(str(value or "").split())


def _decimal(value, where: str, filename: str) -> Decimal:
    try:
        number = Decimal(_text(value))
    except InvalidOperation:
        raise Unreadable(
            filename,
            _("%(where)s : nombre attendu, pas « %(value)s ».", where=where, value=_text(value)),
        ) from None
    if not number.is_finite():
        raise Unreadable(filename, _("%(where)s : nombre attendu.", where=where))
    return number


def _amount(value, where: str, filename: str, *, required: bool = False) -> Decimal:
    if not _text(value):
        if required:
            raise Unreadable(filename, _("%(where)s : montant manquant.", where=where))
        return ZERO
    amount = _bounded(bounds.bank_amount, _decimal(value, where, filename), where, filename)
    if quantize(amount) != amount:
        raise Unreadable(filename, _("%(where)s : montant au centime attendu.", where=where))
    return quantize(amount)


def _bounded(check, value, where: str, filename: str):
    """`value` within the coop's bounds (coop.bounds): beyond, it would overflow its column."""
    try:
        return check(value)
    except ValueError as error:
        raise Unreadable(filename, f"{where} : {error}.") from None


def _rate(value, where: str, filename: str) -> Decimal:
    """A VAT rate in percent (`20`, `5.5`) as the fraction the coop stores (0.2000)."""
    percent = _decimal(value or "0", where, filename)
    if not 0 <= percent < 100:
        raise Unreadable(filename, _("%(where)s : taux de TVA invalide.", where=where))
    return quantize(percent / 100, RATE)


def _category(value, where: str, filename: str) -> str:
    code = _text(value).upper()
    if code not in VAT_CATEGORIES:
        raise Unreadable(
            filename,
            _("%(where)s : catégorie de TVA « %(code)s » inconnue.", where=where, code=code),
        )
    return code


# UNTDID 5305 as EN 16931 uses it: standard, reverse charge, intra-EU, export, zero, exempt,
# outside scope, Canary Islands, Ceuta and Melilla.
VAT_CATEGORIES = frozenset({"S", "AE", "K", "G", "Z", "E", "O", "L", "M"})
