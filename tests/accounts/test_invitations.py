"""Invitations: a single-use link, valid 7 days, where the invited person opens the account."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from coop import mail
from coop.accounts import invitations
from coop.accounts.models import AccountToken, Role, User
from coop.accounts.tokens import hash_token
from coop.errors import NotAllowed
from coop.extensions import db
from tests import factories
from tests.conftest import at_once

NEW_PASSWORD = "a brand new password"


@pytest.fixture(autouse=True)
def outbox(db_session):
    sent = mail.sent_messages()
    sent.clear()
    yield sent
    sent.clear()


def link_in(message) -> str:
    """The path of the link an e-mail carries."""
    text = message.get_body(("plain",)).get_content()
    return re.search(r"http://coop\.test(/\S+)", text).group(1)


def invite(client, member, email):
    return client.post(f"/members/{member.id}/invite", data={"email": email})


def accept(client, path, name="Camille Martin", password=NEW_PASSWORD, again=None):
    return client.post(
        path, data={"name": name, "password": password, "password_again": again or password}
    )


def tokens_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AccountToken))


def test_the_manager_invites_a_shops_contact_who_opens_the_account_and_is_logged_in(
    client, make, outbox
):
    shop = make.member(email="contact@velo.example")
    client.login_as(make.user(Role.MANAGER))
    page = client.get(f"/members/{shop.id}")
    assert 'value="contact@velo.example"' in page.text  # the contact, offered
    response = invite(client, shop, "contact@velo.example")
    assert response.status_code == 302
    assert [m["To"] for m in outbox] == ["contact@velo.example"]
    path = link_in(outbox[0])
    assert path.startswith("/invitation/")

    client.post("/logout")
    assert "Ouvrir votre compte" in client.get(path).text
    response = accept(client, path)
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "contact@velo.example"))
    assert (user.name, user.roles, user.member) == ("Camille Martin", {Role.MEMBER}, shop)
    assert client.get("/shop").status_code == 200  # logged in as the shop
    assert "Compte actif" in client.get("/shop").text


def test_the_database_keeps_only_the_hash_of_a_link(client, make, outbox):
    client.login_as(make.user(Role.MANAGER))
    invite(client, make.member(), "someone@velo.example")
    raw = link_in(outbox[0]).rsplit("/", 1)[1]
    stored = db.session.scalars(select(AccountToken.token_hash)).all()
    assert stored == [hash_token(raw)]
    assert raw not in stored


def test_an_invitation_link_expires_after_seven_days(client, make, outbox):
    client.login_as(make.user(Role.MANAGER))
    invite(client, make.member(), "late@velo.example")
    token = db.session.scalar(select(AccountToken))
    assert token.expires_at - token.created_at == timedelta(days=7)
    token.expires_at -= timedelta(days=7)
    db.session.commit()
    client.post("/logout")
    response = accept(client, link_in(outbox[0]))
    assert response.status_code == 410
    assert "Ce lien a expiré : demandez-en un nouveau" in response.text
    assert db.session.scalar(select(User).where(User.email == "late@velo.example")) is None


def test_an_invitation_link_used_twice_says_it_has_already_served(client, make, outbox):
    client.login_as(make.user(Role.MANAGER))
    invite(client, make.member(), "twice@velo.example")
    path = link_in(outbox[0])
    client.post("/logout")
    assert accept(client, path).status_code == 302
    client.post("/logout")
    response = accept(client, path, name="Someone else", password="another password!")
    assert response.status_code == 410
    assert "Ce lien a déjà servi" in response.text
    assert client.get(path).status_code == 410


def test_a_revoked_invitation_no_longer_opens_an_account(client, make, outbox):
    shop = make.member()
    client.login_as(make.user(Role.MANAGER))
    invite(client, shop, "revoked@velo.example")
    token = db.session.scalar(select(AccountToken))
    assert "Retirer l" in client.get(f"/invitations/{token.id}/revoke").text  # confirms first
    assert client.post(f"/invitations/{token.id}/revoke").status_code == 302
    assert token.revoked_at is not None
    client.post("/logout")
    response = accept(client, link_in(outbox[0]))
    assert response.status_code == 410
    assert "Ce lien n'est plus valable" in response.text
    assert db.session.scalar(select(User).where(User.email == "revoked@velo.example")) is None


def test_an_unknown_or_another_purposes_link_is_refused(client, make, outbox):
    user = make.user(Role.MANAGER)
    client.post("/password/forgot", data={"email": user.email})
    reset_path = link_in(outbox[0])
    raw = reset_path.rsplit("/", 1)[1]
    assert client.get(f"/invitation/{raw}").status_code == 404
    response = accept(client, f"/invitation/{raw}")
    assert response.status_code == 404
    assert "Lien inconnu" in response.text
    assert client.get("/invitation/not-a-token").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_resending_replaces_the_old_link(client, make, outbox):
    shop = make.member()
    client.login_as(make.user(Role.MANAGER))
    invite(client, shop, "again@velo.example")
    first = db.session.scalar(select(AccountToken))
    assert client.post(f"/invitations/{first.id}/resend").status_code == 302
    assert [m["To"] for m in outbox] == ["again@velo.example"] * 2
    old_path, new_path = link_in(outbox[0]), link_in(outbox[1])
    assert old_path != new_path
    client.post("/logout")
    assert client.get(old_path).status_code == 410
    assert accept(client, new_path).status_code == 302


def test_inviting_an_address_again_replaces_its_waiting_invitation(client, make, outbox):
    shop = make.member()
    client.login_as(make.user(Role.MANAGER))
    invite(client, shop, "dup@velo.example")
    invite(client, shop, "dup@velo.example")
    assert len(invitations.invitations_of(shop)) == 1
    assert client.get(link_in(outbox[0])).status_code == 410


def test_a_shop_inviting_an_address_leaves_another_shops_invitation_of_it_alone(db_session, make):
    manager = make.user(Role.MANAGER)
    elsewhere = invitations.invite("both@velo.example", actor=manager, member=make.member())
    holder = make.user(Role.MEMBER)
    invitations.invite("both@velo.example", actor=holder, member=holder.member)
    assert elsewhere.revoked_at is None


def test_an_address_that_has_an_account_is_not_invited(client, make, outbox):
    shop = make.member()
    make.user(Role.MEMBER, member=shop, email="taken@velo.example")
    client.login_as(make.user(Role.MANAGER))
    response = invite(client, shop, "TAKEN@velo.example")
    assert response.status_code == 422
    assert "Un compte existe déjà pour taken@velo.example." in response.text
    assert (tokens_count(), outbox) == (0, [])


def test_a_shop_account_holder_invites_colleagues_of_its_own_shop_only(client, make, outbox):
    holder = make.user(Role.MEMBER)
    other = make.member()
    client.login_as(holder)
    assert "Inviter un·e collègue" in client.get("/shop").text
    assert invite(client, other, "intruder@velo.example").status_code == 403
    assert (tokens_count(), outbox) == (0, [])
    assert invite(client, holder.member, "colleague@velo.example").status_code == 302
    client.post("/logout")
    accept(client, link_in(outbox[0]))
    colleague = db.session.scalar(select(User).where(User.email == "colleague@velo.example"))
    assert (colleague.member, colleague.roles) == (holder.member, {Role.MEMBER})


def test_a_shop_account_holder_may_not_resend_nor_revoke_another_shops_invitation(client, make):
    manager = make.user(Role.MANAGER)
    invitation = invitations.invite("x@velo.example", actor=manager, member=make.member())
    db.session.commit()
    client.login_as(make.user(Role.MEMBER))
    assert client.post(f"/invitations/{invitation.id}/resend").status_code == 403
    assert client.post(f"/invitations/{invitation.id}/revoke").status_code == 403
    assert invitation.revoked_at is None and tokens_count() == 1


def test_a_member_may_not_invite_staff_and_only_the_admin_does(db_session, make):
    holder = make.user(Role.MEMBER)
    for actor in (holder, make.user(Role.MANAGER), make.user(Role.TREASURER)):
        with pytest.raises(NotAllowed):
            invitations.invite("boss@velo.example", actor=actor, role=Role.MANAGER)
    with pytest.raises(NotAllowed):
        invitations.invite("boss@velo.example", actor=holder, member=holder.member, role=Role.ADMIN)
    assert tokens_count() == 0
    invitation = invitations.invite(
        "boss@velo.example", actor=make.user(Role.ADMIN), role=Role.MANAGER
    )
    assert (invitation.role, invitation.member) == (Role.MANAGER, None)


def test_the_admin_invites_a_staff_member_who_opens_a_staff_account(client, make, outbox):
    client.login_as(make.user(Role.ADMIN))
    form = client.get("/users/invite").text
    assert 'value="treasurer"' in form and 'value="member"' not in form
    response = client.post("/users/invite", data={"email": "new@velo.example", "role": "manager"})
    assert response.status_code == 302
    users_page = client.get("/users/").text
    assert users_page.count("<td>new@velo.example</td>") == 1  # waiting: resend, revoke
    assert "<title>Comptes" in users_page
    client.post("/logout")
    accept(client, link_in(outbox[0]), name="Nouvelle gérante")
    user = db.session.scalar(select(User).where(User.email == "new@velo.example"))
    assert (user.name, user.roles, user.member) == ("Nouvelle gérante", {Role.MANAGER}, None)


def test_a_staff_invitation_with_an_unknown_role_is_refused_next_to_the_field(client, make):
    client.login_as(make.user(Role.ADMIN))
    response = client.post("/users/invite", data={"email": "x@velo.example", "role": "boss"})
    assert response.status_code == 200
    assert "Choisissez un rôle de la liste." in response.text
    response = client.post("/users/invite", data={"email": "x@velo.example", "role": "member"})
    assert "Vous ne pouvez pas inviter à ce compte." in response.text
    assert tokens_count() == 0


def test_a_treasurer_may_not_invite_shops(client, make):
    shop = make.member()
    client.login_as(make.user(Role.TREASURER))
    assert "Inviter" not in client.get(f"/members/{shop.id}").text
    assert invite(client, shop, "someone@velo.example").status_code == 403
    assert client.get("/members/invite-all").status_code == 403
    assert tokens_count() == 0


def test_mismatched_passwords_keep_the_form_and_open_nothing(client, make, outbox):
    client.login_as(make.user(Role.MANAGER))
    invite(client, make.member(), "typo@velo.example")
    client.post("/logout")
    response = accept(client, link_in(outbox[0]), again="not the same one")
    assert response.status_code == 200
    assert "Les deux mots de passe ne sont pas identiques." in response.text
    assert 'value="Camille Martin"' in response.text
    assert db.session.scalar(select(User).where(User.email == "typo@velo.example")) is None
    assert db.session.scalar(select(AccountToken.used_at)) is None


def test_an_invitation_to_a_shop_deactivated_since_is_refused(client, make, outbox):
    shop = make.member()
    client.login_as(make.user(Role.MANAGER))
    invite(client, shop, "closed@velo.example")
    shop.is_active = False
    db.session.commit()
    client.post("/logout")
    response = accept(client, link_in(outbox[0]))
    assert "Cet atelier n&#39;est plus actif" in response.text
    assert db.session.scalar(select(User).where(User.email == "closed@velo.example")) is None


# --- inviting every shop without an account ------------------------------------------------


def shops_for_bulk(make):
    """One shop of each kind the bulk invitation sorts out."""
    return {
        "to_invite": make.member(code="AAA1", name="Atelier Un", email="un@velo.example"),
        "to_invite_too": make.member(code="AAA2", name="Atelier Deux", email="deux@velo.example"),
        "has_account": make.user(Role.MEMBER, member=make.member(code="AAA3")).member,
        "no_email": make.member(code="AAA4", name="Atelier Sans Mail", email=None),
        "inactive": make.member(code="AAA5", is_active=False),
    }


def test_the_bulk_dry_run_says_who_will_be_invited_and_writes_nothing(client, make, outbox):
    shops_for_bulk(make)
    client.login_as(make.user(Role.MANAGER))
    page = client.get("/members/invite-all")
    assert page.status_code == 200
    assert "2 ateliers seront invités :" in page.text
    assert "Atelier Un (un@velo.example), Atelier Deux (deux@velo.example)." in page.text
    assert "1 atelier sans e-mail ne sera pas invité" in page.text
    assert "Atelier Sans Mail" in page.text
    assert (tokens_count(), outbox) == (0, [])


def test_the_bulk_invitation_sends_one_per_shop_without_an_account_and_skips_the_others(
    client, make, outbox
):
    shops = shops_for_bulk(make)
    client.login_as(make.user(Role.MANAGER))
    assert "2 ateliers actifs n'ont pas encore de compte" in client.get("/members/").text
    response = client.post("/members/invite-all")
    assert response.status_code == 302
    assert sorted(m["To"] for m in outbox) == ["deux@velo.example", "un@velo.example"]
    sent_to = db.session.execute(select(AccountToken.member_id, AccountToken.email)).all()
    assert sorted(sent_to) == sorted(
        [
            (shops["to_invite"].id, "un@velo.example"),
            (shops["to_invite_too"].id, "deux@velo.example"),
        ]
    )
    # Sent again: the shops invited have an invitation waiting, nobody is invited twice.
    outbox.clear()
    client.post("/members/invite-all")
    assert (tokens_count(), outbox) == (2, [])
    assert "Aucun atelier à inviter" in client.get("/members/invite-all").text


def test_the_member_list_shows_each_shops_account_state(client, make):
    manager = make.user(Role.MANAGER)
    active = make.user(Role.MEMBER, member=make.member(code="ST1")).member
    disabled = make.user(Role.MEMBER, member=make.member(code="ST2"), is_active=False).member
    invited, expired, none = (
        make.member(code="ST3"),
        make.member(code="ST4"),
        make.member(code="ST5"),
    )
    invitations.invite("a@velo.example", actor=manager, member=invited)
    invitations.invite("b@velo.example", actor=manager, member=expired).expires_at -= timedelta(
        days=8
    )
    db.session.commit()
    states = invitations.account_states([s.id for s in (active, disabled, invited, expired, none)])
    assert list(states.values()) == ["active", "disabled", "invited", "expired", "none"]
    client.login_as(manager)
    page = client.get("/members/?q=ST").text
    for label in (
        "Compte actif",
        "Comptes désactivés",
        "Invité",
        "Invitation expirée",
        "Sans compte",
    ):
        assert label in page
    assert "Invitation expirée" in client.get(f"/members/{expired.id}").text


def test_two_managers_inviting_every_shop_at_once_invite_each_shop_once(committing_app):
    with committing_app.app_context():
        for n in range(3):
            factories.member(email=f"shop{n}@velo.example")
        managers = [factories.user(Role.MANAGER).get_id() for _ in range(2)]
        sent = mail.sent_messages()
        sent.clear()

    def invite_all(start):
        client = committing_app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = managers.pop()
        start()
        return client.post("/members/invite-all").status_code

    done, refused = at_once(committing_app, invite_all)
    assert (done, refused) == ([302, 302], [])
    assert sorted(m["To"] for m in sent) == [f"shop{n}@velo.example" for n in range(3)]
    with committing_app.app_context():
        assert tokens_count() == 3


def test_one_invitation_link_sent_twice_at_once_opens_one_account(committing_app):
    with committing_app.app_context():
        sent = mail.sent_messages()
        sent.clear()
        manager, shop = factories.user(Role.MANAGER), factories.member()
        invitations.invite("race@velo.example", actor=manager, member=shop)
        db.session.commit()
    path = link_in(sent[0])

    def open_account(start):
        client = committing_app.test_client()
        start()
        return accept(client, path).status_code

    done, refused = at_once(committing_app, open_account)
    assert (sorted(done), refused) == ([302, 410], [])
    with committing_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 2
