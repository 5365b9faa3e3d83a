"""Forms of the accounts domain; field errors are in French, next to the field."""

from collections.abc import Callable

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from coop import identifiers
from coop.accounts.auth import MIN_PASSWORD_LENGTH
from coop.accounts.models import Role


class Normalised:
    """Validate a field with a `coop.identifiers` check and keep its normalised value."""

    def __init__(self, check: Callable[[str], str]):
        self.check = check

    def __call__(self, form, field):
        if not field.data:
            return
        try:
            field.data = self.check(field.data)
        except ValueError as exc:
            message = str(exc)
            raise ValidationError(message[:1].upper() + message[1:] + ".") from None


def strip(value):
    return value.strip() if isinstance(value, str) else value


def upper(value):
    return value.upper() if isinstance(value, str) else value


class ConfirmForm(FlaskForm):
    """An empty form: the CSRF token of a POST button."""


class LoginForm(FlaskForm):
    email = EmailField(_l("Adresse e-mail"), validators=[DataRequired()], filters=[strip])
    password = PasswordField(_l("Mot de passe"), validators=[DataRequired()])


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Mot de passe actuel"), validators=[DataRequired()])
    password = PasswordField(
        _l("Nouveau mot de passe"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)],
    )


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("Nouveau mot de passe"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)],
    )


class ShopContactForm(FlaskForm):
    """What a shop may change itself: contact and delivery details."""

    email = StringField(
        _l("E-mail de facturation"),
        validators=[Optional(), Normalised(identifiers.email)],
        filters=[strip],
    )
    phone = StringField(_l("Téléphone"), validators=[Optional(), Length(max=30)], filters=[strip])
    delivery_address = StringField(
        _l("Adresse de livraison"), validators=[Optional(), Length(max=300)], filters=[strip]
    )
    delivery_postcode = StringField(
        _l("Code postal de livraison"),
        validators=[Optional(), Normalised(identifiers.french_postcode)],
        filters=[strip],
    )
    delivery_city = StringField(
        _l("Ville de livraison"), validators=[Optional(), Length(max=100)], filters=[strip]
    )


class MemberForm(ShopContactForm):
    """Everything the manager keeps about a member shop."""

    code = StringField(
        _l("Code adhérent"),
        validators=[DataRequired(), Length(max=20)],
        filters=[strip, upper],
        description=_l("Court et unique, par exemple VELO01."),
    )
    name = StringField(
        _l("Raison sociale"), validators=[DataRequired(), Length(max=200)], filters=[strip]
    )
    siret = StringField(
        _l("SIRET"),
        validators=[Optional(), Normalised(identifiers.siret)],
        filters=[strip],
        description=_l("14 chiffres."),
    )
    vat_number = StringField(
        _l("N° de TVA intracommunautaire"),
        validators=[Optional(), Normalised(identifiers.vat_number)],
        filters=[strip],
    )
    address = StringField(
        _l("Adresse de facturation"), validators=[Optional(), Length(max=300)], filters=[strip]
    )
    postcode = StringField(
        _l("Code postal"),
        validators=[Optional(), Normalised(identifiers.french_postcode)],
        filters=[strip],
    )
    city = StringField(_l("Ville"), validators=[Optional(), Length(max=100)], filters=[strip])

    def validate_code(self, field):
        if not all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in field.data or ""):
            raise ValidationError(_l("Lettres, chiffres, - et _ seulement."))


ROLE_LABELS = {
    Role.MEMBER: _l("Adhérent (atelier)"),
    Role.MANAGER: _l("Gérant·e de la coopérative"),
    Role.TREASURER: _l("Trésorier·e"),
    Role.ADMIN: _l("Administrateur·rice"),
}


class UserForm(FlaskForm):
    name = StringField(_l("Nom"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    role = SelectField(
        _l("Rôle"), choices=[SelectChoice(r.value, label) for r, label in ROLE_LABELS.items()]
    )
    member_code = StringField(
        _l("Code de l'atelier"),
        validators=[Optional(), Length(max=20)],
        filters=[strip, upper],
        description=_l("Seulement pour un compte adhérent."),
    )
    is_active = BooleanField(_l("Compte actif"), default=True)


class NewUserForm(UserForm):
    email = EmailField(
        _l("Adresse e-mail"),
        validators=[DataRequired(), Normalised(identifiers.email)],
        filters=[strip],
    )
    password = PasswordField(
        _l("Mot de passe initial"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)],
    )
