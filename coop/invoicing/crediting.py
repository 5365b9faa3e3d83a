"""Credit notes (avoirs): an issued invoice corrected, in full or in part (spec/invoicing.md).

A credit note is an invoice of kind credit_note (type 381) in its own continuous
series AV-YYYY-NNNNNN, citing the original's number and date. Its amounts are
stored positive, as printed: the type already says they are owed back, and the
FEC export mirrors the entry. Nothing can be credited beyond what was invoiced.
"""

import copy
import re
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

from coop import bounds
from coop.accounts.models import User
from coop.activity.recording import record
from coop.clock import to_local
from coop.errors import DomainError
from coop.extensions import db
from coop.invoicing.events import document_issued
from coop.invoicing.issuing import ZERO, DraftLine, identity, seller_snapshot, vat_breakdown
from coop.invoicing.models import (
    FREE_AMOUNT_LABEL,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceVat,
    LineKind,
)
from coop.money import quantize
from coop.numbering import next_value


def number_for(year: int, value: int) -> str:
    """AV-2026-000007: the credit notes' own continuous series per year."""
    return f"AV-{year}-{value:06d}"


def payment_reference(number: str) -> str:
    """An ISO 11649 (RF) reference that keeps the AV prefix, so it never equals an invoice's."""
    body = "AV" + re.sub(r"\D", "", number)
    return iso11649.validate(f"RF{mod_97_10.calc_check_digits(body + 'RF')}{body}")


def credit_notes_of(invoice: Invoice) -> list[Invoice]:
    """The credit notes citing `invoice`, in issue order."""
    return list(
        db.session.scalars(
            select(Invoice)
            .where(
                Invoice.credited_invoice_id == invoice.id, Invoice.kind == InvoiceKind.CREDIT_NOTE
            )
            .order_by(Invoice.issued_on, Invoice.id)
        )
    )


def credited_total(invoice: Invoice) -> Decimal:
    """What the credit notes citing `invoice` give back, incl. VAT."""
    return sum((note.total_incl_vat for note in credit_notes_of(invoice)), ZERO)


def can_credit(invoice: Invoice) -> bool:
    """Whether a credit note may still be issued on `invoice`: an invoice not wholly credited."""
    return remaining_creditable(invoice) > 0


def remaining_creditable(invoice: Invoice) -> Decimal:
    """What may still be credited on `invoice`, incl. VAT (nothing on a credit note)."""
    if invoice.kind is not InvoiceKind.INVOICE:
        return ZERO
    return invoice.total_incl_vat - credited_total(invoice)


def _credited_lines(notes: list[Invoice]) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
    """(quantity, amount excl. VAT) already credited per original line position."""
    quantities: dict[int, Decimal] = defaultdict(lambda: Decimal(0))
    amounts: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for note in notes:
        origin = {int(k): int(v) for k, v in (note.snapshot.get("credited_lines") or {}).items()}
        for line in note.lines:
            if line.position in origin:
                quantities[origin[line.position]] += line.quantity
                amounts[origin[line.position]] += line.amount_excl_vat
    return quantities, amounts


def remaining_quantities(invoice: Invoice) -> dict[int, Decimal]:
    """Per line id of `invoice`, the quantity no credit note has credited yet."""
    quantities, _ = _credited_lines(credit_notes_of(invoice))
    return {line.id: line.quantity - quantities[line.position] for line in invoice.lines}


def _parse_quantity(value) -> Decimal:
    try:
        quantity = Decimal(str(value).replace(",", ".").strip() or "0")
    except InvalidOperation:
        raise DomainError(f"Quantité invalide : {value}.") from None
    if not quantity.is_finite() or abs(quantity) > bounds.MAX_QUANTITY:
        raise DomainError(f"Quantité invalide : {value}.")
    return quantity


def _lines_to_credit(invoice: Invoice, notes: list[Invoice], chosen: dict) -> list:
    """(original line, DraftLine) for each chosen line, within what remains on it."""
    quantities, amounts = _credited_lines(notes)
    by_id = {line.id: line for line in invoice.lines}
    drafts = []
    for line_id, value in chosen.items():
        line = by_id.get(int(line_id))
        if line is None:
            raise DomainError("Cette ligne n'appartient pas à la facture créditée.")
        quantity = _parse_quantity(value)
        if not quantity:
            continue
        left = line.quantity - quantities[line.position]
        if quantity < 0 or quantity > left:
            raise DomainError(
                f"Ligne « {line.description} » : au plus {left.normalize():f} à créditer, "
                f"pas {quantity.normalize():f}."
            )
        # The last units of a line take exactly what is left of its amount, so
        # per-credit rounding never adds up to more than the line invoiced.
        amount = (
            line.amount_excl_vat - amounts[line.position]
            if quantity == left
            else quantize(quantity * line.unit_price)
        )
        drafts.append(
            (
                line,
                DraftLine(
                    line.kind,
                    line.description,
                    line.reference,
                    quantity,
                    line.unit_price,
                    line.vat_rate,
                    amount,
                    line.need_id,
                ),
            )
        )
    return sorted(drafts, key=lambda pair: pair[0].position)


def _main_rate(invoice: Invoice) -> Decimal:
    return max(invoice.vat, key=lambda v: (v.base, v.rate)).rate


def credit_invoice(
    invoice: Invoice,
    *,
    lines: dict | None = None,
    amount: Decimal | None = None,
    reason: str,
    by: User | None,
    at: datetime,
    imputation: Callable[[Invoice, Decimal], str] | None = None,
) -> Invoice:
    """Issue a credit note on `invoice`: in full, on chosen line quantities, or an amount excl. VAT.

    The caller commits. The original's row is locked first, so two treasurers
    crediting the same invoice at once cannot together credit more than it.
    `imputation(invoice, total incl. VAT)`: what the shop's account does with the credit,
    printed on the note (the payments layer knows; invoicing does not import it).
    """
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Indiquez le motif de l'avoir.", field="reason")
    if invoice.kind is not InvoiceKind.INVOICE:
        raise DomainError(f"{invoice.number} est un avoir : un avoir ne se crédite pas.")
    db.session.execute(select(Invoice.id).where(Invoice.id == invoice.id).with_for_update())
    if not can_credit(invoice):
        raise DomainError(f"La facture {invoice.number} est déjà entièrement créditée.")

    notes = credit_notes_of(invoice)
    remaining = invoice.total_incl_vat - sum((n.total_incl_vat for n in notes), ZERO)
    origins: dict[int, int] = {}
    if amount is not None:
        if lines:
            raise DomainError("Choisissez des lignes ou un montant, pas les deux.")
        amount = quantize(Decimal(amount))
        if amount <= 0:
            raise DomainError("Le montant de l'avoir doit être positif.", field="amount")
        rate = _main_rate(invoice)
        drafts = [
            DraftLine(LineKind.GOODS, FREE_AMOUNT_LABEL, None, Decimal(1), amount, rate, amount)
        ]
    else:
        if lines is None:  # in full: everything not credited yet
            lines = remaining_quantities(invoice)
            lines = {line_id: left for line_id, left in lines.items() if left > 0}
        chosen = _lines_to_credit(invoice, notes, lines)
        if not chosen:
            raise DomainError("Choisissez au moins une ligne et une quantité à créditer.")
        drafts = [draft for _, draft in chosen]
        origins = {n: line.position for n, (line, _) in enumerate(chosen, start=1)}

    # VAT once per rate on the credit note's lines (BR-CO-17), never more than what
    # remains of the original's VAT at that rate.
    credited_vat: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for note in notes:
        for row in note.vat:
            credited_vat[row.rate] += row.amount
    invoiced_vat = {row.rate: row.amount for row in invoice.vat}
    vat = [
        (
            v.rate,
            v.base,
            max(ZERO, min(v.amount, invoiced_vat.get(v.rate, v.amount) - credited_vat[v.rate])),
        )
        for v in vat_breakdown((d.vat_rate, d.amount_excl_vat) for d in drafts)
    ]
    total_excl = sum((d.amount_excl_vat for d in drafts), ZERO)
    total_vat = sum((row[2] for row in vat), ZERO)
    total_incl = total_excl + total_vat
    if total_incl <= 0:
        raise DomainError("Le montant de l'avoir doit être positif.")
    if total_incl > remaining:
        raise DomainError(
            f"Impossible de créditer {total_incl} € TTC : il ne reste que {remaining} € TTC "
            f"à créditer sur la facture {invoice.number}."
        )

    on = to_local(at).date()
    number = number_for(on.year, next_value(f"AV-{on.year}"))
    snapshot = copy.deepcopy(invoice.snapshot or {})
    # The credit note is issued now: it names the coop as it is registered today.
    snapshot["seller"] = {
        **snapshot.get("seller", {}),
        **seller_snapshot(identity()),
    }
    snapshot["credited_invoice"] = {
        "number": invoice.number,
        "issued_on": invoice.issued_on.isoformat(),
    }
    snapshot["reason"] = reason
    snapshot["credited_lines"] = {str(k): v for k, v in origins.items()}
    # A commercial gesture: an amount, nothing returned (booked to rebates granted, 709).
    snapshot["gesture"] = amount is not None
    snapshot["imputation"] = imputation(invoice, total_incl) if imputation else None
    mentions = dict(snapshot.get("mentions") or {})
    mentions["payment_terms"] = (
        f"Avoir sur la facture {invoice.number} du {invoice.issued_on:%d/%m/%Y}, imputable "
        f"dès son émission. Motif : {reason}"
    )
    snapshot["mentions"] = mentions
    note = Invoice(
        number=number,
        kind=InvoiceKind.CREDIT_NOTE,
        campaign_id=invoice.campaign_id,
        member_id=invoice.member_id,
        credited_invoice_id=invoice.id,
        issued_on=on,
        due_on=on,
        snapshot=snapshot,
        total_excl_vat=total_excl,
        total_vat=total_vat,
        total_incl_vat=total_incl,
        payment_reference=payment_reference(number),
        issued_by_id=by.id if by else None,
        created_at=at,
    )
    note.lines = [
        InvoiceLine(
            position=n,
            kind=d.kind,
            description=d.description,
            reference=d.reference,
            quantity=d.quantity,
            unit_price=d.unit_price,
            vat_rate=d.vat_rate,
            amount_excl_vat=d.amount_excl_vat,
            need_id=d.need_id,
        )
        for n, d in enumerate(drafts, start=1)
    ]
    note.vat = [InvoiceVat(rate=rate, base=base, amount=amt) for rate, base, amt in vat]
    db.session.add(note)
    db.session.flush()
    record(
        "credit_note.issued",
        object_type="invoice",
        object_id=note.id,
        label=note.number,
        member=invoice.member_id,
        details={
            "credited_invoice": invoice.number,
            "total_incl_vat": total_incl,
            "reason": reason,
        },
        actor=by,
    )
    document_issued.send(note)  # payments settles: what was paid beyond it becomes credit
    return note
