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
