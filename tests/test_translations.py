"""The English catalog covers every French string, plurals included, placeholders intact."""

import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).parent.parent
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def load(path):
    with open(path, "rb") as f:
        return read_po(f)


def source_messages():
    """Every translatable string in the code and templates, as `make messages` finds them.

    A plural comes as a (singular, plural) pair.
    """
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "N_": None}
    method_map = [("coop/**.py", "python"), ("templates/**.html", "jinja2")]
    for _, _, message, _, _ in extract_from_dir(ROOT, method_map, keywords=keywords):
        yield message[:2] if isinstance(message, tuple) else message


def forms(message):
    """(msgid, msgstr) for each form of a message: two for a plural."""
    if isinstance(message.id, tuple):
        singular, plural = message.id
        strings = message.string
        return [(singular, strings[0]), *((plural, string) for string in strings[1:])]
    return [(message.id, message.string)]


def test_every_message_in_the_code_is_translated_to_english():
    english = load(ROOT / "translations/en/LC_MESSAGES/messages.po")
    missing = []
    for message_id in source_messages():
        key = message_id[0] if isinstance(message_id, tuple) else message_id
        translated = english.get(key)
        if translated is None or translated.fuzzy:
            missing.append(message_id)
        elif translated.pluralizable != isinstance(message_id, tuple):
            missing.append(message_id)  # a plural in the code, a single string in the catalog
        elif not all(string for _, string in forms(translated)):
            missing.append(message_id)
    assert missing == [], "run `make messages` and translate these"


def test_an_english_plural_has_both_forms():
    english = load(ROOT / "translations/en/LC_MESSAGES/messages.po")
    plurals = [m for m in english if m.id and m.pluralizable and not m.fuzzy]
    assert plurals
    assert [m.id for m in plurals if len(m.string) != 2 or not all(m.string)] == []


def test_translations_keep_their_placeholders():
    for message in load(ROOT / "translations/en/LC_MESSAGES/messages.po"):
        if not message.id:
            continue
        for index, (message_id, string) in enumerate(forms(message)):
            expected, found = set(PLACEHOLDER.findall(message_id)), set(PLACEHOLDER.findall(string))
            if message.pluralizable and index == 0:
                # A singular may say "one" or "the" instead of the count ("Issue the invoice").
                expected, found = expected - {"%(num)d"}, found - {"%(num)d"}
            assert found == expected, message.id


def test_french_plurals_put_zero_and_one_in_the_singular():
    # French is the source; its catalog only gives ngettext the French rule (n > 1).
    french = load(ROOT / "translations/fr/LC_MESSAGES/messages.po")
    assert french.plural_expr == "(n > 1)" and french.num_plurals == 2
    plurals = {m[0] for m in source_messages() if isinstance(m, tuple)}
    assert plurals and {m for m in plurals if not french.get(m)} == set()


def test_a_count_shows_in_french_and_english_plurals(app):
    from flask_babel import ngettext

    def invoices(n):
        return ngettext("%(num)d facture émise.", "%(num)d factures émises.", n)

    with app.test_request_context():
        assert [invoices(n) for n in (0, 1, 2)] == [
            "0 facture émise.",
            "1 facture émise.",
            "2 factures émises.",
        ]
    with app.test_request_context("/?lang=en"):
        assert [invoices(n) for n in (0, 1, 2)] == [
            "0 invoices issued.",
            "1 invoice issued.",
            "2 invoices issued.",
        ]
