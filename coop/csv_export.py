"""The files the app writes for spreadsheets: no text in them runs as a formula.

Excel and LibreOffice read a cell that starts with = + - @ (or a tab or a
carriage return) as a formula, so a shop's need ref `=cmd|' /C calc'!A0` would
run on the computer of whoever opens the file. Every text cell that starts so
gets a leading single quote (OWASP, "CSV Injection"); numbers pass as they
are: ints and Decimals, and the numbers the app formatted itself the French way,
which say so by being a `Figure`. So -12,50 stays a number, and a shop's text
"-12,50" stays text.
"""

import csv
import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?[0-9]+(?:,[0-9]+)?")


class Figure(str):
    """A number the app wrote as text, with a decimal comma (`-12,50`): a cell left as it is."""

    def __new__(cls, text: str) -> "Figure":
        # The check that lets a Figure skip the quoting: it cannot hold anything but a number.
        if not _NUMBER.fullmatch(text):
            raise ValueError(f"{text!r} n'est pas un nombre écrit par l'application")
        return super().__new__(cls, text)


def figure(value: Decimal | None, places: int = 2) -> Figure | str:
    """An amount with a decimal comma (`1234,50`), a number to the spreadsheet; None is empty."""
    if value is None:
        return ""
    return Figure(f"{value:.{places}f}".replace(".", ","))


def day(value) -> str:
    """A date as French spreadsheets read it: 07/12/2026."""
    return value.strftime("%d/%m/%Y") if value is not None else ""


def safe_cell(value) -> str:
    """The cell's text: a number as it is, a text a spreadsheet would run behind a quote."""
    if value is None:
        return ""
    if isinstance(value, Figure | int | Decimal):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def as_typed(cell: str) -> str:
    """A cell of a file the app wrote, read back: without the quote `safe_cell` added."""
    if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


def french_csv(rows: Iterable[Sequence]) -> str:
    """Rows as French Excel opens them: `;` between cells, CRLF, a BOM to say UTF-8; cells safe."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return "\ufeff" + out.getvalue()
