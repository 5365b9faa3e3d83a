"""`coop import members`: the member directory from a CSV file (spec/formats.md)."""

from sqlalchemy import select

from coop import csv_import as c
from coop import identifiers
from coop.accounts.members import MEMBER_FIELDS, record_member
from coop.accounts.models import Member
from coop.activity.recording import changes
from coop.errors import FieldError
from coop.extensions import db

MEMBER_COLUMNS = (
    c.Column("code", c.code(20), required=True),
    c.Column("name", c.text(200), required=True),
    c.Column("siret", identifiers.siret),
    c.Column("vat_number", identifiers.vat_number),
    c.Column("email", identifiers.email),
    c.Column("address", c.text(300)),
    c.Column("postcode", identifiers.french_postcode),
    c.Column("city", c.text(100)),
)


def import_members(data: bytes) -> c.ImportResult:
    """Create or update members by code; all rows are checked before any is written."""
    rows = c.read_rows(data, MEMBER_COLUMNS)
    c.raise_if_errors(rows, _conflicts([row for row in rows if row.ok]))
    codes = [row.get("code") for row in rows]
    existing = {m.code: m for m in db.session.scalars(select(Member).where(Member.code.in_(codes)))}
    created = updated = 0
    before: dict[Member, dict | None] = {}
    for row in rows:
        member = existing.get(row.get("code"))
        if member is None:
            member = Member(is_active=True)
            db.session.add(member)
            before[member] = None
            created += 1
        else:
            before[member] = {name: getattr(member, name) for name in MEMBER_FIELDS}
            updated += 1
        # Columns the file lacks leave the stored value alone; empty cells clear it.
        for name in MEMBER_FIELDS:
            if row.has(name):
                setattr(member, name, row.get(name))
    db.session.flush()
    for member, was in before.items():
        if was is None:
            record_member(member, "member.created", {"name": member.name, "code": member.code})
        elif changed := changes(was, {name: getattr(member, name) for name in MEMBER_FIELDS}):
            record_member(member, "member.updated", changed)
    return c.ImportResult(created=created, updated=updated)


def _conflicts(rows: list[c.Row]) -> list[FieldError]:
    errors = []
    first_line_of_code: dict[str, int] = {}
    first_line_of_siret: dict[str, int] = {}
    sirets = {row.get("siret") for row in rows if row.get("siret")}
    siret_holders = dict(
        db.session.execute(select(Member.siret, Member.code).where(Member.siret.in_(sirets)))
        .tuples()
        .all()
    )
    for row in rows:
        code = row.get("code")
        if code in first_line_of_code:
            errors.append(
                FieldError(row.line, "code", f"code déjà présent ligne {first_line_of_code[code]}")
            )
        first_line_of_code.setdefault(code, row.line)
        siret = row.get("siret")
        if not siret:
            continue
        if siret in first_line_of_siret:
            errors.append(
                FieldError(
                    row.line, "siret", f"SIRET déjà présent ligne {first_line_of_siret[siret]}"
                )
            )
        first_line_of_siret.setdefault(siret, row.line)
        holder = siret_holders.get(siret)
        if holder and holder != code:
            errors.append(FieldError(row.line, "siret", f"SIRET déjà celui de l'adhérent {holder}"))
    return errors
