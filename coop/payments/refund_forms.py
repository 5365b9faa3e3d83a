"""The treasurer's form to pay a shop's credit back (templates/payments/_refund_form.html)."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired

from coop.accounts.forms import Normalised, strip
from coop.accounts.models import Member
from coop.extensions import db
from coop.forms import CoopForm
from coop.invoicing.models import Invoice, InvoiceKind
from coop.payments.forms import amount_to_the_cent


class RefundForm(CoopForm):
    """`RefundForm(member=shop)` offers the shop's credit notes to cite."""

    amount = StringField(
        _l("Montant à rembourser (€)"),
        filters=[strip],
        validators=[
            DataRequired(_l("Indiquez le montant à rembourser.")),
            Normalised(amount_to_the_cent),
        ],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    credit_note = SelectField(_l("Avoir remboursé"), coerce=int, default=0)

    def __init__(self, *args, member: Member | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        notes = (
            []
            if member is None
            else db.session.scalars(
                select(Invoice)
                .where(Invoice.member_id == member.id, Invoice.kind == InvoiceKind.CREDIT_NOTE)
                .order_by(Invoice.issued_on.desc(), Invoice.number.desc())
            ).all()
        )
        self.credit_note.choices = [(0, _l("Aucun en particulier"))] + [
            (note.id, note.number) for note in notes
        ]
