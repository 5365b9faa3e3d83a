"""Campaigns: create, edit, open, close, reopen; what is due at a given moment."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from coop.activity.models import ActorKind
from coop.activity.recording import acting_as, change, changes, record
from coop.clock import to_local
from coop.errors import DomainError, NotFound
from coop.extensions import db
from coop.orders.campaigns import notifications
from coop.orders.campaigns.locking import lock_campaign
from coop.orders.campaigns.models import (
    CAMPAIGN_STATUS_LABELS,
    TRANSITIONS,
    Campaign,
    CampaignStatus,
    DeliveryMode,
)
from coop.orders.campaigns.rules import ShortageRule, SplitKey
from coop.suppliers.origin import Origin
from coop.uniqueness import refusing_duplicates

EDITABLE = frozenset({CampaignStatus.DRAFT, CampaignStatus.OPEN})
REMINDER_BEFORE = timedelta(hours=48)
# The columns' sizes: the command line reaches the service without a form's Length.
MAX_CODE, MAX_TITLE = 20, 200


def get_campaign(code: str, *, lock: bool = False) -> Campaign:
    campaign = db.session.scalar(select(Campaign).where(Campaign.code == code.strip().upper()))
    if campaign is None:
        raise NotFound(f"Aucune campagne {code.strip().upper()}.")
    if lock:
        lock_campaign(campaign)
    return campaign


def create_campaign(
    code: str,
    title: str,
    order_date: date,
    *,
    at: datetime,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    delivery_on: date | None = None,
    delivery_mode: DeliveryMode = DeliveryMode.HUB,
    fee_rate: Decimal = Decimal("0"),
    penalties: dict[Origin, Decimal] | None = None,
    shortage_rule: ShortageRule = ShortageRule.PRO_RATA,
    shipping_key: SplitKey = SplitKey.VALUE,
    draft: bool = False,
) -> Campaign:
    """Create a campaign, open at once unless `draft` (spec/formats.md)."""
    code = code.strip().upper()
    if not code:
        raise DomainError("Le code de la campagne est obligatoire.", field="code")
    if len(code) > MAX_CODE:
        raise DomainError(
            f"Le code de la campagne tient en {MAX_CODE} caractères au plus.", field="code"
        )
    taken = DomainError(f"La campagne {code} existe déjà.", field="code")
    if db.session.scalar(select(Campaign.id).where(Campaign.code == code)):
        raise taken
    campaign = Campaign(code=code, status=CampaignStatus.DRAFT)
    update_campaign(
        campaign,
        title=title,
        order_date=order_date,
        opens_at=opens_at,
        closes_at=closes_at,
        delivery_on=delivery_on,
        delivery_mode=delivery_mode,
        fee_rate=fee_rate,
        penalties=penalties or {},
        shortage_rule=shortage_rule,
        shipping_key=shipping_key,
        at=at,
    )
    with refusing_duplicates(uq_campaigns_code=taken):
        db.session.add(campaign)  # only once its terms are valid: a refusal leaves nothing behind
        db.session.flush()
    record(
        "campaign.created",
        object_type="campaign",
        object_id=campaign.id,
        label=campaign.code,
        details=_terms(campaign),
    )
    if not draft:
        change_status(campaign, CampaignStatus.OPEN, at=at)
    return campaign


def update_campaign(
    campaign: Campaign,
    *,
    title: str,
    order_date: date,
    opens_at: datetime | None,
    closes_at: datetime | None,
    delivery_on: date | None,
    delivery_mode: DeliveryMode,
    fee_rate: Decimal,
    penalties: dict[Origin, Decimal],
    shortage_rule: ShortageRule = ShortageRule.PRO_RATA,
    shipping_key: SplitKey = SplitKey.VALUE,
    at: datetime,
) -> Campaign:
    """Change a campaign's terms while it is a draft or open."""
    # A new campaign (no id yet) is recorded as created by create_campaign, with its terms.
    before = _terms(campaign) if campaign.id is not None else None
    if campaign.status not in EDITABLE:
        raise DomainError("Une campagne close ne se modifie plus.")
    if not (title or "").strip():
        raise DomainError("Le titre est obligatoire.", field="title")
    if len(title.strip()) > MAX_TITLE:
        raise DomainError(f"Le titre tient en {MAX_TITLE} caractères au plus.", field="title")
    if opens_at and closes_at and opens_at >= closes_at:
        raise DomainError("La clôture doit suivre l'ouverture.", field="closes_at")
    if closes_at and closes_at <= at and campaign.status is CampaignStatus.OPEN:
        raise DomainError("La date de clôture est déjà passée.", field="closes_at")
    if closes_at and order_date < to_local(closes_at).date():
        raise DomainError(
            "La date de commande ne peut pas précéder la clôture.", field="order_date"
        )
    if delivery_on and delivery_on < order_date:
        raise DomainError("La livraison ne peut pas précéder la commande.", field="delivery_on")
    if not Decimal(0) <= fee_rate < 1:
        raise DomainError(
            "Frais de service : une fraction entre 0 et 1 (0,02 pour 2 %).", field="fee_rate"
        )
    for origin, value in penalties.items():
        if not Decimal(0) <= value < 1:
            raise DomainError(f"Pénalité {origin} : une fraction entre 0 et 1.", field="penalties")
        setattr(campaign, f"penalty_{Origin(origin).value}", value)
    campaign.title = title.strip()
    campaign.order_date = order_date
    campaign.opens_at = opens_at
    campaign.closes_at = closes_at
    campaign.delivery_on = delivery_on
    campaign.delivery_mode = DeliveryMode(delivery_mode)
    campaign.fee_rate = fee_rate
    campaign.shortage_rule = ShortageRule(shortage_rule)
    campaign.shipping_key = SplitKey(shipping_key)
    db.session.flush()
    if before is not None and (changed := changes(before, _terms(campaign))):
        record(
            "campaign.updated",
            object_type="campaign",
            object_id=campaign.id,
            label=campaign.code,
            details=changed,
        )
    return campaign


def _terms(campaign: Campaign) -> dict:
    """What the log keeps of a campaign's terms: plain values, times in Lyon's clock."""

    def local(moment: datetime | None) -> str | None:
        return to_local(moment).strftime("%Y-%m-%d %H:%M") if moment else None

    terms = {
        "title": campaign.title,
        "order_date": campaign.order_date,
        "opens_at": local(campaign.opens_at),
        "closes_at": local(campaign.closes_at),
        "delivery_on": campaign.delivery_on,
        "delivery_mode": campaign.delivery_mode,
        "fee_rate": _rate(campaign.fee_rate),
        "shortage_rule": campaign.shortage_rule,
        "shipping_key": campaign.shipping_key,
    }
    for origin in Origin:
        terms[f"penalty_{origin.value}"] = _rate(campaign.penalty(origin))
    return terms


def _rate(value: Decimal | None) -> str | None:
    """A rate as people write it: 0.1, not 0.1000 (the column's scale)."""
    return None if value is None else format(Decimal(value).normalize(), "f")


def change_status(
    campaign: Campaign, target: CampaignStatus, *, at: datetime, unpooling: bool = False
) -> Campaign:
    """Move a campaign along TRANSITIONS; refuse any other move with the reason.

    A pooled campaign goes back to closed only through `purchasing.undo_pooling`
    (`unpooling=True`), which cancels its draft purchase orders first.
    """
    if (
        campaign.status is CampaignStatus.POOLED
        and target is CampaignStatus.CLOSED
        and not (unpooling)
    ):
        raise DomainError(
            f"La campagne {campaign.code} est mutualisée : défaites la mutualisation "
            "depuis sa page Mutualisation."
        )
    if not campaign.can_become(target):
        raise DomainError(
            f"La campagne {campaign.code} est {CAMPAIGN_STATUS_LABELS[campaign.status]} : "
            f"elle ne peut pas passer à « {CAMPAIGN_STATUS_LABELS[target]} »."
        )
    if target is CampaignStatus.OPEN and campaign.closes_at and campaign.closes_at <= at:
        raise DomainError(
            "La date de clôture est passée : reportez-la avant d'ouvrir la campagne.",
            field="closes_at",
        )
    reopening = campaign.status is CampaignStatus.CLOSED
    unpooling = campaign.status is CampaignStatus.POOLED
    before = campaign.status
    campaign.status = target
    if target is CampaignStatus.OPEN:
        campaign.opened_at = at
        campaign.closed_at = None
        if not reopening:
            notifications.campaign_opened(campaign)
    elif target is CampaignStatus.CLOSED and not unpooling:
        campaign.closed_at = at
        notifications.campaign_closed(campaign)
    db.session.flush()
    record(
        "campaign.status_changed",
        object_type="campaign",
        object_id=campaign.id,
        label=campaign.code,
        details={"status": change(before, target)},
    )
    return campaign


def campaigns_to_close(at: datetime) -> list[Campaign]:
    """Open campaigns whose cutoff has passed, locked for closing."""
    return db.session.scalars(
        select(Campaign)
        .where(Campaign.status == CampaignStatus.OPEN, Campaign.closes_at <= at)
        .order_by(Campaign.closes_at)
        .with_for_update()
    ).all()


def close_due(at: datetime) -> list[Campaign]:
    """Close every open campaign whose cutoff has passed (`coop campaign close-due`)."""
    due = campaigns_to_close(at)
    with acting_as(ActorKind.JOB):
        for campaign in due:
            change_status(campaign, CampaignStatus.CLOSED, at=at)
    return due


def send_due_reminders(at: datetime) -> list[Campaign]:
    """Remind the shops of campaigns closing within 48 hours, once per campaign."""
    due = db.session.scalars(
        select(Campaign)
        .where(
            Campaign.status == CampaignStatus.OPEN,
            Campaign.reminder_sent_at.is_(None),
            Campaign.closes_at > at,
            Campaign.closes_at <= at + REMINDER_BEFORE,
        )
        .with_for_update()
    ).all()
    for campaign in due:
        notifications.campaign_closing_soon(campaign)
        campaign.reminder_sent_at = at
    db.session.flush()
    return due


def open_campaigns() -> list[Campaign]:
    return db.session.scalars(
        select(Campaign)
        .where(Campaign.status == CampaignStatus.OPEN)
        .order_by(Campaign.closes_at.is_(None), Campaign.closes_at)
    ).all()


def allowed_moves(campaign: Campaign) -> frozenset[CampaignStatus]:
    """The moves the campaign page offers (undoing a pooling has its own page)."""
    if campaign.status is CampaignStatus.POOLED:
        return TRANSITIONS[campaign.status] - {CampaignStatus.CLOSED}
    return TRANSITIONS[campaign.status]
