"""Forgotten password: one answer whatever the address, a single-use link, limited requests."""

import os
import re
import threading
import uuid
from datetime import timedelta

import flask_migrate
import pytest
from redis import Redis
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from coop import create_app, mail
from coop.accounts import invitations, password_resets
from coop.accounts.models import AccountToken, Role
from coop.extensions import db
from tests import factories
from tests.accounts.test_invitations import link_in
from tests.accounts.test_sessions import copy_of, is_logged_in, logged_in
from tests.conftest import app_config, at_once, fresh_database

NEW_PASSWORD = "a brand new password"


@pytest.fixture(autouse=True)
def outbox(db_session):
    sent = mail.sent_messages()
    sent.clear()
    yield sent
    sent.clear()


def ask(client, email, ip="192.0.2.1"):
    return client.post("/password/forgot", data={"email": email}, environ_base={"REMOTE_ADDR": ip})


def reset(client, path, password=NEW_PASSWORD, again=None):
    return client.post(path, data={"password": password, "password_again": again or password})


def test_the_login_page_offers_a_forgotten_password_link(client):
    assert 'href="/password/forgot"' in client.get("/login").text
    assert client.get("/password/forgot").status_code == 200


def test_a_forgotten_password_is_replaced_through_the_mailed_link(app, client, make, outbox):
    user = make.user(Role.MEMBER, email="shop@velo.example")
    elsewhere = logged_in(app.test_client(), user)
    client_copy = copy_of(elsewhere, app)
    response = ask(client, "  Shop@Velo.example ")
    assert response.status_code == 200
    assert [m["To"] for m in outbox] == ["shop@velo.example"]
    path = link_in(outbox[0])
    assert path.startswith("/password/reset/")
    assert "Nouveau mot de passe" in client.get(path).text

    assert reset(client, path).status_code == 302
    assert check_password_hash(user.password_hash, NEW_PASSWORD)
    assert is_logged_in(client)  # the new session goes on
    assert not is_logged_in(elsewhere)  # every other session of the account ended
    assert not is_logged_in(client_copy)


def without_tokens(html: str) -> str:
    return re.sub(r'(name="(?:csrf_token|submission_token)"[^>]*value=)"[^"]*"', r"\1", html)


def test_known_and_unknown_addresses_get_the_same_answer(client, make, outbox):
    make.user(Role.MANAGER, email="known@velo.example")
    known = ask(client, "known@velo.example")
    unknown = ask(client, "nobody@velo.example")
    assert (known.status_code, unknown.status_code) == (200, 200)
    # The same page but for the form's signed tokens, which carry the second they were made.
    assert without_tokens(known.text) == without_tokens(unknown.text)
    assert "Si un compte existe pour cette adresse" in known.text
    assert [m["To"] for m in outbox] == ["known@velo.example"]


def test_a_reset_link_works_once(client, make, outbox):
    user = make.user(Role.MANAGER)
    ask(client, user.email)
    path = link_in(outbox[0])
    reset(client, path)
    client.post("/logout")
    response = reset(client, path, password="yet another password")
    assert response.status_code == 410
    assert "Ce lien a déjà servi" in response.text
    assert check_password_hash(user.password_hash, NEW_PASSWORD)


def test_a_reset_link_expires(client, make, outbox):
    user = make.user(Role.MANAGER)
    ask(client, user.email)
    token = db.session.scalar(select(AccountToken))
    token.expires_at -= timedelta(hours=2)
    db.session.commit()
    response = reset(client, link_in(outbox[0]))
    assert response.status_code == 410
    assert "Ce lien a expiré : demandez-en un nouveau" in response.text
    assert not check_password_hash(user.password_hash, NEW_PASSWORD)


def test_a_new_request_replaces_the_earlier_link(client, make, outbox):
    user = make.user(Role.MANAGER)
    ask(client, user.email)
    ask(client, user.email)
    first, second = (link_in(m) for m in outbox)
    assert client.get(first).status_code == 410
    assert reset(client, second).status_code == 302


def test_an_invitation_link_does_not_reset_a_password(client, make, outbox):
    invitations.invite("new@velo.example", actor=make.user(Role.MANAGER), member=make.member())
    db.session.commit()
    raw = link_in(outbox[0]).rsplit("/", 1)[1]
    response = reset(client, f"/password/reset/{raw}")
    assert response.status_code == 404
    assert "Lien inconnu" in response.text


def test_a_disabled_account_gets_no_link(client, make, outbox):
    user = make.user(Role.MANAGER, is_active=False)
    shop_user = make.user(Role.MEMBER)
    shop_user.member.is_active = False
    db.session.commit()
    assert ask(client, user.email).status_code == 200
    assert ask(client, shop_user.email).status_code == 200
    assert outbox == []


def test_a_short_password_is_refused_next_to_the_field(client, make, outbox):
    user = make.user(Role.MANAGER)
    ask(client, user.email)
    response = reset(client, link_in(outbox[0]), password="short")
    assert "au moins 10" in response.text
    assert db.session.scalar(select(AccountToken.used_at)) is None


def test_one_address_is_limited_alike_known_or_not(client, make, outbox, rate_limited):
    user = make.user(Role.MANAGER)
    for email in (user.email, "nobody@velo.example"):
        answers = [ask(client, email, ip=f"192.0.2.{n}") for n in range(5)]
        # Three an hour per address, whichever client asks: the same for an unknown address.
        assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
        assert len({without_tokens(a.text) for a in answers[:3]}) == 1
        assert "Trop de demandes" in answers[3].text
    assert len(outbox) == 3
    assert {m["To"] for m in outbox} == {user.email}


def test_requests_from_one_address_are_limited(client, make, outbox, rate_limited):
    users = [make.user(Role.MANAGER) for _ in range(21)]
    codes = [ask(client, user.email, ip="198.51.100.7").status_code for user in users]
    assert codes == [200] * 20 + [429]
    assert len(outbox) == 20
    assert db.session.scalar(select(func.count()).select_from(AccountToken)) == 20
    assert ask(client, users[-1].email, ip="198.51.100.8").status_code == 200
    assert len(outbox) == 21


def test_forgotten_password_requests_are_not_limited_when_limits_are_off(client, make, outbox):
    user = make.user(Role.MANAGER)
    assert [ask(client, user.email).status_code for _ in range(5)] == [200] * 5
    assert len(outbox) == 5


@pytest.fixture
def racing_app(backend, tmp_path):
    """An app on its own database (a real file on SQLite) whose requests really commit, its
    rate limits counted on the real Redis (as in production: every process shares them)."""
    prefix = f"coop-test-{uuid.uuid4().hex}"
    redis_url = os.environ.get("COOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    with fresh_database(backend, tmp_path) as url:
        application = create_app(
            app_config(
                url, COOP_RATELIMIT_ENABLED=True, COOP_REDIS_URL=redis_url, COOP_JOBS_QUEUE=prefix
            )
        )
        with application.app_context():
            flask_migrate.upgrade()
        yield application
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
    with Redis.from_url(redis_url) as connection:
        for key in connection.scan_iter(f"*{prefix}*"):
            connection.delete(key)


def test_twenty_requests_at_once_for_one_address_mail_three_links(racing_app):
    with racing_app.app_context():
        email = factories.user(Role.MANAGER).email
        sent = mail.sent_messages()
        sent.clear()

    def forgot(start):
        client = racing_app.test_client()
        start()
        return ask(client, email, ip=f"203.0.113.{threading.get_ident() % 200}").status_code

    done, refused = at_once(racing_app, forgot, times=20)
    assert (sorted(done), refused) == ([200] * 3 + [429] * 17, [])
    assert len(sent) == 3
    with racing_app.app_context():
        states = db.session.execute(select(AccountToken.revoked_at.is_(None))).scalars().all()
        assert sorted(states) == [False, False, True]  # only the newest link works


def test_one_reset_link_sent_twice_at_once_sets_one_password(committing_app):
    with committing_app.app_context():
        sent = mail.sent_messages()
        sent.clear()
        email = factories.user(Role.MANAGER).email
        password_resets.send_reset_link(email)
    path = link_in(sent[0])

    def set_password(start):
        client = committing_app.test_client()
        start()
        return reset(client, path, password=f"password of {threading.get_ident()}").status_code

    done, refused = at_once(committing_app, set_password)
    assert (sorted(done), refused) == ([302, 410], [])
