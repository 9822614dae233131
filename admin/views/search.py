"""The search results page (検索結果): what the header's one search box finds, grouped by kind, each
hit a link to its page. The search and its scopes are the domain's (governance/search.py); this page
only links each kind to its page (:func:`admin.menu.page_of`, which the API's answer uses too)."""

from __future__ import annotations

from flask import g
from flask_admin import expose
from flask_babel import lazy_gettext as _l

from admin.extensions import db
from admin.identity import identity_directory
from admin.menu import page_of
from admin.problems import status_of
from admin.views import paging
from admin.views.base import SecureView, _ja, _signed_in
from core.calendar import jst_text
from core.errors import DomainError
from governance import search as console_search

def search_box_shown() -> bool:
    """Whether the header shows the search box: to a signed-in person who may list some kind."""
    return _signed_in() and console_search.may_search(g.actor)


class SearchView(SecureView):
    """Reached from the search box in every page's header (not from the menu: is_visible is False)."""

    def is_accessible(self) -> bool:
        return search_box_shown()

    def is_visible(self) -> bool:
        return False

    @expose("/")
    def index(self):
        typed = paging.search_text()
        try:
            results = console_search.search_all(db.session, g.actor, identity_directory(), typed)
        except DomainError as error:
            return self.render("renkei/search.html", results=None, error=error, typed=typed, ja=_ja(),
                               page_of=page_of), status_of(error)
        return self.render("renkei/search.html", results=results, error=None, typed=typed, ja=_ja(), page_of=page_of,
                           page_title=_l("Search results"), moment=jst_text)


def views(session):
    return [SearchView(name=_l("Search results"), endpoint="search", url="search")]
