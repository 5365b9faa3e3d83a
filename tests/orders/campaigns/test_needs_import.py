"""`coop import needs --campaign CODE FILE` and the shop's upload."""

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from coop import clock
from coop.accounts.models import Member, Role
from coop.clock import now
from coop.errors import DomainError, InvalidRows
from coop.extensions import db
from coop.orders.campaigns.importing import import_needs
from coop.orders.campaigns.models import Need


def count_needs() -> int:
    return db.session.scalar(select(func.count()).select_from(Need))


@pytest.fixture
def setup(make):
    campaign = make.campaign(code="2026-12")
    make.member(code="VELO01")
    make.member(code="VELO02")
    make.part(sku="TYR-28")
    make.part(sku="CHN-11")
    return campaign


GOOD = (
    b"member_code;sku;quantity;tolerance;min_quantity;needed_by;max_unit_price_eur;ref\n"
    b"VELO01;TYR-28;4;1;;;22,50;L1\n"
    b"VELO01;CHN-11;10;0;6;;;\n"
    b"VELO02;TYR-28;2;;;;;\n"
)


def test_needs_are_imported_and_reimported_by_member_and_ref(setup):
    result = import_needs(setup, GOOD, at=now())
    assert (result.created, result.updated) == (3, 0)
    l1 = db.session.scalar(select(Need).where(Need.ref == "L1"))
    assert (l1.quantity, l1.tolerance, str(l1.max_unit_price)) == (4, 1, "22.5000")
    chain = db.session.scalar(select(Need).where(Need.ref == "3"))  # default ref: the line
    assert (chain.quantity, chain.min_quantity) == (10, 6)
    again = import_needs(setup, GOOD, at=now())
    assert (again.created, again.updated) == (0, 3)
    assert count_needs() == 3


def test_an_import_that_waited_on_the_lock_across_the_cutoff_writes_nothing(
    setup, monkeypatch, lock_granted_at
):
    cutoff = setup.closes_at
    monkeypatch.setattr(clock, "now", lambda: cutoff - timedelta(milliseconds=20))
    lock_granted_at(cutoff + timedelta(milliseconds=20))
    with pytest.raises(DomainError, match="close depuis"):
        import_needs(setup, GOOD)
    assert count_needs() == 0


def test_an_import_is_stamped_with_the_moment_it_was_judged_at(setup, lock_granted_at):
    first = setup.closes_at - timedelta(minutes=5)
    lock_granted_at(first)
    import_needs(setup, GOOD)
    second = setup.closes_at - timedelta(milliseconds=1)
    lock_granted_at(second)
    import_needs(setup, GOOD)
    db.session.commit()
    db.session.expire_all()
    stamps = {(n.created_at, n.updated_at) for n in db.session.scalars(select(Need))}
    assert stamps == {(first, second)}


def test_bad_need_rows_are_all_reported(setup):
    data = (
        b"member_code;sku;quantity;tolerance;min_quantity;needed_by;ref\n"
        b"NOPE;TYR-28;4;;;;A\n"
        b"VELO01;NONE;4;;;;B\n"
        b"VELO01;TYR-28;0;;;;C\n"
        b"VELO01;TYR-28;4;;9;;D\n"
        b"VELO01;TYR-28;4;;;2001-01-01;E\n"
        b"VELO01;TYR-28;4;-1;;31/02/2026;F\n"
        b"VELO01;CHN-11;1;;;;D\n"
    )
    with pytest.raises(InvalidRows) as caught:
        import_needs(setup, data, at=now())
    assert [str(e) for e in caught.value.errors] == [
        "line 2, column member_code: adhérent NOPE inconnu ou inactif",
        "line 3, column sku: pièce NONE absente du catalogue",
        "line 4, column quantity: doit être au moins 1",
        "line 5, column min_quantity: "
        "Le minimum accepté ne peut pas dépasser la quantité demandée.",
        "line 6, column needed_by: La date souhaitée précède la date de commande "
        f"({setup.order_date:%d/%m/%Y}).",
        "line 7, column tolerance: doit être au moins 0",
        "line 7, column needed_by: date invalide '31/02/2026' (attendu AAAA-MM-JJ ou JJ/MM/AAAA)",
        "line 8, column ref: référence D déjà utilisée ligne 5",
    ]
    assert count_needs() == 0


def test_a_shop_uploads_only_its_own_lines(client, make, setup):
    shop = db.session.scalar(select(Member).where(Member.code == "VELO01"))
    client.login_as(make.user(Role.MEMBER, member=shop))
    response = client.post(
        f"/campaigns/{setup.id}/import",
        data={"file": (io.BytesIO(GOOD), "besoins.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "vous ne pouvez importer que les besoins de VELO01" in response.text
    assert count_needs() == 0
    own = b"member_code;sku;quantity\nVELO01;TYR-28;4\n"
    response = client.post(
        f"/campaigns/{setup.id}/import",
        data={"file": (io.BytesIO(own), "besoins.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert count_needs() == 1


def test_the_cli_imports_needs_into_a_campaign(runner, setup, tmp_path):
    path = tmp_path / "needs.csv"
    path.write_bytes(GOOD)
    result = runner.invoke(args=["import", "needs", "--campaign", "2026-12", str(path)])
    assert result.exit_code == 0, result.output
    assert "needs: 3 created, 0 updated." in result.output
    missing = runner.invoke(args=["import", "needs", str(path)])
    assert missing.exit_code == 2
    unknown = runner.invoke(args=["import", "needs", "--campaign", "NOPE", str(path)])
    assert unknown.exit_code == 1
    assert "Aucune campagne NOPE" in unknown.output
