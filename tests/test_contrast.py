"""Colours the browser audit cannot judge read at WCAG AA contrast (issue 15).

axe-core leaves out text drawn in SVG: the white percentages on the origin bars of the
charts are checked here, against each origin's colour.
"""

import ast
import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).parent.parent / "templates"
CHARTS = [
    "orders/costs/results.html",
    "orders/pooling/pooling.html",
    "orders/costs/_origin_bars.html",
    "suppliers/sourcing.html",
]
AA_NORMAL_TEXT = 4.5


def luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of `#rrggbb`."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    lighter, darker = sorted((luminance(one), luminance(other)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def chart_colours(template: str) -> dict[str, str]:
    text = (TEMPLATES / template).read_text()
    found = re.search(r"{% set colors = ({[^}]*}) %}", text)
    return ast.literal_eval(found.group(1))


def test_every_chart_gives_an_origin_the_same_colour():
    assert len({tuple(sorted(chart_colours(t).items())) for t in CHARTS}) == 1


@pytest.mark.parametrize("origin", ["local", "france", "europe", "asia", "other"])
def test_white_text_on_an_origin_bar_reads_at_aa_contrast(origin):
    assert contrast("#ffffff", chart_colours(CHARTS[0])[origin]) >= AA_NORMAL_TEXT
