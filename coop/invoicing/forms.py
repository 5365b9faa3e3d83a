"""The treasurer's credit note form: in full, chosen lines or an amount, and why."""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from coop import bounds
from coop.accounts.forms import Normalised, strip
from coop.forms import CoopForm
from coop.money import parse_decimal


def credit_amount(value: str) -> Decimal:
    """Typed the French way or not; the service rounds it to the cent and checks the sign."""
    return bounds.amount(parse_decimal(value))


class CreditForm(CoopForm):
    """The line quantities come as `qty-<line id>` fields, one per line of the invoice."""

    mode = RadioField(
        _l("Avoir"),
        choices=[
            SelectChoice("full", _l("Total : tout ce qui reste à créditer")),
            SelectChoice("lines", _l("Partiel : les quantités choisies ci-dessous")),
            SelectChoice("amount", _l("Partiel : un montant HT")),
        ],
        default="full",
        validators=[InputRequired()],
    )
    amount = StringField(
        _l("Montant HT"),
        validators=[Optional(), Normalised(credit_amount)],
        filters=[strip],
        description=_l("Au taux de TVA principal de la facture."),
    )
    reason = TextAreaField(
        _l("Motif"),
        validators=[DataRequired(_l("Indiquez le motif de l'avoir.")), Length(max=500)],
    )
    confirm = BooleanField(
        _l("Je confirme : un avoir émis ne se modifie plus et ne se supprime pas."),
        validators=[DataRequired(_l("Cochez la case pour confirmer."))],
    )
