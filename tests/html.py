"""Reading the forms of a rendered page, to post them back as a browser would."""

import lxml.html


def form_values(page: str, action: str | None = None) -> dict[str, str]:
    """What a browser would send from the page's form posting to `action` (None: to itself)."""
    forms = [
        form
        for form in lxml.html.fromstring(page).forms
        if (form.get("action") or None) == action and (form.method or "").lower() == "post"
    ]
    assert forms, f"no form posting to {action or 'the page itself'}"
    return dict(forms[0].form_values())
