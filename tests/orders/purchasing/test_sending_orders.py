"""Sending every purchase order of a campaign at once: a confirmation, a job, its progress."""

from sqlalchemy import select

from coop import mail
from coop.accounts.models import Role
from coop.clock import now
from coop.extensions import db
from coop.orders.purchasing import sending
from coop.orders.purchasing.models import OrderSending, OrderSendingItem, OrderStatus, PurchaseOrder
from tests import factories
from tests.conftest import at_once
from tests.orders.purchasing.test_purchase_orders import build_plan, committed


def test_the_list_of_a_campaigns_orders_offers_to_send_them_all(client, make):
    plan = build_plan(make)
    committed(plan)
    client.login_as(make.user(Role.MANAGER))
    page = client.get(f"/purchase-orders?campaign={plan.campaign.code}").text
    assert "Envoyer tous les bons de commande (2)" in page
    assert "Envoyer tous les bons de commande" not in client.get("/purchase-orders").text
    client.login_as(make.user(Role.TREASURER))
    page = client.get(f"/purchase-orders?campaign={plan.campaign.code}").text
    assert "Envoyer tous les bons de commande" not in page


def test_sending_them_all_first_says_how_many_orders_go_to_which_suppliers(client, make):
    plan = build_plan(make)
    lyonpneu_order, eurochain_order = committed(plan)
    client.login_as(make.user(Role.MANAGER))
    mail.sent_messages().clear()
    page = client.get(f"/campaigns/{plan.campaign.id}/purchase-orders/send").text
    assert "Envoyer les 2 bons de commande ?" in page
    assert lyonpneu_order.number in page and "commandes@lyonpneu.example" in page
    assert eurochain_order.number in page and "Euro Chain GmbH" in page
    assert "1 fournisseur n'a pas d'adresse e-mail" in page
    assert mail.sent_messages() == []
    assert lyonpneu_order.status is OrderStatus.DRAFT


def test_sending_them_all_mails_each_order_with_its_pdf_and_lists_the_failures(client, make):
    plan = build_plan(make)
    lyonpneu_order, eurochain_order = committed(plan)
    client.login_as(make.user(Role.MANAGER))
    mail.sent_messages().clear()
    response = client.post(f"/campaigns/{plan.campaign.id}/purchase-orders/send")
    batch = db.session.scalars(select(OrderSending)).one()
    assert response.location == f"/purchase-orders/sendings/{batch.id}"
    (message,) = mail.sent_messages()
    assert message["To"] == "commandes@lyonpneu.example"
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == f"{lyonpneu_order.number}.pdf"
    assert attachment.get_content().startswith(b"%PDF")
    assert (lyonpneu_order.status, eurochain_order.status) == (OrderStatus.SENT, OrderStatus.DRAFT)
    page = client.get(response.location).text
    assert "2 bons traités sur 2 : 1 envoyé, 1 en échec, 0 déjà envoyé." in page
    assert (
        f"{eurochain_order.number}</a> · Euro Chain GmbH : Le fournisseur Euro Chain GmbH" in page
    )
    assert "hx-trigger" not in page


def test_the_progress_polls_until_every_order_is_done(client, make):
    plan = build_plan(make)
    committed(plan)
    manager = make.user(Role.MANAGER)
    batch = sending.start_sending(plan.campaign, by=manager, at=now())
    db.session.commit()
    client.login_as(manager)
    url = f"/purchase-orders/sendings/{batch.id}"
    waiting = client.get(url, headers={"HX-Request": "true"}).text
    assert waiting.startswith('<div id="sending"')
    assert 'hx-trigger="every 2s"' in waiting
    assert "0 bon traité sur 2 : 0 envoyé, 0 en échec, 0 déjà envoyé." in waiting
    sending.send_job(batch.id, now())
    done = client.get(url, headers={"HX-Request": "true"}).text
    assert "hx-trigger" not in done
    assert "2 bons traités sur 2 : 1 envoyé, 1 en échec, 0 déjà envoyé." in done
    assert client.get("/purchase-orders/sendings/999999").status_code == 404


def test_an_order_sent_from_its_own_page_meanwhile_is_not_sent_again(client, make):
    plan = build_plan(make)
    lyonpneu_order, _ = committed(plan)
    manager = make.user(Role.MANAGER)
    batch = sending.start_sending(plan.campaign, by=manager, at=now())
    db.session.commit()
    client.login_as(manager)
    mail.sent_messages().clear()
    client.post(f"/purchase-orders/{lyonpneu_order.number}/send")
    sending.send_job(batch.id, now())
    assert len(mail.sent_messages()) == 1
    assert [i.outcome for i in batch.items] == ["failed", "skipped"]  # by supplier code
    page = client.get(f"/purchase-orders/sendings/{batch.id}").text
    assert "0 envoyé, 1 en échec, 1 déjà envoyé." in page
    assert f'Déjà envoyés, non renvoyés : <span class="mono">{lyonpneu_order.number}' in page


def test_sending_them_all_twice_sends_nothing_twice(client, make):
    plan = build_plan(make)
    committed(plan)
    client.login_as(make.user(Role.MANAGER))
    mail.sent_messages().clear()
    client.post(f"/campaigns/{plan.campaign.id}/purchase-orders/send")
    client.post(f"/campaigns/{plan.campaign.id}/purchase-orders/send")
    assert len(mail.sent_messages()) == 1
    plan.eurochain.email = "orders@eurochain.example"
    db.session.commit()
    client.post(f"/campaigns/{plan.campaign.id}/purchase-orders/send")
    sent_to = [m["To"] for m in mail.sent_messages()]
    assert sent_to == ["commandes@lyonpneu.example", "orders@eurochain.example"]
    response = client.post(
        f"/campaigns/{plan.campaign.id}/purchase-orders/send", follow_redirects=True
    )
    assert "n&#39;a aucun bon de commande à envoyer" in response.text
    assert len(mail.sent_messages()) == 2


def test_only_purchasing_staff_send_them_all(client, make):
    plan = build_plan(make)
    lyonpneu_order, _ = committed(plan)
    client.login_as(make.user(Role.TREASURER))
    assert client.get(f"/campaigns/{plan.campaign.id}/purchase-orders/send").status_code == 403
    assert client.post(f"/campaigns/{plan.campaign.id}/purchase-orders/send").status_code == 403
    assert lyonpneu_order.status is OrderStatus.DRAFT
    client.login_as(make.user(Role.MEMBER, member=plan.shops["croix"]))
    assert client.get("/purchase-orders/sendings/1").status_code == 403


def test_two_managers_sending_them_all_at_once_send_each_order_once(committing_app):
    with committing_app.app_context():
        plan = build_plan(factories)
        plan.eurochain.email = "orders@eurochain.example"
        committed(plan)
        campaign_id = plan.campaign.id
        managers = [factories.user(Role.MANAGER).get_id() for _ in range(2)]
        mail.sent_messages().clear()

    def send_all(start):
        client = committing_app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = managers.pop()
        start()
        return client.post(f"/campaigns/{campaign_id}/purchase-orders/send").status_code

    answers, refused = at_once(committing_app, send_all)
    assert (answers, refused) == ([302, 302], [])
    with committing_app.app_context():
        sent_to = sorted(m["To"] for m in mail.sent_messages())
        assert sent_to == ["commandes@lyonpneu.example", "orders@eurochain.example"]
        outcomes = sorted(i.outcome for i in db.session.scalars(select(OrderSendingItem)))
        # Whichever sending came second skipped what the first had sent: nothing failed.
        assert outcomes.count("sent") == 2 and set(outcomes) <= {"sent", "skipped"}
        statuses = db.session.scalars(select(PurchaseOrder.status)).all()
        assert statuses == [OrderStatus.SENT, OrderStatus.SENT]


def test_a_double_click_on_send_all_makes_one_sending(client, make):
    plan = build_plan(make)
    committed(plan)
    client.login_as(make.user(Role.MANAGER))
    mail.sent_messages().clear()
    token = {"submission_token": "double-click-token-0123456789"}
    first = client.post(f"/campaigns/{plan.campaign.id}/purchase-orders/send", data=token)
    second = client.post(f"/campaigns/{plan.campaign.id}/purchase-orders/send", data=token)
    assert second.location == first.location
    assert len(db.session.scalars(select(OrderSending)).all()) == 1
    assert len(mail.sent_messages()) == 1
