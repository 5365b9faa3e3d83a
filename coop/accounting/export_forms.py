"""The treasurer's export form: a period, or a campaign."""

import calendar

from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.validators import ValidationError

from coop.clock import today
from coop.forms import CoopForm, FrenchDateField


def _first_of_month():
    return today().replace(day=1)


def _end_of_month():
    day = today()
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


class ExportForm(CoopForm):
    """Read from the query string: downloads change nothing, so no CSRF token is needed."""

    class Meta:
        csrf = False

    date_from = FrenchDateField(_l("Du"), default=_first_of_month)
    date_to = FrenchDateField(_l("Au"), default=_end_of_month)
    campaign = SelectField(
        _l("Ou une campagne"),
        choices=[],
        validate_choice=False,  # the view looks the campaign up
        description=_l(
            "Pour le CSV et les PDF, une campagne remplace la période ; "
            "le FEC porte toujours sur la période."
        ),
    )

    # The FEC always covers a period; the CSV and the ZIP a campaign when one is chosen.
    period_required = True

    def validate_date_from(self, field):
        if self.period_required and field.data is None and not field.errors:
            raise ValidationError(_l("Indiquez la date de début."))

    def validate_date_to(self, field):
        if self.period_required and field.data is None and not field.errors:
            raise ValidationError(_l("Indiquez la date de fin."))
        if self.date_from.data and field.data and self.date_from.data > field.data:
            raise ValidationError(_l("La date de fin doit suivre la date de début."))
