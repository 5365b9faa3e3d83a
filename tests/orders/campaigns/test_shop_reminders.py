"""From the demand view, the manager reminds the shops that have posted nothing: one e-mail
each, logged, never twice the same day."""

from datetime import timedelta

from sqlalchemy import select

from coop import mail
from coop.accounts.models import Role
from coop.clock import now, to_local
from coop.extensions import db
from coop.orders.campaigns.lifecycle import change_status
from coop.orders.campaigns.models import CampaignStatus, ShopReminder
from tests import factories
from tests.conftest import at_once


def silent_campaign(make):
    """An open campaign: one shop posted, two did not (one with two accounts), one has no e-mail."""
    campaign = make.campaign()
    make.need(campaign, make.member(code="POSTED"))
    croix = make.member(code="CROIX", name="Atelier Croix", email="contact@croix.example")
    make.user(Role.MEMBER, member=croix, email="alice@croix.example")
    make.user(Role.MEMBER, member=croix, email="bob@croix.example")
    vaise = make.member(code="VAISE", name="Vaise Bike Lab", email="vaise@example.org")
    mute = make.member(code="MUTE", name="Atelier muet", email=None)
    return campaign, croix, vaise, mute


def test_the_demand_view_offers_to_remind_the_silent_shops_and_asks_first(client, make):
    campaign, *_ = silent_campaign(make)
    client.login_as(make.user(Role.MANAGER))
    demand = client.get(f"/campaigns/{campaign.id}/demand").text
    assert f'href="/campaigns/{campaign.id}/demand/remind">Relancer ces ateliers' in demand
    mail.sent_messages().clear()
    page = client.get(f"/campaigns/{campaign.id}/demand/remind").text
    assert "Relancer 2 ateliers qui n'ont rien posté ?" in page.replace("&#39;", "'")
    assert "CROIX</span> Atelier Croix" in page and "alice@croix.example, bob@croix.example" in page
    assert "Sans adresse e-mail, non relancés : MUTE" in page
    assert mail.sent_messages() == []
    assert db.session.scalars(select(ShopReminder)).all() == []


def test_each_silent_shop_gets_one_email_logged_and_not_twice_the_same_day(client, make):
    campaign, croix, vaise, _ = silent_campaign(make)
    manager = make.user(Role.MANAGER)
    client.login_as(manager)
    mail.sent_messages().clear()
    response = client.post(f"/campaigns/{campaign.id}/demand/remind", follow_redirects=True)
    assert "2 ateliers relancés par e-mail. Sans adresse e-mail : MUTE." in response.text
    assert sorted(m["To"] for m in mail.sent_messages()) == [
        "alice@croix.example, bob@croix.example",
        "vaise@example.org",
    ]
    message = mail.sent_messages()[0]
    assert message["Subject"] == f"Campagne {campaign.code} : vous n'avez encore posté aucun besoin"
    assert f"/campaigns/{campaign.id}/needs" in message.get_body(("plain",)).get_content()
    logged = db.session.scalars(select(ShopReminder).order_by(ShopReminder.member_id)).all()
    assert [(r.member, r.reminded_on, r.sent_to, r.created_by_id) for r in logged] == [
        (croix, to_local(now()).date(), 2, manager.id),
        (vaise, to_local(now()).date(), 1, manager.id),
    ]
    mail.sent_messages().clear()
    again = client.post(f"/campaigns/{campaign.id}/demand/remind", follow_redirects=True)
    assert "0 atelier relancé par e-mail. 2 déjà relancés aujourd&#39;hui." in again.text
    assert mail.sent_messages() == []
    # Yesterday's reminder does not stop today's.
    for reminder in logged:
        reminder.reminded_on -= timedelta(days=1)
    db.session.commit()
    client.post(f"/campaigns/{campaign.id}/demand/remind")
    assert len(mail.sent_messages()) == 2


def test_only_an_open_campaigns_shops_are_reminded_by_the_manager(client, make):
    campaign, *_ = silent_campaign(make)
    client.login_as(make.user(Role.TREASURER))
    assert client.get(f"/campaigns/{campaign.id}/demand/remind").status_code == 403
    assert client.post(f"/campaigns/{campaign.id}/demand/remind").status_code == 403
    change_status(campaign, CampaignStatus.CLOSED, at=now())
    db.session.commit()
    client.login_as(make.user(Role.MANAGER))
    assert "Relancer ces ateliers" not in client.get(f"/campaigns/{campaign.id}/demand").text
    mail.sent_messages().clear()
    response = client.post(f"/campaigns/{campaign.id}/demand/remind", follow_redirects=True)
    assert f"La campagne {campaign.code} n&#39;est pas ouverte" in response.text
    assert mail.sent_messages() == []


def test_two_managers_reminding_at_once_send_one_email_per_shop(committing_app):
    with committing_app.app_context():
        campaign, *_ = silent_campaign(factories)
        campaign_id = campaign.id
        managers = [factories.user(Role.MANAGER).get_id() for _ in range(2)]
        mail.sent_messages().clear()

    def remind(start):
        client = committing_app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = managers.pop()
        start()
        return client.post(f"/campaigns/{campaign_id}/demand/remind").status_code

    answers, refused = at_once(committing_app, remind)
    assert (answers, refused) == ([302, 302], [])
    with committing_app.app_context():
        assert len(mail.sent_messages()) == 2
        assert len(db.session.scalars(select(ShopReminder)).all()) == 2
