"""A form sent twice does its work once: the one-time token every form carries."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from coop.accounts.forms import ConfirmForm
from coop.accounts.models import Role
from coop.clock import now, today
from coop.extensions import db
from coop.negotiation.links import token_for
from coop.orders.campaigns.models import Need
from coop.payments.models import Payment
from coop.submissions import FormSubmission
from coop.suppliers.models import Supplier
from tests import factories
from tests.conftest import at_once
from tests.negotiation import factories as negotiation

TOKEN = "first-submission-token-0123456789"
ALREADY = "Ce formulaire a déjà été envoyé : voici ce qu&#39;il a enregistré la première fois."


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def payment_data(shop, **values) -> dict:
    return {
        "member": shop.id,
        "method": "transfer",
        "amount": "148,65",
        "received_on": today().isoformat(),
        "reference": "VIR 123",
    } | values


def need_data(**values) -> dict:
    return {"part": "TYR-28", "quantity": 3} | values


@pytest.fixture
def shop(make):
    return make.member(name="Atelier Vélo Croix-Rousse")


@pytest.fixture
def as_treasurer(client, make):
    client.login_as(make.user(Role.TREASURER))
    return client


@pytest.fixture
def shop_user(client, make):
    user = make.user(Role.MEMBER)
    client.login_as(user)
    return user


# --- the token ----------------------------------------------------------------------------------


def tokens(html: str) -> list[str]:
    return re.findall(r'name="submission_token" type="hidden" value="([^"]+)"', html)


def test_each_rendering_of_a_form_carries_a_new_token(app):
    with app.test_request_context():
        form = ConfirmForm()
        first, second = tokens(form.hidden_tag()), tokens(form.hidden_tag())
    assert len(first) == len(second) == 1
    assert first != second


def test_a_form_sent_back_keeps_its_token_and_leaves_it_out_of_its_data(app):
    with app.test_request_context(method="POST", data={"submission_token": TOKEN}):
        form = ConfirmForm()
        assert tokens(form.hidden_tag()) == [TOKEN]
        assert form.submission_token.data == TOKEN
        assert "submission_token" not in form.data


@pytest.mark.parametrize("sent", ["short", "x" * 65, "<script>alert(1)</script>"])
def test_a_malformed_token_reads_as_no_token(app, sent):
    with app.test_request_context(method="POST", data={"submission_token": sent}):
        assert ConfirmForm().submission_token.data is None


def test_the_payment_page_renders_the_token_in_its_form(as_treasurer):
    assert len(tokens(as_treasurer.get("/payments").text)) == 1


# --- the same form twice, one after the other ----------------------------------------------------


def test_a_payment_form_sent_twice_records_one_payment_and_shows_the_first(as_treasurer, shop):
    first = as_treasurer.post("/payments", data=payment_data(shop, submission_token=TOKEN))
    second = as_treasurer.post("/payments", data=payment_data(shop, submission_token=TOKEN))
    assert (first.status_code, second.status_code) == (302, 302)
    assert second.location == first.location == "/payments"
    assert count(Payment) == 1
    page = as_treasurer.get(second.location).text
    assert ALREADY in page
    assert "VIR 123" in page


def test_a_need_form_sent_twice_posts_one_need_and_shows_the_first(client, make, shop_user):
    campaign = make.campaign()
    make.part(sku="TYR-28", name="Pneu 28")
    url = f"/campaigns/{campaign.id}/needs"
    first = client.post(url, data=need_data(submission_token=TOKEN))
    second = client.post(url, data=need_data(submission_token=TOKEN))
    assert (first.status_code, second.status_code) == (302, 302)
    assert second.location == first.location == url
    assert count(Need) == 1
    page = client.get(second.location).text
    assert ALREADY in page
    assert "Pneu 28" in page


def test_forms_sent_without_a_token_are_not_deduplicated(as_treasurer, shop):
    """Pages rendered before the token existed, and scripts, still work."""
    for _ in range(2):
        assert as_treasurer.post("/payments", data=payment_data(shop)).status_code == 302
    assert count(Payment) == 2
    assert count(FormSubmission) == 0


def test_a_refused_submission_forgets_its_token_so_the_corrected_form_goes_through(
    as_treasurer, shop
):
    refused = as_treasurer.post(
        "/payments", data=payment_data(shop, invoices="FA-2099-999999", submission_token=TOKEN)
    )
    assert refused.status_code == 422
    assert tokens(refused.text) == [TOKEN]  # the form shown again sends the same token
    assert count(FormSubmission) == 0
    fixed = as_treasurer.post("/payments", data=payment_data(shop, submission_token=TOKEN))
    assert fixed.status_code == 302
    assert count(Payment) == 1
    assert db.session.get(FormSubmission, TOKEN).result_url == "/payments"


def test_another_users_token_is_refused_and_nothing_is_written(as_treasurer, make, shop):
    other = make.user(Role.TREASURER)
    db.session.add(FormSubmission(token=TOKEN, user_id=other.id, result_url="/payments/bank"))
    db.session.commit()
    response = as_treasurer.post("/payments", data=payment_data(shop, submission_token=TOKEN))
    assert response.status_code == 400
    assert count(Payment) == 0


def test_tokens_older_than_a_day_are_purged_by_the_next_submission(as_treasurer, shop):
    for token, age in [("old" * 8, timedelta(days=2)), ("recent" * 4, timedelta(hours=23))]:
        db.session.add(FormSubmission(token=token, result_url="/payments", created_at=now() - age))
    db.session.commit()
    as_treasurer.post("/payments", data=payment_data(shop, submission_token=TOKEN))
    assert sorted(db.session.scalars(select(FormSubmission.token))) == [TOKEN, "recent" * 4]


def test_a_new_supplier_form_sent_twice_creates_one_and_shows_it(client, make):
    client.login_as(make.user(Role.MANAGER))
    data = {
        "code": "lyonpneu",
        "name": "Lyon Pneu",
        "country": "FR",
        "shipping_fee": "0",
        "submission_token": TOKEN,
    }
    first = client.post("/suppliers/new", data=data)
    second = client.post("/suppliers/new", data=data)
    assert (first.status_code, second.status_code) == (302, 302)
    assert second.location == first.location
    assert count(Supplier) == 1
    assert ALREADY in client.get(second.location).text


def test_a_need_withdrawn_twice_shows_the_needs_page_not_a_404(client, make, shop_user):
    campaign = make.campaign()
    need = make.need(campaign, shop_user.member)
    first = client.post(f"/needs/{need.id}/withdraw", data={"submission_token": TOKEN})
    second = client.post(f"/needs/{need.id}/withdraw", data={"submission_token": TOKEN})
    assert (first.status_code, second.status_code) == (302, 302)
    assert second.location == first.location == f"/campaigns/{campaign.id}/needs"
    assert count(Need) == 0


def test_a_suppliers_message_sent_twice_through_its_link_is_posted_once(client, make):
    supplier = make.supplier(name="Lyon Pneu", email="devis@lyonpneu.example")
    rfq = negotiation.sent_rfq(suppliers=[supplier])
    invitation = negotiation.invitation_of(rfq, supplier)
    url = f"/q/{token_for(invitation)}/message"
    data = {"body": "Pouvez-vous préciser la tringle ?", "submission_token": TOKEN}
    first, second = client.post(url, data=data), client.post(url, data=data)
    assert (first.status_code, second.status_code) == (302, 302)
    assert second.location == first.location
    db.session.refresh(invitation)
    assert [m.body for m in invitation.messages if m.by_supplier] == [data["body"]]


@pytest.mark.parametrize(
    ("role", "path", "expected"),
    [
        (Role.MANAGER, "/campaigns/{campaign}/status/closed", "La campagne {code} est close"),
        (Role.MANAGER, "/suppliers/{supplier}/deactivate", "Lyon Pneu est désactivé"),
        (Role.MANAGER, "/members/{member}/deactivate", "Atelier Rival est désactivé"),
    ],
)
def test_an_action_that_is_done_once_ends_cleanly_when_sent_twice(
    client, make, role, path, expected
):
    """Not deduplicated (no token here, as from a script): the second one changes nothing."""
    client.login_as(make.user(role))
    campaign = make.campaign()
    ids = {
        "campaign": campaign.id,
        "supplier": make.supplier(name="Lyon Pneu").id,
        "member": make.member(name="Atelier Rival").id,
    }
    responses = [client.post(path.format(**ids), follow_redirects=True) for _ in range(2)]
    assert [r.status_code for r in responses] == [200, 200]
    assert expected.format(code=campaign.code) in responses[0].text


# --- the same form twice at the same moment (PostgreSQL) ------------------------------------------


def logged_in_client(app, session_id: str):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True
    return client


def sent_twice_at_once(app, session_id: str, url: str, data: dict) -> list:
    def send(start):
        client = logged_in_client(app, session_id)
        start()
        response = client.post(url, data=data)
        return response.status_code, response.location

    answers, refused = at_once(app, send)
    assert refused == []
    return answers


def test_a_payment_form_sent_twice_at_once_records_one_payment(committing_app):
    with committing_app.app_context():
        treasurer, shop = factories.user(Role.TREASURER), factories.member()
        treasurer_id, data = treasurer.get_id(), payment_data(shop, submission_token=TOKEN)
    answers = sent_twice_at_once(committing_app, treasurer_id, "/payments", data)
    assert answers == [(302, "/payments"), (302, "/payments")]
    with committing_app.app_context():
        assert count(Payment) == 1
        assert count(FormSubmission) == 1


def test_a_need_form_sent_twice_at_once_posts_one_need(committing_app):
    with committing_app.app_context():
        user = factories.user(Role.MEMBER)
        campaign = factories.campaign()
        factories.part(sku="TYR-28")
        user_id, url = user.get_id(), f"/campaigns/{campaign.id}/needs"
    answers = sent_twice_at_once(committing_app, user_id, url, need_data(submission_token=TOKEN))
    assert answers == [(302, url), (302, url)]
    with committing_app.app_context():
        assert count(Need) == 1
