"""Dispatch pages: staff follow what each shop takes from the hub; the manager confirms it."""

from flask import Blueprint, Response, abort, flash, redirect, render_template, request
from flask import url_for as url
from flask_babel import gettext as _
from flask_login import current_user

from coop import clock, submissions
from coop.accounts.access import roles_required
from coop.accounts.models import PURCHASING_ROLES, STAFF_ROLES
from coop.errors import NotFound
from coop.extensions import db
from coop.orders.campaigns.models import Campaign
from coop.orders.purchasing import dispatch
from coop.orders.purchasing.forms import HandoverForm
from coop.pages import paginate_list, refusal_shown, search_arg

bp = Blueprint("dispatch", __name__)


@bp.app_template_global()
def dispatch_status_label(campaign: Campaign, status: dispatch.DispatchStatus) -> str:
    return _(dispatch.status_label(campaign, status))


@bp.route("/campaigns/<int:campaign_id>/dispatch")
@roles_required(*STAFF_ROLES)
def board(campaign_id: int):
    campaign = _dispatchable(campaign_id)
    if campaign is None:
        return redirect(url("campaigns.show_campaign", campaign_id=campaign_id))
    status = request.args.get("status", "")
    query = search_arg()
    chosen = dispatch.DispatchStatus(status) if status in set(dispatch.DispatchStatus) else None
    overview = dispatch.dispatch_board(campaign)
    page = paginate_list(dispatch.filter_board(overview.rows, query, chosen))
    return render_template(
        "orders/purchasing/dispatch_list.html",
        campaign=campaign,
        page=page,
        counts=overview.counts,
        status=chosen,
        q=query,
        statuses=list(dispatch.DispatchStatus),
    )


@bp.route("/campaigns/<int:campaign_id>/dispatch/<member_code>")
@roles_required(*STAFF_ROLES)
def picking(campaign_id: int, member_code: str):
    picking = _picking(campaign_id, member_code)
    if isinstance(picking, Response):
        return picking
    return _picking_page(picking, _handover_form(picking))


@bp.route("/campaigns/<int:campaign_id>/dispatch/<member_code>.pdf")
@roles_required(*STAFF_ROLES)
def picking_pdf(campaign_id: int, member_code: str):
    picking = _picking(campaign_id, member_code)
    if isinstance(picking, Response):
        return picking
    name = f"{'remise' if picking.is_hub else 'livraison'}-{picking.document_number}.pdf"
    return Response(
        dispatch.render_picking_pdf(picking),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/campaigns/<int:campaign_id>/dispatch/<member_code>/handover", methods=["POST"])
@roles_required(*PURCHASING_ROLES)
def confirm_handover(campaign_id: int, member_code: str):
    picking = _picking(campaign_id, member_code)
    if isinstance(picking, Response):
        return picking
    form = HandoverForm()
    if not form.validate_on_submit():
        return _picking_page(picking, form), 422
    submissions.claim(form)
    handed_at = clock.from_local(
        form.handed_at.data.date(), form.handed_at.data.hour, form.handed_at.data.minute
    )
    terms = dict(
        taken_by=form.taken_by.data,
        handed_at=handed_at,
        note=form.note.data,
        by=current_user,
        at=clock.now(),
    )
    # The page said whether it corrects a confirmation; someone may have confirmed meanwhile.
    correcting = request.form.get("correct") == "1" and picking.handover is not None
    with refusal_shown(form) as outcome:
        if correcting:
            dispatch.correct_handover(picking.handover, **terms)
        else:
            dispatch.confirm_handover(picking.campaign, picking.member, **terms)
    if not outcome.ok:
        fresh = _picking(campaign_id, member_code)
        return fresh if isinstance(fresh, Response) else (_picking_page(fresh, form), 422)
    submissions.commit(form, url("dispatch.board", campaign_id=campaign_id))
    shop = picking.member.name
    if correcting:
        flash(_("Confirmation corrigée pour %(shop)s.", shop=shop), "success")
    elif picking.is_hub:
        flash(_("Remise à %(shop)s enregistrée.", shop=shop), "success")
    else:
        flash(_("Livraison à %(shop)s enregistrée.", shop=shop), "success")
    return redirect(url("dispatch.board", campaign_id=campaign_id))


def _dispatchable(campaign_id: int) -> Campaign | None:
    campaign = db.get_or_404(Campaign, campaign_id)
    with refusal_shown() as outcome:
        dispatch.ensure_dispatchable(campaign)
    return campaign if outcome.ok else None


def _picking(campaign_id: int, member_code: str):
    campaign = _dispatchable(campaign_id)
    if campaign is None:
        return redirect(url("campaigns.show_campaign", campaign_id=campaign_id))
    try:
        return dispatch.picking_list(campaign, dispatch.get_shop(member_code))
    except NotFound:
        abort(404)


def _handover_form(picking: dispatch.PickingList) -> HandoverForm:
    handover = picking.handover
    if handover is None:
        form = HandoverForm()
        form.handed_at.data = clock.to_local(clock.now()).replace(
            second=0, microsecond=0, tzinfo=None
        )
        return form
    form = HandoverForm(taken_by=handover.taken_by, note=handover.note)
    form.handed_at.data = clock.to_local(handover.handed_at).replace(tzinfo=None)
    return form


def _picking_page(picking: dispatch.PickingList, form: HandoverForm) -> str:
    return render_template("orders/purchasing/dispatch_shop.html", picking=picking, form=form)
