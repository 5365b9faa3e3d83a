"""The maker's page, through its private link (no account): the call, its files, the answer
form and the thread with the coop. A link opens its own invitation and nothing else."""

from flask import Blueprint, abort, flash, g, redirect, render_template, request
from flask import url_for as url
from flask_babel import gettext as _

from coop import clock, i18n, submissions
from coop.accounts.identity import letterhead
from coop.db import writes
from coop.extensions import db
from coop.negotiation.forms import SupplierMessageForm
from coop.negotiation.links import LinkRefused, LinkState
from coop.pages import file_download, refusal_shown
from coop.relocation import answering
from coop.relocation.forms import AnswerForm, answer_data
from coop.relocation.links import open_link

bp = Blueprint("maker_calls", __name__, url_prefix="/m")


@bp.before_request
def _follow_browser_language():
    # A maker has no account to keep a language in: its browser's choice counts.
    g.follow_browser_language = True


@bp.after_request
def _private(response):
    # The page shows one maker's prices: never cached, never indexed.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.errorhandler(LinkRefused)
def _link_refused(refused: LinkRefused):
    db.session.rollback()
    code = 404 if refused.state is LinkState.INVALID else 410
    return render_template(
        "negotiation/link_refused.html",
        state=refused.state,
        for_call=True,
        coop_email=letterhead()["email"],
    ), code


def _lang() -> str | None:
    lang = request.args.get("lang")
    return lang if lang in i18n.LANGUAGES else None


def _here(token: str) -> str:
    return url("maker_calls.answer", maker_token=token, lang=_lang())


@bp.route("/<maker_token>", methods=["GET", "POST"])
@writes  # the first visit is recorded
def answer(maker_token: str):
    at = clock.now()
    invitation = open_link(maker_token, at, lock=request.method == "POST")
    if request.method == "GET":
        answering.record_visit(invitation, at)
        db.session.commit()
        form = AnswerForm(formdata=None, data=answer_data(invitation.latest))
    else:
        form = AnswerForm()
    if form.validate_on_submit():
        submissions.claim(form)
        with refusal_shown(form) as outcome:
            answering.submit_answer(
                invitation, form.terms(), at=at, remote_addr=request.remote_addr
            )
        if outcome.ok:
            submissions.commit(form, _here(maker_token))
            flash(_("Merci : votre réponse est transmise à la coopérative."), "success")
            return redirect(_here(maker_token))
    status = 422 if request.method == "POST" else 200
    return _page(maker_token, invitation, form, SupplierMessageForm(formdata=None), status)


def _page(token, invitation, form, message_form, status=200):
    return render_template(
        "relocation/maker_page.html",
        token=token,
        invitation=invitation,
        call=invitation.call,
        form=form,
        message_form=message_form,
        lang=_lang(),
        coop=letterhead(),
    ), status


@bp.route("/<maker_token>/files/<int:file_id>")
def download_file(maker_token: str, file_id: int):
    invitation = open_link(maker_token, clock.now())
    attached = next((f for f in invitation.call.files if f.id == file_id), None)
    if attached is None:
        abort(404)
    return file_download(attached.filename, attached.content, attached.content_type)


@bp.route("/<maker_token>/message", methods=["POST"])
def post_message(maker_token: str):
    at = clock.now()
    invitation = open_link(maker_token, at)
    message = SupplierMessageForm()
    if message.validate_on_submit():
        submissions.claim(message)
        with refusal_shown(message) as outcome:
            answering.post_maker_message(
                invitation, message.body.data, at=at, remote_addr=request.remote_addr
            )
        if outcome.ok:
            submissions.commit(message, _here(maker_token))
            flash(_("Message envoyé à la coopérative."), "success")
            return redirect(_here(maker_token))
    form = AnswerForm(formdata=None, data=answer_data(invitation.latest))
    return _page(maker_token, invitation, form, message, status=422)
