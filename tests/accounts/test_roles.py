"""Users holding several roles: the service, the database's rule, the admin's forms, the menus."""

import re

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from coop.accounts import auth
from coop.accounts.models import Role, User
from coop.clock import now
from coop.errors import DomainError
from coop.extensions import db

PASSWORD = "a long enough password"


def count_users() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def menu(page) -> list[str]:
    """The main menu's links, in order."""
    nav = page.text.split('<nav class="mainnav"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'<a href="([^"]+)"', nav)


# --- the service --------------------------------------------------------------------------------


def test_an_account_holds_every_role_given_and_one_role_still_works(db_session):
    both = auth.create_user("bureau@example.org", "Alex", ["manager", "treasurer"], PASSWORD)
    one = auth.create_user("gerance@example.org", "Camille", Role.MANAGER, PASSWORD)
    assert both.roles == {Role.MANAGER, Role.TREASURER}
    assert both.has_role(Role.TREASURER) and both.has_role("manager", "admin")
    assert not both.has_role(Role.ADMIN, Role.MEMBER)
    assert one.roles == {Role.MANAGER}


@pytest.mark.parametrize(
    ("roles", "member_code", "message"),
    [
        (["member", "manager"], "VELO01", "Un compte adhérent n'a que ce rôle"),
        (["member", "admin"], "VELO01", "Un compte adhérent n'a que ce rôle"),
        ([], None, "Choisissez au moins un rôle."),
        (["manager", "boss"], None, "Rôle inconnu : boss"),
        (["manager", "treasurer"], "VELO01", "Seuls les comptes adhérents sont rattachés"),
    ],
)
def test_a_shops_account_holds_the_member_role_alone(make, roles, member_code, message):
    make.member(code="VELO01")
    with pytest.raises(DomainError, match=message):
        auth.create_user("x@example.org", "X", roles, PASSWORD, member_code=member_code)
    assert count_users() == 0


def test_a_shops_account_becomes_a_staff_account_and_back(make):
    shop = make.member(code="VELO01")
    admin = make.user(Role.ADMIN)
    user = make.user(Role.MEMBER, member=shop)
    auth.update_user(
        user,
        actor=admin,
        name="Sam",
        roles=["manager", "treasurer"],
        member_code="",
        is_active=True,
    )
    db.session.commit()
    assert (user.roles, user.member) == ({Role.MANAGER, Role.TREASURER}, None)
    auth.update_user(
        user, actor=admin, name="Sam", roles=["member"], member_code="velo01", is_active=True
    )
    db.session.commit()
    assert (user.roles, user.member) == ({Role.MEMBER}, shop)


def test_the_admin_keeps_its_own_admin_role_but_may_add_another(make):
    admin = make.user(Role.ADMIN)
    with pytest.raises(DomainError, match="vos propres droits d'administration"):
        auth.update_user(
            admin, actor=admin, name="A", roles=["manager"], member_code="", is_active=True
        )
    auth.update_user(
        admin, actor=admin, name="A", roles=["admin", "treasurer"], member_code="", is_active=True
    )
    db.session.commit()
    assert admin.roles == {Role.ADMIN, Role.TREASURER}


# --- the database keeps the rule too --------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO user_roles (user_id, role) VALUES (:shop_user, 'manager')",
        "INSERT INTO user_roles (user_id, role) VALUES (:staff, 'member')",
        "UPDATE user_roles SET role = 'admin' WHERE user_id = :shop_user",
        "UPDATE users SET member_id = :shop WHERE id = :staff",
        "UPDATE users SET member_id = NULL WHERE id = :shop_user",
    ],
)
def test_the_database_refuses_a_shops_account_with_a_staff_role(make, statement):
    shop = make.member()
    shop_user = make.user(Role.MEMBER, member=shop)
    staff = make.user(Role.MANAGER)
    ids = {"shop": shop.id, "shop_user": shop_user.id, "staff": staff.id}
    with pytest.raises(DatabaseError), db.session.begin_nested():
        db.session.execute(text(statement), ids)
    db.session.expire_all()
    assert (shop_user.roles, shop_user.member, staff.roles, staff.member) == (
        {Role.MEMBER},
        shop,
        {Role.MANAGER},
        None,
    )


def test_the_database_lets_staff_add_a_role_and_a_shops_account_change_shop(make):
    shop_user = make.user(Role.MEMBER)
    staff = make.user(Role.MANAGER)
    other = make.member()
    db.session.execute(
        text("INSERT INTO user_roles (user_id, role) VALUES (:id, 'treasurer')"), {"id": staff.id}
    )
    db.session.execute(
        text("UPDATE users SET member_id = :shop WHERE id = :id"),
        {"shop": other.id, "id": shop_user.id},
    )
    db.session.expire_all()
    assert staff.roles == {Role.MANAGER, Role.TREASURER}
    assert shop_user.member == other


# --- the admin's forms ------------------------------------------------------------------------


@pytest.fixture
def as_admin(client, make):
    client.login_as(make.user(Role.ADMIN))
    return client


def new_account(client, **values):
    data = {
        "email": "bureau@example.org",
        "name": "Alex",
        "password": PASSWORD,
        "is_active": "y",
    } | values
    return client.post("/users/new", data=data)


def test_the_admin_creates_an_account_with_two_roles(as_admin):
    response = new_account(as_admin, roles=["manager", "treasurer"])
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "bureau@example.org"))
    assert user.roles == {Role.MANAGER, Role.TREASURER}
    listing = as_admin.get("/users/").text
    assert "Gérant·e de la coopérative, Trésorier·e" in listing


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"roles": ["member", "manager"], "member_code": "VELO01"},
            "Un compte adhérent n&#39;a que ce rôle",
        ),
        ({}, "Choisissez au moins un rôle."),
        ({"roles": ["root"]}, "Rôle inconnu : root"),
    ],
)
def test_a_refused_account_says_why_next_to_the_roles_and_writes_nothing(
    as_admin, make, values, message
):
    make.member(code="VELO01")
    before = count_users()
    response = new_account(as_admin, **values)
    assert response.status_code == 200
    assert f'<p class="error" id="roles-error">{message}' in response.text
    assert '<fieldset class="field has-error" aria-describedby="roles-error">' in response.text
    assert 'value="bureau@example.org"' in response.text
    assert count_users() == before


def test_the_edit_form_ticks_the_roles_held_and_changes_them(as_admin, make):
    user = make.user(Role.MANAGER, Role.TREASURER)
    page = as_admin.get(f"/users/{user.id}/edit").text
    assert re.search(r'<input checked id="roles-1"[^>]*value="manager"', page)
    assert re.search(r'<input checked id="roles-2"[^>]*value="treasurer"', page)
    assert not re.search(r'<input checked[^>]*value="admin"', page)
    response = as_admin.post(
        f"/users/{user.id}/edit",
        data={
            "name": user.name,
            "roles": ["treasurer"],
            "member_code": "",
            "is_active": "y",
        },
    )
    assert response.status_code == 302
    assert user.roles == {Role.TREASURER}


def test_a_new_account_for_a_shop_starts_with_the_member_role_ticked(as_admin, make):
    make.member(code="VELO01")
    page = as_admin.get("/users/new?member=VELO01").text
    assert re.search(r'<input checked id="roles-0"[^>]*value="member"', page)
    assert 'value="VELO01"' in page


# --- home pages and menus -------------------------------------------------------------------------


def test_two_roles_give_both_menus_each_item_once(client, make):
    client.login_as(make.user(Role.MANAGER, Role.TREASURER))
    assert menu(client.get("/")) == [
        "/",
        "/campaigns/",
        "/rfqs/",
        "/purchase-orders",
        "/parts/",
        "/suppliers/",
        "/sourcing",
        "/relocalisation/tableau",
        "/calls/",
        "/agreements/",
        "/invoices",
        "/supplier-invoices",
        "/payments",
        "/reminders",
        "/exports",
        "/members/",
        "/activity/",
    ]


@pytest.mark.parametrize(
    ("roles", "links"),
    [
        (
            (Role.MANAGER,),
            [
                "/",
                "/campaigns/",
                "/rfqs/",
                "/purchase-orders",
                "/parts/",
                "/suppliers/",
                "/sourcing",
                "/relocalisation/tableau",
                "/calls/",
                "/invoices",
                "/supplier-invoices",
                "/payments",
                "/members/",
                "/activity/",
            ],
        ),
        (
            (Role.TREASURER,),
            [
                "/",
                "/campaigns/",
                "/purchase-orders",
                "/agreements/",
                "/invoices",
                "/supplier-invoices",
                "/payments",
                "/reminders",
                "/exports",
                "/members/",
                "/activity/",
            ],
        ),
        (
            (Role.ADMIN,),
            [
                "/",
                "/users/",
                "/activity/",
                "/members/",
                "/campaigns/",
                "/purchase-orders",
                "/parts/",
                "/suppliers/",
                "/invoices",
            ],
        ),
    ],
)
def test_each_role_has_its_own_menu(client, make, roles, links):
    client.login_as(make.user(*roles))
    assert menu(client.get("/")) == links


def test_a_menu_is_kept_per_roles_page_and_language_and_shown_to_no_one_else(client, make):
    """The menu is rendered once per roles, page and language (coop.navigation): the same
    page shows each role its own menu, marks the page it is on, and follows the language."""
    client.login_as(make.user(Role.MANAGER))
    manager_home = client.get("/")
    client.login_as(make.user(Role.MEMBER))
    shop_home = client.get("/")
    assert "/campaigns/" in menu(manager_home)
    assert "/campaigns/" not in menu(shop_home)
    assert menu(shop_home) == ["/", "/parts/", "/my/campaigns", "/shop", "/invoices"]
    assert '<a href="/" aria-current="page">Accueil</a>' in shop_home.text
    parts = client.get("/parts/").text
    assert '<a href="/parts/" aria-current="page">Catalogue</a>' in parts
    assert '<a href="/" aria-current="page">' not in parts
    english = client.get("/?lang=en").text
    assert '<a href="/" aria-current="page">Home</a>' in english
    client.login_as(make.user(Role.MANAGER))
    assert menu(client.get("/")) == menu(manager_home)


@pytest.mark.parametrize(
    ("roles", "groups"),
    [
        ((Role.MANAGER,), ["Achats", "Argent"]),
        ((Role.TREASURER,), ["Achats", "Argent"]),
        ((Role.MANAGER, Role.TREASURER), ["Achats", "Argent"]),
        ((Role.ADMIN,), ["Contrôle", "Achats"]),
    ],
)
def test_staff_menus_fold_purchasing_and_money_into_groups(client, make, roles, groups):
    client.login_as(make.user(*roles))
    nav = client.get("/").text.split('<nav class="mainnav"', 1)[1].split("</nav>", 1)[0]
    assert re.findall(r"<summary[^>]*>([^<]+)</summary>", nav) == groups


def test_two_roles_land_on_the_first_home_with_a_tab_for_the_other(client, make):
    client.login_as(make.user(Role.TREASURER, Role.MANAGER))
    home = client.get("/").text
    assert "<h1>Tableau de bord</h1>" in home
    assert '<a href="/?role=manager" aria-current="page">Gérance</a>' in home
    assert '<a href="/?role=treasurer">Trésorerie</a>' in home
    treasury = client.get("/?role=treasurer").text
    assert "<h1>Trésorerie</h1>" in treasury
    assert '<a href="/?role=treasurer" aria-current="page">Trésorerie</a>' in treasury
    # A home the user does not hold is not shown: the first one is.
    assert "<h1>Tableau de bord</h1>" in client.get("/?role=admin").text


def test_the_admin_and_treasurer_lands_on_the_treasury(client, make):
    client.login_as(make.user(Role.ADMIN, Role.TREASURER, last_login_at=now()))
    assert "<h1>Trésorerie</h1>" in client.get("/").text
    admin = client.get("/?role=admin").text
    assert "<h1>Administration</h1>" in admin
    assert "Administrateur·rice, Trésorier·e" in admin  # its own line in the last logins


def test_one_role_shows_no_tabs(client, make):
    client.login_as(make.user(Role.MANAGER))
    assert "Vos tableaux de bord" not in client.get("/").text
