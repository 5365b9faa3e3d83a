"""Forms of receipts and hand-overs."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    DateTimeLocalField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from coop import bounds
from coop.accounts.forms import Normalised, strip
from coop.forms import CoopForm


class HandoverForm(CoopForm):
    """Who took a shop's goods at the hub (or received them at the shop), and when."""

    taken_by = StringField(
        _l("Nom de la personne"),
        filters=[strip],
        validators=[DataRequired(_l("Indiquez le nom de la personne.")), Length(max=120)],
        render_kw={"autocomplete": "off"},
    )
    handed_at = DateTimeLocalField(
        _l("Date et heure"),
        format="%Y-%m-%dT%H:%M",
        validators=[
            InputRequired(_l("Indiquez la date et l'heure de la remise.")),
            Normalised(bounds.day),
        ],
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=1000)], filters=[strip])


class ReceiptForm(CoopForm):
    """A delivery note's header; the units per line are read from the table's inputs."""

    received_on = DateField(
        _l("Date de réception"), validators=[InputRequired(), Normalised(bounds.day)]
    )
    delivery_note_ref = StringField(
        _l("Référence du bon de livraison"),
        validators=[Optional(), Length(max=60)],
        filters=[strip],
        description=_l("Telle qu'imprimée sur le bon du fournisseur."),
    )
    member = SelectField(_l("Atelier livré"), choices=[], validate_choice=False)
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=1000)], filters=[strip])
