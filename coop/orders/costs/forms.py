"""Forms of the cost split: extra charges and the campaign's shipping key."""

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from coop import bounds
from coop.accounts.forms import Normalised, strip
from coop.forms import CoopForm
from coop.money import parse_decimal
from coop.orders.campaigns.forms import label_choices
from coop.orders.campaigns.rules import SPLIT_KEY_LABELS, SplitKey


def charge_amount(value: str):
    """An amount of either sign: a cost, or a discount obtained afterwards."""
    return bounds.amount(parse_decimal(value))


def key_choices() -> list:
    return label_choices(SPLIT_KEY_LABELS)


class ChargeForm(CoopForm):
    """A cost added after the fact: customs, a courier from the hub, a pallet fee."""

    label = StringField(
        _l("Libellé"),
        validators=[DataRequired(_l("Donnez un libellé au frais.")), Length(max=200)],
        filters=[strip],
        description=_l("Tel que les ateliers le liront : « Douane », « Coursier »…"),
    )
    amount = StringField(
        _l("Montant HT (€)"),
        validators=[DataRequired(_l("Indiquez le montant.")), Normalised(charge_amount)],
        filters=[strip],
        description=_l("Négatif pour une remise obtenue après coup."),
    )
    key = SelectField(_l("Réparti"), choices=key_choices(), default=SplitKey.VALUE.value)
    supplier = SelectField(
        _l("Concerne"),
        choices=[],
        validate_choice=False,
        description=_l("Seuls les besoins servis par ce fournisseur partagent le frais."),
    )


class ShippingKeyForm(CoopForm):
    key = SelectField(_l("Frais de port répartis"), choices=key_choices())
