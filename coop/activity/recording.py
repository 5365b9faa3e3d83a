"""record(): the one way an entry enters the activity log.

Services call it in the transaction of the change they make, after it (so ids
exist), with the object's label as it reads now and a short before/after of what
matters. The entry is flushed, never committed: it lands or rolls back with the
change. Who acted: the user given, else the user logged in to the request, else
the kind of actor the caller names ("job", "webhook"), else the one the entry
point declared (acting_as), else the system.
"""

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from flask import has_request_context
from flask_login import current_user

from coop.accounts.models import Member, User
from coop.activity.actions import ACTIONS, OBJECT_TYPES
from coop.activity.models import Activity, ActorKind
from coop.clock import now
from coop.extensions import db

LABEL_SIZE = 200  # the column's size

_acting_as: ContextVar[ActorKind | None] = ContextVar("acting_as", default=None)


def record(
    action: str,
    *,
    object_type: str,
    object_id: int | None,
    label: str,
    member: Member | int | None = None,
    details: Mapping | None = None,
    actor: User | None = None,
    kind: ActorKind | str | None = None,
) -> Activity:
    """Add one entry to the log in the current transaction (flushed, not committed)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown activity action {action!r}: add it to coop.activity.actions")
    if object_type not in OBJECT_TYPES:
        raise ValueError(f"unknown object type {object_type!r}: add it to coop.activity.actions")
    actor, actor_kind = _who(actor, kind)
    entry = Activity(
        at=now(),
        actor_id=actor.id if actor is not None else None,
        actor_kind=actor_kind,
        object_type=object_type,
        object_id=object_id,
        object_label=(label or "")[:LABEL_SIZE],
        member_id=member.id if isinstance(member, Member) else member,
        action=action,
        details=plain(details or {}),
    )
    db.session.add(entry)
    db.session.flush()
    return entry


@contextlib.contextmanager
def acting_as(kind: ActorKind | str) -> Iterator[None]:
    """Entries recorded inside are by `kind` (a webhook, a job) unless a user is known."""
    token = _acting_as.set(ActorKind(kind))
    try:
        yield
    finally:
        _acting_as.reset(token)


def change(before, after) -> dict:
    """A value's move, as the details keep it: {"from": before, "to": after}."""
    return {"from": before, "to": after}


def changes(before: Mapping, after: Mapping) -> dict:
    """The fields whose value differs between `before` and `after`, each as a change()."""
    return {
        name: change(before.get(name), value)
        for name, value in after.items()
        if before.get(name) != value
    }


def plain(value):
    """`value` as JSON keeps it: Decimals and dates as strings, enums as their value."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(item) for item in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _who(actor: User | None, kind) -> tuple[User | None, ActorKind]:
    if actor is not None:
        return actor, ActorKind.USER
    if has_request_context() and current_user.is_authenticated:
        return current_user._get_current_object(), ActorKind.USER
    if kind is not None:
        return None, ActorKind(kind)
    return None, _acting_as.get() or ActorKind.SYSTEM
