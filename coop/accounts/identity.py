"""The coop's own legal identity: one row the admin edits, printed on every document."""

import base64
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from xml.etree import ElementTree

import pycountry
from babel import Locale
from babel.numbers import format_currency
from flask import current_app

from coop import identifiers
from coop.accounts.models import CoopIdentity
from coop.activity.recording import change, changes, record
from coop.errors import DomainError
from coop.extensions import db
from coop.money import quantize

LOGO_MAX_BYTES = 200 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG, SVG = "image/png", "image/svg+xml"
# Between businesses, at most 60 days from the invoice date (Code de commerce L441-10).
MAX_PAYMENT_TERMS_DAYS = 60
ACCOUNT_FIELDS = (
    "account_customers",
    "account_goods",
    "account_shipping",
    "account_fee",
    "account_vat",
    "account_bank",
    "account_bank_fees",
    "account_rebates",
    "account_vat_pending",
    "account_suppliers",
    "account_purchases",
    "account_purchase_shipping",
    "account_vat_deductible",
    "account_vat_self_assessed",
    "account_vat_import",
)
# Left blank, these accounts go back to their usual number.
OPTIONAL_ACCOUNTS = ACCOUNT_FIELDS[ACCOUNT_FIELDS.index("account_rebates") :]
FEE_TREATMENTS = ("goods", "service")
REGISTRIES = ("RCS", "RM")  # registre du commerce et des sociétés, répertoire des métiers
MAX_SHARE_CAPITAL = Decimal("1000000000")
FLAGS = ("variable_capital", "vat_on_debits")
# Babel's French thousands separator, printed as the no-break space the documents use.
NARROW_NBSP, NO_BREAK_SPACE = "\u202f", "\xa0"
# Payment reminders: a few steps, each within a year of the due date.
MAX_REMINDER_STEPS = 6
MAX_REMINDER_DAYS = 365
REQUIRED_FIELDS = frozenset(
    {
        "name",
        "siren",
        "address",
        "postcode",
        "city",
        "country",
        "email",
        "payment_terms_days",
        "late_payment_rate",
        *ACCOUNT_FIELDS,
    }
) - set(OPTIONAL_ACCOUNTS)


class InvalidIdentity(DomainError):
    """One or more fields refused; each error names its field, the first is the headline."""

    def __init__(self, errors: list[DomainError]):
        super().__init__(errors[0].message, field=errors[0].field)
        self.errors = errors

    @property
    def refusals(self) -> list[DomainError]:
        return self.errors


def coop_identity() -> CoopIdentity:
    """The saved identity, or a transient one built from the COOP_* settings (never saved)."""
    return db.session.get(CoopIdentity, 1) or _identity_from_config()


def save_identity(values: Mapping) -> CoopIdentity:
    """Validate every field, then write the single identity row; nothing is written on error.

    `values` holds the text fields by column name, `logo` (the bytes of a new file,
    or None to keep the current one) and `remove_logo`.
    """
    clean: dict = {}
    errors: list[DomainError] = []
    for name, check in _CHECKS.items():
        try:
            clean[name] = _checked(name, values.get(name), check, clean)
        except ValueError as exc:
            errors.append(DomainError(_sentence(str(exc)), field=name))
    logo = values.get("logo")
    if logo:
        try:
            clean["logo_type"] = logo_type(logo)
            clean["logo"] = logo
        except ValueError as exc:
            errors.append(DomainError(_sentence(str(exc)), field="logo"))
    elif values.get("remove_logo"):
        clean["logo"] = clean["logo_type"] = None
    for name in FLAGS:
        clean[name] = values.get(name) in (True, "y", "on", "1", "true")
    if bool(clean.get("registry")) != bool(clean.get("registry_city")):
        missing = "registry_city" if clean.get("registry") else "registry"
        if not any(error.field == missing for error in errors):
            errors.append(
                DomainError(
                    "Indiquez le registre (RCS ou RM) et la ville de son greffe, "
                    "ou ni l'un ni l'autre.",
                    field=missing,
                )
            )
    if errors:
        raise InvalidIdentity(errors)
    # One row (id = 1): locked so that two admins saving at once write one after the other.
    identity = db.session.get(CoopIdentity, 1, with_for_update=True)
    before = None if identity is None else {name: getattr(identity, name) for name in clean}
    if identity is None:
        identity = CoopIdentity(id=1)
        db.session.add(identity)
    for name, value in clean.items():
        setattr(identity, name, value)
    db.session.flush()
    _record_changes(before, clean)
    return identity


def _record_changes(before: dict | None, after: dict) -> None:
    """Each field changed, before and after; of the logo, only whether there is one. The
    first save keeps what identifies the coop and where it is paid."""
    if before is None:
        first = {name: after.get(name) for name in ("name", "siren", "iban")}
        record(
            "settings.identity_changed",
            object_type="settings",
            object_id=1,
            label=after.get("name") or "",
            details=first,
        )
        return
    changed = changes(
        {k: v for k, v in before.items() if k not in ("logo", "logo_type")},
        {k: v for k, v in after.items() if k not in ("logo", "logo_type")},
    )
    if "logo" in after and after["logo"] != before.get("logo"):
        changed["logo"] = change(before.get("logo") is not None, after["logo"] is not None)
    if changed:
        record(
            "settings.identity_changed",
            object_type="settings",
            object_id=1,
            label=after.get("name") or before.get("name") or "",
            details=changed,
        )


def postal_address(identity: CoopIdentity) -> str:
    """The address as printed on a document: street lines, postcode and city, country abroad."""
    lines = [*identity.address.splitlines(), f"{identity.postcode} {identity.city}"]
    if identity.country and identity.country != "FR":
        lines.append(Locale("fr").territories.get(identity.country, identity.country))
    return "\n".join(line for line in lines if line.strip())


def letterhead() -> dict:
    """The coop as its documents and e-mails show it (the admin's settings; the hub from config)."""
    identity = coop_identity()
    return {
        "name": identity.name,
        "legal_form": identity.legal_form,
        "address": postal_address(identity),
        "hub_address": current_app.config["COOP_HUB_ADDRESS"],
        "siren": identity.siren,
        "vat_number": identity.vat_number,
        "registration": registration(identity.registry, identity.registry_city, identity.siren),
        "capital": capital(identity.share_capital, identity.variable_capital, identity.legal_form),
        "vat_on_debits": identity.vat_on_debits,
        "legal_line": legal_line(identity),
        "email": identity.email or "",
        "phone": identity.phone or "",
        "logo": logo_data_url(identity),
    }


def legal_line(identity: CoopIdentity) -> str:
    """ "SCIC SAS à capital variable · RCS Lyon 812 345 676", as documents print it."""
    return join_legal_line(
        identity.legal_form,
        capital(identity.share_capital, identity.variable_capital, identity.legal_form),
        registration(identity.registry, identity.registry_city, identity.siren),
    )


def join_legal_line(legal_form: str | None, capital_text: str, registration_text: str) -> str:
    """The one way the parts join: the letterhead, the footer and the Factur-X BT-33."""
    form = " ".join(part for part in (legal_form, capital_text) if part)
    return " · ".join(part for part in (form, registration_text) if part)


def registration(registry: str | None, city: str | None, siren: str | None) -> str:
    """ "RCS Lyon 123 456 789" (Code de commerce R123-237), or "" when not registered."""
    if not (registry and city):
        return ""
    digits = "".join(ch for ch in siren or "" if ch.isdigit())
    number = " ".join(digits[i : i + 3] for i in range(0, len(digits), 3))
    return " ".join(part for part in (registry, city, number) if part)


def capital(amount, variable: bool, legal_form: str | None = "") -> str:
    """ "au capital de 15 000,00 €", "à capital variable", or "" (also when the legal form
    printed beside it already speaks of the capital)."""
    if "capital" in (legal_form or "").casefold():
        return ""
    if variable:
        return "à capital variable"
    if amount in (None, ""):
        return ""
    # French whatever the reader's language: a legal mention, rounded once (coop.money).
    figure = format_currency(quantize(Decimal(str(amount))), "EUR", locale="fr_FR")
    return "au capital de " + figure.replace(NARROW_NBSP, NO_BREAK_SPACE)


def logo_data_url(identity: CoopIdentity) -> str | None:
    """The logo as a `data:` URL: the only kind of image a PDF may embed (coop/pdf.py)."""
    if not identity.logo or identity.logo_type not in (PNG, SVG):
        return None
    return f"data:{identity.logo_type};base64,{base64.b64encode(identity.logo).decode()}"


def logo_type(data: bytes) -> str:
    """The media type of an acceptable logo: a PNG or a self-contained SVG, 200 KB at most."""
    if len(data) > LOGO_MAX_BYTES:
        raise ValueError(
            f"le logo dépasse {LOGO_MAX_BYTES // 1024} Ko : réduisez-le ou exportez-le plus léger"
        )
    # The content decides, never the file name: check the magic bytes.
    if data.startswith(PNG_SIGNATURE):
        return PNG
    text = _svg_text(data)
    if text is None:
        raise ValueError("le logo doit être une image PNG ou SVG")
    _check_svg(text)
    return SVG


# --- the checks --------------------------------------------------------------------------------

_PHONE = re.compile(r"\+?[0-9 .()\-]{6,30}")
_FOREIGN_POSTCODE = re.compile(r"[A-Z0-9][A-Z0-9 \-]{1,9}")
_SVG_SCRIPT = re.compile(
    r"<\s*script|(?<![\w:-])on[a-z]+\s*=\s*[\"']|javascript\s*:", re.IGNORECASE
)
_SVG_HREF = re.compile(r"\b(?:xlink:)?href\s*=\s*([\"'])(.*?)\1", re.IGNORECASE | re.DOTALL)
_SVG_CSS_URL = re.compile(r"url\(\s*([\"']?)([^)\"']*)\1\s*\)", re.IGNORECASE)


def _text(value: str) -> str:
    return " ".join(value.split())


def _address(value: str) -> str:
    lines = [_text(line) for line in value.splitlines() if line.strip()]
    if len(lines) > 3:
        raise ValueError("l'adresse tient en 3 lignes au plus (le code postal et la ville à part)")
    return "\n".join(lines)


def _country(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError("pays inconnu")
    return code


def _phone(value: str) -> str:
    if not _PHONE.fullmatch(value) or sum(ch.isdigit() for ch in value) < 6:
        raise ValueError("numéro de téléphone invalide (chiffres, espaces, + et points)")
    return _text(value)


def _payment_terms(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_PAYMENT_TERMS_DAYS:
        raise ValueError(f"indiquez un nombre entier de jours, de 0 à {MAX_PAYMENT_TERMS_DAYS}")
    return int(value)


def _account(value: str) -> str:
    if not (value.isascii() and value.isdigit()) or not 3 <= len(value) <= 10:
        raise ValueError("un numéro de compte ne contient que des chiffres (de 3 à 10)")
    return value


def _fee_treatment(value: str) -> str:
    if value not in FEE_TREATMENTS:
        raise ValueError("traitement inconnu : marchandises ou prestation de services")
    return value


def _registry(value: str) -> str:
    code = value.strip().upper()
    if code not in REGISTRIES:
        raise ValueError("registre inconnu : RCS ou RM")
    return code


def _share_capital(value: str) -> Decimal:
    text = value.replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace(",", ".")
    text = text.removesuffix("€")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError("indiquez un montant en euros, comme 15 000 ou 15 000,50") from None
    if not amount.is_finite() or amount <= 0 or amount >= MAX_SHARE_CAPITAL:
        raise ValueError("indiquez un montant en euros, comme 15 000 ou 15 000,50")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError("le capital s'écrit au centime près")
    return amount.quantize(Decimal("0.01"))


def reminder_steps(text: str) -> list[int]:
    """`7, 21,45` -> [7, 21, 45]: the days after the due date when reminders go out."""
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isascii() and part.isdigit() for part in parts):
        raise ValueError("indiquez des nombres de jours séparés par des virgules, comme 7, 21, 45")
    steps = [int(part) for part in parts]
    if len(steps) > MAX_REMINDER_STEPS:
        raise ValueError(f"{MAX_REMINDER_STEPS} relances au plus")
    if not all(1 <= step <= MAX_REMINDER_DAYS for step in steps):
        raise ValueError(f"chaque relance part de 1 à {MAX_REMINDER_DAYS} jours après l'échéance")
    if any(later <= earlier for earlier, later in pairwise(steps)):
        raise ValueError("les jours vont en croissant, sans doublon")
    return steps


def _reminder_days(value: str) -> str:
    return ",".join(str(step) for step in reminder_steps(value))


def _vat_number(value: str, clean: dict) -> str:
    vat = identifiers.vat_number(value)
    siren = clean.get("siren")
    # A French VAT number is FR, a 2-digit key, then the SIREN (CGI art. 286 ter).
    if siren and vat.startswith("FR") and vat[4:] != siren:
        raise ValueError(f"ce numéro de TVA ne correspond pas au SIREN {siren}")
    return vat


def _postcode(value: str, clean: dict) -> str:
    if clean.get("country", "FR") == "FR":
        return identifiers.french_postcode(value)
    code = value.strip().upper()
    if not _FOREIGN_POSTCODE.fullmatch(code):
        raise ValueError("code postal invalide")
    return code


# Field -> check(value) or check(value, fields checked so far). Order matters: the
# country before the postcode, the SIREN before the VAT number that contains it.
_CHECKS: dict[str, Callable] = {
    "name": _text,
    "legal_form": _text,
    "siren": identifiers.siren,
    "vat_number": _vat_number,
    "registry": _registry,
    "registry_city": _text,
    "share_capital": _share_capital,
    "address": _address,
    "country": _country,
    "postcode": _postcode,
    "city": _text,
    "email": identifiers.email,
    "phone": _phone,
    "iban": identifiers.iban,
    "bic": identifiers.bic,
    "payment_terms_days": _payment_terms,
    "late_payment_rate": _text,
    "reminder_days": _reminder_days,
    "fee_treatment": _fee_treatment,
    **dict.fromkeys(ACCOUNT_FIELDS, _account),
}
# Left blank, these go back to their usual value rather than to nothing.
_BLANK_DEFAULTS = {
    name: CoopIdentity.__table__.c[name].default.arg
    for name in ("reminder_days", "fee_treatment", *OPTIONAL_ACCOUNTS)
}
_TAKES_CLEAN = frozenset({_vat_number, _postcode})


def _checked(name: str, raw, check: Callable, clean: dict):
    value = "" if raw is None else str(raw).strip()
    if not value:
        if name in REQUIRED_FIELDS:
            raise ValueError("ce champ est obligatoire")
        return _BLANK_DEFAULTS.get(name)
    value = check(value, clean) if check in _TAKES_CLEAN else check(value)
    limit = getattr(CoopIdentity.__table__.c[name].type, "length", None)
    if limit and len(value) > limit:
        raise ValueError(f"{limit} caractères au plus")
    return value


def _sentence(message: str) -> str:
    message = message.rstrip(".")
    return message[:1].upper() + message[1:] + "."


def _svg_text(data: bytes) -> str | None:
    """The SVG's markup when `data` is an SVG document, else None."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    head = text.lstrip()[:4096].lower()
    if not head.startswith("<") or "<svg" not in head:
        return None
    return text


def _check_svg(text: str) -> None:
    """Refuse an SVG that runs code or reaches outside itself (`#id` and `data:` stay in)."""
    if _SVG_SCRIPT.search(text):
        raise ValueError("le logo SVG contient du script : exportez-le en SVG simple, sans script")
    if "<!entity" in text.lower():
        raise ValueError("le logo SVG déclare des entités XML : exportez-le en SVG simple")
    references = [m.group(2).strip() for m in _SVG_HREF.finditer(text)]
    references += [m.group(2).strip() for m in _SVG_CSS_URL.finditer(text)]
    if "@import" in text.lower():
        references.append("@import")
    for reference in references:
        if not (reference.startswith("#") or reference.lower().startswith("data:")):
            raise ValueError(
                f"le logo SVG appelle une ressource externe ({reference[:60]}) : "
                "intégrez-la au fichier ou retirez-la"
            )
    # Entity declarations are refused above and expat never fetches an external DTD,
    # so parsing can neither expand nor read anything.
    try:
        root = ElementTree.fromstring(text)  # noqa: S314
    except ElementTree.ParseError:
        raise ValueError("le fichier SVG est illisible (XML mal formé)") from None
    if root.tag not in ("svg", "{http://www.w3.org/2000/svg}svg"):
        raise ValueError("le logo doit être une image PNG ou SVG")


def _identity_from_config() -> CoopIdentity:
    config = current_app.config
    lines = [line.strip() for line in config["COOP_ADDRESS"].splitlines() if line.strip()]
    postcode = city = ""
    if lines and re.fullmatch(r"\d{5} .+", lines[-1]):
        postcode, city = lines.pop().split(" ", 1)
    defaults = {
        column.name: column.default.arg
        for column in CoopIdentity.__table__.columns
        if column.default is not None and not callable(column.default.arg)
    }
    return CoopIdentity(
        **defaults,
        id=1,
        name=config["COOP_NAME"],
        siren="".join(ch for ch in config["COOP_SIRET"] if ch.isdigit())[:9],
        address="\n".join(lines),
        postcode=postcode,
        city=city,
        email=config["COOP_EMAIL"],
        phone=config["COOP_PHONE"],
    )
