"""Login, home pages per role, member shops and user accounts."""

from flask import Blueprint, flash, redirect, render_template, request, session
from flask import url_for as url
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from coop import clock, submissions
from coop.accounts import auth as auth_service
from coop.accounts import invitations as invitation_service
from coop.accounts import members as member_service
from coop.accounts.access import ensure_can_access, roles_required
from coop.accounts.forms import (
    ROLE_LABELS,
    ConfirmForm,
    LoginForm,
    MemberForm,
    NewUserForm,
    PasswordChangeForm,
    SetPasswordForm,
    ShopContactForm,
    UserForm,
)
from coop.accounts.models import DIRECTORY_ROLES, STAFF_ROLES, Member, Role, User
from coop.accounts.panels import accounts_panel
from coop.activity import reading as activity
from coop.extensions import db
from coop.pages import csv_download, paginate, refusal_shown, safe_next, search_arg

auth = Blueprint("auth", __name__)
shop = Blueprint("shop", __name__)
members = Blueprint("members", __name__, url_prefix="/members")
users = Blueprint("users", __name__, url_prefix="/users")


# --- login -----------------------------------------------------------------


@auth.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = auth_service.authenticate(form.email.data, form.password.data)
        except auth_service.LoginRefused as error:
            db.session.commit()  # keep the failure count
            flash(error.message, "error")
        else:
            db.session.commit()
            session.clear()
            session.permanent = True  # expires after COOP_SESSION_HOURS
            login_user(user)
            return redirect(safe_next(request.args.get("next"), url("home.index")))
    return render_template("accounts/login.html", form=form)


@auth.route("/logout", methods=["POST"])
def logout():
    form = ConfirmForm()
    if form.validate_on_submit():
        if current_user.is_authenticated:
            # A copy of this session's cookie must not outlive the logout: end them all.
            auth_service.end_sessions(current_user)
            db.session.commit()
        logout_user()
        session.clear()
        flash(_("Vous êtes déconnecté·e."), "info")
    return redirect(url("auth.login"))


@auth.route("/account/logout-everywhere", methods=["POST"])
@login_required
def logout_everywhere():
    if ConfirmForm().validate_on_submit():
        auth_service.end_sessions(current_user)
        db.session.commit()
        logout_user()
        session.clear()
        flash(_("Vous êtes déconnecté·e de tous vos appareils."), "info")
        return redirect(url("auth.login"))
    return redirect(url("auth.change_password"))


@auth.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        with refusal_shown(form) as outcome:
            auth_service.change_own_password(
                current_user, form.current_password.data, form.password.data
            )
        if outcome.ok:
            db.session.commit()
            login_user(current_user._get_current_object())  # this session goes on, not others
            flash(_("Mot de passe modifié."), "success")
            return redirect(url("home.index"))
    return render_template("accounts/password_form.html", form=form)


# --- the shop's own record ---------------------------------------------------


@shop.route("/shop")
@roles_required(Role.MEMBER)
def my_shop():
    shop = current_user.member
    return render_template(
        "accounts/member_detail.html",
        member=shop,
        activity=activity.shop_timeline(shop),
        **accounts_panel(shop),
    )


@shop.route("/shop/edit", methods=["GET", "POST"])
@roles_required(Role.MEMBER)
def edit_my_shop():
    shop = current_user.member
    form = ShopContactForm(obj=shop)
    if form.validate_on_submit():
        member_service.update_member(shop, fields=member_service.SHOP_EDITABLE_FIELDS, **form.data)
        db.session.commit()
        flash(_("Coordonnées enregistrées."), "success")
        return redirect(url("shop.my_shop"))
    return render_template("accounts/shop_form.html", form=form, member=shop)


# --- member shops (manager) -------------------------------------------------


@members.route("/")
@roles_required(*STAFF_ROLES)
def list_members():
    query = search_arg()
    status = request.args.get("status", "active")
    if status not in {"active", "inactive", "all"}:
        status = "active"
    page = paginate(member_service.search_members(query, status))
    return render_template(
        "accounts/member_list.html",
        page=page,
        q=query,
        status=status,
        account_states=invitation_service.account_states([m.id for m in page.items]),
        to_invite=len(invitation_service.plan_bulk().to_invite),
    )


MEMBER_CSV_COLUMNS = (
    "code name siret vat_number email phone address postcode city delivery_address "
    "delivery_postcode delivery_city active"
).split()


@members.route("/export.csv")
@roles_required(*STAFF_ROLES)
def members_csv():
    """The list's members, with its search and status, for a spreadsheet."""
    status = request.args.get("status", "active")
    if status not in {"active", "inactive", "all"}:
        status = "active"
    found = db.session.scalars(member_service.search_members(request.args.get("q", ""), status))
    rows = [MEMBER_CSV_COLUMNS]
    for m in found:
        rows.append(
            [
                m.code,
                m.name,
                m.siret,
                m.vat_number,
                m.email,
                m.phone,
                m.address,
                m.postcode,
                m.city,
                m.delivery_address,
                m.delivery_postcode,
                m.delivery_city,
                _("oui") if m.is_active else _("non"),
            ]
        )
    return csv_download("adherents.csv", rows)


@members.route("/new", methods=["GET", "POST"])
@roles_required(*DIRECTORY_ROLES)
def create_member():
    form = MemberForm()
    if form.validate_on_submit():
        submissions.claim(form)
        with refusal_shown(form) as outcome:
            member = member_service.create_member(**_member_values(form))
        if outcome.ok:
            result = url("members.show_member", member_id=member.id)
            submissions.commit(form, result)
            flash(_("Adhérent %(code)s créé.", code=member.code), "success")
            return redirect(result)
    return render_template("accounts/member_form.html", form=form, member=None)


@members.route("/<int:member_id>")
@login_required
def show_member(member_id: int):
    member = db.get_or_404(Member, member_id)
    ensure_can_access(member)
    if current_user.has_role(Role.MEMBER):
        return redirect(url("shop.my_shop"))
    return render_template(
        "accounts/member_detail.html",
        member=member,
        form=ConfirmForm(),
        activity=activity.shop_timeline(member),
        **accounts_panel(member),
    )


@members.route("/<int:member_id>/edit", methods=["GET", "POST"])
@roles_required(*DIRECTORY_ROLES)
def edit_member(member_id: int):
    member = db.get_or_404(Member, member_id)
    form = MemberForm(obj=member)
    if form.validate_on_submit():
        with refusal_shown(form) as outcome:
            member_service.update_member(member, **_member_values(form))
        if outcome.ok:
            db.session.commit()
            flash(_("Fiche de %(code)s enregistrée.", code=member.code), "success")
            return redirect(url("members.show_member", member_id=member.id))
    return render_template("accounts/member_form.html", form=form, member=member)


@members.route("/<int:member_id>/deactivate", methods=["GET", "POST"])
@roles_required(*DIRECTORY_ROLES)
def deactivate_member(member_id: int):
    member = db.get_or_404(Member, member_id)
    form = ConfirmForm()
    back = url("members.show_member", member_id=member.id)
    if form.validate_on_submit():
        member_service.set_member_active(member, False)
        db.session.commit()
        flash(
            _(
                "%(name)s est désactivé : ses comptes ne peuvent plus se connecter.",
                name=member.name,
            ),
            "success",
        )
        return redirect(back)
    return render_template(
        "confirm.html",
        form=form,
        title=_("Désactiver %(name)s ?", name=member.name),
        message=_(
            "Les comptes de cet atelier ne pourront plus se connecter ni poster de besoins. "
            "Son historique (besoins, factures) est conservé, et vous pourrez le réactiver "
            "à tout moment."
        ),
        confirm_label=_("Oui, désactiver"),
        cancel_url=back,
    )


@members.route("/<int:member_id>/reactivate", methods=["POST"])
@roles_required(*DIRECTORY_ROLES)
def reactivate_member(member_id: int):
    member = db.get_or_404(Member, member_id)
    if ConfirmForm().validate_on_submit():
        member_service.set_member_active(member, True)
        db.session.commit()
        flash(_("%(name)s est de nouveau actif.", name=member.name), "success")
    return redirect(url("members.show_member", member_id=member.id))


def _member_values(form: MemberForm) -> dict:
    return {name: getattr(form, name).data for name in member_service.MEMBER_FIELDS}


# --- user accounts (admin) -----------------------------------------------------


@users.route("/")
@roles_required(Role.ADMIN)
def list_users():
    query = search_arg()
    stmt = select(User).outerjoin(User.member).order_by(User.email)
    if query:
        pattern = f"%{query}%"
        stmt = stmt.where(
            User.email.ilike(pattern) | User.name.ilike(pattern) | Member.code.ilike(pattern)
        )
    page = paginate(stmt)
    return render_template(
        "accounts/user_list.html",
        page=page,
        q=query,
        role_labels=ROLE_LABELS,
        invitations=invitation_service.staff_invitations(),
        resend_form=ConfirmForm(),
        now=clock.now(),
    )


@users.route("/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def create_user():
    form = NewUserForm()
    if request.method == "GET" and request.args.get("member"):
        form.roles.data = [Role.MEMBER.value]
        form.member_code.data = request.args["member"]
    if form.validate_on_submit():
        submissions.claim(form)
        with refusal_shown(form) as outcome:
            user = auth_service.create_user(
                form.email.data,
                form.name.data,
                form.roles.data,
                form.password.data,
                member_code=form.member_code.data,
            )
            user.is_active = form.is_active.data
        if outcome.ok:
            submissions.commit(form, url("users.list_users"))
            flash(_("Compte %(email)s créé.", email=user.email), "success")
            return redirect(url("users.list_users"))
    return render_template("accounts/user_form.html", form=form, user=None)


@users.route("/<int:user_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_user(user_id: int):
    user = db.get_or_404(User, user_id)
    form = UserForm(obj=user)
    if request.method == "GET":
        form.member_code.data = user.member.code if user.member else ""
    if form.validate_on_submit():
        with refusal_shown(form) as outcome:
            auth_service.update_user(
                user,
                actor=current_user,
                name=form.name.data,
                roles=form.roles.data,
                member_code=form.member_code.data,
                is_active=form.is_active.data,
            )
        if outcome.ok:
            db.session.commit()
            flash(_("Compte %(email)s enregistré.", email=user.email), "success")
            return redirect(url("users.list_users"))
    return render_template(
        "accounts/user_form.html", form=form, user=user, password_form=SetPasswordForm()
    )


@users.route("/<int:user_id>/password", methods=["POST"])
@roles_required(Role.ADMIN)
def set_user_password(user_id: int):
    user = db.get_or_404(User, user_id)
    form = SetPasswordForm()
    if form.validate_on_submit():
        auth_service.set_password(user, form.password.data)
        db.session.commit()
        if user.id == current_user.id:
            login_user(user)  # this session goes on; the others have ended
        flash(_("Nouveau mot de passe enregistré pour %(email)s.", email=user.email), "success")
        return redirect(url("users.edit_user", user_id=user.id))
    for error in form.password.errors:
        flash(error, "error")
    return redirect(url("users.edit_user", user_id=user.id))


@users.route("/<int:user_id>/logout-everywhere", methods=["POST"])
@roles_required(Role.ADMIN)
def logout_user_everywhere(user_id: int):
    user = db.get_or_404(User, user_id)
    if ConfirmForm().validate_on_submit():
        auth_service.end_sessions(user)
        db.session.commit()
        flash(_("%(email)s est déconnecté·e de tous ses appareils.", email=user.email), "success")
    return redirect(url("users.edit_user", user_id=user.id))
