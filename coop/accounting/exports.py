"""Exports to the accountant: the FEC, a CSV of invoice lines, a ZIP of the PDFs.

The FEC follows spec/invoicing.md and LPF art. A47 A-1 (arrêté du 29 juillet
2013): a flat file, one record per line, records separated by CR LF ("retour
chariot et/ou fin de ligne", I 1°), fields by a tab (a separator "unique et
non équivoque", I 4°: tabs and line breaks inside a value become spaces),
amounts with a decimal comma and no thousands separator, dates AAAAMMJJ (III).
The characters must belong to "ASCII, ISO 8859-15 ou EBCDIC" (III 1°): the
file is ISO 8859-15, which holds every French letter and the euro sign; the
few characters it lacks (typographic quotes, emoji) are transliterated.

The file holds the opening entries (AN, when a fiscal year starts in the
period), the purchases journal (HA: suppliers' invoices and credit notes
booked), the sales journal (VE: invoices and credit notes issued), the bank
journal (BQ: payments received, refunds paid, Stripe's payouts, suppliers
paid) and the various operations (OD: VAT on receipts becoming due), entries
numbered in the order of their day across the journals.
An entry is stored when first exported (coop.accounting.models.FecEntry) and
never changes afterwards; an export closes the days it covers, and an entry
recorded later for a closed day is booked on the first open day (its piece
keeps its date): exported again, a past period gives the same bytes.
Lines on the customers' (411) and suppliers' (401) accounts are lettered when
they settle each other (see `letter`); a code once given stays.
"""

import io
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import exists, func, select
from sqlalchemy import text as text_sql
from sqlalchemy.orm import joinedload, selectinload

from coop.accounting.models import (
    SOURCE_INVOICE,
    SOURCE_OPENING,
    SOURCE_PAYMENT,
    SOURCE_PAYOUT,
    SOURCE_PURCHASE,
    SOURCE_REFUND,
    SOURCE_SUPPLIER_PAYMENT,
    SOURCE_VAT_DUE,
    FecEntry,
    FecExport,
)
from coop.accounts.identity import coop_identity
from coop.clock import today
from coop.csv_export import Figure, french_csv, safe_cell
from coop.errors import DomainError
from coop.extensions import db
from coop.invoicing.models import (
    INVOICE_KIND_LABELS,
    Invoice,
    InvoiceDocument,
    InvoiceKind,
    LineKind,
    fee_is_service,
    is_gesture,
    vat_on_receipts,
)
from coop.money import quantize
from coop.orders.campaigns.models import Campaign
from coop.payments.models import (
    METHOD_LABELS,
    BankLine,
    Method,
    Payment,
    PaymentAllocation,
    PaymentStatus,
    Refund,
    RefundStatus,
    StripePayout,
)
from coop.purchases.models import (
    SupplierInvoice,
    SupplierInvoiceStatus,
    SupplierLineKind,
    SupplierPayment,
    SupplierPaymentAllocation,
    SupplierRegime,
    supplier_regime,
)
from coop.purchases.vat import self_assessed_vat

FEC_COLUMNS = (
    "JournalCode",
    "JournalLib",
    "EcritureNum",
    "EcritureDate",
    "CompteNum",
    "CompteLib",
    "CompAuxNum",
    "CompAuxLib",
    "PieceRef",
    "PieceDate",
    "EcritureLib",
    "Debit",
    "Credit",
    "EcritureLet",
    "DateLet",
    "ValidDate",
    "Montantdevise",
    "Idevise",
)
FEC_ENCODING = "iso-8859-15"
OPENING_JOURNAL = ("AN", "À nouveaux")
PURCHASES_JOURNAL = ("HA", "Achats")
SALES_JOURNAL = ("VE", "Ventes")
BANK_JOURNAL = ("BQ", "Banque")
VARIOUS_JOURNAL = ("OD", "Opérations diverses")
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
    clearing: str = "511"  # Stripe: see COOP_ACCOUNT_STRIPE_CLEARING
    rebates: str = "709"
    vat_pending: str = "44574"
    suppliers: str = "401"
    purchases: str = "607"
    purchase_shipping: str = "6087"
    vat_deductible: str = "44566"
    vat_self_assessed: str = "4452"
    vat_import: str = "445662"


# Account labels by role, whatever number the settings give the account.
ACCOUNT_LABELS = {
    "customers": "Clients",
    "goods": "Ventes de marchandises",
    "shipping": "Ports et frais accessoires facturés",
    "fee": "Prestations de services",
    "vat": "TVA collectée",
    "bank": "Banque",
    "bank_fees": "Services bancaires et assimilés",
    "clearing": "Valeurs à l'encaissement (Stripe)",
    "rebates": "Rabais, remises et ristournes accordés",
    "vat_pending": "TVA collectée sur encaissements en attente",
    "suppliers": "Fournisseurs",
    "purchases": "Achats de marchandises",
    "purchase_shipping": "Frais accessoires d'achat (port)",
    "vat_deductible": "TVA déductible sur biens et services",
    "vat_self_assessed": "TVA due autoliquidée",
    "vat_import": "TVA déductible à l'importation",
}

# The opening entries carry the balance sheet (classes 1 to 5) and put the result of the
# year just ended (classes 6 and 7) on 120 (profit) or 129 (loss), and older results not
# yet allocated on 110 or 119 (report à nouveau): the accountant allocates them.
RESULT_ACCOUNTS = {
    "year": (
        ("120", "Résultat de l'exercice (bénéfice)"),
        ("129", "Résultat de l'exercice (perte)"),
    ),
    "earlier": (
        ("110", "Report à nouveau (solde créditeur)"),
        ("119", "Report à nouveau (solde débiteur)"),
    ),
}
# Paid through Stripe: the money waits on the clearing account until Stripe pays it out.
STRIPE_METHODS = (Method.CARD, Method.SEPA_DEBIT)
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
    lettering: str = ""  # EcritureLet: the same code on the 411 lines that settle each other
    lettered_on: date | None = None  # DateLet: the day the last of them was booked


@dataclass(frozen=True)
class Entry:
    """One balanced accounting entry (écriture) of a journal."""

    journal: tuple[str, str]
    on: date
    piece_ref: str
    piece_on: date
    label: str
    postings: tuple[Posting, ...]
    # What the entry books on the customers' account, for lettering: ("I", invoice id),
    # ("P", payment id) or ("R", refund id).
    source: tuple[str, int] | None = None


def check_period(date_from: date, date_to: date) -> None:
    """Refuse a period that ends before it starts."""
    if date_from > date_to:
        raise DomainError(
            "La date de début doit être antérieure ou égale à la date de fin.", field="date_from"
        )


# --- FEC ------------------------------------------------------------------------------------


def fec(date_from: date, date_to: date) -> tuple[str, bytes]:
    """The FEC of the period's entries: (file name, bytes). Flushes: the caller commits.

    Entries up to `date_to` not yet exported are first booked (numbered and stored,
    see `book`); the file then prints the stored entries of the period, so a past
    period exported again gives the same bytes.
    """
    check_period(date_from, date_to)
    ledger = coop_ledger()
    book(date_to, ledger)
    stored = db.session.scalars(
        select(FecEntry)
        .where(FecEntry.entry_date.between(date_from, date_to))
        .order_by(FecEntry.number)
    ).all()
    lines = ["\t".join(FEC_COLUMNS)]
    for entry in stored:
        lines.extend(_fec_lines(entry, date_to))
    text = "".join(line + "\r\n" for line in lines)
    return f"{ledger.siren}FEC{date_to:%Y%m%d}.txt", _latin9(text)


def book(date_to: date, ledger: Ledger) -> None:
    """Store the entries up to `date_to` not stored yet, letter what now balances, and
    close the days up to `date_to` (today at most).

    A period already closed books nothing: it prints what it printed. Otherwise an
    entry dated on a closed day is booked on the first open day. The opening entries
    of a fiscal year starting in the newly closed days, and the VAT on receipts that
    the new letterings make due, are booked too. New entries are numbered after the
    stored ones in the order of their day (then journal AN, VE, BQ, OD, then the
    order they were recorded): period after period, numbers follow the calendar.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        # Two exports at once would give two entries the same number.
        db.session.execute(text_sql("LOCK TABLE fec_entries IN SHARE ROW EXCLUSIVE MODE"))
    closed = db.session.scalar(select(func.max(FecExport.closed_through)))
    if closed is not None and date_to <= closed:
        return
    first_open = closed + timedelta(days=1) if closed is not None else None
    new = [_stored(entry, ledger, first_open) for entry in _new_entries(date_to)]
    known = db.session.scalars(select(FecEntry).where(FecEntry.entry_date <= date_to)).all()
    settled = letter([*known, *new], date_to, first_open)
    new += [_stored(entry, ledger, first_open) for entry in vat_due_entries(settled)]
    closing = min(date_to, today())
    new += opening_entries([*known, *new], closed, closing)
    last = db.session.scalar(select(func.coalesce(func.max(FecEntry.number), 0)))
    for number, row in enumerate(sorted(new, key=_chronological), start=last + 1):
        row.number = number
        db.session.add(row)
    db.session.add(FecExport(closed_through=closing))
    db.session.flush()


JOURNAL_ORDER = {
    OPENING_JOURNAL[0]: 0,
    PURCHASES_JOURNAL[0]: 1,
    SALES_JOURNAL[0]: 2,
    BANK_JOURNAL[0]: 3,
    VARIOUS_JOURNAL[0]: 4,
}
SOURCE_ORDER = {
    SOURCE_OPENING: 0,
    SOURCE_PURCHASE: 1,
    SOURCE_INVOICE: 2,
    SOURCE_PAYMENT: 3,
    SOURCE_REFUND: 4,
    SOURCE_PAYOUT: 5,
    SOURCE_SUPPLIER_PAYMENT: 6,
    SOURCE_VAT_DUE: 7,
}


def _chronological(row: FecEntry) -> tuple:
    return (
        row.entry_date,
        JOURNAL_ORDER[row.journal_code],
        SOURCE_ORDER[row.source_kind],
        row.source_id,
    )


def _not_stored(kind: str, id_column):
    return ~exists().where(FecEntry.source_kind == kind, FecEntry.source_id == id_column)


def _new_entries(date_to: date) -> list[Entry]:
    """The entries of the invoices, payments and refunds up to `date_to` not stored yet."""
    invoices = db.session.scalars(
        select(Invoice)
        .options(joinedload(Invoice.member), selectinload(Invoice.lines))
        .where(Invoice.issued_on <= date_to, _not_stored(SOURCE_INVOICE, Invoice.id))
    ).unique()
    payments = db.session.scalars(
        select(Payment)
        .options(
            joinedload(Payment.member),
            selectinload(Payment.allocations).joinedload(PaymentAllocation.invoice),
        )
        .where(
            Payment.status == PaymentStatus.SUCCEEDED,
            Payment.received_on <= date_to,
            _not_stored(SOURCE_PAYMENT, Payment.id),
        )
    ).unique()
    refunds = db.session.scalars(
        select(Refund)
        .options(
            joinedload(Refund.payment).joinedload(Payment.member), joinedload(Refund.credit_note)
        )
        .where(
            Refund.status == RefundStatus.SUCCEEDED,
            Refund.refunded_on <= date_to,
            _not_stored(SOURCE_REFUND, Refund.id),
        )
    ).unique()
    payouts = db.session.scalars(
        select(StripePayout)
        .join(BankLine, StripePayout.bank_line_id == BankLine.id)
        .options(joinedload(StripePayout.bank_line))
        .where(BankLine.booked_on <= date_to, _not_stored(SOURCE_PAYOUT, StripePayout.id))
    ).unique()
    purchases = db.session.scalars(
        select(SupplierInvoice)
        .options(
            joinedload(SupplierInvoice.supplier),
            selectinload(SupplierInvoice.lines),
        )
        .where(
            SupplierInvoice.status == SupplierInvoiceStatus.BOOKED,
            SupplierInvoice.booked_on <= date_to,
            _not_stored(SOURCE_PURCHASE, SupplierInvoice.id),
        )
    ).unique()
    supplier_payments = db.session.scalars(
        select(SupplierPayment)
        .options(
            joinedload(SupplierPayment.supplier),
            selectinload(SupplierPayment.allocations).joinedload(SupplierPaymentAllocation.invoice),
        )
        .where(
            SupplierPayment.paid_on <= date_to,
            _not_stored(SOURCE_SUPPLIER_PAYMENT, SupplierPayment.id),
        )
    ).unique()
    return (
        [sales_entry(i) for i in invoices]
        + [payment_entry(p) for p in payments]
        + [refund_entry(r) for r in refunds]
        + [payout_entry(p) for p in payouts]
        + [purchase_entry(i) for i in purchases]
        + [supplier_payment_entry(p) for p in supplier_payments]
    )


def _stored(entry: Entry, ledger: Ledger, first_open: date | None) -> FecEntry:
    """The entry as the FEC writes it, with the account numbers and labels of today,
    on the first open day when its own day is closed; numbered by `book`."""
    third = [p for p in entry.postings if p.account in THIRD_PARTY_ACCOUNTS]
    return FecEntry(
        source_kind=entry.source[0],
        source_id=entry.source[1],
        journal_code=entry.journal[0],
        journal_label=entry.journal[1],
        entry_date=max(entry.on, first_open) if first_open else entry.on,
        piece_ref=entry.piece_ref,
        piece_date=entry.piece_on,
        label=entry.label,
        postings=[
            {
                "role": p.account,
                "account": getattr(ledger, p.account),
                "account_label": ACCOUNT_LABELS[p.account],
                "aux": p.auxiliary[0],
                "aux_label": p.auxiliary[1],
                "debit": f"{p.debit:f}",
                "credit": f"{p.credit:f}",
            }
            for p in entry.postings
        ],
        member_code=THIRD_PARTY_ACCOUNTS[third[0].account] + third[0].auxiliary[0] if third else "",
        customers_amount=f"{sum((p.debit - p.credit for p in third), ZERO):f}",
    )


# The accounts whose lines are lettered, and the prefix of their third party's code.
THIRD_PARTY_ACCOUNTS = {"customers": "", "suppliers": "F/"}


def sales_entry(invoice: Invoice) -> Entry:
    """The sales journal entry of an invoice; a credit note's mirrors it.

    The coop fee is revenue from goods (707) or from a service (706), as the
    settings said when the invoice was issued; billed as a service without the
    option for VAT on debits, its VAT waits on the pending account until paid.
    """
    revenue: dict[str, Decimal] = {}
    # A commercial gesture (credit by amount, nothing returned) is a rebate granted: 709.
    gesture = is_gesture(invoice)
    accounts = {**LINE_ACCOUNT, LineKind.FEE: "fee" if fee_is_service(invoice) else "goods"}
    pending = ZERO
    for line in invoice.lines:
        account = "rebates" if gesture and line.kind is LineKind.GOODS else accounts[line.kind]
        revenue[account] = revenue.get(account, ZERO) + line.amount_excl_vat
        if line.kind is LineKind.FEE:
            pending += line.amount_excl_vat * line.vat_rate
    revenue["vat_pending"] = quantize(pending) if vat_on_receipts(invoice) else ZERO
    revenue["vat"] = invoice.total_vat - revenue["vat_pending"]
    # A credit note carries positive amounts, as printed on its document (type 381):
    # its entry swaps debits and credits.
    sign = -1 if invoice.kind is InvoiceKind.CREDIT_NOTE else 1
    # The auxiliary account is the shop's: its code, and its name when first exported.
    member = invoice.member
    postings = [
        _posting("customers", sign * invoice.total_incl_vat, auxiliary=(member.code, member.name))
    ]
    for account in ("goods", "rebates", "shipping", "fee", "vat", "vat_pending"):
        amount = revenue.get(account, ZERO)
        if amount:
            postings.append(_posting(account, -sign * amount))
    entry = Entry(
        journal=SALES_JOURNAL,
        on=invoice.issued_on,
        piece_ref=invoice.number,
        piece_on=invoice.issued_on,
        postings=tuple(postings),
        label=f"{'Avoir' if sign < 0 else 'Facture'} {invoice.number} {member.code}",
        source=(SOURCE_INVOICE, invoice.id),
    )
    _check_balanced(entry)
    return entry


def payment_entry(payment: Payment) -> Entry:
    """Money received: debit the bank, credit the shop.

    Paid through Stripe (card, SEPA), the money goes to the clearing account net of
    Stripe's fees, and the fees to bank fees (627); Stripe's payout later moves it
    from the clearing account to the bank (`payout_entry`).

    The label cites the invoices it paid that were issued by the day it arrived
    (not those its excess paid later): it says the same whenever it is first exported.
    """
    member = payment.member
    arrived = payment.received_on
    paid = [a.invoice for a in payment.allocations]
    numbers = sorted({invoice.number for invoice in paid if invoice.issued_on <= arrived})
    received = "clearing" if payment.method in STRIPE_METHODS else "bank"
    postings = []
    if payment.amount > payment.fees:
        postings.append(_posting(received, payment.amount - payment.fees))
    if payment.fees:
        postings.append(_posting("bank_fees", payment.fees))
    postings.append(_posting("customers", -payment.amount, auxiliary=(member.code, member.name)))
    entry = Entry(
        journal=BANK_JOURNAL,
        on=payment.received_on,
        piece_ref=f"REG-{payment.id:06d}",
        piece_on=payment.received_on,
        postings=tuple(postings),
        label=" ".join(
            ["Règlement", _lower_first(METHOD_LABELS[payment.method]), member.code, *numbers]
        ),
        source=(SOURCE_PAYMENT, payment.id),
    )
    _check_balanced(entry)
    return entry


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def refund_entry(refund: Refund) -> Entry:
    """Money paid back to a shop: the payment's entry mirrored, without fees.

    Stripe pays a refund out of the coop's Stripe balance: the clearing account.
    """
    member = refund.payment.member
    paid_from = "clearing" if refund.payment.method in STRIPE_METHODS else "bank"
    note = [f"avoir {refund.credit_note.number}"] if refund.credit_note else []
    entry = Entry(
        journal=BANK_JOURNAL,
        on=refund.refunded_on,
        piece_ref=f"RMB-{refund.id:06d}",
        piece_on=refund.refunded_on,
        postings=(
            _posting("customers", refund.amount, auxiliary=(member.code, member.name)),
            _posting(paid_from, -refund.amount),
        ),
        label=" ".join(["Remboursement", member.code, *note]),
        source=(SOURCE_REFUND, refund.id),
    )
    _check_balanced(entry)
    return entry


def payout_entry(payout: StripePayout) -> Entry:
    """Stripe's payout on the bank statement: from the clearing account to the bank."""
    line = payout.bank_line
    entry = Entry(
        journal=BANK_JOURNAL,
        on=line.booked_on,
        piece_ref=payout.stripe_id[:60],
        piece_on=line.booked_on,
        postings=(_posting("bank", payout.amount), _posting("clearing", -payout.amount)),
        label=f"Virement Stripe {payout.stripe_id}",
        source=(SOURCE_PAYOUT, payout.id),
    )
    _check_balanced(entry)
    return entry


def purchase_entry(invoice: SupplierInvoice) -> Entry:
    """The purchases journal entry of a supplier's invoice; a credit note's mirrors it.

    Goods to purchases (607), shipping to its account (6087), the supplier credited
    (401). VAT by the supplier's regime: billed by a French supplier, deductible
    (44566); from another EU state (an intra-Community acquisition) or from outside
    the EU (an import), none is billed: the coop self-assesses it (4452) and deducts
    it (44566, or 445662 for an import), at the French rate of each part. Import VAT
    is reckoned on the invoice's value; the customs value on the import declaration
    may differ, and the accountant corrects it from that document.
    """
    supplier = invoice.supplier
    regime = supplier_regime(supplier)
    sign = -1 if invoice.is_credit_note else 1
    shipping = sum(
        (line.amount_excl_vat for line in invoice.lines if line.kind is SupplierLineKind.SHIPPING),
        ZERO,
    )
    goods = invoice.total_excl_vat - shipping
    postings = [
        _posting(
            "suppliers", -sign * invoice.total_incl_vat, auxiliary=(supplier.code, supplier.name)
        )
    ]
    if regime is not SupplierRegime.FRANCE:
        # VAT a foreign supplier billed is not French VAT: it is part of the cost.
        goods += invoice.total_vat
    if goods:
        postings.append(_posting("purchases", sign * goods))
    if shipping:
        postings.append(_posting("purchase_shipping", sign * shipping))
    if regime is SupplierRegime.FRANCE:
        if invoice.total_vat:
            postings.append(_posting("vat_deductible", sign * invoice.total_vat))
    else:
        due = sum((row.vat for row in self_assessed_vat(invoice)), ZERO)
        if due:
            deductible = "vat_deductible" if regime is SupplierRegime.EU else "vat_import"
            postings.append(_posting(deductible, sign * due))
            postings.append(_posting("vat_self_assessed", -sign * due))
    kind = "Avoir" if invoice.is_credit_note else "Facture"
    entry = Entry(
        journal=PURCHASES_JOURNAL,
        on=invoice.booked_on,
        piece_ref=invoice.number,
        piece_on=invoice.issued_on,
        postings=tuple(postings),
        label=f"{kind} {supplier.code} {invoice.number}",
        source=(SOURCE_PURCHASE, invoice.id),
    )
    _check_balanced(entry)
    return entry


def supplier_payment_entry(payment: SupplierPayment) -> Entry:
    """A supplier paid from the bank: debit the supplier, credit the bank."""
    supplier = payment.supplier
    numbers = sorted({a.invoice.number for a in payment.allocations})
    entry = Entry(
        journal=BANK_JOURNAL,
        on=payment.paid_on,
        piece_ref=f"PAF-{payment.id:06d}",
        piece_on=payment.paid_on,
        postings=(
            _posting("suppliers", payment.amount, auxiliary=(supplier.code, supplier.name)),
            _posting("bank", -payment.amount),
        ),
        label=" ".join(["Paiement fournisseur", supplier.code, *numbers]),
        source=(SOURCE_SUPPLIER_PAYMENT, payment.id),
    )
    _check_balanced(entry)
    return entry


# --- lettering ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lettered:
    """A set of lines lettered together by one export."""

    index: int  # the code's rank: AA is 0
    code: str
    on: date
    rows: tuple[FecEntry, ...]


def letter(rows: list[FecEntry], date_to: date, first_open: date | None) -> list[Lettered]:
    """Letter the third parties' lines among `rows` that settle each other, up to `date_to`.

    Day by day, over the lines booked up to that day: the lines not lettered yet
    of a set linked by what settles what (a payment's allocations, a credit note
    and its invoice, a refund and its payment or credit note) get a new code as
    soon as they balance, and so do the lines not lettered yet of one shop
    when together they balance (the shop's account is then square). A code, and
    DateLet (the day the last of its lines was booked, a closed day never), is
    given once and never changes; codes go AA, AB... in the order the sets balanced.
    Returns the sets lettered now.
    """
    rows = sorted(
        (r for r in rows if r.member_code and r.entry_date <= date_to), key=_chronological
    )
    open_days = sorted({row.entry_date for row in rows if row.lettering is None})
    if not open_days:
        return []
    items = {(row.source_kind, row.source_id): row for row in rows}
    links = _links()
    codes = db.session.scalar(select(func.count(func.distinct(FecEntry.lettering))))
    lettered: list[Lettered] = []
    for day in open_days:
        present = {key: row for key, row in items.items() if row.entry_date <= day}
        by_link = [[present[k] for k in group] for group in _linked(present, links)]
        by_party: dict[str, list[FecEntry]] = {}
        for row in present.values():
            by_party.setdefault(row.member_code, []).append(row)
        for groups in (by_link, list(by_party.values())):
            sets = [[r for r in group if r.lettering is None] for group in groups]
            settled = [
                s for s in sets if len(s) > 1 and sum(Decimal(r.customers_amount) for r in s) == 0
            ]
            for rows_of_set in sorted(settled, key=lambda s: min(map(_chronological, s))):
                code, on = letter_code(codes), max(r.entry_date for r in rows_of_set)
                if first_open is not None:
                    on = max(on, first_open)
                for row in rows_of_set:
                    row.lettering, row.lettered_on = code, on
                lettered.append(Lettered(codes, code, on, tuple(rows_of_set)))
                codes += 1
    return lettered


def vat_due_entries(lettered: list[Lettered]) -> list[Entry]:
    """VAT on receipts becomes due once its invoice is settled: from the pending account
    to the VAT collected, the day the set is lettered (CGI art. 269, 2, c).

    Lettering is the sign the invoice is paid, or credited; an invoice paid in part
    waits for its last payment, a simplification the accountant can correct.
    """
    entries = []
    for settled in lettered:
        pending = sum(
            (
                Decimal(p["credit"]) - Decimal(p["debit"])
                for row in settled.rows
                for p in row.postings
                if p["role"] == "vat_pending"
            ),
            ZERO,
        )
        if not pending:
            continue
        entry = Entry(
            journal=VARIOUS_JOURNAL,
            on=settled.on,
            piece_ref=f"TVA-{settled.code}",
            piece_on=settled.on,
            postings=(_posting("vat_pending", pending), _posting("vat", -pending)),
            label=f"TVA sur encaissements exigible, lettrage {settled.code}",
            source=(SOURCE_VAT_DUE, settled.index),
        )
        _check_balanced(entry)
        entries.append(entry)
    return entries


def opening_entries(rows: list[FecEntry], closed: date | None, closing: date) -> list[FecEntry]:
    """The opening entries (AN) of each fiscal year starting in the days now closed.

    They carry the balance of each balance-sheet account (classes 1 to 5) at the end
    of the year before, by third party, and the results not yet allocated: the year's
    on 120 or 129, older ones on 110 or 119. Nothing to carry, no entry.
    """
    month = current_app.config["COOP_FISCAL_YEAR_START_MONTH"]
    entries = []
    if closed is not None:
        first = closed.year
    else:
        first = min((r.entry_date for r in rows), default=closing).year
    for year in range(first, closing.year + 1):
        start = date(year, month, 1)
        if (closed is not None and start <= closed) or start > closing:
            continue
        before = [r for r in rows if r.entry_date < start and r.source_kind != SOURCE_OPENING]
        if not before:
            continue
        entries.append(_opening(year, start, before, month))
    return entries


def _opening(year: int, start: date, before: list[FecEntry], month: int) -> FecEntry:
    balances: dict[tuple, Decimal] = {}
    results = {"year": ZERO, "earlier": ZERO}
    year_before = date(year - 1, month, 1)
    for row in before:
        for p in row.postings:
            amount = Decimal(p["debit"]) - Decimal(p["credit"])
            if p["account"][:1] in "67":
                results["year" if row.entry_date >= year_before else "earlier"] -= amount
            else:
                key = (p["account"], p["account_label"], p["aux"], p["aux_label"])
                balances[key] = balances.get(key, ZERO) + amount
    postings = [
        _opening_line(account, label, aux, aux_label, amount)
        for (account, label, aux, aux_label), amount in sorted(balances.items())
        if amount
    ]
    for kind in ("year", "earlier"):
        profit, loss = RESULT_ACCOUNTS[kind]
        if results[kind]:
            account, label = profit if results[kind] > 0 else loss
            postings.append(_opening_line(account, label, "", "", -results[kind]))
    return FecEntry(
        source_kind=SOURCE_OPENING,
        source_id=year,
        journal_code=OPENING_JOURNAL[0],
        journal_label=OPENING_JOURNAL[1],
        entry_date=start,
        piece_ref=f"AN-{start:%Y%m%d}",
        piece_date=start,
        label=f"À nouveaux au {start:%d/%m/%Y}",
        postings=postings,
        member_code="",
        customers_amount="0.00",
    )


def _opening_line(account, label, aux, aux_label, debit_minus_credit: Decimal) -> dict:
    posting = _posting("opening", debit_minus_credit)
    return {
        "role": "opening",
        "account": account,
        "account_label": label,
        "aux": aux,
        "aux_label": aux_label,
        "debit": f"{posting.debit:f}",
        "credit": f"{posting.credit:f}",
    }


def _links() -> list[tuple[tuple[str, int], tuple[str, int]]]:
    """What settles what, as pairs of entry sources."""
    links = [
        ((SOURCE_INVOICE, id_), (SOURCE_INVOICE, credited_id))
        for id_, credited_id in db.session.execute(
            select(Invoice.id, Invoice.credited_invoice_id).where(
                Invoice.credited_invoice_id.is_not(None)
            )
        )
    ]
    links += [
        ((SOURCE_PAYMENT, payment_id), (SOURCE_INVOICE, invoice_id))
        for payment_id, invoice_id in db.session.execute(
            select(PaymentAllocation.payment_id, PaymentAllocation.invoice_id)
        )
    ]
    links += [
        ((SOURCE_PURCHASE, id_), (SOURCE_PURCHASE, credited_id))
        for id_, credited_id in db.session.execute(
            select(SupplierInvoice.id, SupplierInvoice.credited_invoice_id).where(
                SupplierInvoice.credited_invoice_id.is_not(None)
            )
        )
    ]
    links += [
        ((SOURCE_SUPPLIER_PAYMENT, payment_id), (SOURCE_PURCHASE, invoice_id))
        for payment_id, invoice_id in db.session.execute(
            select(SupplierPaymentAllocation.payment_id, SupplierPaymentAllocation.invoice_id)
        )
    ]
    for id_, payment_id, note_id in db.session.execute(
        select(Refund.id, Refund.payment_id, Refund.credit_note_id)
    ):
        links.append(((SOURCE_REFUND, id_), (SOURCE_PAYMENT, payment_id)))
        if note_id is not None:
            links.append(((SOURCE_REFUND, id_), (SOURCE_INVOICE, note_id)))
    return links


def _linked(items, links) -> list[list]:
    """The groups of `items` that `links` connect (union-find), links to unknown items ignored."""
    parent = {item: item for item in items}

    def root(item):
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    for a, b in links:
        if a in parent and b in parent:
            parent[root(a)] = root(b)
    groups: dict = {}
    for item in items:
        groups.setdefault(root(item), []).append(item)
    return list(groups.values())


def letter_code(n: int) -> str:
    """0 -> AA, 1 -> AB, ..., 675 -> ZZ, 676 -> AAA: two letters, then three, and so on."""
    width = 2
    while n >= 26**width:
        n -= 26**width
        width += 1
    letters = []
    for _ in range(width):
        n, rest = divmod(n, 26)
        letters.append(chr(ord("A") + rest))
    return "".join(reversed(letters))


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


def _fec_lines(entry: FecEntry, date_to: date) -> Iterator[str]:
    """The stored entry's lines; a lettering given after `date_to` is not shown yet."""
    lettered = entry.lettering is not None and entry.lettered_on <= date_to
    for posting in entry.postings:
        customers = lettered and posting["role"] in THIRD_PARTY_ACCOUNTS
        values = (
            entry.journal_code,
            entry.journal_label,
            str(entry.number),
            _fec_date(entry.entry_date),
            posting["account"],
            posting["account_label"],
            posting["aux"],
            posting["aux_label"],
            entry.piece_ref,
            _fec_date(entry.piece_date),
            entry.label,
            _fec_amount(Decimal(posting["debit"])),
            _fec_amount(Decimal(posting["credit"])),
            entry.lettering if customers else "",
            _fec_date(entry.lettered_on if customers else None),
            _fec_date(entry.entry_date),
            "",
            "",
        )
        yield "\t".join(_fec_text(value) for value in values)


def _fec_date(day: date | None) -> str:
    return f"{day:%Y%m%d}" if day else ""


def _fec_amount(amount: Decimal) -> Figure:
    return Figure(f"{quantize(amount):f}".replace(".", ","))


def _fec_text(value: str) -> str:
    """A field as the FEC holds it: on one line, and no text a spreadsheet would run.

    Tabs and line breaks in a value would break the record (I 4°): they become
    spaces. The accountant may open the file in a spreadsheet: a label such as a
    shop's name is neutralised as in every file the app writes; amounts stay as they are.
    """
    if isinstance(value, Figure):
        return value
    return safe_cell(" ".join(value.split()) if any(c in value for c in "\t\r\n") else value)


# Characters French text uses that ISO 8859-15 lacks.
_TYPOGRAPHY = str.maketrans(
    {
        "’": "'",
        "‘": "'",
        "“": '"',
        "”": '"',
        "–": "-",
        "—": "-",
        "…": "...",
        "\u202f": " ",
        "\u2009": " ",
    }
)


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
        siren=identity.siren,
        customers=identity.account_customers,
        goods=identity.account_goods,
        shipping=identity.account_shipping,
        fee=identity.account_fee,
        vat=identity.account_vat,
        bank=identity.account_bank,
        bank_fees=identity.account_bank_fees,
        clearing=current_app.config["COOP_ACCOUNT_STRIPE_CLEARING"],
        rebates=identity.account_rebates,
        vat_pending=identity.account_vat_pending,
        suppliers=identity.account_suppliers,
        purchases=identity.account_purchases,
        purchase_shipping=identity.account_purchase_shipping,
        vat_deductible=identity.account_vat_deductible,
        vat_self_assessed=identity.account_vat_self_assessed,
        vat_import=identity.account_vat_import,
    )


# --- CSV and ZIP ----------------------------------------------------------------------------

CSV_HEADER = (
    "Numéro",
    "Type",
    "Date",
    "Code atelier",
    "Atelier",
    "Nature",
    "Désignation",
    "Quantité",
    "Prix unitaire HT",
    "Taux TVA (%)",
    "Montant HT",
    "Total HT",
    "Total TVA",
    "Total TTC",
)
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
    rows = [CSV_HEADER]
    for invoice in selection.invoices():
        for line in invoice.lines:
            rows.append(
                (
                    invoice.number,
                    INVOICE_KIND_LABELS[invoice.kind],
                    f"{invoice.issued_on:%d/%m/%Y}",
                    *_buyer(invoice),
                    LINE_LABELS[line.kind],
                    line.description,
                    _decimal(line.quantity, places=0),
                    _decimal(line.unit_price),
                    _decimal(line.vat_rate * 100, places=0),
                    _decimal(line.amount_excl_vat),
                    _decimal(invoice.total_excl_vat),
                    _decimal(invoice.total_vat),
                    _decimal(invoice.total_incl_vat),
                )
            )
    return f"factures-{selection.slug}.csv", french_csv(rows).encode("utf-8")


def _buyer(invoice: Invoice) -> tuple[str, str]:
    """The shop's code and name as printed on the invoice."""
    buyer = invoice.snapshot.get("buyer") or {}
    return buyer.get("code") or invoice.member.code, buyer.get("name") or invoice.member.name


def _decimal(value: Decimal, places: int = 2) -> Figure:
    """`1234,5` -> `1234,50`: a decimal comma, no thousands separator, no trailing noise."""
    text = f"{value.normalize():f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.ljust(places, "0")
    return Figure(f"{whole},{fraction}" if fraction else whole)


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
        f"{len(invoices) - len(missing)} PDF sur {len(invoices)} "
        + ("documents." if len(invoices) > 1 else "document."),
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
