"""Bank transfers: the treasurer's bank statement, imported and matched to invoices.

French banks export statements as CSV with a few lines about the account
before the table, `;` and a decimal comma, dd/mm/yyyy dates, Windows-1252 or
UTF-8, and either one signed amount column or a debit and a credit column.
The parser finds the table's header by its column names and reads every line
before anything is written; a bad file raises InvalidRows (`line N, column C:
message`, as every import does) and writes nothing.

Each line is kept once (its fingerprint: date, amount, label and rank among
identical lines of the file), so overlapping statements add only what is new.
Money received waits in the queue, with the invoice the matcher proposes, until
the treasurer confirms it, picks another invoice or shop, or ignores it.
Debits are kept too, ignored from the start.
"""

import csv
import hashlib
import io
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from coop import bounds
from coop.accounts.models import Member, User
from coop.activity.recording import record
from coop.clock import now
from coop.csv_import import decode, records
from coop.errors import DomainError, FieldError, InvalidRows
from coop.extensions import db
from coop.i18n import N_, day, de, money
from coop.invoicing.models import Invoice, InvoiceKind
from coop.payments import ledger
from coop.payments.models import (
    BankImport,
    BankLine,
    BankLineStatus,
    Method,
    Payment,
    StripePayout,
)

ZERO = Decimal("0.00")

# --- reading the file ------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    """One operation of the statement, as the bank wrote it; `line` is where it starts."""

    line: int
    booked_on: date
    label: str
    amount: Decimal  # positive: money received


def _plain(text: str) -> str:
    """Upper case, no accents, words of letters and digits separated by one space."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^0-9A-Za-z]+", " ", ascii_text).upper().split())


# Header names as French banks write them, reduced by _plain; units dropped.
_UNIT_WORDS = {"EUR", "EUROS", "EURO", "EN", "E"}


def _column_kind(name: str) -> str | None:
    words = [w for w in _plain(name).split() if w not in _UNIT_WORDS]
    if not words or {"FRF", "FRANCS", "FRANC"} & set(words):
        return None
    first = words[0]
    if first in {"DATE", "DATEOP", "DATEVAL"}:
        return "value_date" if "VALEUR" in words or first == "DATEVAL" else "date"
    if first in {"LIBELLE", "INTITULE", "DESCRIPTION", "DETAIL", "DETAILS", "MOTIF", "LABEL"}:
        return "label"
    if words[:2] == ["INFORMATIONS", "COMPLEMENTAIRES"]:
        return "label"
    if first in {"MONTANT", "AMOUNT", "SOMME"}:
        return "amount"
    if first == "DEBIT":
        return "debit"
    if first == "CREDIT":
        return "credit"
    if first in {"DEVISE", "CURRENCY"}:
        return "currency"
    return None


@dataclass(frozen=True)
class _Layout:
    """Where each useful column is in the table (indexes), and its name in the file."""

    names: list[str]
    date: int
    labels: list[int]
    amount: int | None
    debit: int | None
    credit: int | None
    currency: int | None


def _layout(cells: list[str]) -> _Layout | None:
    """The table's layout if `cells` is its header row, else None."""
    found: dict[str, list[int]] = defaultdict(list)
    for index, cell in enumerate(cells):
        kind = _column_kind(cell)
        if kind:
            found[kind].append(index)
    dates = found.get("date") or found.get("value_date")
    has_amount = "amount" in found or ("debit" in found and "credit" in found)
    if not dates or "label" not in found or not has_amount:
        return None
    return _Layout(
        names=[cell.strip() for cell in cells],
        date=dates[0],
        labels=found["label"],
        amount=found["amount"][0] if "amount" in found else None,
        debit=found["debit"][0] if "debit" in found else None,
        credit=found["credit"][0] if "credit" in found else None,
        currency=found["currency"][0] if "currency" in found else None,
    )


def _find_header(lines: list[str]) -> tuple[int, str, _Layout] | None:
    """The header's index among `lines`, the separator, and the layout."""
    for index, line in enumerate(lines):
        for separator in (";", "\t", ","):
            if separator not in line:
                continue
            _, cells = next(records(csv.reader([line], delimiter=separator), index + 1))
            layout = _layout(cells)
            if layout is not None:
                return index, separator, layout
    return None


def parse_amount(cell: str) -> Decimal:
    """`1 234,56`, `-12,50`, `1.234,56 €`, `+148.65`: an amount to the cent.

    The decimal separator is the last `,` or `.` followed by one or two digits;
    the other one, spaces and apostrophes may group thousands. `1.234` alone is
    refused as ambiguous: a bank writes the cents.
    """
    shown = cell.strip()
    text = shown
    for noise in ("€", "EUR", "eur", " ", "\u00a0", "\u202f", "'"):
        text = text.replace(noise, "")
    sign = -1 if text[:1] in {"-", "\u2212"} else 1
    text = text[1:] if text[:1] in {"-", "\u2212", "+"} else text
    if not re.fullmatch(r"\d([\d.,]*\d)?", text):
        raise ValueError(f"montant attendu, pas {shown!r}")
    separators = [ch for ch in text if ch in ".,"]
    last = max(text.rfind(","), text.rfind("."))
    whole, decimals, grouping = text, "", None
    if separators:
        tail = text[last + 1 :]
        if len(tail) in (1, 2):
            whole, decimals = text[:last], tail
            grouping = "." if text[last] == "," else ","
            if text[last] in whole:
                raise ValueError(f"montant invalide {shown!r}")
        elif len(tail) == 3 and len(set(separators)) == 1 and len(separators) > 1:
            grouping = text[last]  # 1.234.567: a repeated separator groups thousands
        elif len(tail) == 3 and len(separators) == 1:
            raise ValueError(f"montant ambigu {shown!r} : écrivez les centimes (1 234,00 ou 1,23)")
        else:
            raise ValueError(f"montant au centime attendu, pas {shown!r}")
    groups = whole.split(grouping) if grouping else [whole]
    if len(groups) > 1 and (len(groups[0]) > 3 or any(len(g) != 3 for g in groups[1:])):
        raise ValueError(f"montant invalide {shown!r}")
    amount = bounds.bank_amount(
        sign * Decimal("".join(groups) + (f".{decimals}" if decimals else ""))
    )
    return amount.quantize(Decimal("0.01"))


_DATE_PATTERNS = ("%d/%m/%Y", "%Y-%m-%d", "%d/%m/%y", "%d-%m-%Y", "%d.%m.%Y")


def parse_day(cell: str) -> date:
    """A date as dd/mm/yyyy (the French banks' way) or yyyy-mm-dd."""
    text = cell.strip()
    for pattern in _DATE_PATTERNS:
        try:
            return datetime.strptime(text, pattern).date()  # noqa: DTZ007 (a date, no time)
        except ValueError:
            continue
    raise ValueError(f"date invalide {text!r} (attendu JJ/MM/AAAA ou AAAA-MM-JJ)")


def _label(cells: list[str], layout: _Layout) -> str:
    """The label columns joined (a bank's short and long label, its details), each once."""
    parts: list[str] = []
    for index in layout.labels:
        text = " ".join(_cell(cells, index).split())
        if text and not any(text in part for part in parts):
            parts = [part for part in parts if part not in text] + [text]
    return " ".join(parts)


def _cell(cells: list[str], index: int | None) -> str:
    return cells[index].strip() if index is not None and index < len(cells) else ""


def _has_amount(cells: list[str], layout: _Layout) -> bool:
    return any(_cell(cells, i) for i in (layout.amount, layout.debit, layout.credit))


def _summary_line(cells: list[str]) -> bool:
    """A balance or total line at the foot of the table: `Solde au 30/11/2026;;1 234,56`."""
    words = set(_plain(" ".join(cells)).split())
    return bool(words & {"SOLDE", "TOTAL", "TOTAUX"})


def parse_statement(data: bytes) -> list[StatementLine]:
    """The operations of a bank statement CSV; raises InvalidRows listing every problem."""
    if b"\x00" in data:
        raise InvalidRows([FieldError(1, "-", "ce n'est pas un fichier CSV (fichier binaire)")])
    text = decode(data).replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InvalidRows([FieldError(1, "-", "le fichier est vide")])
    lines = text.split("\n")
    header = _find_header(lines)
    if header is None:
        raise InvalidRows(
            [
                FieldError(
                    1,
                    "-",
                    (
                        "aucune ligne d'en-tête reconnue : le relevé doit avoir une colonne "
                        "de date, une de libellé et une de montant (ou une de débit et une "
                        "de crédit)"
                    ),
                )
            ]
        )
    header_index, separator, layout = header
    body = "\n".join(lines[header_index + 1 :])
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=separator)
    operations, errors = [], []
    previous = None
    for line, cells in records(reader, header_index + 2):
        if not any(cell.strip() for cell in cells):
            continue
        if not _cell(cells, layout.date) and not _has_amount(cells, layout):
            # A label continued on the next row (the reference may be there), or a title.
            extra = _label(cells, layout)
            if previous is not None and extra and not _summary_line(cells):
                previous = operations[-1] = replace(previous, label=f"{previous.label} {extra}")
            continue
        previous = _read_operation(line, cells, layout, errors)
        if previous is not None:
            operations.append(previous)
    if errors:
        raise InvalidRows(errors)
    if not operations:
        raise InvalidRows([FieldError(header_index + 1, "-", "aucune opération dans le relevé")])
    return operations


def _read_operation(line: int, cells, layout: _Layout, errors: list) -> StatementLine | None:
    names = layout.names
    date_cell = _cell(cells, layout.date)
    if not date_cell and _summary_line(cells):
        return None  # the balance at the foot of the table
    found_errors = len(errors)
    booked_on = None
    if not date_cell:
        errors.append(FieldError(line, names[layout.date], "date manquante"))
    else:
        try:
            booked_on = parse_day(date_cell)
        except ValueError as exc:
            errors.append(FieldError(line, names[layout.date], str(exc)))
    amount = _read_amount(line, cells, layout, errors)
    currency = _cell(cells, layout.currency)
    if currency and currency.upper() not in {"EUR", "€", "EURO", "EUROS"}:
        message = f"devise {currency} : seuls les relevés en euros sont importés"
        errors.append(FieldError(line, names[layout.currency], message))
    label = _label(cells, layout)
    if not label:
        errors.append(FieldError(line, names[layout.labels[0]], "libellé manquant"))
    if len(errors) > found_errors:
        return None
    return StatementLine(line=line, booked_on=booked_on, label=label, amount=amount)


def _read_amount(line: int, cells, layout: _Layout, errors: list) -> Decimal | None:
    names = layout.names
    if layout.amount is not None:
        cell = _cell(cells, layout.amount)
        if not cell:
            errors.append(FieldError(line, names[layout.amount], "montant manquant"))
            return None
        try:
            return parse_amount(cell)
        except ValueError as exc:
            errors.append(FieldError(line, names[layout.amount], str(exc)))
            return None
    debit, credit = _cell(cells, layout.debit), _cell(cells, layout.credit)
    if debit and credit:
        errors.append(FieldError(line, names[layout.debit], "débit et crédit sur la même ligne"))
        return None
    if not debit and not credit:
        errors.append(FieldError(line, names[layout.credit], "ni débit ni crédit"))
        return None
    index, cell = (layout.debit, debit) if debit else (layout.credit, credit)
    try:
        value = abs(parse_amount(cell))
    except ValueError as exc:
        errors.append(FieldError(line, names[index], str(exc)))
        return None
    return -value if debit else value


# --- importing --------------------------------------------------------------------------------


def fingerprint(booked_on: date, amount: Decimal, label: str, rank: int) -> str:
    """The same operation in two overlapping statements has the same fingerprint."""
    key = f"{booked_on.isoformat()}|{amount:.2f}|{_plain(label)}|{rank}"
    return hashlib.sha256(key.encode()).hexdigest()


def fingerprints(operations: list[StatementLine]) -> list[str]:
    """Each operation's fingerprint; identical operations in one file get ranks 1, 2, ..."""
    seen: Counter = Counter()
    result = []
    for op in operations:
        key = (op.booked_on, op.amount, _plain(op.label))
        seen[key] += 1
        result.append(fingerprint(op.booked_on, op.amount, op.label, seen[key]))
    return result


@dataclass(frozen=True)
class ImportOutcome:
    bank_import: BankImport
    new: int  # lines added
    known: int  # lines already imported from another statement
    received: int  # new lines of money received, in the queue
    proposed: int  # of which the matcher found an invoice for


def import_statement(data: bytes, filename: str, *, by: User | None) -> ImportOutcome:
    """Import a bank statement CSV: new lines only, credits queued with a proposed invoice."""
    sha256 = hashlib.sha256(data).hexdigest()
    earlier = db.session.scalar(select(BankImport).where(BankImport.sha256 == sha256))
    if earlier is not None:
        raise DomainError(
            _(
                "Ce relevé a déjà été importé le %(day)s (fichier « %(name)s ») : "
                "rien n'a été ajouté.",
                day=day(earlier.imported_at),
                name=earlier.filename,
            )
        )
    operations = parse_statement(data)
    keys = fingerprints(operations)
    known = _known_fingerprints(keys)
    bank_import = BankImport(
        filename=filename[:255] or "releve.csv", sha256=sha256, imported_by_id=by.id if by else None
    )
    db.session.add(bank_import)
    new_lines = [
        BankLine(
            bank_import=bank_import,
            booked_on=op.booked_on,
            label=op.label,
            amount=op.amount,
            fingerprint=key,
            status=BankLineStatus.UNMATCHED if op.amount > 0 else BankLineStatus.IGNORED,
        )
        for op, key in zip(operations, keys, strict=True)
        if key not in known
    ]
    db.session.add_all(new_lines)
    try:
        db.session.flush()
    except IntegrityError:
        # Someone imported the same statement, or an overlapping one, at the same moment.
        raise DomainError(
            _("Un autre import de ce relevé est en cours : réessayez dans un instant.")
        ) from None
    match_payouts()
    received = [line for line in new_lines if line.status is BankLineStatus.UNMATCHED]
    return ImportOutcome(
        bank_import,
        new=len(new_lines),
        known=len(operations) - len(new_lines),
        received=len(received),
        proposed=propose(received),
    )


# A payout's line is booked from the day before Stripe's arrival date to a few days after.
PAYOUT_BOOKED_FROM, PAYOUT_BOOKED_UNTIL = timedelta(days=-1), timedelta(days=3)


def match_payouts() -> int:
    """Find the bank line of each Stripe payout not matched yet, by amount and date.

    The line (money from Stripe, not a shop's payment) leaves the treasurer's queue;
    the accounting books the payout from the Stripe clearing account to the bank on
    the line's day. Say how many were matched.
    """
    taken = select(StripePayout.bank_line_id).where(StripePayout.bank_line_id.is_not(None))
    matched = 0
    payouts = db.session.scalars(
        select(StripePayout)
        .where(StripePayout.bank_line_id.is_(None))
        .order_by(StripePayout.arrival_on, StripePayout.id)
    ).all()
    for payout in payouts:
        line = db.session.scalars(
            select(BankLine)
            .where(
                BankLine.status == BankLineStatus.UNMATCHED,
                BankLine.amount == payout.amount,
                BankLine.booked_on.between(
                    payout.arrival_on + PAYOUT_BOOKED_FROM, payout.arrival_on + PAYOUT_BOOKED_UNTIL
                ),
                BankLine.id.not_in(taken),
            )
            .order_by(BankLine.booked_on, BankLine.id)
            .limit(1)
        ).first()
        if line is None:
            continue
        payout.bank_line = line
        line.status, line.ignored_at = BankLineStatus.IGNORED, now()
        db.session.flush()
        matched += 1
    return matched


def _known_fingerprints(keys: list[str]) -> set[str]:
    known: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        known.update(
            db.session.scalars(select(BankLine.fingerprint).where(BankLine.fingerprint.in_(chunk)))
        )
    return known


# --- matching ---------------------------------------------------------------------------------

REASONS = {
    "reference": N_("Référence de paiement"),
    "invoice_number": N_("Numéro de facture"),
    "amount_and_shop": N_("Montant et atelier"),
    "amount": N_("Montant seul"),
}
# Found in the label: the shop said which invoice it pays.
BY_REFERENCE = ("reference", "invoice_number")


def _compact(text: str) -> str:
    """Letters and digits only: `rf18 coop-0001` and `RF18COOP0001` read alike."""
    return _plain(text).replace(" ", "")


def _reference_candidates(label: str) -> set[str]:
    """Every string an RF reference (ISO 11649: RF, 2 check digits, up to 21 more) could be."""
    compact = _compact(label)
    found = set()
    for match in re.finditer("RF", compact):
        start = match.start()
        for length in range(5, 26):
            if start + length <= len(compact):
                found.add(compact[start : start + length])
    return found


def _invoice_numbers(label: str) -> set[str]:
    return {f"FA-{year}-{n}" for year, n in re.findall(r"FA(\d{4})(\d{6})", _compact(label))}


def _by_reference(lines: list[BankLine]) -> dict[int, tuple[Invoice, str]]:
    """The invoice each line's label names, by its RF reference first, then by its number."""
    rows = db.session.execute(
        select(Invoice.id, Invoice.payment_reference, Invoice.number).where(
            Invoice.kind == InvoiceKind.INVOICE
        )
    ).all()
    by_ref = {_compact(reference): id_ for id_, reference, _number in rows}
    by_number = {number: id_ for id_, _reference, number in rows}
    found = {}
    for line in lines:
        # The longest reference wins over a shorter one it starts with.
        refs = sorted(
            (r for r in _reference_candidates(line.label) if r in by_ref), key=len, reverse=True
        )
        numbers = sorted(n for n in _invoice_numbers(line.label) if n in by_number)
        if refs:
            found[line.id] = (db.session.get(Invoice, by_ref[refs[0]]), "reference")
        elif numbers:
            found[line.id] = (db.session.get(Invoice, by_number[numbers[0]]), "invoice_number")
    return found


def _names(member: Member) -> list[str]:
    """How a shop may appear in a bank label: its code and its name, as whole words."""
    return [f" {name} " for name in (_plain(member.code), _plain(member.name)) if len(name) >= 4]


def detect_members(label: str, members: list[Member]) -> list[Member]:
    """The shops whose code or name the label contains."""
    words = f" {_plain(label)} "
    return [m for m in members if any(name in words for name in _names(m))]


def _open_invoices() -> list[tuple[Invoice, Decimal]]:
    return db.session.execute(
        select(Invoice, ledger.outstanding_column())
        .where(Invoice.kind == InvoiceKind.INVOICE, ledger.outstanding_column() > ZERO)
        .order_by(Invoice.due_on, Invoice.number)
    ).all()


def propose(lines: list[BankLine]) -> int:
    """Propose an invoice for each line of money received; returns how many got one.

    By the reference in the label (RF reference, then invoice number), else by an
    open invoice owing exactly the amount, of a shop the label names (or the only
    open invoice owing that amount). An invoice is proposed by amount once per batch.
    """
    lines = [line for line in lines if line.status is BankLineStatus.UNMATCHED and line.amount > 0]
    if not lines:
        return 0
    referenced = _by_reference(lines)
    by_amount: dict[Decimal, list[Invoice]] = defaultdict(list)
    for invoice, due in _open_invoices():
        by_amount[due].append(invoice)
    members = {invoice.member for invoices in by_amount.values() for invoice in invoices}
    taken: set[int] = set()
    proposed = 0
    for line in lines:
        invoice, reason = referenced.get(line.id, (None, None))
        if invoice is None:
            candidates = [i for i in by_amount.get(line.amount, []) if i.id not in taken]
            named = {m.id for m in detect_members(line.label, list(members))}
            of_shop = [i for i in candidates if i.member_id in named]
            if of_shop:
                invoice, reason = of_shop[0], "amount_and_shop"
            elif len(candidates) == 1 and not named:
                invoice, reason = candidates[0], "amount"
            if invoice is not None:
                taken.add(invoice.id)
        line.proposed_invoice, line.proposal_reason = invoice, reason
        proposed += invoice is not None
    db.session.flush()
    return proposed


def rematch() -> int:
    """Look again for the lines still waiting without a proposal (invoices issued since)."""
    lines = db.session.scalars(
        select(BankLine)
        .where(
            BankLine.status == BankLineStatus.UNMATCHED,
            BankLine.proposed_invoice_id.is_(None),
            BankLine.amount > ZERO,
        )
        .order_by(BankLine.booked_on, BankLine.id)
    ).all()
    return propose(lines)


@dataclass(frozen=True)
class Proposal:
    """What the queue shows for a line: the invoice proposed, why, and whether it adds up."""

    invoice: Invoice
    reason: str
    due: Decimal
    received: Decimal

    @property
    def is_exact(self) -> bool:
        """The shop named the invoice and paid exactly what it owes: safe to confirm in bulk."""
        return self.reason in BY_REFERENCE and self.received == self.due

    @property
    def mismatch(self) -> str | None:
        if self.received == self.due:
            return None
        if self.due == ZERO:
            return _(
                "facture déjà réglée : les %(received)s reçus iront au crédit de l'atelier",
                received=money(self.received),
            )
        return _(
            "montant différent : %(received)s reçus, %(due)s dus",
            received=money(self.received),
            due=money(self.due),
        )

    @property
    def reason_label(self) -> str:
        return _(REASONS[self.reason])


def proposals(lines: list[BankLine]) -> dict[int, Proposal]:
    """The proposal of each waiting line, against what the invoices owe now."""
    waiting = [
        line
        for line in lines
        if line.status is BankLineStatus.UNMATCHED and line.proposed_invoice is not None
    ]
    owed = ledger.balances([line.proposed_invoice for line in waiting])
    return {
        line.id: Proposal(
            line.proposed_invoice,
            line.proposal_reason,
            owed[line.proposed_invoice_id].due,
            line.amount,
        )
        for line in waiting
    }


# --- the treasurer's decisions ---------------------------------------------------------------

TRANSITIONS = {
    BankLineStatus.UNMATCHED: {BankLineStatus.MATCHED, BankLineStatus.IGNORED},
    BankLineStatus.IGNORED: {BankLineStatus.UNMATCHED},
    BankLineStatus.MATCHED: set(),
}


def _lock(line: BankLine, to: BankLineStatus) -> None:
    """Lock the line and check the move: two treasurers never record one transfer twice."""
    db.session.execute(select(BankLine.id).where(BankLine.id == line.id).with_for_update())
    db.session.refresh(line)
    if to not in TRANSITIONS[line.status]:
        raise DomainError(
            {
                BankLineStatus.MATCHED: _("Cette ligne est déjà rapprochée d'un paiement."),
                BankLineStatus.IGNORED: _("Cette ligne est ignorée : remettez-la dans la file."),
                BankLineStatus.UNMATCHED: _("Cette ligne attend déjà dans la file."),
            }[line.status]
        )
    if to is not BankLineStatus.IGNORED and line.amount <= 0:
        raise DomainError(_("Un débit ne règle pas de facture : il reste ignoré."))


def confirm(
    line: BankLine, invoice: Invoice | None = None, *, member: Member | None = None, by: User | None
) -> Payment:
    """Record the line as a transfer from the shop: to `invoice` (default: the proposed one),
    or to `member`'s account without an invoice (its credit, used by settle).

    A different amount is kept as it is: a partial payment, or an over-payment
    whose excess is the shop's credit.
    """
    _lock(line, BankLineStatus.MATCHED)
    invoice = invoice if invoice is not None or member is not None else line.proposed_invoice
    if invoice is None and member is None:
        raise DomainError(_("Choisissez une facture ou un atelier."))
    if invoice is not None and invoice.kind is not InvoiceKind.INVOICE:
        raise DomainError(
            _("%(number)s est un avoir : un virement règle des factures.", number=invoice.number),
            field="invoice",
        )
    if invoice is not None and member is not None and invoice.member_id != member.id:
        raise DomainError(
            _(
                "La facture %(number)s est celle %(of_shop)s, pas de cet atelier.",
                number=invoice.number,
                of_shop=de(invoice.member.name),
            ),
            field="member",
        )
    payment = ledger.record_payment(
        invoice.member if invoice is not None else member,
        line.amount,
        method=Method.TRANSFER,
        received_on=line.booked_on,
        reference=line.label[:255],
        invoices=[invoice] if invoice is not None else [],
        by=by,
        bank_line=line,
    )
    line.status = BankLineStatus.MATCHED
    db.session.flush()
    _record(
        line,
        "bank_line.matched",
        by,
        payment.member_id,
        invoice=invoice.number if invoice is not None else None,
        payment=f"n°{payment.id}",
    )
    return payment


def _record(line: BankLine, action: str, by: User | None, member_id=None, **details) -> None:
    record(
        action,
        object_type="bank_line",
        object_id=line.id,
        label=f"{line.booked_on:%d/%m/%Y} {line.label}",
        member=member_id,
        details={"amount": line.amount, **details},
        actor=by,
    )


def left_due(line: BankLine, invoice: Invoice | None) -> Decimal:
    """What `invoice` would still owe once `line` settles it: zero unless the line is short."""
    waiting = line.status is BankLineStatus.UNMATCHED
    if not waiting or invoice is None or invoice.kind is not InvoiceKind.INVOICE:
        return ZERO
    due = ledger.balance(invoice).due
    return max(due - line.amount, ZERO) if line.amount > 0 else ZERO


def exact_lines() -> list[tuple[BankLine, Proposal]]:
    """The waiting lines whose proposal is exact (reference and amount): confirm-all's list."""
    lines = db.session.scalars(
        select(BankLine)
        .where(
            BankLine.status == BankLineStatus.UNMATCHED, BankLine.proposed_invoice_id.is_not(None)
        )
        .options(selectinload(BankLine.proposed_invoice))
        .order_by(BankLine.booked_on, BankLine.id)
    ).all()
    found = proposals(lines)
    exact = [(line, found[line.id]) for line in lines if found[line.id].is_exact]
    # Two lines paying one invoice: only the first is exact, the second would over-pay.
    seen: set[int] = set()
    result = []
    for line, proposal in exact:
        if proposal.invoice.id not in seen:
            seen.add(proposal.invoice.id)
            result.append((line, proposal))
    return result


def confirm_exact(line_ids: list[int], *, by: User | None) -> int:
    """Confirm the lines still exact among those the treasurer reviewed; returns how many."""
    reviewed = set(line_ids)
    listed = [(line, proposal) for line, proposal in exact_lines() if line.id in reviewed]
    # All the lines first, in id order: a single confirmation locks its line, then its shop.
    db.session.execute(
        select(BankLine.id)
        .where(BankLine.id.in_([line.id for line, _ in listed]))
        .order_by(BankLine.id)
        .with_for_update()
    )
    done = 0
    for line, proposal in listed:
        db.session.refresh(line)
        # Someone may have matched it meanwhile, and each confirmation settles the shop's account.
        if line.status is BankLineStatus.UNMATCHED and (
            ledger.balance(proposal.invoice).due == line.amount
        ):
            confirm(line, by=by)
            done += 1
    return done


def ignore(line: BankLine, *, by: User | None) -> None:
    """Set a line aside (bank fees, a supplier's refund...): kept, visible under its filter."""
    _lock(line, BankLineStatus.IGNORED)
    line.status = BankLineStatus.IGNORED
    line.ignored_by_id = by.id if by else None
    line.ignored_at = now()
    db.session.flush()
    _record(line, "bank_line.ignored", by)


def unignore(line: BankLine) -> None:
    """Put an ignored line back in the queue (not a Stripe payout's: it is booked as such)."""
    _lock(line, BankLineStatus.UNMATCHED)
    payout = db.session.scalar(select(StripePayout).where(StripePayout.bank_line_id == line.id))
    if payout is not None:
        raise DomainError(
            _(
                "Cette ligne est le virement Stripe %(payout)s : elle reste hors de la file.",
                payout=payout.stripe_id,
            )
        )
    line.status = BankLineStatus.UNMATCHED
    line.ignored_by_id = line.ignored_at = None
    db.session.flush()
    _record(line, "bank_line.unignored", None)
