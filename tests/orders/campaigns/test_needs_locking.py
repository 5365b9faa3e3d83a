"""The last hour before a cutoff, with real row locks: the shops' posts do not wait for each
other; the posts of one shop do, and so do the cutoff and every post in flight
(coop.orders.campaigns.locking). PostgreSQL only: SQLite serialises writers."""

import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from coop.accounts.models import Member
from coop.clock import now
from coop.errors import DomainError
from coop.extensions import db
from coop.orders.campaigns import needs as need_service
from coop.orders.campaigns.lifecycle import close_due
from coop.orders.campaigns.models import Campaign, CampaignStatus, Need
from coop.orders.campaigns.needs import NeedTerms
from coop.suppliers.models import Part
from tests import factories


@pytest.fixture
def campaign_shops_parts(committing_app):
    """An open campaign closing in an hour, two shops, three parts (ids)."""
    with committing_app.app_context():
        campaign = factories.campaign(closes_at=now() + timedelta(hours=1))
        shops = [factories.member().id for _ in range(2)]
        parts = [factories.part().id for _ in range(3)]
        return campaign.id, shops, parts


def post(campaign_id: int, member_id: int, part_id: int) -> Need:
    return need_service.post_need(
        db.session.get(Campaign, campaign_id),
        db.session.get(Member, member_id),
        db.session.get(Part, part_id),
        NeedTerms(quantity=2),
    )


def waiting_at_most(milliseconds: int) -> None:
    """This transaction gives up on a row lock after that long (LockNotAvailable)."""
    db.session.execute(text(f"SET LOCAL lock_timeout = '{milliseconds}ms'"))


@contextmanager
def post_in_flight(app, campaign_id: int, member_id: int, part_id: int):
    """A shop's post made in another thread and not committed until the block ends."""
    made, release, failures = threading.Event(), threading.Event(), []

    def run():
        with app.app_context():
            try:
                post(campaign_id, member_id, part_id)
                made.set()
                release.wait(timeout=20)
                db.session.commit()
            except Exception as error:
                failures.append(error)
                made.set()
            finally:
                db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    assert made.wait(timeout=20)
    try:
        yield
    finally:
        release.set()
        thread.join(timeout=30)
    assert failures == []


def test_a_shop_posts_while_another_shop_s_post_is_in_flight(committing_app, campaign_shops_parts):
    campaign_id, (first, second), parts = campaign_shops_parts
    with (
        post_in_flight(committing_app, campaign_id, first, parts[0]),
        committing_app.app_context(),
    ):
        waiting_at_most(2000)  # an exclusive campaign lock would keep it waiting
        post(campaign_id, second, parts[1])
        db.session.commit()
        db.session.remove()
    with committing_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Need)) == 2


def test_two_people_of_one_shop_posting_at_once_get_a_line_number_each(
    committing_app, campaign_shops_parts
):
    campaign_id, (shop, _), parts = campaign_shops_parts
    refs, failures = [], []

    def second_person():
        with committing_app.app_context():
            try:
                refs.append(post(campaign_id, shop, parts[1]).ref)
                db.session.commit()
            except Exception as error:
                failures.append(error)
            finally:
                db.session.remove()

    with post_in_flight(committing_app, campaign_id, shop, parts[0]):
        thread = threading.Thread(target=second_person)
        thread.start()
        time.sleep(0.5)  # the second post is under way while the first is not committed
    thread.join(timeout=30)
    assert (refs, failures) == (["2"], [])
    with committing_app.app_context():
        stored = db.session.scalars(select(Need.ref).order_by(Need.ref)).all()
        assert stored == ["1", "2"]


def test_the_cutoff_waits_for_a_post_in_flight_and_then_refuses_the_next(
    committing_app, campaign_shops_parts
):
    campaign_id, (first, second), parts = campaign_shops_parts
    later = now() + timedelta(hours=2)
    with (
        post_in_flight(committing_app, campaign_id, first, parts[0]),
        committing_app.app_context(),
    ):
        waiting_at_most(500)
        with pytest.raises(OperationalError, match="lock timeout"):
            close_due(later)
        db.session.rollback()
        db.session.remove()
    with committing_app.app_context():
        assert [c.id for c in close_due(later)] == [campaign_id]
        db.session.commit()
        assert db.session.get(Campaign, campaign_id).status is CampaignStatus.CLOSED
        with pytest.raises(DomainError):
            need_service.post_need(
                db.session.get(Campaign, campaign_id),
                db.session.get(Member, second),
                db.session.get(Part, parts[1]),
                NeedTerms(quantity=2),
                at=later,
            )
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Need)) == 1
        db.session.remove()
