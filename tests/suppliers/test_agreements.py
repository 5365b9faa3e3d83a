"""A framework agreement's own invariants, held by the database whatever writes the row."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from coop.extensions import db
from coop.suppliers.models import AgreementStatus, FrameworkAgreement
from coop.uniqueness import violated_constraint


def row(offer, **values) -> FrameworkAgreement:
    fields = {
        "code": "ACC-2027-01",
        "offer_id": offer.id,
        "committed_qty": 400,
        "shortfall_fee": Decimal("0.5000"),
        "valid_from": date(2027, 1, 1),
        "valid_to": date(2028, 12, 31),
        "campaigns_planned": 12,
    }
    fields.update(values)
    return FrameworkAgreement(**fields)


def test_a_valid_agreement_is_a_draft_on_its_offer(make):
    offer = make.offer()
    agreement = row(offer)
    db.session.add(agreement)
    db.session.flush()
    assert agreement.status is AgreementStatus.DRAFT
    assert agreement.offer is offer
    assert agreement.covers(date(2027, 6, 1)) and not agreement.covers(date(2029, 1, 1))


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"committed_qty": 0}, "ck_framework_agreements_committed_qty_positive"),
        ({"shortfall_fee": Decimal("-0.01")}, "ck_framework_agreements_shortfall_fee_not_negative"),
        ({"valid_to": date(2026, 12, 31)}, "ck_framework_agreements_period_in_order"),
        ({"campaigns_planned": 0}, "ck_framework_agreements_campaigns_planned_positive"),
        ({"offer_id": None}, None),
    ],
)
def test_the_database_refuses_a_broken_agreement(make, values, constraint):
    offer = make.offer()
    with pytest.raises(IntegrityError) as refused, db.session.begin_nested():
        db.session.add(row(offer, **values))
    if constraint is not None and db.engine.dialect.name == "postgresql":
        assert refused.value.orig.diag.constraint_name == constraint


def test_a_fee_of_zero_and_a_one_day_period_are_allowed(make):
    agreement = row(make.offer(), shortfall_fee=Decimal("0"), valid_to=date(2027, 1, 1))
    db.session.add(agreement)
    db.session.flush()
    assert agreement.shortfall_fee == Decimal("0.0000")


def test_two_agreements_never_share_a_code(make):
    offer = make.offer()
    db.session.add(row(offer))
    db.session.flush()
    with pytest.raises(IntegrityError) as refused, db.session.begin_nested():
        db.session.add(row(offer))
    assert violated_constraint(refused.value) == "uq_framework_agreements_code"


def test_an_unknown_status_is_refused_by_the_database(make):
    agreement = row(make.offer())
    db.session.add(agreement)
    db.session.flush()
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(
            text("UPDATE framework_agreements SET status = 'signed' WHERE id = :id"),
            {"id": agreement.id},
        )


def test_a_draft_is_signed_or_dropped_and_an_agreement_in_force_only_ends(make):
    agreement = row(make.offer())
    db.session.add(agreement)
    db.session.flush()
    assert agreement.can_become(AgreementStatus.ACTIVE)
    assert agreement.can_become(AgreementStatus.ENDED)
    agreement.status = AgreementStatus.ACTIVE
    assert not agreement.can_become(AgreementStatus.DRAFT)
    assert agreement.can_become(AgreementStatus.ENDED)
    agreement.status = AgreementStatus.ENDED
    assert not any(agreement.can_become(s) for s in AgreementStatus)
