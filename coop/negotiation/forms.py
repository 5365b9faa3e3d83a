"""Forms of the negotiation: the manager's RFQ and thread, the supplier's answer."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)
from wtforms.widgets import HiddenInput

from coop import bounds
from coop.accounts.forms import Normalised, country_choices, strip
from coop.forms import CoopForm
from coop.money import parse_decimal
from coop.negotiation.negotiating import Proposal
from coop.negotiation.quoting import AnswerInput, shown_answer
from coop.suppliers.forms import TierForm, check_unit_price
from coop.suppliers.pricing import typed_price

TIER_ROWS = 4
# More lines than an RFQ can have: a forged form cannot make the server build thousands.
MAX_LINES = 500


class RfqEditForm(CoopForm):
    title = StringField(
        _l("Titre"),
        validators=[DataRequired(), Length(max=200)],
        filters=[strip],
        description=_l("Par exemple « Pneus et chambres à air, campagne de décembre »."),
    )
    deadline_on = DateField(
        _l("Réponses attendues au plus tard le"),
        validators=[DataRequired(), Normalised(bounds.day)],
        description=_l("Les liens des fournisseurs restent ouverts jusqu'à la fin de ce jour."),
    )
    message = TextAreaField(
        _l("Message aux fournisseurs"),
        validators=[Optional(), Length(max=4000)],
        description=_l("Repris dans l'e-mail et en tête de la page de réponse."),
    )


class RfqForm(RfqEditForm):
    extra_lines = TextAreaField(
        _l("Pièces et quantités"),
        validators=[Optional(), Length(max=20000)],
        description=_l(
            "Une pièce par ligne : sa référence (SKU), un point-virgule, la "
            "quantité. Par exemple : TYR-700X28-TR ; 120"
        ),
    )


class MessageForm(CoopForm):
    body = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=4000)])


def positive_price(field) -> None:
    if field.data:
        check_unit_price(field.data)


class ProposalRowForm(Form):
    quote_id = IntegerField(
        widget=HiddenInput(), validators=[InputRequired(), Normalised(bounds.record_id)]
    )
    pick = BooleanField(_l("Renégocier"))
    quantity = IntegerField(
        _l("Quantité que nous pouvons engager"),
        validators=[Optional(), NumberRange(min=1), Normalised(bounds.quantity)],
    )
    unit_price = StringField(_l("Prix unitaire visé (€ HT)"), filters=[strip])

    def validate_unit_price(self, field):
        positive_price(field)


class CounterProposalForm(CoopForm):
    lines = FieldList(FormField(ProposalRowForm), max_entries=MAX_LINES)
    body = TextAreaField(
        _l("Message"),
        validators=[Optional(), Length(max=4000)],
        description=_l(
            "Par exemple : « Nous pouvons nous engager sur 200 unités si vous atteignez 11,50 €. »"
        ),
    )
    answer_by_on = DateField(
        _l("Réponse attendue au plus tard le"),
        validators=[DataRequired(), Normalised(bounds.day)],
    )

    def proposals(self) -> list[Proposal]:
        return [
            Proposal(
                quote_id=row.quote_id.data,
                quantity=row.quantity.data,
                unit_price=parse_decimal(row.unit_price.data) if row.unit_price.data else None,
            )
            for row in (entry.form for entry in self.lines)
            if row.pick.data
        ]


# --- the supplier's page ------------------------------------------------------------------


class AnswerForm(Form):
    """One line of the supplier's answer; `quote_id` is checked against its link by the service."""

    quote_id = IntegerField(
        widget=HiddenInput(), validators=[InputRequired(), Normalised(bounds.record_id)]
    )
    declined = BooleanField(_l("Je ne chiffre pas cette ligne"))
    supplier_ref = StringField(
        _l("Votre référence"), validators=[Optional(), Length(max=60)], filters=[strip]
    )
    made_in = SelectField(_l("Fabriqué en"), validators=[Optional()])
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
        validators=[Optional(), NumberRange(min=0), Normalised(bounds.lead_time_days)],
    )
    valid_until = DateField(
        _l("Offre valable jusqu'au"), validators=[Optional(), Normalised(bounds.day)]
    )
    alternative = StringField(
        _l("Pièce équivalente proposée à la place"),
        validators=[Optional(), Length(max=200)],
        filters=[strip],
        description=_l(
            "Si vous chiffrez une autre pièce, équivalente (fabriquée près de Lyon ?), "
            "décrivez-la ici : vos prix portent alors sur elle."
        ),
    )
    comment = TextAreaField(_l("Commentaire"), validators=[Optional(), Length(max=4000)])
    tiers = FieldList(FormField(TierForm), min_entries=TIER_ROWS, max_entries=20)

    def as_input(self) -> AnswerInput:
        return AnswerInput(
            quote_id=self.quote_id.data,
            declined=self.declined.data,
            supplier_ref=self.supplier_ref.data,
            made_in=self.made_in.data or None,
            pack_size=self.pack_size.data,
            moq=self.moq.data,
            lead_time_days=self.lead_time_days.data,
            valid_until=self.valid_until.data,
            alternative=self.alternative.data,
            comment=self.comment.data,
            tiers=[
                (row.min_qty.data, parse_decimal(row.unit_price.data))
                for row in (entry.form for entry in self.tiers)
                if row.min_qty.data and row.unit_price.data
            ],
        )


class QuoteForm(CoopForm):
    lines = FieldList(FormField(AnswerForm), max_entries=MAX_LINES)
    note = TextAreaField(
        _l("Message à la coopérative (facultatif)"), validators=[Optional(), Length(max=4000)]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        countries = country_choices(blank_label=_l("Pays du fournisseur"))
        for entry in self.lines:
            entry.form.made_in.choices = countries
        # Problems the service found, by quote id (shown under the line's prices).
        self.problems: dict[int, list[str]] = {}

    def inputs(self) -> list[AnswerInput]:
        return [entry.form.as_input() for entry in self.lines]

    def entry_for(self, quote_id: int):
        return next((e.form for e in self.lines if e.form.quote_id.data == quote_id), None)


def answer_data(quote) -> dict:
    """A line of the supplier's form, filled from its draft or its last answer."""
    answer = shown_answer(quote)
    if answer is None:
        return {"quote_id": quote.id, "tiers": [{}] * TIER_ROWS}
    tiers = [{"min_qty": q, "unit_price": typed_price(p)} for q, p in answer.tier_values]
    tiers += [{}] * max(TIER_ROWS - len(tiers), 1)
    return {
        "quote_id": quote.id,
        "declined": answer.is_declined,
        "supplier_ref": answer.supplier_ref,
        "made_in": answer.made_in or "",
        "pack_size": answer.pack_size,
        "moq": answer.moq,
        "lead_time_days": answer.lead_time_days,
        "valid_until": answer.valid_until,
        "alternative": answer.alternative,
        "comment": answer.comment,
        "tiers": tiers,
    }


class UploadForm(CoopForm):
    file = FileField(_l("Fichier CSV"), validators=[FileRequired(_l("Choisissez un fichier."))])


class SupplierMessageForm(CoopForm):
    body = TextAreaField(
        _l("Votre message à la coopérative"), validators=[DataRequired(), Length(max=4000)]
    )
