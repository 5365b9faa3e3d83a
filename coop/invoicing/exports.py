"""Exports to the accountant: the FEC, a CSV of invoice lines, a ZIP of the PDFs.

The FEC follows spec/invoicing.md and LPF art. A47 A-1 (arrêté du 29 juillet
2013): a flat file, one record per line, records separated by CR LF ("retour
chariot et/ou fin de ligne", I 1°), fields by a tab (a separator "unique et
non équivoque", I 4°: tabs and line breaks inside a value become spaces),
amounts with a decimal comma and no thousands separator, dates AAAAMMJJ (III).
The characters must belong to "ASCII, ISO 8859-15 ou EBCDIC" (III 1°): the
file is ISO 8859-15, which holds every French letter and the euro sign; the
few characters it lacks (typographic quotes, emoji) are transliterated.
"""

import csv
import io
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from coop.accounts.identity import coop_identity
from coop.clock import today
from coop.errors import DomainError
from coop.extensions import db
from coop.invoicing.models import Invoice, InvoiceDocument, InvoiceKind, LineKind
from coop.money import quantize
from coop.orders.models import Campaign

FEC_COLUMNS = (
    "JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib",
    "CompAuxNum", "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit",
    "EcritureLet", "DateLet", "ValidDate", "Montantdevise", "Idevise",
)  # fmt: skip
FEC_ENCODING = "iso-8859-15"
SALES_JOURNAL = ("VE", "Ventes")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Ledger:
    """The coop's SIREN and the account numbers of its chart (settings, CoopIdentity)."""

    siren: str
    customers: str = "411"
    goods: str = "707"
    shipping: str = "7085"
    fee: str = "706"
    vat: str = "44571"
    bank: str = "512"
    bank_fees: str = "627"


# Account labels by role, whatever number the settings give the account.
ACCOUNT_LABELS = {
    "customers": "Clients",
    "goods": "Ventes de marchandises",
    "shipping": "Ports et frais accessoires facturés",
    "fee": "Prestations de services",
    "vat": "TVA collectée",
    "bank": "Banque",
    "bank_fees": "Services bancaires et assimilés",
}
# Shipping and the campaign's extra charges are both costs re-invoiced at cost.
LINE_ACCOUNT = {
    LineKind.GOODS: "goods",
    LineKind.SHIPPING: "shipping",
    LineKind.CHARGE: "shipping",
    LineKind.FEE: "fee",
}


@dataclass(frozen=True)
class Posting:
    """One line of an entry: an account debited or credited."""

    account: str  # a role of ACCOUNT_LABELS
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    auxiliary: tuple[str, str] = ("", "")  # (CompAuxNum, CompAuxLib)


@dataclass(frozen=True)
class Entry:
    """One balanced accounting entry (écriture) of a journal."""

    journal: tuple[str, str]
    on: date
    piece_ref: str
    piece_on: date
    label: str
    postings: tuple[Posting, ...]
    lettering: str = ""
    lettered_on: date | None = None


def check_period(date_from: date, date_to: date) -> None:
    """Refuse a period that ends before it starts."""
    if date_from > date_to:
        raise DomainError(
            "La date de début doit être antérieure ou égale à la date de fin.", field="date_from"
        )


# --- FEC ------------------------------------------------------------------------------------


def fec(date_from: date, date_to: date) -> tuple[str, bytes]:
    """The FEC of the invoices and credit notes issued in the period: (file name, bytes)."""
    check_period(date_from, date_to)
    ledger = coop_ledger()
    entries = [sales_entry(invoice) for invoice in _invoices(date_from, date_to)]
    # The bank journal (payments issue) adds its entries here, then all are numbered.
    entries.sort(key=lambda entry: entry.on)
    lines = ["\t".join(FEC_COLUMNS)]
    for number, entry in enumerate(entries, start=1):
        lines.extend(_fec_lines(number, entry, ledger))
    text = "".join(line + "\r\n" for line in lines)
    return f"{ledger.siren}FEC{date_to:%Y%m%d}.txt", _latin9(text)


def sales_entry(invoice: Invoice) -> Entry:
    """The sales journal entry of an invoice; a credit note's mirrors it."""
    revenue: dict[str, Decimal] = {}
    for line in invoice.lines:
        account = LINE_ACCOUNT[line.kind]
        revenue[account] = revenue.get(account, ZERO) + line.amount_excl_vat
    revenue["vat"] = invoice.total_vat
    # A credit note carries positive amounts, as printed on its document (type 381):
    # its entry swaps debits and credits.
    sign = -1 if invoice.kind is InvoiceKind.CREDIT_NOTE else 1
    # The auxiliary account is the shop's: its code, and its current name as the
    # account's label (one label per account throughout the file).
    member = invoice.member
    postings = [
        _posting("customers", sign * invoice.total_incl_vat, auxiliary=(member.code, member.name))
    ]
    for account in ("goods", "shipping", "fee", "vat"):
        amount = revenue.get(account, ZERO)
        if amount:
            postings.append(_posting(account, -sign * amount))
    entry = Entry(
        journal=SALES_JOURNAL, on=invoice.issued_on, piece_ref=invoice.number,
        piece_on=invoice.issued_on, postings=tuple(postings),
        label=f"{'Avoir' if sign < 0 else 'Facture'} {invoice.number} {member.code}",
    )  # fmt: skip
    _check_balanced(entry)
    return entry


def _posting(account: str, debit_minus_credit: Decimal, **values) -> Posting:
    """A posting on the side its sign says: a negative debit is a credit."""
    amount = quantize(debit_minus_credit)
    if amount >= 0:
        return Posting(account, debit=amount, **values)
    return Posting(account, credit=-amount, **values)


def _check_balanced(entry: Entry) -> None:
    # An invoice's totals add up by construction (and by a CHECK constraint); an
    # unbalanced entry means a corrupt invoice and must never reach the accountant.
    debit = sum((p.debit for p in entry.postings), ZERO)
    credit = sum((p.credit for p in entry.postings), ZERO)
    if debit != credit:
        raise DomainError(
            f"Écriture déséquilibrée pour {entry.piece_ref} : débit {debit}, crédit {credit}."
        )


def _fec_lines(number: int, entry: Entry, ledger: Ledger) -> Iterator[str]:
    for posting in entry.postings:
        aux_number, aux_label = posting.auxiliary
        values = (
            *entry.journal, str(number), _fec_date(entry.on),
            getattr(ledger, posting.account), ACCOUNT_LABELS[posting.account],
            aux_number, aux_label, entry.piece_ref, _fec_date(entry.piece_on), entry.label,
            _fec_amount(posting.debit), _fec_amount(posting.credit),
            entry.lettering, _fec_date(entry.lettered_on), _fec_date(entry.on), "", "",
        )  # fmt: skip
        yield "\t".join(_fec_text(value) for value in values)


def _fec_date(day: date | None) -> str:
    return f"{day:%Y%m%d}" if day else ""


def _fec_amount(amount: Decimal) -> str:
    return f"{quantize(amount):f}".replace(".", ",")


def _fec_text(value: str) -> str:
    return " ".join(value.split()) if any(c in value for c in "\t\r\n") else value


# Characters French text uses that ISO 8859-15 lacks.
_TYPOGRAPHY = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-",
                             "…": "...", "\u202f": " ", "\u2009": " "})  # fmt: skip


def _latin9(text: str) -> bytes:
    text = text.translate(_TYPOGRAPHY)
    try:
        return text.encode(FEC_ENCODING)
    except UnicodeEncodeError:
        return "".join(_latin9_char(c) for c in text).encode(FEC_ENCODING)


def _latin9_char(char: str) -> str:
    try:
        char.encode(FEC_ENCODING)
    except UnicodeEncodeError:
        stripped = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
        return stripped or "?"
    return char


def coop_ledger() -> Ledger:
    """The SIREN and account numbers from the coop's identity settings."""
    identity = coop_identity()
    return Ledger(
        siren=identity.siren, customers=identity.account_customers,
        goods=identity.account_goods, shipping=identity.account_shipping,
        fee=identity.account_fee, vat=identity.account_vat, bank=identity.account_bank,
        bank_fees=identity.account_bank_fees,
    )  # fmt: skip


# --- CSV and ZIP ----------------------------------------------------------------------------

CSV_HEADER = (
    "Numéro", "Type", "Date", "Code atelier", "Atelier", "Nature", "Désignation", "Quantité",
    "Prix unitaire HT", "Taux TVA (%)", "Montant HT", "Total HT", "Total TVA", "Total TTC",
)  # fmt: skip
KIND_LABELS = {InvoiceKind.INVOICE: "Facture", InvoiceKind.CREDIT_NOTE: "Avoir"}
LINE_LABELS = {
    LineKind.GOODS: "Marchandises",
    LineKind.SHIPPING: "Port",
    LineKind.CHARGE: "Frais",
    LineKind.FEE: "Commission",
}


@dataclass(frozen=True)
class Selection:
    """The invoices an export covers: those of a campaign, else those issued in a period."""

    date_from: date | None = None
    date_to: date | None = None
    campaign: Campaign | None = None

    def __post_init__(self):
        if self.campaign is None:
            if self.date_from is None or self.date_to is None:
                raise DomainError("Indiquez une période ou une campagne.", field="date_from")
            check_period(self.date_from, self.date_to)

    @property
    def slug(self) -> str:
        if self.campaign is not None:
            return self.campaign.code
        return f"{self.date_from:%Y%m%d}-{self.date_to:%Y%m%d}"

    @property
    def description(self) -> str:
        if self.campaign is not None:
            return f"campagne {self.campaign.code} ({self.campaign.title})"
        return f"période du {self.date_from:%d/%m/%Y} au {self.date_to:%d/%m/%Y}"

    def invoices(self, *options) -> list[Invoice]:
        if self.campaign is not None:
            return _invoices(None, None, *options, campaign=self.campaign)
        return _invoices(self.date_from, self.date_to, *options)


def invoices_csv(selection: Selection) -> tuple[str, bytes]:
    """One row per invoice line with its invoice's totals, the French way: (file name, bytes)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for invoice in selection.invoices():
        for line in invoice.lines:
            writer.writerow((
                invoice.number, KIND_LABELS[invoice.kind], f"{invoice.issued_on:%d/%m/%Y}",
                *_buyer(invoice), LINE_LABELS[line.kind],
                line.description, _decimal(line.quantity, places=0),
                _decimal(line.unit_price), _decimal(line.vat_rate * 100, places=0),
                _decimal(line.amount_excl_vat), _decimal(invoice.total_excl_vat),
                _decimal(invoice.total_vat), _decimal(invoice.total_incl_vat),
            ))  # fmt: skip
    # The BOM lets Excel read UTF-8.
    return f"factures-{selection.slug}.csv", ("\ufeff" + out.getvalue()).encode("utf-8")


def _buyer(invoice: Invoice) -> tuple[str, str]:
    """The shop's code and name as printed on the invoice."""
    buyer = invoice.snapshot.get("buyer") or {}
    return buyer.get("code") or invoice.member.code, buyer.get("name") or invoice.member.name


def _decimal(value: Decimal, places: int = 2) -> str:
    """`1234,5` -> `1234,50`: a decimal comma, no thousands separator, no trailing noise."""
    text = f"{value.normalize():f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.ljust(places, "0")
    return f"{whole},{fraction}" if fraction else whole


def invoices_zip(selection: Selection) -> tuple[str, bytes]:
    """The stored PDFs, named <number>.pdf, and a README listing those not yet rendered."""
    invoices = selection.invoices(selectinload(Invoice.document))
    missing = []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for invoice in invoices:
            document: InvoiceDocument | None = invoice.document
            if document is None:
                missing.append(invoice)
                continue
            info = zipfile.ZipInfo(f"{invoice.number}.pdf", _zip_time(invoice.issued_on))
            # The PDF is served byte-identical (spec/invoicing.md): stored, not recompressed.
            archive.writestr(info, document.pdf, compress_type=zipfile.ZIP_STORED)
        archive.writestr(
            zipfile.ZipInfo("README.txt", _zip_time(selection.date_to or today())),
            _readme(selection, invoices, missing).encode("utf-8"),
        )
    return f"factures-{selection.slug}.zip", buffer.getvalue()


def _zip_time(day: date) -> tuple[int, int, int, int, int, int]:
    return (max(day.year, 1980), day.month, day.day, 0, 0, 0)


def _readme(selection: Selection, invoices: list[Invoice], missing: list[Invoice]) -> str:
    lines = [
        f"Factures et avoirs de la {selection.description}",
        f"{len(invoices) - len(missing)} PDF sur {len(invoices)} document(s).",
        "",
    ]
    if missing:
        lines.append("PDF pas encore produits (à télécharger plus tard) :")
        lines.extend(f"- {i.number} du {i.issued_on:%d/%m/%Y}, {i.member.code}" for i in missing)
    else:
        lines.append("Aucun PDF manquant.")
    return "\r\n".join(lines) + "\r\n"


# --- selection ------------------------------------------------------------------------------


def _invoices(
    date_from: date | None, date_to: date | None, *options, campaign: Campaign | None = None
) -> list[Invoice]:
    """Invoices and credit notes in issue order (issue date, then the order they were issued)."""
    stmt = (
        select(Invoice)
        .options(joinedload(Invoice.member), selectinload(Invoice.lines), *options)
        .order_by(Invoice.issued_on, Invoice.id)
    )
    if campaign is not None:
        stmt = stmt.where(Invoice.campaign_id == campaign.id)
    else:
        stmt = stmt.where(Invoice.issued_on.between(date_from, date_to))
    return list(db.session.scalars(stmt).unique())
