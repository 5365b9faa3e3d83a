"""The thread: the coop's messages and counter-proposals, which reopen lines on the link."""

from datetime import timedelta
from decimal import Decimal

import pytest

from coop import mail
from coop.accounts.models import Role
from coop.clock import now, today
from coop.errors import DomainError
from coop.extensions import db
from coop.negotiation import awarding, negotiating, rfqs
from coop.negotiation.links import open_link, token_for
from coop.negotiation.models import MessageKind
from coop.negotiation.negotiating import Proposal
from coop.negotiation.quoting import AnswerInput, save_answers
from tests.negotiation import factories as nf


@pytest.fixture
def answered(make):
    manager = make.user(Role.MANAGER, name="Camille")
    lyon = make.supplier(name="Lyon Pneu", email="devis@lyon.example", is_local=True)
    rfq = nf.sent_rfq(
        parts=[make.part(sku="TYR-1"), make.part(sku="TUB-1")],
        suppliers=[lyon],
        quantities=[120, 40],
        by=manager,
    )
    invitation = rfq.invitations[0]
    nf.answer(invitation, tiers=((1, "12.40"),))
    return rfq, invitation, manager


def test_a_counter_proposal_reopens_the_lines_concerned_and_emails_the_supplier(answered):
    rfq, invitation, manager = answered
    tyre, tube = invitation.quotes
    outbox = mail.sent_messages()
    outbox.clear()
    answer_by = today() + timedelta(days=20)
    message = negotiating.counter_propose(
        invitation,
        [Proposal(tyre.id, quantity=200, unit_price=Decimal("11.50"))],
        answer_by_on=answer_by,
        at=now(),
        by=manager,
        body="Nous pouvons nous engager sur 200 unités si vous atteignez 11,50 €.",
    )
    db.session.commit()
    assert (tyre.is_open, tube.is_open) == (True, False)
    assert invitation.expires_at == message.answer_by > rfq.answer_by
    assert [(p.quantity, p.unit_price) for p in message.proposals] == [(200, Decimal("11.5000"))]
    assert [m["To"] for m in outbox] == ["devis@lyon.example"]
    body = outbox[0].get_body(("plain",)).get_content()
    assert "200 unités" in body and "11,50" in body
    assert open_link(nf.token_in(body), now()) is invitation
    assert rfqs.progress(invitation, now()) is rfqs.Progress.REOPENED


def test_the_supplier_answers_the_counter_proposal_as_a_new_revision(answered):
    _rfq, invitation, manager = answered
    tyre = invitation.quotes[0]
    first = tyre.current
    later = today() + timedelta(days=3)
    negotiating.counter_propose(
        invitation,
        [Proposal(tyre.id, 200, Decimal("11.50"))],
        answer_by_on=later,
        at=now(),
        by=manager,
    )
    db.session.commit()
    assert tyre.current is first  # the coop still compares the last answer meanwhile
    save_answers(
        invitation,
        [AnswerInput(tyre.id, tiers=[(1, Decimal("12.40")), (200, Decimal("11.60"))])],
        at=now(),
        submit=True,
        note="11,60 € au mieux",
    )
    db.session.commit()
    assert tyre.current is not first and not tyre.is_open
    assert tyre.current.tier_values == [(1, Decimal("12.4000")), (200, Decimal("11.6000"))]
    assert first.tier_values == [(1, Decimal("12.4000"))]  # the previous answer is kept
    kinds = [m.kind for m in invitation.messages]
    assert kinds == [
        MessageKind.SENT,
        MessageKind.ANSWER,
        MessageKind.COUNTER_PROPOSAL,
        MessageKind.ANSWER,
    ]


def test_a_counter_proposal_reopens_an_expired_link(answered):
    _rfq, invitation, manager = answered
    invitation.expires_at = now() - timedelta(hours=1)
    db.session.commit()
    later = today() + timedelta(days=2)
    negotiating.counter_propose(
        invitation, [Proposal(invitation.quotes[0].id)], answer_by_on=later, at=now(), by=manager
    )
    db.session.commit()
    assert open_link(token_for(invitation), now()) is invitation


def test_a_counter_proposal_is_refused_on_an_awarded_line_or_a_revoked_link(answered):
    rfq, invitation, manager = answered
    tyre = invitation.quotes[0]
    awarding.award_lines(rfq, {tyre.rfq_line_id: tyre.current.id}, at=now())
    with pytest.raises(DomainError, match="déjà attribuée"):
        negotiating.counter_propose(
            invitation, [Proposal(tyre.id)], answer_by_on=today(), at=now(), by=manager
        )
    rfqs.revoke_link(invitation, at=now())
    with pytest.raises(DomainError, match="révoqué"):
        negotiating.post_message(invitation, "Bonjour", at=now(), by=manager)


def test_the_manager_writes_and_counter_proposes_from_the_thread_page(client, answered):
    rfq, invitation, manager = answered
    client.login_as(manager)
    url = f"/rfqs/{rfq.id}/suppliers/{invitation.id}"
    page = client.get(url).text
    assert "Lyon Pneu" in page and "12,40" in page
    assert open_link(nf.token_in(page.split("Lien du fournisseur")[1]), now()) is invitation
    assert (
        client.post(url + "/message", data={"body": "Livrez-vous à Gerland ?"}).status_code == 302
    )
    tyre = invitation.quotes[0]
    response = client.post(
        url + "/counter",
        data={
            "lines-0-quote_id": str(tyre.id),
            "lines-0-pick": "y",
            "lines-0-quantity": "200",
            "lines-0-unit_price": "11,50",
            "lines-1-quote_id": str(invitation.quotes[1].id),
            "body": "Un effort ?",
            "answer_by_on": str(today() + timedelta(days=4)),
        },
    )
    assert response.status_code == 302
    thread = client.get(url).text
    assert "Livrez-vous à Gerland ?" in thread and "Un effort ?" in thread
    assert "200 unités" in thread and "11,50" in thread and "Camille" in thread
    supplier_page = client.get(f"/q/{token_for(invitation)}").text
    assert "Contre-proposition de la coopérative" in supplier_page and "11,50" in supplier_page
    assert "Livrez-vous à Gerland ?" in supplier_page


def test_a_bad_counter_proposal_is_shown_next_to_its_field(client, answered):
    rfq, invitation, manager = answered
    client.login_as(manager)
    url = f"/rfqs/{rfq.id}/suppliers/{invitation.id}/counter"
    response = client.post(
        url,
        data={
            "lines-0-quote_id": str(invitation.quotes[0].id),
            "lines-0-pick": "y",
            "lines-0-unit_price": "-3",
            "answer_by_on": str(today() + timedelta(days=4)),
        },
    )
    assert response.status_code == 200
    assert "strictement positif" in response.text
    nothing = client.post(
        url,
        data={
            "lines-0-quote_id": str(invitation.quotes[0].id),
            "answer_by_on": str(today() + timedelta(days=4)),
        },
    )
    assert "au moins une ligne" in nothing.text
    assert [m.kind for m in invitation.messages][-1] is MessageKind.ANSWER


def test_a_counter_proposal_on_another_suppliers_line_is_refused(client, make, answered):
    rfq, invitation, manager = answered
    other = nf.sent_rfq(suppliers=[make.supplier(email="x@other.example")])
    client.login_as(manager)
    response = client.post(
        f"/rfqs/{rfq.id}/suppliers/{invitation.id}/counter",
        data={
            "lines-0-quote_id": str(other.invitations[0].quotes[0].id),
            "lines-0-pick": "y",
            "answer_by_on": str(today() + timedelta(days=4)),
        },
    )
    assert response.status_code == 200
    assert "pas été demandée à ce fournisseur" in response.text
    assert [m.kind for m in invitation.messages][-1] is MessageKind.ANSWER
