"""Plain factory functions with keyword defaults."""

import itertools
import random

from coop.accounts.auth import hash_password
from coop.accounts.models import Member, Role, User
from coop.demo import fake_siret
from coop.extensions import db

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


def valid_siret(seed: int) -> str:
    return fake_siret(random.Random(seed))


def member(**values) -> Member:
    n = next(_counter)
    fields = {
        "code": f"SHOP{n:03d}",
        "name": f"Atelier n°{n}",
        "siret": valid_siret(n),
        "email": f"shop{n}@example.org",
        "address": f"{n} rue de la République",
        "postcode": "69002",
        "city": "Lyon",
        "is_active": True,
    }
    fields.update(values)
    shop = Member(**fields)
    db.session.add(shop)
    # Committed, as data that exists before the request under test (a SAVEPOINT release).
    db.session.commit()
    return shop


def user(role: Role = Role.MEMBER, member: Member | None = None, **values) -> User:
    n = next(_counter)
    if role is Role.MEMBER and member is None:
        member = globals()["member"]()
    fields = {
        "email": f"user{n}@example.org",
        "name": f"User {n}",
        "role": role,
        "member": member,
        "password_hash": hash_password(values.pop("password", PASSWORD)),
        "is_active": True,
    }
    fields.update(values)
    account = User(**fields)
    db.session.add(account)
    db.session.commit()
    return account
