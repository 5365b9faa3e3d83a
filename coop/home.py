"""Each role's home page: the first question it answers, across the domains."""

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from coop import clock
from coop.accounts import members as member_service
from coop.accounts.forms import ROLE_LABELS, ConfirmForm
from coop.accounts.models import Member, Role, User
from coop.extensions import db
from coop.i18n import LANGUAGES
from coop.invoicing import issuing
from coop.orders import campaigns as campaign_service
from coop.orders import dispatch
from coop.orders import home as orders_home
from coop.pages import paginate, safe_next

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    if current_user.role is Role.MEMBER:
        return render_template(
            "home/member.html", member=current_user.member,
            to_post=orders_home.shop_open_campaigns(current_user.member, clock.now()),
            coming=orders_home.shop_coming_campaigns(current_user.member),
            handovers=dispatch.member_handovers(current_user.member),
            labels=campaign_service.STATUS_LABELS,
        )  # fmt: skip
    if current_user.role is Role.ADMIN:
        counts = dict(db.session.execute(select(User.role, func.count()).group_by(User.role)).all())
        recent = db.session.scalars(
            select(User)
            .where(User.last_login_at.is_not(None))
            .order_by(User.last_login_at.desc())
            .limit(8)
        )
        return render_template(
            "home/admin.html", counts=counts, recent=recent, role_labels=ROLE_LABELS
        )
    incomplete = paginate(member_service.members_missing_billing_details())
    active = db.session.scalar(
        select(func.count()).select_from(Member).where(Member.is_active.is_(True))
    )
    if current_user.role is Role.TREASURER:
        on = clock.today()
        owed = issuing.invoices_totals(issuing.invoices_query(issuing.InvoiceFilters(), on=on),
                                       on=on)  # fmt: skip
        return render_template(
            "home/treasurer.html", incomplete=incomplete, active_count=active, owed=owed,
            to_invoice=orders_home.campaigns_to_invoice(),
        )  # fmt: skip
    return render_template(
        "home/manager.html", incomplete=incomplete, active_count=active,
        decisions=orders_home.manager_decisions(clock.now()),
        labels=campaign_service.STATUS_LABELS,
    )  # fmt: skip


@bp.route("/language", methods=["POST"])
def set_language():
    form = ConfirmForm()
    lang = request.form.get("lang")
    if form.validate_on_submit() and lang in LANGUAGES:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next"), url_for("home.index")))
