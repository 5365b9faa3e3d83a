"""Framework agreements (accords-cadres, take-or-pay): drafted, signed (active), ended; and how
far each has got: the units bought on its offer in the committed purchase orders of its period.

The agreement itself lives in the suppliers layer (coop.suppliers.models), where the pooling
reads it; the pages that keep it, and its progress (read from purchase orders, above the
pooling), live here.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from coop import bounds
from coop.accounts.models import User
from coop.activity.recording import change, changes, record
from coop.clock import to_local
from coop.csv_export import day as csv_day
from coop.csv_export import figure
from coop.errors import DomainError
from coop.extensions import db
from coop.money import quantize
from coop.numbering import next_value
from coop.orders.campaigns.models import Campaign
from coop.orders.purchasing.models import OrderLine, OrderStatus, PurchaseOrder
from coop.suppliers.models import (
    AgreementStatus,
    FrameworkAgreement,
    Offer,
    Part,
    Supplier,
)
from coop.uniqueness import refusing_duplicates

MAX_NOTES = 4000


@dataclass(frozen=True)
class AgreementTerms:
    """What the manager sets on an agreement; the offer is the supplier's for the part."""

    offer: Offer
    committed_qty: int
    shortfall_fee: Decimal
    valid_from: date
    valid_to: date
    campaigns_planned: int
    notes: str | None = None


def offer_for(supplier: Supplier | None, part: Part | None) -> Offer:
    """The supplier's offer on the part, which the agreement commits to."""
    if supplier is None:
        raise DomainError(_("Choisissez le fournisseur."), field="supplier_id")
    if part is None:
        raise DomainError(_("Choisissez la pièce."), field="part_id")
    offer = db.session.scalar(
        select(Offer).where(Offer.supplier_id == supplier.id, Offer.part_id == part.id)
    )
    if offer is None:
        raise DomainError(
            _(
                "%(supplier)s n'a pas d'offre pour %(sku)s : créez-la d'abord dans le "
                "catalogue, avec ses paliers de prix.",
                supplier=supplier.name,
                sku=part.sku,
            ),
            field="part_id",
        )
    return offer


def check_terms(terms: AgreementTerms) -> None:
    """Refuse terms that break a rule, naming the field."""
    if not 1 <= terms.committed_qty <= bounds.MAX_VOLUME:
        raise DomainError(
            _(
                "Le volume engagé est d'au moins 1 unité et d'au plus %(max)s.",
                max=bounds.shown(bounds.MAX_VOLUME),
            ),
            field="committed_qty",
        )
    if not Decimal("0") <= terms.shortfall_fee <= bounds.MAX_UNIT_PRICE:
        raise DomainError(
            _(
                "La pénalité par unité manquante est entre 0 et %(max)s €.",
                max=bounds.shown(bounds.MAX_UNIT_PRICE),
            ),
            field="shortfall_fee",
        )
    if terms.valid_to < terms.valid_from:
        raise DomainError(_("La fin de l'accord ne peut pas précéder son début."), field="valid_to")
    if not 1 <= terms.campaigns_planned <= bounds.MAX_CAMPAIGNS:
        raise DomainError(
            _(
                "Le nombre de campagnes prévues est entre 1 et %(max)s.",
                max=bounds.MAX_CAMPAIGNS,
            ),
            field="campaigns_planned",
        )
    if terms.notes and len(terms.notes) > MAX_NOTES:
        raise DomainError(_("%(max)d caractères au plus.", max=MAX_NOTES), field="notes")


def new_code(on: date) -> str:
    """ACC-2027-01: the year's agreements numbered in order, without gaps."""
    return f"ACC-{on.year}-{next_value(f'ACC-{on.year}'):02d}"


def create_agreement(
    terms: AgreementTerms, *, at: datetime, by: User | None = None
) -> FrameworkAgreement:
    """A draft agreement on these terms, numbered; logged."""
    check_terms(terms)
    code = new_code(to_local(at).date())
    with refusing_duplicates(
        uq_framework_agreements_code=DomainError(_("Ce numéro d'accord est déjà pris."))
    ):
        agreement = FrameworkAgreement(
            code=code,
            status=AgreementStatus.DRAFT,
            created_by_id=by.id if by is not None else None,
            created_at=at,
            **_values(terms),
        )
        db.session.add(agreement)
        db.session.flush()
    record(
        "agreement.created",
        object_type="agreement",
        object_id=agreement.id,
        label=agreement.code,
        details=_logged(agreement),
        actor=by,
    )
    return agreement


def update_agreement(
    agreement: FrameworkAgreement, terms: AgreementTerms, *, by: User | None = None
) -> FrameworkAgreement:
    """Change a draft's terms; an agreement in force or ended no longer changes."""
    lock(agreement)
    if agreement.status is not AgreementStatus.DRAFT:
        raise DomainError(
            _(
                "L'accord %(code)s est %(status)s : ses termes ne changent plus. "
                "Terminez-le et préparez-en un autre.",
                code=agreement.code,
                status=agreement.status.label,
            )
        )
    check_terms(terms)
    before = _logged(agreement)
    for name, value in _values(terms).items():
        setattr(agreement, name, value)
    db.session.flush()
    if changed := changes(before, _logged(agreement)):
        record(
            "agreement.updated",
            object_type="agreement",
            object_id=agreement.id,
            label=agreement.code,
            details=changed,
            actor=by,
        )
    return agreement


def activate(agreement: FrameworkAgreement, *, today: date, by: User | None = None) -> None:
    """Sign a draft: from now on the pooling honours it (spec/pooling.md)."""
    lock(agreement)
    if not agreement.can_become(AgreementStatus.ACTIVE):
        raise DomainError(
            _(
                "L'accord %(code)s est %(status)s : seul un brouillon entre en vigueur.",
                code=agreement.code,
                status=agreement.status.label,
            )
        )
    offer = agreement.offer
    if not offer.supplier.is_active:
        raise DomainError(
            _(
                "%(supplier)s est désactivé : réactivez-le avant de signer l'accord.",
                supplier=offer.supplier.name,
            )
        )
    if not offer.tiers:
        raise DomainError(
            _("L'offre de l'accord n'a pas de prix : ajoutez ses paliers dans le catalogue.")
        )
    if agreement.valid_to < today:
        raise DomainError(
            _("La période de l'accord est déjà passée : corrigez ses dates."), field="valid_to"
        )
    overlapping = db.session.scalar(
        select(FrameworkAgreement.code).where(
            FrameworkAgreement.offer_id == agreement.offer_id,
            FrameworkAgreement.status == AgreementStatus.ACTIVE,
            FrameworkAgreement.id != agreement.id,
            FrameworkAgreement.valid_from <= agreement.valid_to,
            FrameworkAgreement.valid_to >= agreement.valid_from,
        )
    )
    if overlapping:
        raise DomainError(
            _(
                "L'accord %(other)s est déjà en vigueur sur cette offre pendant cette période : "
                "une offre n'a qu'un engagement à la fois.",
                other=overlapping,
            )
        )
    _move(agreement, AgreementStatus.ACTIVE, "agreement.activated", by)


def end(agreement: FrameworkAgreement, *, by: User | None = None) -> None:
    """End an agreement (or drop a draft): the pooling no longer honours it."""
    lock(agreement)
    if not agreement.can_become(AgreementStatus.ENDED):
        raise DomainError(_("L'accord %(code)s est déjà terminé.", code=agreement.code))
    _move(agreement, AgreementStatus.ENDED, "agreement.ended", by)


def _move(agreement, status: AgreementStatus, action: str, by: User | None) -> None:
    before = agreement.status
    agreement.status = status
    db.session.flush()
    record(
        action,
        object_type="agreement",
        object_id=agreement.id,
        label=agreement.code,
        details={"status": change(before, status)},
        actor=by,
    )


def lock(agreement: FrameworkAgreement) -> None:
    """Lock the agreement's row: its status decides what may happen to it."""
    db.session.execute(
        select(FrameworkAgreement.id).where(FrameworkAgreement.id == agreement.id).with_for_update()
    )
    db.session.refresh(agreement, ["status"])


def _values(terms: AgreementTerms) -> dict:
    return {
        "offer": terms.offer,
        "committed_qty": terms.committed_qty,
        "shortfall_fee": terms.shortfall_fee,
        "valid_from": terms.valid_from,
        "valid_to": terms.valid_to,
        "campaigns_planned": terms.campaigns_planned,
        "notes": (terms.notes or "").strip() or None,
    }


def _logged(agreement: FrameworkAgreement) -> dict:
    """What the log keeps of an agreement's terms."""
    return {
        "supplier": agreement.offer.supplier.code,
        "sku": agreement.offer.part.sku,
        "committed_qty": agreement.committed_qty,
        "shortfall_fee": agreement.shortfall_fee,
        "valid_from": agreement.valid_from,
        "valid_to": agreement.valid_to,
        "campaigns_planned": agreement.campaigns_planned,
    }


# --- reading ---------------------------------------------------------------------------------


def agreements_query(status: AgreementStatus | None = None, search: str = "") -> Select:
    """Agreements, newest first; `search` matches the code, the supplier or the part."""
    stmt = (
        select(FrameworkAgreement)
        .join(FrameworkAgreement.offer)
        .join(Offer.supplier)
        .join(Offer.part)
        .options(
            selectinload(FrameworkAgreement.offer).selectinload(Offer.supplier),
            selectinload(FrameworkAgreement.offer).selectinload(Offer.part),
        )
        .order_by(FrameworkAgreement.valid_from.desc(), FrameworkAgreement.id.desc())
    )
    if status is not None:
        stmt = stmt.where(FrameworkAgreement.status == status)
    if search:
        pattern = f"%{search}%"
        stmt = stmt.where(
            FrameworkAgreement.code.ilike(pattern)
            | Supplier.name.ilike(pattern)
            | Supplier.code.ilike(pattern)
            | Part.sku.ilike(pattern)
            | Part.name.ilike(pattern)
        )
    return stmt


def get_agreement(agreement_id: int) -> FrameworkAgreement | None:
    return db.session.scalar(
        select(FrameworkAgreement)
        .where(FrameworkAgreement.id == agreement_id)
        .options(
            selectinload(FrameworkAgreement.offer).selectinload(Offer.supplier),
            selectinload(FrameworkAgreement.offer).selectinload(Offer.part),
            selectinload(FrameworkAgreement.offer).selectinload(Offer.tiers),
        )
    )


def units_bought(agreements: list[FrameworkAgreement]) -> dict[int, int]:
    """By agreement id: units bought so far on its offer in its period (0 when none)."""
    ids = [a.id for a in agreements]
    rows = db.session.execute(
        select(FrameworkAgreement.id, func.sum(OrderLine.quantity))
        .join(OrderLine, FrameworkAgreement.offer_id == OrderLine.offer_id)
        .join(OrderLine.order)
        .join(PurchaseOrder.campaign)
        .where(
            FrameworkAgreement.id.in_(ids),
            PurchaseOrder.status != OrderStatus.CANCELLED,
            Campaign.order_date >= FrameworkAgreement.valid_from,
            Campaign.order_date <= FrameworkAgreement.valid_to,
        )
        .group_by(FrameworkAgreement.id)
    ).all()
    bought = dict.fromkeys(ids, 0)
    bought.update({agreement_id: int(units) for agreement_id, units in rows})
    return bought


def agreement_rows(rows: list[FrameworkAgreement]) -> list[list]:
    """Agreements as a spreadsheet, with what each has bought so far."""
    bought = units_bought(rows)
    table = [
        [
            "accord",
            "statut",
            "fournisseur",
            "sku",
            "debut",
            "fin",
            "volume_engage",
            "achete",
            "reste",
            "penalite_unitaire_eur",
            "campagnes_prevues",
            "notes",
        ]
    ]
    for agreement in rows:
        done = bought[agreement.id]
        table.append(
            [
                agreement.code,
                agreement.status.label,
                agreement.offer.supplier.code,
                agreement.offer.part.sku,
                csv_day(agreement.valid_from),
                csv_day(agreement.valid_to),
                agreement.committed_qty,
                done,
                max(0, agreement.committed_qty - done),
                figure(agreement.shortfall_fee, 4),
                agreement.campaigns_planned,
                agreement.notes or "",
            ]
        )
    return table


@dataclass(frozen=True)
class Progress:
    """An agreement's way so far: units bought, campaign by campaign."""

    agreement: FrameworkAgreement
    by_campaign: list[tuple[Campaign, int]]

    @property
    def bought(self) -> int:
        return sum(units for _, units in self.by_campaign)

    @property
    def remaining(self) -> int:
        return max(0, self.agreement.committed_qty - self.bought)

    @property
    def shortfall_cost(self) -> Decimal:
        """What the fee would cost on the units still to buy, were the period over now."""
        return quantize(self.agreement.shortfall_fee * self.remaining)


def progress(agreement: FrameworkAgreement) -> Progress:
    """Units bought on the agreement's offer, per campaign of its period, oldest first."""
    rows = db.session.execute(
        select(Campaign, func.sum(OrderLine.quantity))
        .select_from(OrderLine)
        .join(OrderLine.order)
        .join(PurchaseOrder.campaign)
        .where(
            OrderLine.offer_id == agreement.offer_id,
            PurchaseOrder.status != OrderStatus.CANCELLED,
            Campaign.order_date.between(agreement.valid_from, agreement.valid_to),
        )
        .group_by(Campaign.id)
        .order_by(Campaign.order_date, Campaign.id)
    ).all()
    return Progress(agreement, [(campaign, int(units)) for campaign, units in rows])
