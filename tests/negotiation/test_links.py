"""A supplier's private link: unguessable, tamper-proof, revocable, expiring; its own lines only."""

from datetime import timedelta

import pytest
from itsdangerous import URLSafeTimedSerializer

from coop.clock import now
from coop.extensions import db
from coop.negotiation import links, rfqs
from coop.negotiation.links import LinkRefused, LinkState, open_link, token_for
from coop.negotiation.models import QuoteAnswer
from tests.negotiation import factories as nf


@pytest.fixture
def two_suppliers(make):
    """A sent RFQ on two parts: Lyon Pneu is asked both, Milano Gomme only the first."""
    tyre, tube = make.part(sku="TYR-700X28"), make.part(sku="TUB-700")
    lyon = make.supplier(name="Lyon Pneu", email="devis@lyonpneu.example", is_local=True)
    milano = make.supplier(name="Milano Gomme", country="IT", email="preventivi@milano.example")
    rfq = nf.rfq(parts=[tyre, tube], suppliers=[lyon])
    rfqs.set_suppliers(rfq, {rfq.lines[0].id: {lyon.id, milano.id}, rfq.lines[1].id: {lyon.id}})
    rfqs.send_rfq(rfq, at=now())
    db.session.commit()
    return rfq, nf.invitation_of(rfq, lyon), nf.invitation_of(rfq, milano)


def test_a_token_opens_its_own_invitation_only(two_suppliers):
    _, lyon, milano = two_suppliers
    assert open_link(token_for(lyon), now()) is lyon
    assert open_link(token_for(milano), now()) is milano
    assert token_for(lyon) != token_for(milano)


def test_a_token_carries_a_random_id_not_a_database_id(two_suppliers):
    _, lyon, milano = two_suppliers
    assert len(lyon.link_id) == 32 and lyon.link_id != milano.link_id
    assert lyon.link_id not in token_for(milano)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # the signature
        lambda t: "x" + t[1:],  # the payload
        lambda t: t.split(".")[0],  # no signature at all
        lambda t: "",
    ],
)
def test_a_tampered_token_is_refused(two_suppliers, tamper):
    _, lyon, _ = two_suppliers
    with pytest.raises(LinkRefused) as refused:
        open_link(tamper(token_for(lyon)), now())
    assert refused.value.state is LinkState.INVALID


def test_a_token_signed_with_another_key_is_refused(app, two_suppliers):
    _, lyon, _ = two_suppliers
    forged = URLSafeTimedSerializer("another-key", salt=links.QUOTE_LINKS.salt).dumps(lyon.link_id)
    with pytest.raises(LinkRefused) as refused:
        open_link(forged, now())
    assert refused.value.state is LinkState.INVALID


def test_a_guessed_id_signed_correctly_but_unknown_is_refused(app, two_suppliers):
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=links.QUOTE_LINKS.salt)
    guessed = serializer.dumps("guess")
    with pytest.raises(LinkRefused) as refused:
        open_link(guessed, now())
    assert refused.value.state is LinkState.INVALID


def test_an_expired_link_is_refused_after_the_deadline_day(two_suppliers):
    rfq, lyon, _ = two_suppliers
    assert open_link(token_for(lyon), rfq.answer_by - timedelta(seconds=1)) is lyon
    with pytest.raises(LinkRefused) as refused:
        open_link(token_for(lyon), rfq.answer_by)
    assert refused.value.state is LinkState.EXPIRED


def test_a_revoked_link_is_refused_and_a_renewed_one_replaces_it(two_suppliers):
    _, lyon, _ = two_suppliers
    old = token_for(lyon)
    rfqs.revoke_link(lyon, at=now())
    db.session.commit()
    with pytest.raises(LinkRefused) as refused:
        open_link(old, now())
    assert refused.value.state is LinkState.REVOKED
    rfqs.renew_link(lyon, at=now())
    db.session.commit()
    assert open_link(token_for(lyon), now()) is lyon
    with pytest.raises(LinkRefused) as refused:
        open_link(old, now())
    assert refused.value.state is LinkState.INVALID


def test_closing_the_rfq_closes_every_link(two_suppliers):
    rfq, lyon, milano = two_suppliers
    rfqs.close_rfq(rfq, at=now())
    db.session.commit()
    for invitation in (lyon, milano):
        with pytest.raises(LinkRefused) as refused:
            open_link(token_for(invitation), now())
        assert refused.value.state is LinkState.CLOSED


# --- through the pages ---------------------------------------------------------------------


def test_refused_links_get_a_clear_page_not_an_error(client, two_suppliers):
    _rfq, lyon, milano = two_suppliers
    page = client.get("/q/not-a-real-token")
    assert page.status_code == 404
    assert "Lien inconnu" in page.text and "Traceback" not in page.text
    lyon.expires_at = now() - timedelta(minutes=1)
    rfqs.revoke_link(milano, at=now())
    db.session.commit()
    expired = client.get(f"/q/{token_for(lyon)}")
    assert expired.status_code == 410 and "Ce lien a expiré" in expired.text
    revoked = client.get(f"/q/{token_for(milano)}")
    assert revoked.status_code == 410 and "n'est plus valable" in revoked.text
    assert client.get(f"/q/{token_for(milano)}/rfq.csv").status_code == 410


def test_a_supplier_sees_its_own_lines_and_nothing_of_other_prices(client, make, two_suppliers):
    rfq, lyon, milano = two_suppliers
    tyre = rfq.lines[0].part
    make.offer(make.supplier(name="Taipei Tyres", country="TW"), tyre, tiers=((1, "7.77"),))
    nf.answer(lyon, tiers=((1, "8.88"),))
    page = client.get(f"/q/{token_for(milano)}")
    assert page.status_code == 200
    assert "TYR-700X28" in page.text
    assert "TUB-700" not in page.text  # Milano was not asked for the tube
    for secret in ("7,77", "7.77", "8,88", "8.88", "Lyon Pneu", "Taipei"):
        assert secret not in page.text
    csv_text = client.get(f"/q/{token_for(milano)}/rfq.csv").data.decode("utf-8-sig")
    assert "TUB-700" not in csv_text and "8,88" not in csv_text and "7,77" not in csv_text


def test_a_supplier_cannot_answer_another_suppliers_line(client, two_suppliers):
    _, lyon, milano = two_suppliers
    lyon_quote = lyon.quotes[0]
    response = client.post(
        f"/q/{token_for(milano)}",
        data={
            "lines-0-quote_id": str(lyon_quote.id),
            "lines-0-pack_size": "1",
            "lines-0-tiers-0-min_qty": "1",
            "lines-0-tiers-0-unit_price": "0,01",
            "action": "submit",
        },
    )
    assert response.status_code == 422
    assert "ne fait pas partie de votre demande" in response.text
    db.session.expire_all()
    assert db.session.query(QuoteAnswer).count() == 0


def test_the_supplier_page_is_never_cached_nor_indexed(client, two_suppliers):
    _, lyon, _ = two_suppliers
    response = client.get(f"/q/{token_for(lyon)}")
    assert response.headers["Cache-Control"] == "no-store"
    assert "noindex" in response.headers["X-Robots-Tag"]


def test_the_supplier_page_speaks_french_then_english_on_request(client, two_suppliers):
    _, lyon, _ = two_suppliers
    url = f"/q/{token_for(lyon)}"
    assert '<html lang="fr">' in client.get(url).text
    assert "Envoyer ma réponse" in client.get(url).text
    english = client.get(url + "?lang=en").text
    assert '<html lang="en">' in english and "Send my answer" in english
    browser = client.get(url, headers={"Accept-Language": "en-GB,en;q=0.9"}).text
    assert '<html lang="en">' in browser
    german = client.get(url, headers={"Accept-Language": "de-DE"}).text
    assert '<html lang="fr">' in german


def test_staff_pages_still_ignore_the_browser_language(client, make):
    from coop.accounts.models import Role

    client.login_as(make.user(Role.MANAGER))
    page = client.get("/rfqs/", headers={"Accept-Language": "en"}).text
    assert '<html lang="fr">' in page


def test_opening_the_link_is_recorded_once(client, two_suppliers):
    _, lyon, _ = two_suppliers
    client.get(f"/q/{token_for(lyon)}")
    first = lyon.opened_at
    assert first is not None
    client.get(f"/q/{token_for(lyon)}")
    assert lyon.opened_at == first


def test_a_forged_form_gets_an_answer_not_an_error(client, two_suppliers):
    _, lyon, _ = two_suppliers
    response = client.post(
        f"/q/{token_for(lyon)}", data={"lines-0-quote_id": "drop table", "action": "submit"}
    )
    assert response.status_code == 422
    assert lyon.quotes[0].answers == []
