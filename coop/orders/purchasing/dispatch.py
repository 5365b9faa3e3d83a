"""Dispatch from the hub: each shop's picking list, and who took its goods, when.

For a campaign delivered straight to the shops, the same confirmation records
the delivery: who received the goods at the shop, and when.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from coop.accounts.models import Member, User
from coop.activity.recording import changes, record
from coop.clock import to_local, today
from coop.errors import DomainError, NotFound
from coop.extensions import db
from coop.i18n import N_, sorted_by_name
from coop.orders.campaigns.locking import lock_campaign
from coop.orders.campaigns.models import (
    CAMPAIGN_STATUS_LABELS,
    Campaign,
    CampaignStatus,
    DeliveryMode,
    Need,
)
from coop.orders.purchasing.models import (
    Allocation,
    Handover,
    OrderLine,
    OrderStatus,
    PurchaseOrder,
)

# Goods exist to hand over only once the plan is committed.
DISPATCHABLE = frozenset(
    {
        CampaignStatus.POOLED,
        CampaignStatus.ORDERED,
        CampaignStatus.RECEIVED,
        CampaignStatus.INVOICED,
        CampaignStatus.ARCHIVED,
    }
)
TAKEN_BY_MAX = 120


class DispatchStatus(StrEnum):
    TO_HAND = "to_hand"  # goods arrived, not yet handed over
    HANDED = "handed"
    WAITING = "waiting"  # nothing of the shop has arrived yet
    NOTHING = "nothing"  # everything arrived, none of it for the shop (short deliveries)


STATUS_WORDS = {
    DeliveryMode.HUB: {
        DispatchStatus.TO_HAND: N_("à remettre"),
        DispatchStatus.HANDED: N_("remis"),
        DispatchStatus.WAITING: N_("en attente"),
        DispatchStatus.NOTHING: N_("rien à remettre"),
    },
    DeliveryMode.SHOPS: {
        DispatchStatus.TO_HAND: N_("à confirmer"),
        DispatchStatus.HANDED: N_("livré"),
        DispatchStatus.WAITING: N_("en attente"),
        DispatchStatus.NOTHING: N_("rien à livrer"),
    },
}


@dataclass(frozen=True)
class PickItem:
    """One allocation of the shop: what it ordered and, once its line arrived, what it gets."""

    allocation: Allocation

    @property
    def need(self) -> Need:
        return self.allocation.need

    @property
    def line(self) -> OrderLine:
        return self.allocation.line

    @property
    def supplier(self):
        return self.line.order.supplier

    @property
    def allocated(self) -> int:
        return self.allocation.quantity

    @property
    def is_ready(self) -> bool:
        return self.allocation.received is not None

    @property
    def units(self) -> int:
        """Units to hand over: what arrived for the shop, nothing while its line is pending."""
        return self.allocation.received or 0

    @property
    def short(self) -> int:
        return self.allocated - self.units if self.is_ready else 0

    @property
    def packs(self) -> tuple[int, int] | None:
        """(whole packs, loose units) of the units, when the line comes in packs."""
        size = self.line.pack_size
        count = self.units if self.is_ready else self.allocated
        if size <= 1 or count < size:
            return None
        return divmod(count, size)


@dataclass
class PickingList:
    campaign: Campaign
    member: Member
    items: list[PickItem]
    handover: Handover | None

    @property
    def ready(self) -> list[PickItem]:
        return [i for i in self.items if i.is_ready]

    @property
    def pending(self) -> list[PickItem]:
        return [i for i in self.items if not i.is_ready]

    @property
    def units(self) -> int:
        return sum(i.units for i in self.items)

    @property
    def units_pending(self) -> int:
        return sum(i.allocated for i in self.pending)

    @property
    def units_short(self) -> int:
        return sum(i.short for i in self.items)

    @property
    def is_complete(self) -> bool:
        """Everything of the shop has arrived (short deliveries included)."""
        return all(i.is_ready for i in self.items)

    @property
    def has_goods(self) -> bool:
        return self.units > 0

    @property
    def status(self) -> DispatchStatus:
        return _status(self.handover, self.units, bool(self.pending))

    @property
    def is_hub(self) -> bool:
        return self.campaign.delivery_mode is DeliveryMode.HUB

    @property
    def document_number(self) -> str:
        return f"{self.campaign.code}-{self.member.code}"


@dataclass
class ShopDispatch:
    """A line of the dispatch list: one shop, its counts and its handover."""

    member: Member
    ready_lines: int = 0
    pending_lines: int = 0
    units: int = 0
    units_pending: int = 0
    handover: Handover | None = None

    @property
    def status(self) -> DispatchStatus:
        return _status(self.handover, self.units, self.pending_lines > 0)


@dataclass
class DispatchBoard:
    rows: list[ShopDispatch]
    counts: dict[DispatchStatus, int] = field(default_factory=dict)


def _status(handover: Handover | None, units: int, has_pending: bool) -> DispatchStatus:
    if handover is not None:
        return DispatchStatus.HANDED
    if units > 0:
        return DispatchStatus.TO_HAND
    return DispatchStatus.WAITING if has_pending else DispatchStatus.NOTHING


def status_label(campaign: Campaign, status: DispatchStatus) -> str:
    return STATUS_WORDS[campaign.delivery_mode][status]


# --- reading --------------------------------------------------------------------------------


def ensure_dispatchable(campaign: Campaign) -> None:
    if campaign.status not in DISPATCHABLE:
        raise DomainError(
            f"La campagne {campaign.code} est {CAMPAIGN_STATUS_LABELS[campaign.status]} : "
            "rien à remettre avant que son plan de mutualisation soit validé."
        )


def get_shop(code: str) -> Member:
    member = db.session.scalar(select(Member).where(Member.code == code.strip().upper()))
    if member is None:
        raise NotFound(f"Aucun atelier {code.strip().upper()}.")
    return member


def _allocations(campaign: Campaign, member: Member | None = None) -> list[Allocation]:
    """The campaign's allocations on orders still alive: a cancelled order brings nothing."""
    query = (
        select(Allocation)
        .join(Allocation.need)
        .join(Allocation.line)
        .join(OrderLine.order)
        .where(Need.campaign_id == campaign.id, PurchaseOrder.status != OrderStatus.CANCELLED)
        .options(
            selectinload(Allocation.need).selectinload(Need.member),
            selectinload(Allocation.line).selectinload(OrderLine.part),
            selectinload(Allocation.line)
            .selectinload(OrderLine.order)
            .selectinload(PurchaseOrder.supplier),
        )
    )
    if member is not None:
        query = query.where(Need.member_id == member.id)
    return db.session.scalars(query).all()


def _handovers(campaign: Campaign) -> dict[int, Handover]:
    return {
        h.member_id: h
        for h in db.session.scalars(select(Handover).where(Handover.campaign_id == campaign.id))
    }


def picking_list(campaign: Campaign, member: Member) -> PickingList:
    """What the hub hands over to one shop: its lines by supplier, ready ones first."""
    ensure_dispatchable(campaign)
    allocations = _allocations(campaign, member)
    if not allocations:
        raise NotFound(f"{member.name} n'a rien reçu du plan de la campagne {campaign.code}.")
    items = sorted(
        (PickItem(a) for a in allocations),
        key=lambda i: (not i.is_ready, i.supplier.name.casefold(), i.line.part.sku, i.need.ref),
    )
    handover = db.session.scalar(
        select(Handover).where(Handover.campaign_id == campaign.id, Handover.member_id == member.id)
    )
    return PickingList(campaign, member, items, handover)


def dispatch_board(campaign: Campaign) -> DispatchBoard:
    """Every shop served by the campaign with its counts and handover, by name."""
    ensure_dispatchable(campaign)
    rows: dict[int, ShopDispatch] = {}
    for allocation in _allocations(campaign):
        member = allocation.need.member
        row = rows.setdefault(member.id, ShopDispatch(member))
        if allocation.received is None:
            row.pending_lines += 1
            row.units_pending += allocation.quantity
        else:
            row.ready_lines += 1
            row.units += allocation.received
    for member_id, handover in _handovers(campaign).items():
        if member_id in rows:
            rows[member_id].handover = handover
    ordered = sorted_by_name(
        sorted(rows.values(), key=lambda r: r.member.code), lambda r: r.member.name
    )
    counts: dict[DispatchStatus, int] = defaultdict(int)
    for row in ordered:
        counts[row.status] += 1
    return DispatchBoard(ordered, {s: counts.get(s, 0) for s in DispatchStatus})


def filter_board(
    rows: list[ShopDispatch], search: str = "", status: DispatchStatus | None = None
) -> list[ShopDispatch]:
    """Rows whose shop name or code contains `search`, in `status` when given."""
    needle = search.strip().casefold()
    return [
        r
        for r in rows
        if (not needle or needle in r.member.name.casefold() or needle in r.member.code.casefold())
        and (status is None or r.status is status)
    ]


def member_handovers(member: Member) -> dict[int, Handover]:
    """The shop's handovers by campaign id (its home page's "À venir")."""
    return {
        h.campaign_id: h
        for h in db.session.scalars(select(Handover).where(Handover.member_id == member.id))
    }


# --- confirming -----------------------------------------------------------------------------


def confirm_handover(
    campaign: Campaign,
    member: Member,
    *,
    taken_by: str,
    handed_at: datetime,
    note: str | None,
    by: User | None,
    at: datetime,
) -> Handover:
    """Record that a shop took its goods (or was delivered): who, when; once per campaign."""
    # The campaign's row serialises two people confirming the same shop at once.
    lock_campaign(campaign)
    taken_by = _check(campaign, member, taken_by, handed_at, at)
    existing = db.session.scalar(
        select(Handover).where(Handover.campaign_id == campaign.id, Handover.member_id == member.id)
    )
    if existing is not None:
        raise DomainError(
            f"{_done(campaign, existing)} : corrigez cette confirmation plutôt que d'en "
            "enregistrer une seconde."
        )
    handover = Handover(
        campaign=campaign,
        member=member,
        taken_by=taken_by,
        handed_at=handed_at,
        recorded_by_id=by.id if by else None,
        note=_clean(note),
    )
    db.session.add(handover)
    db.session.flush()
    _record_handover("campaign.handed_over", handover, _handover_terms(handover), by)
    return handover


def correct_handover(
    handover: Handover,
    *,
    taken_by: str,
    handed_at: datetime,
    note: str | None,
    by: User | None,
    at: datetime,
) -> Handover:
    """Correct who took the goods and when (a typo, a second trip to the hub)."""
    lock_campaign(handover.campaign)
    before = _handover_terms(handover)
    handover.taken_by = _check(handover.campaign, handover.member, taken_by, handed_at, at)
    handover.handed_at = handed_at
    handover.note = _clean(note)
    handover.recorded_by_id = by.id if by else handover.recorded_by_id
    db.session.flush()
    if changed := changes(before, _handover_terms(handover)):
        _record_handover("campaign.handover_corrected", handover, changed, by)
    return handover


def _handover_terms(handover: Handover) -> dict:
    return {
        "taken_by": handover.taken_by,
        "handed_at": to_local(handover.handed_at).strftime("%Y-%m-%d %H:%M"),
        "comment": handover.note,
    }


def _record_handover(action: str, handover: Handover, details: dict, by: User | None) -> None:
    """On the campaign's history, for the shop that took its goods (it sees its own)."""
    record(
        action,
        object_type="campaign",
        object_id=handover.campaign.id,
        label=handover.campaign.code,
        member=handover.member,
        details=details,
        actor=by,
    )


def _check(
    campaign: Campaign, member: Member, taken_by: str, handed_at: datetime, at: datetime
) -> str:
    """The person's name, cleaned; refuses what cannot be a real handover."""
    ensure_dispatchable(campaign)
    hub = campaign.delivery_mode is DeliveryMode.HUB
    name = " ".join((taken_by or "").split())
    if not name:
        raise DomainError(
            "Indiquez le nom de la personne qui a pris les marchandises."
            if hub
            else "Indiquez le nom de la personne qui a réceptionné la livraison.",
            field="taken_by",
        )
    if len(name) > TAKEN_BY_MAX:
        raise DomainError(f"Le nom ne peut dépasser {TAKEN_BY_MAX} caractères.", field="taken_by")
    if handed_at > at:
        raise DomainError(
            "La date ne peut pas être dans le futur : confirmez une fois les marchandises "
            + ("remises." if hub else "livrées."),
            field="handed_at",
        )
    arrived = db.session.scalar(
        select(Allocation.id)
        .join(Allocation.need)
        .where(
            Need.campaign_id == campaign.id, Need.member_id == member.id, Allocation.received > 0
        )
        .limit(1)
    )
    if arrived is None:
        raise DomainError(
            f"Aucune marchandise de la campagne {campaign.code} n'est arrivée pour "
            f"{member.name} : rien à " + ("remettre." if hub else "confirmer.")
        )
    return name


def _done(campaign: Campaign, handover: Handover) -> str:
    when = to_local(handover.handed_at).strftime("%d/%m/%Y à %H:%M")
    if campaign.delivery_mode is DeliveryMode.HUB:
        return f"Déjà remis le {when} à {handover.taken_by}"
    return f"Déjà livré le {when}, réceptionné par {handover.taken_by}"


def _clean(note: str | None) -> str | None:
    return (note or "").strip() or None


# --- the document ---------------------------------------------------------------------------


def render_picking_pdf(picking: PickingList) -> bytes:
    """The bon de remise as a PDF, in French whatever the reader's language."""
    config = current_app.config
    coop = {
        key: config[f"COOP_{key.upper()}"]
        for key in ("name", "address", "hub_address", "siret", "email", "phone")
    }
    with force_locale("fr"):
        html = render_template(
            "orders/purchasing/dispatch_pdf.html",
            picking=picking,
            coop=coop,
            issued_on=today(),
            labels=STATUS_WORDS[picking.campaign.delivery_mode],
        )
    # WeasyPrint takes half a second to import: only the processes that make a PDF load it.
    from coop.pdf import render_pdf

    return render_pdf(html)
