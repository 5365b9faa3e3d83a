"""The base of every form of the app: Flask-WTF's, plus a one-time submission token."""

import re
import secrets
from collections.abc import Callable

from flask import Flask
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import DateField, HiddenField, StringField

from coop import bounds
from coop.pages import RenderedOnce

TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


class SubmissionTokenField(HiddenField):
    """A random token, new at each rendering of the form, sent back as it was on submit.

    New at each rendering, not each form object: a page that renders one form object as
    several buttons (a confirmation per bank line) gives each button a token of its own.
    A missing or malformed token reads as None: that submission is simply not deduplicated.
    """

    def process_formdata(self, valuelist):
        value = valuelist[0] if valuelist else None
        self.data = value if isinstance(value, str) and TOKEN.fullmatch(value) else None

    def _value(self) -> str:
        return self.data or secrets.token_urlsafe(24)


class CoopForm(FlaskForm):
    """Every form of the app: its hidden fields carry the token `coop.submissions` claims."""

    submission_token = SubmissionTokenField()

    @property
    def data(self) -> dict:
        # The token is the request's, not the object's: views pass `form.data` to services.
        return {name: value for name, value in super().data.items() if name != "submission_token"}


def sentence(error: ValueError) -> str:
    """A parser's message as a form shows it: `au plus 10 €` -> `Au plus 10 €.`"""
    message = str(error)
    return message[:1].upper() + message[1:] + "."


class ParsedField(StringField):
    """A text input read by `parse` into a value; the page shows what was typed, else `show(data)`.

    Parsing once, at input, keeps `data` the value and the input the user's text: a page sent
    back with an error shows `2,5`, not the 0.025 it means (read again, that became 0.025 %).
    A blank input reads as None; an unreadable one as None with `parse`'s message as its error.
    """

    def __init__(
        self, label=None, validators=None, *, parse: Callable, show: Callable = str, **kwargs
    ):
        super().__init__(label, validators, **kwargs)
        self.parse, self.show = parse, show

    def process_formdata(self, valuelist):
        text = valuelist[0].strip() if valuelist else ""
        self.data = None
        if text:
            try:
                self.data = self.parse(text)
            except ValueError as exc:
                raise ValueError(sentence(exc)) from None

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data in (None, "") else self.show(self.data)


class FrenchDateField(DateField):
    """A date field whose parse error speaks French; a date past coop.bounds is refused too."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=["%Y-%m-%d", "%d/%m/%Y"], **kwargs)

    def process_formdata(self, valuelist):
        if not "".join(valuelist).strip():
            self.data = None
            return
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Date invalide : attendu JJ/MM/AAAA.")) from None
        try:
            bounds.day(self.data)
        except ValueError as error:
            self.data = None
            raise ValueError(sentence(error)) from None


# --- forms rendered once per state --------------------------------------------------------------
# A field goes through WTForms' widgets (some 100 us an input, escaping each attribute): the
# needs page, the page shops open most, spent 3 ms on its two blank forms. What the fields
# show depends only on their values, their errors and the language: that is the key. Hidden
# tokens (CSRF, submission) change at every rendering and stay outside.
_FIELDS = RenderedOnce(1024)


def kept_fields(form: FlaskForm, name: str, caller: Callable[[], Markup]) -> Markup:
    """`{% call kept_fields(form, 'needs page') %}...{% endcall %}`: the block that renders
    the fields of `form`, rendered once for each state of the form and language.

    The block must show nothing but the fields (their labels, values, errors, help):
    `name` tells the blocks apart.
    """
    state = tuple(
        (
            field.name,
            field._value() if hasattr(field, "_value") else repr(field.data),
            repr(getattr(field, "choices", None)),
            tuple(str(error) for error in field.errors),
        )
        for field in form
        if not isinstance(field, HiddenField)
    )
    return _FIELDS.get((name, type(form), state), caller)


def init_app(app: Flask) -> None:
    app.add_template_global(kept_fields)
