"""`renkei datasets categories ...` and `renkei datasets licences ...`: the lists the operator keeps for the
dataset register (catalogue/lists.py), as the pages and the API keep them: list, add, stop, resume.
Each command acts for a person (``@acting``); stopping hides an entry from new choices only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from flask.cli import with_appcontext

from admin.commands.acting import acting
from admin.commands.output import committed
from admin.extensions import db
from core import authz
from catalogue import lists

STATES = {"in-use": True, "stopped": False}


def _in_use(active: bool) -> str:
    return "使用中 / in use" if active else "使用停止中 / stopped"


def _state_option(command):
    return click.option("--state", type=click.Choice(list(STATES)), default=None,
                        help="Only the entries in use, or only those stopped (default: all).")(command)


def _stop_and_resume(list_group: click.Group, noun: str, set_active: Callable, describe: Callable[[Any], str]) -> None:
    """A list's ``stop CODE`` and ``resume CODE``: the one act (``set_active``) either way."""
    for name, active, help_text in (
            ("stop", False, f"Stop offering the {noun} CODE to new datasets (the datasets that have it keep it)."),
            ("resume", True, f"Offer the {noun} CODE to new datasets again.")):
        def command(code: str, actor, active: bool = active) -> None:
            entry = committed(lambda: set_active(db.session, actor, code, active))
            click.echo(f"{describe(entry)}: {_in_use(entry.active)}")

        list_group.command(name, help=help_text)(click.argument("code")(with_appcontext(acting(authz.OPERATOR)(command))))


# --- categories ---------------------------------------------------------------------------------------------

@click.group("categories")
def categories_group() -> None:
    """The categories a dataset is filed under (分野): list, add, stop, resume."""


@categories_group.command("list")
@_state_option
@with_appcontext
@acting(authz.OPERATOR)
def categories_list(state: str | None, actor) -> None:
    """Every category: code, Japanese name, English name, in use or stopped."""
    found = committed(lambda: lists.list_categories(db.session, actor, active=STATES.get(state)))
    for category in found:
        click.echo(f"{category.code}\t{category.label_ja}\t{category.label_en}\t{_in_use(category.active)}")
    click.echo(f"{len(found)} 件 / {len(found)} categories", err=True)


@categories_group.command("add")
@click.argument("code")
@click.argument("label_ja")
@click.option("--en", "label_en", default="", help="The category's name in English.")
@with_appcontext
@acting(authz.OPERATOR)
def categories_add(code: str, label_ja: str, label_en: str, actor) -> None:
    """Add the category CODE (lower-case letters, digits and _) named LABEL_JA."""
    category = committed(lambda: lists.add_category(db.session, actor, code, label_ja, label_en))
    click.echo(f"分野 {category.code}（{category.label_ja}）を追加しました / category {category.code} added")


_stop_and_resume(categories_group, "category", lists.set_category_active, lambda c: f"分野 {c.code}（{c.label_ja}）")


# --- licences -----------------------------------------------------------------------------------------------

@click.group("licences")
def licences_group() -> None:
    """The licences a dataset chooses from (ライセンス): list, add, stop, resume."""


@licences_group.command("list")
@_state_option
@with_appcontext
@acting(authz.OPERATOR)
def licences_list(state: str | None, actor) -> None:
    """Every licence: code (CKAN's license_id), Japanese name, address of its text, terms of its own, in use or stopped."""
    found = committed(lambda: lists.list_licences(db.session, actor, active=STATES.get(state)))
    for licence in found:
        own = "独自の利用規約 / terms of its own" if licence.own_terms else ""
        click.echo(f"{licence.code}\t{licence.title_ja}\t{licence.url}\t{own}\t{_in_use(licence.active)}")
    click.echo(f"{len(found)} 件 / {len(found)} licences", err=True)


@licences_group.command("add")
@click.argument("code")
@click.argument("title_ja")
@click.option("--en", "title_en", default="", help="The licence's name in English.")
@click.option("--url", default="", help="The address of the licence's text (http or https): its IRI in the DCAT feed.")
@click.option("--own-terms", is_flag=True, help="Datasets under it carry terms of use of their own.")
@with_appcontext
@acting(authz.OPERATOR)
def licences_add(code: str, title_ja: str, title_en: str, url: str, own_terms: bool, actor) -> None:
    """Add the licence CODE (the catalogue's license_id, e.g. CC-BY-4.0) named TITLE_JA."""
    licence = committed(lambda: lists.add_licence(db.session, actor, lists.LicenceDraft(code, title_ja, title_en, url,
                                                                                        own_terms)))
    click.echo(f"ライセンス {licence.code}（{licence.title_ja}）を追加しました / licence {licence.code} added")


_stop_and_resume(licences_group, "licence", lists.set_licence_active, lambda lic: f"ライセンス {lic.code}（{lic.title_ja}）")
