"""Purchase orders: created from a committed pooling run, then sent, confirmed or cancelled."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import render_template
from flask_babel import force_locale
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from coop import mail
from coop.accounts.identity import letterhead
from coop.accounts.models import Member, User
from coop.activity.recording import change, record
from coop.clock import now, to_local, today
from coop.errors import DomainError, NotFound
from coop.extensions import db
from coop.i18n import sorted_by_name
from coop.numbering import next_value
from coop.orders.campaigns.lifecycle import change_status
from coop.orders.campaigns.locking import lock_campaign
from coop.orders.campaigns.models import (
    CAMPAIGN_STATUS_LABELS,
    Campaign,
    CampaignStatus,
    DeliveryMode,
    Need,
)
from coop.orders.pooling.models import PoolingRun, RunStatus
from coop.orders.pooling.plan import Decision, reason_json
from coop.orders.purchasing.models import (
    ORDER_STATUS_LABELS,
    Allocation,
    OrderLine,
    OrderStatus,
    PurchaseOrder,
)
from coop.suppliers.models import Offer, Part, Supplier
from coop.suppliers.origin import vat_rule
from coop.suppliers.search import (
    SearchQuery,
    begins_a_word,
    begins_a_word_of_name_or_identifiers,
)


def commit_run(run: PoolingRun, *, at: datetime | None = None) -> list[PurchaseOrder]:
    """Turn a finished run into draft purchase orders, one per supplier; the campaign is pooled.

    The plan committed is the one stored on the run, exactly as the manager reviewed it.
    """
    at = at or now()
    campaign = run.campaign
    lock_campaign(campaign)
    if campaign.status is not CampaignStatus.CLOSED:
        raise DomainError(
            f"La campagne {campaign.code} est {CAMPAIGN_STATUS_LABELS[campaign.status]} : "
            "seule une campagne close peut être validée."
        )
    if run.status is not RunStatus.DONE:
        raise DomainError("Ce calcul n'est pas terminé : attendez son résultat.")
    if campaign.closed_at is not None and run.created_at < campaign.closed_at:
        raise DomainError(
            "La campagne a été rouverte depuis ce calcul : relancez la mutualisation."
        )
    needs = {
        n.id: n for n in db.session.scalars(select(Need).where(Need.campaign_id == campaign.id))
    }
    plan = run.record
    if {d.need for d in plan.decisions} != set(needs):
        raise DomainError("Les besoins ont changé depuis ce calcul : relancez la mutualisation.")

    served = plan.served
    offers = {
        o.id: o
        for o in db.session.scalars(
            select(Offer)
            .where(Offer.id.in_({d.offer for d in served}))
            .options(selectinload(Offer.supplier), selectinload(Offer.part))
        )
    }
    by_supplier: dict[int, dict[int, list[Decision]]] = defaultdict(lambda: defaultdict(list))
    for decision in served:
        offer = offers[decision.offer]
        by_supplier[offer.supplier_id][offer.id].append(decision)

    year = to_local(at).year
    orders = []
    for supplier_id in sorted(by_supplier):
        lines = by_supplier[supplier_id]
        supplier = offers[next(iter(lines))].supplier
        order = PurchaseOrder(
            number=f"BC-{year}-{next_value(f'BC-{year}'):05d}",
            campaign=campaign,
            supplier=supplier,
            shipping_fee=plan.shipping_of(supplier.code),
            delivery_mode=campaign.delivery_mode,
            requested_delivery_on=_delivery_date(campaign, [offers[i] for i in lines]),
            created_at=at,
        )
        for offer_id in sorted(lines):
            offer, group = offers[offer_id], lines[offer_id]
            line = OrderLine(
                offer=offer,
                part=offer.part,
                supplier_ref=offer.supplier_ref,
                description=offer.part.name,
                pack_size=offer.pack_size,
                quantity=sum(d.units for d in group),
                unit_price=group[0].unit_price,
                tier_min_qty=group[0].tier_min_qty,
            )
            for decision in sorted(group, key=lambda d: d.need):
                line.allocations.append(
                    Allocation(need=needs[decision.need], quantity=decision.units)
                )
            order.lines.append(line)
        db.session.add(order)
        orders.append(order)
    for decision in plan.decisions:
        needs[decision.need].pooling_reason = reason_json(decision.why)
    run.committed_at = at
    change_status(campaign, CampaignStatus.POOLED, at=at)
    db.session.flush()
    record(
        "pooling.committed",
        object_type="pooling_run",
        object_id=run.id,
        label=campaign.code,
        details={"orders": [order.number for order in orders]},
    )
    return orders


def _delivery_date(campaign: Campaign, offers: list[Offer]):
    """The campaign's delivery day, or the day the slowest line can arrive."""
    if campaign.delivery_on is not None:
        return campaign.delivery_on
    lead = max((o.effective_lead_time_days or 0 for o in offers), default=0)
    return campaign.order_date + timedelta(days=lead)


def check_undoable(campaign: Campaign) -> None:
    """Refused unless the campaign is pooled and none of its orders has left the coop."""
    if campaign.status is not CampaignStatus.POOLED:
        raise DomainError(f"La campagne {campaign.code} n'est pas mutualisée.")
    if any(
        o.status not in (OrderStatus.DRAFT, OrderStatus.CANCELLED)
        for o in campaign_orders(campaign)
    ):
        raise DomainError(
            "Un bon de commande a déjà été envoyé : annulez-le auprès du fournisseur "
            "avant de défaire la mutualisation."
        )


def can_undo(campaign: Campaign) -> bool:
    try:
        check_undoable(campaign)
    except DomainError:
        return False
    return True


def undo_pooling(campaign: Campaign, *, at: datetime | None = None) -> None:
    """Back to a closed campaign while no purchase order has left the coop."""
    lock_campaign(campaign)
    check_undoable(campaign)
    cancelled = []
    for order in campaign_orders(campaign):
        for line in order.lines:
            for allocation in list(line.allocations):
                db.session.delete(allocation)
        if order.status is OrderStatus.DRAFT:
            order.status, order.cancelled_at = OrderStatus.CANCELLED, at or now()
            cancelled.append(order.number)
    for need in db.session.scalars(select(Need).where(Need.campaign_id == campaign.id)):
        need.pooling_reason = None
    change_status(campaign, CampaignStatus.CLOSED, at=at or now(), unpooling=True)
    db.session.flush()
    record(
        "pooling.undone",
        object_type="campaign",
        object_id=campaign.id,
        label=campaign.code,
        details={"cancelled": cancelled},
    )


# --- reading --------------------------------------------------------------------------------


def orders_query(
    campaign: Campaign | None = None, status: OrderStatus | None = None, search: str = ""
) -> Select:
    """Purchase orders, newest first; each word of `search` matches the number, the
    supplier (code, name, city) or a part on the order (name, SKU, EAN, references)."""
    query = (
        select(PurchaseOrder)
        .join(PurchaseOrder.supplier)
        .options(
            selectinload(PurchaseOrder.lines),
            selectinload(PurchaseOrder.supplier),
            selectinload(PurchaseOrder.campaign),
        )
        .order_by(PurchaseOrder.created_at.desc(), PurchaseOrder.number.desc())
    )
    if campaign is not None:
        query = query.where(PurchaseOrder.campaign_id == campaign.id)
    if status is not None:
        query = query.where(PurchaseOrder.status == status)
    for word in SearchQuery.parse(search).words:
        on_a_line = (
            select(OrderLine.id)
            .join(Part, Part.id == OrderLine.part_id)
            .where(
                OrderLine.order_id == PurchaseOrder.id,
                Part.search_text.like(begins_a_word_of_name_or_identifiers(word)),
            )
            .exists()
        )
        query = query.where(
            func.lower(PurchaseOrder.number).contains(word, autoescape=True)
            | Supplier.search_text.like(begins_a_word(word))
            | on_a_line
        )
    return query


def campaign_orders(campaign: Campaign) -> list[PurchaseOrder]:
    """A campaign's purchase orders by number: the order they were made in."""
    return db.session.scalars(
        select(PurchaseOrder)
        .where(PurchaseOrder.campaign_id == campaign.id)
        .options(selectinload(PurchaseOrder.lines).selectinload(OrderLine.allocations))
        .order_by(PurchaseOrder.number)
    ).all()


def history_objects(campaign: Campaign) -> list[tuple[str, int]]:
    """The log's objects whose entries a campaign's history gathers besides its own: its
    pooling runs and its purchase orders."""
    runs = db.session.scalars(select(PoolingRun.id).where(PoolingRun.campaign_id == campaign.id))
    orders = db.session.scalars(
        select(PurchaseOrder.id).where(PurchaseOrder.campaign_id == campaign.id)
    )
    return [("pooling_run", i) for i in runs] + [("purchase_order", i) for i in orders]


def ordered_campaigns() -> list[Campaign]:
    """Campaigns that have purchase orders, newest first (the order list's filter)."""
    return db.session.scalars(
        select(Campaign)
        .where(Campaign.id.in_(select(PurchaseOrder.campaign_id)))
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
    ).all()


def get_order(number: str) -> PurchaseOrder:
    order = db.session.scalar(
        select(PurchaseOrder)
        .where(PurchaseOrder.number == number)
        .options(
            selectinload(PurchaseOrder.lines)
            .selectinload(OrderLine.allocations)
            .selectinload(Allocation.need)
            .selectinload(Need.member)
        )
    )
    if order is None:
        raise NotFound(f"Bon de commande {number} introuvable.")
    return order


def member_outcome(campaign: Campaign, member) -> Select:
    """A shop's needs in a pooled campaign with what each gets, from whom (its own only)."""
    return (
        select(Need)
        .where(Need.campaign_id == campaign.id, Need.member_id == member.id)
        .options(
            selectinload(Need.part),
            selectinload(Need.allocation)
            .selectinload(Allocation.line)
            .selectinload(OrderLine.order)
            .selectinload(PurchaseOrder.supplier),
            selectinload(Need.allocation)
            .selectinload(Allocation.line)
            .selectinload(OrderLine.offer),
        )
        .order_by(Need.created_at, Need.id)
    )


# --- moving an order along ------------------------------------------------------------------


# The log's action for each move of an order.
STATUS_ACTIONS = {
    OrderStatus.SENT: "purchase_order.sent",
    OrderStatus.CONFIRMED: "purchase_order.confirmed",
    OrderStatus.PARTLY_RECEIVED: "purchase_order.partly_received",
    OrderStatus.RECEIVED: "purchase_order.received",
    OrderStatus.CLOSED: "purchase_order.closed",
    OrderStatus.CANCELLED: "purchase_order.cancelled",
}


def change_order_status(
    order: PurchaseOrder, target: OrderStatus, *, at: datetime, by: User | None = None
) -> None:
    """Move a purchase order along ORDER_TRANSITIONS; refuse any other move with the reason."""
    db.session.execute(
        select(PurchaseOrder.id).where(PurchaseOrder.id == order.id).with_for_update()
    )
    db.session.refresh(order)
    if not order.can_become(target):
        raise DomainError(
            f"Le bon de commande {order.number} est {ORDER_STATUS_LABELS[order.status]} : "
            f"il ne peut pas devenir « {ORDER_STATUS_LABELS[target]} »."
        )
    before = order.status
    order.status = target
    if target is OrderStatus.SENT:
        order.sent_at = at
    elif target is OrderStatus.CONFIRMED:
        order.confirmed_at = at
    elif target is OrderStatus.CANCELLED:
        order.cancelled_at = at
    campaign = order.campaign
    if target is OrderStatus.SENT and campaign.status is CampaignStatus.POOLED:
        # The first order out commits the coop: the campaign is ordered.
        change_status(campaign, CampaignStatus.ORDERED, at=at)
    db.session.flush()
    record(
        STATUS_ACTIONS[target],
        object_type="purchase_order",
        object_id=order.id,
        label=order.number,
        details={"status": change(before, target)},
        actor=by,
    )


SETTLED = frozenset({OrderStatus.RECEIVED, OrderStatus.CLOSED, OrderStatus.CANCELLED})


def settle_campaign(campaign: Campaign, *, at: datetime) -> None:
    """An ordered campaign is received once every order is received, closed or cancelled.

    Its cost split is stored by the caller (coop.orders.costs.splitting.store_received_split):
    purchasing sits below the cost split and never calls it.
    """
    if campaign.status is not CampaignStatus.ORDERED:
        return
    statuses = set(
        db.session.scalars(
            select(PurchaseOrder.status).where(PurchaseOrder.campaign_id == campaign.id)
        )
    )
    if statuses <= SETTLED and statuses - {OrderStatus.CANCELLED}:
        change_status(campaign, CampaignStatus.RECEIVED, at=at)


def cancel_order(order: PurchaseOrder, *, at: datetime) -> None:
    """Cancel an order until goods arrive; a supplier who already had it is told by e-mail."""
    # The campaign first, as a receipt does: whichever settles the campaign last sees
    # the other's order status.
    lock_campaign(order.campaign)
    change_order_status(order, OrderStatus.CANCELLED, at=at)
    settle_campaign(order.campaign, at=at)
    if order.sent_at is not None and order.supplier.email:
        mail.queue(
            order.supplier.email,
            f"Annulation du bon de commande {order.number} – {letterhead()['name']}",
            "purchase_order_cancelled",
            order=order,
            coop=letterhead(),
        )


# --- the document and sending it -----------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """What one shop receives from an order delivered to the shops."""

    member: Member
    items: list[tuple[OrderLine, int]]


def order_deliveries(order: PurchaseOrder) -> list[Delivery]:
    """Per shop, the lines and units it receives, shops by name."""
    by_member: dict[int, list[tuple[OrderLine, int]]] = defaultdict(list)
    members: dict[int, Member] = {}
    for line in order.lines:
        for allocation in line.allocations:
            member = allocation.need.member
            members[member.id] = member
            by_member[member.id].append((line, allocation.quantity))
    ordered = sorted_by_name(sorted(members.values(), key=lambda m: m.code))
    return [Delivery(m, by_member[m.id]) for m in ordered]


def order_recipient(order: PurchaseOrder) -> str:
    """The address the order is e-mailed to; refused when the supplier has none."""
    if not order.supplier.email:
        raise DomainError(
            f"Le fournisseur {order.supplier.name} n'a pas d'adresse e-mail : "
            "ajoutez-la à sa fiche avant d'envoyer le bon de commande."
        )
    return order.supplier.email


def render_order_pdf(order: PurchaseOrder) -> bytes:
    """The bon de commande as a PDF, in French whatever the reader's language."""
    with force_locale("fr"):
        html = render_template(
            "orders/purchasing/order_pdf.html",
            order=order,
            coop=letterhead(),
            deliveries=order_deliveries(order) if order.delivery_mode is DeliveryMode.SHOPS else [],
            issued_on=to_local(order.sent_at).date() if order.sent_at else today(),
            vat_rule=vat_rule(order.supplier.country),
        )
    # WeasyPrint takes half a second to import: only the processes that make a PDF load it.
    from coop.pdf import render_pdf

    return render_pdf(html)


def send_order(order: PurchaseOrder, *, at: datetime, by: User | None = None) -> None:
    """Mark the order sent and e-mail it to the supplier as a PDF, once the transaction commits."""
    recipient = order_recipient(order)
    change_order_status(order, OrderStatus.SENT, at=at, by=by)
    # Rendered now, not after the commit: the PDF attached is the order as it was sent.
    pdf = render_order_pdf(order)
    mail.queue(
        recipient,
        f"Bon de commande {order.number} – {letterhead()['name']}",
        "purchase_order",
        attachments=[(f"{order.number}.pdf", pdf, "application/pdf")],
        order=order,
        coop=letterhead(),
    )
