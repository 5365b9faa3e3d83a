"""Reading the activity log: an object's timeline, the filtered log, who sees what.

The rule, once: staff (STAFF_ROLES) see every entry; a shop's user sees only the
entries of its own shop (member_id), on every page that shows some.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import selectinload

from coop.accounts.models import Member, User
from coop.activity.actions import (
    ACTIONS,
    ACTOR_KINDS,
    DETAIL_LABELS,
    MONEY_KEYS,
    OBJECT_TYPES,
    RATE_KEYS,
    UNIT_PRICE_KEYS,
    VALUE_LABELS,
)
from coop.activity.models import Activity
from coop.clock import from_local, to_local
from coop.errors import NotAllowed
from coop.extensions import db
from coop.i18n import money, rate, unit_price

TIMELINE_SIZE = 50  # the newest entries an object's page shows


def shop_scope(user: User) -> Member | None:
    """None for staff (everything), else the user's shop: what their pages may show."""
    if user.is_staff:
        return None
    if user.member is None:
        raise NotAllowed(_("Le journal n'est pas accessible avec votre compte."))
    return user.member


def _visible(stmt: Select, member: Member | None) -> Select:
    return stmt if member is None else stmt.where(Activity.member_id == member.id)


def timeline(
    object_type: str,
    object_id: int,
    member: Member | None = None,
    *,
    also: Iterable[tuple[str, int]] = (),
    limit: int = TIMELINE_SIZE,
) -> list[Activity]:
    """The newest entries about one object (and the related ones in `also`, such as an
    invoice's payments); only `member`'s when given."""
    objects = [(object_type, object_id), *also]
    about = or_(*(and_(Activity.object_type == t, Activity.object_id == i) for t, i in objects))
    stmt = (
        select(Activity)
        .where(about)
        .options(selectinload(Activity.actor))
        .order_by(Activity.at.desc(), Activity.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(_visible(stmt, member)))


def shop_timeline(shop: Member, viewer: Member | None = None, limit: int = TIMELINE_SIZE):
    """Everything that concerns one shop (its invoices, payments, accounts...), newest first."""
    if viewer is not None and viewer.id != shop.id:
        return []
    stmt = (
        select(Activity)
        .where(Activity.member_id == shop.id)
        .options(selectinload(Activity.actor))
        .order_by(Activity.at.desc(), Activity.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


@dataclass
class LogFilters:
    object_type: str = ""
    action: str = ""
    actor_id: int | None = None
    member_id: int | None = None
    since: date | None = None
    until: date | None = None  # included


def log(filters: LogFilters, member: Member | None = None) -> Select:
    """The entries matching `filters`, newest first (only `member`'s when given)."""
    stmt = select(Activity).options(selectinload(Activity.actor), selectinload(Activity.member))
    if filters.object_type:
        stmt = stmt.where(Activity.object_type == filters.object_type)
    if filters.action:
        stmt = stmt.where(Activity.action == filters.action)
    if filters.actor_id is not None:
        stmt = stmt.where(Activity.actor_id == filters.actor_id)
    if filters.member_id is not None:
        stmt = stmt.where(Activity.member_id == filters.member_id)
    if filters.since is not None:
        stmt = stmt.where(Activity.at >= from_local(filters.since))
    if filters.until is not None:
        stmt = stmt.where(Activity.at < from_local(filters.until + timedelta(days=1)))
    return _visible(stmt, member).order_by(Activity.at.desc(), Activity.id.desc())


def actors() -> list[User]:
    """The users who appear in the log, for its filter."""
    ids = select(Activity.actor_id).where(Activity.actor_id.is_not(None)).distinct()
    return list(db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.name)))


def action_label(code: str) -> str:
    """The French label of an action code, translated; the code itself if unknown."""
    return _(ACTIONS[code]) if code in ACTIONS else code


def object_type_label(code: str) -> str:
    """What kind of object an entry concerns, in words: "Facture"."""
    return _(OBJECT_TYPES[code]) if code in OBJECT_TYPES else code


def describe(entry: Activity) -> list[tuple[str, str]]:
    """The entry's details as (label, text) pairs: `12,50 €`, `ouverte → clôturée`."""
    return [
        (
            _(DETAIL_LABELS[key]) if key in DETAIL_LABELS else key,
            _text(entry.object_type, key, value),
        )
        for key, value in (entry.details or {}).items()
    ]


ISO_MOMENT = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(?:[+-]\d{2}:\d{2}|Z)?)?"
)


def _text(object_type: str, key: str, value) -> str:
    def text(item) -> str:
        return _text(object_type, key, item)

    if isinstance(value, dict) and set(value) == {"from", "to"}:
        return f"{text(value['from'])} → {text(value['to'])}"
    if isinstance(value, list):
        return ", ".join(text(item) for item in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{k} : {_text(object_type, k, v)}" for k, v in value.items())
    if value is None or value == "":
        return "—"
    labels = VALUE_LABELS.get((object_type, key), {})
    if isinstance(value, str) and value in labels:
        return str(_(labels[value]))
    if key in MONEY_KEYS | RATE_KEYS | UNIT_PRICE_KEYS:
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            return str(value)
        if key in UNIT_PRICE_KEYS:
            return unit_price(amount)
        return money(amount) if key in MONEY_KEYS else rate(amount)
    if isinstance(value, bool):
        return _("oui") if value else _("non")
    if isinstance(value, str) and (moment := ISO_MOMENT.fullmatch(value)):
        # Dates and times are kept as ISO text (Lyon's time): shown the French way.
        year, month, dom, time = moment.groups()
        return f"{dom}/{month}/{year}" + (f" {time}" if time else "")
    return str(value)


def csv_rows(entries: Iterable[Activity]) -> Iterable[list]:
    """The log as a spreadsheet: one entry a line, Lyon's time."""
    yield [
        _("Date"),
        _("Qui"),
        _("Action"),
        _("Type"),
        _("Objet"),
        _("Atelier"),
        _("Détails"),
    ]
    for entry in entries:
        yield [
            to_local(entry.at).strftime("%d/%m/%Y %H:%M:%S"),
            actor_name(entry),
            action_label(entry.action),
            object_type_label(entry.object_type),
            entry.object_label,
            entry.member.name if entry.member else "",
            " ; ".join(f"{label} : {text}" for label, text in describe(entry)),
        ]


def actor_name(entry: Activity) -> str:
    if entry.actor is not None:
        return entry.actor.name
    return _(ACTOR_KINDS.get(entry.actor_kind, entry.actor_kind))
