"""The base of every form of the app: Flask-WTF's, plus a one-time submission token."""

import re
import secrets

from flask_wtf import FlaskForm
from wtforms import HiddenField

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
