"""What the campaign adds up to: demand per part, live signals, who posted what.

Every function here runs a fixed number of queries, whatever the number of
needs, so the shop's page and the manager's view stay fast at 30,000 needs.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from coop.accounts.models import Member
from coop.extensions import db
from coop.orders.models import Campaign, Need, PartRequest, RequestStatus
from coop.orders.signals import PartSignal, part_signal
from coop.suppliers.comparison import terms_of
from coop.suppliers.models import Offer, Part, Supplier


@dataclass(frozen=True)
class PartDemand:
    part: Part
    signal: PartSignal
    offers: dict[int, Offer]  # by id: OfferSignal.key is the offer id


def usable_offers(part_ids, day: date) -> dict[int, list[Offer]]:
    """Offers a campaign can use on `day`, by part: active supplier, valid, priced."""
    offers = db.session.scalars(
        select(Offer)
        .join(Offer.supplier)
        .where(
            Offer.part_id.in_(part_ids),
            Supplier.is_active.is_(True),
            (Offer.valid_until.is_(None)) | (Offer.valid_until >= day),
        )
        .options(selectinload(Offer.tiers), selectinload(Offer.supplier))
    ).all()
    by_part: dict[int, list[Offer]] = {}
    for offer in offers:
        if offer.tiers:
            by_part.setdefault(offer.part_id, []).append(offer)
    return by_part


def demand(campaign: Campaign, part_ids=None) -> list[PartDemand]:
    """Demand and signals per part requested in the campaign (optionally only some parts)."""
    stmt = (
        select(
            Need.part_id,
            func.sum(Need.quantity),
            func.sum(Need.tolerance),
            func.count(func.distinct(Need.member_id)),
        )
        .where(Need.campaign_id == campaign.id)
        .group_by(Need.part_id)
    )
    if part_ids is not None:
        stmt = stmt.where(Need.part_id.in_(part_ids))
    totals = {row[0]: row[1:] for row in db.session.execute(stmt)}
    parts = {p.id: p for p in db.session.scalars(select(Part).where(Part.id.in_(totals)))}
    offers = usable_offers(list(totals), campaign.order_date)
    result = []
    for part_id, (requested, tolerance, shops) in totals.items():
        part_offers = offers.get(part_id, [])
        signal = part_signal(
            int(requested), int(tolerance), int(shops),
            [(o.id, terms_of(o)) for o in part_offers],
        )  # fmt: skip
        result.append(PartDemand(parts[part_id], signal, {o.id: o for o in part_offers}))
    result.sort(key=lambda d: d.part.sku)
    return result


def members_without_needs(campaign: Campaign) -> list[Member]:
    posted = select(Need.member_id).where(Need.campaign_id == campaign.id)
    return db.session.scalars(
        select(Member)
        .where(Member.is_active.is_(True), Member.id.not_in(posted))
        .order_by(Member.code)
    ).all()


def open_requests(campaign: Campaign) -> list[PartRequest]:
    return db.session.scalars(
        select(PartRequest)
        .where(PartRequest.campaign_id == campaign.id, PartRequest.status == RequestStatus.OPEN)
        .options(selectinload(PartRequest.member))
        .order_by(PartRequest.created_at)
    ).all()


def campaign_counts(campaign: Campaign) -> tuple[int, int]:
    """(needs, shops that posted) in the campaign."""
    row = db.session.execute(
        select(func.count(Need.id), func.count(func.distinct(Need.member_id))).where(
            Need.campaign_id == campaign.id
        )
    ).one()
    return int(row[0]), int(row[1])
