"""Interface language: Japanese by default, English selectable (``?lang=en``, remembered in the session).

The message catalogues are kept as ``.po`` sources in ``admin/translations``; the binary ``.mo``
files that gettext reads are compiled at start-up into the instance folder when missing or older
than their source, so no generated file is kept in the repository.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, has_request_context, request, session

from core.calendar import fiscal_year_label, fiscal_year_of, to_jst

SUPPORTED = ("ja", "en")
SOURCE_DIR = Path(__file__).parent / "translations"


def compile_catalogues(target: Path) -> Path:
    for po_path in SOURCE_DIR.glob("*/LC_MESSAGES/*.po"):
        mo_path = target / po_path.relative_to(SOURCE_DIR).with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        with po_path.open("rb") as source:
            catalogue = read_po(source)
        tmp = mo_path.with_suffix(".mo.tmp")
        with tmp.open("wb") as out:
            write_mo(out, catalogue)
        tmp.replace(mo_path)
    return target


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
        value = to_jst(value)
        day = value.date()
        clock = value.strftime(" %H:%M")
    else:
        day, clock = value, ""
    label = format_fiscal_year(fiscal_year_of(day), locale)
    return f"{day:%Y/%m/%d}{clock}（{label}）" if locale == "ja" else f"{day:%Y-%m-%d}{clock} ({label})"


def init_app(app: Flask) -> None:
    from admin.extensions import babel

    compiled = compile_catalogues(Path(app.config["RENKEI_VAR_DIR"]) / "translations")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(compiled)
    babel.init_app(app, locale_selector=select_locale)
