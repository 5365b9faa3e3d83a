"""The forms of the suppliers' invoices pages: upload, book, dispute, link, enter by hand, pay."""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired, MultipleFileField
from wtforms import (
    DateField,
    FieldList,
    Form,
    FormField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from coop import bounds
from coop.accounts.forms import Normalised, strip
from coop.forms import CoopForm, ParsedField
from coop.money import RATE, parse_decimal, quantize
from coop.payments.forms import optional_id
from coop.purchases.models import (
    SUPPLIER_INVOICE_KIND_LABELS,
    SupplierInvoiceKind,
    SupplierLineKind,
)

QUANTITY = Decimal("0.001")


def amount(value: str) -> Decimal:
    """An amount in euros, to the cent, 0 or more."""
    number = bounds.amount(parse_decimal(value))
    if number < 0:
        raise ValueError("le montant ne peut pas être négatif")
    if quantize(number) != number:
        raise ValueError("le montant se donne au centime près")
    return number


def price(value: str) -> Decimal:
    """A unit price excl. VAT; a discount line may be negative."""
    number = bounds.amount(parse_decimal(value))
    if quantize(number, Decimal("0.0001")) != number:
        raise ValueError("le prix se donne au centième de centime près")
    return number


def quantity(value: str) -> Decimal:
    number = bounds.quantity(parse_decimal(value))
    if number <= 0:
        raise ValueError("la quantité doit être strictement positive")
    if number.quantize(QUANTITY) != number:
        raise ValueError("la quantité se donne au millième près")
    return number


def vat_rate(value: str) -> Decimal:
    """A VAT rate typed in percent (20, 5,5, 0), as the fraction stored (0.2000)."""
    return quantize(bounds.percent(parse_decimal(value)) / 100, RATE)


def shown_rate(rate: Decimal) -> str:
    return f"{rate * 100:.2f}".rstrip("0").rstrip(".").replace(".", ",")


class UploadForm(CoopForm):
    files = MultipleFileField(
        _l("Factures (Factur-X PDF, CII ou UBL XML)"),
        validators=[FileRequired(_l("Choisissez au moins un fichier."))],
        description=_l(
            "Plusieurs fichiers à la fois ; chacun est importé ou refusé seul. Un PDF sans "
            "facture électronique intégrée se saisit à la main."
        ),
    )


class BookForm(CoopForm):
    booked_on = DateField(
        _l("Date comptable"),
        validators=[Optional(), Normalised(bounds.day)],
        description=_l("Vide : la date de la facture."),
    )
    note = TextAreaField(
        _l("Note"),
        filters=[strip],
        validators=[Optional(), Length(max=2000)],
        description=_l("Obligatoire quand le rapprochement a relevé des écarts."),
    )


class DisputeForm(CoopForm):
    message = TextAreaField(
        _l("Message au fournisseur"),
        filters=[strip],
        validators=[DataRequired(_l("Écrivez le message au fournisseur.")), Length(max=4000)],
    )


class LinkForm(CoopForm):
    """The purchase order (and the invoice a credit note credits), chosen by hand."""

    purchase_order = SelectField(_l("Bon de commande"), coerce=optional_id, choices=[])
    credited_invoice = SelectField(_l("Facture créditée"), coerce=optional_id, choices=[])


class PayForm(CoopForm):
    """The invoices a bank debit pays, ticked among the open ones (the view sets the choices)."""

    invoices = SelectMultipleField(
        _l("Factures payées"),
        coerce=optional_id,
        choices=[],
        validators=[DataRequired(_l("Cochez au moins une facture."))],
    )


LINE_KINDS = [
    SelectChoice(SupplierLineKind.GOODS.value, _l("Marchandise")),
    SelectChoice(SupplierLineKind.SHIPPING.value, _l("Port")),
]


class LineForm(Form):
    """One typed line: blank rows are left out."""

    kind = SelectField(_l("Type"), choices=LINE_KINDS, default=SupplierLineKind.GOODS.value)
    supplier_ref = StringField(
        _l("Réf. fournisseur"), filters=[strip], validators=[Optional(), Length(max=60)]
    )
    buyer_ref = StringField(
        _l("Notre SKU"), filters=[strip], validators=[Optional(), Length(max=60)]
    )
    name = StringField(_l("Désignation"), filters=[strip], validators=[Optional(), Length(max=255)])
    quantity = ParsedField(_l("Quantité"), parse=quantity)
    unit_price = ParsedField(_l("Prix unitaire HT"), parse=price)
    vat_rate = ParsedField(_l("TVA (%)"), parse=vat_rate, show=shown_rate)

    @property
    def is_blank(self) -> bool:
        return not (self.name.data or self.quantity.data or self.unit_price.data)

    def validate_name(self, field):
        if not self.is_blank and not field.data:
            raise ValidationError(_l("Indiquez la désignation."))

    def validate_quantity(self, field):
        if not self.is_blank and field.data is None and not field.errors:
            raise ValidationError(_l("Indiquez la quantité."))

    def validate_unit_price(self, field):
        if not self.is_blank and field.data is None and not field.errors:
            raise ValidationError(_l("Indiquez le prix unitaire."))

    def validate_vat_rate(self, field):
        if not self.is_blank and field.data is None and not field.errors:
            raise ValidationError(_l("Indiquez le taux de TVA (0 si aucune)."))


class VatForm(Form):
    """The VAT of one rate, as the invoice prints it."""

    rate = ParsedField(_l("Taux (%)"), parse=vat_rate, show=shown_rate)
    amount = ParsedField(_l("TVA"), parse=amount)

    def validate_amount(self, field):
        if (self.rate.data is None) != (field.data is None) and not field.errors:
            raise ValidationError(_l("Donnez le taux et le montant de TVA."))


class EntryForm(CoopForm):
    """A supplier's invoice typed from its PDF."""

    supplier = SelectField(
        _l("Fournisseur"),
        coerce=optional_id,
        choices=[],
        validators=[InputRequired(_l("Choisissez le fournisseur."))],
    )
    kind = SelectField(
        _l("Type"),
        choices=[
            SelectChoice(k.value, _l(SUPPLIER_INVOICE_KIND_LABELS[k])) for k in SupplierInvoiceKind
        ],
        default=SupplierInvoiceKind.INVOICE.value,
    )
    number = StringField(
        _l("Numéro du fournisseur"),
        filters=[strip],
        validators=[DataRequired(_l("Indiquez le numéro de la facture.")), Length(max=60)],
    )
    issued_on = DateField(
        _l("Date de la facture"),
        validators=[InputRequired(_l("Indiquez la date de la facture.")), Normalised(bounds.day)],
    )
    due_on = DateField(_l("Échéance"), validators=[Optional(), Normalised(bounds.day)])
    purchase_order = SelectField(_l("Bon de commande"), coerce=optional_id, choices=[])
    credited_number = StringField(
        _l("Facture créditée (avoir)"),
        filters=[strip],
        validators=[Optional(), Length(max=60)],
        description=_l("Pour un avoir : le numéro de la facture du fournisseur qu'il corrige."),
    )
    lines = FieldList(FormField(LineForm), min_entries=6, max_entries=40)
    vat = FieldList(FormField(VatForm), min_entries=3, max_entries=10)
    total_excl_vat = ParsedField(
        _l("Total HT"), parse=amount, validators=[InputRequired(_l("Indiquez le total HT."))]
    )
    total_vat = ParsedField(
        _l("Total TVA"), parse=amount, validators=[InputRequired(_l("Indiquez le total de TVA."))]
    )
    total_incl_vat = ParsedField(
        _l("Total TTC"), parse=amount, validators=[InputRequired(_l("Indiquez le total TTC."))]
    )
    file = FileField(
        _l("La facture en PDF"), validators=[FileRequired(_l("Joignez la facture en PDF."))]
    )

    def validate_due_on(self, field):
        if field.data and self.issued_on.data and field.data < self.issued_on.data:
            raise ValidationError(_l("L'échéance ne peut pas précéder la date de la facture."))
