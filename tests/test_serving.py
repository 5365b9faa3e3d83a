"""`coop serve` under gunicorn, behind one proxy; /healthz and /readyz; versioned static URLs."""

import gc
import hashlib
import inspect
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask, url_for
from gunicorn.config import Config
from werkzeug.middleware.proxy_fix import ProxyFix

from coop import cli, create_app, gunicorn_conf
from tests.conftest import app_config

REDIS_URL = os.environ.get("COOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
STATIC = Path(__file__).resolve().parent.parent / "static"


def bare_app(tmp_path, **overrides) -> Flask:
    """An app on an empty SQLite file: enough for pages that read no table."""
    return create_app(app_config(f"sqlite:///{tmp_path / 'bare.sqlite3'}", **overrides))


# --- health ------------------------------------------------------------------------------------


def test_healthz_answers_ok_without_login(client):
    response = client.get("/healthz")
    assert (response.status_code, response.text, response.mimetype) == (200, "ok", "text/plain")


def test_healthz_touches_no_database(tmp_path):
    app = bare_app(tmp_path, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/x")
    assert app.test_client().get("/healthz").status_code == 200


def test_readyz_answers_when_the_database_does(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ready", "database": "ok"}


def test_readyz_says_503_and_which_when_the_database_is_down(tmp_path):
    # Nothing listens on port 1: the connection is refused at once.
    app = bare_app(tmp_path, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/x")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "failed"}


def test_readyz_checks_redis_when_the_app_uses_it(tmp_path):
    app = bare_app(tmp_path, COOP_REDIS_URL=REDIS_URL)
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ready", "database": "ok", "redis": "ok"}


def test_readyz_says_503_when_redis_is_down(tmp_path):
    app = bare_app(tmp_path, COOP_REDIS_URL="redis://127.0.0.1:1/0")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "ok", "redis": "failed"}


def test_health_checks_are_never_rate_limited(client, rate_limited):
    assert {client.get("/healthz").status_code for _ in range(200)} == {200}


# --- behind the proxy --------------------------------------------------------------------------


def test_with_one_proxy_the_client_address_is_the_forwarded_one(tmp_path):
    app = bare_app(
        tmp_path,
        COOP_PROXY_COUNT=1,
        COOP_RATELIMIT_ENABLED=True,
        COOP_RATELIMIT_STRIPE_WEBHOOK="2 per minute",
    )
    assert isinstance(app.wsgi_app, ProxyFix)
    client = app.test_client()

    def post(forwarded_for):
        return client.post(
            "/stripe/webhook", headers={"X-Forwarded-For": forwarded_for}
        ).status_code

    # No webhook secret here: 503 until the limit, counted per forwarded client.
    assert [post("198.51.100.1") for _ in range(3)] == [503, 503, 429]
    assert post("198.51.100.2") == 503


def test_without_a_proxy_forwarded_headers_are_ignored(tmp_path):
    app = bare_app(
        tmp_path, COOP_RATELIMIT_ENABLED=True, COOP_RATELIMIT_STRIPE_WEBHOOK="2 per minute"
    )
    assert not isinstance(app.wsgi_app, ProxyFix)
    client = app.test_client()
    codes = [
        client.post("/stripe/webhook", headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code
        for n in range(3)
    ]
    assert codes == [503, 503, 429]


# --- static files ------------------------------------------------------------------------------


def test_static_urls_carry_the_hash_of_their_file(client):
    page = client.get("/login").text
    css = hashlib.sha256((STATIC / "coop.css").read_bytes()).hexdigest()[:12]
    htmx = hashlib.sha256((STATIC / "vendor/htmx.min.js").read_bytes()).hexdigest()[:12]
    assert f'href="/static/coop.css?v={css}"' in page
    assert f'src="/static/vendor/htmx.min.js?v={htmx}"' in page
    with client.get(f"/static/coop.css?v={css}") as response:
        assert response.status_code == 200


@pytest.mark.parametrize("debug", [True, False])
def test_a_changed_static_file_gets_a_new_address_in_debug_only(tmp_path, debug):
    """In debug (`coop run`) an edit shows at once; in production a file changes only with a
    deployment, which restarts the processes, so each file is hashed once."""
    folder = tmp_path / "static"
    folder.mkdir()
    (folder / "x.css").write_text("a {}")
    fresh = bare_app(tmp_path)
    fresh.static_folder = str(folder)
    fresh.debug = debug
    with fresh.test_request_context():
        before = url_for("static", filename="x.css")
        (folder / "x.css").write_text("a { color: red }")
        os.utime(folder / "x.css", ns=(1, 1))
        after = url_for("static", filename="x.css")
        missing = url_for("static", filename="nothing.css")
    assert re.fullmatch(r"/static/x\.css\?v=[0-9a-f]{12}", before)
    assert (before != after) is debug
    assert missing == "/static/nothing.css"


# --- gunicorn ----------------------------------------------------------------------------------


def test_workers_follow_the_cpus(monkeypatch):
    assert gunicorn_conf.default_workers(2) == 2
    assert gunicorn_conf.default_workers(1) == 2  # one restarting, the other serves
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert gunicorn_conf.default_workers() == 8
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert gunicorn_conf.default_workers() == 2


def test_every_name_in_the_config_module_is_a_gunicorn_setting():
    names = {
        name
        for name, value in vars(gunicorn_conf).items()
        if name.islower()
        and not name.startswith("_")
        and not callable(value)
        and not inspect.ismodule(value)
    }
    assert names and names <= set(Config().settings)


def test_a_worker_sets_what_the_app_holds_aside_from_the_garbage_collector(monkeypatch):
    monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)
    cfg = cli.GunicornServer({"bind": "127.0.0.1:8123"}).cfg
    assert cfg.post_worker_init is gunicorn_conf.post_worker_init
    thresholds = gc.get_threshold()
    try:
        cfg.post_worker_init(None)
        assert gc.get_freeze_count() > 10_000  # this process's modules, the tests' apps
        assert gc.get_threshold() == (10_000, 10, 10)
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_the_server_loads_the_config_module_then_the_options(monkeypatch):
    monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)
    cfg = cli.GunicornServer({"bind": "127.0.0.1:8123", "workers": 2}).cfg
    assert cfg.bind == ["127.0.0.1:8123"]
    assert cfg.workers == 2
    assert (cfg.worker_class_str, cfg.threads, cfg.timeout) == ("gthread", 4, 60)
    assert cfg.keepalive == 0  # a request goes to the free worker, not the one holding a connection
    assert cfg.accesslog is None
    assert cfg.forwarded_allow_ips == ["127.0.0.1", "::1"]
    assert cfg.logconfig_dict["formatters"]["json"]["()"] == "coop.observability.JsonFormatter"
    assert cli.GunicornServer({"bind": "127.0.0.1:8000"}).cfg.workers == max(2, os.cpu_count() or 1)


def test_gunicorn_cmd_args_override_the_config_module(monkeypatch):
    monkeypatch.setenv("GUNICORN_CMD_ARGS", "--threads 8 --timeout 120")
    cfg = cli.GunicornServer({"bind": "127.0.0.1:8000"}).cfg
    assert (cfg.threads, cfg.timeout) == (8, 120)


def coop_command(*arguments: str):
    """`coop ARGUMENTS` as the shell runs it: through the command group, with no app made
    beforehand (COOP_SECRET_KEY and the rest are each worker's business)."""
    return CliRunner().invoke(cli.main, list(arguments), catch_exceptions=False)


def test_coop_serve_help_lists_its_options():
    result = coop_command("serve", "--help")
    assert result.exit_code == 0
    for option in ("--host", "--port", "--workers"):
        assert option in result.output


def test_coop_serve_runs_gunicorn_behind_one_proxy(tmp_path, monkeypatch):
    started = []
    monkeypatch.setattr(cli.GunicornServer, "run", lambda self: started.append(self))
    monkeypatch.delenv("COOP_PROXY_COUNT", raising=False)
    monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)
    monkeypatch.setenv("COOP_SECRET_KEY", "serve-test-key")
    made, make = [], cli._create_app
    monkeypatch.setattr(cli, "_create_app", lambda: made.append(1) or make())
    result = coop_command("serve", "--host", "192.0.2.10", "--port", "8123", "--workers", "3")
    assert result.exit_code == 0, result.output
    # gunicorn's master makes no app: it forks every worker, the first ones and those that
    # replace one, from the same clean process (a worker forked from a master holding the app
    # and its libraries died of segmentation faults under load).
    assert made == []
    [server] = started
    assert (server.cfg.bind, server.cfg.workers) == (["192.0.2.10:8123"], 3)
    assert os.environ["COOP_PROXY_COUNT"] == "1"
    # Each worker makes the app from the environment, as production does.
    monkeypatch.setenv("COOP_DATABASE_URL", f"sqlite:///{tmp_path / 'serve.sqlite3'}")
    app = server.load()
    assert isinstance(app, Flask) and isinstance(app.wsgi_app, ProxyFix)
    assert made == [1]


def test_coop_serve_keeps_a_proxy_count_the_environment_sets(monkeypatch):
    monkeypatch.setattr(cli.GunicornServer, "run", lambda self: None)
    monkeypatch.setenv("COOP_PROXY_COUNT", "0")
    monkeypatch.setenv("COOP_SECRET_KEY", "serve-test-key")
    assert coop_command("serve").exit_code == 0
    assert os.environ["COOP_PROXY_COUNT"] == "0"


def test_coop_serve_says_what_is_wrong_with_the_settings_before_any_worker_starts(monkeypatch):
    started = []
    monkeypatch.setattr(cli.GunicornServer, "run", lambda self: started.append(self))
    monkeypatch.delenv("COOP_SECRET_KEY", raising=False)
    monkeypatch.delenv("COOP_DEMO", raising=False)
    monkeypatch.delenv("COOP_DEBUG", raising=False)
    result = CliRunner().invoke(cli.main, ["serve"])
    assert result.exit_code == 1
    assert "COOP_SECRET_KEY is not set" in result.output
    assert "Traceback" not in result.output and started == []


@pytest.mark.parametrize(
    ("version", "warned"), [((3, 11, 7), True), ((3, 12, 1), False), ((3, 13, 0), False)]
)
def test_coop_serve_warns_on_a_python_whose_workers_crash_under_load(version, warned):
    warning = cli.python_warning(version)
    assert (warning is not None) == warned
    if warned:
        assert "Python 3.11" in warning and "3.12 or later" in warning


def test_coop_serve_prints_the_warning_of_this_python(monkeypatch):
    monkeypatch.setattr(cli.GunicornServer, "run", lambda self: None)
    monkeypatch.setenv("COOP_SECRET_KEY", "serve-test-key")
    monkeypatch.setattr(cli, "python_warning", lambda version: "Warning: this Python")
    result = CliRunner().invoke(cli.main, ["serve"])
    assert result.exit_code == 0 and "Warning: this Python" in result.output


@pytest.mark.parametrize("name", ["COOP_PROXY_COUNT"])
def test_a_proxy_count_that_is_not_a_number_stops_the_app(tmp_path, monkeypatch, name):
    from coop import config
    from coop.errors import ConfigurationError

    monkeypatch.setenv("COOP_DEMO", "1")
    monkeypatch.setenv(name, "one")
    with pytest.raises(ConfigurationError, match=name):
        config.load(tmp_path)
