"""`coop import members` and the upload page, on the shared CSV mechanism."""

import io

import pytest
from sqlalchemy import func, select

from coop.accounts.importing import import_members
from coop.accounts.models import Member, Role
from coop.errors import InvalidRows
from coop.extensions import db

FRENCH_EXCEL = (
    "\ufeffCode;Name;SIRET;vat_number;Email;Address;Postcode;City\r\n"
    "velo01;Atelier Vélo Croix-Rousse;732 829 320 00074;FR44732829320;contact@avcr.example;"
    "12 rue d'Austerlitz;69004;Lyon\r\n"
    '  GUILL01 ; "Cycles de la Guillotière; Lyon 7e" ;;;;48 cours Gambetta;69007;Lyon\r\n'
).encode()


def count_members() -> int:
    return db.session.scalar(select(func.count()).select_from(Member))


def test_a_french_excel_file_with_bom_and_semicolons_is_imported(db_session):
    result = import_members(FRENCH_EXCEL)
    assert (result.created, result.updated) == (2, 0)
    velo = db.session.scalar(select(Member).where(Member.code == "VELO01"))
    assert velo.siret == "73282932000074"
    assert velo.name == "Atelier Vélo Croix-Rousse"
    guill = db.session.scalar(select(Member).where(Member.code == "GUILL01"))
    assert guill.name == "Cycles de la Guillotière; Lyon 7e"
    assert guill.siret is None


def test_a_windows_1252_file_with_commas_in_any_column_order(db_session):
    data = "city,name,code\r\nVénissieux,Vélo Cité,VEN01\r\n".encode("cp1252")
    import_members(data)
    member = db.session.scalar(select(Member).where(Member.code == "VEN01"))
    assert (member.name, member.city) == ("Vélo Cité", "Vénissieux")


def test_three_bad_rows_are_all_reported_and_nothing_is_imported(db_session):
    data = (
        b"code;name;siret;email;postcode\n"
        b"OK01;Good shop;;ok@example.org;69001\n"
        b"BAD01;Bad siret;73282932000075;;69001\n"
        b"OK02;Another good one;;;69002\n"
        b"BAD02;;;;69003\n"
        b"BAD03;Bad mail and postcode;;nope@;690\n"
    )
    with pytest.raises(InvalidRows) as caught:
        import_members(data)
    errors = [str(e) for e in caught.value.errors]
    assert errors == [
        "line 3, column siret: ce SIRET n'existe pas (clé de contrôle fausse)",
        "line 5, column name: valeur obligatoire manquante",
        "line 6, column email: adresse e-mail invalide : 'nope@'",
        "line 6, column postcode: code postal invalide (5 chiffres)",
    ]
    assert count_members() == 0


def test_reimporting_updates_instead_of_duplicating(db_session):
    import_members(FRENCH_EXCEL)
    again = import_members(FRENCH_EXCEL)
    assert (again.created, again.updated) == (0, 2)
    assert count_members() == 2
    changed = import_members(
        "code;name;city\nVELO01;Atelier Vélo Croix-Rousse;Caluire-et-Cuire\n".encode()
    )
    assert (changed.created, changed.updated) == (0, 1)
    velo = db.session.scalar(select(Member).where(Member.code == "VELO01"))
    # Columns the file lacks are left alone.
    assert (velo.city, velo.siret) == ("Caluire-et-Cuire", "73282932000074")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", ["line 1, column -: le fichier est vide"]),
        (b"code;name\n", ["line 1, column -: aucune ligne de données"]),
        (b"code;name;colour\nA;B;red\n", ["line 1, column colour: colonne inconnue"]),
        (b"name\nB\n", ["line 1, column code: colonne obligatoire absente"]),
        (b"code;name;code\nA;B;C\n", ["line 1, column code: colonne en double"]),
        (b"code;name\nA;B;C\n", ["line 2, column -: 3 valeurs pour 2 colonnes"]),
        (b"code;name\nA;B\na;C\n", ["line 3, column code: code déjà présent ligne 2"]),
    ],
)
def test_malformed_files_say_what_is_wrong(db_session, data, expected):
    with pytest.raises(InvalidRows) as caught:
        import_members(data)
    messages = [str(e) for e in caught.value.errors]
    assert len(messages) == len(expected)
    for message, start in zip(messages, expected, strict=True):
        assert message.startswith(start)
    assert count_members() == 0


def test_a_siret_already_held_by_another_member_is_refused(db_session, make):
    make.member(code="HOLDER", siret="73282932000074")
    with pytest.raises(InvalidRows) as caught:
        import_members(b"code;name;siret\nNEW;New;73282932000074\n")
    assert str(caught.value.errors[0]) == (
        "line 2, column siret: SIRET déjà celui de l'adhérent HOLDER"
    )


def test_upload_page_shows_the_error_table_then_imports_the_fixed_file(client, make):
    client.login_as(make.user(Role.MANAGER))
    bad = b"code;name;siret\nA1;Shop A;123\nA2;;\n"
    response = client.post(
        "/import/members",
        data={"file": (io.BytesIO(bad), "members.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "2 erreurs dans le fichier" in response.text
    assert "le SIRET compte 14 chiffres, pas 3" in response.text
    assert count_members() == 0
    good = b"code;name;siret\nA1;Shop A;73282932000074\nA2;Shop B;\n"
    response = client.post(
        "/import/members",
        data={"file": (io.BytesIO(good), "members.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert count_members() == 2
    assert "Import réussi : 2 créés, 0 mis à jour." in client.get(response.location).text


def test_upload_without_a_file_says_so(client, make):
    client.login_as(make.user(Role.MANAGER))
    response = client.post("/import/members", data={}, content_type="multipart/form-data")
    assert "Choisissez un fichier." in response.text


def test_unknown_import_kind_is_404(client, make):
    client.login_as(make.user(Role.MANAGER))
    assert client.get("/import/spaceships").status_code == 404
