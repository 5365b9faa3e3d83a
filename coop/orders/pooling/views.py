"""The manager's review of a pooling: run, compare, adjust, commit."""

from flask import Blueprint, abort, flash, redirect, render_template, request
from flask import url_for as url
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from coop import clock, submissions
from coop.accounts.access import roles_required
from coop.accounts.forms import ConfirmForm
from coop.accounts.models import PURCHASING_ROLES, STAFF_ROLES
from coop.errors import DomainError
from coop.extensions import db
from coop.jobs import run_in_background
from coop.orders.campaigns.models import CAMPAIGN_STATUS_LABELS, Campaign
from coop.orders.costs import charging
from coop.orders.pooling import pool_run
from coop.orders.pooling.forms import PoolingForm
from coop.orders.pooling.models import PoolingRun, RunStatus
from coop.orders.pooling.review import choice_cost, describe_reason, review
from coop.orders.purchasing import ordering
from coop.pages import id_arg, refusal_shown
from coop.suppliers.origin import Origin

bp = Blueprint("pooling", __name__)

# How long the request waits for a run before showing its progress page instead.
WAIT_SECONDS = 1.0


@bp.app_template_filter("reason")
def reason_filter(why) -> str:
    return describe_reason(why)


@bp.route("/campaigns/<int:campaign_id>/pooling")
@roles_required(*STAFF_ROLES)
def show(campaign_id: int):
    return _pooling_page(db.get_or_404(Campaign, campaign_id), PoolingForm(formdata=None))


def _pooling_page(campaign: Campaign, form: PoolingForm):
    """The review page; a form sent back with errors keeps what was typed."""
    runs = pool_run.latest_runs(campaign)
    run = _chosen_run(campaign, runs)
    options = pool_run.Options.from_json(run.options) if run else pool_run.Options()
    if not form.errors:
        form.time_limit.data = int(options.time_limit)
        form.fill_penalties({o: campaign.penalty(o) for o in Origin} | options.penalties)
    context = {}
    if run is not None and run.status is RunStatus.DONE:
        context["review"] = review(run)
        context["summary"] = run.headline
        reference = pool_run.reference_run(run)
        if reference is not None and options.constrains(campaign):
            context["cost_of_choices"] = choice_cost(run, reference)
    history = [
        (
            past,
            past.headline,
            pool_run.Options.from_json(past.options),
        )
        for past in runs
    ]
    return render_template(
        "orders/pooling/pooling.html",
        campaign=campaign,
        history=history,
        run=run,
        form=form,
        options=options,
        choices=pool_run.choices(campaign),
        labels=CAMPAIGN_STATUS_LABELS,
        view=request.args.get("view", "suppliers"),
        stale=run and pool_run.run_is_stale(run),
        can_undo=ordering.can_undo(campaign),
        **context,
    )


@bp.route("/campaigns/<int:campaign_id>/pooling/need-pins")
@roles_required(*PURCHASING_ROLES)
def need_pins(campaign_id: int):
    """The per-need pins, loaded when the manager opens them: thousands of rows otherwise."""
    campaign = db.get_or_404(Campaign, campaign_id)
    run = _chosen_run(campaign, [])
    options = pool_run.Options.from_json(run.options) if run else pool_run.Options()
    needs = pool_run.choices(campaign)["needs"]
    return render_template("orders/pooling/_pooling_need_pins.html", needs=needs, options=options)


def _chosen_run(campaign: Campaign, runs: list[PoolingRun]) -> PoolingRun | None:
    run_id = id_arg("run")
    if run_id is None:
        return runs[0] if runs else None
    run = pool_run.get_run(campaign, run_id)
    if run is None:
        abort(404)
    return run


@bp.route("/campaigns/<int:campaign_id>/pooling/runs", methods=["POST"])
@roles_required(*PURCHASING_ROLES)
def start(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    form = PoolingForm()
    back = url("pooling.show", campaign_id=campaign.id)
    if not form.validate():
        return _pooling_page(campaign, form), 422
    submissions.claim(form)
    with refusal_shown() as outcome:
        options = pool_run.Options(
            time_limit=float(form.time_limit.data),
            penalties=form.penalties(),
            **_read_choices(pool_run.choices(campaign)),
        )
        run = pool_run.start_run(campaign, options, user=current_user._get_current_object())
    if not outcome.ok:
        return redirect(back)
    run_id = run.id
    result = url("pooling.show", campaign_id=campaign.id, run=run_id)
    submissions.commit(form, result)
    # Nothing read from here on: on SQLite a new transaction of this request would hold the
    # write lock (coop._may_write) that the run needs while the request waits for it.
    thread = run_in_background(pool_run.execute_run, run_id)
    if thread is not None:
        # Short runs come back finished; long ones show their progress.
        thread.join(WAIT_SECONDS)
    return redirect(result)


def _read_choices(choices: dict) -> dict:
    """Excluded suppliers and pins from the form, each checked against what may be chosen."""
    allowed = set(choices["suppliers"])
    excluded = set(request.form.getlist("exclude"))
    if excluded - allowed:
        raise DomainError(_("Fournisseur inconnu : %(code)s.", code=min(excluded - allowed)))
    pinned_parts, pinned_needs = {}, {}
    for part, codes in choices["parts"].items():
        code = request.form.get(f"pin_part_{part}", "")
        if code:
            if code not in codes:
                raise DomainError(
                    _("%(code)s ne propose pas la pièce %(part)s.", code=code, part=part)
                )
            pinned_parts[part] = code
    for need, codes in choices["needs"]:
        code = request.form.get(f"pin_need_{need.id}", "")
        if code:
            if code not in codes:
                raise DomainError(
                    _("%(code)s ne propose pas la pièce %(part)s.", code=code, part=need.part)
                )
            pinned_needs[need.id] = code
    return {
        "excluded_suppliers": frozenset(excluded),
        "pinned_parts": pinned_parts,
        "pinned_needs": pinned_needs,
    }


def _campaign_run_or_404(campaign_id: int, run_id: int) -> tuple[Campaign, PoolingRun]:
    campaign = db.get_or_404(Campaign, campaign_id)
    run = pool_run.get_run(campaign, run_id)
    if run is None:
        abort(404)
    return campaign, run


@bp.route("/campaigns/<int:campaign_id>/pooling/runs/<int:run_id>/progress")
@roles_required(*STAFF_ROLES)
def progress(campaign_id: int, run_id: int):
    campaign, run = _campaign_run_or_404(campaign_id, run_id)
    if run.status is not RunStatus.RUNNING:
        # htmx reloads the whole page to show the result.
        return "", 204, {"HX-Refresh": "true"}
    return render_template(
        "orders/pooling/_pooling_progress.html",
        campaign=campaign,
        run=run,
        stale=pool_run.run_is_stale(run),
    )


@bp.route("/campaigns/<int:campaign_id>/pooling/runs/<int:run_id>/commit", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def commit(campaign_id: int, run_id: int):
    campaign, run = _campaign_run_or_404(campaign_id, run_id)
    back = url("pooling.show", campaign_id=campaign.id, run=run.id)
    form = ConfirmForm()
    if form.validate_on_submit():
        submissions.claim(form)
        with refusal_shown() as outcome:
            orders = ordering.commit_run(run, at=clock.now())
            charging.book_shortfall_fees(campaign, run.record)
        if not outcome.ok:
            return redirect(back)
        submissions.commit(form, url("campaigns.show_campaign", campaign_id=campaign.id))
        flash(
            ngettext(
                "Plan validé : %(num)d bon de commande en brouillon. La campagne "
                "%(code)s est mutualisée.",
                "Plan validé : %(num)d bons de commande en brouillon. La campagne "
                "%(code)s est mutualisée.",
                len(orders),
                code=campaign.code,
            ),
            "success",
        )
        return redirect(url("campaigns.show_campaign", campaign_id=campaign.id))
    record = run.record
    suppliers = len(record.shipping_by_supplier) if record is not None else 0
    return render_template(
        "confirm.html",
        form=form,
        cancel_url=back,
        title=_("Valider ce plan ?"),
        message=ngettext(
            "%(num)d bon de commande sera créé en brouillon, un par fournisseur, "
            "et chaque atelier verra ce qu'il reçoit. Rien n'est envoyé aux "
            "fournisseurs avant que vous n'envoyiez chaque bon.",
            "%(num)d bons de commande seront créés en brouillon, un par "
            "fournisseur, et chaque atelier verra ce qu'il reçoit. Rien n'est envoyé "
            "aux fournisseurs avant que vous n'envoyiez chaque bon.",
            suppliers,
        ),
        confirm_label=_("Valider le plan"),
    )


@bp.route("/campaigns/<int:campaign_id>/pooling/undo", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def undo(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    back = url("campaigns.show_campaign", campaign_id=campaign.id)
    with refusal_shown() as outcome:
        ordering.check_undoable(campaign)
    if not outcome.ok:
        return redirect(back)
    form = ConfirmForm()
    if form.validate_on_submit():
        with refusal_shown() as outcome:
            ordering.undo_pooling(campaign, at=clock.now())
        if not outcome.ok:
            return redirect(back)
        db.session.commit()
        flash(
            _("Mutualisation défaite : les bons de commande en brouillon sont annulés."), "success"
        )
        return redirect(url("pooling.show", campaign_id=campaign.id))
    return render_template(
        "confirm.html",
        form=form,
        cancel_url=back,
        title=_("Défaire la mutualisation de %(code)s ?", code=campaign.code),
        message=_(
            "Les bons de commande en brouillon seront annulés et la campagne redeviendra "
            "close : vous pourrez relancer un calcul et valider un autre plan."
        ),
        confirm_label=_("Défaire la mutualisation"),
    )
