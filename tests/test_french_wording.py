"""Counts, names and lists read as French does: plurals, elision, dictionary order."""

from coop.accounts.models import Role
from coop.clock import now
from coop.invoicing import issuing
from tests.invoicing.test_issuing import received


def test_invoice_counts_read_1_facture_and_2_factures(client, make):
    w = received(make)
    client.login_as(make.user(Role.TREASURER))
    progress = f"/campaigns/{w.campaign.id}/invoices/progress"
    assert "0 facture émise sur 3." in client.get(progress).text
    issuing.issue_invoices(w.campaign, by=None, at=now())
    assert "3 factures émises sur 3." in client.get(progress).text
    one = client.get(f"/invoices?shop={w.shops['A'].id}").text
    assert "Total (1 facture, toutes les pages)" in one
    assert "Total (3 factures, toutes les pages)" in client.get("/invoices").text


def test_invoice_counts_read_in_english_plurals_too(client, make):
    w = received(make)
    client.login_as(make.user(Role.TREASURER))
    client.post("/language", data={"lang": "en"})
    issuing.issue_invoices(w.campaign, by=None, at=now())
    assert "Total (1 invoice, all pages)" in client.get(f"/invoices?shop={w.shops['A'].id}").text
    assert "Total (3 invoices, all pages)" in client.get("/invoices").text


def test_a_shop_statement_title_elides_de_before_a_vowel(client, make):
    w = received(make)
    client.login_as(make.user(Role.TREASURER))
    page = client.get(f"/campaigns/{w.campaign.id}/statement?member=SHOPA").text
    assert "Relevé d&#39;Atelier A" in page


def test_supplier_lists_and_selects_follow_french_order(client, make):
    for code, name in [
        ("ZED", "Zèbre Cycles"),
        ("ECU", "Écully Pièces"),
        ("EYS", "Eysines Vélo"),
        ("ATV", "Atelier Vélo Pièces"),
        ("ATD", "Atelier du Rhône"),
        ("BUR", "Burundi Cycles"),
        ("BEN", "Bénin Cycles"),
    ]:
        make.supplier(code=code, name=name)
    client.login_as(make.user(Role.MANAGER))
    expected = [
        "Atelier du Rhône",
        "Atelier Vélo Pièces",
        "Bénin Cycles",
        "Burundi Cycles",
        "Écully Pièces",
        "Eysines Vélo",
        "Zèbre Cycles",
    ]

    def order(page):
        return sorted(expected, key=page.index)

    assert order(client.get("/suppliers/").text) == expected
    assert order(client.get("/parts/").text) == expected  # the supplier filter's options


def test_country_choices_follow_french_order(app):
    from coop.accounts.forms import country_choices

    with app.test_request_context():
        labels = [c.label for c in country_choices()]
    assert labels.index("Bénin") < labels.index("Burundi") < labels.index("Égypte")
    assert labels.index("Égypte") < labels.index("Équateur") < labels.index("Espagne")
    assert labels.index("Espagne") < labels.index("Zambie")
