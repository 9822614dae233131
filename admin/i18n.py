"""Interface language: Japanese by default, English selectable (``?lang=en``, remembered in the session).

The message catalogues are kept as ``.po`` sources in ``admin/translations``; the binary ``.mo``
files that gettext reads are compiled at start-up into the instance folder when missing or older
than their source, so no generated file is kept in the repository.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, has_request_context, request, session, url_for

from core.calendar import day_text, fiscal_year_label, fiscal_year_of, jst_text, to_jst
from core.units import size_text

SUPPORTED = ("ja", "en")
SOURCE_DIR = Path(__file__).parent / "translations"


def compile_catalogues(target: Path) -> Path:
    """Compile each language's ``.po`` sources into the one ``messages.mo`` gettext reads.

    A language may keep its messages in several sources (``messages.po`` plus one file per area,
    e.g. ``billing.po``), so that each part of the interface owns its own catalogue; they are
    merged here, the later file in name order winning where two translate the same message.
    A process compiles the same sources once (:func:`_compiled`): the apps it builds after the
    first (the tests build several, each with a var folder of its own) write the same bytes.
    """
    for lc_dir in SOURCE_DIR.glob("*/LC_MESSAGES"):
        sources = sorted(lc_dir.glob("*.po"))
        if not sources:
            continue
        mo_path = target / lc_dir.relative_to(SOURCE_DIR) / "messages.mo"
        stats = [source.stat() for source in sources]
        newest = max(stat.st_mtime for stat in stats)
        if mo_path.exists() and mo_path.stat().st_mtime >= newest:
            continue
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        compiled = _compiled(tuple((str(path), stat.st_mtime_ns, stat.st_size) for path, stat in zip(sources, stats)))
        tmp = mo_path.with_suffix(".mo.tmp")
        tmp.write_bytes(compiled)
        tmp.replace(mo_path)
    return target


@functools.lru_cache(maxsize=8)
def _compiled(sources: tuple[tuple[str, int, int], ...]) -> bytes:
    """The ``messages.mo`` of one language's ``.po`` sources (path, modification time and size, in name
    order: a source changed since is compiled again)."""
    catalogue = None
    for po_path, _modified, _size in sources:
        with open(po_path, "rb") as source:
            part = read_po(source)
        if catalogue is None:
            catalogue = part
            continue
        for message in part:
            if message.id:
                catalogue[message.id] = message
    out = io.BytesIO()
    write_mo(out, catalogue)
    return out.getvalue()


def select_locale() -> str:
    if not has_request_context():  # CLI commands, start-up: labels in the default language
        return "ja"
    wanted = request.args.get("lang")
    if wanted in SUPPORTED:
        session["lang"] = wanted
        return wanted
    if session.get("lang") in SUPPORTED:
        return session["lang"]
    if request.path.startswith("/api/"):
        return request.accept_languages.best_match(SUPPORTED) or "ja"
    return "ja"


# Each language's Locale, parsed once: given a name, Flask-Babel parses it again on every request, and babel's
# parse looks for the locale's data file on the disk each time
_LOCALES = {language: Locale.parse(language) for language in SUPPORTED}


def _selected_locale() -> Locale:
    return _LOCALES[select_locale()]


def current_language() -> str:
    """The language the page is shown in (``ja`` or ``en``): the layout's ``<html lang>`` and switch."""
    from flask_babel import get_locale

    return str(get_locale() or "ja")


def language_url(lang: str) -> str:
    """The page being read, in language ``lang`` (the layout's language switch keeps the page's query).

    A page shown in answer to a POST (a confirmation, a form given back) may have an address that
    answers no GET, so its switch leads to the page the form was sent from, or home.
    """
    if request.method == "GET":
        path, args = request.path, list(request.args.items(multi=True))
    else:
        came_from, here = urlsplit(request.referrer or ""), urlsplit(request.host_url)
        if came_from.netloc == here.netloc and came_from.path:
            path, args = came_from.path, parse_qsl(came_from.query)
        else:
            path, args = url_for("admin.index"), []
    kept = [(name, value) for name, value in args if name != "lang"] + [("lang", lang)]
    return f"{path}?{urlencode(kept)}"


def format_fiscal_year(fiscal: int | None, locale: str = "ja") -> str:
    """``令和7年度`` in Japanese, ``FY2025`` in English (the rule is :func:`core.calendar.fiscal_year_label`)."""
    if fiscal is None:
        return ""
    return fiscal_year_label(fiscal, locale)


def format_date(value: dt.date | dt.datetime | None, locale: str = "ja") -> str:
    """A date with its fiscal year, e.g. ``2025/04/01（令和7年度）``."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        text, day = jst_text(value), to_jst(value).date()
    else:
        text, day = day_text(value), value
    label = format_fiscal_year(fiscal_year_of(day), locale)
    return f"{text}（{label}）" if locale == "ja" else f"{text} ({label})"


def init_app(app: Flask) -> None:
    from admin.extensions import babel

    compiled = compile_catalogues(Path(app.config["RENKEI_VAR_DIR"]) / "translations")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(compiled)
    babel.init_app(app, locale_selector=_selected_locale)
    app.add_template_global(language_url)
    app.add_template_filter(day_text, "day")
    app.add_template_filter(size_text, "size")
    app.add_template_global(current_language)
