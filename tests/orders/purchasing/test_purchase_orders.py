"""Purchase orders: created from a committed plan, sent as a PDF, confirmed or cancelled."""

import io
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from coop import mail
from coop.accounts.identity import coop_identity
from coop.accounts.models import Member, Role
from coop.clock import now, to_local
from coop.errors import DomainError
from coop.extensions import db
from coop.orders.campaigns.lifecycle import change_status
from coop.orders.campaigns.models import Campaign, CampaignStatus, DeliveryMode, Need
from coop.orders.pooling.models import PoolingRun, RunStatus
from coop.orders.pooling.plan import PlanRecord
from coop.orders.purchasing import ordering
from coop.orders.purchasing.models import Allocation, OrderStatus, PurchaseOrder
from coop.suppliers.models import Supplier


@dataclass
class Plan:
    campaign: Campaign
    run: PoolingRun
    lyonpneu: Supplier
    eurochain: Supplier
    shops: dict[str, Member]
    needs: dict[str, Need]


def close(campaign: Campaign, at=None):
    at = at or now()
    change_status(campaign, CampaignStatus.CLOSED, at=at)
    db.session.commit()
    return at


def hand_record(allocations: list[dict], shipping: dict) -> PlanRecord:
    """A plan written by hand (its decisions as stored): served needs' goods at their unit
    price and no share of the fee; the headline figures, which nobody reads here, zero."""
    zero = {"unserved_units": 0, "total": "0.00", "objective": "0.00"}
    decisions = [
        d | {"goods": f"{Decimal(d['unit_price']) * d['units']:.2f}", "shipping_share": "0.00"}
        if d["offer"] is not None
        else d
        for d in allocations
    ]
    return PlanRecord.from_json(
        {
            "status": "optimal",
            "gap": 0.0,
            "seconds": 0.0,
            "requested_units": 0,
            "goods": "0.00",
            "shipping": "0.00",
            "penalty": "0.00",
            **zero,
            "shipping_by_supplier": shipping,
            "allocations": decisions,
            "greedy": zero,
            "alone": {"needs": 0, "solo": "0.00", "pooled": "0.00"},
        }
    )


def stored_run(campaign: Campaign, allocations: list[dict], shipping: dict, *, at) -> PoolingRun:
    """A finished run whose plan is written by hand, as the manager reviewed it."""
    run = PoolingRun(
        campaign=campaign,
        status=RunStatus.DONE,
        created_at=at,
        finished_at=at,
        record=hand_record(allocations, shipping),
    )
    db.session.add(run)
    db.session.commit()
    return run


def served(need, offer, units, price, tier):
    return {
        "need": need.id,
        "offer": offer.id,
        "supplier": offer.supplier.code,
        "units": units,
        "unit_price": price,
        "tier_min_qty": tier,
        "why": None,
    }


def build_plan(make) -> Plan:
    """Two suppliers, three shops, five needs: four served, one left short of a pack."""
    lyonpneu = make.supplier(
        code="LYONPNEU",
        name="Lyon Pneus & Co",
        city="Villeurbanne",
        is_local=True,
        email="commandes@lyonpneu.example",
        siret=make.valid_siret(7),
        vat_number="FR12345678901",
        shipping_fee=Decimal("15.00"),
        free_shipping_over=Decimal("150.00"),
    )
    eurochain = make.supplier(
        code="EUROCHAIN",
        name="Euro Chain GmbH",
        country="DE",
        city="Köln",
        email=None,
        shipping_fee=Decimal("25.00"),
    )
    tyre = make.offer(
        lyonpneu,
        make.part(sku="PNEU-700X32", name="Pneu route 700x32C"),
        tiers=((1, "24.5000"), (10, "21.9000")),
        supplier_ref="LP-70032",
    )
    tube = make.offer(
        lyonpneu,
        make.part(sku="CHAMBRE-700", name="Chambre à air 700 Presta"),
        tiers=((1, "4.2000"), (50, "3.6500")),
        supplier_ref="LP-CH700",
        pack_size=10,
    )
    chain = make.offer(
        eurochain,
        make.part(sku="CHAINE-11V", name="Chaîne 11 vitesses"),
        tiers=((1, "18.9000"), (5, "16.4567")),
        supplier_ref="EC-11S",
    )
    shops = {
        "croix": make.member(
            name="Atelier Vélo Croix-Rousse",
            delivery_address="3 rue d'Austerlitz",
            delivery_postcode="69004",
            delivery_city="Lyon",
        ),
        "guill": make.member(name="Cycles de la Guillotière"),
        "vaise": make.member(name="Vaise Bike Lab"),
    }
    campaign = make.campaign(delivery_mode=DeliveryMode.SHOPS)
    needs = {
        "croix_tyre": make.need(campaign, shops["croix"], tyre.part, quantity=6),
        "guill_tyre": make.need(campaign, shops["guill"], tyre.part, quantity=4),
        "croix_tube": make.need(campaign, shops["croix"], tube.part, quantity=10),
        "vaise_tube": make.need(campaign, shops["vaise"], tube.part, quantity=7),
        "guill_chain": make.need(campaign, shops["guill"], chain.part, quantity=3),
    }
    closed_at = close(campaign, at=now() - timedelta(hours=1))
    allocations = [
        served(needs["croix_tyre"], tyre, 6, "21.9000", 10),
        served(needs["guill_tyre"], tyre, 4, "21.9000", 10),
        served(needs["croix_tube"], tube, 10, "4.2000", 1),
        {
            "need": needs["vaise_tube"].id,
            "offer": None,
            "supplier": None,
            "units": 0,
            "why": {"code": "pack_short", "params": {"pack": 10, "short": 3}},
        },
        served(needs["guill_chain"], chain, 3, "16.4567", 1),
    ]
    run = stored_run(
        campaign,
        allocations,
        {"LYONPNEU": "0.00", "EUROCHAIN": "25.00"},
        at=closed_at + timedelta(seconds=1),
    )
    return Plan(campaign, run, lyonpneu, eurochain, shops, needs)


@pytest.fixture
def plan(make) -> Plan:
    return build_plan(make)


def committed(plan: Plan) -> list[PurchaseOrder]:
    orders = ordering.commit_run(plan.run, at=plan.run.created_at + timedelta(minutes=5))
    db.session.commit()
    return orders


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


# --- committing a plan ------------------------------------------------------------------------


def test_committing_a_plan_makes_one_order_per_supplier_with_exact_amounts(plan):
    lyonpneu_order, eurochain_order = committed(plan)
    year = to_local(plan.run.created_at).year
    assert [lyonpneu_order.number, eurochain_order.number] == [
        f"BC-{year}-00001",
        f"BC-{year}-00002",
    ]
    assert (lyonpneu_order.supplier, eurochain_order.supplier) == (plan.lyonpneu, plan.eurochain)
    tyres, tubes = lyonpneu_order.lines
    assert (tyres.quantity, tyres.unit_price, tyres.tier_min_qty, tyres.amount) == (
        10,
        Decimal("21.9000"),
        10,
        Decimal("219.00"),
    )
    assert (tubes.supplier_ref, tubes.pack_size, tubes.amount) == ("LP-CH700", 10, Decimal("42.00"))
    assert (lyonpneu_order.goods, lyonpneu_order.shipping_fee, lyonpneu_order.total) == (
        Decimal("261.00"),
        Decimal("0.00"),
        Decimal("261.00"),
    )
    # 3 × 16.4567 = 49.3701, rounded once on the line.
    assert eurochain_order.lines[0].amount == Decimal("49.37")
    assert eurochain_order.total == Decimal("74.37")
    assert all(o.status is OrderStatus.DRAFT for o in (lyonpneu_order, eurochain_order))
    assert lyonpneu_order.delivery_mode is DeliveryMode.SHOPS


def test_each_need_gets_its_allocation_and_the_unserved_keep_their_reason(plan):
    committed(plan)
    needs = plan.needs
    assert needs["croix_tyre"].allocation.quantity == 6
    assert needs["guill_tyre"].allocation.line is needs["croix_tyre"].allocation.line
    assert needs["croix_tube"].allocation.amount == Decimal("42.00")
    assert needs["vaise_tube"].allocation is None
    assert needs["vaise_tube"].pooling_reason == {
        "code": "pack_short",
        "params": {"pack": 10, "short": 3},
    }
    assert needs["croix_tyre"].pooling_reason is None
    assert plan.campaign.status is CampaignStatus.POOLED
    assert plan.run.committed_at is not None


def test_a_run_made_before_the_campaign_was_reopened_is_refused(plan):
    reopened_at = plan.run.created_at + timedelta(minutes=1)
    change_status(plan.campaign, CampaignStatus.OPEN, at=reopened_at)
    close(plan.campaign, at=reopened_at + timedelta(minutes=1))
    with pytest.raises(DomainError, match="rouverte depuis ce calcul"):
        ordering.commit_run(plan.run)
    db.session.rollback()
    assert db.session.scalar(select(func.count(PurchaseOrder.id))) == 0
    assert plan.campaign.status is CampaignStatus.CLOSED


def test_an_open_campaign_cannot_be_committed(plan):
    change_status(plan.campaign, CampaignStatus.OPEN, at=now())
    db.session.commit()
    with pytest.raises(DomainError, match="seule une campagne close"):
        ordering.commit_run(plan.run)
    db.session.rollback()
    assert db.session.scalar(select(func.count(PurchaseOrder.id))) == 0
    assert db.session.scalar(select(func.count(Allocation.id))) == 0


def test_undoing_the_pooling_cancels_the_drafts_and_frees_the_needs(plan):
    orders = committed(plan)
    ordering.undo_pooling(plan.campaign)
    db.session.commit()
    assert plan.campaign.status is CampaignStatus.CLOSED
    assert {o.status for o in orders} == {OrderStatus.CANCELLED}
    assert db.session.scalar(select(func.count(Allocation.id))) == 0
    assert plan.needs["vaise_tube"].pooling_reason is None


# --- moving an order along ----------------------------------------------------------------------


def test_sending_marks_the_order_sent_and_mails_the_pdf_after_the_commit(plan):
    order = committed(plan)[0]
    sent = mail.sent_messages()
    sent.clear()
    ordering.send_order(order, at=now())
    assert sent == []
    db.session.commit()
    assert order.status is OrderStatus.SENT and order.sent_at is not None
    assert plan.campaign.status is CampaignStatus.ORDERED
    (message,) = sent
    assert message["To"] == "commandes@lyonpneu.example"
    assert order.number in message["Subject"]
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == f"{order.number}.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content().startswith(b"%PDF")
    assert "ci-joint notre bon de commande" in message.get_body(("plain",)).get_content()


def test_an_order_to_a_supplier_without_email_is_not_sent(plan):
    order = committed(plan)[1]
    mail.sent_messages().clear()
    with pytest.raises(DomainError, match="n'a pas d'adresse e-mail"):
        ordering.send_order(order, at=now())
    db.session.rollback()
    assert order.status is OrderStatus.DRAFT
    assert plan.campaign.status is CampaignStatus.POOLED
    assert mail.sent_messages() == []


def test_a_sent_order_is_confirmed_then_cannot_be_sent_again(plan):
    order = committed(plan)[0]
    ordering.send_order(order, at=now())
    ordering.change_order_status(order, OrderStatus.CONFIRMED, at=now())
    db.session.commit()
    assert order.status is OrderStatus.CONFIRMED and order.confirmed_at is not None
    with pytest.raises(DomainError, match="confirmé"):
        ordering.send_order(order, at=now())


def test_cancelling_a_sent_order_tells_the_supplier(plan):
    order = committed(plan)[0]
    ordering.send_order(order, at=now())
    db.session.commit()
    mail.sent_messages().clear()
    ordering.cancel_order(order, at=now())
    db.session.commit()
    assert order.status is OrderStatus.CANCELLED and order.cancelled_at is not None
    (message,) = mail.sent_messages()
    assert message["Subject"].startswith(f"Annulation du bon de commande {order.number}")


def test_a_received_order_can_no_longer_be_cancelled(plan):
    order = committed(plan)[0]
    ordering.send_order(order, at=now())
    ordering.change_order_status(order, OrderStatus.CONFIRMED, at=now())
    ordering.change_order_status(order, OrderStatus.RECEIVED, at=now())
    with pytest.raises(DomainError, match="ne peut pas devenir « annulé »"):
        ordering.cancel_order(order, at=now())


# --- the PDF ------------------------------------------------------------------------------------


def test_the_pdf_says_who_orders_what_from_whom_and_where_it_goes(plan):
    order = committed(plan)[0]
    data = ordering.render_order_pdf(order)
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    for expected in (
        "BON DE COMMANDE",
        order.number,
        "Coopérative vélo Lyon",
        "Lyon Pneus & Co",
        "PNEU-700X32",
        "LP-70032",
        "21,90",
        "219,00",
        "261,00",
        "offerts",
        "Atelier Vélo Croix-Rousse",
        "3 rue d'Austerlitz",
        "Cycles de la Guillotière",
        plan.campaign.code,
        "Page 1 / ",
    ):
        assert expected in text.replace("\u202f", " ").replace("\xa0", " "), expected
    assert "Vaise Bike Lab" not in text  # its need was not served


def with_coop_vat_number(vat_number: str) -> None:
    identity = coop_identity()
    identity.vat_number = vat_number
    db.session.add(identity)
    db.session.commit()


def test_an_order_to_a_french_supplier_prints_its_address_and_no_vat_rule(client, make, plan):
    plan.lyonpneu.address, plan.lyonpneu.postcode = "12 rue Francis de Pressensé", "69100"
    order = committed(plan)[0]
    client.login_as(make.user(Role.MANAGER))
    text = " ".join(pdf_text(client.get(f"/purchase-orders/{order.number}.pdf").data).split())
    assert "12 rue Francis de Pressensé 69100 Villeurbanne, France" in text
    assert "N° TVA FR12345678901" in text
    assert "La TVA s'applique selon la réglementation en vigueur." in text
    assert "Autoliquidation" not in text and "Importation" not in text


def test_an_order_to_a_supplier_in_the_eu_says_the_vat_is_self_assessed(client, make, plan):
    with_coop_vat_number("FR40303265045")
    supplier = plan.eurochain
    supplier.country, supplier.city, supplier.vat_number = "IT", "Milano", "IT00743110157"
    supplier.address, supplier.postcode = "Via Torino 12", "20123"
    order = committed(plan)[1]
    client.login_as(make.user(Role.MANAGER))
    text = " ".join(pdf_text(client.get(f"/purchase-orders/{order.number}.pdf").data).split())
    assert "Via Torino 12 20123 Milano, Italie" in text
    assert "Autoliquidation — livraison intracommunautaire, art. 262 ter I du CGI." in text
    assert "N° TVA du fournisseur : IT00743110157 · N° TVA de l'acquéreur : FR40303265045." in text
    assert "La TVA s'applique selon" not in text


def test_an_order_from_outside_the_eu_says_the_vat_is_paid_at_import(client, make, plan):
    plan.eurochain.country, plan.eurochain.city = "TW", "Taichung"
    order = committed(plan)[1]
    client.login_as(make.user(Role.MANAGER))
    text = " ".join(pdf_text(client.get(f"/purchase-orders/{order.number}.pdf").data).split())
    assert (
        "Importation : TVA acquittée à l'importation. Pas de TVA française sur la facture." in text
    )
    assert "Autoliquidation" not in text


def test_an_order_delivered_to_the_hub_shows_the_hub_address(plan, app):
    order = committed(plan)[0]
    order.delivery_mode = DeliveryMode.HUB
    text = pdf_text(ordering.render_order_pdf(order))
    assert "45 rue de Gerland" in text
    assert "Répartition par atelier" not in text


# --- the pages ----------------------------------------------------------------------------------


def test_the_manager_lists_filters_and_reads_orders(client, make, plan):
    lyonpneu_order, eurochain_order = committed(plan)
    client.login_as(make.user(Role.MANAGER))
    page = client.get("/purchase-orders").text
    assert lyonpneu_order.number in page and eurochain_order.number in page
    assert "261,00" in page
    page = client.get("/purchase-orders?q=euro chain").text
    assert eurochain_order.number in page and lyonpneu_order.number not in page
    page = client.get("/purchase-orders?status=sent").text
    assert lyonpneu_order.number not in page
    page = client.get(f"/purchase-orders?campaign={plan.campaign.code}&status=draft").text
    assert lyonpneu_order.number in page
    detail = client.get(f"/purchase-orders/{lyonpneu_order.number}").text
    assert "Atelier Vélo Croix-Rousse" in detail and "× 6" in detail
    assert "Envoyer au fournisseur" in detail and "Annuler la commande" in detail
    campaign_page = client.get(f"/campaigns/{plan.campaign.id}").text
    assert lyonpneu_order.number in campaign_page
    response = client.get(f"/purchase-orders/{lyonpneu_order.number}.pdf")
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert f"{lyonpneu_order.number}.pdf" in response.headers["Content-Disposition"]
    assert client.get("/purchase-orders/BC-1999-99999").status_code == 404


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("chaine", "eurochain"),  # a part on its lines, without the accent
        ("presta CHAMBRE", "lyonpneu"),
        ("lp-70032", "lyonpneu"),  # the supplier's reference of a line
        ("LYON pneus", "lyonpneu"),  # the supplier's name
        ("koln", "eurochain"),  # the supplier's city
        ("euro 11 vitesses", "eurochain"),
        ("pneu euro", None),  # no order is from Euro Chain and holds a tyre
    ],
)
def test_the_order_list_finds_orders_by_supplier_part_or_reference(
    client, make, plan, typed, found
):
    orders = dict(zip(("lyonpneu", "eurochain"), committed(plan), strict=True))
    client.login_as(make.user(Role.MANAGER))
    page = client.get("/purchase-orders", query_string={"q": typed}).text
    assert [name for name, order in orders.items() if order.number in page] == (
        [found] if found else []
    )


def test_the_order_list_finds_an_order_by_its_number_in_lower_case(client, make, plan):
    lyonpneu_order, eurochain_order = committed(plan)
    client.login_as(make.user(Role.MANAGER))
    page = client.get("/purchase-orders", query_string={"q": lyonpneu_order.number.lower()}).text
    assert lyonpneu_order.number in page and eurochain_order.number not in page


def test_the_manager_sends_confirms_and_cancels_from_the_screens(client, make, plan):
    order = committed(plan)[0]
    client.login_as(make.user(Role.MANAGER))
    mail.sent_messages().clear()
    confirm_page = client.get(f"/purchase-orders/{order.number}/send").text
    assert "commandes@lyonpneu.example" in confirm_page
    response = client.post(f"/purchase-orders/{order.number}/send")
    assert response.location == f"/purchase-orders/{order.number}"
    assert order.status is OrderStatus.SENT
    assert len(mail.sent_messages()) == 1
    again = client.get(f"/purchase-orders/{order.number}/send", follow_redirects=True).text
    assert "il ne peut plus être envoyé" in again
    client.post(f"/purchase-orders/{order.number}/confirm")
    assert order.status is OrderStatus.CONFIRMED
    warning = client.get(f"/purchase-orders/{order.number}/cancel").text
    assert "déjà reçu ce bon de commande" in warning
    client.post(f"/purchase-orders/{order.number}/cancel")
    assert order.status is OrderStatus.CANCELLED
    # A refusal is a message, not an error page.
    response = client.post(f"/purchase-orders/{order.number}/confirm", follow_redirects=True)
    assert response.status_code == 200
    assert "ne peut pas devenir" in response.text


def test_sending_to_a_supplier_without_email_says_why(client, make, plan):
    order = committed(plan)[1]
    client.login_as(make.user(Role.MANAGER))
    assert "ajoutez-la à sa fiche" in client.get(f"/purchase-orders/{order.number}").text
    response = client.post(f"/purchase-orders/{order.number}/send", follow_redirects=True)
    assert "n&#39;a pas d&#39;adresse e-mail" in response.text
    assert order.status is OrderStatus.DRAFT


def test_the_treasurer_reads_but_does_not_act_and_members_see_nothing(client, make, plan):
    order = committed(plan)[0]
    client.login_as(make.user(Role.TREASURER))
    detail = client.get(f"/purchase-orders/{order.number}")
    assert detail.status_code == 200 and "Envoyer au fournisseur" not in detail.text
    assert client.get(f"/purchase-orders/{order.number}.pdf").status_code == 200
    assert client.post(f"/purchase-orders/{order.number}/send").status_code == 403
    assert order.status is OrderStatus.DRAFT
    client.login_as(make.user(Role.MEMBER, member=plan.shops["croix"]))
    for path in (
        "/purchase-orders",
        f"/purchase-orders/{order.number}",
        f"/purchase-orders/{order.number}.pdf",
    ):
        assert client.get(path).status_code == 403


def test_anonymous_visitors_are_sent_to_the_login_page(client, plan):
    order = committed(plan)[0]
    for path in ("/purchase-orders", f"/purchase-orders/{order.number}.pdf"):
        response = client.get(path)
        assert response.status_code == 302 and response.location.startswith("/login")


def test_the_campaign_page_lists_its_purchase_orders_by_number(client, make, plan):
    first, second = committed(plan)
    assert (first.supplier.code, second.supplier.code) == ("LYONPNEU", "EUROCHAIN")
    client.login_as(make.user(Role.MANAGER))
    page = client.get(f"/campaigns/{plan.campaign.id}").text
    assert page.index(f">{first.number}<") < page.index(f">{second.number}<")
