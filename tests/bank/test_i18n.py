"""Korean by default, English through Django i18n, with a complete catalog."""

import gettext
import re
from pathlib import Path

from django.conf import settings

PO = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def _po_entries():
    """(msgid, [msgstr...]) pairs of the English catalog, header excluded.

    Handles strings continued over several lines, as gettext tools write them.
    """
    entries = []
    for block in PO.read_text(encoding="utf-8").split("\n\n"):
        if "#, fuzzy" in block and 'msgid ""\nmsgstr ""' not in block:
            raise AssertionError(f"fuzzy entry left in the catalog:\n{block}")
        fields: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            keyword = re.match(r'^(msgid|msgid_plural|msgstr(?:\[\d\])?) "(.*)"$', line)
            if keyword:
                key = keyword.group(1)
                fields[key] = keyword.group(2)
            elif key and line.startswith('"'):
                fields[key] += line[1:-1]
        if not fields.get("msgid"):
            continue
        strings = [value for name, value in fields.items() if name.startswith("msgstr")]
        entries.append((fields["msgid"], strings))
    return entries


def test_every_message_has_an_english_translation():
    entries = _po_entries()
    assert len(entries) > 200
    untranslated = [msgid for msgid, strings in entries if not strings or any(s == "" for s in strings)]
    assert untranslated == []


def test_compiled_catalog_matches_the_source_catalog():
    with MO.open("rb") as handle:
        catalog = gettext.GNUTranslations(handle)
    missing = [
        msgid for msgid, strings in _po_entries() if "\\" not in msgid and strings[0] != msgid and catalog.gettext(msgid) == msgid
    ]
    assert missing == [], "run `make messages` to recompile locale/en"


def test_pages_are_korean_by_default(client, banks):
    response = client.get("/nuri/")
    body = response.content.decode()
    assert '<html lang="ko">' in body
    assert "비대면 계좌개설" in body


def test_english_is_one_switch_away(client, banks):
    client.post("/i18n/setlang/", {"language": "en", "next": "/nuri/"})
    body = client.get("/nuri/").content.decode()
    assert '<html lang="en">' in body
    assert "Open an account online" in body
    assert "Nuri Bank" in body


def test_translations_keep_the_placeholders_of_their_source():
    # A translation borrowed from a similar message (a "fuzzy" guess) shows up
    # as different %(name)s placeholders; gettext would then fail at run time.
    placeholder = re.compile(r"%\((\w+)\)[sd]")
    wrong = [
        msgid
        for msgid, strings in _po_entries()
        for string in strings
        if sorted(placeholder.findall(msgid)) != sorted(placeholder.findall(string))
    ]
    assert wrong == []


def test_the_language_switch_returns_to_the_path_without_echoing_the_query(client, banks):
    # A query string may carry what someone typed (a PIN put in a link); no page repeats it.
    response = client.get("/nuri/?pin=4821&password=Typed!secret9")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="next" type="hidden" value="/nuri/"' in body
    assert "4821" not in body and "Typed!secret9" not in body
