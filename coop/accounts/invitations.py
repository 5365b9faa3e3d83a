"""Invitations: the coop (or a shop's account holder) invites someone to open an account.

An invitation is an e-mailed single-use link (coop.accounts.tokens) valid 7 days, where
the person sets their name and password; accepting it creates the account with the role
the invitation names, attached to its shop. The e-mails are queued with the transaction
and sent once it commits, in the request: a bulk invitation of the ~100 shops is one
SMTP connection, as when a campaign opens and every shop's account hears of it.
"""

from dataclasses import dataclass, field
from enum import StrEnum

from flask_babel import gettext as _
from sqlalchemy import Integer, func, select

from coop import identifiers, mail
from coop.accounts import tokens
from coop.accounts.auth import create_user
from coop.accounts.models import (
    DIRECTORY_ROLES,
    AccountToken,
    Member,
    Role,
    TokenPurpose,
    User,
)
from coop.activity.recording import record
from coop.clock import now
from coop.errors import DomainError, NotAllowed
from coop.extensions import db


class AccountState(StrEnum):
    """Where a shop stands with its accounts (the member list's column)."""

    ACTIVE = "active"  # someone can log in
    DISABLED = "disabled"  # accounts exist, none may log in
    INVITED = "invited"  # no account yet, a link is waiting
    EXPIRED = "expired"  # no account yet, the last link expired unused
    NONE = "none"  # no account, no invitation


@dataclass
class BulkPlan:
    """What "invite every shop without an account" would do: the dry run."""

    to_invite: list[Member] = field(default_factory=list)
    without_email: list[Member] = field(default_factory=list)
    already_invited: list[Member] = field(default_factory=list)


def may_invite_to(actor: User, member: Member | None, role: Role = Role.MEMBER) -> bool:
    """The manager and the admin invite to any shop, a shop's account holder to its own;
    only the admin invites staff."""
    if role is not Role.MEMBER:
        return member is None and actor.has_role(Role.ADMIN)
    if member is None:
        return False
    return actor.has_role(*DIRECTORY_ROLES) or (
        actor.has_role(Role.MEMBER) and actor.member_id == member.id
    )


def invite(
    email: str, *, actor: User, member: Member | None = None, role: Role = Role.MEMBER
) -> AccountToken:
    """Invite `email` to open an account for `member` (or, staff, with `role`); e-mails the
    link after the commit. A waiting invitation of the same address is replaced."""
    try:
        role = Role(role)
    except ValueError:
        raise DomainError(_("Choisissez un rôle de la liste."), field="role") from None
    if not may_invite_to(actor, member, role):
        raise NotAllowed(_("Vous ne pouvez pas inviter à ce compte."))
    try:
        email = identifiers.email(email or "").lower()
    except ValueError as exc:
        raise DomainError(str(exc).capitalize() + ".", field="email") from None
    if member is not None:
        _lock(member)
        if not member.is_active:
            raise DomainError(_("Cet atelier est désactivé : réactivez-le avant d'inviter."))
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise DomainError(_("Un compte existe déjà pour %(email)s.", email=email), field="email")
    for earlier in _not_accepted(email, member):
        earlier.revoked_at = now()  # the newest link alone works
    invitation = _send(
        AccountToken(
            purpose=TokenPurpose.INVITE, email=email, member=member, role=role, created_by=actor
        ),
        actor,
    )
    _record(invitation, "invitation.sent", actor, role=role)
    return invitation


def staff_invitations() -> list[AccountToken]:
    """Invitations to staff accounts neither accepted nor withdrawn, newest first."""
    return list(
        db.session.scalars(
            select(AccountToken)
            .where(
                AccountToken.purpose == TokenPurpose.INVITE,
                AccountToken.member_id.is_(None),
                AccountToken.used_at.is_(None),
                AccountToken.revoked_at.is_(None),
            )
            .order_by(AccountToken.created_at.desc(), AccountToken.id.desc())
        )
    )


def resend(invitation: AccountToken, *, actor: User) -> AccountToken:
    """A new link for an invitation not yet accepted; the old link stops working."""
    if not may_invite_to(actor, invitation.member, invitation.role):
        raise NotAllowed(_("Vous ne pouvez pas inviter à ce compte."))
    if invitation.purpose is not TokenPurpose.INVITE or invitation.used_at is not None:
        raise DomainError(_("Cette invitation a déjà été acceptée."))
    return invite(invitation.email, actor=actor, member=invitation.member, role=invitation.role)


def revoke(invitation: AccountToken, *, actor: User) -> None:
    """Withdraw an invitation not yet accepted: its link stops working."""
    if not may_invite_to(actor, invitation.member, invitation.role):
        raise NotAllowed(_("Vous ne pouvez pas inviter à ce compte."))
    if invitation.purpose is not TokenPurpose.INVITE or invitation.used_at is not None:
        raise DomainError(_("Cette invitation a déjà été acceptée."))
    if invitation.revoked_at is None:
        invitation.revoked_at = now()
        _record(invitation, "invitation.revoked", actor)
    db.session.flush()


def plan_bulk() -> BulkPlan:
    """The active shops without any account, sorted into: to invite, no e-mail to invite,
    an invitation still waiting. Writes nothing (the confirmation page shows it)."""
    plan = BulkPlan()
    without_account = (
        select(Member).where(Member.is_active.is_(True), ~Member.users.any()).order_by(Member.code)
    )
    waiting = {token.member_id for token in _waiting()}
    for member in db.session.scalars(without_account):
        if member.id in waiting:
            plan.already_invited.append(member)
        elif not member.email:
            plan.without_email.append(member)
        else:
            plan.to_invite.append(member)
    return plan


def invite_all(*, actor: User) -> list[AccountToken]:
    """Invite, at its contact e-mail, every active shop without an account nor a waiting
    invitation (the plan the confirmation page showed, read again under lock)."""
    if not actor.has_role(*DIRECTORY_ROLES):
        raise NotAllowed(_("Vous ne pouvez pas inviter à ce compte."))
    # Two managers sending at once: the second waits for the first, then finds its
    # invitations waiting and sends none of them again.
    ids = [member.id for member in plan_bulk().to_invite]
    locked = db.session.scalars(
        select(Member).where(Member.id.in_(ids)).order_by(Member.id).with_for_update()
    ).all()
    sent = []
    again = {member.id for member in plan_bulk().to_invite}
    for member in sorted(locked, key=lambda m: m.code):
        if member.id in again and not _user_exists(member.email):
            sent.append(invite(member.email, actor=actor, member=member))
    return sent


def _user_exists(email: str) -> bool:
    return db.session.scalar(select(User.id).where(User.email == email.lower())) is not None


def account_states(member_ids: list[int]) -> dict[int, AccountState]:
    """Each shop's account state, in two queries for a page of the member list."""
    if not member_ids:
        return {}
    accounts = dict(
        db.session.execute(
            select(User.member_id, func.max(User.is_active.cast(Integer)))
            .where(User.member_id.in_(member_ids))
            .group_by(User.member_id)
        )
        .tuples()
        .all()
    )
    last_invitation: dict[int, AccountToken] = {}
    invitations = db.session.scalars(
        select(AccountToken)
        .where(
            AccountToken.purpose == TokenPurpose.INVITE,
            AccountToken.member_id.in_(member_ids),
            AccountToken.revoked_at.is_(None),
        )
        .order_by(AccountToken.created_at, AccountToken.id)
    )
    for invitation in invitations:
        last_invitation[invitation.member_id] = invitation
    at = now()
    states = {}
    for member_id in member_ids:
        if member_id in accounts:
            active = accounts[member_id]
            states[member_id] = AccountState.ACTIVE if active else AccountState.DISABLED
        elif member_id in last_invitation:
            valid = tokens.state_of(last_invitation[member_id], at) is tokens.LinkState.VALID
            states[member_id] = AccountState.INVITED if valid else AccountState.EXPIRED
        else:
            states[member_id] = AccountState.NONE
    return states


def invitations_of(member: Member) -> list[AccountToken]:
    """A shop's invitations not accepted nor withdrawn, newest first (waiting or expired)."""
    return list(
        db.session.scalars(
            select(AccountToken)
            .where(
                AccountToken.purpose == TokenPurpose.INVITE,
                AccountToken.member_id == member.id,
                AccountToken.used_at.is_(None),
                AccountToken.revoked_at.is_(None),
            )
            .order_by(AccountToken.created_at.desc(), AccountToken.id.desc())
        )
    )


def accept(raw: str, *, name: str, password: str) -> User:
    """Open the invited account: the person's name and password; the link is used up."""
    invitation = tokens.open_token(TokenPurpose.INVITE, raw, lock=True)
    if invitation.member is not None and not invitation.member.is_active:
        raise DomainError(_("Cet atelier n'est plus actif. Contactez la coopérative."))
    if _user_exists(invitation.email):
        raise DomainError(
            _("Un compte existe déjà pour %(email)s : connectez-vous.", email=invitation.email)
        )
    user = create_user(
        invitation.email,
        name,
        invitation.role,
        password,
        member_code=invitation.member.code if invitation.member else None,
    )
    invitation.used_at = now()
    invitation.user = user
    db.session.flush()
    _record(invitation, "invitation.accepted", user)
    return user


def _record(invitation: AccountToken, action: str, actor: User, **details) -> None:
    record(
        action,
        object_type="invitation",
        object_id=invitation.id,
        label=invitation.email,
        member=invitation.member_id,
        details=details,
        actor=actor,
    )


def _lock(member: Member) -> None:
    db.session.scalar(select(Member.id).where(Member.id == member.id).with_for_update())


def _not_accepted(email: str, member: Member | None) -> list[AccountToken]:
    """An address's invitations to `member` (or to the staff) neither accepted nor withdrawn,
    expired or not; another shop's stay its own business."""
    same_place = (
        AccountToken.member_id.is_(None) if member is None else AccountToken.member_id == member.id
    )
    return list(
        db.session.scalars(
            select(AccountToken).where(
                AccountToken.purpose == TokenPurpose.INVITE,
                AccountToken.email == email,
                same_place,
                AccountToken.used_at.is_(None),
                AccountToken.revoked_at.is_(None),
            )
        )
    )


def _waiting() -> list[AccountToken]:
    """Invitations whose link still works."""
    return list(
        db.session.scalars(
            select(AccountToken).where(
                AccountToken.purpose == TokenPurpose.INVITE,
                AccountToken.used_at.is_(None),
                AccountToken.revoked_at.is_(None),
                AccountToken.expires_at > now(),
            )
        )
    )


def _send(invitation: AccountToken, actor: User) -> AccountToken:
    raw = tokens.issue(invitation)
    mail.queue(
        invitation.email,
        "Votre compte à la coopérative : choisissez votre mot de passe",
        "account_invitation",
        invitation=invitation,
        inviter=actor,
        link=tokens.link(TokenPurpose.INVITE, raw),
    )
    return invitation
