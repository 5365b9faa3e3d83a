"""The campaign lock: every decision that depends on a campaign's status takes it first."""

from sqlalchemy import select

from coop.accounts.models import Member
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


def lock_campaign_for_shop(campaign: Campaign, member: Member) -> None:
    """Lock the campaign's row for one shop's change to its needs, and reread it.

    A shop's post, edit or withdrawal shares the campaign's lock (FOR SHARE) with the other
    shops': it waits for whoever changes the campaign itself (closing it at the cutoff), and
    that one for it, but the shops do not wait for each other: in the last hour before a
    cutoff an exclusive lock queued every post behind every other one (a post's p99 at 3 s
    in the load bench). The changes of one shop (two people of the shop at once) wait for
    each other on the shop's row, taken second (the campaign first, as always): its line
    numbers are counted, not drawn. FOR NO KEY UPDATE: rows that merely point to the shop
    (an invoice, an activity entry) are written meanwhile.
    """
    db.session.execute(
        select(Campaign.id).where(Campaign.id == campaign.id).with_for_update(read=True)
    )
    db.session.execute(
        select(Member.id).where(Member.id == member.id).with_for_update(key_share=True)
    )
    db.session.refresh(campaign)
