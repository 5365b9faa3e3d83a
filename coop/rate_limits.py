"""Rate limits (Flask-Limiter) on the doors a stranger can knock at, and on uploads.

Counts live in Redis (COOP_REDIS_URL) so that every worker process shares them, in the
process's memory otherwise (the demo: one process). A limit reached answers 429: the
French page `errors/error.html`, or JSON for Stripe's webhook (Stripe sends the event
again later). Every limit is a setting in Flask-Limiter's notation ("10 per minute",
several separated by `;`); the table below says which pages each one guards.

The login also keeps its lock per address (coop.accounts.auth): that one counts failed
passwords for an account, whichever address they come from, and is cleared by the right
password; the limit here counts one client's attempts on any account.
"""

from dataclasses import dataclass

from flask import Flask, Response, jsonify, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user


def client_address() -> str:
    """The client's address (the proxy's X-Forwarded-For, through ProxyFix)."""
    return get_remote_address() or "unknown"


def account_or_address() -> str:
    """Who uploads: the account when logged in (several people share a shop's address)."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return client_address()


def address_asked_for() -> str:
    """The e-mail address a forgotten-password request names, as the accounts store it."""
    return request.form.get("email", "").strip().lower()[:254] or "(none)"


def json_refusal(limit) -> Response:
    response = jsonify(error="too many requests", limit=str(limit.limit))
    response.status_code = 429
    return response


@dataclass(frozen=True)
class RouteLimit:
    setting: str
    endpoints: tuple[str, ...] = ()
    blueprint: str | None = None
    key: object = client_address
    methods: tuple[str, ...] | None = ("POST",)
    # The answer instead of the 429 page (coop.errors shows an error's own response).
    on_breach: object = None


# Endpoints that take a file (their form has a FileField).
UPLOADS = (
    "imports.upload",
    "campaigns.import_campaign_needs",
    "payments.bank_queue",
    "identity.edit_identity",
    "supplier_quotes.upload_csv",
)

ROUTE_LIMITS = (
    RouteLimit("COOP_RATELIMIT_LOGIN", ("auth.login",)),
    RouteLimit("COOP_RATELIMIT_PASSWORD_RESET", ("invitations.forgot_password",)),
    RouteLimit(
        "COOP_RATELIMIT_PASSWORD_RESET_ADDRESS",
        ("invitations.forgot_password",),
        key=address_asked_for,
    ),
    RouteLimit("COOP_RATELIMIT_UPLOAD", UPLOADS, key=account_or_address),
    # A supplier's private quote link, every page of it.
    RouteLimit("COOP_RATELIMIT_SUPPLIER_LINK", blueprint="supplier_quotes", methods=None),
    # Stripe, not a person: JSON, and Stripe sends the event again later.
    RouteLimit("COOP_RATELIMIT_STRIPE_WEBHOOK", ("stripe.webhook",), on_breach=json_refusal),
)


def init_app(app: Flask) -> Limiter:
    """A limiter of this app's own (its counts and its switch are per app), on ROUTE_LIMITS.

    It is set up even when COOP_RATELIMIT_ENABLED is off, then switched off: a test may
    switch it on (`limiter.enabled`) for one test.
    """
    limiter = Limiter(
        client_address,
        storage_uri=app.config.get("COOP_REDIS_URL") or "memory://",
        # Two coops on one Redis name their queues apart: their counts too.
        key_prefix=app.config["COOP_JOBS_QUEUE"],
        strategy="sliding-window-counter",
        headers_enabled=True,
        # Redis down: count in this process's memory rather than refuse every login.
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        enabled=True,
    )
    limiter.init_app(app)
    limiter.enabled = app.config["COOP_RATELIMIT_ENABLED"]
    for rule in ROUTE_LIMITS:
        methods = list(rule.methods) if rule.methods else None
        decorate = limiter.limit(
            app.config[rule.setting], key_func=rule.key, methods=methods, on_breach=rule.on_breach
        )
        if rule.blueprint:
            decorate(app.blueprints[rule.blueprint])
        for endpoint in rule.endpoints:
            app.view_functions[endpoint] = decorate(app.view_functions[endpoint])
    app.extensions["coop_limiter"] = limiter
    return limiter
