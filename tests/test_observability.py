"""What ops see: the request id (header, error pages, log line), one JSON line per request,
and Sentry switched on only by COOP_SENTRY_DSN."""

import json
import logging
import sys

import pytest
import sentry_sdk
from sentry_sdk.integrations.flask import FlaskIntegration
from sentry_sdk.integrations.rq import RqIntegration

from coop import create_app
from coop.accounts.models import Role
from coop.observability import JsonFormatter
from tests.conftest import app_config


def request_lines(caplog) -> list[dict]:
    return [r.fields for r in caplog.records if r.name == "coop.requests"]


def test_each_response_carries_a_new_request_id(client):
    first = client.get("/login").headers["X-Request-ID"]
    second = client.get("/login").headers["X-Request-ID"]
    assert first != second
    assert len(first) == 32 and all(c in "0123456789abcdef" for c in first)


def test_the_proxys_request_id_is_kept_when_it_looks_like_one(client):
    response = client.get("/login", headers={"X-Request-ID": "a1b2-C3D4-nginx"})
    assert response.headers["X-Request-ID"] == "a1b2-C3D4-nginx"


@pytest.mark.parametrize("given", ["x" * 65, "a b", "<script>", "id\u00e9", "a;b", ""])
def test_an_odd_request_id_is_replaced(client, given):
    response = client.get("/login", headers={"X-Request-ID": given})
    assert response.headers["X-Request-ID"] != given
    assert len(response.headers["X-Request-ID"]) == 32


def test_the_404_page_shows_the_request_id_a_shop_can_quote(client):
    response = client.get("/nowhere", headers={"X-Request-ID": "ref-404-quoted"})
    assert response.status_code == 404
    assert "Référence de la requête :" in response.text
    assert "<code>ref-404-quoted</code>" in response.text


def test_the_403_page_shows_the_request_id(client, make):
    client.login_as(make.user(Role.MEMBER))
    response = client.get("/members/")
    assert response.status_code == 403
    assert f"<code>{response.headers['X-Request-ID']}</code>" in response.text


def test_an_unexpected_error_shows_the_500_page_with_its_request_id(app, client, monkeypatch):
    def broken():
        raise RuntimeError("boom")

    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setitem(app.view_functions, "auth.login", broken)
    response = client.get("/login")
    assert response.status_code == 500
    assert "Erreur inattendue" in response.text
    assert f"<code>{response.headers['X-Request-ID']}</code>" in response.text


def test_one_json_line_per_request_names_the_route_not_the_path(client, make, caplog):
    manager = make.user(Role.MANAGER)
    shop = make.member()
    client.login_as(manager)
    caplog.set_level(logging.INFO, logger="coop.requests")
    response = client.get(f"/members/{shop.id}", headers={"X-Request-ID": "req-1"})
    assert response.status_code == 200
    [line] = request_lines(caplog)
    duration = line.pop("duration_ms")
    assert isinstance(duration, float) and duration >= 0
    assert line == {
        "request_id": "req-1",
        "method": "GET",
        "path": "/members/<int:member_id>",
        "status": 200,
        "user_id": manager.id,
    }
    [record] = [r for r in caplog.records if r.name == "coop.requests"]
    written = json.loads(JsonFormatter().format(record))
    assert written["logger"] == "coop.requests" and written["level"] == "INFO"
    assert written["message"] == "request"
    assert {k: written[k] for k in ("request_id", "method", "path", "status", "user_id")} == {
        "request_id": "req-1",
        "method": "GET",
        "path": "/members/<int:member_id>",
        "status": 200,
        "user_id": manager.id,
    }


def test_an_anonymous_request_and_an_unknown_page_are_logged_too(client, caplog):
    caplog.set_level(logging.INFO, logger="coop.requests")
    client.post("/login", data={"email": "x@velo.example", "password": "wrong password"})
    client.get("/nowhere")
    lines = request_lines(caplog)
    assert [(line["method"], line["path"], line["status"], line["user_id"]) for line in lines] == [
        ("POST", "/login", 200, None),
        ("GET", None, 404, None),
    ]


def test_health_checks_stay_out_of_the_request_log(client, caplog):
    caplog.set_level(logging.INFO, logger="coop.requests")
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert request_lines(caplog) == []
    assert client.get("/healthz").headers["X-Request-ID"]


# --- Sentry -----------------------------------------------------------------------------------


def test_without_a_dsn_sentry_is_neither_imported_nor_started(tmp_path, monkeypatch):
    # Importing sentry_sdk would fail: the app must not try.
    monkeypatch.setitem(sys.modules, "sentry_sdk", None)
    calls = []
    monkeypatch.setattr(sentry_sdk, "init", lambda *a, **k: calls.append(k))
    app = create_app(app_config(f"sqlite:///{tmp_path / 'x.sqlite3'}"))
    assert app.config["COOP_SENTRY_DSN"] is None
    assert calls == []


def test_a_dsn_starts_sentry_with_the_flask_and_rq_integrations(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(sentry_sdk, "init", lambda **kwargs: calls.append(kwargs))
    dsn = "https://public@sentry.example/1"
    create_app(app_config(f"sqlite:///{tmp_path / 'x.sqlite3'}", COOP_SENTRY_DSN=dsn))
    [options] = calls
    assert options["dsn"] == dsn
    assert options["send_default_pii"] is False
    assert options["traces_sample_rate"] == 0.0
    assert sorted(type(i).__name__ for i in options["integrations"]) == sorted(
        [FlaskIntegration.__name__, RqIntegration.__name__]
    )


def test_a_dsn_without_the_sentry_extra_installed_is_a_clear_error(tmp_path, monkeypatch):
    from coop.errors import ConfigurationError

    monkeypatch.setitem(sys.modules, "sentry_sdk", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'coop\[sentry\]'"):
        create_app(
            app_config(
                f"sqlite:///{tmp_path / 'x.sqlite3'}", COOP_SENTRY_DSN="https://k@sentry.example/1"
            )
        )
