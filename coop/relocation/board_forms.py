"""The period the relocation board and the impact report cover."""

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from coop.clock import today
from coop.forms import CoopForm, FrenchDateField
from coop.relocation.purchases import Period, default_period

# Five years: past this a period is no question the board answers (its trends look a year
# further back still).
MAX_PERIOD_DAYS = 5 * 366


class PeriodForm(CoopForm):
    """Read from the query string: looking changes nothing, so no CSRF token is needed.

    Left blank, the period is the last 12 months.
    """

    class Meta:
        csrf = False

    date_from = FrenchDateField(_l("Du"))
    date_to = FrenchDateField(_l("Au"))

    def __init__(self, formdata):
        super().__init__(formdata)
        # A blank end shows (and means) the last 12 months' own.
        default = default_period(today())
        for field, day in ((self.date_from, default.start), (self.date_to, default.end)):
            if field.data is None and not "".join(field.raw_data or []).strip():
                field.data = day

    def validate_date_to(self, field):
        if self.date_from.errors or field.errors:
            return
        period = self.period()
        if period.start > period.end:
            raise ValidationError(_l("La date de fin doit suivre la date de début."))
        if (period.end - period.start).days > MAX_PERIOD_DAYS:
            raise ValidationError(_l("La période couvre 5 ans au plus."))

    def period(self) -> Period:
        """The period asked for, once the form is valid."""
        return Period(self.date_from.data, self.date_to.data)
