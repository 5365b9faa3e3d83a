"""Forms of the catalogue: suppliers, parts, offers with their tiers."""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
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
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from coop import bounds, identifiers
from coop.accounts.forms import Normalised, country_choices, strip, upper
from coop.forms import CoopForm, sentence
from coop.money import parse_decimal
from coop.suppliers.catalogue import CATEGORIES

TIER_ROWS = 6
UNITS = {"piece": _l("pièce"), "paire": _l("paire"), "metre": _l("mètre"), "lot": _l("lot")}
# The French VAT rates (CGI art. 278 to 281 nonies); parts are almost always at 20 %.
VAT_RATES = {"0.2000": "20 %", "0.1000": "10 %", "0.0550": "5,5 %", "0.0210": "2,1 %"}


def money_amount(value: str) -> Decimal:
    amount = parse_decimal(value)
    if amount < 0:
        raise ValueError("le montant ne peut pas être négatif")
    return bounds.amount(amount)


def check_unit_price(typed: str) -> None:
    """Refuse a typed unit price (the supplier's page speaks English too: its usual words are
    translated)."""
    try:
        price = parse_decimal(typed)
    except ValueError as exc:
        raise ValidationError(sentence(exc)) from None
    if price <= 0:
        raise ValidationError(_l("Le prix doit être strictement positif."))
    try:
        bounds.unit_price(price)
    except ValueError as exc:
        raise ValidationError(sentence(exc)) from None


class SupplierForm(CoopForm):
    code = StringField(
        _l("Code fournisseur"),
        validators=[DataRequired(), Length(max=20)],
        filters=[strip, upper],
        description=_l("Court et unique, par exemple LYONPNEU."),
    )
    name = StringField(_l("Nom"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    country = SelectField(_l("Pays"), default="FR")
    address = StringField(
        _l("Adresse"),
        validators=[Optional(), Length(max=200)],
        filters=[strip],
        description=_l("Numéro et rue, imprimés sur les bons de commande."),
    )
    postcode = StringField(
        _l("Code postal"), validators=[Optional(), Length(max=20)], filters=[strip]
    )
    city = StringField(_l("Ville"), validators=[Optional(), Length(max=100)], filters=[strip])
    is_local = BooleanField(
        _l("Fournisseur local (métropole de Lyon, région)"),
        description=_l("Ses produits fabriqués en France comptent comme « local »."),
    )
    siret = StringField(
        _l("SIRET"), validators=[Optional(), Normalised(identifiers.siret)], filters=[strip]
    )
    vat_number = StringField(
        _l("N° de TVA intracommunautaire"),
        validators=[Optional(), Normalised(identifiers.vat_number)],
        filters=[strip],
    )
    email = StringField(
        _l("E-mail de commande"),
        validators=[Optional(), Normalised(identifiers.email)],
        filters=[strip],
    )
    phone = StringField(_l("Téléphone"), validators=[Optional(), Length(max=30)], filters=[strip])
    shipping_fee = StringField(
        _l("Frais de port par commande (€ HT)"),
        default="0",
        validators=[Optional(), Normalised(money_amount)],
        filters=[strip],
    )
    free_shipping_over = StringField(
        _l("Franco de port à partir de (€ HT)"),
        validators=[Optional(), Normalised(money_amount)],
        filters=[strip],
        description=_l("Laisser vide s'il n'y a pas de franco."),
    )
    default_lead_time_days = IntegerField(
        _l("Délai de livraison habituel (jours)"),
        validators=[Optional(), NumberRange(min=0), Normalised(bounds.lead_time_days)],
    )
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=4000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = country_choices()


class PartForm(CoopForm):
    sku = StringField(
        _l("Référence coop (SKU)"),
        validators=[DataRequired(), Length(max=40)],
        filters=[strip, upper],
        description=_l("Par exemple TYR-700X28-TR."),
    )
    name = StringField(
        _l("Désignation"), validators=[DataRequired(), Length(max=200)], filters=[strip]
    )
    category = SelectField(
        _l("Catégorie"),
        choices=[SelectChoice("", "—")] + [SelectChoice(k, v) for k, v in CATEGORIES.items()],
        validators=[Optional()],
    )
    unit = SelectField(_l("Unité"), choices=[SelectChoice(k, v) for k, v in UNITS.items()])
    weight_g = IntegerField(
        _l("Poids (g)"), validators=[Optional(), NumberRange(min=0), Normalised(bounds.weight_g)]
    )
    vat_rate = SelectField(
        _l("Taux de TVA"),
        choices=[SelectChoice(rate, label) for rate, label in VAT_RATES.items()],
        default="0.2000",
    )
    ean = StringField(
        _l("Code EAN-13"), validators=[Optional(), Normalised(identifiers.ean13)], filters=[strip]
    )


class TierForm(Form):
    """One price tier row; empty rows are ignored."""

    min_qty = IntegerField(
        _l("À partir de (unités)"),
        validators=[Optional(), NumberRange(min=1), Normalised(bounds.quantity)],
    )
    # No Optional(): an empty price next to a quantity is reported by validate_unit_price.
    unit_price = StringField(_l("Prix unitaire (€ HT)"), filters=[strip])

    def validate_unit_price(self, field):
        if not field.data:
            if self.min_qty.data:
                raise ValidationError(_l("Indiquez le prix de ce palier."))
            return
        check_unit_price(field.data)
        if not self.min_qty.data:
            raise ValidationError(
                _l("Indiquez la quantité à partir de laquelle ce prix s'applique.")
            )


class OfferForm(CoopForm):
    supplier_id = SelectField(_l("Fournisseur"), coerce=int)
    supplier_ref = StringField(
        _l("Référence fournisseur"), validators=[Optional(), Length(max=60)], filters=[strip]
    )
    made_in = SelectField(_l("Fabriqué en"), validators=[Optional()])
    pack_size = IntegerField(
        _l("Conditionnement (unités par colis)"),
        default=1,
        validators=[DataRequired(), NumberRange(min=1), Normalised(bounds.quantity)],
    )
    moq = IntegerField(
        _l("Minimum de commande (unités)"),
        default=0,
        validators=[Optional(), NumberRange(min=0), Normalised(bounds.quantity)],
    )
    lead_time_days = IntegerField(
        _l("Délai de livraison (jours)"),
        validators=[Optional(), NumberRange(min=0), Normalised(bounds.lead_time_days)],
        description=_l("Laisser vide pour le délai habituel du fournisseur."),
    )
    valid_until = DateField(_l("Valable jusqu'au"), validators=[Optional(), Normalised(bounds.day)])
    tiers = FieldList(FormField(TierForm), min_entries=TIER_ROWS, max_entries=20)

    def __init__(self, *args, suppliers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.supplier_id.choices = [SelectChoice(s.id, f"{s.name} ({s.code})") for s in suppliers]
        self.made_in.choices = country_choices(blank_label=_l("Pays du fournisseur"))

    def tier_values(self) -> list[tuple[int, Decimal]]:
        return [
            (row.min_qty.data, parse_decimal(row.unit_price.data))
            for row in self.tiers
            if row.min_qty.data and row.unit_price.data
        ]

    def validate_tiers(self, field):
        if not any(row.min_qty.data for row in field):
            raise ValidationError(_l("Indiquez au moins un palier de prix."))


class SupplierOfferForm(OfferForm):
    """An offer added from the supplier's page: the part is chosen, the supplier is known."""

    part_id = SelectField(_l("Pièce"), coerce=int)

    def __init__(self, *args, supplier, parts=(), **kwargs):
        super().__init__(*args, suppliers=[supplier], **kwargs)
        self.supplier_id.data = supplier.id
        self.part_id.choices = [SelectChoice(p.id, f"{p.sku} · {p.name}") for p in parts]
