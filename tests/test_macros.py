"""The shared form macro writes only the attributes that apply."""

import lxml.html
import pytest
from flask import render_template_string
from wtforms import BooleanField, Form, StringField

from coop.accounts.models import Role

FIELDS = '{% from "_macros.html" import field %}{{ field(form.quantity) }}{{ field(form.agree) }}'


@pytest.mark.parametrize("path", ["/members/new", "/campaigns/new", "/suppliers/new"])
def test_no_form_attribute_reads_none(client, make, path):
    client.login_as(make.user(Role.MANAGER))
    page = client.get(path).text
    assert 'name="' in page
    assert '="None"' not in page  # aria-invalid, autocomplete, inputmode left out instead


def test_an_invalid_field_is_marked_and_described(client, make):
    client.login_as(make.user(Role.MANAGER))
    page = client.post("/members/new", data={"code": "", "name": ""}).text
    assert 'aria-invalid="true"' in page and 'aria-describedby="code-error code-help"' in page


class TwoFields(Form):
    quantity = StringField("Quantité", description="En unités.")
    agree = BooleanField("J'accepte")


def test_every_error_and_the_help_describe_their_field_each_id_once(app):
    form = TwoFields()
    form.quantity.errors = ["Nombre attendu.", "Au plus 1 000."]
    form.agree.errors = ["Cochez la case."]
    with app.test_request_context():
        page = lxml.html.fromstring(render_template_string(FIELDS, form=form))
    ids = page.xpath("//@id")
    assert len(ids) == len(set(ids))
    described = {
        element.get("name"): " ".join(
            text.strip()
            for id in element.get("aria-describedby").split()
            for text in page.get_element_by_id(id).itertext()
            if text.strip()
        )
        for element in page.xpath("//input")
    }
    assert described == {
        "quantity": "Nombre attendu. Au plus 1 000. En unités.",
        "agree": "Cochez la case.",
    }
    assert page.xpath("//input/@aria-invalid") == ["true", "true"]
