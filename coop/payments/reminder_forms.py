"""The treasurer's reminder forms: pausing a shop's reminders."""

from flask_babel import lazy_gettext as _l
from wtforms import TextAreaField

from coop.accounts.forms import strip
from coop.forms import CoopForm


class PauseForm(CoopForm):
    """`coop.payments.reminders.pause` checks the note."""

    note = TextAreaField(
        _l("Note (facultative)"),
        filters=[strip],
        description=_l("Pourquoi, jusqu'à quand : un échéancier convenu, un litige en cours…"),
        render_kw={"rows": 3},
    )
