"""The comparison matrix on a hand-computed example: packs, minimums and tiers at the pooled
quantity, the cheapest answer, and what the best local or European answer costs more."""

from datetime import timedelta
from decimal import Decimal

import pytest

from coop.accounts.models import Role
from coop.clock import today
from coop.extensions import db
from coop.negotiation.matrix import Quoted, build_matrix, compare_line
from coop.negotiation.rfqs import get_rfq
from coop.suppliers.origin import Origin
from coop.suppliers.pricing import Terms
from tests.negotiation import factories as nf

D = Decimal
# Taipei: packs of 10, 9.00 from 100. Lyon: packs of 25, 10.50 from 100. Milano: 150 minimum.
TAIPEI = Terms(pack_size=10, moq=0, tiers=((1, D("10.00")), (100, D("9.00"))))
LYON = Terms(pack_size=25, moq=0, tiers=((1, D("11.00")), (100, D("10.50"))))
MILANO = Terms(pack_size=1, moq=150, tiers=((1, D("9.50")),))


def answers():
    return [
        Quoted(1, Origin.ASIA, TAIPEI),
        Quoted(2, Origin.LOCAL, LYON),
        Quoted(3, Origin.EUROPE, MILANO),
    ]


def test_each_answer_is_priced_at_the_pooled_quantity_in_whole_packs():
    line = compare_line(120, answers())
    taipei, lyon, milano = (line.priced[k].purchase for k in (1, 2, 3))
    # 120 units = 12 packs of 10, at the 100+ tier: 120 x 9.00.
    assert (taipei.bought, taipei.unit_price, taipei.amount) == (120, D("9.00"), D("1080.00"))
    # 120 units need 5 packs of 25 = 125 units, at the 100+ tier: 125 x 10.50.
    assert (lyon.bought, lyon.unit_price, lyon.amount) == (125, D("10.50"), D("1312.50"))
    # The 150-unit minimum: 150 x 9.50, although its unit price beats Lyon's.
    assert (milano.bought, milano.unit_price, milano.amount) == (150, D("9.50"), D("1425.00"))
    assert line.priced[1].tier == (100, D("9.00"))


def test_the_cheapest_line_amount_wins_and_the_best_near_answer_says_its_extra_cost():
    line = compare_line(120, answers())
    assert line.cheapest.quoted.key == 1
    assert line.best_near.quoted.key == 2  # Lyon's 1 312,50 € beats Milano's 1 425,00 €
    assert line.near_extra == D("232.50")
    assert line.near_extra_percent == D("21.5")  # 232.50 / 1080.00 = 21.53 %


def test_below_the_first_tier_a_small_quantity_changes_the_ranking():
    line = compare_line(40, answers())
    assert {k: p.purchase.amount for k, p in line.priced.items()} == {
        1: D("400.00"),
        2: D("550.00"),
        3: D("1425.00"),
    }
    assert (line.cheapest.quoted.key, line.best_near.quoted.key, line.near_extra) == (
        1,
        2,
        D("150.00"),
    )


def test_on_a_tie_the_nearer_answer_is_the_cheapest():
    same = Terms(pack_size=1, moq=0, tiers=((1, D("5.00")),))
    line = compare_line(20, [Quoted(1, Origin.ASIA, same), Quoted(2, Origin.LOCAL, same)])
    assert line.cheapest.quoted.key == 2 and line.near_extra == D("0.00")


def test_without_a_near_answer_there_is_no_extra_cost():
    line = compare_line(20, [Quoted(1, Origin.ASIA, TAIPEI)])
    assert line.best_near is None and line.near_extra is None


@pytest.fixture
def answered(make):
    """Two lines (120 and 40 units) asked of Taipei, Lyon, Milano and Berlin, answered."""
    tyre, tube = make.part(sku="TYR-1"), make.part(sku="TUB-1")
    taipei = make.supplier(name="Taipei Tyres", country="TW", email="sales@taipei.example")
    lyon = make.supplier(name="Lyon Pneu", email="devis@lyon.example", is_local=True)
    milano = make.supplier(name="Milano Gomme", country="IT", email="p@milano.example")
    berlin = make.supplier(name="Berlin Reifen", country="DE", email="a@berlin.example")
    rfq = nf.sent_rfq(
        parts=[tyre, tube], suppliers=[taipei, lyon, milano, berlin], quantities=[120, 40]
    )
    nf.answer(
        nf.invitation_of(rfq, taipei),
        tiers=((1, "10.00"), (100, "9.00")),
        pack_size=10,
        made_in="TW",
    )
    nf.answer(nf.invitation_of(rfq, lyon), tiers=((1, "11.00"), (100, "10.50")), pack_size=25)
    nf.answer(nf.invitation_of(rfq, milano), tiers=((1, "9.50"),), moq=150, made_in="IT")
    nf.answer(nf.invitation_of(rfq, berlin), tiers=(), declined=True)
    return get_rfq(rfq.id)


def test_the_matrix_of_an_rfq_ranks_the_submitted_answers(answered):
    matrix = build_matrix(answered, today())
    assert [c.invitation.supplier.name for c in matrix.columns] == [
        "Lyon Pneu",
        "Berlin Reifen",
        "Milano Gomme",
        "Taipei Tyres",
    ]
    tyre = matrix.rows[0]
    cells = {
        c.invitation.supplier.name: cell for c, cell in zip(matrix.columns, tyre.cells, strict=True)
    }
    assert cells["Taipei Tyres"].is_cheapest and cells["Lyon Pneu"].is_best_near
    assert cells["Berlin Reifen"].answer.is_declined and cells["Berlin Reifen"].priced is None
    assert tyre.comparison.near_extra == D("232.50")
    assert [(c.lines_priced, c.total) for c in matrix.columns] == [
        (2, D("1862.50")),
        (0, D("0.00")),
        (2, D("2850.00")),
        (2, D("1480.00")),
    ]
    assert matrix.cheapest_total == D("1480.00")
    assert matrix.near_extra_total == D("382.50")


def test_an_expired_answer_is_shown_but_neither_ranked_nor_awardable(answered):
    taipei = next(i for i in answered.invitations if i.supplier.name == "Taipei Tyres")
    for quote in taipei.quotes:
        quote.current.valid_until = today() - timedelta(days=1)
    db.session.commit()
    tyre = build_matrix(answered, today()).rows[0]
    expired = next(c for c in tyre.cells if c.quote in taipei.quotes)
    assert expired.is_expired and not expired.can_be_awarded
    assert tyre.comparison.cheapest.purchase.amount == D("1312.50")


def test_drafts_stay_out_of_the_matrix(make):
    lyon = make.supplier(email="devis@lyon.example")
    rfq = nf.sent_rfq(suppliers=[lyon])
    nf.answer(rfq.invitations[0], submit=False)
    cell = build_matrix(get_rfq(rfq.id), today()).rows[0].cells[0]
    assert cell.answer is None and cell.priced is None


def test_the_manager_reads_the_matrix(client, make, answered):
    client.login_as(make.user(Role.MANAGER))
    page = client.get(f"/rfqs/{answered.id}/matrix").text
    assert "9,00\xa0€" in page and "1\u202f080,00\xa0€" in page
    assert "+232,50\xa0€" in page and "+21,5\xa0%" in page
    assert "125 achetées" in page and "décliné" in page
