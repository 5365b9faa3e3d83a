"""Campaign e-mails to the shops: opened, 48 hours before the cutoff, closed."""

from flask import current_app
from sqlalchemy import func, select

from coop import mail
from coop.accounts.models import Member, Role, User
from coop.extensions import db
from coop.orders.models import Campaign


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
    return _send(campaign, "campaign_opened",
                 f"Campagne {campaign.code} ouverte : postez vos besoins")  # fmt: skip


def campaign_closing_soon(campaign: Campaign) -> int:
    return _send(campaign, "campaign_reminder",
                 f"Campagne {campaign.code} : clôture dans moins de 48 h")  # fmt: skip


def campaign_closed(campaign: Campaign) -> int:
    return _send(campaign, "campaign_closed",
                 f"Campagne {campaign.code} close : la commande se prépare")  # fmt: skip
