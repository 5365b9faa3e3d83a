"""The manager creates a member; that member's user logs in and sees its profile."""

import pytest
from playwright.sync_api import expect

from coop.accounts.auth import create_user
from coop.accounts.models import Role
from coop.extensions import db

pytestmark = pytest.mark.browser

PASSWORD = "a long demo password"


def log_in(page, base, email, password=PASSWORD):
    page.goto(f"{base}/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()


def log_out(page) -> None:
    """Sign out and wait for the login page: a click does not wait for the navigation it
    starts, and the next `goto` could cancel the logout before it was sent."""
    page.get_by_role("button", name="Déconnexion").click()
    expect(page.get_by_text("Vous êtes déconnecté·e.")).to_be_visible()


def test_manager_creates_a_member_whose_user_then_sees_its_profile(page, live_app):
    base = live_app.config["LIVE_URL"]
    with live_app.app_context():
        create_user("gerance@coop.example", "Camille", Role.MANAGER, PASSWORD)
        create_user("admin@coop.example", "Admin", Role.ADMIN, PASSWORD)
        db.session.commit()

    log_in(page, base, "gerance@coop.example")
    page.get_by_role("link", name="Adhérents").first.click()
    page.get_by_role("link", name="Nouvel adhérent").click()
    page.get_by_label("Code adhérent").fill("velo01")
    page.get_by_label("Raison sociale").fill("Atelier Vélo Croix-Rousse")
    page.get_by_label("SIRET").fill("732 829 320 00075")  # a typo: wrong check digit
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("clé de contrôle fausse")).to_be_visible()
    assert page.get_by_label("Raison sociale").input_value() == "Atelier Vélo Croix-Rousse"
    page.get_by_label("SIRET").fill("732 829 320 00074")
    page.get_by_label("Adresse de facturation").fill("12 rue d'Austerlitz")
    page.get_by_label("Code postal", exact=True).fill("69004")
    page.get_by_label("Ville", exact=True).fill("Lyon")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Adhérent VELO01 créé.")).to_be_visible()

    page.get_by_role("link", name="Adhérents").first.click()
    page.get_by_label("Rechercher").fill("croix")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url("**q=croix**")
    row = page.get_by_role("row").filter(has_text="VELO01")
    row.get_by_text("Atelier Vélo Croix-Rousse").wait_for()  # the filtered list, not the old one
    log_out(page)

    with live_app.app_context():
        create_user("atelier@avcr.example", "Sam", Role.MEMBER, PASSWORD, member_code="VELO01")
        db.session.commit()
    log_in(page, base, "atelier@avcr.example")
    expect(page.get_by_role("heading", name="Bonjour, Atelier Vélo Croix-Rousse")).to_be_visible()
    page.get_by_role("link", name="Mon atelier").first.click()
    expect(page.get_by_text("73282932000074")).to_be_visible()
    expect(page.get_by_text("69004 Lyon")).to_be_visible()
    # The manager's pages stay closed to a shop.
    response = page.goto(f"{base}/members/")
    assert response.status == 403
