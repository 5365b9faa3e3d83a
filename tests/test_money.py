from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coop.money import allocate, parse_decimal, quantize

D = Decimal


def test_quantize_rounds_half_up_to_the_cent():
    assert quantize(D("2.345")) == D("2.35")
    assert quantize(D("2.344")) == D("2.34")
    assert quantize(D("-2.345")) == D("-2.35")


def test_quantize_refuses_floats():
    with pytest.raises(TypeError):
        quantize(2.345)


def test_allocate_uses_largest_remainder_and_adds_up():
    assert allocate(D("10.00"), [D(1), D(1), D(1)]) == [D("3.34"), D("3.33"), D("3.33")]
    # 14500 cents x 2190/2720.50 = 11672.49 -> 11672 (remainder .49)
    # 14500 cents x 530.50/2720.50 = 2827.51 -> 2827 (remainder .51, gets the last cent)
    assert allocate(D("145.00"), [D("2190.00"), D("530.50"), D("0.00")]) == [
        D("116.72"),
        D("28.28"),
        D("0.00"),
    ]


def test_allocate_breaks_remainder_ties_by_position():
    assert allocate(D("0.02"), [D(1), D(1), D(1)]) == [D("0.01"), D("0.01"), D("0.00")]


def test_allocate_over_zero_weights_shares_equally():
    assert allocate(D("1.00"), [D(0), D(0)]) == [D("0.50"), D("0.50")]


def test_allocate_a_negative_amount_keeps_the_sign():
    assert allocate(D("-10.00"), [D(1), D(2)]) == [D("-3.33"), D("-6.67")]


@given(
    st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False),
    st.lists(st.decimals(min_value=0, max_value=10**5, places=4), min_size=1, max_size=30),
)
def test_allocated_shares_always_add_up_to_the_total(total, weights):
    shares = allocate(total, weights)
    assert sum(shares, D(0)) == total
    assert all(s == quantize(s) for s in shares)
    assert all(s >= 0 for s in shares)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12,50", D("12.50")),
        ("12.50", D("12.50")),
        (" 1 234,5 ", D("1234.5")),
        ("1\u202f234,56 €", D("1234.56")),
        ("0", D("0")),
    ],
)
def test_parse_decimal_reads_french_and_english_numbers(text, value):
    assert parse_decimal(text) == value


@pytest.mark.parametrize("text", ["abc", "1,234.5", "NaN", "inf", ""])
def test_parse_decimal_refuses_what_is_not_a_number(text):
    with pytest.raises(ValueError):
        parse_decimal(text)
