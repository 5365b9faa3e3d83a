from datetime import timedelta

import flask_migrate
import pytest
from werkzeug.security import check_password_hash

from coop import create_app
from coop.accounts import auth
from coop.accounts.models import LoginThrottle, Role
from coop.extensions import db
from tests import factories
from tests.conftest import app_config, at_once, fresh_database
from tests.factories import PASSWORD


def login(client, email, password=PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def test_login_with_the_right_password_lands_on_the_home_page(client, make):
    user = make.user(Role.MANAGER)
    response = login(client, user.email)
    assert response.status_code == 302
    assert response.location == "/"
    assert "Tableau de bord" in client.get("/").text
    assert user.last_login_at is not None


def test_login_email_is_case_insensitive(client, make):
    make.user(Role.TREASURER, email="tresor@example.org")
    assert login(client, "  TRESOR@Example.org ").status_code == 302


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client, make):
    user = make.user()
    response = login(client, user.email, "not the password")
    assert response.status_code == 200
    assert "Adresse e-mail ou mot de passe incorrect." in response.text
    unknown = login(client, "nobody@example.org", "whatever123")
    assert "Adresse e-mail ou mot de passe incorrect." in unknown.text
    assert client.get("/").status_code == 302


def test_login_is_locked_after_five_failures_even_with_the_right_password(client, make):
    user = make.user()
    for _ in range(5):
        login(client, user.email, "wrong password")
    response = login(client, user.email)
    assert "Trop de tentatives échouées" in response.text
    assert "minutes." in response.text and "minute(s)" not in response.text
    assert client.get("/").status_code == 302


def test_the_lock_says_1_minute_when_one_is_left(client, make):
    user = make.user()
    for _ in range(5):
        login(client, user.email, "wrong password")
    throttle = db.session.get(LoginThrottle, user.email)
    throttle.locked_until = throttle.locked_until.replace(microsecond=0) - timedelta(minutes=14)
    db.session.flush()
    assert "Réessayez dans 1 minute." in login(client, user.email).text


def test_the_lock_expires_and_a_success_clears_the_count(client, make):
    user = make.user()
    for _ in range(5):
        login(client, user.email, "wrong password")
    throttle = db.session.get(LoginThrottle, user.email)
    throttle.locked_until -= timedelta(minutes=16)
    throttle.first_failure_at -= timedelta(minutes=16)
    db.session.flush()
    assert login(client, user.email).status_code == 302
    assert db.session.get(LoginThrottle, user.email) is None


def test_failures_older_than_the_window_start_a_new_count(client, make):
    user = make.user()
    for _ in range(4):
        login(client, user.email, "wrong password")
    throttle = db.session.get(LoginThrottle, user.email)
    throttle.first_failure_at -= timedelta(minutes=16)
    db.session.flush()
    for _ in range(4):
        login(client, user.email, "wrong password")
    assert db.session.get(LoginThrottle, user.email).failures == 4
    assert login(client, user.email).status_code == 302


def test_unknown_addresses_are_throttled_too(client):
    for _ in range(5):
        login(client, "ghost@example.org", "wrong password")
    assert "Trop de tentatives" in login(client, "ghost@example.org", "other").text


def test_a_disabled_account_cannot_log_in(client, make):
    user = make.user(is_active=False)
    assert "Ce compte est désactivé" in login(client, user.email).text


def test_users_of_a_deactivated_shop_cannot_log_in_and_are_logged_out(client, make):
    user = make.user()
    assert login(client, user.email).status_code == 302
    user.member.is_active = False
    db.session.flush()
    assert client.get("/").status_code == 302  # the open session ends
    assert "plus actif" in login(client, user.email).text


def test_login_redirects_only_to_local_pages(client, make):
    user = make.user(Role.MANAGER)
    response = client.post(
        "/login?next=https://evil.example/", data={"email": user.email, "password": PASSWORD}
    )
    assert response.location == "/"
    client.post("/logout")
    response = client.post(
        "/login?next=/members/", data={"email": user.email, "password": PASSWORD}
    )
    assert response.location == "/members/"


def test_logout_ends_the_session(client, make):
    user = make.user()
    login(client, user.email)
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_passwords_are_stored_hashed(db_session):
    user = auth.create_user("new@example.org", "New", Role.MANAGER, "a long passphrase")
    assert "a long passphrase" not in user.password_hash
    assert check_password_hash(user.password_hash, "a long passphrase")


@pytest.mark.parametrize(
    ("email", "role", "member_code", "password", "message"),
    [
        ("not-an-email", "manager", None, "long enough pass", "Adresse e-mail invalide"),
        ("a@example.org", "boss", None, "long enough pass", "Rôle inconnu"),
        ("a@example.org", "member", None, "long enough pass", "rattaché à un atelier"),
        ("a@example.org", "member", "NOPE", "long enough pass", "Aucun atelier"),
        ("a@example.org", "manager", None, "short", "au moins 10 caractères"),
    ],
)
def test_bad_accounts_are_refused_with_a_clear_message(
    db_session, email, role, member_code, password, message
):
    with pytest.raises(auth.DomainError, match=message):
        auth.create_user(email, "X", role, password, member_code=member_code)


def test_a_user_changes_their_own_password(client, make):
    user = make.user()
    client.login_as(user)
    bad = client.post(
        "/account/password", data={"current_password": "nope", "password": "another long one"}
    )
    assert "Le mot de passe actuel est incorrect." in bad.text
    ok = client.post(
        "/account/password", data={"current_password": PASSWORD, "password": "another long one"}
    )
    assert ok.status_code == 302
    assert check_password_hash(user.password_hash, "another long one")


def test_session_cookie_is_http_only(client, make):
    user = make.user()
    response = login(client, user.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_a_background_fetch_does_not_send_back_the_session_a_form_just_changed(client, make):
    # The session slides: a page opened sends the cookie again. A fetch made by the page
    # (htmx: part suggestions, the needs' counters) answering after a form's redirect would
    # put back the cookie from before the form, and the form's message with it was lost.
    user = make.user()
    login(client, user.email)
    assert "Set-Cookie" in client.get("/parts/").headers  # a page: the session slides
    fetch = client.get("/parts/choices?part=pneu", headers={"HX-Request": "true"})
    assert fetch.status_code == 200
    assert "Set-Cookie" not in fetch.headers


@pytest.fixture
def racing_app(backend, tmp_path):
    """An app on its own database (a real file on SQLite) whose requests really commit."""
    with fresh_database(backend, tmp_path) as url:
        application = create_app(app_config(url))
        with application.app_context():
            flask_migrate.upgrade()
        yield application
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def test_twenty_wrong_passwords_at_once_check_only_five_and_lock_the_address(racing_app):
    with racing_app.app_context():
        email = factories.user(Role.MANAGER).email

    def wrong_password(start):
        client = racing_app.test_client()
        start()
        response = login(client, email, "wrong password")
        assert response.status_code == 200
        return "Trop de tentatives" in response.text

    done, _ = at_once(racing_app, wrong_password, times=20)
    assert sorted(done) == [False] * 5 + [True] * 15
    with racing_app.app_context():
        assert db.session.get(LoginThrottle, email).failures == 20
        assert "Trop de tentatives" in login(racing_app.test_client(), email).text
