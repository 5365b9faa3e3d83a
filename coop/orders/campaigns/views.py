"""Campaign pages: the manager runs campaigns, shops post their needs."""

from decimal import Decimal

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    get_template_attribute,
    redirect,
    render_template,
    request,
)
from flask import url_for as url
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select

from coop import clock, submissions
from coop.accounts.access import roles_required
from coop.accounts.forms import ConfirmForm
from coop.accounts.models import PURCHASING_ROLES, STAFF_ROLES, Role
from coop.activity import reading as activity
from coop.csv_export import Figure, french_csv
from coop.csv_import import import_outcome
from coop.errors import NotAllowed
from coop.extensions import db
from coop.orders.campaigns import demand as demand_service
from coop.orders.campaigns import lifecycle as campaign_service
from coop.orders.campaigns import needs as need_service
from coop.orders.campaigns import notifications
from coop.orders.campaigns.forms import (
    CampaignForm,
    ConvertRequestForm,
    NeedForm,
    NeedsImportForm,
    PartRequestForm,
)
from coop.orders.campaigns.importing import NEED_COLUMNS, import_needs
from coop.orders.campaigns.models import (
    CAMPAIGN_STATUS_LABELS,
    Campaign,
    CampaignStatus,
    Need,
    PartRequest,
)
from coop.orders.costs import statements
from coop.orders.purchasing import ordering
from coop.pages import RenderedOnce, paginate, refusal_shown, search_arg
from coop.suppliers.catalogue import find_part
from coop.suppliers.models import Part
from coop.suppliers.origin import Origin

bp = Blueprint("campaigns", __name__)

# The live signal cells of a part (pack, tier, indicative price) are the same for every shop
# that sees them: rendered once per signal and language, not once per row of every page. The
# key holds everything the cells show, so a changed signal is a new entry.
_SIGNAL_CELLS = RenderedOnce(4096)
# A shop's need row, its cells included: shops reopen their page and htmx refreshes it every
# 20 s, while a need changes a few times a campaign.
_NEED_ROWS = RenderedOnce(8192)


@bp.app_template_global()
def signal_cells(d: demand_service.PartDemand, shops: dict[int, int]) -> Markup:
    signal = d.signal
    best, closest = signal.best, signal.closest  # the offers the cells show
    shown = {o.key for o in (best, closest) if o is not None}
    key = (
        signal.requested,
        signal.tolerance,
        best,
        closest,
        shops.get(d.part.id, 0),
        tuple((k, d.offers[k].supplier_name) for k in sorted(shown)),
    )
    return _SIGNAL_CELLS.get(
        key,
        lambda: get_template_attribute("orders/campaigns/_signal.html", "signal_cells")(d, shops),
    )


@bp.app_template_global()
def need_row(n: Need, cells: Markup, open_for_needs: bool) -> Markup:
    key = (
        n.id,
        n.ref,
        n.part.name,
        n.part.sku,
        n.needed_by,
        n.max_unit_price,
        n.quantity,
        n.tolerance,
        n.min_quantity,
        cells,
        open_for_needs,
    )
    return _NEED_ROWS.get(
        key,
        lambda: get_template_attribute("orders/campaigns/_need_row.html", "need_row")(
            n, cells, open_for_needs
        ),
    )


# --- manager: campaigns ------------------------------------------------------------------


@bp.route("/campaigns/")
@roles_required(*STAFF_ROLES)
def list_campaigns():
    page = paginate(select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc()))
    return render_template(
        "orders/campaigns/campaign_list.html", page=page, labels=CAMPAIGN_STATUS_LABELS
    )


@bp.route("/campaigns/new", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def create_campaign():
    form = CampaignForm()
    if form.validate_on_submit():
        submissions.claim(form)
        with refusal_shown(form) as outcome:
            campaign = campaign_service.create_campaign(
                form.code.data,
                form.title.data,
                form.order_date.data,
                draft=True,
                at=clock.now(),
                **_campaign_terms(form),
            )
        if outcome.ok:
            result = url("campaigns.show_campaign", campaign_id=campaign.id)
            submissions.commit(form, result)
            flash(
                _(
                    "Campagne %(code)s créée en brouillon : ouvrez-la quand elle est prête.",
                    code=campaign.code,
                ),
                "success",
            )
            return redirect(result)
    return render_template("orders/campaigns/campaign_form.html", form=form, campaign=None)


# The newest entries the campaign page shows (its orders' included): enough to read what
# happened lately without burying the page.
CAMPAIGN_TIMELINE_SIZE = 30


@bp.route("/campaigns/<int:campaign_id>")
@roles_required(*STAFF_ROLES)
def show_campaign(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    needs, shops = demand_service.campaign_counts(campaign)
    orders = ordering.campaign_orders(campaign)
    return render_template(
        "orders/campaigns/campaign_detail.html",
        campaign=campaign,
        needs=needs,
        shops=shops,
        labels=CAMPAIGN_STATUS_LABELS,
        moves=campaign_service.allowed_moves(campaign),
        requests=demand_service.open_requests(campaign),
        form=ConfirmForm(),
        orders=orders,
        origins=list(Origin),
        activity=activity.timeline(
            "campaign",
            campaign.id,
            activity.shop_scope(current_user),
            also=ordering.history_objects(campaign),
            limit=CAMPAIGN_TIMELINE_SIZE,
        ),
    )


@bp.route("/campaigns/<int:campaign_id>/edit", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def edit_campaign(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    form = CampaignForm(obj=campaign)
    if request.method == "GET":
        _fill_campaign_form(form, campaign)
    if form.validate_on_submit():
        with refusal_shown(form) as outcome:
            campaign_service.update_campaign(
                campaign,
                title=form.title.data,
                order_date=form.order_date.data,
                opens_at=campaign.opens_at,
                at=clock.now(),
                **_campaign_terms(form),
            )
        if outcome.ok:
            db.session.commit()
            flash(_("Campagne %(code)s enregistrée.", code=campaign.code), "success")
            return redirect(url("campaigns.show_campaign", campaign_id=campaign.id))
    return render_template("orders/campaigns/campaign_form.html", form=form, campaign=campaign)


@bp.route("/campaigns/<int:campaign_id>/status/<status>", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def change_status(campaign_id: int, status: str):
    campaign = db.get_or_404(Campaign, campaign_id)
    if status not in {CampaignStatus.OPEN.value, CampaignStatus.CLOSED.value}:
        abort(404)
    target = CampaignStatus(status)
    back = url("campaigns.show_campaign", campaign_id=campaign.id)
    form = ConfirmForm()
    if form.validate_on_submit():
        with refusal_shown() as outcome:
            campaign_service.change_status(campaign, target, at=clock.now())
        if outcome.ok:
            db.session.commit()
            flash(
                _(
                    "La campagne %(code)s est %(status)s.",
                    code=campaign.code,
                    status=target.label,
                ),
                "success",
            )
        return redirect(back)
    if target is CampaignStatus.OPEN:
        title = _("Ouvrir la campagne %(code)s ?", code=campaign.code)
        message = _opening_message(campaign)
    else:
        title = _("Clore la campagne %(code)s ?", code=campaign.code)
        message = _(
            "Les besoins seront figés et les ateliers prévenus par e-mail. Vous pourrez "
            "rouvrir la campagne tant qu'elle n'est pas mutualisée."
        )
    return render_template(
        "confirm.html",
        form=form,
        title=title,
        message=message,
        confirm_label=title.rstrip(" ?"),
        cancel_url=back,
    )


@bp.route("/campaigns/<int:campaign_id>/demand")
@roles_required(*STAFF_ROLES)
def demand(campaign_id: int):
    """Demand per part: one page of parts, their signals computed for that page only."""
    campaign = db.get_or_404(Campaign, campaign_id)
    query = search_arg()
    page = paginate(demand_service.demanded_parts(campaign, query))
    signals = {d.part.id: d for d in demand_service.demand(campaign, [p.id for p in page.items])}
    return render_template(
        "orders/campaigns/demand.html",
        campaign=campaign,
        page=page,
        signals=signals,
        q=query,
        shops={part_id: d.shops for part_id, d in signals.items()},
        without_offer=demand_service.parts_without_offer(campaign),
        silent=demand_service.members_without_needs(campaign),
        requests=demand_service.open_requests(campaign),
    )


@bp.route("/campaigns/<int:campaign_id>/demand/remind", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def remind_silent_shops(campaign_id: int):
    """Remind, once a day at most, the shops that have posted nothing in an open campaign."""
    campaign = db.get_or_404(Campaign, campaign_id)
    back = url("campaigns.demand", campaign_id=campaign.id)
    form = ConfirmForm()
    confirmed = form.validate_on_submit()
    with refusal_shown() as outcome:
        if confirmed:
            submissions.claim(form)
            plan = notifications.remind_silent_shops(campaign, at=clock.now(), by=current_user)
        else:
            plan = notifications.reminder_plan(campaign, at=clock.now())
    if not outcome.ok:
        return redirect(back)
    if confirmed:
        submissions.commit(form, back)
        flash(_reminded_message(plan), "success" if plan.to_remind else "error")
        return redirect(back)
    return render_template(
        "orders/campaigns/remind_shops.html",
        form=form,
        campaign=campaign,
        plan=plan,
        cancel_url=back,
    )


def _reminded_message(plan: notifications.ReminderPlan) -> str:
    message = ngettext(
        "%(num)d atelier relancé par e-mail.",
        "%(num)d ateliers relancés par e-mail.",
        len(plan.to_remind),
    )
    if plan.reminded_today:
        message += " " + ngettext(
            "%(num)d déjà relancé aujourd'hui.",
            "%(num)d déjà relancés aujourd'hui.",
            len(plan.reminded_today),
        )
    if plan.without_address:
        codes = ", ".join(m.code for m in plan.without_address)
        message += " " + _("Sans adresse e-mail : %(codes)s.", codes=codes)
    return message


@bp.route("/campaigns/<int:campaign_id>/demand/suppliers")
@roles_required(*STAFF_ROLES)
def demand_by_supplier(campaign_id: int):
    """Demand per supplier: every part counted at its best offer today."""
    campaign = db.get_or_404(Campaign, campaign_id)
    by_supplier = demand_service.by_supplier(demand_service.demand(campaign))
    total = sum((row[4] for row in by_supplier), Decimal("0.00"))
    return render_template(
        "orders/campaigns/demand_suppliers.html",
        campaign=campaign,
        by_supplier=by_supplier,
        total=total,
    )


DEMAND_CSV_COLUMNS = (
    "sku name shops requested tolerance best_supplier orderable unit_price_eur missing_for_pack"
).split()


@bp.route("/campaigns/<int:campaign_id>/demand.csv")
@roles_required(*STAFF_ROLES)
def demand_csv(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    rows = [DEMAND_CSV_COLUMNS]
    shops = demand_service.shops_per_part(campaign)
    for row in demand_service.demand(campaign):
        best = row.signal.best
        offer = row.offers[best.key] if best else None
        rows.append(
            [
                row.part.sku,
                row.part.name,
                shops.get(row.part.id, 0),
                row.signal.requested,
                row.signal.tolerance,
                offer.supplier_code if offer else "",
                best.orderable if best else 0,
                Figure(f"{best.unit_price:.4f}".replace(".", ",")) if best else "",
                best.missing_for_pack if best else "",
            ]
        )
    return Response(
        french_csv(rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=demande-{campaign.code}.csv"},
    )


@bp.route("/requests/<int:request_id>/convert", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def convert_request(request_id: int):
    part_request = db.get_or_404(PartRequest, request_id)
    form = ConvertRequestForm()
    if form.validate_on_submit():
        submissions.claim(form)
        with refusal_shown(form) as outcome:
            part = find_part(form.part.data)
            need_service.convert_request(part_request, part, at=clock.now())
        if outcome.ok:
            result = url("campaigns.demand", campaign_id=part_request.campaign_id)
            submissions.commit(form, result)
            flash(
                _("Demande convertie en besoin pour %(shop)s.", shop=part_request.member.name),
                "success",
            )
            return redirect(result)
    return render_template(
        "orders/campaigns/request_convert.html",
        form=form,
        part_request=part_request,
    )


# --- shops: needs ------------------------------------------------------------------------


@bp.route("/campaigns/<int:campaign_id>/needs", methods=["GET", "POST"])
@roles_required(Role.MEMBER)
def needs(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    form = NeedForm()
    if request.method == "GET" and request.args.get("part"):
        form.part.data = request.args["part"][:200]  # from the catalogue: Ajouter à mes besoins
    valid = form.validate_on_submit()
    part = _typed_part(form)
    if valid and part is not None:
        submissions.claim(form)
        with refusal_shown(form) as outcome:
            need_service.post_need(campaign, current_user.member, part, _terms(form))
        if outcome.ok:
            result = url("campaigns.needs", campaign_id=campaign.id)
            submissions.commit(form, result)
            flash(
                _("Besoin ajouté : %(qty)d × %(part)s.", qty=form.quantity.data, part=part.name),
                "success",
            )
            return redirect(result)
    return _needs_page(campaign, form, PartRequestForm(prefix="req"))


@bp.route("/campaigns/<int:campaign_id>/needs/signals")
@roles_required(Role.MEMBER)
def needs_signals(campaign_id: int):
    """The live part of the needs page, refreshed in place (htmx)."""
    campaign = db.get_or_404(Campaign, campaign_id)
    return render_template("orders/campaigns/_need_rows.html", **_needs_context(campaign))


@bp.route("/campaigns/<int:campaign_id>/requests", methods=["POST"])
@roles_required(Role.MEMBER)
def request_part(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    form = PartRequestForm(prefix="req")
    if form.validate_on_submit():
        submissions.claim(form)
        with refusal_shown(form) as outcome:
            need_service.request_part(
                campaign,
                current_user.member,
                form.description.data,
                form.request_quantity.data,
                form.request_note.data,
                at=clock.now(),
            )
        if outcome.ok:
            result = url("campaigns.needs", campaign_id=campaign.id)
            submissions.commit(form, result)
            flash(_("Demande envoyée à la coopérative : elle cherche la pièce."), "success")
            return redirect(result)
    return _needs_page(campaign, NeedForm(formdata=None), form)


@bp.route("/needs/<int:need_id>/edit", methods=["GET", "POST"])
@roles_required(Role.MEMBER)
def edit_need(need_id: int):
    need = _own_need(need_id)
    if (refused := _refuse_if_closed(need)) is not None:
        return refused
    form = NeedForm(obj=need)
    if request.method == "GET":
        form.part.data = f"{need.part.name} ({need.part.sku})"
        form.max_unit_price.data = (
            f"{need.max_unit_price.normalize():f}".replace(".", ",") if need.max_unit_price else ""
        )
        if need.min_quantity == need.quantity:
            form.min_quantity.data = None
    valid = form.validate_on_submit()
    part = _typed_part(form)
    if valid and part is not None:
        with refusal_shown(form) as outcome:
            need_service.update_need(need, part, _terms(form))
        if outcome.ok:
            db.session.commit()
            flash(_("Besoin %(ref)s enregistré.", ref=need.ref), "success")
            return redirect(url("campaigns.needs", campaign_id=need.campaign_id))
    return render_template("orders/campaigns/need_form.html", form=form, need=need)


@bp.route("/needs/<int:need_id>/withdraw", methods=["GET", "POST"])
@roles_required(Role.MEMBER)
def withdraw_need(need_id: int):
    form = ConfirmForm()
    confirmed = form.validate_on_submit()
    if confirmed:
        # Before looking the need up: sent again, the form would find it gone (a 404).
        submissions.claim(form)
    need = _own_need(need_id)
    back = url("campaigns.needs", campaign_id=need.campaign_id)
    if confirmed:
        with refusal_shown() as outcome:
            need_service.withdraw_need(need)
        if outcome.ok:
            submissions.commit(form, back)
            flash(_("Besoin retiré."), "success")
        return redirect(back)
    if (refused := _refuse_if_closed(need)) is not None:
        return refused
    return render_template(
        "confirm.html",
        form=form,
        title=_("Retirer le besoin %(ref)s ?", ref=need.ref),
        message=_(
            "%(qty)d × %(part)s ne sera plus demandé dans cette campagne.",
            qty=need.quantity,
            part=need.part.name,
        ),
        confirm_label=_("Oui, retirer"),
        cancel_url=back,
    )


@bp.route("/campaigns/<int:campaign_id>/import", methods=["GET", "POST"])
@login_required
def import_campaign_needs(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    if not current_user.has_role(Role.MEMBER, *PURCHASING_ROLES):
        abort(403)
    form = NeedsImportForm()
    errors = []
    if form.validate_on_submit():
        submissions.claim(form)
        only = current_user.member if current_user.has_role(Role.MEMBER) else None
        with refusal_shown() as outcome:
            result = import_needs(campaign, form.file.data.read(), only_member=only)
        errors = outcome.rows
        if outcome.ok:
            page = "campaigns.needs" if current_user.has_role(Role.MEMBER) else "campaigns.demand"
            submissions.commit(form, url(page, campaign_id=campaign.id))
            flash(import_outcome(result.created, result.updated), "success")
            return redirect(url(page, campaign_id=campaign.id))
    return render_template(
        "orders/campaigns/needs_import.html",
        form=form,
        campaign=campaign,
        errors=errors,
        columns=NEED_COLUMNS,
    ), (422 if errors else 200)


# --- helpers -----------------------------------------------------------------------------


def _opening_message(campaign: Campaign) -> str:
    """Who will hear of the opening: the shops with a login or a contact address."""
    if campaign.status is CampaignStatus.CLOSED:
        return _(
            "Les ateliers pourront de nouveau poster leurs besoins ; aucun e-mail n'est envoyé."
        )
    reached, active = notifications.shops_reached()
    message = _(
        "Les ateliers actifs pourront poster leurs besoins. %(reached)d sur %(active)d "
        "recevront un e-mail (à leurs comptes et à leur adresse de contact).",
        reached=reached,
        active=active,
    )
    if reached < active:
        message += " " + ngettext(
            "%(num)d atelier n'a ni compte ni adresse e-mail : prévenez-le autrement.",
            "%(num)d ateliers n'ont ni compte ni adresse e-mail : prévenez-les autrement.",
            active - reached,
        )
    return message


def _own_need(need_id: int) -> Need:
    need = db.get_or_404(Need, need_id)
    try:
        need_service.ensure_owner(need, current_user.member)
    except NotAllowed:
        abort(403)
    return need


def _refuse_if_closed(need: Need) -> Response | None:
    """Back to the needs page with the reason, when the need can no longer change."""
    with refusal_shown() as outcome:
        need_service.ensure_open(need.campaign, clock.now())
    if not outcome.ok:
        return redirect(url("campaigns.needs", campaign_id=need.campaign_id))
    return None


def _typed_part(form: NeedForm) -> Part | None:
    """The part a submitted need form names, or None with the reason beside the field.

    Looked up even when another field is wrong, so that the page says everything at once.
    """
    if not form.is_submitted() or not form.part.data:
        return None
    with refusal_shown(form) as outcome:
        part = find_part(form.part.data)
    return part if outcome.ok else None


def _needs_context(campaign: Campaign) -> dict:
    page = paginate(need_service.member_needs(campaign, current_user.member))
    signals = {
        d.part.id: d for d in demand_service.demand(campaign, {n.part_id for n in page.items})
    }
    return {
        "campaign": campaign,
        "page": page,
        "signals": signals,
        "shops": {part_id: d.shops for part_id, d in signals.items()},
        "open_for_needs": need_service.may_change_needs(campaign, clock.now()),
    }


def _needs_page(campaign: Campaign, form: NeedForm, request_form: PartRequestForm):
    if campaign.status is CampaignStatus.DRAFT:
        abort(404)
    if campaign.status in POOLED_OR_LATER:
        return _pooled_needs_page(campaign)
    return render_template(
        "orders/campaigns/needs.html",
        form=form,
        request_form=request_form,
        requests=need_service.member_requests(campaign, current_user.member),
        **_needs_context(campaign),
    )


POOLED_OR_LATER = frozenset(CampaignStatus) - {
    CampaignStatus.DRAFT,
    CampaignStatus.OPEN,
    CampaignStatus.CLOSED,
}


def _pooled_needs_page(campaign: Campaign):
    """After pooling, a shop sees what each of its needs gets, from whom, and why not."""
    member = current_user.member
    page = paginate(ordering.member_outcome(campaign, member))
    # The split may not be possible yet (e.g. a weight key over parts without weight).
    with refusal_shown(show=lambda error: flash(error.message, "warning")) as outcome:
        statement = statements.member_statement(campaign, member)
    if not outcome.ok:
        statement = None
    lines = {line.need.id: line for line in statement.lines} if statement else {}
    return render_template(
        "orders/campaigns/needs_pooled.html",
        campaign=campaign,
        page=page,
        statement=statement,
        lines=lines,
    )


def _terms(form: NeedForm) -> need_service.NeedTerms:
    return need_service.NeedTerms(
        quantity=form.quantity.data,
        tolerance=form.tolerance.data or 0,
        min_quantity=form.min_quantity.data,
        needed_by=form.needed_by.data,
        max_unit_price=form.max_unit_price.data or None,
        ref=form.ref.data or None,
        note=form.note.data,
    )


def _campaign_terms(form: CampaignForm) -> dict:
    closes_at = None
    if form.closes_on.data:
        time = form.closes_time.data
        closes_at = clock.from_local(
            form.closes_on.data, time.hour if time else 18, time.minute if time else 0
        )
    return {
        "closes_at": closes_at,
        "delivery_on": form.delivery_on.data,
        "delivery_mode": form.delivery_mode.data,
        "fee_rate": form.fee_rate(),
        "penalties": form.penalties(),
        "shortage_rule": form.shortage_rule.data,
        "shipping_key": form.shipping_key.data,
    }


def _fill_campaign_form(form: CampaignForm, campaign: Campaign) -> None:
    if campaign.closes_at:
        local = clock.to_local(campaign.closes_at)
        form.closes_on.data, form.closes_time.data = local.date(), local.time()
    form.fee_percent.data = campaign.fee_rate
    form.fill_penalties({origin: campaign.penalty(origin) for origin in Origin})
