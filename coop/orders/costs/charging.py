"""Charges the manager adds after the fact, and the shipping key, until invoicing starts."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import force_locale, ngettext
from sqlalchemy import select

from coop.accounts.models import Member
from coop.activity.recording import change, changes, record
from coop.errors import DomainError, NotFound
from coop.extensions import db
from coop.i18n import sorted_by_name
from coop.money import quantize
from coop.orders.campaigns.locking import lock_campaign
from coop.orders.campaigns.models import Campaign, CampaignStatus
from coop.orders.campaigns.rules import SplitKey
from coop.orders.costs.models import Charge
from coop.orders.costs.splitting import (
    CampaignSplit,
    build_split,
    campaign_charges,
    charges_in,
    refresh_stored_split,
)
from coop.orders.pooling.cost_split import ZERO, ChargeIn
from coop.orders.pooling.plan import PlanRecord
from coop.orders.purchasing.models import OrderStatus, PurchaseOrder
from coop.suppliers.models import FrameworkAgreement, Part, Supplier

# Charges and the shipping key change until the shops are invoiced: an invoice never changes.
CHARGEABLE = (CampaignStatus.POOLED, CampaignStatus.ORDERED, CampaignStatus.RECEIVED)
MAX_CHARGE = Decimal("1000000")


def ensure_chargeable(campaign: Campaign) -> None:
    if campaign.status not in CHARGEABLE:
        if campaign.status in (CampaignStatus.INVOICED, CampaignStatus.ARCHIVED):
            raise DomainError(
                f"La campagne {campaign.code} est facturée : ses frais ne changent plus. "
                "Corrigez par un avoir."
            )
        raise DomainError(
            f"La campagne {campaign.code} n'est pas encore mutualisée : les frais "
            "s'ajoutent une fois les commandes groupées préparées."
        )
    if campaign.invoicing_started_at is not None:
        # Some shops hold invoices issued on the current split: it must not move under them.
        raise DomainError(
            f"La facturation de la campagne {campaign.code} a commencé : ses frais ne "
            "changent plus. Corrigez par un avoir."
        )


def campaign_suppliers(campaign: Campaign) -> list[Supplier]:
    """The suppliers of the campaign's orders still standing, by name."""
    return sorted_by_name(
        db.session.scalars(
            select(Supplier)
            .where(
                Supplier.id.in_(
                    select(PurchaseOrder.supplier_id).where(
                        PurchaseOrder.campaign_id == campaign.id,
                        PurchaseOrder.status != OrderStatus.CANCELLED,
                    )
                )
            )
            .order_by(Supplier.code)
        )
    )


def campaign_supplier(campaign: Campaign, supplier_id: str | None) -> Supplier | None:
    """The supplier a charge concerns, from the form's choice; None for the whole campaign."""
    if not supplier_id:
        return None
    found = {str(s.id): s for s in campaign_suppliers(campaign)}.get(str(supplier_id))
    if found is None:
        raise DomainError(
            "Ce fournisseur ne livre rien dans cette campagne : choisissez un de ses "
            "fournisseurs, ou toute la campagne.",
            field="supplier",
        )
    return found


@dataclass(frozen=True)
class ChargeTerms:
    label: str
    amount: Decimal
    key: SplitKey = SplitKey.VALUE
    supplier: Supplier | None = None
    # Set by the booking of a framework agreement's shortfall fee only.
    agreement: FrameworkAgreement | None = None


def _checked_terms(campaign: Campaign, terms: ChargeTerms) -> ChargeTerms:
    label = (terms.label or "").strip()
    if not label:
        raise DomainError("Donnez un libellé au frais (douane, coursier, palette…).", field="label")
    if len(label) > 200:
        raise DomainError("Libellé trop long : 200 caractères au plus.", field="label")
    amount = terms.amount
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise DomainError("Montant attendu, en euros.", field="amount")
    if quantize(amount) != amount:
        raise DomainError("Le montant se donne au centime près.", field="amount")
    if amount == 0:
        raise DomainError("Un frais de 0 € ne change rien : indiquez son montant.", field="amount")
    if abs(amount) >= MAX_CHARGE:
        raise DomainError("Montant hors de proportion : vérifiez-le.", field="amount")
    try:
        key = SplitKey(terms.key)
    except ValueError:
        raise DomainError("Clé de répartition inconnue.", field="key") from None
    supplier = terms.supplier
    if supplier is not None and supplier.id not in {s.id for s in campaign_suppliers(campaign)}:
        raise DomainError(
            f"{supplier.name} ne livre rien dans cette campagne : choisissez un de ses "
            "fournisseurs, ou toute la campagne.",
            field="supplier",
        )
    return ChargeTerms(label, quantize(amount), key, supplier, terms.agreement)


def _try(campaign: Campaign, charges: list[ChargeIn]) -> None:
    """Refuse a change whose split cannot be made: nothing is written before this passes."""
    build_split(campaign, charges=charges)


def add_charge(campaign: Campaign, terms: ChargeTerms) -> Charge:
    """Add a charge to a pooled, not yet invoiced campaign, shared by its key."""
    lock_campaign(campaign)
    ensure_chargeable(campaign)
    terms = _checked_terms(campaign, terms)
    existing = charges_in(campaign_charges(campaign))
    candidate = ChargeIn(
        id=0,
        amount=terms.amount,
        key=terms.key,
        supplier=terms.supplier.code if terms.supplier else None,
    )
    _try(campaign, [*existing, candidate])
    charge = Charge(
        campaign_id=campaign.id,
        label=terms.label,
        amount=terms.amount,
        key=terms.key,
        supplier=terms.supplier,
        agreement=terms.agreement,
    )
    db.session.add(charge)
    db.session.flush()
    refresh_stored_split(campaign)
    _record_charge("charge.added", charge, _charge_terms(charge))
    return charge


def book_shortfall_fees(campaign: Campaign, record: PlanRecord) -> list[Charge]:
    """A committed plan's take-or-pay shortfall fees, booked as charges of the campaign
    (spec/pooling.md, "Framework agreements"), labelled in French like the orders.

    The caller chains it after committing the plan, in the same transaction. A fee is
    shared by the needs its supplier serves in the campaign, or by all the campaign's
    needs when that supplier serves none (the whole target was short). The fees booked
    by an earlier commit of the campaign (undone since) are replaced, not added to.
    """
    for earlier in campaign_charges(campaign):
        if earlier.agreement_id is not None:
            delete_charge(earlier)
    delivering = {s.code: s for s in campaign_suppliers(campaign)}
    agreements = {
        a.code: a
        for a in db.session.scalars(
            select(FrameworkAgreement).where(
                FrameworkAgreement.code.in_([o.agreement for o in record.agreements])
            )
        )
    }
    charges = []
    for outcome in record.agreements:
        if outcome.fee <= 0:
            continue
        with force_locale("fr"):
            label = ngettext(
                "Accord-cadre %(code)s : %(num)d unité manquante",
                "Accord-cadre %(code)s : %(num)d unités manquantes",
                outcome.shortfall,
                code=outcome.agreement,
            )
        terms = ChargeTerms(
            label,
            outcome.fee,
            supplier=delivering.get(outcome.supplier),
            agreement=agreements[outcome.agreement],
        )
        charges.append(add_charge(campaign, terms))
    return charges


def update_charge(charge: Charge, terms: ChargeTerms) -> None:
    """Change a charge's label, amount, key or supplier until the campaign is invoiced."""
    campaign = charge.campaign
    lock_campaign(campaign)
    ensure_chargeable(campaign)
    terms = _checked_terms(campaign, terms)
    tried = [
        c
        if c.id != charge.id
        else ChargeIn(
            id=c.id,
            amount=terms.amount,
            key=terms.key,
            supplier=terms.supplier.code if terms.supplier else None,
        )
        for c in charges_in(campaign_charges(campaign))
    ]
    _try(campaign, tried)
    before = _charge_terms(charge)
    charge.label, charge.amount, charge.key = terms.label, terms.amount, terms.key
    charge.supplier = terms.supplier
    db.session.flush()
    refresh_stored_split(campaign)
    if changed := changes(before, _charge_terms(charge)):
        _record_charge("charge.changed", charge, {"label": charge.label} | changed)


def delete_charge(charge: Charge) -> None:
    """Remove a charge until the campaign is invoiced."""
    lock_campaign(charge.campaign)
    ensure_chargeable(charge.campaign)
    terms = _charge_terms(charge)
    db.session.delete(charge)
    db.session.flush()
    refresh_stored_split(charge.campaign)
    _record_charge("charge.removed", charge, terms)


def set_shipping_key(campaign: Campaign, key: str) -> None:
    """Change how shipping fees are shared, from the pooling until the shops are invoiced."""
    lock_campaign(campaign)
    ensure_chargeable(campaign)
    try:
        key = SplitKey(key)
    except ValueError:
        raise DomainError("Clé de répartition inconnue.", field="key") from None
    build_split(campaign, shipping_key=key)
    before = campaign.shipping_key
    campaign.shipping_key = key
    db.session.flush()
    refresh_stored_split(campaign)
    if before is not key:
        record(
            "campaign.updated",
            object_type="campaign",
            object_id=campaign.id,
            label=campaign.code,
            details={"shipping_key": change(before, key)},
        )


def _charge_terms(charge: Charge) -> dict:
    return {
        "label": charge.label,
        "amount": charge.amount,
        "key": charge.key,
        "supplier": charge.supplier.name if charge.supplier else None,
    }


def _record_charge(action: str, charge: Charge, details: dict) -> None:
    """On the campaign's own history: a removed charge leaves no object to follow."""
    record(
        action,
        object_type="campaign",
        object_id=charge.campaign.id,
        label=charge.campaign.code,
        details=details,
    )


def get_charge(campaign: Campaign, charge_id: int) -> Charge:
    charge = db.session.get(Charge, charge_id)
    if charge is None or charge.campaign_id != campaign.id:
        raise NotFound("Frais introuvable.")
    return charge


def charge_shares(cs: CampaignSplit) -> dict[int, list[tuple[Member, Decimal]]]:
    """Each charge's shares per shop (shops by name), for the charges page."""
    per: dict[int, dict[int, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    members: dict[int, Member] = {}
    for item in cs.items:
        cost = cs.cost(item.need.id)
        if cost is None:
            continue
        members[item.need.member_id] = item.need.member
        for charge_id, share in cost.charges.items():
            per[charge_id][item.need.member_id] += share
    return {
        charge_id: sorted(
            ((members[m], amount) for m, amount in shares.items()),
            key=lambda pair: (pair[0].name.casefold(), pair[0].code),
        )
        for charge_id, shares in per.items()
    }


def parts_without_weight(cs: CampaignSplit) -> list[Part]:
    """Parts delivered in the campaign whose weight is unknown (a weight key needs them)."""
    parts = {
        i.need.part.id: i.need.part for i in cs.items if i.units and i.need.part.weight_g is None
    }
    return sorted(parts.values(), key=lambda p: p.sku)
