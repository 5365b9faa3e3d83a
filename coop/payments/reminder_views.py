"""The treasurer's reminders page: overdue invoices by shop, sending the reminders due, pauses."""

from flask import Blueprint, abort, flash, redirect, render_template
from flask import url_for as url
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from coop.accounts.access import roles_required
from coop.accounts.forms import ConfirmForm
from coop.accounts.models import TREASURY_ROLES, Member
from coop.clock import today
from coop.errors import NotFound
from coop.extensions import db
from coop.i18n import de
from coop.pages import paginate_list, refusal_shown
from coop.payments import reminders
from coop.payments.models import ReminderPause
from coop.payments.reminder_forms import PauseForm

bp = Blueprint("reminders", __name__, url_prefix="/reminders")


@bp.route("")
@roles_required(*TREASURY_ROLES)
def index():
    on = today()
    overview = reminders.overview(on)
    return render_template(
        "payments/reminders.html",
        overview=overview,
        page=paginate_list(overview.shops),
        steps=reminders.steps(),
        pauses=reminders.paused_shops(),
        form=ConfirmForm(),
        on=on,
    )


@bp.route("/send", methods=["GET", "POST"])
@roles_required(*TREASURY_ROLES)
def send():
    back = url("reminders.index")
    form = ConfirmForm()
    if form.validate_on_submit():
        sent = reminders.send_due_reminders(today())
        db.session.commit()
        flash(
            ngettext("%(num)d relance envoyée.", "%(num)d relances envoyées.", len(sent)), "success"
        )
        return redirect(back)
    due = reminders.due_reminders(today())
    ready = [r for r in due if r.to]
    if not ready:
        flash(_("Aucune relance à envoyer aujourd'hui."), "info")
        return redirect(back)
    shops = len({r.invoice.member_id for r in ready})
    message = ngettext(
        "%(num)d e-mail de relance partira vers %(shops)s, avec les mentions de "
        "retard de paiement de chaque facture.",
        "%(num)d e-mails de relance partiront vers %(shops)s, avec les mentions de "
        "retard de paiement de chaque facture.",
        len(ready),
        shops=ngettext("%(num)d atelier", "%(num)d ateliers", shops),
    )
    unreachable = sorted({r.invoice.member.name for r in due if not r.to})
    if unreachable:
        message += " " + _(
            "Sans adresse e-mail, donc non relancés : %(names)s.", names=", ".join(unreachable)
        )
    return render_template(
        "payments/reminders_send.html",
        form=form,
        ready=ready,
        message=message,
        cancel_url=back,
    )


def _shop(member_code: str) -> Member:
    try:
        return reminders.shop(member_code)
    except NotFound:
        abort(404)


@bp.route("/shops/<member_code>/pause", methods=["GET", "POST"])
@roles_required(*TREASURY_ROLES)
def pause(member_code: str):
    member = _shop(member_code)
    form = PauseForm(obj=db.session.get(ReminderPause, member.id))
    if form.validate_on_submit():
        with refusal_shown(form) as outcome:
            reminders.pause(member, note=form.note.data, by=current_user)
        if outcome.ok:
            db.session.commit()
            flash(_("Relances %(of_name)s en pause.", of_name=de(member.name)), "success")
            return redirect(url("reminders.index"))
    return render_template(
        "payments/reminders_pause.html",
        form=form,
        member=member,
        cancel_url=url("reminders.index"),
    )


@bp.route("/shops/<member_code>/resume", methods=["POST"])
@roles_required(*TREASURY_ROLES)
def resume(member_code: str):
    member = _shop(member_code)
    if ConfirmForm().validate_on_submit() and reminders.resume(member):
        db.session.commit()
        flash(_("Relances %(of_name)s reprises.", of_name=de(member.name)), "success")
    return redirect(url("reminders.index"))
