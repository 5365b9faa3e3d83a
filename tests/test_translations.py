"""The English catalog covers every French string, placeholders intact."""

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
    """Every translatable string in the code and templates, as `make messages` finds them."""
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "N_": None}
    method_map = [("coop/**.py", "python"), ("templates/**.html", "jinja2")]
    for _, _, message, _, _ in extract_from_dir(ROOT, method_map, keywords=keywords):
        yield message[0] if isinstance(message, tuple) else message


def test_every_message_in_the_code_is_translated_to_english():
    english = load(ROOT / "translations/en/LC_MESSAGES/messages.po")
    missing = []
    for message_id in source_messages():
        translated = english.get(message_id)
        if translated is None or not translated.string or translated.fuzzy:
            missing.append(message_id)
    assert missing == [], "run `make messages` and translate these"


def test_translations_keep_their_placeholders():
    for message in load(ROOT / "translations/en/LC_MESSAGES/messages.po"):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == expected, message.id
