"""Campaign statuses, cutoffs and e-mails."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from coop import mail
from coop.accounts.models import Role
from coop.errors import DomainError
from coop.extensions import db
from coop.orders.campaigns import lifecycle
from coop.orders.campaigns.models import Campaign, CampaignStatus

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def create(code="2026-12", **kwargs):
    kwargs.setdefault("at", NOW)
    kwargs.setdefault("closes_at", NOW + timedelta(days=10))
    return lifecycle.create_campaign(code, "Décembre", date(2026, 12, 10), **kwargs)


def test_a_campaign_opens_at_once_unless_draft(db_session):
    assert create().status is CampaignStatus.OPEN
    assert create("DRAFT", draft=True).status is CampaignStatus.DRAFT


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ((), CampaignStatus.CLOSED),  # draft -> closed
        ((CampaignStatus.OPEN,), CampaignStatus.POOLED),  # open -> pooled
        ((CampaignStatus.OPEN, CampaignStatus.CLOSED, CampaignStatus.POOLED), CampaignStatus.OPEN),
    ],
)
def test_only_the_transition_table_moves_a_campaign(db_session, path, refused):
    campaign = create(draft=True)
    for status in path:
        lifecycle.change_status(campaign, status, at=NOW)
    with pytest.raises(DomainError, match="ne peut pas passer"):
        lifecycle.change_status(campaign, refused, at=NOW)


def test_a_closed_campaign_reopens_until_pooled(db_session):
    campaign = create()
    lifecycle.change_status(campaign, CampaignStatus.CLOSED, at=NOW)
    lifecycle.change_status(campaign, CampaignStatus.OPEN, at=NOW)
    assert campaign.status is CampaignStatus.OPEN
    assert campaign.closed_at is None


def test_a_campaign_whose_cutoff_passed_cannot_be_opened(db_session):
    campaign = create(draft=True, closes_at=NOW + timedelta(hours=1))
    with pytest.raises(DomainError, match="clôture est passée"):
        lifecycle.change_status(campaign, CampaignStatus.OPEN, at=NOW + timedelta(hours=2))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": " "}, "titre est obligatoire"),
        ({"order_date": date(2026, 11, 30)}, "ne peut pas précéder la clôture"),
        ({"delivery_on": date(2026, 12, 1)}, "livraison ne peut pas précéder"),
        ({"closes_at": NOW - timedelta(minutes=1)}, "déjà passée"),
    ],
)
def test_bad_campaign_terms_are_refused(db_session, changes, message):
    campaign = create()
    terms = dict(
        title="Décembre",
        order_date=date(2026, 12, 10),
        opens_at=None,
        closes_at=campaign.closes_at,
        delivery_on=None,
        delivery_mode="hub",
        fee_rate=campaign.fee_rate,
        penalties={},
        at=NOW,
    )
    terms.update(changes)
    with pytest.raises(DomainError, match=message):
        lifecycle.update_campaign(campaign, **terms)


def test_close_due_closes_only_campaigns_past_their_cutoff(db_session):
    due = create("DUE", closes_at=NOW + timedelta(hours=1))
    later = create("LATER", closes_at=NOW + timedelta(days=3))
    manual = create("MANUAL", closes_at=None)
    closed = lifecycle.close_due(NOW + timedelta(hours=1))
    assert closed == [due]
    assert (due.status, later.status, manual.status) == (
        CampaignStatus.CLOSED,
        CampaignStatus.OPEN,
        CampaignStatus.OPEN,
    )


def test_emails_go_out_only_after_the_commit(app, db_session, make):
    make.user(Role.MEMBER, email="shop@example.org", member=make.member(email="shop@example.org"))
    sent = mail.sent_messages()
    sent.clear()
    create("ROLLED")
    assert sent == []
    db.session.rollback()
    assert sent == []
    assert db.session.scalar(select(Campaign).where(Campaign.code == "ROLLED")) is None
    create("KEPT")
    db.session.commit()
    assert [m["To"] for m in sent] == ["shop@example.org"]
    assert "KEPT" in sent[0]["Subject"]
    body = sent[0].get_body(("plain",)).get_content()
    assert "jusqu'au 05/12/2026 10:00" in body
    assert sent[0].get_body(("html",)) is not None


def test_the_48_hour_reminder_goes_once(app, db_session, make):
    make.user(Role.MEMBER, member=make.member(email=None))
    soon = create("SOON", closes_at=NOW + timedelta(hours=47))
    create("FAR", closes_at=NOW + timedelta(days=5))
    db.session.commit()
    sent = mail.sent_messages()
    sent.clear()
    assert lifecycle.send_due_reminders(NOW) == [soon]
    db.session.commit()
    assert len(sent) == 1 and "48 h" in sent[0]["Subject"]
    assert lifecycle.send_due_reminders(NOW + timedelta(hours=1)) == []
