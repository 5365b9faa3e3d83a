"""Member shops: find, create, edit, deactivate."""

from flask_babel import gettext as _
from sqlalchemy import Select, or_, select

from coop.accounts.auth import end_sessions
from coop.accounts.models import Member
from coop.activity.recording import changes, record
from coop.errors import DomainError, NotFound
from coop.extensions import db
from coop.uniqueness import refusing_duplicates

# What the manager edits; a shop edits only its contact and delivery details.
MEMBER_FIELDS = (
    "code",
    "name",
    "siret",
    "vat_number",
    "email",
    "phone",
    "address",
    "postcode",
    "city",
    "delivery_address",
    "delivery_postcode",
    "delivery_city",
)
SHOP_EDITABLE_FIELDS = (
    "email",
    "phone",
    "delivery_address",
    "delivery_postcode",
    "delivery_city",
)


def search_members(query: str = "", status: str = "active") -> Select:
    """Members matching a free-text query, by code; `status` is active, inactive or all."""
    stmt = select(Member).order_by(Member.code)
    if status == "active":
        stmt = stmt.where(Member.is_active.is_(True))
    elif status == "inactive":
        stmt = stmt.where(Member.is_active.is_(False))
    query = query.strip()
    if query:
        pattern = f"%{query}%"
        stmt = stmt.where(
            or_(
                Member.code.ilike(pattern),
                Member.name.ilike(pattern),
                Member.city.ilike(pattern),
                Member.siret.ilike(pattern.replace(" ", "")),
                Member.email.ilike(pattern),
            )
        )
    return stmt


def get_member(member_id: int) -> Member:
    member = db.session.get(Member, member_id)
    if member is None:
        raise NotFound("Cet adhérent n'existe pas.")
    return member


def find_member(code: str) -> Member:
    """The shop with this code (any case, spaces around ignored)."""
    member = db.session.scalar(select(Member).where(Member.code == code.strip().upper()))
    if member is None:
        raise NotFound(f"Atelier {code} introuvable.")
    return member


def create_member(**values) -> Member:
    """Add a member shop; its code and SIRET must be new."""
    member = Member(is_active=True)
    with _refusing_taken_keys(values):
        _assign(member, values, MEMBER_FIELDS)
        db.session.add(member)
        db.session.flush()
    record_member(member, "member.created", {"name": member.name, "code": member.code})
    return member


def update_member(member: Member, fields=MEMBER_FIELDS, **values) -> Member:
    """Change a member's details (only `fields` are taken from `values`)."""
    before = {name: getattr(member, name) for name in fields}
    with _refusing_taken_keys(values):
        _assign(member, values, fields)
        db.session.flush()
    changed = changes(before, {name: getattr(member, name) for name in fields})
    if changed:
        record_member(member, "member.updated", changed)
    return member


def set_member_active(member: Member, active: bool) -> Member:
    """Deactivate (its users are logged out for good) or reactivate a member shop."""
    if member.is_active and not active:
        for user in member.users:
            end_sessions(user)
    was_active = member.is_active
    member.is_active = active
    db.session.flush()
    if was_active != active:
        record_member(member, "member.reactivated" if active else "member.deactivated")
    return member


def record_member(member: Member, action: str, details: dict | None = None) -> None:
    """Log a change to a shop, labelled by its name and code at the time."""
    label = f"{member.name} ({member.code})"
    record(
        action,
        object_type="member",
        object_id=member.id,
        label=label,
        member=member,
        details=details,
    )


def _refusing_taken_keys(values: dict):
    """The code or SIRET another manager saved for another shop at the same moment."""
    code = (values.get("code") or "").strip().upper()
    return refusing_duplicates(
        uq_members_code=DomainError(
            _("Le code %(code)s est déjà pris par un autre adhérent.", code=code), field="code"
        ),
        uq_members_siret=DomainError(
            _("Ce SIRET est déjà celui d'un autre adhérent."), field="siret"
        ),
    )


def _assign(member: Member, values: dict, fields) -> None:
    values = {k: (v.strip() if isinstance(v, str) else v) or None for k, v in values.items()}
    if "code" in fields:
        code = (values.get("code") or "").upper()
        if not code:
            raise DomainError("Le code est obligatoire.", field="code")
        if code_taken(code, member.id):
            raise DomainError(f"Le code {code} est déjà pris par un autre adhérent.", field="code")
        values["code"] = code
    if "name" in fields and not values.get("name"):
        raise DomainError("La raison sociale est obligatoire.", field="name")
    if "siret" in fields and values.get("siret"):
        other = siret_owner(values["siret"], member.id)
        if other:
            raise DomainError(f"Ce SIRET est déjà celui de l'adhérent {other}.", field="siret")
    for name in fields:
        if name in values:
            setattr(member, name, values[name])


def code_taken(code: str, except_id: int | None = None) -> bool:
    stmt = select(Member.id).where(Member.code == code)
    if except_id is not None:
        stmt = stmt.where(Member.id != except_id)
    return db.session.scalar(stmt) is not None


def siret_owner(siret: str, except_id: int | None = None) -> str | None:
    """The code of the member that already has this SIRET, if any."""
    stmt = select(Member.code).where(Member.siret == siret)
    if except_id is not None:
        stmt = stmt.where(Member.id != except_id)
    return db.session.scalar(stmt)


def members_missing_billing_details() -> Select:
    """Active members whose invoices would lack a legal mention (SIRET, address, e-mail)."""
    return (
        select(Member)
        .where(
            Member.is_active.is_(True),
            or_(
                Member.siret.is_(None),
                Member.address.is_(None),
                Member.postcode.is_(None),
                Member.city.is_(None),
                Member.email.is_(None),
            ),
        )
        .order_by(Member.code)
    )
