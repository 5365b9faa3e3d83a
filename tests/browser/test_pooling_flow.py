"""The manager pools a closed campaign in the background, excludes a supplier, commits;
the shop then sees what it gets and why a need was not served."""

from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from coop.accounts.auth import create_user
from coop.accounts.members import create_member
from coop.accounts.models import Role
from coop.clock import now, today
from coop.extensions import db
from coop.orders.campaigns.lifecycle import change_status, create_campaign
from coop.orders.campaigns.models import CampaignStatus
from coop.orders.campaigns.needs import NeedTerms, post_need
from coop.orders.pooling import views as pooling_views
from coop.suppliers.catalogue import save_offer, save_part, save_supplier
from tests.browser.test_member_flow import PASSWORD, log_in, log_out

pytestmark = pytest.mark.browser


def test_the_manager_pools_commits_and_the_shop_sees_its_share(page, live_app, monkeypatch):
    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        shops = [create_member(code=f"VELO0{i}", name=f"Atelier {i}") for i in (1, 2)]
        create_user("gerance@coop.example", "Camille", Role.MANAGER, PASSWORD)
        create_user("atelier@velo01.example", "Sam", Role.MEMBER, PASSWORD, member_code="VELO01")
        lyon = save_supplier(
            None,
            code="LYONPNEU",
            name="Lyon Pneus",
            country="FR",
            is_local=True,
            shipping_fee=Decimal("6.00"),
        )
        asia = save_supplier(None, code="FARTYRES", name="Far Tyres", country="CN")
        tyre = save_part(None, sku="TYR-700", name="Pneu 700x28")
        chain = save_part(None, sku="CHN-11", name="Chaîne 11 vitesses")
        save_offer(
            None, supplier=lyon, part=tyre, tiers=[(1, Decimal("10.00")), (10, Decimal("8.00"))]
        )
        save_offer(None, supplier=asia, part=tyre, tiers=[(1, Decimal("9.00"))])
        save_offer(None, supplier=asia, part=chain, pack_size=10, tiers=[(10, Decimal("18.00"))])
        campaign = create_campaign("2026-12", "Décembre", today() + timedelta(days=20), at=now())
        for shop in shops:
            post_need(campaign, shop, tyre, NeedTerms(quantity=6), at=now())
        post_need(campaign, shops[0], chain, NeedTerms(quantity=3, ref="CH"), at=now())
        change_status(campaign, CampaignStatus.CLOSED, at=now())
        db.session.commit()
        campaign_id = campaign.id

    log_in(page, base, "gerance@coop.example")
    page.goto(f"{base}/campaigns/{campaign_id}")
    page.get_by_role("link", name="Mutualisation").click()
    # Answer at once, as for a long run: the page shows the progress bar, polls, and
    # reloads itself when the background run is done.
    monkeypatch.setattr(pooling_views, "WAIT_SECONDS", 0)
    page.get_by_role("button", name="Lancer le calcul").click()
    page.get_by_text("Optimal", exact=True).wait_for()
    monkeypatch.undo()
    orders = page.locator(".supplier-order")
    assert orders.count() == 1 and "Lyon Pneus" in orders.first.inner_text()
    assert "102,00\xa0€" in page.locator(".grid").first.inner_text()

    # Exclude the local maker: the plan moves to Asia and says what that choice costs.
    page.get_by_text("Lancer un calcul").click()
    page.get_by_label("LYONPNEU").check()
    page.get_by_role("button", name="Lancer le calcul").click()
    page.get_by_text("Vos choix par rapport au calcul n°").wait_for()
    assert "Far Tyres" in page.locator(".supplier-order").first.inner_text()

    # Back to the first run, and commit it.
    page.get_by_role("link", name="1", exact=True).click()
    page.get_by_role("link", name="Valider ce plan et créer les bons de commande").click()
    page.get_by_role("button", name="Valider le plan").click()
    expect(page.get_by_text("Plan validé : 1 bon de commande en brouillon.")).to_be_visible()

    log_out(page)
    log_in(page, base, "atelier@velo01.example")
    page.goto(f"{base}/campaigns/{campaign_id}/needs")
    table = page.locator("#outcome")
    assert "Lyon Pneus" in table.inner_text() and "8,00\xa0€" in table.inner_text()
    assert "il manque 7 unités pour remplir un carton de 10" in table.inner_text()
