"""The form that starts a pooling run."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    IntegerField,
)
from wtforms.validators import InputRequired, NumberRange

from coop.orders.campaigns.forms import PenaltiesForm


class PoolingForm(PenaltiesForm):
    """The manager's choices for one run of the pooling engine."""

    time_limit = IntegerField(
        _l("Temps de calcul maximum (secondes)"),
        default=30,
        validators=[InputRequired(), NumberRange(min=1, max=600)],
        description=_l("Au-delà, le meilleur plan trouvé est présenté avec son écart prouvé."),
    )
