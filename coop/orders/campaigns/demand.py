"""What the campaign adds up to: demand per part, live signals, who posted what.

Every function here runs a fixed number of queries, whatever the number of
needs, so the shop's page and the manager's view stay fast at 30,000 needs.
"""

import threading
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Select, bindparam, exists, func, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.util import identity_key

from coop.accounts.models import Member
from coop.extensions import db
from coop.money import quantize
from coop.orders.campaigns.models import Campaign, Need, PartRequest, RequestStatus
from coop.orders.campaigns.signals import PartSignal, part_signal
from coop.suppliers import versions
from coop.suppliers.models import Offer, Part, PriceTier, Supplier
from coop.suppliers.origin import Origin, classify
from coop.suppliers.pricing import Terms
from coop.suppliers.search import parts_matching


@dataclass(frozen=True, slots=True)
class OfferInfo:
    """What the live signals need of an offer, read as plain values (no ORM objects)."""

    id: int
    supplier_id: int
    supplier_code: str
    supplier_name: str
    origin: Origin
    terms: Terms


@dataclass(frozen=True)
class PartDemand:
    part: Part
    signal: PartSignal
    offers: dict[int, OfferInfo]  # by id: OfferSignal.key is the offer id
    shops: int | None = None  # how many shops ask for it: counted when some parts are asked


def _usable(parts) -> Select:
    """The usable offers' rows of `parts` (an IN's right side) on the bound `day`, one per
    current tier: active supplier, offer valid that day."""
    return (
        select(
            Offer.id,
            Offer.part_id,
            Offer.pack_size,
            Offer.moq,
            Offer.made_in,
            Supplier.id,
            Supplier.code,
            Supplier.name,
            Supplier.is_local,
            PriceTier.min_qty,
            PriceTier.unit_price,
        )
        .join(Supplier, Offer.supplier_id == Supplier.id)
        .join(PriceTier, (PriceTier.offer_id == Offer.id) & PriceTier.valid_to.is_(None))
        .where(
            Offer.part_id.in_(parts),
            Supplier.is_active.is_(True),
            (Offer.valid_until.is_(None)) | (Offer.valid_until >= bindparam("day")),
        )
        .order_by(Offer.part_id, Offer.id, PriceTier.min_qty)
    )


# Built once: a statement made per call cost more to build and to key than to run.
_USABLE_OF_PARTS = _usable(bindparam("part_ids", expanding=True))

# The usable offers by part, kept per process at the catalogue's version and the day
# (coop.suppliers.versions): the shops' campaign pages and their counters, refreshed every
# 20 s, show the same parts' offers all day. Shared by a worker's threads, bounded.
_OFFERS: dict[tuple[str, date], dict[int, tuple[OfferInfo, ...]]] = {}
_OFFERS_LOCK = threading.Lock()
OFFERS_KEPT = 4  # (version, day) entries; each holds at most the catalogue's parts


def usable_offers(part_ids, day: date) -> dict[int, tuple[OfferInfo, ...]]:
    """Offers a campaign can use on `day`, by part: active supplier, valid, priced.

    `part_ids` is a collection, or a query of part ids (a constant SQL text the server can
    cache). The offers of listed parts are kept at the catalogue's version, but in a
    transaction that changed the catalogue, which reads them from their rows.
    """
    connection = db.session.connection()
    if isinstance(part_ids, Select):
        return _grouped(connection.execute(_usable(part_ids), {"day": day}).all())
    session = db.session()
    version = versions.current(session)  # first: what is kept is never older than it
    key = None if version is None or versions.touched(session) else (version, day)
    with _OFFERS_LOCK:
        kept = _OFFERS.get(key, {})
        found = {part_id: kept[part_id] for part_id in part_ids if part_id in kept}
    missing = sorted(set(part_ids) - found.keys())
    if missing:
        rows = connection.execute(_USABLE_OF_PARTS, {"part_ids": missing, "day": day}).all()
        read = _grouped(rows)
        made = {part_id: read.get(part_id, ()) for part_id in missing}
        found.update(made)
        if key is not None:
            with _OFFERS_LOCK:
                if key not in _OFFERS and len(_OFFERS) >= OFFERS_KEPT:
                    _OFFERS.pop(next(iter(_OFFERS)))  # the oldest entry goes
                _OFFERS.setdefault(key, {}).update(made)
    return {part_id: offers for part_id, offers in found.items() if offers}


def _grouped(rows) -> dict[int, tuple[OfferInfo, ...]]:
    """The offers of the rows (one per tier, by part, offer and tier), by part.

    Plain rows, fetched at once: at 300 parts x 3 offers, loading ORM objects doubled the
    demand view's time, and iterating the cursor fetched row by row.
    """
    grouped: dict[int, list[OfferInfo]] = {}
    current, tiers = None, []
    for row in rows:
        if current is not None and row[0] != current[0]:
            _add_offer(grouped, current, tiers)
            tiers = []
        current = row
        tiers.append((row[9], row[10]))
    if current is not None:
        _add_offer(grouped, current, tiers)
    return {part_id: tuple(offers) for part_id, offers in grouped.items()}


def _add_offer(grouped: dict, row, tiers: list) -> None:
    offer_id, part_id, pack, moq, made_in, supplier_id, code, name, is_local = row[:9]
    terms = Terms(pack_size=pack, moq=moq, tiers=tuple(tiers))
    info = OfferInfo(offer_id, supplier_id, code, name, classify(made_in, is_local), terms)
    grouped.setdefault(part_id, []).append(info)


# Built once, as the offers' statement. Per part of the campaign: units, tolerance.
_TOTALS = (
    select(Need.part_id, func.sum(Need.quantity), func.sum(Need.tolerance))
    .where(Need.campaign_id == bindparam("campaign_id"))
    .group_by(Need.part_id)
)
# For a page's rows, with the shops asking for each: a COUNT(DISTINCT) over every need of the
# campaign doubled the demand view's aggregation time (shops_per_part counts them all, for the
# CSV).
_ROW_TOTALS = _TOTALS.add_columns(func.count(func.distinct(Need.member_id))).where(
    Need.part_id.in_(bindparam("part_ids", expanding=True))
)


def demand(campaign: Campaign, part_ids=None) -> list[PartDemand]:
    """Demand and signals per part requested in the campaign (optionally only some parts,
    then with the shops asking for each: a page's rows)."""
    if part_ids is None:
        rows = db.session.execute(_TOTALS, {"campaign_id": campaign.id})
    else:
        values = {"campaign_id": campaign.id, "part_ids": list(part_ids)}
        rows = db.session.execute(_ROW_TOTALS, values)
    totals = {row[0]: row[1:] for row in rows}
    parts = _parts(totals)
    wanted = (
        demanded_parts(campaign).with_only_columns(Part.id).order_by(None)
        if part_ids is None
        else list(totals)
    )
    offers = usable_offers(wanted, campaign.order_date)
    result = []
    for part_id, (requested, tolerance, *shops) in totals.items():
        part_offers = offers.get(part_id, ())
        signal = part_signal(int(requested), int(tolerance), [(o.id, o.terms) for o in part_offers])
        by_id = {o.id: o for o in part_offers}
        result.append(PartDemand(parts[part_id], signal, by_id, *shops))
    result.sort(key=lambda d: d.part.sku)
    return result


def _parts(ids) -> dict[int, Part]:
    """The parts of these ids; those the session already holds (a page's rows loaded them)
    are not read again."""
    found: dict[int, Part] = {}
    for part_id in ids:
        part = db.session.identity_map.get(identity_key(Part, part_id))
        if part is not None:
            found[part_id] = part
    missing = [part_id for part_id in ids if part_id not in found]
    if missing:
        found.update(
            (p.id, p) for p in db.session.scalars(select(Part).where(Part.id.in_(missing)))
        )
    return found


def demanded_parts(campaign: Campaign, query: str = "") -> Select:
    """Parts requested in the campaign, by SKU, or matching a search best first."""
    # EXISTS probes the (campaign, part) index once per part instead of
    # reading every need of the campaign.
    requested = exists().where(Need.campaign_id == campaign.id, Need.part_id == Part.id)
    return parts_matching(query).where(requested)


def parts_without_offer(campaign: Campaign) -> list[Part]:
    """Requested parts that no usable offer covers: the manager must find a supplier."""
    usable = (
        select(Offer.id)
        .join(Supplier, Offer.supplier_id == Supplier.id)
        .join(PriceTier, (PriceTier.offer_id == Offer.id) & PriceTier.valid_to.is_(None))
        .where(
            Offer.part_id == Part.id,
            Supplier.is_active.is_(True),
            (Offer.valid_until.is_(None)) | (Offer.valid_until >= campaign.order_date),
        )
    )
    return db.session.scalars(demanded_parts(campaign).where(~usable.exists())).all()


def shops_per_part(campaign: Campaign) -> dict[int, int]:
    """How many shops ask for each part of the campaign (a page's rows have theirs from
    `demand`)."""
    stmt = (
        select(Need.part_id, func.count(func.distinct(Need.member_id)))
        .where(Need.campaign_id == campaign.id)
        .group_by(Need.part_id)
    )
    return dict(db.session.execute(stmt).tuples().all())


def members_without_needs(campaign: Campaign) -> list[Member]:
    # NOT EXISTS rides the (campaign, member, ref) unique index; NOT IN scanned every need.
    posted = exists().where(Need.campaign_id == campaign.id, Need.member_id == Member.id)
    return db.session.scalars(
        select(Member).where(Member.is_active.is_(True), ~posted).order_by(Member.code)
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


def by_supplier(rows: list[PartDemand]) -> list[tuple]:
    """Indicative goods per supplier, each part counted at its best offer:
    (supplier id, name, parts, orderable units, amount), largest amount first.
    Each part's line is rounded to the cent before adding, as on an order."""
    totals: dict[tuple[int, str], tuple[int, int, Decimal]] = {}
    for row in rows:
        best = row.signal.best
        if best is None:
            continue
        offer = row.offers[best.key]
        key = (offer.supplier_id, offer.supplier_name)
        parts, units, amount = totals.get(key, (0, 0, Decimal("0.00")))
        line = quantize(best.orderable * best.unit_price)
        totals[key] = (parts + 1, units + best.orderable, amount + line)
    return sorted(((*key, *value) for key, value in totals.items()), key=lambda t: -t[4])
