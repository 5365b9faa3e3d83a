"""The shared form macro writes only the attributes that apply."""

import pytest

from coop.accounts.models import Role


@pytest.mark.parametrize("path", ["/members/new", "/campaigns/new", "/suppliers/new"])
def test_no_form_attribute_reads_none(client, make, path):
    client.login_as(make.user(Role.MANAGER))
    page = client.get(path).text
    assert 'name="' in page
    assert '="None"' not in page  # aria-invalid, autocomplete, inputmode left out instead


def test_an_invalid_field_is_marked_and_described(client, make):
    client.login_as(make.user(Role.MANAGER))
    page = client.post("/members/new", data={"code": "", "name": ""}).text
    assert 'aria-invalid="true"' in page and 'aria-describedby="code-error"' in page
