"""Framework agreements' pages: the manager drafts, signs and ends them; the treasurer and the
admin read them (the shortfall fees are the coop's money)."""

from flask import Blueprint, abort, flash, redirect, render_template, request
from flask import url_for as url
from flask_babel import gettext as _
from flask_login import current_user

from coop import clock, i18n, submissions
from coop.accounts.access import roles_required
from coop.accounts.forms import ConfirmForm
from coop.accounts.models import PURCHASING_ROLES, STAFF_ROLES
from coop.activity import reading as activity
from coop.extensions import db
from coop.negotiation.rfqs import active_suppliers
from coop.pages import csv_download, id_arg, paginate, refusal_shown, search_arg
from coop.relocation import agreements
from coop.relocation.forms import AgreementForm
from coop.suppliers.catalogue import find_part
from coop.suppliers.models import AgreementStatus, FrameworkAgreement, Offer, Supplier

bp = Blueprint("agreements", __name__, url_prefix="/agreements")


@bp.route("/")
@roles_required(*STAFF_ROLES)
def list_agreements():
    status = request.args.get("status", "")
    chosen = AgreementStatus(status) if status in set(AgreementStatus) else None
    q = search_arg()
    page = paginate(agreements.agreements_query(chosen, q))
    return render_template(
        "relocation/agreement_list.html",
        page=page,
        bought=agreements.units_bought(page.items),
        status=chosen,
        statuses=list(AgreementStatus),
        q=q,
    )


@bp.route("/export.csv")
@roles_required(*STAFF_ROLES)
def agreements_csv():
    status = request.args.get("status", "")
    chosen = AgreementStatus(status) if status in set(AgreementStatus) else None
    rows = db.session.scalars(agreements.agreements_query(chosen, search_arg())).all()
    return csv_download("accords-cadres.csv", agreements.agreement_rows(rows))


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def create_agreement():
    form = AgreementForm(suppliers=active_suppliers())
    if request.method == "GET":
        _prefill(form)
    if form.validate_on_submit():
        submissions.claim(form)
        with refusal_shown(form) as outcome:
            agreement = agreements.create_agreement(_terms(form), at=clock.now(), by=current_user)
        if outcome.ok:
            result = url("agreements.show_agreement", agreement_id=agreement.id)
            submissions.commit(form, result)
            flash(
                _(
                    "Accord-cadre %(code)s préparé : relisez-le, puis faites-le entrer en vigueur.",
                    code=agreement.code,
                ),
                "success",
            )
            return redirect(result)
    return render_template("relocation/agreement_form.html", form=form, agreement=None)


def _prefill(form: AgreementForm) -> None:
    """From an offer's page: its supplier and part already chosen."""
    offer_id = id_arg("offer")
    offer = db.session.get(Offer, offer_id) if offer_id else None
    if offer is not None:
        form.supplier_id.data = offer.supplier_id
        form.part.data = f"{offer.part.name} ({offer.part.sku})"


def _terms(form: AgreementForm) -> agreements.AgreementTerms:
    supplier = db.session.get(Supplier, form.supplier_id.data)
    offer = agreements.offer_for(supplier, find_part(form.part.data))
    return agreements.AgreementTerms(
        offer=offer,
        committed_qty=form.committed_qty.data,
        shortfall_fee=form.shortfall_fee.data,
        valid_from=form.valid_from.data,
        valid_to=form.valid_to.data,
        campaigns_planned=form.campaigns_planned.data,
        notes=form.notes.data,
    )


@bp.route("/<int:agreement_id>")
@roles_required(*STAFF_ROLES)
def show_agreement(agreement_id: int):
    agreement = _agreement(agreement_id)
    return render_template(
        "relocation/agreement_detail.html",
        agreement=agreement,
        progress=agreements.progress(agreement),
        activity=activity.timeline("agreement", agreement.id),
    )


@bp.route("/<int:agreement_id>/edit", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def edit_agreement(agreement_id: int):
    agreement = _agreement(agreement_id)
    back = url("agreements.show_agreement", agreement_id=agreement.id)
    form = AgreementForm(obj=agreement, suppliers=active_suppliers())
    if request.method == "GET":
        form.supplier_id.data = agreement.offer.supplier_id
        form.part.data = f"{agreement.offer.part.name} ({agreement.offer.part.sku})"
    if form.validate_on_submit():
        with refusal_shown(form) as outcome:
            agreements.update_agreement(agreement, _terms(form), by=current_user)
        if outcome.ok:
            db.session.commit()
            flash(_("Accord-cadre %(code)s enregistré.", code=agreement.code), "success")
            return redirect(back)
    return render_template("relocation/agreement_form.html", form=form, agreement=agreement)


@bp.route("/<int:agreement_id>/activate", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def activate_agreement(agreement_id: int):
    agreement = _agreement(agreement_id)
    back = url("agreements.show_agreement", agreement_id=agreement.id)
    form = ConfirmForm()
    if form.validate_on_submit():
        with refusal_shown() as outcome:
            agreements.activate(agreement, today=clock.today(), by=current_user)
        if outcome.ok:
            db.session.commit()
            flash(_("L'accord-cadre %(code)s est en vigueur.", code=agreement.code), "success")
        return redirect(back)
    return render_template(
        "confirm.html",
        form=form,
        title=_("Faire entrer en vigueur l'accord %(code)s ?", code=agreement.code),
        message=_(
            "La coopérative s'engage à acheter %(qty)d unités de %(sku)s à %(supplier)s entre "
            "le %(start)s et le %(end)s, ou à payer la pénalité sur chaque unité manquante. "
            "Ses termes ne changeront plus.",
            qty=agreement.committed_qty,
            sku=agreement.offer.part.sku,
            supplier=agreement.offer.supplier.name,
            start=i18n.day(agreement.valid_from),
            end=i18n.day(agreement.valid_to),
        ),
        confirm_label=_("Entrer en vigueur"),
        cancel_url=back,
    )


@bp.route("/<int:agreement_id>/end", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def end_agreement(agreement_id: int):
    agreement = _agreement(agreement_id)
    back = url("agreements.show_agreement", agreement_id=agreement.id)
    form = ConfirmForm()
    if form.validate_on_submit():
        with refusal_shown() as outcome:
            agreements.end(agreement, by=current_user)
        if outcome.ok:
            db.session.commit()
            flash(_("L'accord-cadre %(code)s est terminé.", code=agreement.code), "success")
        return redirect(back)
    return render_template(
        "confirm.html",
        form=form,
        title=_("Terminer l'accord %(code)s ?", code=agreement.code),
        message=_(
            "La mutualisation ne tiendra plus compte de cet engagement. Un accord terminé "
            "ne reprend pas : il faudrait en préparer un autre."
        ),
        confirm_label=_("Terminer l'accord"),
        cancel_url=back,
    )


def _agreement(agreement_id: int) -> FrameworkAgreement:
    agreement = agreements.get_agreement(agreement_id)
    if agreement is None:
        abort(404)
    return agreement
