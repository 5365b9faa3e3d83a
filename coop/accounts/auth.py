"""Passwords, logins and user accounts."""

from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial

from flask import current_app
from sqlalchemy import bindparam, case, delete, literal, select
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from coop import identifiers
from coop.accounts.models import LoginThrottle, Member, Role, User, UserRole
from coop.activity.recording import change, record
from coop.clock import now
from coop.db import UTCDateTime, dialect_insert
from coop.errors import DomainError
from coop.extensions import db
from coop.uniqueness import refusing_duplicates

MIN_PASSWORD_LENGTH = 10
# No one types more; hashing an endless one would only cost the server.
MAX_PASSWORD_LENGTH = 200
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
    if len(password) > MAX_PASSWORD_LENGTH:
        raise DomainError(
            f"Le mot de passe tient en {MAX_PASSWORD_LENGTH} caractères au plus.",
            field="password",
        )


def _dummy_hash() -> str:
    method = current_app.config["COOP_PASSWORD_HASH_METHOD"]
    if method not in _DUMMY_HASH_CACHE:
        _DUMMY_HASH_CACHE[method] = generate_password_hash("not a password", method=method)
    return _DUMMY_HASH_CACHE[method]


def authenticate(email: str, password: str) -> User:
    """Check a login; count attempts per address and lock it after too many failures."""
    key = email.strip().lower()
    moment = now()
    throttle = _count_attempt(key, moment)
    if throttle.failures > current_app.config["COOP_LOGIN_MAX_FAILURES"]:
        minutes = max(1, int((throttle.locked_until - moment).total_seconds() // 60) + 1)
        raise LoginRefused(
            "Trop de tentatives échouées pour cette adresse. Réessayez dans "
            + (f"{minutes} minutes." if minutes > 1 else "1 minute.")
        )
    user = db.session.scalar(select(User).where(User.email == key))
    password_ok = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    if not (user and password_ok):
        if throttle.failures == current_app.config["COOP_LOGIN_MAX_FAILURES"]:
            _record_lock(key, user, throttle)
        raise LoginRefused("Adresse e-mail ou mot de passe incorrect.")
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.email == key))
    if not user.is_active:
        raise LoginRefused("Ce compte est désactivé. Contactez la coopérative.")
    if user.member is not None and not user.member.is_active:
        raise LoginRefused("Votre atelier n'est plus actif. Contactez la coopérative.")
    user.last_login_at = moment
    db.session.flush()
    return user


def _record_lock(key: str, user: User | None, throttle: LoginThrottle) -> None:
    """The attempt that reached the limit locked the address: logged (known account or not)."""
    record(
        "user.login_locked",
        object_type="user",
        object_id=user.id if user else None,
        label=key,
        member=user.member_id if user else None,
        details={"failures": throttle.failures, "locked_until": throttle.locked_until},
    )


def _count_attempt(key: str, moment: datetime) -> LoginThrottle:
    """Count one attempt for `key` before its password is checked, in one atomic upsert.

    Counting first bounds the guesses however many arrive at once: each attempt gets its
    own number, and only the first COOP_LOGIN_MAX_FAILURES of a window check a password;
    a success deletes the row. The reaching of the limit locks the address for a window.
    """
    config = current_app.config
    window = timedelta(minutes=config["COOP_LOGIN_LOCK_MINUTES"])
    limit = config["COOP_LOGIN_MAX_FAILURES"]
    lock = moment + window
    first_lock = lock if limit <= 1 else None
    row = LoginThrottle.__table__.c
    when = partial(literal, type_=UTCDateTime())
    # A new window starts once the lock is over, or, short of a lock, once the window is.
    starts_over = case(
        (row.locked_until.is_(None), row.first_failure_at <= when(moment - window)),
        else_=row.locked_until <= when(moment),
    )
    insert = dialect_insert(db.session.get_bind())(LoginThrottle).values(
        email=key, failures=1, first_failure_at=moment, locked_until=first_lock
    )
    upsert = insert.on_conflict_do_update(
        index_elements=[row.email],
        set_={
            "failures": case((starts_over, 1), else_=row.failures + 1),
            "first_failure_at": case((starts_over, when(moment)), else_=row.first_failure_at),
            "locked_until": case(
                (starts_over, when(first_lock)),
                (row.failures + 1 == limit, when(lock)),
                else_=row.locked_until,
            ),
        },
    )
    return db.session.scalars(
        upsert.returning(LoginThrottle), execution_options={"populate_existing": True}
    ).one()


def create_user(
    email: str,
    name: str,
    roles: Role | str | Iterable[Role | str],
    password: str,
    member_code: str | None = None,
) -> User:
    """Create an account; a member user must name its shop, staff must not."""
    try:
        email = identifiers.email(email).lower()
    except ValueError as exc:
        raise DomainError(str(exc).capitalize() + ".", field="email") from None
    roles = _roles(roles)
    member = _member_for_roles(roles, member_code)
    taken = DomainError(f"Un compte existe déjà pour {email}.", field="email")
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise taken
    check_password_strength(password)
    with refusing_duplicates(uq_users_email=taken):
        user = User(
            email=email,
            name=_name(name) or email,
            member=member,
            password_hash=hash_password(password),
            role_grants=[UserRole(role=role) for role in sorted(roles)],
        )
        db.session.add(user)
        db.session.flush()
    record(
        "user.created",
        object_type="user",
        object_id=user.id,
        label=user.email,
        member=member,
        details={"roles": roles, **({"shop": member.code} if member else {})},
    )
    return user


def _roles(values: Role | str | Iterable[Role | str]) -> frozenset[Role]:
    """One role or several; a shop's account holds the member role alone."""
    roles = set()
    for value in [values] if isinstance(values, str) else values:
        try:
            roles.add(Role(value))
        except ValueError:
            choices = ", ".join(r.value for r in Role)
            raise DomainError(
                f"Rôle inconnu : {value} (choix : {choices}).", field="roles"
            ) from None
    if not roles:
        raise DomainError("Choisissez au moins un rôle.", field="roles")
    if Role.MEMBER in roles and len(roles) > 1:
        raise DomainError(
            "Un compte adhérent n'a que ce rôle : créez un compte à part pour une fonction "
            "dans la coopérative.",
            field="roles",
        )
    return frozenset(roles)


def _member_for_roles(roles: frozenset[Role], member_code: str | None) -> Member | None:
    if Role.MEMBER in roles:
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
    roles: Role | str | Iterable[Role | str],
    member_code: str | None,
    is_active: bool,
) -> User:
    """Change an account's name, roles, shop or status (admin)."""
    roles = _roles(roles)
    if user.id == actor.id and (Role.ADMIN not in roles or not is_active):
        # Otherwise the last administrator could lock everyone out of account management.
        raise DomainError(
            "Vous ne pouvez pas retirer vos propres droits d'administration.", field="roles"
        )
    member = _member_for_roles(roles, member_code)
    before = (user.roles, user.member, user.is_active)
    if (roles, member, is_active) != before:
        end_sessions(user)  # sessions opened under the old rights end with them
    # The database checks every step (a shop's account holds the member role alone):
    # roles go before the shop changes, the new ones come after.
    user.role_grants = [grant for grant in user.role_grants if grant.role in roles]
    db.session.flush()
    user.member = member
    db.session.flush()
    user.role_grants.extend(UserRole(role=role) for role in sorted(roles - user.roles))
    user.name = _name(name) or user.email
    user.is_active = is_active
    db.session.flush()
    _record_user_changes(user, actor, *before)
    return user


def _record_user_changes(
    user: User, actor: User, roles: frozenset[Role], member: Member | None, was_active: bool
) -> None:
    def entry(action: str, **details) -> None:
        shop = user.member_id or (member.id if member else None)
        record(
            action,
            object_type="user",
            object_id=user.id,
            label=user.email,
            member=shop,
            details=details,
            actor=actor,
        )

    if roles != user.roles:
        entry("user.roles_changed", roles=change(sorted(roles), sorted(user.roles)))
    if member != user.member:
        codes = (member.code if member else None, user.member.code if user.member else None)
        entry("user.shop_changed", shop=change(*codes))
    if was_active != user.is_active:
        entry("user.enabled" if user.is_active else "user.disabled")


def set_password(user: User, password: str) -> None:
    """Replace a password; whoever held the old one is logged out everywhere."""
    check_password_strength(password)
    user.password_hash = hash_password(password)
    end_sessions(user)
    record(
        "user.password_changed",
        object_type="user",
        object_id=user.id,
        label=user.email,
        member=user.member_id,
    )


def end_sessions(user: User) -> None:
    """Log a user out everywhere: every session cookie issued so far is refused from now on."""
    user.session_version = User.session_version + 1
    db.session.flush()


# Every signed-in request starts here: the user, its roles and its shop in one query, built
# once (a statement made per request cost more to build and to key than to run).
_SESSION_USER = (
    select(User)
    .where(User.id == bindparam("user_id"))
    .options(joinedload(User.role_grants), joinedload(User.member))
)


def user_for_session(session_id: str) -> User | None:
    """The user a session belongs to, if that session is still valid (Flask-Login's loader)."""
    try:
        user_id, version = map(int, session_id.split(":"))
    except ValueError:  # a session from before session versions
        return None
    user = db.session.scalars(_SESSION_USER, {"user_id": user_id}).unique().one_or_none()
    if user is None or user.session_version != version or not user.is_active:
        return None
    if user.member is not None and not user.member.is_active:
        return None
    return user


def change_own_password(user: User, current: str, new: str) -> None:
    """A user changes their password, proving they know the current one."""
    if not check_password_hash(user.password_hash, current):
        raise DomainError("Le mot de passe actuel est incorrect.", field="current_password")
    set_password(user, new)
