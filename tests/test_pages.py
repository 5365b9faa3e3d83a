"""coop.pages.refusal_shown: a service's refusal is rolled back, then shown where it belongs."""

import pytest
from flask import get_flashed_messages
from markupsafe import escape
from sqlalchemy import event, select
from sqlalchemy.orm import selectinload
from wtforms import Form, StringField

from coop.accounts.identity import InvalidIdentity
from coop.errors import DomainError, FieldError, InvalidRows, NotAllowed
from coop.extensions import db
from coop.pages import RenderedOnce, paginate, refusal_shown
from coop.suppliers.models import Offer, Part, Supplier


class NameForm(Form):
    name = StringField()
    email = StringField()


@pytest.fixture
def request_context(app, db_session):
    with app.test_request_context("/", method="POST"):
        yield


def part_named(sku: str) -> Part | None:
    return db.session.scalar(select(Part).where(Part.sku == sku))


def flashed() -> list[tuple[str, str]]:
    return get_flashed_messages(with_categories=True)


def test_a_refusal_rolls_back_what_the_use_case_flushed(request_context, make):
    kept = make.supplier(code="KEPT")
    with refusal_shown() as outcome:
        db.session.add(Part(sku="GONE-1", name="Pneu", category="pneus"))
        db.session.flush()
        raise DomainError("Refusé.")
    assert outcome.ok is False
    assert part_named("GONE-1") is None
    assert db.session.scalar(select(Supplier.code).where(Supplier.id == kept.id)) == "KEPT"


def test_work_that_succeeds_is_left_for_the_caller_to_commit(request_context):
    with refusal_shown() as outcome:
        db.session.add(Part(sku="KEPT-1", name="Pneu", category="pneus"))
        db.session.flush()
    assert outcome.ok is True
    assert outcome.error is None
    db.session.commit()
    assert part_named("KEPT-1").name == "Pneu"
    assert flashed() == []


def test_a_refusal_naming_a_field_is_shown_next_to_it(request_context):
    form = NameForm()
    with refusal_shown(form) as outcome:
        raise DomainError("Ce nom est déjà pris.", field="name")
    assert outcome.error.message == "Ce nom est déjà pris."
    assert form.name.errors == ["Ce nom est déjà pris."]
    assert list(form.email.errors) == []
    assert flashed() == []


def test_a_refusal_naming_no_field_goes_at_the_top_of_the_form(request_context):
    form = NameForm()
    with refusal_shown(form):
        raise DomainError("La campagne est close.")
    assert list(form.name.errors) == []
    assert flashed() == [("error", "La campagne est close.")]


def test_a_refusal_naming_a_field_the_form_lacks_goes_at_the_top(request_context):
    form = NameForm()
    with refusal_shown(form):
        raise DomainError("Trop tard.", field="deadline_on")
    assert flashed() == [("error", "Trop tard.")]


def test_a_refusal_naming_no_field_goes_to_the_default_field(request_context):
    form = NameForm()
    with refusal_shown(form, default_field="email"):
        raise DomainError("Adresse inconnue.")
    assert form.email.errors == ["Adresse inconnue."]
    assert flashed() == []


def test_the_default_field_does_not_hide_the_field_a_refusal_names(request_context):
    form = NameForm()
    with refusal_shown(form, default_field="email"):
        raise DomainError("Nom trop long.", field="name")
    assert form.name.errors == ["Nom trop long."]
    assert list(form.email.errors) == []


def test_without_a_form_a_refusal_is_flashed(request_context):
    with refusal_shown() as outcome:
        raise DomainError("Cette invitation a déjà été acceptée.", field="email")
    assert outcome.ok is False
    assert flashed() == [("error", "Cette invitation a déjà été acceptée.")]


def test_a_refusal_gathering_several_shows_each_next_to_its_field(request_context):
    form = NameForm()
    with refusal_shown(form):
        raise InvalidIdentity(
            [DomainError("Nom requis.", field="name"), DomainError("Adresse ?", field="email")]
        )
    assert form.name.errors == ["Nom requis."]
    assert form.email.errors == ["Adresse ?"]
    assert flashed() == []


def test_a_refused_files_bad_lines_are_kept_for_the_page(request_context):
    problems = [FieldError(3, "prix", "nombre attendu"), FieldError(5, "sku", "inconnu")]
    form = NameForm()
    with refusal_shown(form) as outcome:
        db.session.add(Part(sku="GONE-2", name="Pneu", category="pneus"))
        db.session.flush()
        raise InvalidRows(problems)
    assert outcome.rows == problems
    assert part_named("GONE-2") is None
    assert list(form.name.errors) == []
    assert flashed() == []


def test_show_replaces_the_default_display(request_context):
    shown = []
    form = NameForm()
    with refusal_shown(form, show=shown.append):
        raise DomainError("À ma façon.", field="name")
    assert [error.message for error in shown] == ["À ma façon."]
    assert list(form.name.errors) == []
    assert flashed() == []


def test_a_page_refusal_goes_to_its_error_page_rolled_back(request_context):
    with pytest.raises(NotAllowed), refusal_shown(NameForm()):
        db.session.add(Part(sku="GONE-3", name="Pneu", category="pneus"))
        db.session.flush()
        raise NotAllowed("Pas le vôtre.")
    assert part_named("GONE-3") is None
    assert flashed() == []


def test_an_error_that_is_no_refusal_is_not_caught(request_context):
    with pytest.raises(ZeroDivisionError), refusal_shown():
        raise ZeroDivisionError


def test_not_allowed_reaching_the_app_is_a_403_page_rolled_back(app, db_session):
    with app.test_request_context("/"):
        db.session.add(Part(sku="GONE-4", name="Pneu", category="pneus"))
        db.session.flush()
        response = app.make_response(app.handle_user_exception(NotAllowed("Pas le vôtre.")))
        assert response.status_code == 403
        assert "Accès refusé" in response.get_data(as_text=True)
        assert "Pas le vôtre." in response.get_data(as_text=True)
        assert part_named("GONE-4") is None


# --- paginate: the count ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "page", "shown", "total", "queries"),
    [
        (0, 1, 0, 0, 1),  # nothing: the first page says so
        (3, 1, 3, 3, 2),  # room left over: the whole list (its parts: a query of their own)
        (4, 1, 4, 4, 3),  # a full page: there may be more, counted
        (7, 2, 3, 7, 2),  # the last page: 4 before it, 3 on it
        (7, 3, 0, 7, 2),  # past the end: counted
    ],
)
def test_a_page_is_counted_by_a_query_only_when_it_cannot_tell(
    app, db_session, make, parts, page, shown, total, queries
):
    supplier = make.supplier(code="PAGES")
    for n in range(parts):
        make.offer(supplier, make.part(sku=f"PAGE-{n}"))
    db.session.commit()
    seen: list[str] = []

    def listener(conn, cursor, statement, *args):
        if not statement.startswith(("SAVEPOINT", "RELEASE")):  # the test's own
            seen.append(statement)

    stmt = (
        select(Offer)
        .where(Offer.supplier_id == supplier.id)
        .options(selectinload(Offer.part))
        .order_by(Offer.id)
    )
    engine = db.engines[None].engine
    with app.test_request_context(f"/?page={page}"):
        event.listen(engine, "before_cursor_execute", listener)
        try:
            result = paginate(stmt, per_page=4)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
    assert (len(result.items), result.total, len(seen)) == (shown, total, queries)
    assert result.pages == -(-total // 4)


# --- parts rendered once ---------------------------------------------------------------------


def test_a_part_is_rendered_once_per_key_and_language_and_the_cache_stays_bounded(app):
    kept, rendered = RenderedOnce(2), []

    def render(text: str):
        return lambda: rendered.append(text) or escape(text)

    with app.test_request_context("/"):
        assert kept.get("a", render("A")) == kept.get("a", render("again")) == "A"
        assert kept.get("b", render("B")) == "B"
        assert kept.get("c", render("C")) == "C"  # full: cleared, then kept
        assert kept.get("a", render("A2")) == "A2"
    with app.test_request_context("/?lang=en"):
        assert kept.get("a", render("A in English")) == "A in English"
    assert rendered == ["A", "B", "C", "A2", "A in English"]


def test_in_debug_a_part_is_rendered_each_time(app, monkeypatch):
    monkeypatch.setattr(app, "debug", True)
    kept, rendered = RenderedOnce(8), []
    with app.test_request_context("/"):
        for text in ("one", "two"):
            assert kept.get("key", lambda text=text: rendered.append(text) or escape(text)) == text
    assert rendered == ["one", "two"]
