"""The RFQ as a CSV file (spec/formats.md's offers columns), and the supplier's answer back."""

import csv
import io
from decimal import Decimal

import pytest

from coop.clock import now
from coop.errors import InvalidRows
from coop.extensions import db
from coop.negotiation import quoting
from coop.negotiation.links import token_for
from coop.suppliers.importing import OFFER_COLUMNS
from tests.negotiation import factories as nf


@pytest.fixture
def invitation(make):
    lyon = make.supplier(code="LYONPNEU", name="Lyon Pneu", email="devis@lyonpneu.example")
    tyre = make.part(sku="TYR-700X28", name="Pneu 700x28")
    tube = make.part(sku="TUB-700", name="Chambre 700")
    rfq = nf.sent_rfq(parts=[tyre, tube], suppliers=[lyon], quantities=[120, 300])
    return rfq.invitations[0]


def rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def write(table: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(table[0]), delimiter=";")
    writer.writeheader()
    writer.writerows(table)
    return out.getvalue().encode("utf-8")


def test_the_rfq_file_lists_the_suppliers_lines_in_the_offers_columns(invitation):
    table = rows(quoting.rfq_csv(invitation))
    assert [(r["supplier_code"], r["sku"], r["requested_qty"]) for r in table] == [
        ("LYONPNEU", "TUB-700", "300"),
        ("LYONPNEU", "TYR-700X28", "120"),
    ]
    assert {c.name for c in OFFER_COLUMNS} <= set(table[0])
    assert table[0]["min_qty"] == table[0]["unit_price_eur"] == ""


def test_an_rfq_file_filled_in_and_uploaded_comes_back_as_the_draft_and_round_trips(invitation):
    table = rows(quoting.rfq_csv(invitation))
    tube, tyre = table
    tyre.update(
        min_qty="1",
        unit_price_eur="12,50",
        supplier_ref="LP-28",
        made_in="FR",
        pack_size="10",
        valid_until="2099-12-31",
    )
    tyre_100 = {**tyre, "min_qty": "100", "unit_price_eur": "11.2"}
    tube.update(declined="oui", comment="Plus fabriquée")
    assert quoting.import_answers_csv(invitation, write([tube, tyre, tyre_100]), at=now()) == 2
    db.session.commit()
    by_sku = {q.line.part.sku: q for q in invitation.quotes}
    draft = by_sku["TYR-700X28"].draft
    assert draft.tier_values == [(1, Decimal("12.5000")), (100, Decimal("11.2000"))]
    assert (draft.supplier_ref, draft.made_in, draft.pack_size) == ("LP-28", "FR", 10)
    assert by_sku["TUB-700"].draft.is_declined
    # Downloaded again, the file says exactly what was uploaded.
    again = rows(quoting.rfq_csv(invitation))
    assert [(r["sku"], r["min_qty"], r["unit_price_eur"], r["declined"]) for r in again] == [
        ("TUB-700", "", "", "oui"),
        ("TYR-700X28", "1", "12,50", "non"),
        ("TYR-700X28", "100", "11,20", "non"),
    ]
    assert quoting.import_answers_csv(invitation, write(again), at=now()) == 2


def test_a_plain_offers_file_is_accepted(invitation):
    data = (
        b"supplier_code;sku;min_qty;unit_price_eur;pack_size;moq\nLYONPNEU;TYR-700X28;1;13;5;10\n"
    )
    assert quoting.import_answers_csv(invitation, data, at=now()) == 1
    draft = next(q for q in invitation.quotes if q.line.part.sku == "TYR-700X28").draft
    assert (draft.pack_size, draft.moq, draft.tier_values) == (5, 10, [(1, Decimal("13.0000"))])


@pytest.mark.parametrize(
    ("body", "line", "column", "words"),
    [
        ("AUTRE;TYR-700X28;1;13", 2, "supplier_code", "fournisseur AUTRE"),
        ("LYONPNEU;BRK-01;1;13", 2, "sku", "absente de votre demande"),
        ("LYONPNEU;TYR-700X28;1;0", 2, "unit_price_eur", "strictement positif"),
        ("LYONPNEU;TYR-700X28;1;", 2, "unit_price_eur", "ou aucun des deux"),
        ("LYONPNEU;TYR-700X28;10;13\nLYONPNEU;TYR-700X28;10;12", 3, "min_qty", "déjà donné"),
    ],
)
def test_a_bad_file_is_refused_whole_with_line_and_column(invitation, body, line, column, words):
    data = ("supplier_code;sku;min_qty;unit_price_eur\nLYONPNEU;TUB-700;1;2,10\n" + body).encode()
    with pytest.raises(InvalidRows) as invalid:
        quoting.import_answers_csv(invitation, data, at=now())
    assert any(
        e.line == line + 1 and e.column == column and words in e.message
        for e in invalid.value.errors
    ), invalid.value.errors
    db.session.rollback()
    assert all(q.draft is None for q in invitation.quotes)  # the good TUB-700 row neither


def test_decreasing_tiers_in_a_file_are_refused(invitation):
    data = b"sku;min_qty;unit_price_eur\nTYR-700X28;100;11\nTYR-700X28;10;12\n"
    with pytest.raises(InvalidRows) as invalid:
        quoting.import_answers_csv(invitation, data, at=now())
    assert "strictement croissantes" in invalid.value.errors[0].message


def test_the_supplier_uploads_its_file_through_the_page(client, invitation):
    url = f"/q/{token_for(invitation)}"
    table = rows(client.get(url + "/rfq.csv").data)
    table[1].update(min_qty="1", unit_price_eur="12,50")
    response = client.post(
        url + "/upload",
        data={"file": (io.BytesIO(write(table)), "devis.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert "1 ligne remplie dans votre brouillon. Vérifiez-la" in client.get(url).text
    table[1].update(unit_price_eur="douze")
    bad = client.post(
        url + "/upload",
        data={"file": (io.BytesIO(write(table)), "devis.csv")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422
    assert "nombre attendu" in bad.text and "rien n'a été importé" in bad.text


def test_the_rfq_file_quotes_text_a_spreadsheet_would_run_and_reads_it_back_as_typed(client, make):
    supplier = make.supplier(code="-LYON", email="devis@lyonpneu.example")
    part = make.part(sku="-TYR", name="=cmd|' /C calc'!A0")
    invitation = nf.sent_rfq(parts=[part], suppliers=[supplier], quantities=[120]).invitations[0]
    typed = {
        "supplier_ref": "+LP-28",
        "alternative": '=HYPERLINK("http://evil.example")',
        "comment": "-- livraison en deux fois",
    }
    nf.answer(invitation, tiers=((1, "12.50"), (100, "11.20")), submit=False, **typed)
    data = client.get(f"/q/{token_for(invitation)}/rfq.csv").data
    table = rows(data)
    assert [
        (
            r["supplier_code"],
            r["sku"],
            r["part_name"],
            r["requested_qty"],
            r["min_qty"],
            r["unit_price_eur"],
        )
        for r in table
    ] == [
        ("'-LYON", "'-TYR", "'=cmd|' /C calc'!A0", "120", "1", "12,50"),
        ("'-LYON", "'-TYR", "'=cmd|' /C calc'!A0", "120", "100", "11,20"),
    ]
    assert {name: table[0][name] for name in typed} == {
        "supplier_ref": "'+LP-28",
        "alternative": '\'=HYPERLINK("http://evil.example")',
        "comment": "'-- livraison en deux fois",
    }
    assert quoting.import_answers_csv(invitation, data, at=now()) == 1
    draft = invitation.quotes[0].draft
    assert (draft.supplier_ref, draft.alternative, draft.comment) == tuple(typed.values())
    assert draft.tier_values == [(1, Decimal("12.5000")), (100, Decimal("11.2000"))]
