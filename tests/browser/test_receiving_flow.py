"""The manager receives a line one pack short; the shops then see what they got and lost."""

import os

import pytest
from playwright.sync_api import expect

from coop.accounts.auth import create_user
from coop.accounts.models import Role
from coop.extensions import db
from tests import factories
from tests.browser.test_member_flow import PASSWORD, log_in, log_out
from tests.orders.purchasing.test_receiving import THREE_SHOPS, one_line_order

pytestmark = pytest.mark.browser


def test_the_manager_receives_a_line_short_and_the_shop_sees_what_it_lost(page, live_app):
    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        order, needs = one_line_order(factories, THREE_SHOPS)
        number, campaign_id, line = order.number, order.campaign_id, order.lines[0]
        description, shop_name = line.description, needs[0].member.name
        shop_code = needs[0].member.code
        create_user("gerance@coop.example", "Camille", Role.MANAGER, PASSWORD)
        create_user(
            "atelier@premier.example",
            "Sam",
            Role.MEMBER,
            PASSWORD,
            member_code=needs[0].member.code,
        )
        db.session.commit()

    log_in(page, base, "gerance@coop.example")
    # The shop's statement before anything arrives: an estimate on the allocated units.
    statement_url = f"{base}/campaigns/{campaign_id}/statement?member={shop_code}"
    page.goto(statement_url)
    expect(page.get_by_text("Estimation :")).to_be_visible()
    before = page.locator(".stat").first.inner_text()
    page.goto(f"{base}/purchase-orders/{number}")
    page.get_by_role("link", name="Réceptionner").click()
    heading = page.get_by_role("heading", name=f"Réceptionner le bon de commande {number}")
    expect(heading).to_be_visible()
    _screenshot(page, "receipt_form")
    page.get_by_label("Référence du bon de livraison").fill("BL-2026-118")
    page.get_by_label(f"Bonnes : {description}").fill("10")
    page.get_by_label(f"Abîmées : {description}").fill("1")
    page.get_by_role("button", name="Enregistrer la réception").click()

    expect(page.get_by_text(f"Réception enregistrée sur {number} : 10 unités")).to_be_visible()
    expect(page.locator(".page-head .badge")).to_have_text("reçu en partie")
    receipts = page.locator("#receipts")
    expect(receipts).to_contain_text("BL-2026-118")
    expect(receipts).to_contain_text("1 abîmée")
    first_shop_row = page.locator("#shares tbody tr").filter(has_text=shop_name)
    expect(first_shop_row.locator("td")).to_have_text([shop_name, description, "10", "4", "6"])
    _screenshot(page, "order_after_short_receipt")
    # Its statement now bills the 4 units it got, not the 10 it was allocated.
    page.goto(statement_url)
    expect(page.locator(".stat").first).not_to_have_text(before)
    _screenshot(page, "statement_after_short_receipt")

    log_out(page)
    log_in(page, base, "atelier@premier.example")
    page.goto(f"{base}/campaigns/{campaign_id}/needs")
    outcome = page.locator("#outcome")
    expect(outcome.get_by_role("cell", name="4", exact=True)).to_be_visible()
    expect(
        outcome.get_by_text(
            "Livraison incomplète du fournisseur pour l’instant : 6 unités en moins "
            "(partagée au prorata des quantités) ; le reste peut encore arriver."
        )
    ).to_be_visible()
    _screenshot(page, "shop_after_short_receipt")


def _screenshot(page, name: str) -> None:
    artifacts = os.environ.get("COOP_TEST_ARTIFACTS")
    if artifacts:
        os.makedirs(artifacts, exist_ok=True)
        page.screenshot(path=os.path.join(artifacts, f"{name}.png"), full_page=True)
