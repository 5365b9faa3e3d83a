"""Paying invoices online: a shop picks some of its open invoices, Stripe Checkout takes the money.

Our invoice is the invoice of record (never Stripe Invoicing): the session has one
line per invoice, for what it still owes at that moment (credit notes and the
shop's credit already deducted by the ledger). Whether it was paid is decided by
the webhooks (coop/payments/webhooks.py) and read from our own records, never
from the shop's browser coming back.
"""

import hashlib
import logging
from dataclasses import dataclass

import stripe
from flask_babel import gettext as _
from sqlalchemy import select

from coop.accounts.models import Member, User
from coop.errors import DomainError, NotAllowed, NotFound
from coop.extensions import db
from coop.i18n import money
from coop.invoicing.models import Invoice, InvoiceKind
from coop.payments import ledger, stripe_client
from coop.payments.ledger import ZERO, Balance
from coop.payments.models import CheckoutSession, Payment, PaymentStatus
from coop.payments.stripe_client import CURRENCY, to_cents

log = logging.getLogger(__name__)

# Stripe's minimum charge in euros, in cents; and a bound that keeps the invoice numbers
# within one metadata value (500 characters).
MINIMUM = 50
MAX_INVOICES = 20


@dataclass(frozen=True)
class Payable:
    """One of the shop's invoices with something still due."""

    invoice: Invoice
    balance: Balance

    @property
    def can_pay(self) -> bool:
        """False while a payment of it is in progress (a SEPA debit not settled yet)."""
        return self.balance.state in ("open", "partly_paid")


def payable_invoices(member: Member) -> list[Payable]:
    """The shop's invoices that still owe something, oldest due first."""
    invoices = db.session.scalars(
        select(Invoice)
        .where(Invoice.member_id == member.id, Invoice.kind == InvoiceKind.INVOICE)
        .where(ledger.outstanding_column() > ZERO)
        .order_by(Invoice.due_on, Invoice.number)
    ).all()
    balances = ledger.balances(invoices)
    return [Payable(i, balances[i.id]) for i in invoices if balances[i.id].due > ZERO]


def idempotency_key(member_id: int, dues: dict[int, int]) -> str:
    """The same shop paying the same invoices for the same amounts asks for the same session.

    A double click, a retried request or two people of one shop paying at once thus get
    one Checkout Session from Stripe, not two; once a payment changes what is due, the
    key changes with it.
    """
    text = f"{member_id}:" + ",".join(f"{i}={cents}" for i, cents in sorted(dues.items()))
    return "coop-checkout-" + hashlib.sha256(text.encode()).hexdigest()[:40]


def start_checkout(
    member: Member, invoice_ids: list[int], *, by: User, success_url: str, cancel_url: str
) -> CheckoutSession:
    """The Stripe Checkout Session paying `invoice_ids` of `member`, made (or found) and kept.

    `success_url` carries Stripe's `{CHECKOUT_SESSION_ID}` placeholder.
    """
    wanted = set(invoice_ids)
    if not wanted:
        raise DomainError(_("Cochez au moins une facture à payer."))
    if len(wanted) > MAX_INVOICES:
        raise DomainError(_("Au plus %(n)d factures par paiement.", n=MAX_INVOICES))
    payable = {p.invoice.id: p for p in payable_invoices(member)}
    if not wanted <= payable.keys():
        others = db.session.scalars(
            select(Invoice.id).where(
                Invoice.id.in_(wanted - payable.keys()), Invoice.member_id != member.id
            )
        ).first()
        if others is not None:
            # Never say more: the shop may not learn anything about another shop's invoice.
            raise NotAllowed(_("Vous ne pouvez payer que les factures de votre atelier."))
        raise DomainError(_("Une des factures choisies n'a plus rien à payer : rechargez la page."))
    chosen = [payable[i] for i in sorted(wanted, key=lambda i: payable[i].invoice.number)]
    for item in chosen:
        if not item.can_pay:
            raise DomainError(
                _("La facture %(number)s a déjà un paiement en cours.", number=item.invoice.number)
            )
    dues = {item.invoice.id: to_cents(item.balance.due) for item in chosen}
    total = sum((item.balance.due for item in chosen), ZERO)
    if to_cents(total) < MINIMUM:
        raise DomainError(
            _(
                "Stripe n'accepte pas un paiement de moins de %(min)s.",
                min=money(stripe_client.from_cents(MINIMUM)),
            )
        )
    metadata = {
        "member_id": str(member.id),
        "member_code": member.code,
        "invoice_ids": ",".join(str(item.invoice.id) for item in chosen),
        "invoice_numbers": ",".join(item.invoice.number for item in chosen),
    }
    params = {
        "mode": "payment",
        "currency": CURRENCY,
        "payment_method_types": ["card", "sepa_debit"],
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": CURRENCY,
                    "unit_amount": dues[item.invoice.id],
                    # The invoice is a French document; so is its line on Stripe's page.
                    "product_data": {"name": f"Facture {item.invoice.number}"},
                },
            }
            for item in chosen
        ],
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "client_reference_id": f"member-{member.id}",
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    key = idempotency_key(member.id, dues)
    try:
        created = stripe_client.client().v1.checkout.sessions.create(
            params, {"idempotency_key": key}
        )
    except stripe.StripeError as error:
        log.warning("Stripe Checkout Session for member %s not created: %s", member.id, error)
        raise DomainError(
            _(
                "Le paiement en ligne est momentanément indisponible : réessayez dans quelques "
                "minutes, ou payez par virement."
            )
        ) from error
    found = created.to_dict()
    row = db.session.scalar(select(CheckoutSession).where(CheckoutSession.stripe_id == found["id"]))
    if row is None:
        row = CheckoutSession(
            stripe_id=found["id"],
            member=member,
            amount=total,
            url=found["url"],
            status=found["status"],
            payment_status=found["payment_status"],
            created_by_id=by.id,
            invoices=[item.invoice for item in chosen],
        )
        db.session.add(row)
        db.session.flush()
    return row


# --- the shop comes back ---------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """Where a Checkout Session stands, from our records only."""

    session: CheckoutSession
    payment: Payment | None
    balances: dict[int, Balance]

    @property
    def state(self) -> str:
        """paid, failed, or processing (no word from Stripe yet, or a SEPA debit pending)."""
        paid = all(b.due == ZERO for b in self.balances.values())
        if paid or (self.payment and self.payment.status is PaymentStatus.SUCCEEDED):
            return "paid"
        if self.payment and self.payment.status is PaymentStatus.FAILED:
            return "failed"
        return "processing"

    @property
    def is_sepa_pending(self) -> bool:
        return self.payment is not None and self.payment.status is PaymentStatus.PENDING


def find_session(stripe_id: str, member: Member) -> CheckoutSession:
    """The shop's own Checkout Session; another shop's is as unknown as a missing one."""
    row = db.session.scalar(select(CheckoutSession).where(CheckoutSession.stripe_id == stripe_id))
    if row is None or row.member_id != member.id:
        raise NotFound(_("Ce paiement est introuvable."))
    return row


def outcome(session: CheckoutSession) -> Outcome:
    payment = db.session.scalar(
        select(Payment).where(Payment.checkout_session_id == session.id).order_by(Payment.id.desc())
    )
    return Outcome(session, payment, ledger.balances(list(session.invoices)))
