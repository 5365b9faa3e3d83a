"""Issuing a received campaign's invoices: hand-computed totals, numbering, immutability, access."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from coop.accounts.models import Role
from coop.clock import now, to_local
from coop.errors import DomainError
from coop.extensions import db
from coop.invoicing import documents, issuing
from coop.invoicing.models import Invoice, LineKind
from coop.numbering import Counter, next_value
from coop.orders.campaigns.lifecycle import change_status
from coop.orders.campaigns.models import CampaignStatus
from coop.orders.campaigns.rules import SplitKey
from coop.orders.costs import charging, splitting
from tests import factories
from tests.orders.costs.test_statements import build_world

D = Decimal


CHAIN_VAT = D("0.0550")


def received(make, *, chain_vat=CHAIN_VAT, courier=True):
    """build_world's campaign, received, the chain at 5.5 % and a 25.00 courier by quantity."""
    w = build_world(make)
    w.needs["a_chain"].part.vat_rate = chain_vat
    db.session.commit()
    for status in (CampaignStatus.ORDERED, CampaignStatus.RECEIVED):
        change_status(w.campaign, status, at=now())
    if courier:
        charging.add_charge(
            w.campaign, charging.ChargeTerms("Coursier", D("25.00"), SplitKey.QUANTITY)
        )
    splitting.store_split(w.campaign)
    db.session.commit()
    return w


def year() -> int:
    return to_local(now()).year


def invoices_of(campaign) -> list[Invoice]:
    return db.session.scalars(
        select(Invoice).where(Invoice.campaign_id == campaign.id).order_by(Invoice.number)
    ).all()


# --- the amounts, by hand -------------------------------------------------------------------


def test_a_multi_rate_invoice_has_exact_vat_per_rate_and_totals(make):
    w = received(make)
    drafts = {
        d.member.code: d for d in issuing.preview_invoices(w.campaign, on=to_local(now()).date())
    }
    a = drafts["SHOPA"]
    # Goods: 6 × 21.9000 = 131.40 (20 %), 3 × 16.4567 = 49.37 (5.5 %); ASIA's 40.00 by value:
    # 14.60; the courier's 25.00 over 26 units, largest remainder: 5.77 + 2.88 = 8.65;
    # the fee 2 % × 180.77 = 3.6154 → 3.62.
    assert [
        (
            line.kind,
            line.description,
            line.reference,
            line.quantity,
            line.unit_price,
            line.vat_rate,
            line.amount_excl_vat,
        )
        for line in a.lines
    ] == [
        (
            LineKind.GOODS,
            "PNEU-700 — Pneu 700x32C",
            "L1",
            D(6),
            D("21.9000"),
            D("0.2000"),
            D("131.40"),
        ),
        (
            LineKind.GOODS,
            "CHAINE-11V — Chaîne 11 vitesses",
            "C1",
            D(3),
            D("16.4567"),
            D("0.0550"),
            D("49.37"),
        ),
        (
            LineKind.SHIPPING,
            "Frais de port — Asia Parts (quote-part)",
            None,
            D(1),
            D("14.60"),
            D("0.2000"),
            D("14.60"),
        ),
        (LineKind.CHARGE, "Coursier (quote-part)", None, D(1), D("8.65"), D("0.2000"), D("8.65")),
        (
            LineKind.FEE,
            "Frais de service de la coopérative (2 % des marchandises)",
            None,
            D(1),
            D("3.62"),
            D("0.2000"),
            D("3.62"),
        ),
    ]
    # VAT once per rate: 49.37 × 5.5 % = 2.71535 → 2.72; 158.27 × 20 % = 31.654 → 31.65.
    assert [(v.rate, v.base, v.amount) for v in a.vat] == [
        (D("0.0550"), D("49.37"), D("2.72")),
        (D("0.2000"), D("158.27"), D("31.65")),
    ]
    assert (a.total_excl_vat, a.total_vat, a.total_incl_vat) == (
        D("207.64"),
        D("34.37"),
        D("242.01"),
    )
    b, c = drafts["SHOPB"], drafts["SHOPC"]
    assert (b.total_excl_vat, b.total_vat, b.total_incl_vat) == (
        D("150.85"),
        D("30.17"),
        D("181.02"),
    )
    assert [(v.rate, v.base, v.amount) for v in c.vat] == [
        (D("0.0550"), D("49.37"), D("2.72")),
        (D("0.2000"), D("18.47"), D("3.69")),
    ]
    assert a.due_on == a.issued_on + timedelta(days=issuing.identity().payment_terms_days)

    issued = issuing.issue_invoices(w.campaign, by=None, at=now())
    y = year()
    assert [(i.number, i.member.code, i.total_incl_vat) for i in issued] == [
        (f"FA-{y}-000001", "SHOPA", D("242.01")),
        (f"FA-{y}-000002", "SHOPB", D("181.02")),
        (f"FA-{y}-000003", "SHOPC", D("74.25")),
    ]
    stored = db.session.get(Invoice, issued[0].id)
    db.session.expire_all()
    assert [(v.rate, v.base, v.amount) for v in stored.vat] == [
        (D("0.0550"), D("49.37"), D("2.72")),
        (D("0.2000"), D("158.27"), D("31.65")),
    ]
    assert [line.amount_excl_vat for line in stored.lines] == [
        D("131.40"),
        D("49.37"),
        D("14.60"),
        D("8.65"),
        D("3.62"),
    ]
    assert stored.payment_reference == f"RF{stored.payment_reference[2:4]}{y}000001"
    from stdnum import iso11649

    assert iso11649.is_valid(stored.payment_reference)
    snap = stored.snapshot
    assert snap["buyer"]["siret"] == w.shops["A"].siret
    assert snap["references"]["campaign_code"] == w.campaign.code
    assert snap["mentions"]["early_payment_discount"] == "Pas d'escompte pour paiement anticipé."
    assert "40 €" in snap["mentions"]["recovery_indemnity"]
    assert "trois fois le taux d'intérêt légal" in snap["mentions"]["late_payment"]
    assert w.campaign.status is CampaignStatus.INVOICED


def test_the_vat_breakdown_rounds_once_per_rate_not_per_line():
    lines = [(D("0.2000"), D("0.02"))] * 3  # per line 0.004 → 0.00 each; once: 0.012 → 0.01
    assert issuing.vat_breakdown(lines) == [issuing.VatLine(D("0.2000"), D("0.06"), D("0.01"))]


# --- refusals write nothing ---------------------------------------------------------------------


def test_a_campaign_not_received_is_refused_and_nothing_is_written(make):
    w = build_world(make)
    with pytest.raises(DomainError, match="n'est pas encore reçue"):
        issuing.issue_invoices(w.campaign, by=None, at=now())
    assert invoices_of(w.campaign) == []
    assert db.session.get(Counter, f"FA-{year()}") is None


def test_a_shop_without_siret_or_address_is_refused_by_name_and_nothing_is_issued(make):
    w = received(make)
    w.shops["B"].siret = None
    w.shops["B"].address = None
    db.session.commit()
    with pytest.raises(
        DomainError,
        match=r"Atelier B .SHOPB. ne peut pas être facturé : "
        "renseignez son SIRET et son adresse de facturation",
    ):
        issuing.issue_invoices(w.campaign, by=None, at=now())
    assert invoices_of(w.campaign) == []
    assert w.campaign.status is CampaignStatus.RECEIVED
    with pytest.raises(DomainError, match="SHOPB"):
        issuing.issue_one(w.campaign, w.shops["B"], by=None, at=now())
    db.session.rollback()
    assert invoices_of(w.campaign) == []


def test_once_a_shop_is_invoiced_the_campaigns_charges_no_longer_move(make):
    w = received(make)
    assert w.campaign.invoicing_started_at is None
    at = now()
    issuing.issue_one(w.campaign, w.shops["A"], by=None, at=at)
    db.session.commit()
    assert w.campaign.invoicing_started_at == at
    assert w.campaign.status is CampaignStatus.RECEIVED  # two shops still to invoice
    terms = charging.ChargeTerms("Palette", D("30.00"), SplitKey.QUANTITY)
    with pytest.raises(DomainError, match=r"facturation de la campagne .* a commencé"):
        charging.add_charge(w.campaign, terms)
    db.session.rollback()
    assert [c.label for c in splitting.campaign_charges(w.campaign)] == ["Coursier"]


def test_rerunning_issues_only_what_is_missing(make):
    w = received(make)
    first = issuing.issue_one(w.campaign, w.shops["B"], by=None, at=now())
    db.session.commit()
    assert w.campaign.status is CampaignStatus.RECEIVED
    rest = issuing.issue_invoices(w.campaign, by=None, at=now())
    assert [i.member.code for i in rest] == ["SHOPA", "SHOPC"]
    assert issuing.issue_one(w.campaign, w.shops["B"], by=None, at=now()) is first
    assert len(invoices_of(w.campaign)) == 3
    assert w.campaign.status is CampaignStatus.INVOICED
    with pytest.raises(DomainError, match="déjà facturée"):
        issuing.issue_invoices(w.campaign, by=None, at=now())


@pytest.mark.parametrize(
    ("treatment", "nature", "process"),
    [
        ("goods", "Facture de biens", "B1"),
        ("service", "Facture de biens et de services", "M1"),
    ],
)
def test_the_fee_is_billed_as_the_settings_treat_it_when_issued(make, treatment, nature, process):
    w = received(make)
    identity = issuing.identity()
    identity.fee_treatment = treatment
    db.session.add(identity)
    invoice = issuing.issue_invoices(w.campaign, by=None, at=now())[0]
    assert any(line.kind is LineKind.FEE for line in invoice.lines)
    assert invoice.snapshot["fee_treatment"] == treatment
    facts = documents.invoice_facts(invoice)
    assert (facts.nature, facts.business_process) == (nature, process)
    # Changing the setting later does not change an issued invoice.
    identity.fee_treatment = "service" if treatment == "goods" else "goods"
    assert documents.invoice_facts(invoice).business_process == process


def test_a_batch_builds_the_campaigns_split_once(make, monkeypatch):
    w = received(make)
    builds = []

    def counted(campaign):
        builds.append(campaign.code)
        return splitting.build_split(campaign)

    monkeypatch.setattr(issuing, "build_split", counted)
    issued = issuing.issue_invoices(w.campaign, by=None, at=now())
    assert len(issued) == 3
    assert builds == [w.campaign.code]


def test_numbers_are_consecutive_in_the_year_series_and_a_rollback_consumes_none(make):
    w = received(make)
    y = year()
    issuing.issue_one(w.campaign, w.shops["A"], by=None, at=now())
    db.session.rollback()  # a failed transaction: its number is given back
    issued = issuing.issue_invoices(w.campaign, by=None, at=now())
    assert [i.number for i in issued] == [f"FA-{y}-{n:06d}" for n in (1, 2, 3)]
    assert next_value(f"FA-{y}") == 4
    db.session.rollback()


# --- never changed, never deleted ---------------------------------------------------------------


@pytest.mark.parametrize("change", ["update", "delete"])
def test_an_issued_invoice_cannot_be_changed_by_the_app(make, change):
    w = received(make)
    invoice = issuing.issue_invoices(w.campaign, by=None, at=now())[0]
    if change == "update":
        invoice.total_vat = D("0.00")
    else:
        db.session.delete(invoice.vat[0])
    with pytest.raises(DomainError, match="avoir"):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE invoices SET total_vat = 0, total_incl_vat = total_excl_vat",
        "UPDATE invoice_lines SET amount_excl_vat = 0",
        "DELETE FROM invoice_vat",
        "DELETE FROM invoices",
    ],
)
def test_the_database_refuses_to_change_an_issued_invoice(make, statement):
    w = received(make)
    issuing.issue_invoices(w.campaign, by=None, at=now())
    with pytest.raises(DatabaseError), db.session.begin_nested():
        db.session.execute(text(statement))
    assert db.session.scalar(select(func.sum(Invoice.total_incl_vat))) == D("497.28")


# --- two issuers at once (PostgreSQL) -----------------------------------------------------------


def test_two_issuers_at_once_take_consecutive_numbers_without_gap_or_duplicate(committing_app):
    with committing_app.app_context():
        campaign_id = received(factories).campaign.id
        db.session.remove()
    start = threading.Barrier(2)
    failures = []

    def issue():
        with committing_app.app_context():
            try:
                campaign = db.session.get(issuing.Campaign, campaign_id)
                start.wait(timeout=10)
                issuing.issue_invoices(campaign, by=None, at=now())
            except DomainError as error:  # the second may find the campaign invoiced
                assert "déjà facturée" in error.message
            except Exception as error:
                failures.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=issue) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    with committing_app.app_context():
        y = year()
        numbers = db.session.scalars(select(Invoice.number).order_by(Invoice.number)).all()
        assert numbers == [f"FA-{y}-{n:06d}" for n in (1, 2, 3)]
        assert db.session.scalar(select(func.count(func.distinct(Invoice.member_id)))) == 3


def test_numbers_taken_from_two_threads_at_once_have_no_gap_and_no_duplicate(committing_app):
    start = threading.Barrier(2)
    taken, failures = [], []

    def take():
        with committing_app.app_context():
            try:
                start.wait(timeout=10)
                for _ in range(20):
                    taken.append(next_value("FA-2031"))
                    db.session.commit()
            except Exception as error:
                failures.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=take) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert sorted(taken) == list(range(1, 41))


# --- the pages ----------------------------------------------------------------------------------


def test_the_treasurer_previews_confirms_and_issues_from_the_screens(client, make):
    w = received(make)
    client.login_as(make.user(Role.TREASURER))
    page = client.get(f"/campaigns/{w.campaign.id}/invoices/preview").text
    assert "Émettre les 3 factures" in page
    assert "497,28" in page.replace("\u202f", " ").replace("\xa0", " ")
    assert "Confirmer" in client.get(f"/campaigns/{w.campaign.id}/invoices/issue").text
    response = client.post(f"/campaigns/{w.campaign.id}/invoices/issue")
    assert response.status_code == 302
    assert len(invoices_of(w.campaign)) == 3
    number = f"FA-{year()}-000001"
    page = client.get(f"/invoices/{number}").text
    for mention in (
        "Pas d&#39;escompte pour paiement anticipé",
        "40 €",
        w.shops["A"].siret,
        "5,5",
        "Atelier A",
    ):
        assert mention in page
    listing = client.get("/invoices?status=issued").text
    assert number in listing


def test_the_issue_confirmation_sent_twice_issues_once_and_shows_the_invoices(client, make):
    w = received(make)
    client.login_as(make.user(Role.TREASURER))
    url, data = f"/campaigns/{w.campaign.id}/invoices/issue", {"submission_token": "x" * 32}
    first, second = client.post(url, data=data), client.post(url, data=data)
    assert (first.status_code, second.status_code) == (302, 302)
    assert second.location == first.location == f"/invoices?campaign={w.campaign.id}"
    assert len(invoices_of(w.campaign)) == 3


def test_a_manager_reads_but_may_not_issue(client, make):
    w = received(make)
    client.login_as(make.user(Role.MANAGER))
    assert client.get(f"/campaigns/{w.campaign.id}/invoices/preview").status_code == 200
    assert client.post(f"/campaigns/{w.campaign.id}/invoices/issue").status_code == 403
    assert invoices_of(w.campaign) == []


def test_a_refused_issue_shows_a_french_message_and_writes_nothing(client, make):
    w = received(make)
    w.shops["C"].siret = None
    db.session.commit()
    client.login_as(make.user(Role.TREASURER))
    response = client.post(f"/campaigns/{w.campaign.id}/invoices/issue", follow_redirects=True)
    assert response.status_code == 200
    assert "renseignez son SIRET" in response.text
    assert invoices_of(w.campaign) == []


def test_members_see_only_their_own_invoices(client, make):
    w = received(make)
    issuing.issue_invoices(w.campaign, by=None, at=now())
    y = year()
    client.login_as(make.user(Role.MEMBER, member=w.shops["B"]))
    listing = client.get("/invoices").text
    assert f"FA-{y}-000002" in listing
    assert f"FA-{y}-000001" not in listing
    assert client.get(f"/invoices/FA-{y}-000002").status_code == 200
    assert client.get(f"/invoices/FA-{y}-000001").status_code == 403


def test_anonymous_visitors_are_sent_to_login(client, make):
    w = received(make)
    issuing.issue_invoices(w.campaign, by=None, at=now())
    assert client.get(f"/invoices/FA-{year()}-000001").location.startswith("/login")
    assert client.get("/invoices").location.startswith("/login")


def test_the_list_filters_overdue_invoices_and_ages_them(client, make):
    w = received(make)
    issuing.issue_invoices(w.campaign, by=None, at=now() - timedelta(days=75))
    client.login_as(make.user(Role.TREASURER))
    page = client.get("/invoices?status=overdue").text.replace("\u202f", " ").replace("\xa0", " ")
    assert page.count(f"FA-{to_local(now() - timedelta(days=75)).year}-") >= 3
    assert "497,28" in page  # the total at the foot
    assert client.get("/invoices?q=nothing-like-this").status_code == 200
    assert client.get("/invoices?campaign=abc&shop=zz&status=bad").status_code == 200


def test_the_cli_issues_and_prints_each_number_and_total(runner, make):
    w = received(make)
    result = runner.invoke(args=["invoices", "issue", w.campaign.code])
    assert result.exit_code == 0, result.output
    assert f"FA-{year()}-000001  SHOPA" in result.output
    assert "242.01 EUR" in result.output
    again = runner.invoke(args=["invoices", "issue", w.campaign.code])
    assert again.exit_code != 0
    assert "déjà facturée" in again.output


def test_the_treasurers_home_says_what_to_invoice_then_who_owes_what(client, make):
    from tests.orders.costs.test_split_store import received

    w = received(make)
    client.login_as(make.user(Role.TREASURER))
    home = client.get("/").text
    assert "À facturer" in home and f"/campaigns/{w.campaign.id}/invoices/preview" in home
    issuing.issue_invoices(w.campaign, by=None, at=now())
    home = client.get("/").text
    assert "À facturer" not in home
    assert "facturés TTC, 3 factures" in home
