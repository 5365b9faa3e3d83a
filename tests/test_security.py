"""CSRF on every form, secrets from the environment."""

import pytest

from coop import config
from coop.accounts.models import Role
from coop.errors import ConfigurationError
from coop.extensions import db
from coop.orders.campaigns import needs as need_service
from coop.orders.pooling.models import PoolingRun

POSTS = [
    "/login",
    "/logout",
    "/language",
    "/account/password",
    "/account/logout-everywhere",
    "/shop/edit",
    "/members/new",
    "/members/{member}/edit",
    "/members/{member}/deactivate",
    "/members/{member}/reactivate",
    "/members/{member}/invite",
    "/members/invite-all",
    "/invitations/{invitation}/resend",
    "/invitations/{invitation}/revoke",
    "/invitation/{token}",
    "/password/forgot",
    "/password/reset/{token}",
    "/users/new",
    "/users/invite",
    "/users/{user}/edit",
    "/users/{user}/password",
    "/users/{user}/logout-everywhere",
    "/settings/identity",
    "/import/members",
    "/suppliers/new",
    "/suppliers/{supplier}/edit",
    "/suppliers/{supplier}/deactivate",
    "/suppliers/{supplier}/reactivate",
    "/parts/new",
    "/parts/{part}/edit",
    "/parts/{part}/offers/new",
    "/offers/{offer}/edit",
    "/suppliers/{supplier}/offers/new",
    "/campaigns/new",
    "/campaigns/{campaign}/edit",
    "/campaigns/{campaign}/status/closed",
    "/requests/{request}/convert",
    "/campaigns/{campaign}/needs",
    "/campaigns/{campaign}/requests",
    "/needs/{need}/edit",
    "/needs/{need}/withdraw",
    "/campaigns/{campaign}/import",
    "/purchase-orders/{order}/send",
    "/purchase-orders/{order}/confirm",
    "/purchase-orders/{order}/cancel",
    "/purchase-orders/{order}/receive",
    "/purchase-orders/{order}/close-short",
    "/campaigns/{campaign}/purchase-orders/send",
    "/campaigns/{campaign}/demand/remind",
    "/campaigns/{campaign}/pooling/runs",
    "/campaigns/{campaign}/pooling/runs/{run}/commit",
    "/campaigns/{campaign}/pooling/undo",
    "/campaigns/{campaign}/dispatch/{shop}/handover",
    "/campaigns/{campaign}/charges",
    "/campaigns/{campaign}/charges/{charge}/edit",
    "/campaigns/{campaign}/charges/{charge}/delete",
    "/campaigns/{campaign}/shipping-key",
    "/campaigns/{campaign}/invoices/issue",
    "/invoices/{invoice}/credit",
    "/payments",
    "/payments/bank",
    "/payments/bank/lines/{line}",
    "/payments/bank/lines/{line}/confirm",
    "/payments/bank/lines/{line}/ignore",
    "/payments/bank/lines/{line}/unignore",
    "/payments/bank/confirm-all",
    "/payments/bank/rematch",
    "/rfqs/new",
    "/rfqs/{rfq}/suppliers",
    "/rfqs/{rfq}/edit",
    "/rfqs/{rfq}/send",
    "/rfqs/{rfq}/close",
    "/rfqs/{rfq}/award",
    "/rfqs/{rfq}/suppliers/{invitation}/message",
    "/rfqs/{rfq}/suppliers/{invitation}/counter",
    "/rfqs/{rfq}/suppliers/{invitation}/revoke",
    "/rfqs/{rfq}/suppliers/{invitation}/renew",
    "/q/{token}",
    "/q/{token}/upload",
    "/q/{token}/message",
    "/reminders/send",
    "/reminders/shops/{shop}/pause",
    "/reminders/shops/{shop}/resume",
    "/payments/pay",
    "/members/{member}/refund",
    "/supplier-invoices",
    "/supplier-invoices/new",
    "/supplier-invoices/{supplier_invoice}/book",
    "/supplier-invoices/{supplier_invoice}/dispute",
    "/supplier-invoices/{supplier_invoice}/link",
    "/supplier-invoices/{supplier_invoice}/rematch",
    "/supplier-invoices/payments/{line}",
    "/calls/new",
    "/calls/{call}/edit",
    "/calls/{call}/files",
    "/calls/{call}/files/{call_file}/delete",
    "/calls/{call}/makers",
    "/calls/{call}/makers/{maker}/message",
    "/calls/{call}/makers/{maker}/remove",
    "/calls/{call}/makers/{maker}/revoke",
    "/calls/{call}/makers/{maker}/renew",
    "/calls/{call}/publish",
    "/calls/{call}/close",
    "/calls/{call}/answers/{call_answer}/accept",
    "/m/{maker_token}",
    "/m/{maker_token}/message",
    "/agreements/new",
    "/agreements/{agreement}/edit",
    "/agreements/{agreement}/activate",
    "/agreements/{agreement}/end",
]
# POSTs that no browser form sends: each proves where it comes from another way.
CSRF_EXEMPT = ["/stripe/webhook"]  # Stripe signs its events (tests/payments/test_webhooks.py)


@pytest.fixture
def csrf_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)


def test_every_post_route_is_listed(app):
    posting = {rule.rule for rule in app.url_map.iter_rules() if "POST" in (rule.methods or ())}
    listed = {
        p.replace("{member}", "<int:member_id>")
        .replace("{user}", "<int:user_id>")
        .replace("{supplier}", "<int:supplier_id>")
        .replace("{part}", "<int:part_id>")
        .replace("{offer}", "<int:offer_id>")
        .replace("{campaign}", "<int:campaign_id>")
        .replace("{need}", "<int:need_id>")
        .replace("{request}", "<int:request_id>")
        .replace("{order}", "<number>")
        .replace("{invoice}", "<number>")
        .replace("{run}", "<int:run_id>")
        .replace("{shop}", "<member_code>")
        .replace("{charge}", "<int:charge_id>")
        .replace("{line}", "<int:line_id>")
        .replace("{supplier_invoice}", "<int:invoice_id>")
        .replace("{rfq}", "<int:rfq_id>")
        .replace("{invitation}", "<int:invitation_id>")
        .replace("{token}", "<token>")
        .replace("{call}", "<int:call_id>")
        .replace("{call_file}", "<int:file_id>")
        .replace("{call_answer}", "<int:answer_id>")
        .replace("{maker_token}", "<maker_token>")
        .replace("{maker}", "<int:maker_id>")
        .replace("{agreement}", "<int:agreement_id>")
        .replace("/status/closed", "/status/<status>")
        .replace("/import/members", "/import/<kind>")
        for p in POSTS + CSRF_EXEMPT
    }
    assert posting == listed


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("role", [Role.ADMIN, Role.MEMBER])
def test_a_post_without_csrf_token_is_refused(client, make, csrf_on, path, role):
    user = make.user(role)
    client.login_as(user)
    member = user.member or make.member()
    offer = make.offer()
    campaign = make.campaign()
    need = make.need(campaign, member, offer.part)
    request = need_service.request_part(campaign, member, "Pneu", 1, None, at=campaign.opened_at)
    run = PoolingRun(campaign=campaign, options={})
    db.session.add(run)
    db.session.commit()
    url = path.format(
        member=member.id,
        user=user.id,
        supplier=offer.supplier_id,
        part=offer.part_id,
        offer=offer.id,
        campaign=campaign.id,
        need=need.id,
        request=request.id,
        run=run.id,
        order="BC-2026-00001",
        shop=member.code,
        charge=1,
        invoice="FA-2026-000001",
        line=1,
        supplier_invoice=1,
        rfq=1,
        invitation=1,
        token="not-a-token",
        call=1,
        call_file=1,
        call_answer=1,
        maker=1,
        maker_token="not-a-token",
        agreement=1,
    )
    response = client.post(url, data={"name": "x", "email": "x@example.org"})
    assert response.status_code == 400
    assert "Le formulaire a expiré" in response.text


def test_the_stripe_webhook_needs_no_csrf_token_but_a_signature(client, csrf_on, app, monkeypatch):
    monkeypatch.setitem(app.config, "COOP_STRIPE_WEBHOOK_SECRET", "whsec_test")
    response = client.post("/stripe/webhook", data="{}", content_type="application/json")
    assert response.status_code == 400
    assert response.text == "invalid payload or signature"


def test_forms_carry_a_csrf_token(client, csrf_on, make):
    assert 'name="csrf_token"' in client.get("/login").text
    client.login_as(make.user(Role.MANAGER))
    assert 'name="csrf_token"' in client.get("/members/new").text


def test_the_app_refuses_to_start_without_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("COOP_SECRET_KEY", raising=False)
    monkeypatch.delenv("COOP_DEMO", raising=False)
    monkeypatch.delenv("COOP_DEBUG", raising=False)
    with pytest.raises(ConfigurationError, match="COOP_SECRET_KEY"):
        config.load(tmp_path)


def test_production_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("COOP_SECRET_KEY", "s3cret")
    monkeypatch.setenv("COOP_DATABASE_URL", "postgresql+psycopg://coop@db/coop")
    monkeypatch.delenv("COOP_DEMO", raising=False)
    settings = config.load(tmp_path)
    assert settings["SECRET_KEY"] == "s3cret"
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://coop@db/coop"
    assert settings["SESSION_COOKIE_SECURE"] is True


def test_the_demo_keeps_a_generated_key_in_the_instance_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("COOP_SECRET_KEY", raising=False)
    monkeypatch.setenv("COOP_DEMO", "1")
    first = config.load(tmp_path)["SECRET_KEY"]
    assert len(first) == 64
    assert config.load(tmp_path)["SECRET_KEY"] == first
    assert config.load(tmp_path)["SESSION_COOKIE_SECURE"] is False
