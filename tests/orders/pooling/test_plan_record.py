"""The stored pooling plan: one typed record, its JSON versioned, read back exactly."""

import json
import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coop.orders.pooling.plan import (
    AgreementOutcome,
    Alone,
    Comparison,
    Decision,
    Headline,
    PlanFormatError,
    PlanRecord,
    PlanStatus,
)
from coop.orders.pooling.solver import Reason

D = Decimal

# A plan as version 1 stored it (no version key), with a decision of a plan stored
# before the solo costs' shipping was kept.
VERSION_1 = {
    "status": "feasible",
    "gap": 0.0125,
    "seconds": 1.5,
    "requested_units": 13,
    "unserved_units": 3,
    "goods": "96.00",
    "shipping": "6.00",
    "total": "102.00",
    "penalty": "0.00",
    "objective": "102.00",
    "shipping_by_supplier": {"LYON": "6.00"},
    "allocations": [
        {
            "need": 7,
            "offer": 3,
            "supplier": "LYON",
            "units": 6,
            "why": None,
            "solo": "54.00",
            "solo_shipping": "0.00",
            "tier_min_qty": 1,
            "unit_price": "8.0000",
            "goods": "48.00",
            "shipping_share": "3.00",
        },
        {
            "need": 8,
            "offer": None,
            "supplier": None,
            "units": 0,
            "why": {"code": "pack_short", "params": {"pack": 10, "short": 7}},
            "solo": None,
        },
    ],
    "greedy": {"unserved_units": 3, "total": "102.00", "objective": "102.00"},
    "alone": {"needs": 1, "solo": "54.00", "pooled": "51.00", "savings": "3.00"},
}


def test_a_version_1_plan_as_stored_today_loads_typed():
    record = PlanRecord.from_json(VERSION_1)
    assert record.headline == Headline(
        status=PlanStatus.FEASIBLE,
        gap=0.0125,
        seconds=1.5,
        requested_units=13,
        unserved_units=3,
        goods=D("96.00"),
        shipping=D("6.00"),
        total=D("102.00"),
        penalty=D("0.00"),
        objective=D("102.00"),
        greedy=Comparison(3, D("102.00"), D("102.00")),
        alone=Alone(1, D("54.00"), D("51.00")),
    )
    assert record.shipping_by_supplier == {"LYON": D("6.00")}
    assert record.decisions == (
        Decision(
            7, 3, "LYON", 6, None, D("54.00"), D("0.00"), 1, D("8.0000"), D("48.00"), D("3.00")
        ),
        Decision(8, None, None, 0, Reason("pack_short", {"pack": 10, "short": 7})),
    )
    assert str(record.decisions[0].unit_price) == "8.0000"
    assert record.headline.alone.savings == D("3.00")


def test_a_version_1_plan_is_written_back_as_the_current_version_and_the_same_shape():
    stored = PlanRecord.from_json(VERSION_1).to_json()
    assert stored["version"] == 3
    # The decision without solo shipping now says so: null; no agreement, no fee.
    expected = {**VERSION_1, "version": 3, "commitment": "0.00", "agreements": []}
    expected["allocations"] = [
        VERSION_1["allocations"][0],
        VERSION_1["allocations"][1] | {"solo_shipping": None},
    ]
    assert stored == expected


def test_the_round_trip_through_json_text_is_exact_and_keeps_the_decimals_scale():
    record = PlanRecord.from_json(VERSION_1)
    again = PlanRecord.from_json(json.loads(json.dumps(record.to_json())))
    assert again == record
    assert [str(d.unit_price) for d in again.served] == ["8.0000"]
    assert str(again.headline.penalty) == "0.00"


def test_a_greedy_plan_s_unproven_gap_is_stored_as_null_not_nan():
    """JSON has no NaN, and PostgreSQL refuses it: a greedy plan proves no gap."""
    greedy = PlanRecord.from_json(VERSION_1 | {"status": "greedy", "gap": None})
    stored = json.dumps(greedy.to_json(), allow_nan=False)
    assert json.loads(stored)["gap"] is None
    assert math.isnan(PlanRecord.from_json(json.loads(stored)).headline.gap)


def test_an_unknown_version_is_refused_with_a_clear_error():
    with pytest.raises(PlanFormatError, match=r"stored plan version 4 is unknown: .* 1, 2, 3"):
        PlanRecord.from_json(VERSION_1 | {"version": 4})
    with pytest.raises(PlanFormatError, match=r"stored plan version 4 is unknown"):
        Headline.from_json(VERSION_1 | {"version": 4})


def test_a_plan_missing_a_figure_is_refused_as_malformed():
    broken = {k: v for k, v in VERSION_1.items() if k != "greedy"}
    with pytest.raises(PlanFormatError, match=r"stored plan \(version 1\) is malformed"):
        PlanRecord.from_json(broken)


amounts = st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False)
prices = st.decimals(min_value=0, max_value=10**5, places=4, allow_nan=False)
ints = st.integers(min_value=0, max_value=10**6)
codes = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=12)
reasons = st.none() | st.builds(
    Reason,
    st.sampled_from(["pack_short", "minimum_short", "no_offer", "partly_served"]),
    st.dictionaries(st.sampled_from(["pack", "short", "minimum"]), ints),
)
unserved = st.builds(Decision, ints, st.none(), st.none(), st.just(0), reasons, amounts | st.none())
served = st.builds(
    Decision,
    ints,
    ints,
    codes,
    ints,
    reasons,
    amounts | st.none(),
    amounts | st.none(),
    ints,
    prices,
    amounts,
    amounts,
)
headlines = st.builds(
    Headline,
    st.sampled_from(PlanStatus),
    st.floats(min_value=0, max_value=1),
    st.floats(min_value=0, max_value=600),
    ints,
    ints,
    amounts,
    amounts,
    amounts,
    amounts,
    amounts,
    st.builds(Comparison, ints, amounts, amounts),
    st.builds(Alone, ints, amounts, amounts),
    amounts,
)
outcomes = st.builds(AgreementOutcome, codes, ints, codes, codes, ints, ints, ints, amounts)
records = st.builds(
    PlanRecord,
    headlines,
    st.dictionaries(codes, amounts, max_size=4),
    st.lists(unserved | served, max_size=8).map(tuple),
    st.lists(outcomes, max_size=3).map(tuple),
)


@given(records)
def test_any_record_reads_back_equal_from_its_json_text(record):
    again = PlanRecord.from_json(json.loads(json.dumps(record.to_json())))
    assert again == record
    assert [str(d.unit_price) for d in again.served] == [str(d.unit_price) for d in record.served]
