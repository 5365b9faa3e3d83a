"""Passwords, logins and user accounts."""

from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from coop import identifiers
from coop.accounts.models import LoginThrottle, Member, Role, User
from coop.clock import now
from coop.errors import DomainError
from coop.extensions import db

MIN_PASSWORD_LENGTH = 10
MAX_NAME = 200  # the column's size: the command line reaches the service without a form

# A valid hash to compare against when the e-mail is unknown, so that a login
# for an unknown address takes as long as one for a known address.
_DUMMY_HASH_CACHE: dict[str, str] = {}


class LoginRefused(DomainError):
    """Wrong credentials, a locked address or a disabled account."""


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["COOP_PASSWORD_HASH_METHOD"])


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(
            f"Le mot de passe doit compter au moins {MIN_PASSWORD_LENGTH} caractères.",
            field="password",
        )


def _dummy_hash() -> str:
    method = current_app.config["COOP_PASSWORD_HASH_METHOD"]
    if method not in _DUMMY_HASH_CACHE:
        _DUMMY_HASH_CACHE[method] = generate_password_hash("not a password", method=method)
    return _DUMMY_HASH_CACHE[method]


def authenticate(email: str, password: str) -> User:
    """Check a login; count failures per address and lock it after too many."""
    key = email.strip().lower()
    moment = now()
    throttle = db.session.get(LoginThrottle, key, with_for_update=True)
    if throttle and throttle.locked_until and throttle.locked_until > moment:
        minutes = max(1, int((throttle.locked_until - moment).total_seconds() // 60) + 1)
        raise LoginRefused(
            f"Trop de tentatives échouées pour cette adresse. Réessayez dans {minutes} minute(s)."
        )
    user = db.session.scalar(select(User).where(User.email == key))
    password_ok = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    if not (user and password_ok):
        _record_failure(key, throttle, moment)
        raise LoginRefused("Adresse e-mail ou mot de passe incorrect.")
    if not user.is_active:
        raise LoginRefused("Ce compte est désactivé. Contactez la coopérative.")
    if user.member is not None and not user.member.is_active:
        raise LoginRefused("Votre atelier n'est plus actif. Contactez la coopérative.")
    if throttle:
        db.session.delete(throttle)
    user.last_login_at = moment
    db.session.flush()
    return user


def _record_failure(key: str, throttle: LoginThrottle | None, moment) -> None:
    config = current_app.config
    window = timedelta(minutes=config["COOP_LOGIN_LOCK_MINUTES"])
    if throttle is None:
        throttle = LoginThrottle(email=key, failures=0, first_failure_at=moment)
        db.session.add(throttle)
    elif moment - throttle.first_failure_at > window:
        throttle.failures = 0
        throttle.first_failure_at = moment
        throttle.locked_until = None
    throttle.failures += 1
    if throttle.failures >= config["COOP_LOGIN_MAX_FAILURES"]:
        throttle.locked_until = moment + window
    db.session.flush()


def create_user(
    email: str,
    name: str,
    role: Role | str,
    password: str,
    member_code: str | None = None,
) -> User:
    """Create an account; a member user must name its shop, staff must not."""
    try:
        email = identifiers.email(email).lower()
    except ValueError as exc:
        raise DomainError(str(exc).capitalize() + ".", field="email") from None
    try:
        role = Role(role)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise DomainError(f"Rôle inconnu : {role} (choix : {choices}).", field="role") from None
    member = _member_for_role(role, member_code)
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise DomainError(f"Un compte existe déjà pour {email}.", field="email")
    check_password_strength(password)
    user = User(
        email=email,
        name=_name(name) or email,
        role=role,
        member=member,
        password_hash=hash_password(password),
    )
    db.session.add(user)
    db.session.flush()
    return user


def _member_for_role(role: Role, member_code: str | None) -> Member | None:
    if role is Role.MEMBER:
        if not member_code:
            raise DomainError("Un compte adhérent doit être rattaché à un atelier.", field="member")
        member = db.session.scalar(select(Member).where(Member.code == member_code.strip().upper()))
        if member is None:
            raise DomainError(f"Aucun atelier avec le code {member_code}.", field="member")
        return member
    if member_code:
        raise DomainError(
            "Seuls les comptes adhérents sont rattachés à un atelier.", field="member"
        )
    return None


def _name(name: str) -> str:
    name = name.strip()
    if len(name) > MAX_NAME:
        raise DomainError(f"Le nom tient en {MAX_NAME} caractères au plus.", field="name")
    return name


def update_user(
    user: User,
    *,
    actor: User,
    name: str,
    role: Role | str,
    member_code: str | None,
    is_active: bool,
) -> User:
    """Change an account's name, role, shop or status (admin)."""
    role = Role(role)
    if user.id == actor.id and (role is not Role.ADMIN or not is_active):
        # Otherwise the last administrator could lock everyone out of account management.
        raise DomainError(
            "Vous ne pouvez pas retirer vos propres droits d'administration.", field="role"
        )
    user.member = _member_for_role(role, member_code)
    user.name = _name(name) or user.email
    user.role = role
    user.is_active = is_active
    db.session.flush()
    return user


def set_password(user: User, password: str) -> None:
    check_password_strength(password)
    user.password_hash = hash_password(password)
    db.session.flush()


def change_own_password(user: User, current: str, new: str) -> None:
    """A user changes their password, proving they know the current one."""
    if not check_password_hash(user.password_hash, current):
        raise DomainError("Le mot de passe actuel est incorrect.", field="current_password")
    set_password(user, new)
