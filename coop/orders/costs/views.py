"""The cost split's pages: the manager's extra charges, each shop's statement, the results."""

from flask import Blueprint, Response, abort, flash, redirect, render_template, request
from flask import url_for as url
from flask_babel import gettext as _
from flask_login import current_user, login_required

from coop import submissions
from coop.accounts import members as member_service
from coop.accounts.access import ensure_can_access, roles_required
from coop.accounts.forms import ConfirmForm
from coop.accounts.models import PURCHASING_ROLES, STAFF_ROLES
from coop.csv_export import french_csv
from coop.errors import DomainError, NotFound
from coop.extensions import db
from coop.i18n import money
from coop.orders.campaigns.models import CAMPAIGN_STATUS_LABELS, Campaign
from coop.orders.campaigns.rules import SPLIT_KEY_LABELS
from coop.orders.costs import charging, reporting, splitting, statements
from coop.orders.costs.forms import ChargeForm, ShippingKeyForm
from coop.pages import paginate_list, refusal_shown

bp = Blueprint("statements", __name__)


# --- manager: extra charges -----------------------------------------------------------------


@bp.route("/campaigns/<int:campaign_id>/charges", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def charges(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    form = _charge_form(campaign)
    if form.validate_on_submit():
        submissions.claim(form)
        with refusal_shown(form) as outcome:
            charging.add_charge(campaign, _terms(campaign, form))
        if outcome.ok:
            result = url("statements.charges", campaign_id=campaign.id)
            submissions.commit(form, result)
            flash(_("Frais « %(label)s » ajouté et réparti.", label=form.label.data), "success")
            return redirect(result)
    return _charges_page(campaign, form)


@bp.route("/campaigns/<int:campaign_id>/charges/<int:charge_id>/edit", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def edit_charge(campaign_id: int, charge_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    charge = _charge(campaign, charge_id)
    form = _charge_form(campaign)
    if request.method == "GET":
        form.label.data, form.amount.data = charge.label, f"{charge.amount}".replace(".", ",")
        form.key.data = charge.key.value
        form.supplier.data = str(charge.supplier_id or "")
    if form.validate_on_submit():
        with refusal_shown(form) as outcome:
            charging.update_charge(charge, _terms(campaign, form))
        if outcome.ok:
            db.session.commit()
            flash(_("Frais « %(label)s » enregistré.", label=charge.label), "success")
            return redirect(url("statements.charges", campaign_id=campaign.id))
    return render_template(
        "orders/costs/charge_form.html", campaign=campaign, charge=charge, form=form
    )


@bp.route("/campaigns/<int:campaign_id>/charges/<int:charge_id>/delete", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def delete_charge(campaign_id: int, charge_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    back = url("statements.charges", campaign_id=campaign.id)
    form = ConfirmForm()
    confirmed = form.validate_on_submit()
    if confirmed:
        # Before looking the charge up: sent again, the form would find it gone (a 404).
        submissions.claim(form)
    charge = _charge(campaign, charge_id)
    if confirmed:
        label = charge.label
        with refusal_shown() as outcome:
            charging.delete_charge(charge)
        if outcome.ok:
            submissions.commit(form, back)
            flash(_("Frais « %(label)s » supprimé.", label=label), "success")
        return redirect(back)
    return render_template(
        "confirm.html",
        form=form,
        cancel_url=back,
        title=_("Supprimer le frais « %(label)s » ?", label=charge.label),
        message=_(
            "Ses %(amount)s ne seront plus répartis sur les ateliers de la campagne.",
            amount=money(charge.amount),
        ),
        confirm_label=_("Oui, supprimer le frais"),
        cancel_label=_("Non, le garder"),
    )


@bp.route("/campaigns/<int:campaign_id>/shipping-key", methods=["POST"])
@roles_required(*PURCHASING_ROLES)
def shipping_key(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    form = ShippingKeyForm()
    if form.validate_on_submit():
        with refusal_shown() as outcome:
            charging.set_shipping_key(campaign, form.key.data)
        if outcome.ok:
            db.session.commit()
            flash(
                _(
                    "Frais de port désormais répartis %(key)s.",
                    key=_(SPLIT_KEY_LABELS[campaign.shipping_key]),
                ),
                "success",
            )
    else:
        flash(_("Clé de répartition inconnue."), "error")
    return redirect(url("statements.charges", campaign_id=campaign.id))


def _charges_page(campaign: Campaign, form: ChargeForm):
    context = {
        "campaign": campaign,
        "form": form,
        "split": None,
        "problem": None,
        "shares": {},
        "unweighed": [],
        "chargeable": campaign.status in charging.CHARGEABLE,
        "charges_list": splitting.campaign_charges(campaign),
        "key_labels": SPLIT_KEY_LABELS,
        "labels": CAMPAIGN_STATUS_LABELS,
        "key_form": ShippingKeyForm(key=campaign.shipping_key.value),
    }
    with refusal_shown(show=lambda error: context.update(problem=error.message)) as outcome:
        statements.ensure_pooled(campaign)
        split = splitting.build_split(campaign)
    if outcome.ok:
        context |= {
            "split": split,
            "shares": charging.charge_shares(split),
            "unweighed": charging.parts_without_weight(split),
        }
    return render_template("orders/costs/charges.html", **context)


def _charge_form(campaign: Campaign) -> ChargeForm:
    form = ChargeForm()
    form.supplier.choices = [("", _("Toute la campagne"))] + [
        (str(s.id), s.name) for s in charging.campaign_suppliers(campaign)
    ]
    return form


def _terms(campaign: Campaign, form: ChargeForm) -> charging.ChargeTerms:
    supplier = charging.campaign_supplier(campaign, form.supplier.data)
    return charging.ChargeTerms(form.label.data, form.amount.data, form.key.data, supplier)


def _charge(campaign: Campaign, charge_id: int):
    try:
        return charging.get_charge(campaign, charge_id)
    except NotFound:
        abort(404)


# --- a shop's statement ---------------------------------------------------------------------


@bp.route("/campaigns/<int:campaign_id>/statement")
@login_required
def statement(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    member, members = _statement_member(campaign)
    if member is None:
        flash(_("Aucun atelier n'a posté de besoin dans cette campagne."), "info")
        return redirect(url("campaigns.show_campaign", campaign_id=campaign.id))
    with refusal_shown(show=_shown_as_info) as outcome:
        result = statements.member_statement(campaign, member)
    if not outcome.ok:
        return redirect(_campaign_page(campaign))
    page = paginate_list(result.lines)
    return render_template(
        "orders/costs/statement.html",
        campaign=campaign,
        statement=result,
        page=page,
        members=members,
    )


@bp.route("/campaigns/<int:campaign_id>/statement.csv")
@login_required
def statement_csv(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    member, _members = _statement_member(campaign)
    if member is None:
        abort(404)
    with refusal_shown(show=_shown_as_info) as outcome:
        result = statements.member_statement(campaign, member)
    if not outcome.ok:
        return redirect(_campaign_page(campaign))
    filename = f"releve-{campaign.code}-{member.code}.csv"
    return Response(
        french_csv(statements.statement_rows(result)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _statement_member(campaign: Campaign):
    """The shop whose statement is asked: a member user's own, any for staff (?member=CODE)."""
    code = request.args.get("member", "").strip()
    if not current_user.is_staff:
        member = current_user.member
        if code and code.upper() != member.code:
            abort(403)
        return member, []
    members = statements.statement_members(campaign)
    if code:
        try:
            member = member_service.find_member(code)
        except NotFound:
            abort(404)
        ensure_can_access(member)
        return member, members
    return (members[0] if members else None), members


def _shown_as_info(error: DomainError) -> None:
    """A page not ready yet (nothing pooled, nothing received) is news, not a fault."""
    flash(error.message, "info")


def _campaign_page(campaign: Campaign) -> str:
    if current_user.is_staff:
        return url("campaigns.show_campaign", campaign_id=campaign.id)
    return url("campaigns.needs", campaign_id=campaign.id)


# --- staff: the campaign's results ----------------------------------------------------------


@bp.route("/campaigns/<int:campaign_id>/results")
@roles_required(*STAFF_ROLES)
def results(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    with refusal_shown(show=_shown_as_info) as outcome:
        report = reporting.campaign_results(campaign)
    if not outcome.ok:
        return redirect(url("campaigns.show_campaign", campaign_id=campaign.id))
    return render_template(
        "orders/costs/results.html",
        campaign=campaign,
        results=report,
        page=paginate_list(report.shops),
    )
