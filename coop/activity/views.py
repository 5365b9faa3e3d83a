"""The activity log's page for staff, with its CSV export; the timelines' template helpers."""

from flask import Blueprint, render_template
from sqlalchemy import select

from coop.accounts.access import roles_required
from coop.accounts.models import STAFF_ROLES, Member
from coop.activity import reading
from coop.activity.actions import ACTIONS, ACTOR_KINDS, OBJECT_TYPES
from coop.activity.forms import log_filters
from coop.clock import today
from coop.extensions import db
from coop.pages import csv_download, paginate

bp = Blueprint("activity", __name__, url_prefix="/activity")

# The export's ceiling: a year of a busy coop; narrow the dates past it.
CSV_MAX_ROWS = 50_000


@bp.app_template_filter("activity_action")
def action_label(code: str) -> str:
    return reading.action_label(code)


@bp.app_template_filter("activity_details")
def details(entry) -> list[tuple[str, str]]:
    return reading.describe(entry)


@bp.app_template_filter("activity_actor")
def actor(entry) -> str:
    return reading.actor_name(entry)


@bp.route("/")
@roles_required(*STAFF_ROLES)
def log():
    filters = log_filters()
    return render_template(
        "activity/log.html",
        page=paginate(reading.log(filters)),
        filters=filters,
        actions=ACTIONS,
        object_types=OBJECT_TYPES,
        actor_kinds=ACTOR_KINDS,
        actors=reading.actors(),
        members=db.session.scalars(select(Member).order_by(Member.name)).all(),
    )


@bp.route("/export.csv")
@roles_required(*STAFF_ROLES)
def log_csv():
    entries = db.session.scalars(reading.log(log_filters()).limit(CSV_MAX_ROWS))
    return csv_download(f"journal-{today():%Y-%m-%d}.csv", reading.csv_rows(entries))
