"""The manager's call pages, from a new call to an accepted answer, and the maker's page."""

import io
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from coop import mail
from coop.accounts.models import Role
from coop.activity.models import Activity
from coop.clock import today
from coop.extensions import db
from coop.relocation.models import (
    CallAcceptance,
    CallFile,
    CallInvitation,
    CallMessage,
    CallStatus,
    ManufacturerCall,
)
from coop.suppliers.models import AgreementStatus, FrameworkAgreement, Offer, Supplier
from tests.html import form_values
from tests.relocation import factories as rf

D = Decimal
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def test_a_call_created_from_its_form_is_stored_as_typed(client, make):
    chain = make.part(sku="CHN-11S", name="Chaîne 11v", category="chaines")
    client.login_as(make.user(Role.MANAGER))
    page = client.get("/calls/new?part=CHN-11S")
    assert page.status_code == 200
    data = form_values(page.text) | {
        "specification": "Chaîne 11 vitesses, 116 maillons, acier traité.",
        "annual_volume": "1200",
        "target_price": "9,50",
        "duration_months": "24",
    }
    response = client.post("/calls/new", data=data)
    assert response.status_code == 302
    call = db.session.scalar(select(ManufacturerCall))
    assert response.location == f"/calls/{call.id}"
    assert (call.part, call.category, call.annual_volume, call.target_price) == (
        chain,
        None,
        1200,
        D("9.5000"),
    )
    assert call.status is CallStatus.DRAFT
    assert call.title == "Fabrication locale : Chaîne 11v"
    assert call.deadline_on == today() + timedelta(days=30)
    assert call.code.startswith("AF-") and call.code.endswith("-001")
    assert db.session.scalar(select(Activity.action)) == "manufacturer_call.created"


def test_a_call_on_a_family_and_a_part_at_once_is_refused_naming_the_field(client, make):
    make.part(sku="CHN-11S", category="chaines")
    client.login_as(make.user(Role.MANAGER))
    data = form_values(client.get("/calls/new?part=CHN-11S").text) | {
        "specification": "Spec",
        "annual_volume": "10",
        "category": "chaines",
    }
    response = client.post("/calls/new", data=data)
    assert response.status_code == 200
    assert "mais pas les deux" in response.text
    assert db.session.scalar(select(func.count(ManufacturerCall.id))) == 0


def test_files_are_kept_by_kind_and_a_disguised_file_is_refused(client, make):
    call = rf.call()
    client.login_as(make.user(Role.MANAGER))
    response = client.post(
        f"/calls/{call.id}/files",
        data={"file": (io.BytesIO(PDF), "../../Plan chaîne.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    stored = db.session.scalar(select(CallFile))
    assert (stored.filename, stored.content_type, stored.size) == (
        "Plan_chaine.pdf",
        "application/pdf",
        len(PDF),
    )
    download = client.get(f"/calls/{call.id}/files/{stored.id}")
    assert download.data == PDF
    assert download.headers["Content-Disposition"] == 'attachment; filename="Plan_chaine.pdf"'
    assert download.mimetype == "application/pdf"

    refused = client.post(
        f"/calls/{call.id}/files",
        data={"file": (io.BytesIO(b"<html><script>alert(1)</script>"), "plan.pdf")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    assert "n&#39;est pas celui d&#39;un fichier PDF" in refused.text
    assert db.session.scalar(select(func.count(CallFile.id))) == 1


def test_inviting_makers_then_publishing_mails_each_its_own_link(client, make):
    call = rf.call()
    client.login_as(make.user(Role.MANAGER))
    for name, email, seed in (
        ("Forge du Gier", "forge@gier.example", 1),
        ("Méca", "m@l.example", 2),
    ):
        data = {"name": name, "email": email, "siret": make.valid_siret(seed)}
        assert client.post(f"/calls/{call.id}/makers", data=data).status_code == 302
    forge = db.session.scalar(select(CallInvitation).where(CallInvitation.name == "Forge du Gier"))
    assert (forge.email, forge.link_id) == ("forge@gier.example", None)
    mail.sent_messages().clear()

    page = client.get(f"/calls/{call.id}/publish")
    assert client.post(f"/calls/{call.id}/publish", data=form_values(page.text)).status_code == 302
    assert call.status is CallStatus.OPEN
    sent = mail.sent_messages()
    assert sorted(m["To"] for m in sent) == ["forge@gier.example", "m@l.example"]
    tokens = {m["To"]: rf.token_in(m.get_body(("plain",)).get_content()) for m in sent}
    assert tokens["forge@gier.example"] != tokens["m@l.example"]
    page = client.get(f"/m/{tokens['forge@gier.example']}")
    assert page.status_code == 200
    assert "Forge du Gier" in page.text and "Méca" not in page.text


def test_a_maker_answers_and_the_latest_answer_is_compared(client, make):
    chain = make.part(sku="CHN-11S")
    call = rf.published(chain, makers=("Forge du Gier",), annual_volume=1000)
    forge = call.invitations[0]
    token = rf.token_in(mail.sent_messages()[-1].get_body(("plain",)).get_content())
    page = client.get(f"/m/{token}")
    data = form_values(page.text, f"/m/{token}") | {
        "tiers-0-min_qty": "1",
        "tiers-0-unit_price": "11,00",
        "tiers-1-min_qty": "500",
        "tiers-1-unit_price": "9,20",
        "moq": "100",
        "pack_size": "10",
        "lead_time_days": "30",
        "yearly_capacity": "4000",
        "samples_on": (today() + timedelta(days=20)).isoformat(),
        "comment": '=HYPERLINK("x")',
    }
    response = client.post(f"/m/{token}", data=data)
    assert response.status_code == 302
    answer = forge.latest
    assert (answer.tier_values, answer.moq, answer.pack_size) == (
        [(1, D("11.0000")), (500, D("9.2000"))],
        100,
        10,
    )
    assert (answer.lead_time_days, answer.yearly_capacity) == (30, 4000)
    assert answer.comment == '=HYPERLINK("x")'
    assert forge.messages[-1].by_maker and forge.messages[-1].remote_addr == "127.0.0.1"

    # A second answer: the latest counts.
    rf.answer(forge, tiers=((1, "8.80"),))
    client.login_as(make.user(Role.MANAGER))
    page = client.get(f"/calls/{call.id}")
    assert "8,80" in page.text and "-7,4 %" in page.text  # (8,80 - 9,50) / 9,50


def test_accepting_an_answer_makes_the_supplier_its_offer_and_a_draft_agreement_once(client, make):
    chain = make.part(sku="CHN-11S")
    call = rf.published(chain, makers=("Forge du Gier", "Méca"), annual_volume=1200)
    forge = call.invitations[0]
    answer = rf.answer(forge, tiers=((1, "10.00"), (1000, "9.00")), moq=50, pack_size=10)
    manager = make.user(Role.MANAGER)
    client.login_as(manager)
    address = f"/calls/{call.id}/answers/{answer.id}/accept"
    data = form_values(client.get(address).text)
    assert data["supplier_code"] == "FORGEDUG"
    assert data["shortfall_fee"] == "0,90"  # 10 % of the 1 000 tier the yearly volume reaches
    first = client.post(address, data=data)
    again = client.post(address, data=data)  # the same form sent twice
    assert first.status_code == again.status_code == 302
    assert again.location == first.location

    supplier = db.session.scalar(select(Supplier).where(Supplier.code == "FORGEDUG"))
    assert (supplier.name, supplier.country, supplier.is_local, supplier.siret) == (
        "Forge du Gier",
        "FR",
        True,
        forge.siret,
    )
    offer = db.session.scalar(select(Offer).where(Offer.supplier_id == supplier.id))
    assert (offer.part, offer.made_in, offer.moq, offer.pack_size, offer.lead_time_days) == (
        chain,
        "FR",
        50,
        10,
        21,
    )
    assert [(t.min_qty, t.unit_price) for t in offer.tiers] == [(1, D("10.00")), (1000, D("9.00"))]
    agreement = db.session.scalar(select(FrameworkAgreement))
    assert first.location == f"/agreements/{agreement.id}"
    assert (agreement.offer, agreement.status, agreement.committed_qty) == (
        offer,
        AgreementStatus.DRAFT,
        2400,  # 1 200 a year over 24 months
    )
    assert agreement.shortfall_fee == D("0.9000")
    assert agreement.valid_from == today()
    assert agreement.campaigns_planned == 2  # no campaign in the last year: one a year
    assert db.session.scalar(select(func.count(CallAcceptance.id))) == 1
    assert db.session.scalar(select(func.count(FrameworkAgreement.id))) == 1
    assert forge.messages[-1].kind == "accepted"
    actions = set(db.session.scalars(select(Activity.action)))
    assert {"manufacturer_call.answer_accepted", "agreement.created"} <= actions

    # Another maker's answer for the same part is refused: one acceptance per part.
    other = rf.answer(call.invitations[1], tiers=((1, "8.00"),))
    address = f"/calls/{call.id}/answers/{other.id}/accept"
    response = client.post(address, data=form_values(client.get(address).text))
    assert response.status_code == 200
    assert "déjà retenue pour CHN-11S" in response.text
    assert db.session.scalar(select(func.count(Supplier.id))) == 1  # the forge alone


def test_accepting_a_maker_who_is_already_a_supplier_updates_it(client, make):
    chain = make.part(sku="CHN-11S")
    call = rf.published(chain, makers=("Forge du Gier",))
    forge = call.invitations[0]
    known = make.supplier(code="FORGE", name="Forge", email=forge.email.upper(), is_local=False)
    answer = rf.answer(forge)
    client.login_as(make.user(Role.MANAGER))
    address = f"/calls/{call.id}/answers/{answer.id}/accept"
    data = form_values(client.get(address).text) | {"is_local": "y"}
    assert "supplier_code" not in data
    assert client.post(address, data=data).status_code == 302
    db.session.refresh(known)
    assert (known.code, known.is_local, known.siret) == ("FORGE", True, forge.siret)
    assert db.session.scalar(select(Offer).where(Offer.supplier_id == known.id)).part == chain


def test_the_manager_and_the_maker_write_to_each_other(client, make):
    call = rf.published(makers=("Forge du Gier",))
    forge = call.invitations[0]
    client.login_as(make.user(Role.MANAGER))
    mail.sent_messages().clear()
    response = client.post(
        f"/calls/{call.id}/makers/{forge.id}/message", data={"body": "Quelle épaisseur ?"}
    )
    assert response.status_code == 302
    (sent,) = mail.sent_messages()
    text = sent.get_body(("plain",)).get_content()
    assert sent["To"] == forge.email and "Quelle épaisseur ?" in text
    token = rf.token_in(text)
    response = client.post(f"/m/{token}/message", data={"body": "2 mm."})
    assert response.status_code == 302
    assert [(m.kind, m.by_maker, m.body) for m in forge.messages[-2:]] == [
        ("message", False, "Quelle épaisseur ?"),
        ("message", True, "2 mm."),
    ]
    assert db.session.scalar(select(func.count(CallMessage.id))) == 3  # with the "sent" entry
