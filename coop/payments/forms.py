"""The treasurer's forms: a bank statement upload, a payment by hand, a line matched by hand."""

import re
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from coop import bounds
from coop.accounts.forms import Normalised, strip, upper
from coop.clock import today
from coop.forms import CoopForm
from coop.money import parse_decimal, quantize
from coop.payments.models import METHOD_LABELS, Method

# Card and SEPA Direct Debit payments come from Stripe, never by hand.
MANUAL_METHODS = (Method.TRANSFER, Method.CHEQUE)


def optional_id(value) -> int | None:
    """A select's value: an id, or None for its empty first choice."""
    return bounds.record_id(int(value)) if value not in (None, "") else None


def amount_to_the_cent(value: str) -> Decimal:
    amount = bounds.amount(parse_decimal(value))
    if amount <= 0:
        raise ValueError("le montant doit être strictement positif")
    if quantize(amount) != amount:
        raise ValueError("le montant se donne au centime près")
    return amount


def invoice_numbers(value: str) -> list[str]:
    """`FA-2026-000123, FA-2026-000124` (commas, spaces or new lines between them)."""
    numbers = [n for n in re.split(r"[\s,;]+", value.upper()) if n]
    for number in numbers:
        if not re.fullmatch(r"[A-Z]{2}-\d{4}-\d{6}", number):
            raise ValueError(f"« {number} » n'est pas un numéro de facture (FA-2026-000123)")
    return list(dict.fromkeys(numbers))


def valid_invoice_numbers(form, field):
    """Check the numbers and leave the text as typed (the view reads it with invoice_numbers)."""
    try:
        invoice_numbers(field.data or "")
    except ValueError as exc:
        raise ValidationError(str(exc)[:1].upper() + str(exc)[1:] + ".") from None


def not_in_the_future(form, field):
    if field.data and field.data > today():
        raise ValidationError(_l("La date ne peut pas être dans le futur."))


class BankImportForm(CoopForm):
    file = FileField(
        _l("Relevé bancaire (CSV)"), validators=[FileRequired(_l("Choisissez un fichier."))]
    )


class PaymentForm(CoopForm):
    """A transfer or a cheque received, recorded by hand; the shop's choices come from the view."""

    member = SelectField(
        _l("Atelier"),
        coerce=optional_id,
        choices=[],
        validators=[InputRequired(_l("Choisissez l'atelier qui a payé."))],
    )
    method = SelectField(
        _l("Moyen de paiement"),
        choices=[SelectChoice(m.value, _l(METHOD_LABELS[m])) for m in MANUAL_METHODS],
        default=Method.TRANSFER.value,
    )
    amount = StringField(
        _l("Montant (€)"),
        filters=[strip],
        validators=[DataRequired(_l("Indiquez le montant reçu.")), Normalised(amount_to_the_cent)],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    received_on = DateField(
        _l("Reçu le"),
        default=today,
        validators=[
            InputRequired(_l("Indiquez la date de réception.")),
            not_in_the_future,
            Normalised(bounds.day),
        ],
    )
    reference = StringField(
        _l("Référence"),
        filters=[strip],
        validators=[Optional(), Length(max=255)],
        description=_l("Le libellé du virement ou le numéro du chèque."),
    )
    invoices = StringField(
        _l("Factures réglées"),
        filters=[strip, upper],
        validators=[Optional(), Length(max=2000), valid_invoice_numbers],
        description=_l(
            "Numéros séparés par des virgules ; sinon le paiement règle les factures "
            "ouvertes de l'atelier, les plus anciennes d'abord, et le reste est gardé "
            "en crédit."
        ),
    )


class AssignForm(CoopForm):
    """Match a bank line by hand: to an invoice, or to a shop's account without one."""

    invoice = StringField(
        _l("Facture"),
        filters=[strip, upper],
        validators=[Optional(), Length(max=35)],
        description=_l("Son numéro, par exemple FA-2026-000123."),
    )
    member = SelectField(
        _l("ou l'atelier"),
        coerce=optional_id,
        choices=[],
        description=_l(
            "Sans facture, le virement va au compte de l'atelier : il règle ses "
            "factures ouvertes, les plus anciennes d'abord, et le reste est gardé "
            "en crédit."
        ),
    )

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if not self.invoice.data and not self.member.data:
            self.invoice.errors = [*self.invoice.errors, _l("Indiquez une facture ou un atelier.")]
            return False
        return True
