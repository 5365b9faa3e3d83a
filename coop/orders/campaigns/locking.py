"""The campaign lock: every decision that depends on a campaign's status takes it first."""

from sqlalchemy import select

from coop.extensions import db
from coop.orders.campaigns.models import Campaign


def lock_campaign(campaign: Campaign) -> None:
    """Lock the campaign's row until the transaction ends, and reread it.

    The cutoff, pooling, receiving, charges and invoicing all decide on the campaign's
    status: a manager closing the campaign and a shop posting (or two receipts) wait for
    each other rather than both acting on what the other has not written yet. Always the
    campaign first, then its orders, then their lines, so two such transactions never
    deadlock.
    """
    db.session.execute(select(Campaign.id).where(Campaign.id == campaign.id).with_for_update())
    db.session.refresh(campaign)
