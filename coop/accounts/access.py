"""Who may do what: preconditions stacked on views as decorators."""

from collections.abc import Iterable
from functools import wraps

from flask import abort, request
from flask_login import current_user, login_required

from coop.accounts.models import Member, Role

READ_METHODS = frozenset({"GET", "HEAD"})


def roles_required(*roles: Role, readers: Iterable[Role] = ()):
    """Logged in holding one of `roles`, or one of `readers` to read only; else 403 (or the
    login page when anonymous)."""
    readers = frozenset(readers)

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            reading = request.method in READ_METHODS and current_user.has_role(*readers)
            if not (reading or current_user.has_role(*roles)):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def ensure_can_access(member: Member) -> None:
    """A member user reaching another shop's page gets 403, whatever the URL says."""
    if not current_user.can_access_member(member):
        abort(403)
