"""Money Stripe moved that the ledger did not take: kept for the treasurer, never a payment.

A payment in another currency or of another amount than its Checkout Session, a
refund larger than what its payment has left, a refund or a dispute of such a
payment: the webhook acknowledges the event (Stripe need not send it again, it
would say the same), records one anomaly per Stripe object and kind, and the
treasurer's payments pages list them with what to check on Stripe.
"""

import logging
from decimal import Decimal

from babel.numbers import get_currency_precision
from flask_babel import format_currency
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from coop.accounts.models import Member
from coop.extensions import db
from coop.i18n import N_, money
from coop.payments.models import AnomalyKind, CheckoutSession, Payment, PaymentAnomaly

log = logging.getLogger(__name__)

MESSAGES = {
    AnomalyKind.PAYMENT_CURRENCY: N_(
        "Paiement Stripe %(ref)s de %(amount)s pour %(expected)s de factures en euros : reçu "
        "dans une autre devise, il n'est pas enregistré. Vérifiez-le sur Stripe et "
        "remboursez-le si besoin."
    ),
    AnomalyKind.PAYMENT_AMOUNT: N_(
        "Paiement Stripe %(ref)s de %(amount)s pour %(expected)s de factures : le montant "
        "diffère, il n'est pas enregistré. Vérifiez-le sur Stripe."
    ),
    AnomalyKind.REFUND_CURRENCY: N_(
        "Remboursement Stripe %(ref)s de %(amount)s sur un paiement en euros : dans une autre "
        "devise, il n'est pas enregistré. Vérifiez-le sur Stripe."
    ),
    AnomalyKind.REFUND_TOO_LARGE: N_(
        "Remboursement Stripe %(ref)s de %(amount)s : plus que les %(expected)s encore "
        "remboursables sur ce paiement, il n'est pas enregistré. Vérifiez-le sur Stripe."
    ),
    AnomalyKind.REFUND_UNRECORDED: N_(
        "Remboursement Stripe %(ref)s de %(amount)s d'un paiement non enregistré (voir "
        "l'anomalie de ce paiement) : vérifiez-le sur Stripe."
    ),
    AnomalyKind.DISPUTE_CURRENCY: N_(
        "Litige Stripe %(ref)s de %(amount)s sur un paiement en euros : dans une autre devise, "
        "il n'est pas enregistré. Répondez-y sur Stripe."
    ),
    AnomalyKind.DISPUTE_UNRECORDED: N_(
        "Litige Stripe %(ref)s de %(amount)s sur un paiement non enregistré (voir l'anomalie de "
        "ce paiement) : répondez-y sur Stripe."
    ),
}


def record_anomaly(
    kind: AnomalyKind,
    stripe_id: str,
    *,
    amount_minor: int,
    currency: str,
    member: Member | None,
    session: CheckoutSession | None = None,
    payment: Payment | None = None,
    expected: Decimal | None = None,
) -> PaymentAnomaly:
    """Keep what Stripe says about `stripe_id` for the treasurer; once per object and kind."""
    known = db.session.scalar(
        select(PaymentAnomaly).where(
            PaymentAnomaly.kind == kind, PaymentAnomaly.stripe_id == stripe_id
        )
    )
    if known is not None:
        return known
    anomaly = PaymentAnomaly(
        kind=kind,
        stripe_id=stripe_id,
        amount_minor=amount_minor,
        currency=currency.lower(),
        member=member,
        checkout_session=session,
        payment=payment,
        expected=expected,
    )
    db.session.add(anomaly)
    db.session.flush()
    log.warning(
        "Stripe %s: %s %s %s not recorded, left to the treasurer",
        stripe_id,
        kind.value,
        amount_minor,
        currency,
    )
    return anomaly


def stripe_amount(amount_minor: int, currency: str) -> str:
    """`1,00 $US`: an amount Stripe gave in the smallest unit of `currency`."""
    code = currency.upper()
    amount = Decimal(amount_minor).scaleb(-get_currency_precision(code))
    return format_currency(amount, code)


def describe(anomaly: PaymentAnomaly) -> str:
    """What happened and what the treasurer should do, in one sentence."""
    return _(
        MESSAGES[anomaly.kind],
        ref=anomaly.stripe_id,
        amount=stripe_amount(anomaly.amount_minor, anomaly.currency),
        expected=money(anomaly.expected),
    )


def anomalies(member_id: int | None = None) -> list[PaymentAnomaly]:
    """The anomalies, newest first: all of them, or one shop's."""
    query = select(PaymentAnomaly).options(selectinload(PaymentAnomaly.member))
    if member_id is not None:
        query = query.where(PaymentAnomaly.member_id == member_id)
    return db.session.scalars(
        query.order_by(PaymentAnomaly.created_at.desc(), PaymentAnomaly.id.desc())
    ).all()
