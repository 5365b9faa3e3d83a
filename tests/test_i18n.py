from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from coop import i18n
from coop.accounts.models import Role


def test_money_and_dates_are_french_by_default(app):
    with app.test_request_context():
        assert i18n.money(Decimal("1234.56")) == "1\u202f234,56\xa0€"
        assert i18n.day(date(2026, 12, 7)) == "07/12/2026"
        # 23:30 UTC on 6 December is already the 7th in Lyon.
        assert i18n.day(datetime(2026, 12, 6, 23, 30, tzinfo=UTC)) == "07/12/2026"
        assert i18n.moment(datetime(2026, 7, 1, 12, 0, tzinfo=UTC)) == "01/07/2026 14:00"


def test_money_refuses_floats(app):
    with app.test_request_context(), pytest.raises(TypeError):
        i18n.money(12.5)


def test_a_user_can_switch_to_english(client, make):
    client.login_as(make.user(Role.MANAGER))
    assert "Adhérents" in client.get("/").text
    client.post("/language", data={"lang": "en", "next": "/members/"})
    page = client.get("/members/").text
    assert '<html lang="en">' in page
    assert "Members" in page
    client.post("/language", data={"lang": "fr"})
    assert '<html lang="fr">' in client.get("/").text


def test_an_unknown_language_is_ignored(client):
    response = client.post("/language", data={"lang": "xx", "next": "https://evil.example/"})
    assert response.location == "/"


def test_money_is_rounded_half_up_to_the_cent(app):
    with app.test_request_context():
        assert i18n.money(Decimal("0.125")) == "0,13\xa0€"
        assert i18n.money(Decimal("12")) == "12,00\xa0€"


def test_unit_prices_show_four_decimals_only_when_finer_than_the_cent(app):
    with app.test_request_context():
        assert i18n.unit_price(Decimal("21.9000")) == "21,90\xa0€"
        assert i18n.unit_price(Decimal("21.9")) == "21,90\xa0€"
        assert i18n.unit_price(Decimal("0.0125")) == "0,0125\xa0€"
        assert i18n.unit_price(Decimal("1.255")) == "1,255\xa0€"
        assert i18n.unit_price(Decimal("1234.5")) == "1\u202f234,50\xa0€"
    with app.test_request_context("/?lang=en"):
        assert i18n.unit_price(Decimal("0.0125")) == "€0.0125"
        assert i18n.unit_price(Decimal("3")) == "€3.00"


@pytest.mark.parametrize(
    ("name", "after_de", "after_que"),
    [
        ("Atelier Vélo Lyon", "d'Atelier Vélo Lyon", "qu'Atelier Vélo Lyon"),
        ("Cycles Dupont", "de Cycles Dupont", "que Cycles Dupont"),
        ("Écully Cycles", "d'Écully Cycles", "qu'Écully Cycles"),
        ("Hélène Répare", "d'Hélène Répare", "qu'Hélène Répare"),
        ("Hangar à Vélos", "de Hangar à Vélos", "que Hangar à Vélos"),
        ("Yves Cycles", "d'Yves Cycles", "qu'Yves Cycles"),
        ("Yoga Bike", "de Yoga Bike", "que Yoga Bike"),
        ("Le Vélo Rouge", "du Vélo Rouge", "que Le Vélo Rouge"),
        ("Les Cycles Réunis", "des Cycles Réunis", "que Les Cycles Réunis"),
        ("La Roue Libre", "de La Roue Libre", "que La Roue Libre"),
        ("octobre", "d'octobre", "qu'octobre"),
    ],
)
def test_names_after_de_and_que_are_elided_and_contracted_as_french_does(
    app, name, after_de, after_que
):
    with app.test_request_context():
        assert i18n.de(name) == after_de
        assert i18n.que(name) == after_que


def test_names_after_de_come_back_unchanged_in_english(app):
    with app.test_request_context("/?lang=en"):
        assert i18n.de("Atelier Vélo Lyon") == "Atelier Vélo Lyon"
        assert i18n.de("Le Vélo Rouge") == "Le Vélo Rouge"


def test_names_sort_in_french_dictionary_order():
    names = [
        "Burundi",
        "Zambie",
        "Bénin",
        "Écully",
        "Ecole",
        "Eysines",
        "atelier vélo",
        "Atelier Vélo Lyon",
        "Atelier du Rhône",
        "Œuvre",
        "Oeil",
        "Estonie",
    ]
    assert sorted(names, key=i18n.collation_key) == [
        "Atelier du Rhône",
        "atelier vélo",
        "Atelier Vélo Lyon",
        "Bénin",
        "Burundi",
        "Ecole",
        "Écully",
        "Estonie",
        "Eysines",
        "Oeil",
        "Œuvre",
        "Zambie",
    ]


def test_equal_letters_put_the_unaccented_then_the_lowercase_first():
    assert sorted(["Côte", "cote", "Cote", "côte"], key=i18n.collation_key) == [
        "cote",
        "Cote",
        "côte",
        "Côte",
    ]


def test_french_sort_follows_a_dotted_attribute():
    from types import SimpleNamespace as Obj

    rows = [Obj(member=Obj(name=n)) for n in ("Zéro", "Éole", "Ami")]
    assert [r.member.name for r in i18n.french_sort(rows, "member.name")] == [
        "Ami",
        "Éole",
        "Zéro",
    ]


def test_names_after_de_are_french_outside_a_request(app):
    with app.app_context():
        assert i18n.de("octobre") == "d'octobre"
