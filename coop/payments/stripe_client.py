"""The one Stripe client the app talks through, built from the settings.

COOP_STRIPE_API_BASE points the SDK at another server (the local fake of
devtools/stripe_fake.py); without it the SDK talks to Stripe itself.
Without a secret key online payment is simply not offered.
"""

from datetime import date, datetime
from decimal import Decimal

import stripe
from flask import current_app
from flask_babel import gettext as _

from coop.clock import BUSINESS_TZ
from coop.errors import DomainError

# Seconds to connect, then to wait for an answer: a hung call must not hold a web worker long.
TIMEOUT = (5, 30)
# Connection errors, 409s and 5xx are retried; every POST carries an idempotency key, so a
# retried call never makes a second object.
RETRIES = 2
CURRENCY = "eur"
CENT = Decimal("0.01")


class OnlinePaymentDisabled(DomainError):
    """No Stripe secret key is configured."""


def is_enabled() -> bool:
    """Whether online payment is offered (a Stripe secret key is set)."""
    return bool(current_app.config.get("COOP_STRIPE_SECRET_KEY"))


def client() -> stripe.StripeClient:
    """The app's StripeClient, made once per settings and shared by every request."""
    key = current_app.config.get("COOP_STRIPE_SECRET_KEY")
    if not key:
        raise OnlinePaymentDisabled(
            _(
                "Le paiement en ligne n'est pas activé : réglez vos factures par virement, "
                "avec la référence de paiement indiquée sur chacune."
            )
        )
    base = (current_app.config.get("COOP_STRIPE_API_BASE") or "").rstrip("/") or None
    made = current_app.extensions.setdefault("coop_stripe", {})
    if (key, base) not in made:
        made.clear()
        made[key, base] = stripe.StripeClient(
            key,
            base_addresses={"api": base} if base else None,
            http_client=stripe.RequestsClient(timeout=TIMEOUT),
            max_network_retries=RETRIES,
        )
    return made[key, base]


def to_cents(amount: Decimal) -> int:
    """Stripe counts euros in cents."""
    return int((amount / CENT).to_integral_exact())


def from_cents(cents: int) -> Decimal:
    return Decimal(cents) * CENT


def local_day(timestamp: int) -> date:
    """A Stripe timestamp (Unix seconds) as a date in Lyon."""
    return datetime.fromtimestamp(timestamp, BUSINESS_TZ).date()
