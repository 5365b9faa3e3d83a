"""Negotiation pages: the manager's RFQs, matrix and threads; the supplier's page (its link)."""

from functools import partial

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request
from flask import url_for as url
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from coop import bounds, clock, i18n, submissions
from coop.accounts.access import roles_required
from coop.accounts.forms import ConfirmForm
from coop.accounts.identity import letterhead
from coop.accounts.models import PURCHASING_ROLES, STAFF_ROLES
from coop.db import writes
from coop.errors import DomainError
from coop.extensions import db
from coop.negotiation import awarding, negotiating, quoting
from coop.negotiation import rfqs as rfq_service
from coop.negotiation.forms import (
    CounterProposalForm,
    MessageForm,
    QuoteForm,
    RfqEditForm,
    RfqForm,
    SupplierMessageForm,
    UploadForm,
    answer_data,
)
from coop.negotiation.links import LinkRefused, LinkState, link_url, open_link, state_of
from coop.negotiation.matrix import build_matrix
from coop.negotiation.models import Invitation, Rfq, RfqStatus, last_day
from coop.orders.campaigns.models import Campaign
from coop.pages import id_arg, id_list, is_id, paginate, refusal_shown, search_arg
from coop.suppliers.models import Supplier

bp = Blueprint("rfqs", __name__, url_prefix="/rfqs")


@bp.app_template_global()
def rfq_status_label(status: RfqStatus) -> str:
    return _(rfq_service.STATUS_LABELS[status])


bp.add_app_template_filter(last_day, "last_day")
bp.add_app_template_global(rfq_service.can_send, "can_send_rfq")


@bp.app_template_global()
def progress_label(progress: rfq_service.Progress) -> str:
    return _(rfq_service.PROGRESS_LABELS[progress])


# --- the manager: RFQs -----------------------------------------------------------------------


@bp.route("/suppliers/<int:supplier_id>")
@roles_required(*STAFF_ROLES)
def supplier_rfqs(supplier_id: int):
    """The RFQs a supplier was asked in: a part of its page, or a page of its own."""
    supplier = db.get_or_404(Supplier, supplier_id)
    at = clock.now()
    rows = [(i, rfq_service.progress(i, at)) for i in rfq_service.supplier_invitations(supplier)]
    partial = request.headers.get("HX-Request")
    template = "negotiation/_supplier_rfqs.html" if partial else "negotiation/supplier_rfqs.html"
    return render_template(template, supplier=supplier, rows=rows)


@bp.route("/")
@roles_required(*STAFF_ROLES)
def list_rfqs():
    status = request.args.get("status", "")
    chosen = RfqStatus(status) if status in set(RfqStatus) else None
    q = search_arg()
    page = paginate(rfq_service.rfqs_query(chosen, q))
    return render_template(
        "negotiation/rfq_list.html", page=page, status=chosen, q=q, statuses=list(RfqStatus)
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def create_rfq():
    campaign = _chosen_campaign()
    rows = rfq_service.campaign_demand(campaign) if campaign else []
    form = RfqForm()
    if request.method == "GET":
        form.deadline_on.data = clock.today() + rfq_service.DEFAULT_ANSWER_DAYS
        if campaign is not None:
            form.title.data = campaign.title
    if form.validate_on_submit():
        submissions.claim(form)
        with refusal_shown(form) as outcome:
            lines = _campaign_lines(rows) + rfq_service.parse_part_lines(form.extra_lines.data)
            rfq = rfq_service.create_rfq(
                form.title.data,
                form.deadline_on.data,
                lines,
                at=clock.now(),
                campaign=campaign,
                message=form.message.data,
                by=current_user,
            )
        if outcome.ok:
            result = url("rfqs.show_rfq", rfq_id=rfq.id)
            submissions.commit(form, result)
            flash(
                _(
                    "Demande %(number)s préparée : vérifiez les fournisseurs interrogés, "
                    "puis envoyez-la.",
                    number=rfq.number,
                ),
                "success",
            )
            return redirect(result)
    return render_template(
        "negotiation/rfq_form.html",
        form=form,
        campaign=campaign,
        rows=rows,
        campaigns=rfq_service.campaigns_to_quote(),
        posted=request.form if request.method == "POST" else None,
    )


def _chosen_campaign() -> Campaign | None:
    campaign_id = id_arg("campaign", request.values)
    return db.session.get(Campaign, campaign_id) if campaign_id else None


def _campaign_lines(rows) -> list:
    lines = []
    for row in rows:
        if not request.form.get(f"pick-{row.part.id}"):
            continue
        typed = request.form.get(f"qty-{row.part.id}", "").strip()
        if not (typed.isascii() and typed.isdigit()) or int(typed) < 1:
            raise DomainError(_("%(sku)s : indiquez une quantité d'au moins 1.", sku=row.part.sku))
        if int(typed) > bounds.MAX_QUANTITY:
            limit = bounds.shown(bounds.MAX_QUANTITY)
            raise DomainError(_("%(sku)s : au plus %(max)s unités.", sku=row.part.sku, max=limit))
        lines.append((row.part, int(typed)))
    return lines


@bp.route("/<int:rfq_id>")
@roles_required(*STAFF_ROLES)
def show_rfq(rfq_id: int):
    rfq = _rfq(rfq_id)
    at = clock.now()
    suggestions = suppliers = None
    if rfq_service.can_send(rfq):
        suggestions = rfq_service.suggest_suppliers([line.part for line in rfq.lines])
        suppliers = rfq_service.active_suppliers()
    progress = {i.id: rfq_service.progress(i, at) for i in rfq.invitations}
    chosen = {(q.rfq_line_id, i.supplier_id) for i in rfq.invitations for q in i.quotes}
    return render_template(
        "negotiation/rfq_detail.html",
        rfq=rfq,
        suggestions=suggestions,
        suppliers=suppliers,
        chosen=chosen,
        progress=progress,
        waiting=rfq_service.WAITING,
        form=ConfirmForm(),
        late=[i for i in rfq.invitations if progress[i.id] in rfq_service.WAITING],
    )


@bp.route("/<int:rfq_id>/suppliers", methods=["POST"])
@roles_required(*PURCHASING_ROLES)
def choose_suppliers(rfq_id: int):
    rfq = _rfq(rfq_id)
    if ConfirmForm().validate_on_submit():
        everywhere = set(id_list("add-all", request.form))
        chosen = {}
        for line in rfq.lines:
            picked = id_list(f"line-{line.id}", request.form)
            added = id_list(f"add-{line.id}", request.form)
            chosen[line.id] = {*picked, *added} | everywhere
        with refusal_shown() as outcome:
            rfq_service.set_suppliers(rfq, chosen)
        if outcome.ok:
            db.session.commit()
            flash(_("Fournisseurs interrogés enregistrés."), "success")
    return redirect(url("rfqs.show_rfq", rfq_id=rfq.id))


@bp.route("/<int:rfq_id>/edit", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def edit_rfq(rfq_id: int):
    rfq = _rfq(rfq_id)
    form = RfqEditForm(obj=rfq)
    if form.validate_on_submit():
        with refusal_shown(form) as outcome:
            rfq_service.update_rfq(
                rfq,
                title=form.title.data,
                deadline_on=form.deadline_on.data,
                message=form.message.data,
                at=clock.now(),
            )
        if outcome.ok:
            db.session.commit()
            flash(_("Demande %(number)s enregistrée.", number=rfq.number), "success")
            return redirect(url("rfqs.show_rfq", rfq_id=rfq.id))
    return render_template("negotiation/rfq_edit.html", form=form, rfq=rfq)


@bp.route("/<int:rfq_id>/send", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def send_rfq(rfq_id: int):
    rfq = _rfq(rfq_id)
    back = url("rfqs.show_rfq", rfq_id=rfq.id)
    form = ConfirmForm()
    if form.validate_on_submit():
        with refusal_shown() as outcome:
            invitations = rfq_service.send_rfq(rfq, at=clock.now(), by=current_user)
        if outcome.ok:
            db.session.commit()
            flash(
                ngettext(
                    "Demande %(number)s envoyée à %(num)d fournisseur.",
                    "Demande %(number)s envoyée à %(num)d fournisseurs.",
                    len(invitations),
                    number=rfq.number,
                ),
                "success",
            )
        return redirect(back)
    return render_template(
        "confirm.html",
        form=form,
        title=_("Envoyer la demande %(number)s ?", number=rfq.number),
        message=_(
            "Chaque fournisseur coché reçoit un e-mail avec son lien privé, valable "
            "jusqu'au %(day)s. Les pièces et les fournisseurs ne pourront plus changer.",
            day=i18n.day(rfq.deadline_on),
        ),
        confirm_label=_("Envoyer"),
        cancel_url=back,
    )


@bp.route("/<int:rfq_id>/close", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def close_rfq(rfq_id: int):
    rfq = _rfq(rfq_id)
    back = url("rfqs.show_rfq", rfq_id=rfq.id)
    form = ConfirmForm()
    if form.validate_on_submit():
        with refusal_shown() as outcome:
            rfq_service.close_rfq(rfq, at=clock.now())
        if outcome.ok:
            db.session.commit()
            flash(_("Demande %(number)s close.", number=rfq.number), "success")
        return redirect(back)
    return render_template(
        "confirm.html",
        form=form,
        title=_("Clore la demande %(number)s ?", number=rfq.number),
        message=_(
            "Les liens des fournisseurs cessent de fonctionner ; les lignes déjà "
            "attribuées restent dans le catalogue. Une demande close ne se rouvre pas."
        ),
        confirm_label=_("Clore la demande"),
        cancel_url=back,
    )


# --- the manager: comparing and awarding -------------------------------------------------------


@bp.route("/<int:rfq_id>/matrix")
@roles_required(*STAFF_ROLES)
def matrix(rfq_id: int):
    rfq = _rfq(rfq_id)
    return render_template(
        "negotiation/rfq_matrix.html",
        rfq=rfq,
        matrix=build_matrix(rfq, clock.today()),
        form=ConfirmForm(),
        awardable=awarding.can_award(rfq),
        histories=awarding.awarded_offers(rfq),
    )


@bp.route("/<int:rfq_id>/award", methods=["POST"])
@roles_required(*PURCHASING_ROLES)
def award(rfq_id: int):
    rfq = _rfq(rfq_id)
    back = url("rfqs.matrix", rfq_id=rfq.id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return redirect(back)
    at = clock.now()
    everything_to = id_arg("all_to", request.form)
    with refusal_shown() as outcome:
        if everything_to:
            choices = awarding.choices_for_all(rfq, _invitation(rfq, everything_to), at=at)
        else:
            choices = {
                int(name.removeprefix("award-")): int(value)
                for name, value in request.form.items()
                if name.startswith("award-") and is_id(name[6:]) and is_id(value)
            }
        if request.form.get("confirmed") != "1":
            # An award rewrites catalogue prices: the manager sees which ones first.
            changes = awarding.price_changes(rfq, choices, at=at)
            return render_template(
                "negotiation/award_confirm.html",
                rfq=rfq,
                form=form,
                changes=changes,
                choices=choices,
                cancel_url=back,
            )
        submissions.claim(form)
        awards = awarding.award_lines(rfq, choices, at=at, by=current_user)
    if outcome.ok:
        submissions.commit(form, back)
        flash(
            ngettext(
                "%(num)d ligne attribuée : les offres du catalogue sont à jour, "
                "les anciens tarifs restent dans leur historique.",
                "%(num)d lignes attribuées : les offres du catalogue sont à jour, "
                "les anciens tarifs restent dans leur historique.",
                len(awards),
            ),
            "success",
        )
    return redirect(back)


# --- the manager: one supplier's thread ------------------------------------------------------


@bp.route("/<int:rfq_id>/suppliers/<int:invitation_id>")
@roles_required(*STAFF_ROLES)
def thread(rfq_id: int, invitation_id: int):
    rfq = _rfq(rfq_id)
    invitation = _invitation(rfq, invitation_id)
    return _thread_page(rfq, invitation, MessageForm(), _counter_form(invitation))


def _thread_page(rfq, invitation, message_form, counter_form):
    at = clock.now()
    state = state_of(invitation, at)
    return render_template(
        "negotiation/thread.html",
        rfq=rfq,
        invitation=invitation,
        state=state,
        link=link_url(invitation) if state is LinkState.OPEN else None,
        progress=rfq_service.progress(invitation, at),
        message_form=message_form,
        counter_form=counter_form,
        form=ConfirmForm(),
        quotes={q.id: q for q in invitation.quotes},
    )


def _counter_form(invitation: Invitation, formdata=None) -> CounterProposalForm:
    rows = [{"quote_id": q.id} for q in invitation.quotes if q.line.award is None]
    form = CounterProposalForm(formdata=formdata, data={"lines": rows})
    if formdata is None:
        form.answer_by_on.data = clock.today() + rfq_service.DEFAULT_COUNTER_DAYS
    return form


@bp.route("/<int:rfq_id>/suppliers/<int:invitation_id>/message", methods=["POST"])
@roles_required(*PURCHASING_ROLES)
def post_message(rfq_id: int, invitation_id: int):
    rfq = _rfq(rfq_id)
    invitation = _invitation(rfq, invitation_id)
    form = MessageForm()
    if form.validate_on_submit():
        submissions.claim(form)
        with refusal_shown(form) as outcome:
            negotiating.post_message(invitation, form.body.data, at=clock.now(), by=current_user)
        if outcome.ok:
            result = url("rfqs.thread", rfq_id=rfq.id, invitation_id=invitation.id)
            submissions.commit(form, result)
            flash(_("Message envoyé à %(supplier)s.", supplier=invitation.supplier.name), "success")
            return redirect(result)
    return _thread_page(rfq, invitation, form, _counter_form(invitation))


@bp.route("/<int:rfq_id>/suppliers/<int:invitation_id>/counter", methods=["POST"])
@roles_required(*PURCHASING_ROLES)
def counter_propose(rfq_id: int, invitation_id: int):
    rfq = _rfq(rfq_id)
    invitation = _invitation(rfq, invitation_id)
    form = _counter_form(invitation, formdata=request.form)
    if form.validate_on_submit():
        submissions.claim(form)
        with refusal_shown(form) as outcome:
            negotiating.counter_propose(
                invitation,
                form.proposals(),
                answer_by_on=form.answer_by_on.data,
                at=clock.now(),
                by=current_user,
                body=form.body.data,
            )
        if outcome.ok:
            result = url("rfqs.thread", rfq_id=rfq.id, invitation_id=invitation.id)
            submissions.commit(form, result)
            flash(
                _(
                    "Contre-proposition envoyée à %(supplier)s : les lignes concernées sont "
                    "rouvertes sur son lien.",
                    supplier=invitation.supplier.name,
                ),
                "success",
            )
            return redirect(result)
    return _thread_page(rfq, invitation, MessageForm(formdata=None), form)


@bp.route("/<int:rfq_id>/suppliers/<int:invitation_id>/revoke", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def revoke_link(rfq_id: int, invitation_id: int):
    rfq = _rfq(rfq_id)
    invitation = _invitation(rfq, invitation_id)
    back = url("rfqs.thread", rfq_id=rfq.id, invitation_id=invitation.id)
    form = ConfirmForm()
    if form.validate_on_submit():
        with refusal_shown() as outcome:
            rfq_service.revoke_link(invitation, at=clock.now(), by=current_user)
        if outcome.ok:
            db.session.commit()
            flash(
                _(
                    "Le lien %(of_supplier)s ne fonctionne plus.",
                    of_supplier=i18n.de(invitation.supplier.name),
                ),
                "success",
            )
        return redirect(back)
    return render_template(
        "confirm.html",
        form=form,
        title=_(
            "Révoquer le lien %(of_supplier)s ?", of_supplier=i18n.de(invitation.supplier.name)
        ),
        message=_(
            "Le lien envoyé cesse de fonctionner immédiatement. Ses réponses déjà "
            "transmises restent ; vous pourrez lui envoyer un nouveau lien."
        ),
        confirm_label=_("Révoquer le lien"),
        cancel_url=back,
    )


@bp.route("/<int:rfq_id>/suppliers/<int:invitation_id>/renew", methods=["POST"])
@roles_required(*PURCHASING_ROLES)
def renew_link(rfq_id: int, invitation_id: int):
    rfq = _rfq(rfq_id)
    invitation = _invitation(rfq, invitation_id)
    back = url("rfqs.thread", rfq_id=rfq.id, invitation_id=invitation.id)
    form = ConfirmForm()
    if form.validate_on_submit():
        # Sent twice, the link would be renewed twice: two e-mails, the first link dead.
        submissions.claim(form)
        with refusal_shown() as outcome:
            rfq_service.renew_link(invitation, at=clock.now(), by=current_user)
        if outcome.ok:
            submissions.commit(form, back)
            flash(
                _(
                    "Nouveau lien envoyé à %(supplier)s ; l'ancien ne fonctionne plus.",
                    supplier=invitation.supplier.name,
                ),
                "success",
            )
    return redirect(back)


def _rfq(rfq_id: int) -> Rfq:
    rfq = rfq_service.get_rfq(rfq_id)
    if rfq is None:
        abort(404)
    return rfq


def _invitation(rfq: Rfq, invitation_id: int) -> Invitation:
    invitation = next((i for i in rfq.invitations if i.id == invitation_id), None)
    if invitation is None:
        abort(404)
    return invitation


# --- the supplier, through its private link ----------------------------------------------------

supplier_bp = Blueprint("supplier_quotes", __name__, url_prefix="/q")


@supplier_bp.before_request
def _follow_browser_language():
    # A supplier has no account to keep a language in: its browser's choice counts.
    g.follow_browser_language = True


@supplier_bp.after_request
def _private(response):
    # The page shows one supplier's prices: never cached, never indexed.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@supplier_bp.errorhandler(LinkRefused)
def _link_refused(refused: LinkRefused):
    db.session.rollback()
    code = 404 if refused.state is LinkState.INVALID else 410
    return render_template(
        "negotiation/link_refused.html",
        state=refused.state,
        coop_email=letterhead()["email"],
    ), code


def _lang() -> str | None:
    lang = request.args.get("lang")
    return lang if lang in i18n.LANGUAGES else None


def _here(token: str, endpoint: str = "supplier_quotes.answer") -> str:
    return url(endpoint, token=token, lang=_lang())


@supplier_bp.route("/<token>", methods=["GET", "POST"])
@writes  # the first visit is recorded
def answer(token: str):
    at = clock.now()
    invitation = open_link(token, at, lock=request.method == "POST")
    if request.method == "GET":
        quoting.record_visit(invitation, at)
        db.session.commit()
        form = _answer_form(invitation)
    else:
        form = QuoteForm()
    if form.validate_on_submit():
        submissions.claim(form)
        submit = request.form.get("action") == "submit"
        with refusal_shown(show=partial(_show_refusal, form)) as outcome:
            quoting.save_answers(
                invitation,
                form.inputs(),
                at=at,
                submit=submit,
                note=form.note.data,
                remote_addr=request.remote_addr,
            )
        if not outcome.ok and not isinstance(outcome.error, quoting.InvalidAnswers):
            # A line that is not (or no longer) open to this supplier: start again from its page.
            invitation = open_link(token, at)
            form = _answer_form(invitation)
        if outcome.ok:
            submissions.commit(form, _here(token))
            if submit:
                flash(_("Merci : votre réponse est transmise à la coopérative."), "success")
            else:
                flash(
                    _(
                        "Brouillon enregistré : la coopérative ne le voit pas tant que vous "
                        "ne l'avez pas envoyé."
                    ),
                    "success",
                )
            return redirect(_here(token))
    status = 422 if request.method == "POST" else 200
    return _supplier_page(token, invitation, form, status=status)


def _answer_form(invitation: Invitation) -> QuoteForm:
    """The supplier's form on its open lines, filled from its draft or last answer."""
    open_quotes = [q for q in invitation.quotes if q.is_answerable]
    return QuoteForm(formdata=None, data={"lines": [answer_data(q) for q in open_quotes]})


def _show_refusal(form: QuoteForm, refusal: DomainError) -> None:
    """Each refused answer next to its line's field; any other refusal at the top of the page."""
    if not isinstance(refusal, quoting.InvalidAnswers):
        flash(refusal.message, "error")
        return
    for problem in refusal.problems:
        entry = form.entry_for(problem.quote_id)
        field = getattr(entry, problem.field, None) if entry is not None else None
        if field is not None and problem.field != "tiers":
            field.errors = [*field.errors, problem.message]
        elif entry is not None:
            form.problems.setdefault(problem.quote_id, []).append(problem.message)
        else:
            flash(problem.message, "error")


def _supplier_page(token, invitation, form, *, errors=(), status=200, upload=None, message=None):
    return render_template(
        "negotiation/quote_page.html",
        token=token,
        invitation=invitation,
        rfq=invitation.rfq,
        form=form,
        upload_form=upload or UploadForm(),
        message_form=message or SupplierMessageForm(),
        errors=list(errors),
        lang=_lang(),
        proposals=negotiating.latest_proposals(invitation),
        coop=letterhead(),
        quotes={q.id: q for q in invitation.quotes},
    ), status


@supplier_bp.route("/<token>/rfq.csv")
def download_csv(token: str):
    invitation = open_link(token, clock.now())
    filename = f"{invitation.rfq.number}-{invitation.supplier.code}.csv"
    return Response(
        quoting.rfq_csv(invitation),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@supplier_bp.route("/<token>/upload", methods=["POST"])
def upload_csv(token: str):
    at = clock.now()
    invitation = open_link(token, at, lock=True)
    upload = UploadForm()
    errors = []
    if upload.validate_on_submit():
        submissions.claim(upload)
        with refusal_shown() as outcome:
            count = quoting.import_answers_csv(invitation, upload.file.data.read(), at=at)
        errors = outcome.rows
        if outcome.ok:
            submissions.commit(upload, _here(token))
            flash(
                ngettext(
                    "Fichier lu : %(num)d ligne remplie dans votre brouillon. "
                    "Vérifiez-la, puis envoyez votre réponse.",
                    "Fichier lu : %(num)d lignes remplies dans votre brouillon. "
                    "Vérifiez-les, puis envoyez votre réponse.",
                    count,
                ),
                "success",
            )
            return redirect(_here(token))
    invitation = open_link(token, at)
    status = 422 if errors else 200
    form = _answer_form(invitation)
    return _supplier_page(token, invitation, form, errors=errors, status=status, upload=upload)


@supplier_bp.route("/<token>/message", methods=["POST"])
def post_supplier_message(token: str):
    at = clock.now()
    invitation = open_link(token, at)
    message = SupplierMessageForm()
    if message.validate_on_submit():
        submissions.claim(message)
        with refusal_shown(message) as outcome:
            quoting.post_supplier_message(
                invitation, message.body.data, at=at, remote_addr=request.remote_addr
            )
        if outcome.ok:
            submissions.commit(message, _here(token))
            flash(_("Message envoyé à la coopérative."), "success")
            return redirect(_here(token))
    return _supplier_page(token, invitation, _answer_form(invitation), message=message)
