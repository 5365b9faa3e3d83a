"""The manager finds a purchase order, reads it, and sends it to the supplier."""

import pytest

from coop import mail
from coop.accounts.auth import create_user
from coop.accounts.models import Role
from coop.extensions import db
from tests import factories
from tests.browser.test_member_flow import PASSWORD, log_in
from tests.orders.purchasing.test_purchase_orders import build_plan, committed

pytestmark = pytest.mark.browser


def test_the_manager_sends_a_purchase_order_to_its_supplier(page, live_app):
    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        order = committed(build_plan(factories))[0]
        number = order.number
        create_user("gerance@coop.example", "Camille", Role.MANAGER, PASSWORD)
        db.session.commit()
        mail.sent_messages().clear()

    log_in(page, base, "gerance@coop.example")
    menu = page.get_by_role("navigation", name="Navigation principale")
    menu.locator("summary", has_text="Achats").click()
    menu.get_by_role("link", name="Commandes").click()
    page.get_by_role("link", name=number).click()
    page.get_by_role("heading", name=f"Bon de commande {number}").wait_for()
    assert "Atelier Vélo Croix-Rousse × 6" in page.inner_text("main")
    page.get_by_role("link", name="Envoyer au fournisseur").click()
    assert "commandes@lyonpneu.example" in page.inner_text("main")
    page.get_by_role("button", name="Envoyer au fournisseur").click()
    page.get_by_text(f"Bon de commande {number} envoyé à commandes@lyonpneu.example.").wait_for()
    assert page.locator(".page-head .badge").inner_text() == "envoyé"
    with live_app.app_context():
        (message,) = mail.sent_messages()
        assert message["To"] == "commandes@lyonpneu.example"
