"""Issuing: preview and issue a campaign's invoices, credit an invoice.

The list and one invoice's page show what is paid: they are payments' (receivable_views).
"""

from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request
from flask import url_for as url
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from coop import submissions
from coop.accounting.imputation import credit_note_imputation
from coop.accounts.access import roles_required
from coop.accounts.forms import ConfirmForm
from coop.accounts.models import STAFF_ROLES, TREASURY_ROLES
from coop.clock import now, to_local
from coop.errors import DomainError, NotFound
from coop.extensions import db
from coop.i18n import money
from coop.invoicing import crediting, issuing
from coop.invoicing.documents import render_pending_documents
from coop.invoicing.forms import CreditForm
from coop.jobs import run_in_background
from coop.orders.campaigns.models import Campaign
from coop.pages import refusal_shown

bp = Blueprint("invoicing", __name__)

# How long issuing a credit note waits for its PDF before showing "PDF en préparation".
PDF_WAIT_SECONDS = 2.0

# Above this many shops the batch runs in the background, with a progress page.
INLINE_BATCH = 20


@bp.route("/campaigns/<int:campaign_id>/invoices/preview")
@roles_required(*STAFF_ROLES)
def preview(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    drafts, problem = [], None
    try:
        drafts = issuing.preview_invoices(campaign, on=to_local(now()).date())
    except DomainError as error:
        problem = error.message
    done = issuing.invoiced_member_ids(campaign)
    return render_template(
        "invoicing/invoice_preview.html",
        campaign=campaign,
        drafts=drafts,
        problem=problem,
        done=done,
        pending=[d for d in drafts if d.member.id not in done],
        grand_total=sum((d.total_incl_vat for d in drafts), issuing.ZERO),
        can_issue=current_user.has_role(*TREASURY_ROLES),
    )


@bp.route("/campaigns/<int:campaign_id>/invoices/issue", methods=["GET", "POST"])
@roles_required(*TREASURY_ROLES)
def issue(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    back = url("invoicing.preview", campaign_id=campaign.id)
    result = url("receivables.list_invoices", campaign=campaign.id)
    form = ConfirmForm()
    confirmed = form.validate_on_submit()
    if confirmed:
        # Before the drafts: sent again once issued, the form would find none left. Issuing
        # commits once per invoice, the token with the first: its result is known now.
        submissions.claim(form, result)
    with refusal_shown() as outcome:
        pending = issuing.pending_drafts(campaign, on=to_local(now()).date())
    if not outcome.ok:
        return redirect(back)
    if confirmed:
        at = now()
        if len(pending) > INLINE_BATCH:
            progress = url("invoicing.progress", campaign_id=campaign.id)
            submissions.commit(form, progress)
            run_in_background(issuing.issue_job, campaign.id, current_user.id, at)
            return redirect(progress)
        with refusal_shown() as outcome:
            issued = issuing.issue_invoices(campaign, by=current_user, at=at)
        if not outcome.ok:
            return redirect(back)
        submissions.commit(form, result)
        run_in_background(render_pending_documents)
        flash(
            ngettext("%(num)d facture émise.", "%(num)d factures émises.", len(issued)), "success"
        )
        return redirect(result)
    return render_template(
        "confirm.html",
        form=form,
        cancel_url=back,
        title=ngettext(
            "Émettre la facture de la campagne %(code)s ?",
            "Émettre les %(num)d factures de la campagne %(code)s ?",
            len(pending),
            code=campaign.code,
        ),
        message=_(
            "Une facture émise ne se modifie plus et ne se supprime pas : une erreur se "
            "corrige par un avoir. Total TTC : %(total)s.",
            total=money(sum((d.total_incl_vat for d in pending), issuing.ZERO)),
        ),
        confirm_label=_("Confirmer et émettre"),
        cancel_label=_("Revenir à l'aperçu"),
    )


@bp.route("/campaigns/<int:campaign_id>/invoices/progress")
@roles_required(*STAFF_ROLES)
def progress(campaign_id: int):
    campaign = db.get_or_404(Campaign, campaign_id)
    done, total = issuing.issuing_progress(campaign)
    template = (
        "invoicing/_progress.html"
        if request.headers.get("HX-Request")
        else ("invoicing/invoice_progress.html")
    )
    return render_template(template, campaign=campaign, done=done, total=total)


@bp.route("/invoices/<number>/credit", methods=["GET", "POST"])
@roles_required(*TREASURY_ROLES)
def credit(number: str):
    try:
        invoice = issuing.find_invoice(number)
    except NotFound:
        abort(404)
    back = url("receivables.show_invoice", number=invoice.number)
    form = CreditForm()
    remaining = crediting.remaining_quantities(invoice)
    chosen = {line.id: request.form.get(f"qty-{line.id}", "") for line in invoice.lines}
    if form.validate_on_submit():
        submissions.claim(form)
        with refusal_shown(form, default_field="mode") as outcome:
            note = crediting.credit_invoice(
                invoice,
                reason=form.reason.data,
                by=current_user,
                at=now(),
                lines=chosen if form.mode.data == "lines" else None,
                amount=(form.amount.data or Decimal(0)) if form.mode.data == "amount" else None,
                imputation=credit_note_imputation,
            )
        if outcome.ok:
            submissions.commit(form, url("receivables.show_invoice", number=note.number))
            thread = run_in_background(render_pending_documents)
            if thread is not None:
                # Most often the PDF is ready within a moment: the next page then links it.
                thread.join(PDF_WAIT_SECONDS)
            flash(_("Avoir %(number)s émis.", number=note.number), "success")
            return redirect(url("receivables.show_invoice", number=note.number))
    return render_template(
        "invoicing/credit_note_form.html",
        form=form,
        invoice=invoice,
        remaining=remaining,
        chosen=chosen,
        left=crediting.remaining_creditable(invoice),
        cancel_url=back,
    )
