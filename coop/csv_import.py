"""The one CSV import mechanism every import uses (spec/formats.md).

It reads what Excel and LibreOffice write in France (UTF-8 with or without
BOM, else Windows-1252; `;` or `,`; decimal comma or point), checks the header
and every cell, and returns parsed rows or raises InvalidRows listing every
problem as `line N, column C: message`. It writes nothing: each import's
`apply` does, after every row has passed, so an import is all or nothing.
"""

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext

from coop import bounds
from coop.errors import FieldError, InvalidRows
from coop.money import parse_decimal

_MISSING = object()


@dataclass(frozen=True)
class Column:
    """One column of an import: how to read it, and whether it must be there."""

    name: str
    parse: Callable[[str], Any]
    required: bool = False
    default: Any = None


@dataclass
class Row:
    """A parsed data row: its line in the file and its values by column name.

    `values` holds only the columns the file has; `get` falls back to the
    column default for the others, so re-importing a file without a column
    leaves that field as it was when the import chooses so.
    """

    line: int
    values: dict[str, Any]
    defaults: dict[str, Any] = field(repr=False, default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def get(self, name: str) -> Any:
        value = self.values.get(name, _MISSING)
        if value is _MISSING or value is None:
            return self.defaults.get(name)
        return value

    def has(self, name: str) -> bool:
        return name in self.values


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int

    @property
    def total(self) -> int:
        return self.created + self.updated


def decode(data: bytes) -> str:
    """UTF-8 (a BOM is dropped), or Windows-1252 when the bytes are not UTF-8; no NUL byte.

    No text column takes a NUL (PostgreSQL refuses it), and no one types one.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    return text.replace("\x00", "")


def records(reader, first_line: int = 1) -> Iterator[tuple[int, list[str]]]:
    """Each record of a csv `reader` with the line it starts on (`first_line` for the first).

    A cell past the csv module's limit (131 072 characters) is no cell a person wrote:
    it raises InvalidRows naming its line, as a bad value would.
    """
    previous_end = 0
    while True:
        start = first_line + previous_end
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise InvalidRows([FieldError(start, "-", _csv_problem(error))]) from None
        previous_end = reader.line_num
        yield start, record


def _csv_problem(error: csv.Error) -> str:
    if "field larger than field limit" in str(error):
        limit = bounds.shown(csv.field_size_limit())
        return f"cellule trop longue ({limit} caractères au plus)"
    return f"fichier CSV illisible ({error})"


def _separator(header_line: str) -> str:
    # Header names contain neither separator, so whichever appears is the one.
    return ";" if header_line.count(";") >= header_line.count(",") else ","


def read_rows(data: bytes, columns: Iterable[Column]) -> list[Row]:
    """Parse a CSV file against its columns.

    A file that is not a table of these columns raises InvalidRows at once; a
    bad cell is kept in its row's `errors`, so that the import can check the
    other rows too and report everything with `raise_if_errors`.
    """
    columns = {c.name: c for c in columns}
    text = decode(data)
    if not text.strip():
        raise InvalidRows([FieldError(1, "-", "le fichier est vide")])
    first_line = text.lstrip("\r\n").splitlines()[0]
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=_separator(first_line), skipinitialspace=True
    )
    header: list[str] | None = None
    header_line = 0
    rows: list[Row] = []
    defaults = {c.name: c.default for c in columns.values()}
    for start, record in records(reader):
        if not any(cell.strip() for cell in record):
            continue
        if header is None:
            header_line = start
            header = [cell.strip().lower() for cell in record]
            header_errors = _check_header(header, columns, header_line)
            if header_errors:
                raise InvalidRows(header_errors)
            continue
        rows.append(_parse_record(start, record, header, columns, defaults))
    if header is None:
        raise InvalidRows([FieldError(1, "-", "le fichier est vide")])
    if not rows:
        raise InvalidRows([FieldError(header_line, "-", "aucune ligne de données")])
    return rows


def _parse_record(line, record, header, columns, defaults) -> Row:
    row = Row(line=line, values={}, defaults=defaults)
    if len(record) > len(header):
        row.errors.append(
            FieldError(line, "-", f"{len(record)} valeurs pour {len(header)} colonnes")
        )
        return row
    cells = dict(zip(header, record, strict=False))
    for name in header:
        column = columns[name]
        cell = cells.get(name, "").strip()
        if not cell:
            if column.required:
                row.errors.append(FieldError(line, name, "valeur obligatoire manquante"))
            row.values[name] = None
            continue
        try:
            row.values[name] = column.parse(cell)
        except ValueError as exc:
            row.errors.append(FieldError(line, name, str(exc)))
    return row


def raise_if_errors(rows: list[Row], more: Iterable[FieldError] = ()) -> None:
    """Raise InvalidRows with the rows' own errors and `more`, in file order."""
    errors = [e for row in rows for e in row.errors] + list(more)
    if errors:
        raise InvalidRows(sorted(errors, key=lambda e: e.line))


def _check_header(header: list[str], columns: dict[str, Column], line: int) -> list[FieldError]:
    errors = []
    seen = set()
    for name in header:
        if not name:
            errors.append(FieldError(line, "-", "une colonne n'a pas de nom"))
        elif name not in columns:
            expected = ", ".join(columns)
            errors.append(
                FieldError(line, name, f"colonne inconnue (colonnes possibles : {expected})")
            )
        elif name in seen:
            errors.append(FieldError(line, name, "colonne en double"))
        seen.add(name)
    for column in columns.values():
        if column.required and column.name not in seen:
            errors.append(FieldError(line, column.name, "colonne obligatoire absente"))
    return errors


# Cell parsers: each returns a value or raises ValueError with a French message.


def text(max_length: int) -> Callable[[str], str]:
    def parse(cell: str) -> str:
        if len(cell) > max_length:
            raise ValueError(f"trop long ({len(cell)} caractères, {max_length} au plus)")
        return cell

    return parse


def code(max_length: int) -> Callable[[str], str]:
    """An identifier such as a member code: letters, digits, - and _, upper-cased."""

    def parse(cell: str) -> str:
        value = cell.upper()
        if len(value) > max_length:
            raise ValueError(f"code trop long ({len(value)} caractères, {max_length} au plus)")
        if not all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in value):
            raise ValueError("code invalide : lettres, chiffres, - et _ seulement")
        return value

    return parse


def amount(min_value: Decimal = Decimal(0)) -> Callable[[str], Decimal]:
    """An amount in euros, within coop.bounds."""

    def parse(cell: str) -> Decimal:
        value = bounds.amount(parse_decimal(cell))
        if value < min_value:
            raise ValueError(f"doit être au moins {min_value}")
        return value

    return parse


def unit_price(cell: str) -> Decimal:
    """A strictly positive unit price in euros, within coop.bounds."""
    value = parse_decimal(cell)
    if value <= 0:
        raise ValueError("doit être strictement positif")
    return bounds.unit_price(value)


def integer(min_value: int = 0, *, bound: Callable[[int], int]) -> Callable[[str], int]:
    """A whole number of its kind (`bounds.quantity`, `bounds.lead_time_days`…)."""

    def parse(cell: str) -> int:
        try:
            value = int(cell.replace(" ", ""))
        except ValueError:
            raise ValueError(f"nombre entier attendu, pas {cell[:20]!r}") from None
        if value < min_value:
            raise ValueError(f"doit être au moins {min_value}")
        return bound(value)

    return parse


def fraction(cell: str) -> Decimal:
    """A rate written as a fraction: 0,20 for 20 %."""
    value = parse_decimal(cell)
    if not 0 <= value < 1:
        raise ValueError(f"taux en fraction attendu (0,20 pour 20 %), pas {cell!r}")
    return value


def yes_no(cell: str) -> bool:
    value = cell.lower()
    if value in {"yes", "oui", "y", "o", "true", "vrai", "1", "x"}:
        return True
    if value in {"no", "non", "n", "false", "faux", "0"}:
        return False
    raise ValueError(f"oui ou non attendu, pas {cell!r}")


def day(cell: str) -> date:
    """A date as YYYY-MM-DD or DD/MM/YYYY."""
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            parsed = datetime.strptime(cell, pattern).date()  # noqa: DTZ007 (a date, no time)
        except ValueError:
            continue
        return bounds.day(parsed)
    raise ValueError(f"date invalide {cell!r} (attendu AAAA-MM-JJ ou JJ/MM/AAAA)")


def import_outcome(created: int, updated: int) -> str:
    """`Import réussi : 1 créé, 2 mis à jour.`: what an import did, for the flash."""
    return _(
        "Import réussi : %(created)s, %(updated)s.",
        created=ngettext("%(num)d créé", "%(num)d créés", created),
        updated=ngettext("%(num)d mis à jour", "%(num)d mis à jour", updated),
    )
