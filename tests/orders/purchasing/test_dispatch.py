"""Dispatch from the hub: picking lists per shop, its PDF, and confirming who took the goods."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from coop.accounts.models import Member, Role
from coop.clock import now, to_local
from coop.errors import DomainError
from coop.extensions import db
from coop.orders.campaigns.models import Campaign, DeliveryMode, Need
from coop.orders.purchasing import dispatch, ordering
from coop.orders.purchasing.dispatch import DispatchStatus
from coop.orders.purchasing.models import Handover
from tests.orders.purchasing.test_purchase_orders import close, pdf_text, served, stored_run


@dataclass
class Hub:
    campaign: Campaign
    shops: dict[str, Member]
    needs: dict[str, Need]


def build_hub(make, delivery_mode=DeliveryMode.HUB) -> Hub:
    """Three shops at the hub; Lyon Pneus delivered (one tyre short), Euro Chain not yet."""
    lyonpneu = make.supplier(code="LYONPNEU", name="Lyon Pneus & Co", is_local=True)
    eurochain = make.supplier(code="EUROCHAIN", name="Euro Chain GmbH", country="DE")
    tyre = make.offer(
        lyonpneu,
        make.part(sku="PNEU-700X32", name="Pneu route 700x32C"),
        tiers=((1, "21.9000"),),
        supplier_ref="LP-70032",
    )
    tube = make.offer(
        lyonpneu,
        make.part(sku="CHAMBRE-700", name="Chambre à air 700 Presta"),
        tiers=((1, "3.6500"),),
        supplier_ref="LP-CH700",
        pack_size=10,
    )
    chain = make.offer(
        eurochain,
        make.part(sku="CHAINE-11V", name="Chaîne 11 vitesses"),
        tiers=((1, "16.4567"),),
        supplier_ref="EC-11S",
    )
    shops = {
        "croix": make.member(code="CROIX", name="Atelier Vélo Croix-Rousse", phone="0478000001"),
        "guill": make.member(code="GUILL", name="Cycles de la Guillotière"),
        "vaise": make.member(code="VAISE", name="Vaise Bike Lab"),
    }
    campaign = make.campaign(delivery_mode=delivery_mode)
    needs = {
        "croix_tyre": make.need(campaign, shops["croix"], tyre.part, quantity=6),
        "croix_tube": make.need(campaign, shops["croix"], tube.part, quantity=23),
        "croix_chain": make.need(campaign, shops["croix"], chain.part, quantity=2),
        "guill_tyre": make.need(campaign, shops["guill"], tyre.part, quantity=4),
        "vaise_chain": make.need(campaign, shops["vaise"], chain.part, quantity=3),
    }
    closed_at = close(campaign, at=now() - timedelta(days=3))
    run = stored_run(
        campaign,
        [
            served(needs["croix_tyre"], tyre, 6, "21.9000", 1),
            served(needs["croix_tube"], tube, 23, "3.6500", 1),
            served(needs["croix_chain"], chain, 2, "16.4567", 1),
            served(needs["guill_tyre"], tyre, 4, "21.9000", 1),
            served(needs["vaise_chain"], chain, 3, "16.4567", 1),
        ],
        {"LYONPNEU": "0.00", "EUROCHAIN": "25.00"},
        at=closed_at + timedelta(seconds=1),
    )
    ordering.commit_run(run, at=closed_at + timedelta(minutes=5))
    # What receiving (coop.orders.receiving) records once Lyon Pneus delivered: one tyre short.
    for key, received in (("croix_tyre", 5), ("croix_tube", 23), ("guill_tyre", 4)):
        needs[key].allocation.received = received
    db.session.commit()
    return Hub(campaign, shops, needs)


@pytest.fixture
def hub(make) -> Hub:
    return build_hub(make)


@pytest.fixture
def manager(client, make):
    user = make.user(Role.MANAGER, name="Camille Manager")
    client.login_as(user)
    return user


def local_input(moment) -> str:
    return to_local(moment).strftime("%Y-%m-%dT%H:%M")


def handovers() -> int:
    return db.session.scalar(select(func.count()).select_from(Handover))


def confirm(client, hub, shop="croix", **data):
    form = {
        "taken_by": "Léa Martin",
        "handed_at": local_input(now() - timedelta(hours=1)),
        "note": "",
    } | data
    return client.post(f"/campaigns/{hub.campaign.id}/dispatch/{shop.upper()}/handover", data=form)


# --- the picking list -------------------------------------------------------------------------


def test_picking_list_gives_what_arrived_and_marks_what_is_pending(hub):
    picking = dispatch.picking_list(hub.campaign, hub.shops["croix"])
    rows = [
        (
            i.line.part.sku,
            i.need.ref,
            i.supplier.name,
            i.allocated,
            i.is_ready,
            i.units,
            i.short,
            i.packs,
        )
        for i in picking.items
    ]
    assert rows == [
        ("CHAMBRE-700", hub.needs["croix_tube"].ref, "Lyon Pneus & Co", 23, True, 23, 0, (2, 3)),
        ("PNEU-700X32", hub.needs["croix_tyre"].ref, "Lyon Pneus & Co", 6, True, 5, 1, None),
        ("CHAINE-11V", hub.needs["croix_chain"].ref, "Euro Chain GmbH", 2, False, 0, 0, None),
    ]
    assert (picking.units, picking.units_pending, picking.units_short) == (28, 2, 1)
    assert not picking.is_complete
    assert picking.has_goods
    assert picking.status is DispatchStatus.TO_HAND


def test_the_board_lists_each_shop_with_its_counts_and_status(hub):
    board = dispatch.dispatch_board(hub.campaign)
    rows = [(r.member.code, r.ready_lines, r.pending_lines, r.units, r.status) for r in board.rows]
    assert rows == [
        ("CROIX", 2, 1, 28, DispatchStatus.TO_HAND),
        ("GUILL", 1, 0, 4, DispatchStatus.TO_HAND),
        ("VAISE", 0, 1, 0, DispatchStatus.WAITING),
    ]
    assert board.counts == {
        DispatchStatus.TO_HAND: 2,
        DispatchStatus.HANDED: 0,
        DispatchStatus.WAITING: 1,
        DispatchStatus.NOTHING: 0,
    }
    assert [r.member.code for r in dispatch.filter_board(board.rows, "guill")] == ["GUILL"]
    assert [
        r.member.code for r in dispatch.filter_board(board.rows, "", DispatchStatus.WAITING)
    ] == ["VAISE"]


def test_the_board_page_filters_by_status_and_searches_shops(client, hub, manager):
    page = client.get(f"/campaigns/{hub.campaign.id}/dispatch").text
    assert "Atelier Vélo Croix-Rousse" in page and "Vaise Bike Lab" in page
    waiting = client.get(f"/campaigns/{hub.campaign.id}/dispatch?status=waiting").text
    assert "Vaise Bike Lab" in waiting and "Cycles de la Guillotière" not in waiting
    found = client.get(f"/campaigns/{hub.campaign.id}/dispatch?q=croix").text
    assert "Atelier Vélo Croix-Rousse" in found and "Vaise Bike Lab" not in found


def test_the_picking_page_shows_pending_lines_and_the_form(client, hub, manager):
    page = client.get(f"/campaigns/{hub.campaign.id}/dispatch/CROIX").text
    assert "PNEU-700X32" in page
    assert "en attente de livraison" in page
    assert "manque 1" in page
    assert "2 colis de 10" in page
    assert "Confirmer la remise" in page


def test_the_picking_list_pdf_names_the_shop_and_its_lines(client, hub, manager):
    response = client.get(f"/campaigns/{hub.campaign.id}/dispatch/CROIX.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    text = pdf_text(response.data)
    assert "Bon de remise" in text
    assert "Atelier Vélo Croix-Rousse" in text
    assert "PNEU-700X32" in text
    assert "en attente de livraison" in text
    assert "REÇU PAR" in text.upper()


def test_a_campaign_not_yet_pooled_has_nothing_to_dispatch(client, make, manager):
    campaign = make.campaign()
    response = client.get(f"/campaigns/{campaign.id}/dispatch", follow_redirects=True)
    assert "rien à remettre avant que son plan de mutualisation soit validé" in response.text


def test_a_shop_outside_the_plan_is_a_404(client, hub, manager, make):
    stranger = make.member(code="AILLEURS")
    assert client.get(f"/campaigns/{hub.campaign.id}/dispatch/{stranger.code}").status_code == 404
    assert client.get(f"/campaigns/{hub.campaign.id}/dispatch/NOBODY").status_code == 404


# --- confirming -------------------------------------------------------------------------------


def test_confirming_a_handover_records_who_and_when(client, hub, manager):
    handed = (now() - timedelta(hours=2)).replace(second=0, microsecond=0)
    response = confirm(
        client, hub, taken_by="  Léa   Martin ", handed_at=local_input(handed), note="Deux cartons"
    )
    assert response.status_code == 302
    handover = db.session.scalar(select(Handover))
    assert (handover.member, handover.taken_by, handover.handed_at, handover.note) == (
        hub.shops["croix"],
        "Léa Martin",
        handed,
        "Deux cartons",
    )
    assert handover.recorded_by_id == manager.id
    board = client.get(response.location).text
    assert "Remise à Atelier Vélo Croix-Rousse enregistrée." in board
    assert "à Léa Martin" in board
    page = client.get(f"/campaigns/{hub.campaign.id}/dispatch/CROIX").text
    assert f"Remis le {to_local(handed).strftime('%d/%m/%Y %H:%M')} à Léa Martin." in page
    assert "Corriger cette confirmation" in page


def test_a_second_confirmation_is_refused_and_the_first_can_be_corrected(client, hub, manager):
    confirm(client, hub)
    with pytest.raises(DomainError, match="corrigez cette confirmation"):
        dispatch.confirm_handover(
            hub.campaign,
            hub.shops["croix"],
            taken_by="Paul",
            handed_at=now(),
            note=None,
            by=manager,
            at=now(),
        )
    db.session.rollback()
    twice = confirm(client, hub, taken_by="Paul Durand")
    assert twice.status_code == 422
    assert "Déjà remis le" in twice.text
    assert db.session.scalar(select(Handover.taken_by)) == "Léa Martin"
    corrected = confirm(client, hub, taken_by="Paul Durand", correct="1")
    assert corrected.status_code == 302
    assert handovers() == 1
    assert db.session.scalar(select(Handover.taken_by)) == "Paul Durand"


@pytest.mark.parametrize(
    ("shop", "data", "message"),
    [
        ("croix", {"taken_by": "   "}, "Indiquez le nom de la personne"),
        (
            "croix",
            {"handed_at": local_input(now() + timedelta(days=1))},
            "La date ne peut pas être dans le futur",
        ),
        ("croix", {"handed_at": "demain"}, "pas une date/heure valide"),
        ("vaise", {}, "Aucune marchandise de la campagne"),
    ],
)
def test_a_refused_confirmation_writes_nothing(client, hub, manager, shop, data, message):
    response = confirm(client, hub, shop=shop, **data)
    assert response.status_code == 422
    assert message in response.text
    assert handovers() == 0


def test_the_service_refuses_an_empty_name_whatever_the_form_checked(hub, manager):
    with pytest.raises(DomainError, match="Indiquez le nom") as refused:
        dispatch.confirm_handover(
            hub.campaign,
            hub.shops["croix"],
            taken_by="  ",
            handed_at=now(),
            note=None,
            by=manager,
            at=now(),
        )
    assert refused.value.field == "taken_by"
    db.session.rollback()
    assert handovers() == 0


def test_a_delivery_to_the_shops_is_confirmed_as_received_at_the_shop(client, make, manager):
    shops = build_hub(make, delivery_mode=DeliveryMode.SHOPS)
    handed = now() - timedelta(hours=1)
    assert (
        confirm(client, shops, taken_by="Noé Petit", handed_at=local_input(handed)).status_code
        == 302
    )
    page = client.get(f"/campaigns/{shops.campaign.id}/dispatch/CROIX").text
    assert "Bon de livraison" in page
    assert "réceptionné par Noé Petit" in page
    pdf = pdf_text(client.get(f"/campaigns/{shops.campaign.id}/dispatch/CROIX.pdf").data)
    assert "Bon de livraison" in pdf and "RÉCEPTIONNÉ PAR" in pdf.upper()


def test_the_shop_sees_its_handover_on_its_home_page(client, hub, make, manager):
    confirm(client, hub, taken_by="Léa Martin")
    client.login_as(make.user(Role.MEMBER, member=hub.shops["croix"]))
    assert "remis le" in client.get("/").text
    assert "à Léa Martin" in client.get("/").text


# --- who may -----------------------------------------------------------------------------------


def test_a_shop_cannot_see_the_dispatch_and_anonymous_goes_to_login(client, hub, make):
    base = f"/campaigns/{hub.campaign.id}/dispatch"
    urls = [base, f"{base}/CROIX", f"{base}/CROIX.pdf"]
    for url in urls:
        assert client.get(url).location.startswith("/login")
    client.login_as(make.user(Role.MEMBER, member=hub.shops["croix"]))
    for url in urls:
        assert client.get(url).status_code == 403
    assert confirm(client, hub).status_code == 403
    assert handovers() == 0


def test_the_treasurer_may_view_but_not_confirm(client, hub, make):
    client.login_as(make.user(Role.TREASURER))
    page = client.get(f"/campaigns/{hub.campaign.id}/dispatch/CROIX")
    assert page.status_code == 200
    assert "Confirmer la remise" not in page.text
    assert client.get(f"/campaigns/{hub.campaign.id}/dispatch/CROIX.pdf").status_code == 200
    assert confirm(client, hub).status_code == 403
    assert handovers() == 0
