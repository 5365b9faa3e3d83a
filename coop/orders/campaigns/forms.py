"""Forms of campaigns, needs and part requests."""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from coop import bounds
from coop.accounts.forms import Normalised, strip, upper
from coop.forms import CoopForm, ParsedField
from coop.money import parse_decimal
from coop.orders.campaigns.models import DEFAULT_PENALTIES, DeliveryMode
from coop.orders.campaigns.rules import (
    SHORTAGE_RULE_LABELS,
    SPLIT_KEY_LABELS,
    ShortageRule,
    SplitKey,
)
from coop.suppliers.origin import ORIGIN_LABELS, Origin

# A part as a person types it: its SKU, its EAN, or `name (SKU)` as the list offers it.
PART_TEXT = 300


def positive_price(value: str):
    return bounds.unit_price(parse_decimal(value))


def percent_as_fraction(value: str):
    """`2` or `2,5` (percent) -> 0.02 / 0.025."""
    return bounds.percent(parse_decimal(value)) / 100


def as_percent(rate: Decimal) -> str:
    """0.025 -> `2,5`, as the forms show a rate."""
    return f"{(rate * 100).normalize():f}".replace(".", ",")


def label_choices(labels: dict) -> list[SelectChoice]:
    """A select's choices from an enum's table of labels, in the table's order."""
    return [SelectChoice(value.value, _l(label)) for value, label in labels.items()]


class PercentField(ParsedField):
    """A rate typed in percent (`2,5`), held as its fraction (0.025); blank: None."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(
            label, validators or [Optional()], parse=percent_as_fraction, show=as_percent, **kwargs
        )


class PenaltiesForm(CoopForm):
    """Origin penalties in percent (spec/pooling.md): used to choose, never billed.

    Defaults are spec/pooling.md's (DEFAULT_PENALTIES).
    """

    penalty_local = PercentField(
        _l(ORIGIN_LABELS[Origin.LOCAL]), default=DEFAULT_PENALTIES[Origin.LOCAL]
    )
    penalty_france = PercentField(
        _l(ORIGIN_LABELS[Origin.FRANCE]), default=DEFAULT_PENALTIES[Origin.FRANCE]
    )
    penalty_europe = PercentField(
        _l(ORIGIN_LABELS[Origin.EUROPE]), default=DEFAULT_PENALTIES[Origin.EUROPE]
    )
    penalty_asia = PercentField(
        _l(ORIGIN_LABELS[Origin.ASIA]), default=DEFAULT_PENALTIES[Origin.ASIA]
    )
    penalty_other = PercentField(
        _l(ORIGIN_LABELS[Origin.OTHER]), default=DEFAULT_PENALTIES[Origin.OTHER]
    )

    def penalties(self) -> dict[Origin, Decimal]:
        """The rates typed, as fractions; a blank or missing field (None) keeps its default."""
        rates = {origin: getattr(self, f"penalty_{origin.value}").data for origin in Origin}
        return {origin: rate for origin, rate in rates.items() if rate is not None}

    def fill_penalties(self, rates: dict[Origin, Decimal]) -> None:
        for origin, rate in rates.items():
            getattr(self, f"penalty_{origin.value}").data = rate


class CampaignForm(PenaltiesForm):
    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=20)],
        filters=[strip, upper],
        description=_l("Par exemple 2026-12."),
    )
    title = StringField(_l("Titre"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    closes_on = DateField(_l("Clôture le"), validators=[Optional(), Normalised(bounds.day)])
    closes_time = TimeField(_l("à"), default=None, validators=[Optional()])
    order_date = DateField(
        _l("Date de commande aux fournisseurs"),
        validators=[DataRequired(), Normalised(bounds.day)],
    )
    delivery_on = DateField(
        _l("Livraison visée le"), validators=[Optional(), Normalised(bounds.day)]
    )
    delivery_mode = SelectField(
        _l("Livraison"),
        choices=[
            SelectChoice(DeliveryMode.HUB.value, _l("au lieu totem (plateforme)")),
            SelectChoice(DeliveryMode.SHOPS.value, _l("dans chaque atelier")),
        ],
    )
    shortage_rule = SelectField(
        _l("Livraison incomplète d'un fournisseur"),
        default=ShortageRule.PRO_RATA.value,
        choices=label_choices(SHORTAGE_RULE_LABELS),
        description=_l("Les unités demandées passent toujours avant les unités de tolérance."),
    )
    shipping_key = SelectField(
        _l("Frais de port répartis"),
        default=SplitKey.VALUE.value,
        choices=label_choices(SPLIT_KEY_LABELS),
    )
    fee_percent = PercentField(_l("Frais de service de la coop (%)"), default=Decimal(0))

    def fee_rate(self) -> Decimal:
        """The fee typed, as a fraction; blank (or missing from the request) is no fee."""
        rate = self.fee_percent.data
        return rate if isinstance(rate, Decimal) else Decimal(0)


class NeedForm(CoopForm):
    part = StringField(
        _l("Pièce"),
        validators=[DataRequired(), Length(max=PART_TEXT)],
        filters=[strip],
        description=_l("Tapez la désignation, la référence (SKU) ou le code EAN."),
    )
    quantity = IntegerField(
        _l("Quantité"),
        validators=[InputRequired(), NumberRange(min=1), Normalised(bounds.quantity)],
    )
    tolerance = IntegerField(
        _l("Tolérance (unités en plus acceptées)"),
        default=0,
        validators=[Optional(), NumberRange(min=0), Normalised(bounds.quantity)],
        description=_l("Pour compléter un colis : combien d'unités de plus vous prendriez."),
    )
    min_quantity = IntegerField(
        _l("Minimum accepté"),
        validators=[Optional(), NumberRange(min=1), Normalised(bounds.quantity)],
        description=_l("Vide : tout ou rien."),
    )
    needed_by = DateField(_l("Pour le"), validators=[Optional(), Normalised(bounds.day)])
    max_unit_price = StringField(
        _l("Prix unitaire maximum (€ HT)"),
        validators=[Optional(), Normalised(positive_price)],
        filters=[strip],
    )
    ref = StringField(
        _l("Votre référence"),
        validators=[Optional(), Length(max=40)],
        filters=[strip],
        description=_l("Vide : numérotée automatiquement."),
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=1000)])


class PartRequestForm(CoopForm):
    description = StringField(
        _l("Pièce souhaitée (hors catalogue)"),
        validators=[DataRequired(), Length(max=300)],
        filters=[strip],
        description=_l("Marque, modèle, dimensions : de quoi la trouver chez un fournisseur."),
    )
    request_quantity = IntegerField(
        _l("Quantité"),
        validators=[InputRequired(), NumberRange(min=1), Normalised(bounds.quantity)],
    )
    request_note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=1000)])


class ConvertRequestForm(CoopForm):
    part = StringField(
        _l("Pièce du catalogue"),
        validators=[DataRequired(), Length(max=PART_TEXT)],
        filters=[strip],
    )


class NeedsImportForm(CoopForm):
    file = FileField(_l("Fichier CSV"), validators=[FileRequired(_l("Choisissez un fichier."))])
