"""Language choice and the filters that show money and dates the French way."""

from datetime import date, datetime
from decimal import Decimal

from flask import Flask, g, has_request_context, request, session
from flask_babel import (
    format_currency,
    format_date,
    format_datetime,
    format_decimal,
    format_percent,
    get_locale,
)

LANGUAGES = {"fr": "Français", "en": "English"}


def N_(message: str) -> str:
    """Mark a French label for translation where it is defined; translate it where shown."""
    return message


def select_locale() -> str:
    """The language the user picked, else the link's (`?lang=en`), else French (the coop's).

    Pages for people without an account (a supplier's quote link) set
    `g.follow_browser_language`: the browser's Accept-Language then comes before French.
    """
    if not has_request_context():
        return "fr"
    for chosen in (session.get("lang"), request.args.get("lang")):
        if chosen in LANGUAGES:
            return chosen
    if g.get("follow_browser_language"):
        return request.accept_languages.best_match(LANGUAGES) or "fr"
    return "fr"


def money(amount: Decimal | None) -> str:
    """`1 234,56 €` in French, `€1,234.56` in English."""
    if amount is None:
        return ""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be a Decimal, not {type(amount).__name__}")
    return format_currency(amount, "EUR")


def unit_price(amount: Decimal | None) -> str:
    """`21,9000 €`: a unit price to the four decimals suppliers quote."""
    if amount is None:
        return ""
    if not isinstance(amount, Decimal):
        raise TypeError(f"unit_price must be a Decimal, not {type(amount).__name__}")
    pattern = get_locale().currency_formats["standard"].pattern.replace("0.00", "0.0000")
    return format_currency(amount, "EUR", format=pattern, currency_digits=False)


def day(value: date | datetime | None) -> str:
    """`07/12/2026`: dates in Lyon's calendar."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_datetime(value, "dd/MM/yyyy")
    return format_date(value, "dd/MM/yyyy")


def moment(value: datetime | None) -> str:
    """`07/12/2026 14:05` in Lyon's time."""
    if value is None:
        return ""
    return format_datetime(value, "dd/MM/yyyy HH:mm")


def country(code: str | None) -> str:
    """A country's name in the reader's language (`TW` -> `Taïwan`)."""
    if not code:
        return ""
    return get_locale().territories.get(code, code)


def percent(value: Decimal | None) -> str:
    """`+12,5 %` in French: a signed percentage with one decimal."""
    if value is None:
        return ""
    return format_decimal(value, "+#,##0.0;-#,##0.0") + (
        "\u00a0%" if str(get_locale()) == "fr" else "%"
    )


def rate(value: Decimal | None) -> str:
    """A rate such as VAT: `20 %`, `5,5 %`."""
    if value is None:
        return ""
    return format_percent(value, "#,##0.##\u00a0%")


def number(value) -> str:
    """A plain number the reader's way: `1,37` in French."""
    return format_decimal(value)


def register_filters(app: Flask) -> None:
    app.add_template_filter(number, "number")
    app.add_template_filter(money, "money")
    app.add_template_filter(unit_price, "unit_price")
    app.add_template_filter(day, "day")
    app.add_template_filter(moment, "moment")
    app.add_template_filter(country, "country")
    app.add_template_filter(percent, "percent")
    app.add_template_filter(rate, "rate")

    @app.context_processor
    def languages():
        return {
            "languages": LANGUAGES,
            "current_path": request.full_path.rstrip("?") if has_request_context() else "/",
            "get_locale": get_locale,
        }
