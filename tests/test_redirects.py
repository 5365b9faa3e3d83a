"""The app redirects to a `next` argument or a Referer only when it names one of its own pages."""

import pytest

from coop.accounts.models import Role
from coop.pages import safe_next
from tests.factories import PASSWORD

HOSTILE = [
    "//evil.example",
    "//evil.example/path",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    " //evil.example",
    "\x00//evil.example",
    "https://evil.example/",
    "http:evil.example",
    "https:/evil.example",
    "javascript:alert(1)",
    "data:text/html,hello",
    "evil.example",
    "members/",
    "http://localhost//evil.example",
    "http://localhost/\\evil.example",
    "http://evil.example/members/",
    "http://localhost@evil.example/",
    "",
    None,
]


@pytest.mark.parametrize("target", HOSTILE)
def test_a_hostile_target_falls_back(app, target):
    with app.test_request_context("/"):
        assert safe_next(target, "/fallback") == "/fallback"


@pytest.mark.parametrize(
    ("target", "path"),
    [
        ("/", "/"),
        ("/members/", "/members/"),
        ("/members/?q=velo&page=2", "/members/?q=velo&page=2"),
        ("/members/%2F%2Fevil.example", "/members/%2F%2Fevil.example"),
        ("http://localhost/payments/accounts/3?x=1", "/payments/accounts/3?x=1"),
        ("http://localhost/payments/accounts/3#top", "/payments/accounts/3"),
    ],
)
def test_a_page_of_this_site_is_kept_as_a_path(app, target, path):
    with app.test_request_context("/"):
        assert safe_next(target, "/fallback") == path


def test_a_refused_refund_never_goes_back_to_another_site(client, make):
    shop = make.member()
    client.login_as(make.user(Role.TREASURER))
    response = client.post(
        f"/members/{shop.id}/refund",
        data={"amount": "not an amount"},
        headers={"Referer": "http://localhost//evil.example"},
    )
    assert response.status_code == 302
    assert response.location == f"/payments/accounts/{shop.id}"


@pytest.mark.parametrize("target", [t for t in HOSTILE if t])
def test_login_never_sends_to_another_site(client, make, target):
    user = make.user(Role.MANAGER)
    response = client.post(
        "/login", query_string={"next": target}, data={"email": user.email, "password": PASSWORD}
    )
    assert response.location == "/"


@pytest.mark.parametrize("target", [t for t in HOSTILE if t])
def test_choosing_a_language_never_sends_to_another_site(client, target):
    response = client.post("/language", data={"lang": "en", "next": target})
    assert response.location == "/"
