"""Forms of the accounts domain; field errors are in French, next to the field."""

from collections.abc import Callable

import pycountry
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from coop import identifiers
from coop.accounts.auth import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from coop.accounts.models import Role
from coop.activity.actions import label_values
from coop.forms import CoopForm, sentence
from coop.i18n import collation_key


class Normalised:
    """Validate a field with a check (`coop.identifiers`, `coop.bounds`…) and keep its value.

    The normalised value is what a page sent back with an error shows, and what is read again:
    only for checks whose result reads the same (an e-mail, a SIRET, an amount). A value that
    means something else than what was typed (a percent held as a fraction) is a `ParsedField`.
    """

    def __init__(self, check: Callable):
        self.check = check

    def __call__(self, form, field):
        if not field.data or field.errors:  # one message per field: the first problem
            return
        try:
            field.data = self.check(field.data)
        except ValueError as exc:
            raise ValidationError(sentence(exc)) from None


def country_choices(blank_label=None) -> list[SelectChoice]:
    names = get_locale().territories
    choices = sorted(
        (SelectChoice(c.alpha_2, names.get(c.alpha_2, c.name)) for c in pycountry.countries),
        key=lambda choice: collation_key(choice.label),
    )
    if blank_label is not None:
        choices.insert(0, SelectChoice("", blank_label))
    return choices


def strip(value):
    return value.strip() if isinstance(value, str) else value


def upper(value):
    return value.upper() if isinstance(value, str) else value


class ConfirmForm(CoopForm):
    """An empty form: the CSRF token of a POST button."""


class LoginForm(CoopForm):
    # An address is 254 characters at most (RFC 5321), as its column.
    email = EmailField(
        _l("Adresse e-mail"), validators=[DataRequired(), Length(max=254)], filters=[strip]
    )
    password = PasswordField(_l("Mot de passe"), validators=[DataRequired()])


class PasswordChangeForm(CoopForm):
    current_password = PasswordField(_l("Mot de passe actuel"), validators=[DataRequired()])
    password = PasswordField(
        _l("Nouveau mot de passe"),
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD_LENGTH),
            Length(max=MAX_PASSWORD_LENGTH),
        ],
    )


class SetPasswordForm(CoopForm):
    password = PasswordField(
        _l("Nouveau mot de passe"),
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD_LENGTH),
            Length(max=MAX_PASSWORD_LENGTH),
        ],
    )


def _new_password(label):
    return PasswordField(
        label,
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD_LENGTH),
            Length(max=MAX_PASSWORD_LENGTH),
        ],
    )


def _password_again():
    return PasswordField(
        _l("Confirmez le mot de passe"),
        validators=[
            DataRequired(),
            EqualTo("password", message=_l("Les deux mots de passe ne sont pas identiques.")),
        ],
    )


class InviteForm(CoopForm):
    email = EmailField(
        _l("Adresse e-mail de la personne invitée"),
        validators=[DataRequired(), Normalised(identifiers.email)],
        filters=[strip],
    )


class StaffInviteForm(InviteForm):
    role = SelectField(_l("Rôle"), validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        staff = [(role, label) for role, label in ROLE_LABELS.items() if role is not Role.MEMBER]
        self.role.choices = [SelectChoice(role.value, label) for role, label in staff]


class AcceptInvitationForm(CoopForm):
    name = StringField(
        _l("Votre nom"), validators=[DataRequired(), Length(max=200)], filters=[strip]
    )
    password = _new_password(_l("Mot de passe"))
    password_again = _password_again()


class ForgotPasswordForm(CoopForm):
    email = EmailField(
        _l("Adresse e-mail"), validators=[DataRequired(), Length(max=254)], filters=[strip]
    )


class ResetPasswordForm(CoopForm):
    password = _new_password(_l("Nouveau mot de passe"))
    password_again = _password_again()


class ShopContactForm(CoopForm):
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
label_values("user", "roles", ROLE_LABELS)
label_values("invitation", "role", ROLE_LABELS)


class UserForm(CoopForm):
    name = StringField(_l("Nom"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    # The service checks the roles (an unknown one, none, member with another) in French.
    roles = SelectMultipleField(
        _l("Rôles"),
        choices=[SelectChoice(r.value, label) for r, label in ROLE_LABELS.items()],
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        description=_l(
            "Une personne qui tient deux fonctions a deux rôles ; "
            "un compte adhérent n'a que ce rôle."
        ),
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
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD_LENGTH),
            Length(max=MAX_PASSWORD_LENGTH),
        ],
    )


class Mandatory:
    """Marks a field required (the asterisk) while the service does the checking, in French."""

    field_flags = {"required": True}

    def __call__(self, form, field):
        pass


def _text(label, description=None, required=False):
    return StringField(
        label,
        validators=[Mandatory()] if required else [],
        filters=[strip],
        description=description,
    )


class IdentityForm(CoopForm):
    """The coop's identity; `coop.accounts.identity.save_identity` validates every field."""

    name = _text(_l("Raison sociale"), required=True)
    legal_form = _text(_l("Forme juridique"), _l("Par exemple : SCIC SAS à capital variable."))
    siren = _text(_l("SIREN"), _l("9 chiffres."), required=True)
    vat_number = _text(
        _l("N° de TVA intracommunautaire"), _l("FR, une clé de 2 chiffres, puis le SIREN.")
    )
    # The service checks the register: an unknown one gets a French message.
    registry = SelectField(
        _l("Registre"),
        choices=[
            SelectChoice("", _l("Aucun")),
            SelectChoice("RCS", "RCS"),
            SelectChoice("RM", "RM"),
        ],
        default="",
        validate_choice=False,
        description=_l("RCS, ou RM pour une entreprise artisanale (Code de commerce R123-237)."),
    )
    registry_city = _text(_l("Ville du greffe"), _l("Par exemple : Lyon."))
    share_capital = _text(_l("Capital social (€)"), _l("Facultatif. Par exemple : 15 000."))
    variable_capital = BooleanField(_l("Société à capital variable"))
    vat_on_debits = BooleanField(
        _l("Option pour le paiement de la TVA d'après les débits"),
        description=_l("Imprime « TVA acquittée sur les débits » sur les factures."),
    )
    address = TextAreaField(
        _l("Adresse"),
        validators=[Mandatory()],
        filters=[strip],
        description=_l("Rue, bâtiment : 3 lignes au plus."),
        render_kw={"rows": 2},
    )
    postcode = _text(_l("Code postal"), required=True)
    city = _text(_l("Ville"), required=True)
    # The service checks the code: an unknown one gets a French message, not WTForms'.
    country = SelectField(_l("Pays"), default="FR", validate_choice=False)
    email = _text(
        _l("E-mail de contact"),
        _l("Imprimé sur les documents."),
        required=True,
    )
    phone = _text(_l("Téléphone"))
    iban = _text(_l("IBAN"), _l("Imprimé sur les factures pour les virements."))
    bic = _text(_l("BIC"), _l("8 ou 11 caractères."))
    payment_terms_days = _text(
        _l("Délai de paiement (jours)"),
        _l("À compter de la date de facture ; 0 pour un paiement à réception."),
        required=True,
    )
    late_payment_rate = _text(
        _l("Taux des pénalités de retard"),
        _l("Au moins trois fois le taux d'intérêt légal (Code de commerce, art. L441-10)."),
        required=True,
    )
    reminder_days = _text(
        _l("Relances (jours après l'échéance)"),
        _l("Par exemple 7, 21, 45 : 6 relances au plus, 365 jours au plus. Vide : 7, 21, 45."),
    )
    account_customers = _text(_l("Clients"), _l("Usuel : 411."), required=True)
    account_goods = _text(_l("Ventes de marchandises"), _l("Usuel : 707."), required=True)
    account_shipping = _text(_l("Port refacturé"), _l("Usuel : 7085."), required=True)
    account_fee = _text(_l("Frais de service"), _l("Usuel : 706."), required=True)
    account_vat = _text(_l("TVA collectée"), _l("Usuel : 44571."), required=True)
    account_bank = _text(_l("Banque"), _l("Usuel : 512."), required=True)
    account_bank_fees = _text(_l("Frais bancaires (Stripe)"), _l("Usuel : 627."), required=True)
    account_rebates = _text(_l("Rabais et gestes commerciaux"), _l("Usuel : 709 ; vide : 709."))
    fee_treatment = SelectField(
        _l("Frais de service de la coopérative"),
        choices=[
            SelectChoice("goods", _l("Inclus dans le prix des marchandises (707)")),
            SelectChoice("service", _l("Prestation de services (706)")),
        ],
        default="goods",
        validate_choice=False,
        description=_l(
            "La coopérative achète en son nom et revend : ses frais font partie du prix des "
            "marchandises (CGI art. 256 V). En prestation de services, sans l'option sur les "
            "débits, leur TVA est due à l'encaissement."
        ),
    )
    account_vat_pending = _text(
        _l("TVA sur encaissements en attente"), _l("Usuel : 44574 ; vide : 44574.")
    )
    account_suppliers = _text(_l("Fournisseurs"), _l("Usuel : 401 ; vide : 401."))
    account_purchases = _text(_l("Achats de marchandises"), _l("Usuel : 607 ; vide : 607."))
    account_purchase_shipping = _text(
        _l("Port facturé par les fournisseurs"), _l("Usuel : 6087 ; vide : 6087.")
    )
    account_vat_deductible = _text(
        _l("TVA déductible sur achats"), _l("Usuel : 44566 ; vide : 44566.")
    )
    account_vat_self_assessed = _text(
        _l("TVA autoliquidée (acquisitions, importations)"), _l("Usuel : 4452 ; vide : 4452.")
    )
    account_vat_import = _text(
        _l("TVA déductible à l'importation"), _l("Usuel : 445662 ; vide : 445662.")
    )
    logo = FileField(_l("Nouveau logo"), description=_l("PNG ou SVG, 200 Ko au plus."))
    remove_logo = BooleanField(_l("Retirer le logo actuel"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = country_choices()
        # Built from the saved identity, the field would hold the stored logo's bytes:
        # only a file sent with this request is a new logo.
        if not isinstance(self.logo.data, FileStorage):
            self.logo.data = None
