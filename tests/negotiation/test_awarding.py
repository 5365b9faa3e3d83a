"""Awarding: the chosen answers become the suppliers' offers, old tiers kept as history, and
the next pooling prices with them."""

from datetime import timedelta
from decimal import Decimal

import pytest

from coop import mail
from coop.accounts.models import Role
from coop.clock import now, today
from coop.errors import DomainError
from coop.extensions import db
from coop.negotiation import awarding
from coop.negotiation.links import token_for
from coop.negotiation.models import MessageKind, RfqStatus
from coop.orders.campaigns import lifecycle
from coop.orders.campaigns.models import CampaignStatus
from coop.orders.pooling.pool_run import Options, load_inputs, pool_campaign
from coop.suppliers.catalogue import price_history
from coop.suppliers.models import Offer
from tests.negotiation import factories as nf

D = Decimal


@pytest.fixture
def case(make):
    """Lyon already sells the tyre at 12.00; it and Taipei answer an RFQ on 120 tyres, 40 tubes."""
    tyre, tube = make.part(sku="TYR-1"), make.part(sku="TUB-1")
    lyon = make.supplier(name="Lyon Pneu", email="devis@lyon.example", is_local=True)
    taipei = make.supplier(name="Taipei Tyres", country="TW", email="sales@taipei.example")
    old = make.offer(lyon, tyre, tiers=((1, "12.00"),), pack_size=5, supplier_ref="OLD")
    rfq = nf.sent_rfq(parts=[tyre, tube], suppliers=[lyon, taipei], quantities=[120, 40])
    valid = today() + timedelta(days=90)
    nf.answer(
        nf.invitation_of(rfq, lyon),
        tiers=((1, "11.00"), (100, "10.50")),
        pack_size=25,
        supplier_ref="LP-28",
        valid_until=valid,
    )
    nf.answer(
        nf.invitation_of(rfq, taipei),
        tiers=((1, "10.00"), (100, "9.00")),
        pack_size=10,
        made_in="TW",
        lead_time_days=40,
    )
    return rfq, lyon, taipei, tyre, tube, old


def answer_of(rfq, supplier, part):
    invitation = nf.invitation_of(rfq, supplier)
    return next(q for q in invitation.quotes if q.line.part_id == part.id).current


def test_an_award_replaces_the_suppliers_tiers_and_keeps_the_old_ones(case):
    rfq, lyon, _, tyre, _, old = case
    line = rfq.lines[0]
    outbox = mail.sent_messages()
    outbox.clear()
    awarding.award_lines(rfq, {line.id: answer_of(rfq, lyon, tyre).id}, at=now())
    db.session.commit()
    db.session.refresh(old)
    assert [(t.min_qty, t.unit_price) for t in old.tiers] == [
        (1, D("11.0000")),
        (100, D("10.5000")),
    ]
    assert (old.pack_size, old.supplier_ref, old.valid_until) == (
        25,
        "LP-28",
        today() + timedelta(days=90),
    )
    history = price_history(old)
    assert [tiers for _, _, tiers in history] == [
        [(1, D("11.0000")), (100, D("10.5000"))],
        [(1, D("12.0000"))],
    ]
    assert history[1][1] is not None  # the old tiers are closed, not deleted
    assert line.award.answer.quote.invitation.supplier_id == lyon.id
    assert rfq.status is RfqStatus.AWARDED
    invitation = nf.invitation_of(rfq, lyon)
    assert invitation.messages[-1].kind is MessageKind.AWARD
    assert [m["To"] for m in outbox] == ["devis@lyon.example"]
    assert "TYR-1" in outbox[0].get_body(("plain",)).get_content()


def test_an_award_creates_the_offer_a_supplier_did_not_have(case):
    rfq, _, taipei, _, tube, _ = case
    line = rfq.lines[1]
    awarding.award_lines(rfq, {line.id: answer_of(rfq, taipei, tube).id}, at=now())
    db.session.commit()
    offer = db.session.query(Offer).filter_by(supplier_id=taipei.id, part_id=tube.id).one()
    assert (offer.made_in, offer.pack_size, offer.lead_time_days) == ("TW", 10, 40)
    assert [(t.min_qty, t.unit_price) for t in offer.tiers] == [
        (1, D("10.0000")),
        (100, D("9.0000")),
    ]


def test_all_lines_to_one_supplier(case):
    rfq, _, taipei, *_ = case
    awards = awarding.award_all_to(rfq, nf.invitation_of(rfq, taipei), at=now())
    db.session.commit()
    assert [a.line.part.sku for a in awards] == ["TYR-1", "TUB-1"]
    with pytest.raises(DomainError, match="aucune réponse valable"):
        awarding.award_all_to(rfq, nf.invitation_of(rfq, taipei), at=now())


def test_a_line_is_awarded_once_and_only_to_a_usable_answer(case, make):
    rfq, lyon, taipei, tyre, tube, _ = case
    line = rfq.lines[0]
    with pytest.raises(DomainError, match="ne porte pas sur la ligne"):
        awarding.award_lines(rfq, {line.id: answer_of(rfq, lyon, tube).id}, at=now())
    awarding.award_lines(rfq, {line.id: answer_of(rfq, lyon, tyre).id}, at=now())
    db.session.commit()
    with pytest.raises(DomainError, match="déjà attribuée"):
        awarding.award_lines(rfq, {line.id: answer_of(rfq, taipei, tyre).id}, at=now())
    db.session.rollback()
    tube_answer = answer_of(rfq, taipei, tube)
    tube_answer.valid_until = today() - timedelta(days=1)
    db.session.commit()
    with pytest.raises(DomainError, match="plus valable"):
        awarding.award_lines(rfq, {rfq.lines[1].id: tube_answer.id}, at=now())


def test_a_declined_line_cannot_be_awarded(make):
    lyon = make.supplier(email="devis@lyon.example")
    rfq = nf.sent_rfq(suppliers=[lyon])
    nf.answer(rfq.invitations[0], tiers=(), declined=True)
    with pytest.raises(DomainError, match="décliné"):
        awarding.award_lines(
            rfq, {rfq.lines[0].id: rfq.invitations[0].quotes[0].current.id}, at=now()
        )


def test_the_pooling_prices_with_the_awarded_tiers_only(case, make):
    rfq, lyon, _, tyre, _, old = case
    campaign = make.campaign()
    make.need(campaign, part=tyre, quantity=120, tolerance=5)  # 5 packs of 25
    lifecycle.change_status(campaign, CampaignStatus.CLOSED, at=now())
    db.session.commit()
    before = [o.tiers for o in load_inputs(campaign, Options()).offers if o.id == old.id]
    assert before == [((1, D("12.0000")),)]
    awarding.award_lines(rfq, {rfq.lines[0].id: answer_of(rfq, lyon, tyre).id}, at=now())
    db.session.commit()
    after = [o.tiers for o in load_inputs(campaign, Options()).offers if o.id == old.id]
    assert after == [((1, D("11.0000")), (100, D("10.5000")))]
    plan = pool_campaign(campaign, Options(time_limit=5))
    assert [(line.offer.id, line.tier) for line in plan.lines] == [(old.id, (100, D("10.5000")))]


def test_the_manager_awards_from_the_matrix(client, make, case):
    rfq, lyon, taipei, tyre, _tube, _ = case
    client.login_as(make.user(Role.MANAGER))
    response = client.post(
        f"/rfqs/{rfq.id}/award",
        data={
            f"award-{rfq.lines[0].id}": str(answer_of(rfq, lyon, tyre).id),
            f"award-{rfq.lines[1].id}": "",
            "confirmed": "1",
        },
    )
    assert response.status_code == 302
    page = client.get(f"/rfqs/{rfq.id}/matrix").text
    assert "1 ligne attribuée :" in page
    assert "Tarifs précédents" in page and "12,00" in page
    everything = {"all_to": str(nf.invitation_of(rfq, taipei).id), "confirmed": "1"}
    client.post(f"/rfqs/{rfq.id}/award", data=everything)
    assert rfq.lines[1].award.answer.quote.invitation.supplier_id == taipei.id
    assert rfq.lines[0].award.answer.quote.invitation.supplier_id == lyon.id


def test_a_supplier_whose_lines_all_went_to_others_is_told_and_no_longer_invited(client, make):
    tyre = make.part(sku="TYR-9")
    lyon = make.supplier(email="devis@lyon.example")
    late = make.supplier(email="devis@late.example")
    rfq = nf.sent_rfq(parts=[tyre], suppliers=[lyon, late], quantities=[50])
    nf.answer(nf.invitation_of(rfq, lyon))
    invitation = nf.invitation_of(rfq, late)
    nf.answer(invitation, submit=False)  # a draft only: its line stays open
    awarding.award_all_to(rfq, nf.invitation_of(rfq, lyon), at=now())
    db.session.commit()
    token = token_for(invitation)

    page = client.get(f"/q/{token}").text

    assert "Envoyer ma réponse" not in page and "Lire le fichier" not in page
    assert "Lignes attribuées à un autre fournisseur" in page
    assert "La coopérative a attribué toutes les lignes de cette demande" in page
    refused = client.post(
        f"/q/{token}",
        data={
            "lines-0-quote_id": invitation.quotes[0].id,
            "lines-0-tiers-0-min_qty": "1",
            "lines-0-tiers-0-unit_price": "8",
            "action": "submit",
        },
    )
    assert "La ligne TYR-9 a été attribuée à un autre fournisseur" in refused.text
    assert invitation.submitted_at is None


def test_an_award_first_lists_the_catalogue_prices_it_changes(client, make, case):
    rfq, lyon, taipei, tyre, tube, old = case
    client.login_as(make.user(Role.MANAGER))
    tyre_line, tube_line = rfq.lines
    chosen = {
        f"award-{tyre_line.id}": str(answer_of(rfq, lyon, tyre).id),
        f"award-{tube_line.id}": str(answer_of(rfq, taipei, tube).id),
    }
    page = client.post(f"/rfqs/{rfq.id}/award", data=chosen).text
    assert "Mettre à jour les prix du catalogue ?" in page
    assert "2 lignes attribuées" in page
    tyre_row = page.split('<span class="mono">TYR-1</span>')[1].split("</tr>")[0]
    assert "Lyon Pneu" in tyre_row and "dès 1 : 12,00\xa0€" in tyre_row
    assert "dès 1 : <strong>11,00\xa0€</strong>" in tyre_row
    assert "dès 100 : <strong>10,50\xa0€</strong>" in tyre_row
    tube_row = page.split('<span class="mono">TUB-1</span>')[1].split("</tr>")[0]
    assert "Taipei Tyres" in tube_row and "aucune offre : nouvelle offre" in tube_row
    assert f'name="award-{tyre_line.id}" value="{chosen[f"award-{tyre_line.id}"]}"' in page
    # Nothing is written until the manager confirms.
    db.session.refresh(old)
    assert [(t.min_qty, t.unit_price) for t in old.tiers] == [(1, D("12.0000"))]
    assert (tyre_line.award, tube_line.award) == (None, None)
    client.post(f"/rfqs/{rfq.id}/award", data=chosen | {"confirmed": "1"})
    db.session.refresh(old)
    assert [(t.min_qty, t.unit_price) for t in old.tiers] == [
        (1, D("11.0000")),
        (100, D("10.5000")),
    ]
    assert tube_line.award.answer.quote.invitation.supplier_id == taipei.id


def test_awarding_everything_to_one_supplier_also_lists_the_prices_first(client, make, case):
    rfq, _, taipei, *_ = case
    client.login_as(make.user(Role.MANAGER))
    page = client.post(
        f"/rfqs/{rfq.id}/award", data={"all_to": str(nf.invitation_of(rfq, taipei).id)}
    )
    assert "2 lignes attribuées" in page.text and page.text.count("Taipei Tyres") == 2
    assert all(line.award is None for line in rfq.lines)
    refused = client.post(f"/rfqs/{rfq.id}/award", data={}, follow_redirects=True)
    assert "Choisissez une réponse sur au moins une ligne." in refused.text
