"""Every edit form, sent back as its page renders it with one change, saves that change.

The edit forms are where a page and its view drift apart (a field the service now needs, a
value shown in another unit than it is read): each test GETs the form, posts it back as a
browser would with one field changed, and checks what is stored. The other POST routes with
no valid submission elsewhere in the suite get one here too.
"""

import io
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from coop.accounts.models import Role
from coop.clock import now, today
from coop.extensions import db
from coop.negotiation.links import LinkState, state_of, token_for
from coop.negotiation.models import RfqStatus
from coop.orders.campaigns.lifecycle import change_status
from coop.orders.campaigns.models import CampaignStatus
from coop.orders.pooling import pool_run
from coop.orders.purchasing.models import OrderStatus
from coop.orders.purchasing.ordering import commit_run
from coop.payments.models import BankLine
from coop.suppliers.catalogue import current_tiers
from tests.accounts.test_identity import valid
from tests.html import form_values
from tests.invoicing import factories as invoices
from tests.negotiation import factories as nf
from tests.orders.costs.test_statements import add_charges, build_world
from tests.orders.pooling.test_pooling_review import pooled_case  # noqa: F401 (a fixture)
from tests.payments.test_bank import import_, statement

D = Decimal


def edit(client, address: str, **changes) -> dict:
    """Post the form at `address` back as rendered, with `changes`; the response."""
    data = form_values(client.get(address).text) | {k: str(v) for k, v in changes.items()}
    return client.post(address, data=data)


def test_a_part_saved_from_its_edit_page_keeps_all_but_its_new_name(client, make):
    part = make.part(sku="TYR-1", ean="4006633105026", weight_g=450)
    client.login_as(make.user(Role.MANAGER))
    response = edit(client, f"/parts/{part.id}/edit", name="Pneu renommé")
    assert response.status_code == 302
    db.session.refresh(part)
    assert (part.name, part.sku, part.ean, part.weight_g, part.vat_rate) == (
        "Pneu renommé",
        "TYR-1",
        "4006633105026",
        450,
        D("0.2000"),
    )


def test_a_supplier_saved_from_its_edit_page_keeps_all_but_its_new_name(client, make):
    supplier = make.supplier(
        code="LYON",
        shipping_fee=D("15.00"),
        free_shipping_over=D("150.00"),
        is_local=True,
        email="commandes@lyon.example",
    )
    client.login_as(make.user(Role.MANAGER))
    response = edit(client, f"/suppliers/{supplier.id}/edit", name="Lyon Pneus")
    assert response.status_code == 302
    db.session.refresh(supplier)
    assert (
        supplier.name,
        supplier.code,
        supplier.shipping_fee,
        supplier.free_shipping_over,
        supplier.is_local,
        supplier.email,
    ) == ("Lyon Pneus", "LYON", D("15.00"), D("150.00"), True, "commandes@lyon.example")


def test_an_inactive_supplier_is_reactivated(client, make):
    supplier = make.supplier(is_active=False)
    client.login_as(make.user(Role.MANAGER))
    assert client.post(f"/suppliers/{supplier.id}/reactivate").status_code == 302
    db.session.refresh(supplier)
    assert supplier.is_active is True


def test_an_offer_saved_from_its_edit_page_keeps_its_tiers(client, make):
    offer = make.offer(tiers=((1, "10.50"), (10, "9.25")), pack_size=5)
    client.login_as(make.user(Role.MANAGER))
    response = edit(client, f"/offers/{offer.id}/edit", pack_size=10)
    assert response.status_code == 302
    db.session.refresh(offer)
    assert offer.pack_size == 10
    assert current_tiers(offer) == [(1, D("10.5000")), (10, D("9.2500"))]


def test_a_shop_saved_from_its_edit_page_keeps_all_but_its_new_name(client, make):
    shop = make.member(code="VELO01", email="contact@velo.example")
    client.login_as(make.user(Role.ADMIN))
    response = edit(client, f"/members/{shop.id}/edit", name="Vélo renommé")
    assert response.status_code == 302
    db.session.refresh(shop)
    assert (shop.name, shop.code, shop.email, shop.siret) == (
        "Vélo renommé",
        "VELO01",
        "contact@velo.example",
        shop.siret,
    )


def test_a_shop_saves_its_own_page_with_a_new_phone(client, make):
    account = make.user(Role.MEMBER)
    client.login_as(account)
    response = edit(client, "/shop/edit", phone="04 78 00 00 00")
    assert response.status_code == 302
    db.session.refresh(account.member)
    assert account.member.phone == "04 78 00 00 00"


def test_an_account_saved_from_its_edit_page_keeps_its_roles_and_shop(client, make):
    account = make.user(Role.MEMBER)
    client.login_as(make.user(Role.ADMIN))
    response = edit(client, f"/users/{account.id}/edit", name="Nouveau nom")
    assert response.status_code == 302
    db.session.refresh(account)
    assert (account.name, account.roles, account.is_active) == ("Nouveau nom", {Role.MEMBER}, True)


def test_the_coops_identity_saved_from_its_page_keeps_all_but_the_new_phone(client, make):
    client.login_as(make.user(Role.ADMIN))
    assert client.post("/settings/identity", data=valid()).status_code == 302
    before = form_values(client.get("/settings/identity").text)
    response = edit(client, "/settings/identity", phone="04 78 11 11 11")
    assert response.status_code == 302
    after = form_values(client.get("/settings/identity").text)
    del before["submission_token"], after["submission_token"]
    assert after == before | {"phone": "04 78 11 11 11"}


def test_a_need_saved_from_its_edit_page_keeps_all_but_its_new_quantity(client, make):
    account = make.user(Role.MEMBER)
    campaign = make.campaign()
    need = make.need(
        campaign,
        account.member,
        quantity=4,
        tolerance=2,
        min_quantity=3,
        max_unit_price=D("12.50"),
        ref="A1",
        note="Pour l'atelier",
    )
    client.login_as(account)
    response = edit(client, f"/needs/{need.id}/edit", quantity=6)
    assert response.status_code == 302
    db.session.refresh(need)
    assert (
        need.quantity,
        need.tolerance,
        need.min_quantity,
        need.max_unit_price,
        need.ref,
        need.note,
    ) == (6, 2, 3, D("12.5000"), "A1", "Pour l'atelier")


def test_a_charge_saved_from_its_edit_page_keeps_all_but_its_new_label(client, make):
    world = build_world(make)
    customs = add_charges(world)[0]
    terms = (customs.amount, customs.key, customs.supplier_id)
    client.login_as(make.user(Role.MANAGER))
    response = edit(
        client, f"/campaigns/{world.campaign.id}/charges/{customs.id}/edit", label="Douane corrigée"
    )
    assert response.status_code == 302
    db.session.refresh(customs)
    assert customs.label == "Douane corrigée"
    assert (customs.amount, customs.key, customs.supplier_id) == terms


def test_undoing_a_pooling_cancels_its_draft_orders_and_closes_the_campaign(
    client,
    make,
    pooled_case,  # noqa: F811
):
    campaign, _, _ = pooled_case
    run = pool_run.start_run(campaign, pool_run.Options(time_limit=10))
    pool_run.execute_run(run.id)
    orders = commit_run(run, at=now())
    db.session.commit()
    client.login_as(make.user(Role.MANAGER))
    address = f"/campaigns/{campaign.id}/pooling/undo"
    response = client.post(address, data=form_values(client.get(address).text))
    assert response.status_code == 302
    assert campaign.status is CampaignStatus.CLOSED
    assert {order.status for order in orders} == {OrderStatus.CANCELLED}


def test_rematching_the_bank_lines_proposes_the_invoice_issued_since(client, make):
    shop = make.member(name="Pignon sur Rue")
    import_(statement("05/12/2026;VIR PIGNON SUR RUE;148,65"))
    invoice = invoices.invoice(shop, make.campaign())
    client.login_as(make.user(Role.TREASURER))
    assert client.post("/payments/bank/rematch").status_code == 302
    line = db.session.scalar(select(BankLine))
    assert line.proposed_invoice == invoice


def test_an_rfq_saved_from_its_edit_page_keeps_all_but_its_new_title(client, make):
    rfq = nf.rfq(deadline_on=today() + timedelta(days=12))
    client.login_as(make.user(Role.MANAGER))
    response = edit(client, f"/rfqs/{rfq.id}/edit", title="Pneus d'hiver")
    assert response.status_code == 302
    db.session.refresh(rfq)
    assert (rfq.title, rfq.deadline_on) == ("Pneus d'hiver", today() + timedelta(days=12))


def test_closing_an_rfq_ends_its_links(client, make):
    rfq = nf.sent_rfq()
    client.login_as(make.user(Role.MANAGER))
    address = f"/rfqs/{rfq.id}/close"
    assert client.post(address, data=form_values(client.get(address).text)).status_code == 302
    assert rfq.status is RfqStatus.CLOSED
    assert state_of(rfq.invitations[0], now()) is LinkState.CLOSED


def test_revoking_then_renewing_a_suppliers_link(client, make):
    rfq = nf.sent_rfq()
    invitation = rfq.invitations[0]
    client.login_as(make.user(Role.MANAGER))
    address = f"/rfqs/{rfq.id}/suppliers/{invitation.id}"
    page = client.get(f"{address}/revoke").text
    assert client.post(f"{address}/revoke", data=form_values(page)).status_code == 302
    assert state_of(invitation, now()) is LinkState.REVOKED
    old_link = invitation.link_id
    page = client.get(address).text
    renew = form_values(page, f"{address}/renew")
    assert client.post(f"{address}/renew", data=renew).status_code == 302
    assert state_of(invitation, now()) is LinkState.OPEN
    assert invitation.link_id != old_link


def test_a_supplier_uploads_its_answer_file_into_its_draft(client, make):
    rfq = nf.sent_rfq()
    invitation = rfq.invitations[0]
    token = token_for(invitation)
    csv = client.get(f"/q/{token}/rfq.csv").data.decode("utf-8-sig").splitlines()
    header, row = csv[0].split(";"), csv[1].split(";")
    row[header.index("min_qty")], row[header.index("unit_price_eur")] = "1", "7,50"
    data = "\r\n".join([csv[0], ";".join(row)]).encode("utf-8")
    response = client.post(
        f"/q/{token}/upload",
        data={"file": (io.BytesIO(data), "devis.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert invitation.quotes[0].draft.tier_values == [(1, D("7.5000"))]


def test_a_supplier_writes_to_the_coop_from_its_page(client, make):
    rfq = nf.sent_rfq()
    invitation = rfq.invitations[0]
    token = token_for(invitation)
    response = client.post(f"/q/{token}/message", data={"body": "Livrez-vous à Gerland ?"})
    assert response.status_code == 302
    assert invitation.messages[-1].body == "Livrez-vous à Gerland ?"


def test_a_campaign_reopened_after_an_early_close_takes_needs_again(client, make):
    campaign = make.campaign()
    change_status(campaign, CampaignStatus.CLOSED, at=now())
    db.session.commit()
    client.login_as(make.user(Role.MANAGER))
    address = f"/campaigns/{campaign.id}/status/open"
    assert client.post(address, data=form_values(client.get(address).text)).status_code == 302
    assert (campaign.status, campaign.closed_at) == (CampaignStatus.OPEN, None)
