"""Every English text the admin UI shows has a Japanese translation (Japanese is the default language).

The msgids are extracted the way Babel does (``_``, ``gettext``, ``lazy_gettext``/``_l``, ``ngettext``
in admin/**/*.py and admin/templates/**/*.html) and looked up in all of the Japanese .po files,
so an untranslated text cannot land in the tree without this test naming it and its place.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

REPO = Path(__file__).resolve().parents[2]
ADMIN = REPO / "admin"
CATALOGUES = ADMIN / "translations" / "ja" / "LC_MESSAGES"
KEYWORDS = {"_": None, "gettext": None, "lazy_gettext": None, "_l": None, "ngettext": (1, 2),
            "lazy_ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
METHODS = [("translations/**", "ignore"), ("migrations/**", "ignore"), ("**.py", "python"),
           ("templates/**.html", "jinja2")]
JINJA = {"templates/**.html": {"extensions": "jinja2.ext.do,jinja2.ext.loopcontrols"}}


def used_msgids() -> dict[str, list[str]]:
    """msgid -> where it is used (file:line), for every translatable literal of the admin UI."""
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ADMIN), METHODS, options_map=JINJA, keywords=KEYWORDS, strip_comment_tags=True):
        for msgid in (message if isinstance(message, tuple) else (message,)):
            if msgid:
                found.setdefault(msgid, []).append(f"admin/{filename}:{lineno}")
    return found


def translated_msgids() -> set[str]:
    known = set()
    for path in sorted(CATALOGUES.glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale="ja"):
                if message.id and (all(message.string) if isinstance(message.string, tuple) else message.string):
                    known.update(message.id if isinstance(message.id, tuple) else (message.id,))
    return known


def test_the_extraction_sees_the_admin_ui():
    used = used_msgids()
    # texts every person sees on every page and in every form: if these are not found, the
    # extraction is broken and the test below would pass for nothing
    assert any(place.endswith(".html") or ".html:" in place for places in used.values() for place in places)
    assert any(".py:" in place for places in used.values() for place in places)
    assert len(used) > 300


def test_every_msgid_of_the_admin_ui_has_a_japanese_translation():
    known = translated_msgids()
    missing = {msgid: places for msgid, places in used_msgids().items() if msgid not in known}
    assert not missing, "msgids without Japanese (add them to the area's .po file):\n" + "\n".join(
        f"  {msgid!r}  ({', '.join(places[:3])})" for msgid, places in sorted(missing.items()))


def test_no_english_text_has_two_japanese_translations():
    """The catalogues are one: a msgid translated differently in two .po files shows one of them at
    random places (「方針を保存」 on the allocation policy's button)."""
    found: dict[str, set[str]] = {}
    for path in sorted(CATALOGUES.glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale="ja"):
                if message.id and message.string:
                    key = message.id if isinstance(message.id, str) else message.id[0]
                    text = message.string if isinstance(message.string, str) else message.string[0]
                    found.setdefault(key, set()).add(text)
    clashes = {key: sorted(texts) for key, texts in found.items() if len(texts) > 1}
    assert clashes == {}, clashes
