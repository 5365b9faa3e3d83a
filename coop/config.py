"""Settings read from COOP_* environment variables."""

import os
import secrets
from decimal import Decimal, InvalidOperation
from pathlib import Path

from croniter import croniter
from limits import parse_many

from coop.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a whole number, got {value!r}") from exc


def _month(name: str, default: int) -> int:
    month = _int(name, default)
    if not 1 <= month <= 12:
        raise ConfigurationError(f"{name} must be a month, 1 to 12, got {month}")
    return month


def _decimal(name: str, default: Decimal) -> Decimal:
    """A non-negative number such as `0.5` or `1.00`."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or number < 0:
        raise ConfigurationError(f"{name} must be a number, 0 or more, got {value!r}")
    return number


def _rate_limit(name: str) -> str:
    value = os.environ.get(name) or DEFAULTS[name]
    try:
        parse_many(value)
    except ValueError as exc:
        raise ConfigurationError(
            f"{name} must read like '10 per minute' (several separated by ';'), got {value!r}"
        ) from exc
    return value


def _cron(name: str) -> str:
    """A schedule in cron's notation (Lyon time); empty turns the task off."""
    value = os.environ.get(name, DEFAULTS[name]).strip()
    if value and not croniter.is_valid(value):
        raise ConfigurationError(
            f"{name} must be a cron schedule such as '0 8 * * *', got {value!r}"
        )
    return value


def _float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a number, got {value!r}") from exc


def _demo_secret_key(instance_path: Path) -> str:
    """A random key kept in the instance folder, so demo sessions survive a restart."""
    path = instance_path / "demo-secret-key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


# Settings that do not depend on where the app runs.
DEFAULTS = {
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "BABEL_DEFAULT_LOCALE": "fr",
    "BABEL_DEFAULT_TIMEZONE": "Europe/Paris",
    "BABEL_TRANSLATION_DIRECTORIES": str(PROJECT_ROOT / "translations"),
    "COOP_PASSWORD_HASH_METHOD": "scrypt",
    "COOP_PAGE_SIZE": 25,
    "COOP_LOGIN_MAX_FAILURES": 5,
    "COOP_LOGIN_LOCK_MINUTES": 15,
    "COOP_FISCAL_YEAR_START_MONTH": 1,
    "COOP_MAIL_FROM": "Coopérative vélo Lyon <no-reply@coop-velo-lyon.example>",
    "COOP_MAIL_BACKEND": "outbox",
    "COOP_SMTP_HOST": "localhost",
    "COOP_SMTP_PORT": 25,
    "COOP_SMTP_STARTTLS": False,
    "COOP_SMTP_USER": None,
    "COOP_SMTP_PASSWORD": None,
    "COOP_BASE_URL": "http://127.0.0.1:5000",
    # The coop's identity on its documents (purchase orders, invoices).
    "COOP_NAME": "Coopérative vélo Lyon",
    "COOP_ADDRESS": "12 rue Paul Bert\n69003 Lyon",
    "COOP_HUB_ADDRESS": "Lieu totem de la coopérative\n45 rue de Gerland\n69007 Lyon",
    "COOP_SIRET": "81234567600017",
    "COOP_EMAIL": "contact@coop-velo-lyon.example",
    "COOP_PHONE": "04 78 00 00 00",
    # Long work (a pooling run, a batch of invoices) goes to a background thread, or to
    # an RQ queue on Redis served by `coop worker` when COOP_REDIS_URL is set; tests run
    # it inline.
    "COOP_JOBS_INLINE": False,
    "COOP_REDIS_URL": None,
    "COOP_JOBS_QUEUE": "coop",
    # Online payment (Stripe Checkout): offered only when a secret key is set.
    # COOP_STRIPE_API_BASE points the SDK elsewhere (the local fake); None is Stripe's own.
    "COOP_STRIPE_SECRET_KEY": None,
    "COOP_STRIPE_WEBHOOK_SECRET": None,
    "COOP_STRIPE_API_BASE": None,
    # The accounting's Stripe clearing account: card and SEPA receipts (net of Stripe's
    # fees, booked to 627) wait there until Stripe's payout reaches the bank (512). 511
    # "Valeurs à l'encaissement" by default; an accountant may prefer a 467 or 5117 account.
    "COOP_ACCOUNT_STRIPE_CLEARING": "511",
    # A supplier's invoice is matched against its purchase order and what was received: a
    # difference within the larger of this percentage of the ordered amount and this amount
    # in euros is not flagged (coop.purchases.matching).
    "COOP_PURCHASE_MATCH_TOLERANCE_PERCENT": Decimal("0.5"),
    "COOP_PURCHASE_MATCH_TOLERANCE_AMOUNT": Decimal("1.00"),
    # Transport emission factors of the impact report, kg CO2e per tonne-km (docs/relocation.md
    # gives each source): an articulated 40 t lorry (ADEME), a container ship Asia-Europe
    # (Clean Cargo Working Group, 52.2 g per TEU-km at 10 t per TEU), a cargo aircraft (ADEME,
    # the low end of its range).
    "COOP_CO2E_ROAD_KG_PER_TKM": Decimal("0.0916"),
    "COOP_CO2E_SEA_KG_PER_TKM": Decimal("0.0052"),
    "COOP_CO2E_AIR_KG_PER_TKM": Decimal("0.669"),
    # Proxies in front of the app whose X-Forwarded-* headers are trusted (ProxyFix): 0 when
    # clients reach the app directly (the demo), 1 behind nginx (`coop serve` sets it).
    "COOP_PROXY_COUNT": 0,
    # Rate limits (coop.rate_limits), per client address unless said otherwise.
    "COOP_RATELIMIT_ENABLED": True,
    "COOP_RATELIMIT_LOGIN": "10 per minute; 100 per hour",
    "COOP_RATELIMIT_PASSWORD_RESET": "20 per hour",
    # Per e-mail address asked for, whoever asks: an inbox is not flooded.
    "COOP_RATELIMIT_PASSWORD_RESET_ADDRESS": "3 per hour",
    # Per account (per address for a supplier's link).
    "COOP_RATELIMIT_UPLOAD": "10 per minute; 100 per hour",
    "COOP_RATELIMIT_SUPPLIER_LINK": "60 per minute",
    "COOP_RATELIMIT_STRIPE_WEBHOOK": "300 per minute",
    # Errors to Sentry when a DSN is set (the optional `coop[sentry]` extra).
    "COOP_SENTRY_DSN": None,
    "COOP_SENTRY_ENVIRONMENT": "production",
    "COOP_SENTRY_TRACES_SAMPLE_RATE": 0.0,
    # `coop scheduler`: when each periodic command is queued, in cron's notation, Lyon time.
    "COOP_CRON_CLOSE_DUE": "*/5 * * * *",
    "COOP_CRON_REMINDERS": "0 8 * * *",
    "COOP_CRON_RFQ_REMIND": "0 9 * * *",
}

CO2E_SETTINGS = (
    "COOP_CO2E_ROAD_KG_PER_TKM",
    "COOP_CO2E_SEA_KG_PER_TKM",
    "COOP_CO2E_AIR_KG_PER_TKM",
)

RATE_LIMIT_SETTINGS = (
    "COOP_RATELIMIT_LOGIN",
    "COOP_RATELIMIT_PASSWORD_RESET",
    "COOP_RATELIMIT_PASSWORD_RESET_ADDRESS",
    "COOP_RATELIMIT_UPLOAD",
    "COOP_RATELIMIT_SUPPLIER_LINK",
    "COOP_RATELIMIT_STRIPE_WEBHOOK",
)
SCHEDULE_SETTINGS = ("COOP_CRON_CLOSE_DUE", "COOP_CRON_REMINDERS", "COOP_CRON_RFQ_REMIND")

# The demo pays through the local Stripe fake (`coop-devtools stripe-fake serve`; `make run`).
DEMO_STRIPE = {
    "COOP_STRIPE_SECRET_KEY": "sk_test_coop_demo",
    "COOP_STRIPE_WEBHOOK_SECRET": "whsec_coop_demo",
    "COOP_STRIPE_API_BASE": "http://127.0.0.1:5010",
}

IDENTITY_SETTINGS = (
    "COOP_NAME",
    "COOP_ADDRESS",
    "COOP_HUB_ADDRESS",
    "COOP_SIRET",
    "COOP_EMAIL",
    "COOP_PHONE",
)


def load(instance_path: Path) -> dict:
    """Build the Flask config mapping from the environment."""
    demo = _flag("COOP_DEMO")
    debug = _flag("COOP_DEBUG")
    database_url = os.environ.get("COOP_DATABASE_URL") or (
        f"sqlite:///{instance_path / 'coop.sqlite3'}"
    )
    secret_key = os.environ.get("COOP_SECRET_KEY")
    if not secret_key:
        if not (demo or debug):
            raise ConfigurationError(
                "COOP_SECRET_KEY is not set. Set it to a long random string "
                "(python -c 'import secrets; print(secrets.token_hex(32))'), "
                "or set COOP_DEMO=1 to run the local demo."
            )
        secret_key = _demo_secret_key(instance_path)
    secure_cookies = _flag("COOP_SECURE_COOKIES", default=not (demo or debug))
    return {
        "SECRET_KEY": secret_key,
        "DEBUG": debug,
        "COOP_DEMO": demo,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SESSION_COOKIE_SECURE": secure_cookies,
        "PERMANENT_SESSION_LIFETIME": _int("COOP_SESSION_HOURS", 12) * 3600,
        "MAX_CONTENT_LENGTH": _int("COOP_MAX_UPLOAD_MB", 10) * 1024 * 1024,
        "COOP_LOGIN_MAX_FAILURES": _int("COOP_LOGIN_MAX_FAILURES", 5),
        "COOP_LOGIN_LOCK_MINUTES": _int("COOP_LOGIN_LOCK_MINUTES", 15),
        "COOP_FISCAL_YEAR_START_MONTH": _month(
            "COOP_FISCAL_YEAR_START_MONTH", DEFAULTS["COOP_FISCAL_YEAR_START_MONTH"]
        ),
        "COOP_BASE_URL": os.environ.get("COOP_BASE_URL", DEFAULTS["COOP_BASE_URL"]),
        "COOP_MAIL_FROM": os.environ.get("COOP_MAIL_FROM", DEFAULTS["COOP_MAIL_FROM"]),
        "COOP_MAIL_BACKEND": os.environ.get("COOP_MAIL_BACKEND", "outbox"),
        "COOP_MAIL_OUTBOX": os.environ.get("COOP_MAIL_OUTBOX", str(instance_path / "outbox")),
        "COOP_SMTP_HOST": os.environ.get("COOP_SMTP_HOST", "localhost"),
        "COOP_SMTP_PORT": _int("COOP_SMTP_PORT", 25),
        "COOP_SMTP_STARTTLS": _flag("COOP_SMTP_STARTTLS"),
        "COOP_SMTP_USER": os.environ.get("COOP_SMTP_USER"),
        "COOP_SMTP_PASSWORD": os.environ.get("COOP_SMTP_PASSWORD"),
        "COOP_REDIS_URL": os.environ.get("COOP_REDIS_URL") or None,
        "COOP_JOBS_QUEUE": os.environ.get("COOP_JOBS_QUEUE") or DEFAULTS["COOP_JOBS_QUEUE"],
        **_stripe_settings(demo),
        **{
            name: _decimal(name, DEFAULTS[name])
            for name in (
                "COOP_PURCHASE_MATCH_TOLERANCE_PERCENT",
                "COOP_PURCHASE_MATCH_TOLERANCE_AMOUNT",
            )
        },
        **{name: _decimal(name, DEFAULTS[name]) for name in CO2E_SETTINGS},
        "COOP_PROXY_COUNT": _int("COOP_PROXY_COUNT", 0),
        "COOP_RATELIMIT_ENABLED": _flag("COOP_RATELIMIT_ENABLED", default=True),
        **{name: _rate_limit(name) for name in RATE_LIMIT_SETTINGS},
        "COOP_SENTRY_DSN": os.environ.get("COOP_SENTRY_DSN") or None,
        "COOP_SENTRY_ENVIRONMENT": os.environ.get("COOP_SENTRY_ENVIRONMENT") or "production",
        "COOP_SENTRY_TRACES_SAMPLE_RATE": _float("COOP_SENTRY_TRACES_SAMPLE_RATE", 0.0),
        **{name: _cron(name) for name in SCHEDULE_SETTINGS},
        # Addresses in the environment write their line breaks as `\\n`.
        **{
            name: os.environ.get(name, DEFAULTS[name]).replace("\\n", "\n")
            for name in IDENTITY_SETTINGS
        },
    }


def _stripe_settings(demo: bool) -> dict:
    """Stripe's settings from the environment; the demo's default to the local fake."""
    if demo and not os.environ.get("COOP_STRIPE_SECRET_KEY"):
        return {name: os.environ.get(name) or value for name, value in DEMO_STRIPE.items()}
    return {name: os.environ.get(name) or None for name in DEMO_STRIPE}
