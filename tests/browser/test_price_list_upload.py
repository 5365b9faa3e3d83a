"""The manager uploads a supplier's price list, fixes the reported error, imports it."""

import pytest
from playwright.sync_api import expect

from coop.accounts.auth import create_user
from coop.accounts.models import Role
from coop.extensions import db
from coop.suppliers.catalogue import save_part, save_supplier
from tests.browser.test_member_flow import PASSWORD, log_in

pytestmark = pytest.mark.browser

PRICE_LIST = (
    "supplier_code;sku;min_qty;unit_price_eur;pack_size;made_in\n"
    "LYONPNEU;TYR-700X28;1;24,00;1;FR\n"
    "LYONPNEU;TYR-700X28;10;{price};1;FR\n"
)


def test_manager_fixes_a_price_list_and_imports_it(page, live_app, tmp_path):
    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        create_user("gerance@coop.example", "Camille", Role.MANAGER, PASSWORD)
        save_supplier(None, code="LYONPNEU", name="Lyon Pneu", country="FR", is_local=True)
        save_part(None, sku="TYR-700X28", name="Pneu route 700x28")
        db.session.commit()
    bad, good = tmp_path / "tarifs.csv", tmp_path / "tarifs-corrige.csv"
    bad.write_text(PRICE_LIST.format(price="21,9O"), encoding="utf-8")  # a letter O for a zero
    good.write_text(PRICE_LIST.format(price="21,90"), encoding="utf-8")

    log_in(page, base, "gerance@coop.example")
    page.locator(".mainnav summary", has_text="Achats").click()
    page.get_by_role("link", name="Catalogue").first.click()
    page.get_by_role("link", name="Importer une liste de prix").click()
    page.get_by_label("Fichier CSV").set_input_files(bad)
    page.get_by_role("button", name="Importer").click()

    expect(page.get_by_text("1 erreur dans le fichier")).to_be_visible()
    error_row = page.get_by_role("row").filter(has_text="unit_price_eur")
    expect(error_row.get_by_role("cell", name="3", exact=True)).to_be_visible()
    expect(error_row.get_by_text("nombre attendu, pas '21,9O'")).to_be_visible()

    page.get_by_label("Fichier CSV").set_input_files(good)
    page.get_by_role("button", name="Importer").click()
    expect(page.get_by_text("Import réussi : 1 créé, 0 mis à jour.")).to_be_visible()

    page.get_by_role("link", name="TYR-700X28").click()
    offers = page.get_by_role("table").first
    expect(offers.get_by_text("Lyon Pneu")).to_be_visible()
    expect(offers.get_by_text("21,90 €")).to_be_visible()
