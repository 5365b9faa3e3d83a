"""What a credit note does on the shop's account, said on the credit note itself.

The sentence is computed when the credit note is issued, from the ledger as
coop.payments.ledger.settle will leave it in the same transaction, and kept in
the issued snapshot: the PDF is rendered from the snapshot (perhaps later, in
the background) and an issued document never changes, so it states what was
done on its date. A refund paid later out of the remaining credit is its own
bank entry, citing the credit note (Refund.credit_note).
"""

from decimal import Decimal

from sqlalchemy import select

from coop.extensions import db
from coop.invoicing.models import Invoice, InvoiceKind
from coop.payments.ledger import balance, balances, lock_member_ledger, outstanding_column

ZERO = Decimal("0.00")
NBSP = "\xa0"  # keeps "12,00 €" on one line


def euros(amount: Decimal) -> str:
    """1 234,50 € (the document is French whatever the reader's language)."""
    whole, cents = f"{amount:,.2f}".split(".")
    return f"{whole.replace(',', NBSP)},{cents}{NBSP}€"


def credit_note_imputation(invoice: Invoice, credit: Decimal) -> str:
    """How a credit note of `credit` € incl. VAT on `invoice` is used, as settle() will do it:
    deducted from what `invoice` still owes; what `invoice` was paid beyond its new total
    becomes the shop's credit, which pays its other open invoices, oldest due first; the
    rest stays on account, for the next invoices or refunded on request."""
    lock_member_ledger(invoice.member)
    owed = balance(invoice)
    left = owed.total - owed.credited - credit - owed.paid
    if owed.paid <= ZERO or left >= ZERO:
        if left > ZERO:
            return (
                f"Cet avoir est déduit de la facture {invoice.number}, qui reste due "
                f"pour {euros(left)}."
            )
        return f"Cet avoir est déduit de la facture {invoice.number}, qui est ainsi soldée."
    excess = min(-left, owed.paid)
    parts = [
        f"Cet avoir est déduit de la facture {invoice.number}, déjà réglée : "
        f"le trop-perçu de {euros(excess)} est porté au crédit de votre compte"
    ]
    uses = []
    for other, due in _other_open_invoices(invoice):
        if excess <= ZERO:
            break
        take = min(due, excess)
        uses.append(f"{euros(take)} sur la facture {other.number}")
        excess -= take
    if uses:
        parts.append(" et imputé : " + ", ".join(uses))
    text = "".join(parts) + "."
    if excess > ZERO:
        text += (
            f" Reste à votre crédit : {euros(excess)}, déduit de vos prochaines factures "
            "ou remboursé sur demande."
        )
    return text


def _other_open_invoices(invoice: Invoice) -> list[tuple[Invoice, Decimal]]:
    """The shop's other invoices still owing, oldest due first (the order settle() pays)."""
    others = db.session.scalars(
        select(Invoice)
        .where(
            Invoice.member_id == invoice.member_id,
            Invoice.kind == InvoiceKind.INVOICE,
            Invoice.id != invoice.id,
        )
        .where(outstanding_column() > ZERO)
        .order_by(Invoice.due_on, Invoice.number)
    ).all()
    owed = balances(others)
    return [(other, owed[other.id].due) for other in others if owed[other.id].due > ZERO]
