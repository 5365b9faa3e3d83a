"""Calls to manufacturers, the manager's pages: prepare, invite, publish, compare, accept, close.
The treasurer and the admin read them."""

from flask import Blueprint, abort, flash, redirect, render_template, request
from flask import url_for as url
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from coop import clock, i18n, submissions
from coop.accounts.access import roles_required
from coop.accounts.forms import ConfirmForm
from coop.accounts.models import PURCHASING_ROLES, STAFF_ROLES
from coop.activity import reading as activity
from coop.extensions import db
from coop.negotiation.forms import MessageForm
from coop.negotiation.links import LinkState
from coop.pages import csv_download, file_download, paginate, refusal_shown, search_arg
from coop.relocation import accepting, calls, comparison, files, forecast
from coop.relocation.forms import AcceptForm, CallEditForm, CallForm, FileForm, MakerForm
from coop.relocation.links import link_url, state_of
from coop.relocation.models import (
    CallAnswer,
    CallFile,
    CallInvitation,
    CallStatus,
    ManufacturerCall,
)
from coop.suppliers.catalogue import CATEGORIES, find_part

bp = Blueprint("calls", __name__, url_prefix="/calls")


@bp.app_template_global()
def maker_progress_label(progress: calls.MakerProgress) -> str:
    return _(calls.MAKER_PROGRESS_LABELS[progress])


@bp.app_template_global()
def category_label(category: str | None) -> str:
    return str(CATEGORIES.get(category, category or ""))


@bp.route("/")
@roles_required(*STAFF_ROLES)
def list_calls():
    status = request.args.get("status", "")
    chosen = CallStatus(status) if status in set(CallStatus) else None
    q = search_arg()
    page = paginate(calls.calls_query(chosen, q))
    return render_template(
        "relocation/call_list.html", page=page, status=chosen, statuses=list(CallStatus), q=q
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def create_call():
    form = CallForm()
    if request.method == "GET":
        with refusal_shown(form):
            _prefill(form)
    if form.validate_on_submit():
        submissions.claim(form)
        with refusal_shown(form) as outcome:
            call = calls.create_call(_terms(form), at=clock.now(), by=current_user)
        if outcome.ok:
            result = url("calls.show_call", call_id=call.id)
            submissions.commit(form, result)
            flash(
                _(
                    "Appel %(code)s préparé : ajoutez ses plans et les fabricants à inviter, "
                    "puis publiez-le.",
                    code=call.code,
                ),
                "success",
            )
            return redirect(result)
    return render_template("relocation/call_form.html", form=form, call=None, today=clock.today())


def _prefill(form: CallForm) -> None:
    """The call's figures from the pooled demand, for the part or family in the query string
    (?part=SKU, ?category=chaines): the board's links land here."""
    today = clock.today()
    form.deadline_on.data = today + calls.DEFAULT_ANSWER_DAYS
    form.duration_months.data = calls.DEFAULT_DURATION_MONTHS
    form.delivery_rhythm.data = forecast.delivery_rhythm(forecast.campaigns_of_year(today))
    category = request.args.get("category", "")
    if request.args.get("part"):
        part = find_part(request.args["part"])
        form.part.data = f"{part.name} ({part.sku})"
        form.title.data = _("Fabrication locale : %(name)s", name=part.name)
        form.annual_volume.data = forecast.yearly_demand(today, part=part) or None
        form.target_price.data = forecast.target_price_for(part, today)
    elif category in CATEGORIES:
        form.category.data = category
        form.title.data = _("Fabrication locale : %(family)s", family=CATEGORIES[category])
        form.annual_volume.data = forecast.yearly_demand(today, category=category) or None


def _terms(form: CallForm) -> calls.CallTerms:
    part = find_part(form.part.data) if form.part.data else None
    return calls.CallTerms(
        title=form.title.data,
        part=part,
        category=form.category.data or None,
        specification=form.specification.data,
        annual_volume=form.annual_volume.data,
        target_price=form.target_price.data,
        delivery_rhythm=form.delivery_rhythm.data,
        duration_months=form.duration_months.data,
        deadline_on=form.deadline_on.data,
    )


@bp.route("/<int:call_id>")
@roles_required(*STAFF_ROLES)
def show_call(call_id: int):
    call = _call(call_id)
    return _call_page(call)


def _call_page(call, *, maker_form=None, file_form=None, status=200):
    at = clock.now()
    return render_template(
        "relocation/call_detail.html",
        call=call,
        progress={i.id: calls.maker_progress(i, at) for i in call.invitations},
        comparison=comparison.compare_answers(call, clock.today()),
        accepted={a.answer_id: a for a in call.acceptances},
        activity=activity.timeline("manufacturer_call", call.id),
        maker_form=maker_form or MakerForm(formdata=None),
        file_form=file_form or FileForm(formdata=None),
        form=ConfirmForm(),
    ), status


@bp.route("/<int:call_id>/answers.csv")
@roles_required(*STAFF_ROLES)
def answers_csv(call_id: int):
    call = _call(call_id)
    compared = comparison.compare_answers(call, clock.today())
    return csv_download(f"{call.code}-reponses.csv", comparison.comparison_rows(compared))


@bp.route("/<int:call_id>/edit", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def edit_call(call_id: int):
    call = _call(call_id)
    back = url("calls.show_call", call_id=call.id)
    draft = call.status is CallStatus.DRAFT
    form = (CallForm if draft else CallEditForm)(obj=call)
    if request.method == "GET" and draft and call.part is not None:
        form.part.data = f"{call.part.name} ({call.part.sku})"
    if form.validate_on_submit():
        with refusal_shown(form) as outcome:
            terms = _terms(form) if draft else _published_terms(form, call)
            calls.update_call(call, terms, at=clock.now())
        if outcome.ok:
            db.session.commit()
            flash(_("Appel %(code)s enregistré.", code=call.code), "success")
            return redirect(back)
    return render_template("relocation/call_form.html", form=form, call=call, today=None)


def _published_terms(form: CallEditForm, call: ManufacturerCall) -> calls.CallTerms:
    return calls.CallTerms(
        title=form.title.data,
        part=call.part,
        category=call.category,
        specification=call.specification,
        annual_volume=call.annual_volume,
        target_price=call.target_price,
        delivery_rhythm=call.delivery_rhythm,
        duration_months=call.duration_months,
        deadline_on=form.deadline_on.data,
    )


# --- files ------------------------------------------------------------------------------------


@bp.route("/<int:call_id>/files", methods=["POST"])
@roles_required(*PURCHASING_ROLES)
def add_file(call_id: int):
    call = _call(call_id)
    form = FileForm()
    if form.validate_on_submit():
        upload = form.file.data
        with refusal_shown(form) as outcome:
            attached = files.add_file(call, upload.filename or "", upload.read())
        if outcome.ok:
            db.session.commit()
            flash(_("Fichier « %(name)s » ajouté.", name=attached.filename), "success")
            return redirect(url("calls.show_call", call_id=call.id))
    return _call_page(call, file_form=form, status=422)


@bp.route("/<int:call_id>/files/<int:file_id>")
@roles_required(*STAFF_ROLES)
def download_file(call_id: int, file_id: int):
    attached = _file(_call(call_id), file_id)
    return file_download(attached.filename, attached.content, attached.content_type)


@bp.route("/<int:call_id>/files/<int:file_id>/delete", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def remove_file(call_id: int, file_id: int):
    call = _call(call_id)
    attached = _file(call, file_id)
    back = url("calls.show_call", call_id=call.id)
    form = ConfirmForm()
    if form.validate_on_submit():
        with refusal_shown() as outcome:
            files.remove_file(call, attached)
        if outcome.ok:
            db.session.commit()
            flash(_("Fichier « %(name)s » retiré.", name=attached.filename), "success")
        return redirect(back)
    return render_template(
        "confirm.html",
        form=form,
        title=_("Retirer le fichier « %(name)s » ?", name=attached.filename),
        message=_("Les fabricants ne le verront plus sur leur page."),
        confirm_label=_("Retirer le fichier"),
        cancel_url=back,
    )


# --- makers -----------------------------------------------------------------------------------


@bp.route("/<int:call_id>/makers", methods=["POST"])
@roles_required(*PURCHASING_ROLES)
def invite_maker(call_id: int):
    call = _call(call_id)
    form = MakerForm()
    if form.validate_on_submit():
        submissions.claim(form)
        maker = calls.Maker(form.name.data, form.email.data, form.siret.data)
        with refusal_shown(form) as outcome:
            invitation = calls.invite_maker(call, maker, at=clock.now(), by=current_user)
        if outcome.ok:
            result = url("calls.show_call", call_id=call.id)
            submissions.commit(form, result)
            if invitation.sent_at is not None:
                message = _("%(name)s invité : son lien lui est envoyé.", name=invitation.name)
            else:
                message = _(
                    "%(name)s invité : il recevra son lien à la publication.", name=invitation.name
                )
            flash(message, "success")
            return redirect(result)
    return _call_page(call, maker_form=form, status=422)


@bp.route("/<int:call_id>/makers/<int:maker_id>")
@roles_required(*STAFF_ROLES)
def thread(call_id: int, maker_id: int):
    call = _call(call_id)
    return _thread_page(call, _maker(call, maker_id), MessageForm(formdata=None))


def _thread_page(call, invitation, message_form, status=200):
    at = clock.now()
    state = state_of(invitation, at)
    return render_template(
        "relocation/call_thread.html",
        call=call,
        invitation=invitation,
        state=state,
        link=link_url(invitation) if state is LinkState.OPEN else None,
        progress=calls.maker_progress(invitation, at),
        message_form=message_form,
        form=ConfirmForm(),
    ), status


@bp.route("/<int:call_id>/makers/<int:maker_id>/message", methods=["POST"])
@roles_required(*PURCHASING_ROLES)
def post_message(call_id: int, maker_id: int):
    call = _call(call_id)
    invitation = _maker(call, maker_id)
    form = MessageForm()
    if form.validate_on_submit():
        submissions.claim(form)
        with refusal_shown(form) as outcome:
            calls.post_message(invitation, form.body.data, at=clock.now(), by=current_user)
        if outcome.ok:
            result = url("calls.thread", call_id=call.id, maker_id=invitation.id)
            submissions.commit(form, result)
            flash(_("Message envoyé à %(name)s.", name=invitation.name), "success")
            return redirect(result)
    return _thread_page(call, invitation, form, status=422)


@bp.route("/<int:call_id>/makers/<int:maker_id>/remove", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def remove_maker(call_id: int, maker_id: int):
    call = _call(call_id)
    invitation = _maker(call, maker_id)
    back = url("calls.show_call", call_id=call.id)
    form = ConfirmForm()
    if form.validate_on_submit():
        with refusal_shown() as outcome:
            calls.remove_maker(call, invitation)
        if outcome.ok:
            db.session.commit()
            flash(_("%(name)s n'est plus invité.", name=invitation.name), "success")
        return redirect(back)
    return render_template(
        "confirm.html",
        form=form,
        title=_("Ne plus inviter %(name)s ?", name=invitation.name),
        message=_("L'appel n'est pas encore publié : ce fabricant ne recevra rien."),
        confirm_label=_("Retirer le fabricant"),
        cancel_url=back,
    )


@bp.route("/<int:call_id>/makers/<int:maker_id>/revoke", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def revoke_link(call_id: int, maker_id: int):
    call = _call(call_id)
    invitation = _maker(call, maker_id)
    back = url("calls.thread", call_id=call.id, maker_id=invitation.id)
    form = ConfirmForm()
    if form.validate_on_submit():
        with refusal_shown() as outcome:
            calls.revoke_link(invitation, at=clock.now(), by=current_user)
        if outcome.ok:
            db.session.commit()
            flash(
                _("Le lien %(of_maker)s ne fonctionne plus.", of_maker=i18n.de(invitation.name)),
                "success",
            )
        return redirect(back)
    return render_template(
        "confirm.html",
        form=form,
        title=_("Révoquer le lien %(of_maker)s ?", of_maker=i18n.de(invitation.name)),
        message=_(
            "Le lien envoyé cesse de fonctionner immédiatement. Ses réponses déjà "
            "transmises restent ; vous pourrez lui envoyer un nouveau lien."
        ),
        confirm_label=_("Révoquer le lien"),
        cancel_url=back,
    )


@bp.route("/<int:call_id>/makers/<int:maker_id>/renew", methods=["POST"])
@roles_required(*PURCHASING_ROLES)
def renew_link(call_id: int, maker_id: int):
    call = _call(call_id)
    invitation = _maker(call, maker_id)
    back = url("calls.thread", call_id=call.id, maker_id=invitation.id)
    form = ConfirmForm()
    if form.validate_on_submit():
        # Sent twice, the link would be renewed twice: two e-mails, the first link dead.
        submissions.claim(form)
        with refusal_shown() as outcome:
            calls.renew_link(invitation, at=clock.now(), by=current_user)
        if outcome.ok:
            submissions.commit(form, back)
            flash(
                _(
                    "Nouveau lien envoyé à %(name)s ; l'ancien ne fonctionne plus.",
                    name=invitation.name,
                ),
                "success",
            )
    return redirect(back)


# --- publishing, accepting, closing -----------------------------------------------------------


@bp.route("/<int:call_id>/publish", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def publish_call(call_id: int):
    call = _call(call_id)
    back = url("calls.show_call", call_id=call.id)
    form = ConfirmForm()
    if form.validate_on_submit():
        with refusal_shown() as outcome:
            sent = calls.publish_call(call, at=clock.now(), by=current_user)
        if outcome.ok:
            db.session.commit()
            flash(
                ngettext(
                    "Appel %(code)s publié : %(num)d fabricant a reçu son lien.",
                    "Appel %(code)s publié : %(num)d fabricants ont reçu leur lien.",
                    len(sent),
                    code=call.code,
                ),
                "success",
            )
        return redirect(back)
    return render_template(
        "confirm.html",
        form=form,
        title=_("Publier l'appel %(code)s ?", code=call.code),
        message=_(
            "Chaque fabricant invité reçoit un e-mail avec son lien privé, valable jusqu'au "
            "%(day)s. Le cahier des charges, le volume et le prix cible ne pourront plus changer.",
            day=i18n.day(call.deadline_on),
        ),
        confirm_label=_("Publier"),
        cancel_url=back,
    )


@bp.route("/<int:call_id>/close", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def close_call(call_id: int):
    call = _call(call_id)
    back = url("calls.show_call", call_id=call.id)
    form = ConfirmForm()
    if form.validate_on_submit():
        with refusal_shown() as outcome:
            calls.close_call(call, at=clock.now(), by=current_user)
        if outcome.ok:
            db.session.commit()
            flash(_("Appel %(code)s clos.", code=call.code), "success")
        return redirect(back)
    return render_template(
        "confirm.html",
        form=form,
        title=_("Clore l'appel %(code)s ?", code=call.code),
        message=_(
            "Les liens des fabricants cessent de fonctionner ; les réponses reçues restent, "
            "et vous pourrez encore en retenir une. Un appel clos ne se rouvre pas."
        ),
        confirm_label=_("Clore l'appel"),
        cancel_url=back,
    )


@bp.route("/<int:call_id>/answers/<int:answer_id>/accept", methods=["GET", "POST"])
@roles_required(*PURCHASING_ROLES)
def accept_answer(call_id: int, answer_id: int):
    call = _call(call_id)
    answer = _answer(call, answer_id)
    invitation = answer.invitation
    existing = accepting.matching_supplier(invitation)
    parts = calls.family_parts(call)
    form = AcceptForm(parts=parts)
    today = clock.today()
    # What accepting prepares, for the first part the form offers (the call's own part).
    draft = accepting.draft_for(call, answer, parts[0], today) if parts else None
    if request.method == "GET":
        form.part_id.data = parts[0].id if parts else None
        form.valid_from.data = today
        form.supplier_code.data = None if existing else accepting.suggested_code(invitation.name)
        form.is_local.data = existing.is_local if existing else True
        form.shortfall_fee.data = draft.shortfall_fee if draft else None
    if form.validate_on_submit():
        submissions.claim(form)
        terms = accepting.AcceptTerms(
            part=next((p for p in parts if p.id == form.part_id.data), None),
            supplier_code=form.supplier_code.data,
            is_local=form.is_local.data,
            shortfall_fee=form.shortfall_fee.data,
            valid_from=form.valid_from.data,
        )
        with refusal_shown(form) as outcome:
            acceptance = accepting.accept_answer(
                call, answer, terms, at=clock.now(), by=current_user
            )
        if outcome.ok:
            result = url("agreements.show_agreement", agreement_id=acceptance.agreement_id)
            submissions.commit(form, result)
            flash(
                _(
                    "Réponse de %(maker)s retenue : fournisseur %(supplier)s, son offre sur "
                    "%(sku)s et l'accord-cadre %(code)s en brouillon. Relisez l'accord, puis "
                    "faites-le entrer en vigueur.",
                    maker=invitation.name,
                    supplier=acceptance.supplier.code,
                    sku=acceptance.part.sku,
                    code=acceptance.agreement.code,
                ),
                "success",
            )
            return redirect(result)
    return render_template(
        "relocation/accept_form.html",
        call=call,
        answer=answer,
        invitation=invitation,
        existing=existing,
        form=form,
        draft=draft,
        comparison=comparison.compare_answers(call, today),
    )


def _call(call_id: int) -> ManufacturerCall:
    call = calls.get_call(call_id)
    if call is None:
        abort(404)
    return call


def _maker(call: ManufacturerCall, maker_id: int) -> CallInvitation:
    invitation = next((i for i in call.invitations if i.id == maker_id), None)
    if invitation is None:
        abort(404)
    return invitation


def _file(call: ManufacturerCall, file_id: int) -> CallFile:
    attached = next((f for f in call.files if f.id == file_id), None)
    if attached is None:
        abort(404)
    return attached


def _answer(call: ManufacturerCall, answer_id: int) -> CallAnswer:
    answer = next((a for i in call.invitations for a in i.answers if a.id == answer_id), None)
    if answer is None:
        abort(404)
    return answer
