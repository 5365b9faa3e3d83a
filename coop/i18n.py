"""Language choice and the filters that show money and dates the French way."""

import unicodedata
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.numbers import format_currency as babel_format_currency
from babel.support import NullTranslations
from flask import Flask, g, has_request_context, request, session
from flask_babel import (
    format_date,
    format_datetime,
    format_decimal,
    format_percent,
    get_locale,
    get_translations,
)

from coop.money import CENT, UNIT_PRICE, quantize

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


def current_locale() -> Locale:
    """The locale of the request (or of `force_locale`), as Flask-Babel chose it.

    Read from Flask-Babel's own record of it when it is there: a page asks it a few hundred
    times (every label, every amount), and Flask-Babel's lookup goes through the context
    four times a call.
    """
    state = g.get("_flask_babel") if g else None
    return getattr(state, "babel_locale", None) or get_locale() or Locale("fr")


def _translations() -> NullTranslations:
    """The catalogue of the current locale: Flask-Babel's, remembered beside the locale object
    it was found for (`force_locale` and `refresh` put another locale object there)."""
    state = g.get("_flask_babel") if g else None
    locale = getattr(state, "babel_locale", None)
    if locale is None:
        return get_translations()
    kept = getattr(state, "coop_translations", None)
    if kept is None or kept[0] is not locale:
        kept = state.coop_translations = (locale, get_translations())
    return kept[1]


@lru_cache(maxsize=8192)  # prices repeat from row to row and page to page
def _currency(amount: Decimal, locale: Locale, pattern: str | None) -> str:
    if pattern is None:
        return babel_format_currency(amount, "EUR", locale=locale)
    return babel_format_currency(
        amount, "EUR", format=pattern, currency_digits=False, locale=locale
    )


def money(amount: Decimal | None) -> str:
    """`1 234,56 €` in French, `€1,234.56` in English: always to the cent, rounded half up."""
    if amount is None:
        return ""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be a Decimal, not {type(amount).__name__}")
    # Babel rounds half to even; the coop rounds half up (coop.money.quantize), once.
    return _currency(quantize(amount), current_locale(), None)


def unit_price(amount: Decimal | None) -> str:
    """A unit price: `21,90 €` when exact to the cent, `0,0125 €` when quoted finer.

    Suppliers quote to four decimals at most; trailing zeros past the cent say nothing.
    """
    if amount is None:
        return ""
    if not isinstance(amount, Decimal):
        raise TypeError(f"unit_price must be a Decimal, not {type(amount).__name__}")
    amount = quantize(amount, UNIT_PRICE)
    locale = current_locale()
    if amount == quantize(amount, CENT):
        return _currency(amount, locale, None)
    pattern = locale.currency_formats["standard"].pattern.replace("0.00", "0.00##")
    return _currency(amount, locale, pattern)


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


# Words that start with an h the French do not elide before ("le hangar", "de Hollande").
_ASPIRATED_H = (
    "hall",
    "halle",
    "hameau",
    "hangar",
    "haut",
    "hêtre",
    "hollande",
    "hongrie",
    "hibou",
    "héros",
    "hache",
    "harpe",
    "hasard",
    "havre",
    "houblon",
    "hutte",
)


def _elides(name: str) -> bool:
    """Whether French drops the vowel of "de", "que", "le" before this word."""
    word = name.split(maxsplit=1)[0].casefold() if name.strip() else ""
    bare = _bare(word)
    if not bare:
        return False
    if bare[0] in "aeiou":
        return True
    if bare[0] == "y":  # "d'Yves", but "de Yoga"
        return len(bare) > 1 and bare[1] not in "aeiouy"
    if bare[0] == "h":
        return not any(word.startswith(h) or bare.startswith(_bare(h)) for h in _ASPIRATED_H)
    return False


def _in_french() -> bool:
    """Whether text goes out in French: the reader's choice, French outside a request."""
    locale = get_locale()
    return locale is None or locale.language == "fr"


def de(name: str | None) -> str:
    """`name` after "de", the French way: `d'Atelier Vélo`, `de Cycles`, `du Vélo Rouge`.

    Contracts "de le" to "du" and "de les" to "des" when the name starts with the article,
    elides before a vowel or a mute h. In another language the name comes back as it is: the
    translation carries its own preposition ("Statement for %(of_shop)s").
    """
    name = (name or "").strip()
    if not _in_french():
        return name
    first, _, rest = name.partition(" ")
    if first in ("Le", "le") and rest:
        return f"du {rest}"
    if first in ("Les", "les") and rest:
        return f"des {rest}"
    return f"d'{name}" if _elides(name) else f"de {name}"


def que(name: str | None) -> str:
    """`name` after "que", the French way: `qu'Atelier Vélo`, `que Cycles`."""
    name = (name or "").strip()
    if not _in_french():
        return name
    return f"qu'{name}" if _elides(name) else f"que {name}"


_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"})


def _bare(text: str) -> str:
    """`text` without accents nor ligatures, case folded: the first level of French order."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@lru_cache(maxsize=16_384)  # the catalogue's names, sorted on every page that lists them
def collation_key(text: str | None) -> tuple[str, str, str]:
    """Sort key putting names in French dictionary order, the same on every database.

    Letters first without accents nor case (Bénin before Burundi, Écully among the E's,
    "Atelier du…" before "Atelier Vélo…"), then accents, then case, to break ties.
    """
    text = text or ""
    return (_bare(text), unicodedata.normalize("NFKD", text).casefold(), text.swapcase())


def sorted_by_name(items, name=lambda item: item.name):
    """`items` in French order of their name (`name` picks it), stable for equal names."""
    return sorted(items, key=lambda item: collation_key(name(item)))


def french_sort(items, attribute: str = "name"):
    """The `sort` filter in French order: `members|french_sort('name')`, dotted paths allowed."""

    def name(item):
        for part in attribute.split("."):
            item = getattr(item, part)
        return item

    return sorted_by_name(items, name)


def register_filters(app: Flask) -> None:
    app.jinja_env.install_gettext_callables(  # Flask-Babel's, with the catalogue kept
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.add_template_filter(number, "number")
    app.add_template_filter(money, "money")
    app.add_template_filter(unit_price, "unit_price")
    app.add_template_filter(day, "day")
    app.add_template_filter(moment, "moment")
    app.add_template_filter(country, "country")
    app.add_template_filter(percent, "percent")
    app.add_template_filter(rate, "rate")
    app.add_template_filter(de, "de")
    app.add_template_filter(que, "que")
    app.add_template_filter(french_sort, "french_sort")

    @app.context_processor
    def languages():
        return {
            "languages": LANGUAGES,
            "current_path": request.full_path.rstrip("?") if has_request_context() else "/",
            "get_locale": get_locale,
        }
