"""Campaign e-mails to the shops: opened, 48 hours before the cutoff, closed; a reminder to
the shops that have posted nothing yet."""

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select

from coop import mail
from coop.accounts.models import Member, Role, User
from coop.activity.recording import record
from coop.clock import to_local
from coop.errors import DomainError
from coop.extensions import db
from coop.orders.campaigns.demand import members_without_needs
from coop.orders.campaigns.locking import lock_campaign
from coop.orders.campaigns.models import Campaign, CampaignStatus, ShopReminder


def _addresses() -> list[tuple[int, str]]:
    """(shop, address) of every active shop: its active accounts' logins and its contact e-mail."""
    logins = (
        select(User.member_id, User.email)
        .join(User.member)
        .where(
            User.role_grants.any(role=Role.MEMBER),
            User.is_active.is_(True),
            Member.is_active.is_(True),
        )
    )
    contacts = select(Member.id, Member.email).where(
        Member.is_active.is_(True), Member.email.is_not(None), Member.email != ""
    )
    # Logins first: when a login and a contact address differ only in case, the login is kept.
    return [
        (shop, address)
        for query in (logins.order_by(User.email), contacts.order_by(Member.email))
        for shop, address in db.session.execute(query)
    ]


def _recipients() -> list[str]:
    """Each address once, whatever its case: a login is often the shop's contact address."""
    unique = {}
    for _, address in _addresses():
        unique.setdefault(address.strip().lower(), address.strip())
    return sorted(unique.values(), key=str.lower)


def shops_reached() -> tuple[int, int]:
    """How many active shops the campaign e-mails reach, and how many active shops there are."""
    reached = {shop for shop, _ in _addresses()}
    active = db.session.scalar(select(func.count(Member.id)).where(Member.is_active.is_(True)))
    return len(reached), active


def _send(campaign: Campaign, template: str, subject: str) -> int:
    link = f"{current_app.config['COOP_BASE_URL'].rstrip('/')}/campaigns/{campaign.id}/needs"
    recipients = _recipients()
    for address in recipients:
        mail.queue(address, subject, template, campaign=campaign, link=link)
    return len(recipients)


def campaign_opened(campaign: Campaign) -> int:
    return _send(
        campaign, "campaign_opened", f"Campagne {campaign.code} ouverte : postez vos besoins"
    )


def campaign_closing_soon(campaign: Campaign) -> int:
    return _send(
        campaign, "campaign_reminder", f"Campagne {campaign.code} : clôture dans moins de 48 h"
    )


def campaign_closed(campaign: Campaign) -> int:
    return _send(
        campaign, "campaign_closed", f"Campagne {campaign.code} close : la commande se prépare"
    )


# --- reminding the shops that posted nothing ---------------------------------------------------


@dataclass
class ReminderPlan:
    """The silent shops of a campaign: whom a reminder goes to, and whom it skips and why."""

    to_remind: dict[Member, list[str]] = field(default_factory=dict)  # the shop, its addresses
    reminded_today: list[Member] = field(default_factory=list)
    without_address: list[Member] = field(default_factory=list)


def reminder_plan(campaign: Campaign, *, at: datetime) -> ReminderPlan:
    """Who a reminder would reach now: silent shops not yet reminded today that have an address."""
    if campaign.status is not CampaignStatus.OPEN:
        raise DomainError(
            f"La campagne {campaign.code} n'est pas ouverte : les ateliers ne peuvent plus poster."
        )
    reminded = set(
        db.session.scalars(
            select(ShopReminder.member_id).where(
                ShopReminder.campaign_id == campaign.id,
                ShopReminder.reminded_on == to_local(at).date(),
            )
        )
    )
    plan = ReminderPlan()
    for member in members_without_needs(campaign):
        addresses = _shop_addresses(member)
        if member.id in reminded:
            plan.reminded_today.append(member)
        elif not addresses:
            plan.without_address.append(member)
        else:
            plan.to_remind[member] = addresses
    return plan


def remind_silent_shops(campaign: Campaign, *, at: datetime, by: User | None) -> ReminderPlan:
    """E-mail each silent shop once (its accounts together), logged so that no shop gets two
    reminders in a day; sent after the commit."""
    # Two managers reminding at once: the second waits, then finds today's reminders logged.
    lock_campaign(campaign)
    plan = reminder_plan(campaign, at=at)
    link = f"{current_app.config['COOP_BASE_URL'].rstrip('/')}/campaigns/{campaign.id}/needs"
    for member, addresses in plan.to_remind.items():
        mail.queue(
            ", ".join(addresses),
            f"Campagne {campaign.code} : vous n'avez encore posté aucun besoin",
            "shop_reminder",
            campaign=campaign,
            member=member,
            link=link,
        )
        db.session.add(
            ShopReminder(
                campaign_id=campaign.id,
                member_id=member.id,
                reminded_on=to_local(at).date(),
                sent_to=len(addresses),
                created_by_id=by.id if by else None,
                created_at=at,
            )
        )
    db.session.flush()
    if plan.to_remind:
        record(
            "campaign.shops_reminded",
            object_type="campaign",
            object_id=campaign.id,
            label=campaign.code,
            details={"shops": sorted(member.name for member in plan.to_remind)},
            actor=by,
        )
    return plan


def _shop_addresses(member: Member) -> list[str]:
    """The shop's active accounts, or its contact address when it has no account."""
    accounts = db.session.scalars(
        select(User.email)
        .where(
            User.member_id == member.id,
            User.role_grants.any(role=Role.MEMBER),
            User.is_active.is_(True),
        )
        .order_by(User.email)
    ).all()
    return list(accounts) or ([member.email] if member.email else [])
