"""The log reads as it was written: entries never change, a shop sees only its own, staff
see all, and the staff page filters, pages and exports them."""

from datetime import UTC, datetime
from decimal import Decimal

import lxml.html
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from coop.accounts.models import Role
from coop.activity import reading
from coop.activity.models import Activity
from coop.activity.recording import record
from coop.clock import now, today
from coop.errors import DomainError, NotAllowed
from coop.extensions import db
from coop.invoicing import crediting
from coop.payments import ledger
from coop.payments.models import Method
from tests.invoicing import factories as invoices
from tests.test_list_exports import read


def entry_for(shop, action="member.updated", label=None, **values):
    return record(
        action,
        object_type=action.split(".")[0] if action.startswith("member") else "invoice",
        object_id=values.pop("object_id", shop.id if shop else 1),
        label=label or (shop.name if shop else "Coopérative"),
        member=shop,
        **values,
    )


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(Activity))


def timeline_texts(html: str) -> list[str]:
    tree = lxml.html.fromstring(html)
    return [" ".join(li.text_content().split()) for li in tree.xpath('//*[@id="activity"]//li/div')]


# --- append-only --------------------------------------------------------------------------------


def test_the_model_refuses_to_change_or_delete_an_entry(db_session, make):
    entry = entry_for(make.member())
    db.session.commit()
    entry.action = "member.created"
    with pytest.raises(DomainError, match="ne se modifie pas"):
        db.session.flush()
    db.session.rollback()
    db.session.delete(entry)
    with pytest.raises(DomainError, match="ne se supprime pas"):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(Activity, entry.id).action == "member.updated"


@pytest.mark.parametrize(
    "statement",
    ["UPDATE activity SET action = 'member.created'", "DELETE FROM activity"],
)
def test_the_database_refuses_to_change_or_delete_an_entry(db_session, make, statement):
    entry_for(make.member())
    db.session.commit()
    with pytest.raises(DatabaseError), db.session.begin_nested():
        db.session.execute(text(statement))
    assert db.session.scalars(select(Activity.action)).all() == ["member.updated"]


# --- who sees what ------------------------------------------------------------------------------


def test_staff_see_every_shop_and_a_shop_only_its_own(db_session, make):
    mine = make.member()
    assert reading.shop_scope(make.user(Role.TREASURER)) is None
    assert reading.shop_scope(make.user(Role.MEMBER, member=mine)) == mine


def test_a_timeline_for_a_shop_leaves_out_another_shop_s_entries(db_session, make):
    mine, theirs = make.member(), make.member()
    own = entry_for(mine, object_id=7)
    other = entry_for(theirs, object_id=7)
    assert reading.timeline("member", 7) == [other, own]
    assert reading.timeline("member", 7, mine) == [own]
    assert reading.shop_timeline(mine) == [own]
    assert reading.shop_timeline(mine, viewer=theirs) == []


def test_an_account_of_no_shop_and_no_staff_role_sees_no_log(db_session, make):
    class Nobody:
        is_staff = False
        member = None

    with pytest.raises(NotAllowed):
        reading.shop_scope(Nobody())


def test_a_shop_s_page_shows_its_history_and_never_another_shop_s(client, make):
    mine, theirs = make.member(name="Atelier Croix-Rousse"), make.member(name="Roue Libre")
    entry_for(mine, details={"city": {"from": "Lyon", "to": "Villeurbanne"}})
    entry_for(theirs)
    client.login_as(make.user(Role.MEMBER, member=mine))
    page = client.get("/shop")
    assert page.status_code == 200
    assert timeline_texts(page.text) == [
        "Atelier modifié · Atelier Croix-Rousse par Système Ville : Lyon → Villeurbanne"
    ]
    assert client.get(f"/members/{theirs.id}").status_code == 403


def test_staff_see_a_shop_s_history_on_its_page(client, make):
    shop = make.member(name="Atelier Croix-Rousse")
    manager = make.user(Role.MANAGER)
    entry_for(shop, actor=manager)
    client.login_as(manager)
    texts = timeline_texts(client.get(f"/members/{shop.id}").text)
    assert texts == [f"Atelier modifié · Atelier Croix-Rousse par {manager.name}"]


def test_the_invoice_page_shows_the_invoice_its_credit_notes_and_payments(client, make):
    shop = make.member()
    invoice = invoices.invoice(shop, make.campaign())
    treasurer = make.user(Role.TREASURER)
    ledger.record_payment(
        shop,
        invoice.total_incl_vat - 10,
        method=Method.CHEQUE,
        received_on=today(),
        invoices=[invoice],
        by=treasurer,
    )
    note = crediting.credit_invoice(
        invoice, amount=Decimal("5.00"), reason="Geste", by=treasurer, at=now()
    )
    db.session.commit()
    client.login_as(make.user(Role.MEMBER, member=shop))
    texts = timeline_texts(client.get(f"/invoices/{invoice.number}").text)
    assert [t.split(" par ")[0] for t in texts] == [
        f"Avoir émis · {note.number}",
        "Paiement enregistré · " + texts[1].split(" · ")[1].split(" par ")[0],
    ]
    assert texts[1].startswith("Paiement enregistré · n°")


@pytest.mark.parametrize("path", ["/activity/", "/activity/export.csv"])
def test_the_log_is_refused_to_shops_and_sends_the_anonymous_to_log_in(client, make, path):
    assert client.get(path).status_code == 302
    client.login_as(make.user(Role.MEMBER))
    assert client.get(path).status_code == 403


# --- the staff page -----------------------------------------------------------------------------


@pytest.fixture
def history(db_session, make, monkeypatch):
    """Three entries on three days: two shops' and the coop's settings."""
    croix, roue = make.member(name="Atelier Croix-Rousse"), make.member(name="Roue Libre")
    manager, treasurer = make.user(Role.MANAGER, name="Mia"), make.user(Role.TREASURER, name="Tom")
    days = iter(datetime(2026, 12, d, 9, 30, tzinfo=UTC) for d in (1, 3, 5))
    monkeypatch.setattr("coop.activity.recording.now", lambda: next(days))
    a = entry_for(croix, actor=manager, details={"name": {"from": "Croix", "to": "Atelier"}})
    b = entry_for(
        roue,
        "invoice.issued",
        "FA-2026-000012",
        actor=treasurer,
        details={"total_incl_vat": "148.65"},
    )
    c = record(
        "settings.identity_changed",
        object_type="settings",
        object_id=1,
        label="Coop",
        details={"iban": {"from": "FR76", "to": "FR14"}},
    )
    db.session.commit()
    return {
        "croix": croix,
        "roue": roue,
        "manager": manager,
        "treasurer": treasurer,
        "entries": (a, b, c),
    }


def log_rows(client, query="") -> list[list[str]]:
    tree = lxml.html.fromstring(client.get(f"/activity/{query}").text)
    return [
        [" ".join(td.text_content().split()) for td in row.xpath("td")]
        for row in tree.xpath('//*[@id="activity-log"]/tbody/tr')
    ]


def test_staff_read_the_whole_log_newest_first(client, make, history):
    client.login_as(make.user(Role.ADMIN))
    assert log_rows(client) == [
        [
            "05/12/2026 10:30",
            "Système",
            "Identité de la coopérative modifiée",
            "Paramètres Coop",
            "",
            "IBAN : FR76 → FR14",
        ],
        [
            "03/12/2026 10:30",
            "Tom",
            "Facture émise",
            "Facture FA-2026-000012",
            "Roue Libre",
            "Total TTC : 148,65 €",
        ],
        [
            "01/12/2026 10:30",
            "Mia",
            "Atelier modifié",
            "Atelier Atelier Croix-Rousse",
            "Atelier Croix-Rousse",
            "Nom : Croix → Atelier",
        ],
    ]


@pytest.mark.parametrize(
    ("query", "kept"),
    [
        ("?type=invoice", ["Facture émise"]),
        ("?action=member.updated", ["Atelier modifié"]),
        ("?actor={manager}", ["Atelier modifié"]),
        ("?shop={roue}", ["Facture émise"]),
        ("?since=2026-12-02", ["Identité de la coopérative modifiée", "Facture émise"]),
        ("?until=2026-12-03", ["Facture émise", "Atelier modifié"]),
        ("?since=2026-12-02&until=2026-12-04", ["Facture émise"]),
        (
            "?type=bicycle&action=nothing&since=tomorrow",
            ["Identité de la coopérative modifiée", "Facture émise", "Atelier modifié"],
        ),
    ],
)
def test_the_log_filters_by_object_action_actor_shop_and_dates(client, make, history, query, kept):
    client.login_as(make.user(Role.MANAGER))
    query = query.format(manager=history["manager"].id, roue=history["roue"].id)
    assert [row[2] for row in log_rows(client, query)] == kept


def test_the_log_pages(client, make, history, app, monkeypatch):
    monkeypatch.setitem(app.config, "COOP_PAGE_SIZE", 2)
    client.login_as(make.user(Role.TREASURER))
    assert len(log_rows(client)) == 2
    assert [row[2] for row in log_rows(client, "?page=2")] == ["Atelier modifié"]


def test_the_csv_export_has_the_filtered_entries(client, make, history):
    client.login_as(make.user(Role.TREASURER))
    assert read(client.get(f"/activity/export.csv?shop={history['roue'].id}")) == [
        ["Date", "Qui", "Action", "Type", "Objet", "Atelier", "Détails"],
        [
            "03/12/2026 10:30:00",
            "Tom",
            "Facture émise",
            "Facture",
            "FA-2026-000012",
            "Roue Libre",
            "Total TTC : 148,65\xa0€",
        ],
    ]
    assert len(read(client.get("/activity/export.csv"))) == 4


def test_the_log_is_in_the_staff_menu(client, make):
    for role in (Role.MANAGER, Role.TREASURER, Role.ADMIN):
        client.login_as(make.user(role))
        assert 'href="/activity/"' in client.get("/").text
    client.login_as(make.user(Role.MEMBER))
    assert 'href="/activity/"' not in client.get("/").text
    assert count() == 0


def test_details_read_in_words_codes_by_their_labels_and_amounts_as_money(app, db_session, make):
    payment = record(
        "payment.recorded",
        object_type="payment",
        object_id=1,
        label="n°1",
        details={
            "amount": "148.65",
            "method": "cheque",
            "status": {"from": "pending", "to": "succeeded"},
            "invoices": ["FA-2026-000001", "FA-2026-000002"],
            "note": None,
        },
    )
    roles = record(
        "user.roles_changed",
        object_type="user",
        object_id=1,
        label="gerant@coop.example",
        details={"roles": {"from": ["manager"], "to": ["manager", "treasurer"]}},
    )
    with app.test_request_context():
        assert reading.describe(payment) == [
            ("Montant", "148,65\xa0€"),
            ("Moyen", "Chèque"),
            ("Statut", "En cours → Reçu"),
            ("Factures", "FA-2026-000001, FA-2026-000002"),
            ("note", "—"),
        ]
        assert reading.describe(roles) == [
            ("Rôles", "Gérant·e de la coopérative → Gérant·e de la coopérative, Trésorier·e")
        ]


def test_an_agreements_shortfall_fee_reads_as_a_unit_price(app, db_session, make):
    entry = record(
        "agreement.updated",
        object_type="agreement",
        object_id=1,
        label="AC-2026-001",
        details={"shortfall_fee": {"from": "2.2400", "to": "0.0125"}},
    )
    with app.test_request_context():
        assert reading.describe(entry) == [
            ("Pénalité par unité manquante", "2,24\xa0€ → 0,0125\xa0€")
        ]


def test_dates_and_times_in_details_read_the_french_way(app, db_session, make):
    entry = record(
        "campaign.updated",
        object_type="campaign",
        object_id=1,
        label="2026-11",
        details={
            "order_date": {"from": "2026-11-17", "to": "2026-11-24"},
            "closes_at": "2026-11-20T18:00:00+01:00",
            "title": "Lot 2026-11-17",
        },
    )
    with app.test_request_context():
        texts = [text for _, text in reading.describe(entry)]
    assert texts == ["17/11/2026 → 24/11/2026", "20/11/2026 18:00", "Lot 2026-11-17"]
