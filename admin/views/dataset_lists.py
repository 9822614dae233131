"""The lists the operator keeps for the dataset register (catalogue/lists.py): the categories and the
licences a dataset chooses from. Each page lists the entries (with how many datasets have each), adds one
(every problem beside its field, what was typed kept) and stops or resumes an entry's use (_forms.html's
in_use_item); stopping hides an entry from new choices only, which the page says. Every change is a POST
through admin/views/base.py's one POST path."""

from __future__ import annotations

from collections.abc import Callable

from flask import g, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l

from admin.extensions import db
from admin.i18n import current_language
from admin.problems import status_of, stop_unless_about_fields
from admin.views.base import SecureView, flash_error, post_action
from core.errors import DomainError
from catalogue import lists
from catalogue.models import Dataset


def _ja() -> bool:
    return current_language() == "ja"


class _KeptListView(SecureView):
    """A list the operator keeps: the page, the add form, the stop/use-again buttons."""

    required_action = "dataset.settings"
    template = ""
    fields: tuple[str, ...] = ()

    def _entries(self) -> list:
        raise NotImplementedError

    def _counts(self) -> dict[str, int]:
        raise NotImplementedError

    def _page(self, values: dict[str, str], errors: dict[str, str], status: int = 200):
        return self.render(self.template, items=self._entries(), counts=self._counts(), values=values, errors=errors,
                           ja=_ja()), status

    @expose("/")
    def index(self):
        return self._page({}, {})

    def _add(self, add: Callable[[dict[str, str]], object]):
        """Add an entry from the form: saved, or the page again with each problem beside its field."""
        values = {name: (request.form.get(name) or "").strip() for name in self.fields}
        try:
            add(values)
        except DomainError as error:
            db.session.rollback()
            stop_unless_about_fields(error)
            errors = {p["field"]: (p["message_ja"] if _ja() else p["message_en"]) for p in error.problems}
            if not errors:
                flash_error(error)
            return self._page(values, errors, status=status_of(error))
        return post_action(lambda: None, back=url_for(".index"), saved=_("Added. It can be chosen from now on."))

    def _set_active(self, set_active: Callable[[bool], object]):
        active = request.form.get("active") == "1"
        return post_action(lambda: set_active(active), back=url_for(".index"),
                           saved=_("It can be chosen again.") if active else
                           _("It is no longer offered; the datasets that have it keep it."))


class CategoriesView(_KeptListView):
    template = "renkei/datasets_categories.html"
    fields = ("code", "label_ja", "label_en")

    def _entries(self) -> list:
        return lists.categories(db.session, include_inactive=True)

    def _counts(self) -> dict[str, int]:
        return lists.datasets_using(db.session, Dataset.category_code)

    @expose("/add", methods=("POST",))
    def add(self):
        return self._add(lambda v: lists.add_category(db.session, g.actor, v["code"], v["label_ja"], v["label_en"]))

    @expose("/<code>/active", methods=("POST",))
    def active(self, code: str):
        return self._set_active(lambda active: lists.set_category_active(db.session, g.actor, code, active))


class LicencesView(_KeptListView):
    template = "renkei/datasets_licences.html"
    fields = ("code", "title_ja", "title_en", "url", "own_terms")

    def _entries(self) -> list:
        return lists.licences(db.session, include_inactive=True)

    def _counts(self) -> dict[str, int]:
        return lists.datasets_using(db.session, Dataset.licence_code)

    @expose("/add", methods=("POST",))
    def add(self):
        return self._add(lambda v: lists.add_licence(db.session, g.actor, lists.LicenceDraft(
            v["code"], v["title_ja"], v["title_en"], v["url"], own_terms=v["own_terms"] == "1")))

    @expose("/<code>/active", methods=("POST",))
    def active(self, code: str):
        return self._set_active(lambda active: lists.set_licence_active(db.session, g.actor, code, active))


def views(session):
    return [CategoriesView(name=_l("Dataset categories"), endpoint="dataset_categories", url="dataset-categories"),
            LicencesView(name=_l("Dataset licences"), endpoint="dataset_licences", url="dataset-licences")]
