"""A session ends for good: a cookie copied before a logout, a password change, a role change
or a disabling no longer opens any page."""

from coop.accounts.models import Role
from tests.factories import PASSWORD


def logged_in(client, user, password=PASSWORD):
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 302
    return client


def copy_of(client, app):
    """Another browser holding the same session cookie (a stolen or forgotten one)."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def is_logged_in(client) -> bool:
    return client.get("/account/password").status_code == 200


def test_a_cookie_copied_before_logout_is_refused_after_it(app, client, make):
    user = make.user()
    copy = copy_of(logged_in(client, user), app)
    assert is_logged_in(copy)
    client.post("/logout")
    assert not is_logged_in(copy)
    assert copy.get("/").location == "/login?next=%2F"


def test_a_new_login_after_a_logout_works(client, make):
    user = make.user()
    logged_in(client, user)
    client.post("/logout")
    assert is_logged_in(logged_in(client, user))


def test_changing_ones_password_ends_the_other_sessions_but_keeps_this_one(app, client, make):
    user = make.user()
    elsewhere = logged_in(app.test_client(), user)
    copy = copy_of(logged_in(client, user), app)
    response = client.post(
        "/account/password", data={"current_password": PASSWORD, "password": "another long one"}
    )
    assert response.status_code == 302
    assert is_logged_in(client)
    assert not is_logged_in(elsewhere)
    assert not is_logged_in(copy)


def test_an_admin_setting_a_password_ends_the_users_sessions(app, client, make):
    user = make.user()
    theirs = logged_in(app.test_client(), user)
    client.login_as(make.user(Role.ADMIN))
    response = client.post(f"/users/{user.id}/password", data={"password": "a brand new one"})
    assert response.status_code == 302
    assert not is_logged_in(theirs)
    assert is_logged_in(logged_in(theirs, user, "a brand new one"))


def test_an_admin_setting_their_own_password_stays_logged_in_here_only(app, client, make):
    admin = make.user(Role.ADMIN)
    elsewhere = logged_in(app.test_client(), admin)
    logged_in(client, admin)
    client.post(f"/users/{admin.id}/password", data={"password": "a brand new one"})
    assert is_logged_in(client)
    assert not is_logged_in(elsewhere)


def test_an_admin_changing_the_role_ends_the_users_sessions(app, client, make):
    user = make.user(Role.TREASURER)
    theirs = logged_in(app.test_client(), user)
    client.login_as(make.user(Role.ADMIN))
    response = client.post(
        f"/users/{user.id}/edit",
        data={"name": user.name, "roles": "manager", "member_code": "", "is_active": "y"},
    )
    assert response.status_code == 302
    assert user.roles == {Role.MANAGER}
    assert not is_logged_in(theirs)


def test_an_admin_renaming_a_user_keeps_their_sessions(app, client, make):
    user = make.user(Role.TREASURER)
    theirs = logged_in(app.test_client(), user)
    client.login_as(make.user(Role.ADMIN))
    client.post(
        f"/users/{user.id}/edit",
        data={"name": "Trésorière", "roles": "treasurer", "member_code": "", "is_active": "y"},
    )
    assert user.name == "Trésorière"
    assert is_logged_in(theirs)


def test_a_disabled_then_enabled_account_does_not_get_its_old_sessions_back(app, client, make):
    user = make.user(Role.MANAGER)
    theirs = logged_in(app.test_client(), user)
    client.login_as(make.user(Role.ADMIN))
    edit = {"name": user.name, "roles": "manager", "member_code": ""}
    client.post(f"/users/{user.id}/edit", data=edit)
    assert not user.is_active
    assert not is_logged_in(theirs)
    client.post(f"/users/{user.id}/edit", data={**edit, "is_active": "y"})
    assert user.is_active
    assert not is_logged_in(theirs)


def test_logging_out_everywhere_ends_every_session_of_the_user(app, client, make):
    user = make.user()
    elsewhere = logged_in(app.test_client(), user)
    logged_in(client, user)
    assert "Se déconnecter partout" in client.get("/account/password").text
    response = client.post("/account/logout-everywhere")
    assert response.location == "/login"
    assert not is_logged_in(client)
    assert not is_logged_in(elsewhere)


def test_an_admin_logs_a_user_out_everywhere(app, client, make):
    user = make.user()
    theirs = logged_in(app.test_client(), user)
    admin = make.user(Role.ADMIN)
    client.login_as(admin)
    assert "Se déconnecter partout" in client.get(f"/users/{user.id}/edit").text
    response = client.post(f"/users/{user.id}/logout-everywhere")
    assert response.location == f"/users/{user.id}/edit"
    assert not is_logged_in(theirs)
    assert is_logged_in(client)


def test_only_an_admin_logs_someone_else_out_everywhere(app, client, make):
    user = make.user()
    theirs = logged_in(app.test_client(), user)
    client.login_as(make.user(Role.MANAGER))
    assert client.post(f"/users/{user.id}/logout-everywhere").status_code == 403
    assert is_logged_in(theirs)


def test_a_session_from_before_session_versions_is_refused(client, make):
    user = make.user()
    for stale in (str(user.id), f"{user.id}:", f"{user.id}:x", "x:0", ""):
        with client.session_transaction() as session:
            session["_user_id"] = stale
        assert not is_logged_in(client)


def test_a_deactivated_then_reactivated_shop_does_not_get_its_old_sessions_back(app, client, make):
    user = make.user()
    theirs = logged_in(app.test_client(), user)
    client.login_as(make.user(Role.MANAGER))
    client.post(f"/members/{user.member.id}/deactivate")
    assert not is_logged_in(theirs)
    client.post(f"/members/{user.member.id}/reactivate")
    assert user.member.is_active
    assert not is_logged_in(theirs)
