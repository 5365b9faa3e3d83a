"""Campaign e-mails to the shops: opened, 48 hours before the cutoff, closed."""

from flask import current_app
from sqlalchemy import select

from coop import mail
from coop.accounts.models import Member, Role, User
from coop.extensions import db
from coop.orders.models import Campaign


def _recipients() -> list[str]:
    """Every active account of every active shop: the people who post needs."""
    return db.session.scalars(
        select(User.email)
        .join(User.member)
        .where(
            User.role_grants.any(role=Role.MEMBER),
            User.is_active.is_(True),
            Member.is_active.is_(True),
        )
        .order_by(User.email)
    ).all()


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
