"""The invoices' pages: preview and issue a campaign's invoices, the list, one invoice."""

from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request
from flask import url_for as url
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from coop import submissions
from coop.accounts.access import ensure_can_access, roles_required
from coop.accounts.forms import ConfirmForm
from coop.accounts.models import STAFF_ROLES, TREASURY_ROLES
from coop.activity import reading as activity
from coop.clock import now, to_local, today
from coop.errors import DomainError, NotFound
from coop.extensions import db
from coop.i18n import money
from coop.invoicing import crediting, issuing
from coop.invoicing.documents import render_pending_documents
from coop.invoicing.forms import CreditForm
from coop.invoicing.models import InvoiceKind
from coop.jobs import run_in_background
from coop.orders.models import Campaign
from coop.pages import id_arg, paginate
from coop.payments import ledger
from coop.payments.models import METHOD_LABELS

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
    result = url("invoicing.list_invoices", campaign=campaign.id)
    form = ConfirmForm()
    confirmed = form.validate_on_submit()
    if confirmed:
        # Before the drafts: sent again once issued, the form would find none left. Issuing
        # commits once per invoice, the token with the first: its result is known now.
        submissions.claim(form, result)
    try:
        pending = issuing.pending_drafts(campaign, on=to_local(now()).date())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(back)
    if confirmed:
        at = now()
        if len(pending) > INLINE_BATCH:
            progress = url("invoicing.progress", campaign_id=campaign.id)
            submissions.commit(form, progress)
            run_in_background(issuing.issue_job, campaign.id, current_user.id, at)
            return redirect(progress)
        try:
            issued = issuing.issue_invoices(campaign, by=current_user, at=at)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
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


@bp.route("/invoices")
@login_required
def list_invoices():
    filters = issuing.InvoiceFilters(
        campaign_id=id_arg("campaign"),
        member_id=id_arg("shop") if current_user.is_staff else None,
        status=status if (status := request.args.get("status")) in issuing.STATUSES else "issued",
        number=(request.args.get("q") or "").strip()[:35],
    )
    member = None if current_user.is_staff else current_user.member
    query = issuing.invoices_query(filters, on=today(), member=member)
    page = paginate(query)
    return render_template(
        "invoicing/invoice_list.html",
        page=page,
        filters=filters,
        statuses=issuing.STATUSES,
        balances=ledger.balances([i for i in page.items if i.kind is InvoiceKind.INVOICE]),
        totals=issuing.invoices_totals(query, on=today()),
        today=today(),
        campaigns=issuing.invoiced_campaigns(),
        members=issuing.invoiced_members() if current_user.is_staff else [],
    )


@bp.route("/invoices/<number>")
@login_required
def show_invoice(number: str):
    try:
        invoice = issuing.find_invoice(number)
    except NotFound:
        abort(404)
    ensure_can_access(invoice.member)
    is_invoice = invoice.kind is InvoiceKind.INVOICE
    credit_notes = crediting.credit_notes_of(invoice)
    payments = ledger.payments_of(invoice) if is_invoice else []
    pending = ledger.pending_payments(invoice) if is_invoice else []
    # Its history: the invoice's entries, its credit notes' and its payments'.
    related = [("invoice", note.id) for note in credit_notes] + [
        ("payment", payment.id) for payment in [p for p, _ in payments] + pending
    ]
    return render_template(
        "invoicing/invoice_detail.html",
        invoice=invoice,
        s=invoice.snapshot,
        credit_notes=credit_notes,
        remaining=crediting.remaining_creditable(invoice),
        can_credit=current_user.has_role(*TREASURY_ROLES),
        balance=ledger.balance(invoice) if is_invoice else None,
        payments=payments,
        pending=pending,
        method_labels=METHOD_LABELS,
        today=today(),
        activity=activity.timeline(
            "invoice", invoice.id, activity.shop_scope(current_user), also=related
        ),
    )


@bp.route("/invoices/<number>/credit", methods=["GET", "POST"])
@roles_required(*TREASURY_ROLES)
def credit(number: str):
    try:
        invoice = issuing.find_invoice(number)
    except NotFound:
        abort(404)
    back = url("invoicing.show_invoice", number=invoice.number)
    form = CreditForm()
    remaining = crediting.remaining_quantities(invoice)
    chosen = {line.id: request.form.get(f"qty-{line.id}", "") for line in invoice.lines}
    if form.validate_on_submit():
        submissions.claim(form)
        try:
            note = crediting.credit_invoice(
                invoice,
                reason=form.reason.data,
                by=current_user,
                at=now(),
                lines=chosen if form.mode.data == "lines" else None,
                amount=(form.amount.data or Decimal(0)) if form.mode.data == "amount" else None,
            )
            submissions.commit(form, url("invoicing.show_invoice", number=note.number))
        except DomainError as error:
            db.session.rollback()
            getattr(form, error.field or "mode").errors = [error.message]
        else:
            thread = run_in_background(render_pending_documents)
            if thread is not None:
                # Most often the PDF is ready within a moment: the next page then links it.
                thread.join(PDF_WAIT_SECONDS)
            flash(_("Avoir %(number)s émis.", number=note.number), "success")
            return redirect(url("invoicing.show_invoice", number=note.number))
    return render_template(
        "invoicing/credit_note_form.html",
        form=form,
        invoice=invoice,
        remaining=remaining,
        chosen=chosen,
        left=crediting.remaining_creditable(invoice),
        cancel_url=back,
    )
