"""Rate limits (coop.rate_limits): each guarded door answers 429 past its limit, a French page
for people and JSON for Stripe; counted per client, or per account for uploads."""

import pytest

from coop import config
from coop.accounts.models import Role
from coop.errors import ConfigurationError
from tests.test_serving import bare_app


def post_login(client, ip, email="shop@velo.example"):
    return client.post(
        "/login",
        data={"email": email, "password": "not the password"},
        environ_base={"REMOTE_ADDR": ip},
    )


def test_logins_from_one_client_are_limited_with_a_french_page(client, rate_limited):
    # A different address each time: the per-address lock (5 failures) never starts.
    codes = [post_login(client, "192.0.2.9", f"s{n}@velo.example").status_code for n in range(11)]
    assert codes == [200] * 10 + [429]
    refused = post_login(client, "192.0.2.9")
    assert refused.status_code == 429
    assert "Trop de demandes" in refused.text
    assert "attendez quelques minutes" in refused.text
    assert f"<code>{refused.headers['X-Request-ID']}</code>" in refused.text
    assert int(refused.headers["Retry-After"]) > 0
    # Another client is not held back, and reading the page is never limited.
    assert post_login(client, "192.0.2.10").status_code == 200
    assert client.get("/login", environ_base={"REMOTE_ADDR": "192.0.2.9"}).status_code == 200


def test_the_stripe_webhook_answers_json_past_its_limit(tmp_path):
    app = bare_app(
        tmp_path, COOP_RATELIMIT_ENABLED=True, COOP_RATELIMIT_STRIPE_WEBHOOK="2 per minute"
    )
    client = app.test_client()
    assert [client.post("/stripe/webhook").status_code for _ in range(2)] == [503, 503]
    refused = client.post("/stripe/webhook")
    assert refused.status_code == 429
    assert refused.mimetype == "application/json"
    assert refused.json == {"error": "too many requests", "limit": "2 per 1 minute"}


def test_a_suppliers_quote_link_is_limited_per_client(client, rate_limited):
    codes = [
        client.get("/q/not-a-token", environ_base={"REMOTE_ADDR": "203.0.113.5"}).status_code
        for _ in range(61)
    ]
    assert codes == [404] * 60 + [429]
    assert client.get("/q/not-a-token").status_code == 404


UPLOADS = [
    ("/import/parts", Role.MANAGER),
    ("/campaigns/{campaign}/import", Role.MANAGER),
    ("/payments/bank", Role.TREASURER),
    ("/settings/identity", Role.ADMIN),
]


@pytest.mark.parametrize(("path", "role"), UPLOADS)
def test_uploads_are_limited_per_account(client, make, rate_limited, path, role):
    path = path.format(campaign=make.campaign().id)
    first, second = make.user(role), make.user(role)
    client.login_as(first)
    codes = [client.post(path, data={}).status_code for _ in range(11)]
    assert 429 not in codes[:10] and codes[10] == 429
    # The same address, another account: its own count.
    client.login_as(second)
    assert client.post(path, data={}).status_code != 429
    # Opening the upload page is not an upload.
    client.login_as(first)
    assert client.get(path).status_code == 200


def test_a_suppliers_upload_is_limited_per_client(client, rate_limited):
    codes = [client.post("/q/not-a-token/upload").status_code for _ in range(11)]
    assert codes == [404] * 10 + [429]


@pytest.mark.parametrize(
    ("name", "value"),
    [("COOP_RATELIMIT_LOGIN", "ten a minute"), ("COOP_CRON_REMINDERS", "every morning")],
)
def test_a_malformed_limit_or_schedule_stops_the_app(tmp_path, monkeypatch, name, value):
    monkeypatch.setenv("COOP_DEMO", "1")
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=name):
        config.load(tmp_path)


def test_limits_and_schedules_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("COOP_DEMO", "1")
    monkeypatch.setenv("COOP_RATELIMIT_LOGIN", "5 per minute")
    monkeypatch.setenv("COOP_CRON_RFQ_REMIND", "")
    monkeypatch.setenv("COOP_RATELIMIT_ENABLED", "0")
    settings = config.load(tmp_path)
    assert settings["COOP_RATELIMIT_LOGIN"] == "5 per minute"
    assert settings["COOP_RATELIMIT_UPLOAD"] == config.DEFAULTS["COOP_RATELIMIT_UPLOAD"]
    assert settings["COOP_CRON_RFQ_REMIND"] == ""
    assert settings["COOP_RATELIMIT_ENABLED"] is False
