"""A maker's private link, like a supplier's quote link: its own invitation only; tampered,
expired, revoked and closed links get the same clear page."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from coop.accounts.models import Role
from coop.clock import now
from coop.extensions import db
from coop.negotiation import links as quote_links
from coop.negotiation.links import LinkRefused, LinkState
from coop.relocation import calls, files
from coop.relocation.links import MAKER_LINKS, open_link, token_for
from coop.relocation.models import CallAnswer
from tests.html import form_values
from tests.negotiation import factories as nf
from tests.relocation import factories as rf

PDF = b"%PDF-1.7\n%%EOF\n"


@pytest.fixture
def two_makers(make):
    """A published call on a chain, Forge du Gier and Méca invited; the Forge answered 7,77 €."""
    call = rf.published(make.part(sku="CHN-11S"))
    forge, meca = call.invitations
    rf.answer(forge, tiers=((1, "7.77"),), comment="Notre secret de forge")
    return call, forge, meca


def test_a_token_opens_its_own_invitation_only(two_makers):
    _, forge, meca = two_makers
    assert open_link(token_for(forge), now()) is forge
    assert open_link(token_for(meca), now()) is meca
    assert forge.link_id != meca.link_id and forge.link_id not in token_for(meca)


def test_a_quote_link_opens_no_call_and_a_call_link_no_quote(make, two_makers):
    _, forge, _ = two_makers
    rfq = nf.sent_rfq()
    supplier_invitation = rfq.invitations[0]
    with pytest.raises(LinkRefused) as refused:
        open_link(quote_links.QUOTE_LINKS.token(forge.link_id), now())
    assert refused.value.state is LinkState.INVALID
    with pytest.raises(LinkRefused):
        quote_links.open_link(MAKER_LINKS.token(supplier_invitation.link_id), now())


@pytest.mark.parametrize("tamper", [lambda t: "x" + t[1:], lambda t: t.split(".")[0], lambda t: ""])
def test_a_tampered_token_is_refused(two_makers, tamper):
    _, forge, _ = two_makers
    with pytest.raises(LinkRefused) as refused:
        open_link(tamper(token_for(forge)), now())
    assert refused.value.state is LinkState.INVALID


def test_another_makers_page_shows_nothing_of_this_ones_answers(client, two_makers):
    _, forge, meca = two_makers
    page = client.get(f"/m/{token_for(meca)}")
    assert page.status_code == 200
    assert "Méca" in page.text
    assert "7,77" not in page.text and "Notre secret de forge" not in page.text
    assert "Forge du Gier" not in page.text
    own = client.get(f"/m/{token_for(forge)}")
    assert "7,77" in own.text and "Notre secret de forge" in own.text


def test_answering_through_a_link_answers_for_its_own_maker_only(client, two_makers):
    _, forge, meca = two_makers
    token = token_for(meca)
    data = form_values(client.get(f"/m/{token}").text, f"/m/{token}") | {
        "tiers-0-min_qty": "1",
        "tiers-0-unit_price": "8,10",
        "lead_time_days": "15",
        "yearly_capacity": "3000",
    }
    assert client.post(f"/m/{token}", data=data).status_code == 302
    assert [a.tier_values for a in meca.answers] == [[(1, Decimal("8.1000"))]]
    assert len(forge.answers) == 1


@pytest.mark.parametrize(
    ("spoil", "status", "heading"),
    [
        (
            lambda call, i: setattr(i, "expires_at", now() - timedelta(minutes=1)),
            410,
            "Ce lien a expiré",
        ),
        (lambda call, i: setattr(i, "revoked_at", now()), 410, "plus valable"),
        (lambda call, i: calls.close_call(call, at=now()), 410, "Cet appel à fabricants est clos"),
    ],
)
def test_refused_links_get_the_quote_links_clear_page(client, two_makers, spoil, status, heading):
    call, forge, _ = two_makers
    token = token_for(forge)
    spoil(call, forge)
    db.session.commit()
    for response in (
        client.get(f"/m/{token}"),
        client.post(f"/m/{token}/message", data={"body": "Bonjour"}),
        client.post(f"/m/{token}", data={"lead_time_days": "1", "yearly_capacity": "1"}),
    ):
        assert response.status_code == status
        assert heading in response.text
        assert "Traceback" not in response.text
    assert db.session.scalar(select(func.count(CallAnswer.id))) == 1
    if heading == "Ce lien a expiré":
        assert "Le délai de réponse à cet appel à fabricants est passé." in response.text


def test_an_unknown_link_is_a_404_with_the_same_page(client):
    response = client.get(f"/m/{MAKER_LINKS.token('not-a-link')}")
    assert response.status_code == 404 and "Lien inconnu" in response.text


def test_a_renewed_link_replaces_the_old_one(client, make, two_makers):
    call, forge, _ = two_makers
    old = token_for(forge)
    client.login_as(make.user(Role.MANAGER))
    page = client.get(f"/calls/{call.id}/makers/{forge.id}")
    action = f"/calls/{call.id}/makers/{forge.id}/renew"
    assert client.post(action, data=form_values(page.text, action)).status_code == 302
    assert client.get(f"/m/{old}").status_code == 404
    assert client.get(f"/m/{token_for(forge)}").status_code == 200


def test_a_maker_downloads_its_calls_files_and_no_other(client, make, two_makers):
    call, forge, _ = two_makers
    own = files.add_file(call, "plan.pdf", PDF)
    other_call = rf.call()
    elsewhere = files.add_file(other_call, "secret.pdf", PDF)
    db.session.commit()
    token = token_for(forge)
    response = client.get(f"/m/{token}/files/{own.id}")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Disposition"] == 'attachment; filename="plan.pdf"'
    assert client.get(f"/m/{token}/files/{elsewhere.id}").status_code == 404


def test_the_makers_page_is_never_cached_nor_indexed(client, two_makers):
    _, forge, _ = two_makers
    response = client.get(f"/m/{token_for(forge)}")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"


def test_opening_the_link_is_recorded_once(client, two_makers):
    _, _, meca = two_makers
    client.get(f"/m/{token_for(meca)}")
    first = meca.opened_at
    client.get(f"/m/{token_for(meca)}")
    assert first is not None and meca.opened_at == first


def test_files_are_attached_from_bytes_too(make):
    call = rf.call()
    attached = files.add_file(call, "pièce.STEP", b"ISO-10303-21;\nHEADER;\n")
    assert (attached.filename, attached.content_type) == ("piece.step", "model/step")
    with pytest.raises(Exception, match="seuls les PDF"):
        files.add_file(call, "macro.xlsm", b"PK\x03\x04")
    with pytest.raises(Exception, match="DXF"):
        files.add_file(call, "plan.dxf", b"\x00\x01binary")
    dxf = files.add_file(call, "plan.dxf", b"  0\nSECTION\n  2\nHEADER\n")
    assert dxf.content_type == "image/vnd.dxf"
