"""Validation of the identifiers users type: SIRET, SIREN, VAT numbers, IBAN, BIC, e-mails.

Each function returns the normalised value or raises ValueError with a message
in French that can be shown next to the field.
"""

from email_validator import EmailNotValidError, validate_email
from stdnum import bic as stdnum_bic
from stdnum import ean as stdnum_ean
from stdnum import iban as stdnum_iban
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError
from stdnum.fr import siren as fr_siren
from stdnum.fr import siret as fr_siret


def siret(value: str) -> str:
    """A French SIRET: 14 digits whose Luhn check holds."""
    compact = fr_siret.compact(value)
    if not compact.isdigit():
        raise ValueError("le SIRET ne doit contenir que des chiffres (14)")
    if len(compact) != 14:
        raise ValueError(f"le SIRET compte 14 chiffres, pas {len(compact)}")
    try:
        return fr_siret.validate(compact)
    except (InvalidChecksum, ValidationError):
        raise ValueError("ce SIRET n'existe pas (clé de contrôle fausse)") from None


def siren_of(siret_number: str) -> str:
    """The SIREN (company number) inside a SIRET."""
    return fr_siret.to_siren(siret_number)


def vat_number(value: str) -> str:
    """An intra-EU VAT number, country prefix included (FR12345678901)."""
    compact = eu_vat.compact(value)
    try:
        return eu_vat.validate(compact)
    except InvalidLength:
        raise ValueError("numéro de TVA de longueur incorrecte") from None
    except InvalidChecksum:
        raise ValueError("numéro de TVA invalide (clé de contrôle fausse)") from None
    except (InvalidFormat, ValidationError):
        raise ValueError(
            "numéro de TVA intracommunautaire invalide (attendu : FR suivi de 11 chiffres)"
        ) from None


def email(value: str) -> str:
    """A syntactically valid e-mail address, lower-cased domain."""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValueError(f"adresse e-mail invalide : {value.strip()!r}") from None


def french_postcode(value: str) -> str:
    """Five digits (69001, 01700...)."""
    cleaned = value.strip().replace(" ", "")
    if len(cleaned) != 5 or not cleaned.isdigit():
        raise ValueError("code postal invalide (5 chiffres)")
    return cleaned


def ean13(value: str) -> str:
    """A 13-digit EAN (GTIN-13) whose check digit holds."""
    compact = stdnum_ean.compact(value)
    if not compact.isdigit() or len(compact) != 13:
        raise ValueError("un code EAN-13 compte 13 chiffres")
    try:
        return stdnum_ean.validate(compact)
    except (InvalidChecksum, ValidationError):
        raise ValueError("code EAN-13 invalide (clé de contrôle fausse)") from None


def siren(value: str) -> str:
    """A French SIREN: 9 digits whose Luhn check holds."""
    compact = fr_siren.compact(value)
    if not compact.isdigit():
        raise ValueError("le SIREN ne doit contenir que des chiffres (9)")
    if len(compact) != 9:
        raise ValueError(f"le SIREN compte 9 chiffres, pas {len(compact)}")
    try:
        return fr_siren.validate(compact)
    except (InvalidChecksum, ValidationError):
        raise ValueError("ce SIREN n'existe pas (clé de contrôle fausse)") from None


def iban(value: str) -> str:
    """An IBAN, compact (FR7630006000011234567890189), whose check digits hold."""
    compact = stdnum_iban.compact(value)
    if not (compact.isalnum() and compact[:2].isalpha() and compact[2:4].isdigit()):
        raise ValueError("IBAN invalide (attendu : FR76 suivi de 23 caractères, espaces permis)")
    try:
        return stdnum_iban.validate(compact)
    except InvalidChecksum:
        raise ValueError("IBAN invalide (clé de contrôle fausse)") from None
    except ValidationError:
        raise ValueError(
            "IBAN invalide (attendu : FR76 suivi de 23 caractères, espaces permis)"
        ) from None


def bic(value: str) -> str:
    """A BIC (SWIFT code) of 8 or 11 characters."""
    try:
        return stdnum_bic.validate(value)
    except ValidationError:
        raise ValueError("BIC invalide (8 ou 11 caractères, par exemple AGRIFRPP)") from None
