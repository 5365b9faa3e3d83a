"""The log's filters, read from the query string: what cannot be one is left out."""

from datetime import date

from flask import request

from coop.activity.actions import ACTIONS, OBJECT_TYPES
from coop.activity.reading import LogFilters
from coop.pages import id_arg


def _day(name: str) -> date | None:
    text = request.args.get(name, "").strip()
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def log_filters() -> LogFilters:
    """The filters of the log page (and of its CSV export) from the query string."""
    object_type = request.args.get("type", "")
    action = request.args.get("action", "")
    return LogFilters(
        object_type=object_type if object_type in OBJECT_TYPES else "",
        action=action if action in ACTIONS else "",
        actor_id=id_arg("actor"),
        member_id=id_arg("shop"),
        since=_day("since"),
        until=_day("until"),
    )
