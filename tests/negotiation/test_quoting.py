"""A supplier's answers: checked, kept as a draft, submitted once complete; the RFQ's status."""

from datetime import timedelta
from decimal import Decimal

import pytest

from coop import mail
from coop.accounts.models import Role
from coop.clock import now, today
from coop.errors import DomainError
from coop.extensions import db
from coop.negotiation import quoting
from coop.negotiation.links import token_for
from coop.negotiation.models import MessageKind, RfqStatus
from coop.negotiation.quoting import AnswerInput, InvalidAnswers, save_answers
from tests.negotiation import factories as nf


@pytest.fixture
def sent(make):
    manager = make.user(Role.MANAGER, email="gerance@coop.example")
    lyon = make.supplier(name="Lyon Pneu", email="devis@lyonpneu.example", is_local=True)
    milano = make.supplier(name="Milano Gomme", country="IT", email="preventivi@milano.example")
    rfq = nf.sent_rfq(
        parts=[make.part(sku="TYR-1"), make.part(sku="TYR-2")], suppliers=[lyon, milano], by=manager
    )
    return rfq, nf.invitation_of(rfq, lyon), nf.invitation_of(rfq, milano)


def _problems(invitation, **values):
    answer = AnswerInput(quote_id=invitation.quotes[0].id, **values)
    with pytest.raises(InvalidAnswers) as invalid:
        save_answers(invitation, [answer], at=now())
    return [(p.field, p.message) for p in invalid.value.problems]


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"tiers": [(10, Decimal("9.00")), (10, Decimal("8.00"))]}, "tiers", "croissantes"),
        ({"tiers": [(50, Decimal("9.00")), (10, Decimal("8.00"))]}, "tiers", "croissantes"),
        ({"tiers": [(1, Decimal("0"))]}, "tiers", "strictement positif"),
        ({"tiers": [(1, Decimal("-2.50"))]}, "tiers", "strictement positif"),
        ({"tiers": [(0, Decimal("2.50"))]}, "tiers", "au moins 1"),
        ({"pack_size": 0, "tiers": [(1, Decimal("1"))]}, "pack_size", "au moins 1 unité"),
        ({"moq": -1, "tiers": [(1, Decimal("1"))]}, "moq", "négatif"),
        ({"made_in": "XX", "tiers": [(1, Decimal("1"))]}, "made_in", "pays ISO inconnu"),
        (
            {"valid_until": today() - timedelta(days=1), "tiers": [(1, Decimal("1"))]},
            "valid_until",
            "déjà passée",
        ),
    ],
)
def test_a_bad_answer_is_refused_with_its_field(sent, values, field, words):
    _, lyon, _ = sent
    problems = _problems(lyon, **values)
    assert any(f == field and words in m for f, m in problems), problems


def test_a_draft_is_kept_but_not_submitted(sent):
    rfq, lyon, _ = sent
    quote = lyon.quotes[0]
    save_answers(
        lyon, [AnswerInput(quote.id, tiers=[(1, Decimal("12.5")), (100, Decimal("11"))])], at=now()
    )
    db.session.commit()
    assert quote.draft.tier_values == [(1, Decimal("12.5000")), (100, Decimal("11.0000"))]
    assert quote.current is None and quote.is_open
    assert rfq.status is RfqStatus.SENT and lyon.submitted_at is None
    # Saving again replaces the draft's tiers rather than adding a second draft.
    save_answers(lyon, [AnswerInput(quote.id, tiers=[(1, Decimal("12"))])], at=now())
    db.session.commit()
    assert len(quote.answers) == 1 and quote.draft.tier_values == [(1, Decimal("12.0000"))]


def test_submitting_needs_every_open_line_priced_or_declined(sent):
    _, lyon, _ = sent
    first, second = lyon.quotes
    with pytest.raises(InvalidAnswers) as invalid:
        save_answers(
            lyon, [AnswerInput(first.id, tiers=[(1, Decimal("9"))])], at=now(), submit=True
        )
    assert [p.quote_id for p in invalid.value.problems] == [second.id]
    save_answers(
        lyon,
        [
            AnswerInput(first.id, tiers=[(1, Decimal("9"))]),
            AnswerInput(second.id, declined=True, comment="Hors gamme"),
        ],
        at=now(),
        submit=True,
        note="Prix franco à partir de 500 €",
    )
    db.session.commit()
    assert first.current.tier_values == [(1, Decimal("9.0000"))]
    assert second.current.is_declined and second.current.tiers == []
    assert not first.is_open and not second.is_open
    message = first.current.message
    assert message.kind is MessageKind.ANSWER and message.by_supplier
    assert message.body == "Prix franco à partir de 500 €"


def test_a_submitted_line_is_closed_to_the_supplier(sent):
    _, lyon, _ = sent
    nf.answer(lyon)
    with pytest.raises(DomainError, match="déjà reçu votre réponse"):
        save_answers(lyon, [AnswerInput(lyon.quotes[0].id, tiers=[(1, Decimal("1"))])], at=now())


def test_answers_move_the_rfq_from_sent_to_partly_then_answered(sent):
    rfq, lyon, milano = sent
    assert rfq.status is RfqStatus.SENT
    nf.answer(lyon)
    assert rfq.status is RfqStatus.PARTLY_ANSWERED
    nf.answer(milano, submit=False)
    assert rfq.status is RfqStatus.PARTLY_ANSWERED
    nf.answer(milano)
    assert rfq.status is RfqStatus.ANSWERED


def test_the_manager_hears_of_an_answer_after_the_commit(sent):
    rfq, lyon, _ = sent
    outbox = mail.sent_messages()
    outbox.clear()
    nf.answer(lyon)
    assert [m["To"] for m in outbox] == ["gerance@coop.example"]
    assert "Lyon Pneu" in outbox[0]["Subject"] and rfq.number in outbox[0]["Subject"]
    assert f"/rfqs/{rfq.id}/suppliers/{lyon.id}" in outbox[0].get_body(("plain",)).get_content()


def test_a_supplier_message_joins_the_thread(sent):
    _, lyon, _ = sent
    quoting.post_supplier_message(lyon, "  Pouvez-vous préciser la tringle ?  ", at=now())
    db.session.commit()
    entry = lyon.messages[-1]
    assert (entry.kind, entry.by_supplier, entry.body) == (
        MessageKind.MESSAGE,
        True,
        "Pouvez-vous préciser la tringle ?",
    )
    with pytest.raises(DomainError):
        quoting.post_supplier_message(lyon, "   ", at=now())


# --- the form, through the supplier's page ---------------------------------------------------


def _form(invitation, action, **lines):
    data = {"action": action}
    for i, quote in enumerate(q for q in invitation.quotes if q.is_open):
        data[f"lines-{i}-quote_id"] = str(quote.id)
        data[f"lines-{i}-pack_size"] = "1"
        data[f"lines-{i}-moq"] = "0"
        for key, value in lines.get(quote.line.part.sku, {}).items():
            data[f"lines-{i}-{key}"] = value
    return data


def test_the_supplier_fills_its_page_saves_a_draft_then_submits(client, sent):
    rfq, lyon, _ = sent
    url = f"/q/{token_for(lyon)}"
    answers = {
        "TYR-1": {
            "supplier_ref": "LP-28",
            "made_in": "FR",
            "pack_size": "10",
            "tiers-0-min_qty": "1",
            "tiers-0-unit_price": "12,50",
            "tiers-1-min_qty": "100",
            "tiers-1-unit_price": "11,2",
        },
        "TYR-2": {"declined": "y", "comment": "Plus fabriqué"},
    }
    draft = client.post(url, data=_form(lyon, "draft", **answers))
    assert draft.status_code == 302
    assert "Brouillon enregistré" in client.get(url).text
    assert lyon.quotes[0].current is None
    sent_ = client.post(url, data=_form(lyon, "submit", **answers))
    assert sent_.status_code == 302
    page = client.get(url).text
    assert "votre réponse a été transmise" in page
    first = lyon.quotes[0].current
    assert (first.supplier_ref, first.made_in, first.pack_size) == ("LP-28", "FR", 10)
    assert first.tier_values == [(1, Decimal("12.5000")), (100, Decimal("11.2000"))]
    assert lyon.quotes[1].current.is_declined
    assert rfq.status is RfqStatus.PARTLY_ANSWERED


def test_the_page_says_what_is_wrong_next_to_the_line_and_keeps_the_typing(client, sent):
    _, lyon, _ = sent
    url = f"/q/{token_for(lyon)}"
    answers = {
        "TYR-1": {
            "supplier_ref": "LP-28",
            "tiers-0-min_qty": "100",
            "tiers-0-unit_price": "11",
            "tiers-1-min_qty": "10",
            "tiers-1-unit_price": "12",
        },
        "TYR-2": {"tiers-0-min_qty": "5", "tiers-0-unit_price": "abc"},
    }
    response = client.post(url, data=_form(lyon, "submit", **answers))
    assert response.status_code == 422
    assert "Nombre attendu, pas &#39;abc&#39;." in response.text
    assert 'value="LP-28"' in response.text
    assert lyon.quotes[0].draft is None
    response = client.post(
        url, data=_form(lyon, "submit", **{**answers, "TYR-2": {"declined": "y"}})
    )
    assert response.status_code == 422
    assert "strictement croissantes" in response.text
    assert lyon.quotes[0].draft is None and lyon.submitted_at is None


def test_an_answer_and_a_message_through_the_link_record_the_address_they_came_from(
    client, make, sent
):
    rfq, lyon, _ = sent
    url = f"/q/{token_for(lyon)}"
    answers = {
        "TYR-1": {"tiers-0-min_qty": "1", "tiers-0-unit_price": "12,50"},
        "TYR-2": {"declined": "y"},
    }
    # The address is the connection's: a header the sender writes proves nothing.
    origin = {
        "environ_base": {"REMOTE_ADDR": "203.0.113.7"},
        "headers": {"X-Forwarded-For": "198.51.100.1", "X-Real-IP": "198.51.100.2"},
    }
    assert client.post(url, data=_form(lyon, "submit", **answers), **origin).status_code == 302
    assert (
        client.post(
            f"{url}/message",
            data={"body": "Livrable en 2 fois."},
            environ_base={"REMOTE_ADDR": "2001:db8::42"},
        ).status_code
        == 302
    )
    answer, message = [m for m in lyon.messages if m.by_supplier]
    assert (answer.kind, answer.remote_addr) == (MessageKind.ANSWER, "203.0.113.7")
    assert answer.created_at == lyon.submitted_at == lyon.quotes[0].current.submitted_at
    assert (message.kind, message.remote_addr) == (MessageKind.MESSAGE, "2001:db8::42")
    assert [m.remote_addr for m in lyon.messages if not m.by_supplier] == [None]  # the sending
    assert "203.0.113.7" not in client.get(url).text  # the supplier's own page
    client.login_as(make.user(Role.MANAGER))
    thread = client.get(f"/rfqs/{rfq.id}/suppliers/{lyon.id}").text
    assert "depuis 203.0.113.7" in thread and "depuis 2001:db8::42" in thread
    assert "198.51.100" not in thread
