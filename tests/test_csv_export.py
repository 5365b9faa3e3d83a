import csv
import io
from decimal import Decimal

import pytest

from coop.csv_export import Figure, as_typed, french_csv, safe_cell


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+SUM(A1:A9)", "'+SUM(A1:A9)"),
        ("-2+3", "'-2+3"),
        ("-12,50", "'-12,50"),  # typed by someone, not a number the app wrote
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Pneu = 700x28", "Pneu = 700x28"),
        ("'=1+1", "'=1+1"),
        ("", ""),
        (None, ""),
    ],
)
def test_a_text_a_spreadsheet_would_run_gets_a_leading_quote(value, cell):
    assert safe_cell(value) == cell


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (Figure("-12,50"), "-12,50"),
        (Figure("3,0000"), "3,0000"),
        (-4, "-4"),
        (12, "12"),
        (Decimal("-0.50"), "-0.50"),
    ],
)
def test_numbers_pass_as_they_are(value, cell):
    assert safe_cell(value) == cell


@pytest.mark.parametrize("text", ["=1+1", "-1+1", "12,50 €", "", "1e5", "--1"])
def test_a_figure_is_a_number_or_nothing(text):
    with pytest.raises(ValueError, match="pas un nombre"):
        Figure(text)


def test_a_cell_read_back_loses_the_quote_that_was_put_before_a_formula_sign():
    for text in ("=1+1", "-A1", "@x", "plain", "'plain", "'", ""):
        assert as_typed(safe_cell(text)) == text


def test_french_csv_is_semicolon_separated_with_a_bom_and_every_text_cell_safe():
    text = french_csv([["ref", "amount"], ['=HYPERLINK("x")', Figure("-12,50")]])
    assert text == '\ufeffref;amount\r\n"\'=HYPERLINK(""x"")";-12,50\r\n'
    assert list(csv.reader(io.StringIO(text[1:]), delimiter=";")) == [
        ["ref", "amount"],
        ['\'=HYPERLINK("x")', "-12,50"],
    ]
