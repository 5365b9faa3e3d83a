"""Preparing an RFQ from a campaign's demand or by hand, choosing suppliers, sending, reminding."""

import re
from datetime import timedelta

import pytest

from coop import mail
from coop.accounts.models import Role
from coop.clock import now, today
from coop.errors import DomainError
from coop.extensions import db
from coop.negotiation import rfqs
from coop.negotiation.links import open_link
from coop.negotiation.models import MessageKind, Rfq, RfqStatus
from coop.negotiation.rfqs import Progress
from tests.negotiation import factories as nf


@pytest.fixture
def catalogue(make):
    """A tyre sold by Taipei (Asia) and Lyon (local); Milano (Europe) and Shenzhen (Asia) sell
    other tyres; Bremen sells tyres but has no e-mail; Nantes sells only tools."""
    tyre = make.part(sku="TYR-700X28", category="pneus")
    other_tyre = make.part(sku="TYR-650B", category="pneus")
    wrench = make.part(sku="OUT-CLE", category="outillage")
    s = {
        "taipei": make.supplier(name="Taipei Tyres", country="TW", email="t@taipei.example"),
        "lyon": make.supplier(name="Lyon Pneu", email="l@lyon.example", is_local=True),
        "milano": make.supplier(name="Milano Gomme", country="IT", email="m@milano.example"),
        "shenzhen": make.supplier(name="Shenzhen Rubber", country="CN", email="s@sz.example"),
        "bremen": make.supplier(name="Bremen Reifen", country="DE"),
        "nantes": make.supplier(name="Nantes Outils", email="n@nantes.example"),
    }
    make.offer(s["taipei"], tyre, made_in="TW")
    make.offer(s["lyon"], tyre)
    make.offer(s["milano"], other_tyre, made_in="IT")
    make.offer(s["shenzhen"], other_tyre, made_in="CN")
    make.offer(s["bremen"], other_tyre, made_in="DE")
    make.offer(s["nantes"], wrench)
    return tyre, s


def test_suggestions_put_current_suppliers_first_near_ones_first_then_the_category(catalogue):
    tyre, _s = catalogue
    suggestions = rfqs.suggest_suppliers([tyre])[tyre.id]
    assert [(x.supplier.name, x.has_offer, x.preselected) for x in suggestions] == [
        ("Lyon Pneu", True, True),
        ("Taipei Tyres", True, True),
        ("Bremen Reifen", False, False),  # no e-mail: cannot be asked
        ("Milano Gomme", False, True),
        ("Shenzhen Rubber", False, False),  # same category, but far away: not ticked
    ]


def test_an_rfq_starts_from_the_campaigns_pooled_quantities(make, catalogue):
    tyre, _s = catalogue
    campaign = make.campaign()
    make.need(campaign, part=tyre, quantity=70, tolerance=5)
    make.need(campaign, part=tyre, quantity=50)
    demand = rfqs.campaign_demand(campaign)
    assert [(d.part.sku, d.requested, d.tolerance) for d in demand] == [("TYR-700X28", 120, 5)]
    lines = [(d.part, d.requested) for d in demand]
    deadline = today() + timedelta(days=7)
    rfq = rfqs.create_rfq("Pneus de décembre", deadline, lines, at=now(), campaign=campaign)
    db.session.commit()
    assert re.fullmatch(r"DD-\d{4}-0001", rfq.number)
    assert [(line.part.sku, line.quantity) for line in rfq.lines] == [("TYR-700X28", 120)]
    assert sorted(i.supplier.name for i in rfq.invitations) == [
        "Lyon Pneu",
        "Milano Gomme",
        "Taipei Tyres",
    ]
    assert rfq.status is RfqStatus.DRAFT


def test_hand_typed_lines_are_read_or_refused_all_at_once(catalogue):
    assert [(p.sku, q) for p, q in rfqs.parse_part_lines("TYR-700X28 ; 120\n\nout-cle,4")] == [
        ("TYR-700X28", 120),
        ("OUT-CLE", 4),
    ]
    with pytest.raises(DomainError) as refused:
        rfqs.parse_part_lines("TYR-700X28\nNOPE ; 3\nOUT-CLE ; 0")
    message = refused.value.message
    assert "ligne 1" in message and "ligne 2" in message and "ligne 3" in message


@pytest.mark.parametrize(
    ("title", "days", "lines", "words"),
    [("", 7, 1, "titre"), ("Pneus", -1, 1, "passée"), ("Pneus", 7, 0, "au moins une pièce")],
)
def test_a_bad_rfq_is_refused(catalogue, title, days, lines, words):
    tyre, _ = catalogue
    with pytest.raises(DomainError, match=words):
        rfqs.create_rfq(title, today() + timedelta(days=days), [(tyre, 10)][:lines], at=now())


def test_sending_emails_each_supplier_its_own_link_after_the_commit(catalogue):
    tyre, s = catalogue
    rfq = nf.rfq(parts=[tyre], suppliers=[s["lyon"], s["taipei"]], quantities=[120])
    outbox = mail.sent_messages()
    outbox.clear()
    rfqs.send_rfq(rfq, at=now())
    assert outbox == []
    db.session.rollback()
    assert outbox == []
    rfq = db.session.get(Rfq, rfq.id)
    rfqs.send_rfq(rfq, at=now())
    db.session.commit()
    assert sorted(m["To"] for m in outbox) == ["l@lyon.example", "t@taipei.example"]
    for message in outbox:
        invitation = next(i for i in rfq.invitations if i.supplier.email == message["To"])
        body = message.get_body(("plain",)).get_content()
        assert "http://coop.test/q/" in body
        assert open_link(nf.token_in(body), now()) is invitation
        assert "TYR-700X28" in body and "120 unités" in body and "Hello" in body
    assert rfq.status is RfqStatus.SENT
    assert all(i.expires_at == rfq.answer_by for i in rfq.invitations)
    assert all(i.messages[0].kind is MessageKind.SENT for i in rfq.invitations)


def test_an_rfq_cannot_be_sent_to_a_supplier_without_email_nor_leave_a_part_unasked(catalogue):
    tyre, s = catalogue
    rfq = nf.rfq(parts=[tyre], suppliers=[s["bremen"]])
    with pytest.raises(DomainError, match="pas d'adresse e-mail"):
        rfqs.send_rfq(rfq, at=now())
    rfqs.set_suppliers(rfq, {})
    with pytest.raises(DomainError, match="Aucun fournisseur"):
        rfqs.send_rfq(rfq, at=now())


def test_suppliers_change_only_while_the_rfq_is_a_draft(catalogue):
    tyre, s = catalogue
    rfq = nf.sent_rfq(parts=[tyre], suppliers=[s["lyon"]])
    with pytest.raises(DomainError, match="déjà envoyée"):
        rfqs.set_suppliers(rfq, {rfq.lines[0].id: {s["taipei"].id}})


def test_a_sent_rfqs_deadline_can_be_pushed_back_and_its_links_follow(catalogue):
    tyre, s = catalogue
    rfq = nf.sent_rfq(parts=[tyre], suppliers=[s["lyon"]])
    later = rfq.deadline_on + timedelta(days=5)
    rfqs.update_rfq(rfq, title=rfq.title, deadline_on=later, message=None, at=now())
    assert rfq.invitations[0].expires_at == rfq.answer_by
    with pytest.raises(DomainError, match="pas avancée"):
        rfqs.update_rfq(
            rfq, title=rfq.title, deadline_on=later - timedelta(days=1), message=None, at=now()
        )


def test_reminders_go_two_days_before_the_deadline_to_those_who_have_not_answered(
    runner, catalogue
):
    tyre, s = catalogue
    rfq = nf.sent_rfq(
        parts=[tyre],
        suppliers=[s["lyon"], s["taipei"], s["milano"]],
        deadline_on=today() + timedelta(days=1),
    )
    far = nf.sent_rfq(parts=[tyre], suppliers=[s["lyon"]], deadline_on=today() + timedelta(days=9))
    nf.answer(nf.invitation_of(rfq, s["taipei"]))
    rfqs.revoke_link(nf.invitation_of(rfq, s["milano"]), at=now())
    db.session.commit()
    outbox = mail.sent_messages()
    outbox.clear()
    result = runner.invoke(args=["rfq", "remind"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"Reminder sent to {s['lyon'].code} for {rfq.number}."]
    assert [m["To"] for m in outbox] == ["l@lyon.example"]
    assert "Rappel" in outbox[0]["Subject"]
    assert nf.invitation_of(rfq, s["lyon"]).messages[-1].kind is MessageKind.REMINDER
    assert far.invitations[0].reminded_at is None
    again = runner.invoke(args=["rfq", "remind"])
    assert again.output.strip() == "Nothing due." and len(outbox) == 1


def test_the_rfq_page_shows_who_has_not_answered(client, make, catalogue):
    tyre, s = catalogue
    rfq = nf.sent_rfq(parts=[tyre], suppliers=[s["lyon"], s["taipei"]])
    nf.answer(nf.invitation_of(rfq, s["taipei"]))
    at = now()
    assert rfqs.progress(nf.invitation_of(rfq, s["lyon"]), at) is Progress.NOT_OPENED
    assert rfqs.progress(nf.invitation_of(rfq, s["taipei"]), at) is Progress.ANSWERED
    client.login_as(make.user(Role.MANAGER))
    page = client.get(f"/rfqs/{rfq.id}").text
    assert "En attente de 1 fournisseur : Lyon Pneu." in page
    assert "a répondu" in page and "réponses partielles" in page


def test_closing_an_rfq_is_final(catalogue):
    tyre, s = catalogue
    rfq = nf.sent_rfq(parts=[tyre], suppliers=[s["lyon"]])
    rfqs.close_rfq(rfq, at=now())
    assert rfq.status is RfqStatus.CLOSED
    with pytest.raises(DomainError, match="déjà close"):
        rfqs.close_rfq(rfq, at=now())


# --- the manager's pages -----------------------------------------------------------------------


def test_the_manager_prepares_an_rfq_from_a_campaign_chooses_suppliers_and_sends_it(
    client, make, catalogue
):
    tyre, s = catalogue
    campaign = make.campaign()
    make.need(campaign, part=tyre, quantity=120)
    client.login_as(make.user(Role.MANAGER))
    form = client.get(f"/rfqs/new?campaign={campaign.id}").text
    assert "TYR-700X28" in form and 'value="120"' in form
    response = client.post(
        "/rfqs/new",
        data={
            "campaign": campaign.id,
            "title": "Pneus",
            "deadline_on": str(today() + timedelta(days=7)),
            f"pick-{tyre.id}": "1",
            f"qty-{tyre.id}": "150",
            "extra_lines": "OUT-CLE ; 4",
        },
    )
    assert response.status_code == 302
    rfq = db.session.query(Rfq).one()
    assert [(line.part.sku, line.quantity) for line in rfq.lines] == [
        ("TYR-700X28", 150),
        ("OUT-CLE", 4),
    ]
    tyre_line, wrench_line = rfq.lines
    client.post(
        f"/rfqs/{rfq.id}/suppliers",
        data={
            f"line-{tyre_line.id}": [str(s["lyon"].id)],
            f"add-{wrench_line.id}": str(s["nantes"].id),
        },
    )
    assert sorted(i.supplier.name for i in rfq.invitations) == ["Lyon Pneu", "Nantes Outils"]
    assert client.post(f"/rfqs/{rfq.id}/send").status_code == 302
    assert rfq.status is RfqStatus.SENT
    assert "envoyée à 2 fournisseurs." in client.get(f"/rfqs/{rfq.id}").text


def test_a_bad_hand_list_keeps_what_the_manager_typed(client, make, catalogue):
    client.login_as(make.user(Role.MANAGER))
    response = client.post(
        "/rfqs/new",
        data={
            "title": "Outils",
            "deadline_on": str(today() + timedelta(days=7)),
            "extra_lines": "NOPE ; 3",
        },
    )
    assert response.status_code == 200
    assert "ligne 1" in response.text and "NOPE ; 3" in response.text
    assert db.session.query(Rfq).count() == 0
