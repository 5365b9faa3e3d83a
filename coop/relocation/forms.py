"""Forms of the calls to manufacturers and of the framework agreements."""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from coop import bounds, identifiers
from coop.accounts.forms import Normalised, strip
from coop.forms import CoopForm, ParsedField
from coop.money import parse_decimal
from coop.orders.campaigns.forms import PART_TEXT, positive_price
from coop.relocation.answering import AnswerTerms
from coop.relocation.calls import MAX_MESSAGE, MAX_RHYTHM, MAX_SPECIFICATION
from coop.suppliers.catalogue import CATEGORIES
from coop.suppliers.forms import TierForm
from coop.suppliers.pricing import typed_price

TIER_ROWS = 5


def fee_per_unit(value: str) -> Decimal:
    """A shortfall fee: 0 (none) up to the largest unit price."""
    fee = parse_decimal(value)
    if fee < 0:
        raise ValueError("la pénalité ne peut pas être négative")
    if fee > bounds.MAX_UNIT_PRICE:
        raise ValueError(f"au plus {bounds.shown(bounds.MAX_UNIT_PRICE)} €")
    return fee


class UnitPriceField(ParsedField):
    """A unit price typed the French way (`16,80`), held as a Decimal; blank: None."""

    def __init__(self, label=None, validators=None, *, parse=positive_price, **kwargs):
        super().__init__(label, validators, parse=parse, show=typed_price, **kwargs)


# --- framework agreements -------------------------------------------------------------------


class AgreementForm(CoopForm):
    supplier_id = SelectField(_l("Fournisseur"), coerce=int, validators=[InputRequired()])
    part = StringField(
        _l("Pièce"),
        validators=[DataRequired(), Length(max=PART_TEXT)],
        filters=[strip],
        description=_l(
            "L'offre de ce fournisseur sur cette pièce : ses paliers sont le prix convenu."
        ),
    )
    committed_qty = IntegerField(
        _l("Volume engagé sur la période (unités)"),
        validators=[InputRequired(), NumberRange(min=1), Normalised(bounds.volume)],
    )
    shortfall_fee = UnitPriceField(
        _l("Pénalité par unité non achetée (€ HT)"),
        [InputRequired()],
        parse=fee_per_unit,
        description=_l("La clause take-or-pay : due au fournisseur pour chaque unité manquante."),
    )
    valid_from = DateField(_l("Du"), validators=[DataRequired(), Normalised(bounds.day)])
    valid_to = DateField(_l("Au"), validators=[DataRequired(), Normalised(bounds.day)])
    campaigns_planned = IntegerField(
        _l("Campagnes prévues sur la période"),
        validators=[InputRequired(), NumberRange(min=1), Normalised(bounds.campaigns)],
        description=_l(
            "La cible de chaque campagne : le volume restant sur les campagnes restantes."
        ),
    )
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=4000)])

    def __init__(self, *args, suppliers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.supplier_id.choices = [SelectChoice(s.id, f"{s.name} ({s.code})") for s in suppliers]


# --- calls, the manager's side ----------------------------------------------------------------


def category_choices(blank_label) -> list[SelectChoice]:
    return [SelectChoice("", blank_label)] + [SelectChoice(k, v) for k, v in CATEGORIES.items()]


class CallForm(CoopForm):
    title = StringField(
        _l("Titre"),
        validators=[DataRequired(), Length(max=200)],
        filters=[strip],
        description=_l("Par exemple « Chaînes 11 vitesses fabriquées à Saint-Étienne »."),
    )
    part = StringField(
        _l("Pièce"),
        validators=[Optional(), Length(max=PART_TEXT)],
        filters=[strip],
        description=_l("Une pièce du catalogue, ou bien une famille ci-dessous."),
    )
    category = SelectField(_l("Ou une famille de pièces"), validators=[Optional()])
    specification = TextAreaField(
        _l("Cahier des charges"),
        validators=[DataRequired(), Length(max=MAX_SPECIFICATION)],
        description=_l("Matière, dimensions, normes, finitions, conditionnement, livraison…"),
    )
    annual_volume = IntegerField(
        _l("Volume annuel prévu (unités)"),
        validators=[InputRequired(), NumberRange(min=1), Normalised(bounds.volume)],
        description=_l("Prérempli avec la demande mutualisée des 12 derniers mois."),
    )
    target_price = UnitPriceField(
        _l("Prix cible (€ HT, rendu plateforme)"),
        [Optional()],
        description=_l(
            "Prérempli avec le prix asiatique le moins cher au palier du volume annuel."
        ),
    )
    delivery_rhythm = TextAreaField(
        _l("Rythme de livraison"), validators=[Optional(), Length(max=MAX_RHYTHM)]
    )
    duration_months = IntegerField(
        _l("Durée de l'engagement (mois)"),
        validators=[InputRequired(), NumberRange(min=1), Normalised(bounds.months)],
    )
    deadline_on = DateField(
        _l("Réponses attendues au plus tard le"),
        validators=[DataRequired(), Normalised(bounds.day)],
        description=_l("Les liens des fabricants restent ouverts jusqu'à la fin de ce jour."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = category_choices(_l("Aucune (une seule pièce)"))


class CallEditForm(CoopForm):
    """A published call: only its title and a later deadline change."""

    title = CallForm.title
    deadline_on = CallForm.deadline_on


class MakerForm(CoopForm):
    name = StringField(
        _l("Nom du fabricant"), validators=[DataRequired(), Length(max=200)], filters=[strip]
    )
    email = StringField(
        _l("E-mail"),
        validators=[DataRequired(), Length(max=254), Normalised(identifiers.email)],
        filters=[strip],
    )
    siret = StringField(
        _l("SIRET"),
        validators=[DataRequired(), Length(max=40), Normalised(identifiers.siret)],
        filters=[strip],
    )


class FileForm(CoopForm):
    file = FileField(
        _l("Plan ou document (PDF, PNG, JPEG, DXF, STEP)"),
        validators=[FileRequired(_l("Choisissez un fichier."))],
    )


class AcceptForm(CoopForm):
    part_id = SelectField(_l("Pièce"), coerce=int, validators=[InputRequired()])
    supplier_code = StringField(
        _l("Code du nouveau fournisseur"),
        validators=[Optional(), Length(max=20)],
        filters=[strip],
    )
    is_local = BooleanField(_l("Fournisseur local (métropole de Lyon ou région)"))
    shortfall_fee = UnitPriceField(
        _l("Pénalité par unité non achetée (€ HT)"), [InputRequired()], parse=fee_per_unit
    )
    valid_from = DateField(
        _l("Début de l'accord-cadre"), validators=[DataRequired(), Normalised(bounds.day)]
    )

    def __init__(self, *args, parts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.part_id.choices = [SelectChoice(p.id, f"{p.sku} · {p.name}") for p in parts]


# --- the maker's page -----------------------------------------------------------------------


class AnswerForm(CoopForm):
    tiers = FieldList(FormField(TierForm), min_entries=TIER_ROWS, max_entries=20)
    pack_size = IntegerField(
        _l("Conditionnement (unités par colis)"),
        default=1,
        validators=[Optional(), NumberRange(min=1), Normalised(bounds.quantity)],
    )
    moq = IntegerField(
        _l("Minimum de commande (unités)"),
        default=0,
        validators=[Optional(), NumberRange(min=0), Normalised(bounds.quantity)],
    )
    lead_time_days = IntegerField(
        _l("Délai de livraison (jours)"),
        validators=[InputRequired(), NumberRange(min=0), Normalised(bounds.lead_time_days)],
    )
    yearly_capacity = IntegerField(
        _l("Capacité de production annuelle (unités)"),
        validators=[InputRequired(), NumberRange(min=1), Normalised(bounds.volume)],
    )
    samples_on = DateField(
        _l("Échantillons disponibles le"), validators=[Optional(), Normalised(bounds.day)]
    )
    comment = TextAreaField(_l("Commentaire"), validators=[Optional(), Length(max=MAX_MESSAGE)])

    def terms(self) -> AnswerTerms:
        return AnswerTerms(
            tiers=[
                (row.min_qty.data, parse_decimal(row.unit_price.data))
                for row in (entry.form for entry in self.tiers)
                if row.min_qty.data and row.unit_price.data
            ],
            pack_size=self.pack_size.data,
            moq=self.moq.data,
            lead_time_days=self.lead_time_days.data,
            yearly_capacity=self.yearly_capacity.data,
            samples_on=self.samples_on.data,
            comment=self.comment.data,
        )


def answer_data(answer) -> dict:
    """The maker's form, filled from its latest answer (or empty)."""
    if answer is None:
        return {"tiers": [{}] * TIER_ROWS}
    tiers = [{"min_qty": q, "unit_price": typed_price(p)} for q, p in answer.tier_values]
    tiers += [{}] * max(TIER_ROWS - len(tiers), 1)
    return {
        "tiers": tiers,
        "pack_size": answer.pack_size,
        "moq": answer.moq,
        "lead_time_days": answer.lead_time_days,
        "yearly_capacity": answer.yearly_capacity,
        "samples_on": answer.samples_on,
        "comment": answer.comment,
    }
