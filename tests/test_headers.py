"""What browsers and proxies may keep: no copy of a signed-in page or a document; HTTPS only
in production."""

from coop.accounts.models import Role
from tests.invoicing import factories as invoices

HSTS = "max-age=31536000; includeSubDomains"


def test_a_signed_in_page_is_never_stored(client, make):
    client.login_as(make.user(Role.MANAGER))
    response = client.get("/members/")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_a_csv_export_is_never_stored(client, make):
    campaign = make.campaign()
    client.login_as(make.user(Role.TREASURER))
    response = client.get(f"/campaigns/{campaign.id}/demand.csv")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_an_invoice_pdf_is_never_stored(client, make):
    shop = make.member()
    invoice = invoices.invoice(shop, make.campaign())
    invoices.document(invoice)
    client.login_as(make.user(Role.MEMBER, member=shop))
    response = client.get(f"/invoices/{invoice.number}.pdf")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_the_login_page_is_not_stored_either(client):
    assert client.get("/login").headers["Cache-Control"] == "no-store"


def test_static_files_may_be_cached(client):
    with client.get("/static/coop.css") as response:
        assert response.status_code == 200
        assert "no-store" not in response.headers.get("Cache-Control", "")


def test_production_tells_browsers_to_use_https_only(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)  # config.load's production
    assert client.get("/login").headers["Strict-Transport-Security"] == HSTS
    with client.get("/static/coop.css") as response:
        assert response.headers["Strict-Transport-Security"] == HSTS


def test_the_demo_over_plain_http_sends_no_hsts(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", False)  # config.load's demo
    assert "Strict-Transport-Security" not in client.get("/login").headers
