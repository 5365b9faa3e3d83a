"""Accepting a maker's answer: what it prepares, and when it is refused."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from coop.clock import now, today
from coop.errors import DomainError
from coop.extensions import db
from coop.negotiation.links import LinkRefused, LinkState
from coop.relocation import accepting, agreements
from coop.relocation.models import CallAcceptance, CallAnswer, CallAnswerTier
from coop.suppliers.models import FrameworkAgreement, Supplier
from tests.relocation import factories as rf
from tests.test_uniqueness import a_rival_writes_first

D = Decimal


def accept(call, answer, part=None, **values):
    fields = {
        "part": part,
        "supplier_code": "FORGE",
        "is_local": True,
        "shortfall_fee": None,
        "valid_from": None,
    }
    fields.update(values)
    return accepting.accept_answer(call, answer, accepting.AcceptTerms(**fields), at=now())


def test_the_draft_agreement_is_the_forecast_over_the_duration(make):
    chain = make.part(sku="CHN-11S")
    offer = make.offer(part=chain)
    day = today()
    for days in (300, 200, 100):  # three campaigns in the last year
        rf.bought(offer, [5], order_date=day - timedelta(days=days))
    call = rf.published(chain, makers=("Forge",), annual_volume=1000, duration_months=18)
    answer = rf.answer(call.invitations[0], tiers=((1, "12.00"), (1000, "10.50")))
    draft = accepting.draft_for(call, answer, chain, date(2027, 1, 31))
    assert draft.committed_qty == 1500  # 1 000 a year × 18 / 12
    assert draft.campaigns_planned == 5  # 3 a year × 18 / 12 = 4,5, rounded up
    assert (draft.valid_from, draft.valid_to) == (date(2027, 1, 31), date(2028, 7, 30))
    assert (draft.unit_price, draft.shortfall_fee) == (D("10.5000"), D("1.0500"))


def test_a_family_call_is_accepted_for_one_part_of_the_family(make):
    chain, other = make.part(sku="CHN-11S", category="chaines"), make.part(category="chaines")
    tyre = make.part(sku="TYR-1", category="pneus")
    rf.bought(make.offer(part=chain), [40, 20], order_date=today() - timedelta(days=30))
    call = rf.published(None, category="chaines", makers=("Forge",), annual_volume=500)
    answer = rf.answer(call.invitations[0])
    with pytest.raises(DomainError) as refused:
        accept(call, answer, tyre)
    assert refused.value.field == "part_id"
    db.session.rollback()
    acceptance = accept(call, answer, chain, shortfall_fee=D("0.50"))
    # The part's own forecast (60 a year), not the family's, over 24 months.
    assert acceptance.agreement.committed_qty == 120
    assert acceptance.agreement.shortfall_fee == D("0.5000")
    assert acceptance.offer.part == chain
    assert other not in [a.part for a in call.acceptances]


def test_only_the_makers_latest_answer_may_be_accepted(make):
    call = rf.published(makers=("Forge",))
    first = rf.answer(call.invitations[0], tiers=((1, "9.00"),))
    rf.answer(call.invitations[0], tiers=((1, "8.00"),))
    with pytest.raises(DomainError, match="réponse plus récente"):
        accept(call, first)


def test_a_new_supplier_needs_a_free_code(make):
    call = rf.published(makers=("Forge",))
    answer = rf.answer(call.invitations[0])
    make.supplier(code="FORGE")
    with pytest.raises(DomainError) as taken:
        accept(call, answer)
    assert (taken.value.field, taken.value.message) == ("code", "Le code FORGE est déjà pris.")
    db.session.rollback()
    with pytest.raises(DomainError) as missing:
        accept(call, answer, supplier_code="  ")
    assert missing.value.field == "supplier_code"


def test_the_suggested_code_is_free_and_ascii(make):
    make.supplier(code="MECANIQU")
    assert accepting.suggested_code("Mécanique Lyonnaise") == "MECANIQU2"
    assert accepting.suggested_code("Forge du Gier") == "FORGEDUG"
    assert accepting.suggested_code("—") == "FAB"


def test_an_acceptance_made_meanwhile_is_the_part_fields_error(make):
    chain = make.part(sku="CHN-11S")
    call = rf.published(chain, makers=("Forge", "Méca"))
    answer = rf.answer(call.invitations[0])
    rival_offer = make.offer(part=chain)
    rival_agreement = agreements.create_agreement(
        agreements.AgreementTerms(
            offer=rival_offer,
            committed_qty=10,
            shortfall_fee=D("0"),
            valid_from=today(),
            valid_to=today(),
            campaigns_planned=1,
        ),
        at=now(),
    )
    rival = {
        "call_id": call.id,
        "part_id": chain.id,
        "answer_id": rf.answer(call.invitations[1]).id,
        "supplier_id": rival_offer.supplier_id,
        "offer_id": rival_offer.id,
        "agreement_id": rival_agreement.id,
        "accepted_at": now(),
    }
    db.session.commit()
    with a_rival_writes_first(CallAcceptance, **rival), pytest.raises(DomainError) as raised:
        accept(call, answer)
    assert raised.value.field == "part_id"
    assert "vient d'être retenue pour CHN-11S" in raised.value.message
    db.session.rollback()
    assert db.session.scalar(select(func.count(CallAcceptance.id))) == 0
    assert db.session.scalar(select(func.count(FrameworkAgreement.id))) == 1  # the rival's
    assert db.session.scalar(select(Supplier).where(Supplier.code == "FORGE")) is None


def test_a_draft_call_takes_no_answer_nor_acceptance(make):
    call = rf.call()
    invitation = rf.invite(call)
    with pytest.raises(LinkRefused) as refused:
        rf.answer(invitation)
    assert refused.value.state is LinkState.CLOSED
    db.session.rollback()
    answer = CallAnswer(lead_time_days=1, yearly_capacity=1, submitted_at=now())
    answer.tiers = [CallAnswerTier(min_qty=1, unit_price=D("9"))]
    invitation.answers.append(answer)
    db.session.flush()
    with pytest.raises(DomainError, match="n'est pas publié"):
        accept(call, answer)
