"""Each role's home page: the first question it answers, across the domains."""

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, select

from coop import clock, shop_campaigns
from coop.accounts import members as member_service
from coop.accounts.access import roles_required
from coop.accounts.forms import ROLE_LABELS, ConfirmForm
from coop.accounts.models import Member, Role, User, UserRole
from coop.extensions import db
from coop.i18n import LANGUAGES
from coop.orders.campaigns.models import CAMPAIGN_STATUS_LABELS
from coop.orders.purchasing import dispatch
from coop.orders.purchasing import home as orders_home
from coop.pages import paginate, safe_next
from coop.payments import receivables
from coop.purchases import listing as supplier_invoices

bp = Blueprint("home", __name__)

# Someone holding several staff roles lands on the first one's home, with a tab for each other.
HOMES = {
    Role.MANAGER: _l("Gérance"),
    Role.TREASURER: _l("Trésorerie"),
    Role.ADMIN: _l("Administration"),
}


@bp.route("/")
@login_required
def index():
    if current_user.has_role(Role.MEMBER):
        coming = orders_home.shop_coming_campaigns(current_user.member)
        entries = shop_campaigns.campaign_entries(
            current_user.member, [line.campaign for line in coming], on=clock.today()
        )
        return render_template(
            "home/member.html",
            member=current_user.member,
            to_post=orders_home.shop_open_campaigns(current_user.member, clock.now()),
            coming=coming,
            saved={e.campaign.id: e.saved for e in entries if e.saved},
            handovers=dispatch.member_handovers(current_user.member),
            labels=CAMPAIGN_STATUS_LABELS,
            owed=shop_campaigns.owed(current_user.member, on=clock.today()),
        )
    homes = {role: label for role, label in HOMES.items() if current_user.has_role(role)}
    if not homes:
        abort(403)
    home = next((role for role in homes if role == request.args.get("role")), next(iter(homes)))
    tabs = {"homes": homes, "home": home}
    if home is Role.ADMIN:
        per_role = select(UserRole.role, func.count()).group_by(UserRole.role)
        counts = dict(db.session.execute(per_role).all())
        recent = db.session.scalars(
            select(User)
            .where(User.last_login_at.is_not(None))
            .order_by(User.last_login_at.desc())
            .limit(8)
        )
        return render_template(
            "home/admin.html", counts=counts, recent=recent, role_labels=ROLE_LABELS, **tabs
        )
    incomplete = paginate(member_service.members_missing_billing_details())
    active = db.session.scalar(
        select(func.count()).select_from(Member).where(Member.is_active.is_(True))
    )
    if home is Role.TREASURER:
        on = clock.today()
        owed = receivables.invoices_totals(
            receivables.invoices_query(receivables.InvoiceFilters(), on=on), on=on
        )
        return render_template(
            "home/treasurer.html",
            incomplete=incomplete,
            active_count=active,
            owed=owed,
            to_invoice=orders_home.campaigns_to_invoice(),
            **tabs,
        )
    return render_template(
        "home/manager.html",
        incomplete=incomplete,
        active_count=active,
        decisions=orders_home.manager_decisions(clock.now()),
        supplier_invoices_to_check=supplier_invoices.to_check_count(),
        labels=CAMPAIGN_STATUS_LABELS,
        **tabs,
    )


@bp.route("/my/campaigns")
@roles_required(Role.MEMBER)
def my_campaigns():
    """Every campaign the shop took part in: units, spend, savings, invoice and payment."""
    member = current_user.member
    page = paginate(shop_campaigns.campaigns_query(member))
    entries = shop_campaigns.campaign_entries(member, list(page.items), on=clock.today())
    return render_template(
        "home/my_campaigns.html", page=page, entries=entries, labels=CAMPAIGN_STATUS_LABELS
    )


@bp.route("/language", methods=["POST"])
def set_language():
    form = ConfirmForm()
    lang = request.form.get("lang")
    if form.validate_on_submit() and lang in LANGUAGES:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next"), url_for("home.index")))
