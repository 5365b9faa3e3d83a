"""A shop posts a need and sees the pack counter move; another shop's need moves it again."""

from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from coop.accounts.auth import create_user
from coop.accounts.members import create_member
from coop.accounts.models import Role
from coop.clock import now, today
from coop.extensions import db
from coop.orders.campaigns.lifecycle import create_campaign
from coop.orders.campaigns.needs import NeedTerms, post_need
from coop.suppliers.catalogue import save_offer, save_part, save_supplier
from tests.browser.test_member_flow import PASSWORD, log_in

pytestmark = pytest.mark.browser


def test_a_shop_posts_a_need_and_the_pack_counter_moves(page, live_app):
    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        create_member(code="VELO01", name="Atelier Vélo Croix-Rousse")
        other = create_member(code="VELO02", name="Cycles Guillotière")
        create_user("atelier@avcr.example", "Sam", Role.MEMBER, PASSWORD, member_code="VELO01")
        supplier = save_supplier(None, code="TAICHUNG", name="Taichung Cycle", country="TW")
        tube = save_part(None, sku="TUB-700", name="Chambre à air 700x25")
        save_offer(
            None,
            supplier=supplier,
            part=tube,
            pack_size=10,
            tiers=[(10, Decimal("3.00")), (30, Decimal("2.50"))],
        )
        campaign = create_campaign(
            "2026-12",
            "Décembre",
            today() + timedelta(days=20),
            at=now(),
            closes_at=now() + timedelta(days=7),
        )
        db.session.commit()
        campaign_id = campaign.id

    log_in(page, base, "atelier@avcr.example")
    page.get_by_role("link", name="Poster mes besoins").click()
    part = page.get_by_role("combobox", name="Pièce", exact=True)
    page.wait_for_load_state("load")  # htmx listens to the field once the scripts have run
    part.fill("chambre a air")  # the catalogue's best matches come as the shop types
    expect(page.locator("#part-choices option")).to_have_attribute(
        "value", "Chambre à air 700x25 (TUB-700)"
    )
    part.fill("Chambre à air 700x25 (TUB-700)")
    page.locator("form", has_text="Ajouter un besoin").get_by_label("Quantité").fill("7")
    page.get_by_role("button", name="Ajouter", exact=True).click()
    expect(page.get_by_text("Besoin ajouté : 7 × Chambre à air 700x25.")).to_be_visible()
    row = page.locator("#needs-table tbody tr").first
    expect(row.get_by_text("colis en cours 7/10, manque 3")).to_be_visible()
    minimum = "3 unités de plus pour atteindre le minimum de Taichung Cycle"
    expect(row.get_by_text(minimum)).to_be_visible()

    with live_app.app_context():  # another shop posts meanwhile
        post_need(
            db.session.get(type(campaign), campaign_id),
            db.session.merge(other),
            db.session.merge(tube),
            NeedTerms(quantity=5),
            at=now(),
        )
        db.session.commit()
    # The counters refresh in place (htmx polls the live rows) without reloading the page.
    page.wait_for_load_state("load")  # the page's scripts have run
    page.evaluate("htmx.trigger(document.querySelector('[hx-get]'), 'refresh')")
    moved = "1 colis plein · colis en cours 2/10, manque 8"
    page.locator("#needs-table").get_by_text(moved).wait_for()
    expect(page.locator("#needs-table").get_by_text("3,00 €")).to_be_visible()
