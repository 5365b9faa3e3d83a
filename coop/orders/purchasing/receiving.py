"""Receiving purchase orders: delivery notes, short and damaged units, and who gets what arrived.

A line received short is shared among the shops it serves by the campaign's rule
(coop.orders.shortage): requested units before tolerance units, then pro rata or
first posted, first served. Units beyond the order go to the coop's stock and
are billed to no shop. The split is frozen once the campaign is invoiced.
"""

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from coop.accounts.models import Member, User
from coop.activity.recording import change, record
from coop.clock import to_local, today
from coop.errors import DomainError
from coop.extensions import db
from coop.i18n import sorted_by_name
from coop.orders.campaigns.locking import lock_campaign
from coop.orders.campaigns.models import CAMPAIGN_STATUS_LABELS, CampaignStatus, DeliveryMode, Need
from coop.orders.purchasing.models import (
    ORDER_STATUS_LABELS,
    Allocation,
    OrderLine,
    OrderStatus,
    PurchaseOrder,
    Receipt,
    ReceiptLine,
)
from coop.orders.purchasing.ordering import (
    change_order_status,
    settle_campaign,
)
from coop.orders.purchasing.shortage import Claim, share_received

RECEIVABLE = frozenset({OrderStatus.SENT, OrderStatus.CONFIRMED, OrderStatus.PARTLY_RECEIVED})
# Once invoiced, what each shop got is on its invoice: receipts can no longer change it.
FROZEN = frozenset({CampaignStatus.INVOICED, CampaignStatus.ARCHIVED})
NOTE_REF_LENGTH = 60


def can_receive(order: PurchaseOrder) -> bool:
    return order.status in RECEIVABLE and order.campaign.status not in FROZEN


def check_closable_short(order: PurchaseOrder) -> None:
    """Refused unless the order is partly received and its campaign's split not frozen."""
    if order.campaign.status in FROZEN:
        raise _frozen(order)
    if order.status is not OrderStatus.PARTLY_RECEIVED:
        raise DomainError(
            f"Le bon de commande {order.number} est {ORDER_STATUS_LABELS[order.status]} : "
            "seul un bon de commande reçu en partie peut être soldé."
        )


def can_close_short(order: PurchaseOrder) -> bool:
    try:
        check_closable_short(order)
    except DomainError:
        return False
    return True


def record_receipt(
    order: PurchaseOrder,
    *,
    received_on: date,
    delivery_note_ref: str | None,
    quantities: Mapping[int, tuple[int, int]],
    member: Member | None = None,
    note: str | None = None,
    by: User | None = None,
    at: datetime,
) -> Receipt:
    """Record one delivery note: good and damaged units per line; re-share each line received."""
    # Campaign, then order, then its lines: the same order as committing a plan, so
    # two receipts (or a receipt and the campaign's invoicing) wait for each other
    # rather than both counting on what the other has not written yet.
    lock_campaign(order.campaign)
    _lock(order)
    _check_receivable(order)
    lines = {line.id: line for line in order.lines}
    delivery_note_ref = (delivery_note_ref or "").strip() or None
    note = (note or "").strip() or None
    if delivery_note_ref and len(delivery_note_ref) > NOTE_REF_LENGTH:
        raise DomainError(
            f"La référence du bon de livraison dépasse {NOTE_REF_LENGTH} caractères.",
            field="delivery_note_ref",
        )
    _check_date(order, received_on)
    _check_member(order, member)
    counted = _check_quantities(lines, quantities)

    receipt = Receipt(
        order=order,
        received_on=received_on,
        delivery_note_ref=delivery_note_ref,
        member=member,
        note=note,
        recorded_by=by,
        created_at=at,
    )
    for line_id, (good, damaged) in counted.items():
        receipt.lines.append(ReceiptLine(line_id=line_id, received=good, damaged=damaged))
    db.session.add(receipt)
    db.session.flush()
    record(
        "receipt.recorded",
        object_type="receipt",
        object_id=receipt.id,
        label=order.number,
        member=member,
        details={
            "delivery_note": delivery_note_ref,
            "received_on": received_on,
            "good": sum(good for good, _ in counted.values()),
            "damaged": sum(damaged for _, damaged in counted.values()),
        },
        actor=by,
    )

    share_order(order, touched=set(counted), by=by)
    db.session.flush()
    target = OrderStatus.RECEIVED if _is_complete(order) else OrderStatus.PARTLY_RECEIVED
    if order.status is not target:
        change_order_status(order, target, at=at, by=by)
    settle_campaign(order.campaign, at=at)
    db.session.flush()
    return receipt


def close_short(order: PurchaseOrder, *, at: datetime) -> None:
    """The rest of a partly received order will not come: close it, the shares are final."""
    lock_campaign(order.campaign)
    _lock(order)
    check_closable_short(order)
    # A line of which nothing ever arrived now gives its shops nothing, for good.
    for line in order.lines:
        for allocation in line.allocations:
            if allocation.received is None:
                allocation.received = 0
    change_order_status(order, OrderStatus.CLOSED, at=at)
    settle_campaign(order.campaign, at=at)
    db.session.flush()


# --- sharing what arrived ---------------------------------------------------------------------


def share_order(
    order: PurchaseOrder, *, touched: set[int] | None = None, by: User | None = None
) -> None:
    """Set each allocation's `received` on the lines `touched` (all by default) from the receipts.

    Recomputed from all the line's receipts each time, never incremented, so the
    result only depends on what was recorded, not on the order it was recorded in.
    Each shop whose units a shortage (or a later receipt) changes gets one log entry of
    its own, listing its lines' units before and after: the shop sees it, not the others'.
    """
    reshared: dict[Member, dict[str, dict]] = defaultdict(lambda: {"units": {}, "ordered": {}})
    rule = order.campaign.shortage_rule
    direct, pooled = _units_received(order)
    by_line: dict[int, list[Allocation]] = defaultdict(list)
    for allocation in _allocations(order):
        by_line[allocation.line_id].append(allocation)
    for line in order.lines:
        if touched is not None and line.id not in touched:
            continue
        if line.id not in pooled and line.id not in direct:
            continue  # nothing of it arrived yet: the shares stay unknown
        allocations = by_line[line.id]
        given = _share_line(allocations, direct.get(line.id, {}), pooled.get(line.id, 0), rule)
        for member, (was, got, ordered) in _reshares(allocations, given).items():
            reshared[member]["units"][line.part.sku] = change(was, got)
            reshared[member]["ordered"][line.part.sku] = ordered
        for allocation in allocations:
            allocation.received = given[allocation.id]
    db.session.flush()
    for member in sorted_by_name(reshared):
        record(
            "shortage.reallocated",
            object_type="purchase_order",
            object_id=order.id,
            label=order.number,
            member=member,
            details=reshared[member],
            actor=by,
        )


def _reshares(allocations: list[Allocation], given: Mapping[int, int]) -> dict[Member, tuple]:
    """Per shop, its units of the line (before, after, ordered) when that is news for the log:
    a share that changes, or a first share short of what was ordered (not a line received in
    full, which the receipt already says)."""
    before: dict[Member, int | None] = {}
    after: dict[Member, int] = defaultdict(int)
    ordered: dict[Member, int] = defaultdict(int)
    for allocation in allocations:
        member = allocation.need.member
        known = before.get(member, 0)
        if known is None or allocation.received is None:
            before[member] = None
        else:
            before[member] = known + allocation.received
        after[member] += given[allocation.id]
        ordered[member] += allocation.quantity
    return {
        member: (before[member], after[member], ordered[member])
        for member in after
        if before[member] != after[member]
        and not (before[member] is None and after[member] == ordered[member])
    }


def _share_line(allocations, direct: Mapping[int, int], pooled: int, rule) -> dict[int, int]:
    """Units per allocation: a shop's own parcels first, then what arrived at the hub."""
    claims = [
        Claim(
            id=a.id,
            requested=min(a.quantity, a.need.quantity),
            tolerance=a.quantity - min(a.quantity, a.need.quantity),
            rank=rank,
        )
        for rank, a in enumerate(allocations)  # already in posting order
    ]
    member_of = {a.id: a.need.member_id for a in allocations}
    given = dict.fromkeys(member_of, 0)
    # A parcel delivered straight to a shop is that shop's, whatever the others lack.
    for member_id, units in direct.items():
        own = [c for c in claims if member_of[c.id] == member_id]
        for claim_id, units_given in share_received(own, units, rule).items():
            given[claim_id] += units_given
    still_owed = [
        Claim(
            id=c.id,
            requested=max(0, c.requested - given[c.id]),
            tolerance=c.tolerance - max(0, given[c.id] - c.requested),
            rank=c.rank,
        )
        for c in claims
    ]
    for claim_id, units_given in share_received(still_owed, pooled, rule).items():
        given[claim_id] += units_given
    return given


def _units_received(order: PurchaseOrder) -> tuple[dict[int, dict[int, int]], dict[int, int]]:
    """Good units so far per line: per shop for direct deliveries, and at the hub."""
    rows = db.session.execute(
        select(ReceiptLine.line_id, Receipt.member_id, func.sum(ReceiptLine.received))
        .join(Receipt, ReceiptLine.receipt_id == Receipt.id)
        .where(Receipt.order_id == order.id)
        .group_by(ReceiptLine.line_id, Receipt.member_id)
    ).all()
    direct: dict[int, dict[int, int]] = defaultdict(dict)
    pooled: dict[int, int] = {}
    for line_id, member_id, units in rows:
        if member_id is None:
            pooled[line_id] = int(units)
        else:
            direct[line_id][member_id] = int(units)
    return direct, pooled


def _allocations(order: PurchaseOrder) -> list[Allocation]:
    """The order's allocations with their needs, in the order the needs were posted."""
    return db.session.scalars(
        select(Allocation)
        .join(Allocation.need)
        .join(Allocation.line)
        .where(OrderLine.order_id == order.id)
        .options(selectinload(Allocation.need))
        .order_by(Need.created_at, Need.id)
        .execution_options(populate_existing=True)
    ).all()


def _is_complete(order: PurchaseOrder) -> bool:
    """Every line got at least what was ordered, and every shop all of its allocation."""
    direct, pooled = _units_received(order)
    for line in order.lines:
        good = pooled.get(line.id, 0) + sum(direct.get(line.id, {}).values())
        if good < line.quantity:
            return False
    return all(a.received == a.quantity for a in _allocations(order))


# --- checks -----------------------------------------------------------------------------------


def _lock(order: PurchaseOrder) -> None:
    # The lines' cumulative units decide the shares: lock the order and its lines so
    # that a second receipt on them waits, then counts this one's units too.
    db.session.execute(
        select(PurchaseOrder.id).where(PurchaseOrder.id == order.id).with_for_update()
    )
    db.session.refresh(order)
    db.session.execute(select(OrderLine.id).where(OrderLine.order_id == order.id).with_for_update())


def _frozen(order: PurchaseOrder) -> DomainError:
    campaign = order.campaign
    return DomainError(
        f"La campagne {campaign.code} est {CAMPAIGN_STATUS_LABELS[campaign.status]} : "
        "la répartition est figée depuis la facturation, aucune réception ne peut plus la changer."
    )


def _check_receivable(order: PurchaseOrder) -> None:
    if order.campaign.status in FROZEN:
        raise _frozen(order)
    if order.status not in RECEIVABLE:
        raise DomainError(
            f"Le bon de commande {order.number} est {ORDER_STATUS_LABELS[order.status]} : "
            "seul un bon de commande envoyé, confirmé ou reçu en partie peut être réceptionné."
        )


def _check_date(order: PurchaseOrder, received_on: date | None) -> None:
    if received_on is None:
        raise DomainError("Indiquez la date de réception.", field="received_on")
    if received_on > today():
        raise DomainError(
            "La date de réception ne peut pas être dans le futur.", field="received_on"
        )
    if order.sent_at is not None and received_on < to_local(order.sent_at).date():
        raise DomainError(
            "La date de réception est antérieure à l'envoi du bon de commande "
            f"({to_local(order.sent_at):%d/%m/%Y}).",
            field="received_on",
        )


def _check_member(order: PurchaseOrder, member: Member | None) -> None:
    if order.delivery_mode is DeliveryMode.HUB:
        if member is not None:
            raise DomainError(
                f"Le bon de commande {order.number} est livré au lieu totem, pas dans un atelier.",
                field="member",
            )
        return
    if member is None:
        return  # the whole delivery came together: shared among the shops like at the hub
    served = {a.need.member_id for line in order.lines for a in line.allocations}
    if member.id not in served:
        raise DomainError(
            f"L'atelier {member.name} n'est servi par aucune ligne de ce bon de commande.",
            field="member",
        )


def _check_quantities(
    lines: Mapping[int, OrderLine], quantities: Mapping[int, tuple[int, int]]
) -> dict[int, tuple[int, int]]:
    """The lines with units in this receipt; refuse anything that is not a whole count."""
    counted = {}
    for line_id, units in quantities.items():
        if line_id not in lines:
            raise DomainError(
                "Une ligne indiquée n'appartient pas à ce bon de commande : rechargez la page."
            )
        line = lines[line_id]
        for value, field, label in zip(
            units, ("good", "damaged"), ("bonnes", "abîmées"), strict=True
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise DomainError(
                    f"{line.description} : le nombre d'unités {label} doit être un entier "
                    "positif ou nul.",
                    field=f"{field}_{line_id}",
                )
        if sum(units):
            counted[line_id] = tuple(units)
    if not counted:
        raise DomainError("Indiquez au moins une unité reçue (bonne ou abîmée).")
    return counted


# --- reading ----------------------------------------------------------------------------------


def order_receipts(order: PurchaseOrder) -> list[Receipt]:
    """The order's receipts, latest first, with their lines and who recorded them."""
    return db.session.scalars(
        select(Receipt)
        .where(Receipt.order_id == order.id)
        .options(
            selectinload(Receipt.lines),
            selectinload(Receipt.member),
            selectinload(Receipt.recorded_by),
        )
        .order_by(Receipt.received_on.desc(), Receipt.id.desc())
    ).all()


def served_members(order: PurchaseOrder) -> list[Member]:
    """The shops an order serves, by name: who a direct delivery can be for."""
    members = {a.need.member.id: a.need.member for line in order.lines for a in line.allocations}
    return sorted_by_name(sorted(members.values(), key=lambda m: m.code))
