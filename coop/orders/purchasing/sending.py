"""Sending every draft purchase order of a campaign at once, as a job that reports each outcome."""

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from coop.accounts.models import User
from coop.activity.models import ActorKind
from coop.activity.recording import acting_as
from coop.errors import DomainError
from coop.extensions import db
from coop.orders.campaigns.locking import lock_campaign
from coop.orders.campaigns.models import Campaign
from coop.orders.purchasing.models import (
    OrderSending,
    OrderSendingItem,
    OrderStatus,
    PurchaseOrder,
    SendOutcome,
)
from coop.orders.purchasing.ordering import send_order
from coop.suppliers.models import Supplier

log = logging.getLogger(__name__)


def draft_orders(campaign: Campaign) -> list[PurchaseOrder]:
    """The campaign's purchase orders not sent yet, by supplier code."""
    return db.session.scalars(
        select(PurchaseOrder)
        .join(PurchaseOrder.supplier)
        .where(PurchaseOrder.campaign_id == campaign.id, PurchaseOrder.status == OrderStatus.DRAFT)
        .options(selectinload(PurchaseOrder.supplier), selectinload(PurchaseOrder.lines))
        .order_by(Supplier.code, PurchaseOrder.number)
    ).all()


def start_sending(campaign: Campaign, *, by: User | None, at: datetime) -> OrderSending:
    """Record a sending of the campaign's drafts; `send_job` then sends them one by one."""
    drafts = draft_orders(campaign)
    if not drafts:
        raise DomainError(f"La campagne {campaign.code} n'a aucun bon de commande à envoyer.")
    sending = OrderSending(campaign=campaign, created_by_id=by.id if by else None, created_at=at)
    sending.items = [OrderSendingItem(order=order) for order in drafts]
    db.session.add(sending)
    db.session.flush()
    return sending


def send_job(sending_id: int, at: datetime) -> None:
    """Send each order of a sending, one transaction each; commits (a job of its own).

    An order sent meanwhile (by another sending, or from its own page) is skipped: the
    campaign's row, then the order's, are locked before its status is read, so two
    sendings at once send each order once.
    """
    item_ids = db.session.scalars(
        select(OrderSendingItem.id)
        .where(OrderSendingItem.sending_id == sending_id, OrderSendingItem.outcome.is_(None))
        .order_by(OrderSendingItem.id)
    ).all()
    sending = db.session.get(OrderSending, sending_id)
    by_id = sending.created_by_id if sending is not None else None
    for item_id in item_ids:
        item = db.session.get(OrderSendingItem, item_id)
        by = db.session.get(User, by_id) if by_id is not None else None
        with acting_as(ActorKind.JOB):
            outcome, message = _send_one(item.order, at=at, by=by)
        if outcome is SendOutcome.FAILED:
            item = db.session.get(OrderSendingItem, item_id)
        item.outcome, item.message = outcome, message
        db.session.commit()


def _send_one(
    order: PurchaseOrder, *, at: datetime, by: User | None = None
) -> tuple[SendOutcome, str | None]:
    try:
        lock_campaign(order.campaign)
        db.session.execute(
            select(PurchaseOrder.id).where(PurchaseOrder.id == order.id).with_for_update()
        )
        db.session.refresh(order)
        if order.status is not OrderStatus.DRAFT:
            return SendOutcome.SKIPPED, None
        send_order(order, at=at, by=by)
        return SendOutcome.SENT, None
    except DomainError as error:
        db.session.rollback()
        return SendOutcome.FAILED, error.message
    except Exception:
        # One order the job cannot send must not stop the others, nor leave the page waiting.
        db.session.rollback()
        log.exception("sending purchase order %s failed", order.id)
        return SendOutcome.FAILED, "Erreur technique pendant l'envoi : réessayez plus tard."


def get_sending(sending_id: int) -> OrderSending | None:
    return db.session.scalar(
        select(OrderSending)
        .where(OrderSending.id == sending_id)
        .options(
            selectinload(OrderSending.items)
            .selectinload(OrderSendingItem.order)
            .selectinload(PurchaseOrder.supplier)
        )
    )
