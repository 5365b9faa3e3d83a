"""Invitations to open an account, and forgotten passwords: the e-mailed single-use links."""

from flask import Blueprint, abort, flash, redirect, render_template, session
from flask import url_for as url
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user

from coop import submissions
from coop.accounts import invitations as invitation_service
from coop.accounts import password_resets
from coop.accounts.access import ensure_can_access, roles_required
from coop.accounts.forms import (
    AcceptInvitationForm,
    ConfirmForm,
    ForgotPasswordForm,
    InviteForm,
    ResetPasswordForm,
    StaffInviteForm,
)
from coop.accounts.models import DIRECTORY_ROLES, AccountToken, Member, Role, TokenPurpose
from coop.accounts.panels import accounts_panel
from coop.accounts.tokens import LinkRefused, LinkState, open_token
from coop.extensions import db
from coop.jobs import run_in_background
from coop.pages import refusal_shown

bp = Blueprint("invitations", __name__)


@bp.errorhandler(LinkRefused)
def _link_refused(refused: LinkRefused):
    db.session.rollback()
    status = 404 if refused.state is LinkState.UNKNOWN else 410
    return render_template("accounts/link_refused.html", state=refused.state), status


# --- the coop or a shop invites ----------------------------------------------------------


def _shop_page(member: Member) -> str:
    if current_user.member_id == member.id:
        return url("shop.my_shop")
    return url("members.show_member", member_id=member.id)


@bp.route("/members/<int:member_id>/invite", methods=["POST"])
@login_required
def invite(member_id: int):
    member = db.get_or_404(Member, member_id)
    ensure_can_access(member)
    if not invitation_service.may_invite_to(current_user, member):
        abort(403)
    form = InviteForm()
    back = _shop_page(member)
    if form.validate_on_submit():
        submissions.claim(form)
        with refusal_shown(form) as outcome:
            invitation = invitation_service.invite(
                form.email.data, actor=current_user, member=member
            )
        if outcome.ok:
            submissions.commit(form, back)
            flash(_("Invitation envoyée à %(email)s.", email=invitation.email), "success")
            return redirect(back)
    return render_template(
        "accounts/member_detail.html",
        member=member,
        form=ConfirmForm(),
        **accounts_panel(member, form),
    ), 422


def _invitation(invitation_id: int) -> AccountToken:
    invitation = db.get_or_404(AccountToken, invitation_id)
    if invitation.purpose is not TokenPurpose.INVITE:
        abort(404)
    return invitation


def _back_from(invitation: AccountToken) -> str:
    if invitation.member is None:
        return url("users.list_users")
    return _shop_page(invitation.member)


@bp.route("/invitations/<int:invitation_id>/resend", methods=["POST"])
@login_required
def resend(invitation_id: int):
    invitation = _invitation(invitation_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        submissions.claim(form)
        with refusal_shown() as outcome:
            renewed = invitation_service.resend(invitation, actor=current_user)
        if outcome.ok:
            submissions.commit(form, _back_from(invitation))
            message = _(
                "Nouveau lien envoyé à %(email)s ; le précédent ne fonctionne plus.",
                email=renewed.email,
            )
            flash(message, "success")
    return redirect(_back_from(invitation))


@bp.route("/invitations/<int:invitation_id>/revoke", methods=["GET", "POST"])
@login_required
def revoke(invitation_id: int):
    invitation = _invitation(invitation_id)
    if not invitation_service.may_invite_to(current_user, invitation.member, invitation.role):
        abort(403)
    form = ConfirmForm()
    back = _back_from(invitation)
    if form.validate_on_submit():
        with refusal_shown() as outcome:
            invitation_service.revoke(invitation, actor=current_user)
        if outcome.ok:
            db.session.commit()
            flash(_("Invitation de %(email)s retirée.", email=invitation.email), "success")
        return redirect(back)
    return render_template(
        "confirm.html",
        form=form,
        title=_("Retirer l'invitation de %(email)s ?", email=invitation.email),
        message=_(
            "Le lien envoyé ne fonctionnera plus. Vous pourrez inviter cette adresse à nouveau."
        ),
        confirm_label=_("Oui, retirer l'invitation"),
        cancel_url=back,
    )


@bp.route("/members/invite-all", methods=["GET", "POST"])
@roles_required(*DIRECTORY_ROLES)
def invite_all():
    form = ConfirmForm()
    if form.validate_on_submit():
        submissions.claim(form)
        sent = invitation_service.invite_all(actor=current_user)
        submissions.commit(form, url("members.list_members"))
        flash(
            ngettext("%(num)d atelier invité.", "%(num)d ateliers invités.", len(sent)),
            "success",
        )
        return redirect(url("members.list_members"))
    return render_template(
        "accounts/invite_all.html", form=form, plan=invitation_service.plan_bulk()
    )


@bp.route("/users/invite", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def invite_staff():
    form = StaffInviteForm()
    if form.validate_on_submit():
        submissions.claim(form)
        with refusal_shown(form) as outcome:
            invitation = invitation_service.invite(
                form.email.data, actor=current_user, role=form.role.data
            )
        if outcome.ok:
            submissions.commit(form, url("users.list_users"))
            flash(_("Invitation envoyée à %(email)s.", email=invitation.email), "success")
            return redirect(url("users.list_users"))
    return render_template("accounts/staff_invite_form.html", form=form)


# --- the invited person opens the account -------------------------------------------------


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept(token: str):
    invitation = open_token(TokenPurpose.INVITE, token)
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        with refusal_shown(form) as outcome:
            user = invitation_service.accept(
                token, name=form.name.data, password=form.password.data
            )
        if outcome.ok:
            db.session.commit()
            _log_in(user)
            flash(_("Bienvenue ! Votre compte est ouvert."), "success")
            return redirect(url("home.index"))
    return render_template("accounts/invitation_accept.html", form=form, invitation=invitation)


# --- forgotten password -------------------------------------------------------------------


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        # One answer, whatever the address (coop.rate_limits bounds how often one may ask).
        run_in_background(password_resets.send_reset_link, form.email.data)
        return render_template("accounts/password_forgot_sent.html")
    return render_template("accounts/password_forgot.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    open_token(TokenPurpose.RESET, token)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        with refusal_shown(form) as outcome:
            user = password_resets.reset_password(token, form.password.data)
        if outcome.ok:
            db.session.commit()
            _log_in(user)
            flash(_("Nouveau mot de passe enregistré."), "success")
            return redirect(url("home.index"))
    return render_template("accounts/password_reset.html", form=form)


def _log_in(user) -> None:
    session.clear()  # whoever was logged in on this browser is no longer
    session.permanent = True
    login_user(user)
