"""The admin UI's navigation: sections by the work they belong to (issue 38), one definition.

Every view the admin registers has its place, by endpoint, in its job's menu (admin/jobs.py), and the
sections are defined here; :func:`place` sets the view's
section before Flask-Admin builds its menu, and a view with no place stops start-up (a new page
cannot forget its place). A section shows to a person only where they may open one of its pages
(Flask-Admin lists a category's accessible, visible children only). The page of a search hit (:func:`page_of`) is
here too: the search results page and the API's search answer link each hit to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from admin import jobs
from core.search import Hit

# the sections in menu order: (key, label); each section's pages are the jobs' (admin/jobs.py), job by job
SECTION_LABELS: tuple[tuple[str, object], ...] = (
    ("tenancy", _l("Municipalities and people")),
    ("members", _l("Members and secretariat")),
    ("data", _l("Data and catalogue")),
    ("consent", _l("Residents' consent")),
    ("residents", _l("Residents")),
    ("money", _l("Cost sharing and budget")),
    ("governance", _l("Agreements and council")),
    ("operations", _l("Operations and audit")),
    ("settings", _l("Settings")),
)
# (key, label, endpoints in menu order)
SECTIONS: tuple[tuple[str, object, tuple[str, ...]], ...] = tuple(
    (key, label, jobs.menu_pages(key)) for key, label in SECTION_LABELS)

# pages outside the menu (the jobs table names them): the home page (the brand links it), the search results
# (the header's search box opens them, admin/views/search.py) and the error frame
UNLISTED = jobs.unlisted()
# pages of a section that are reached from another page of it, not from the menu (their views say
# so: is_visible False); the breadcrumb still names their section. The letters: from a run or a statement.
REACHED_FROM_PAGES = frozenset({"documents", "published_minutes"})  # the minutes: from a notice


class Unplaced(RuntimeError):
    """A view whose endpoint has no section in :data:`SECTIONS`."""


def section_of(endpoint: str) -> tuple[str, object] | None:
    """The (key, label) of the section that holds ``endpoint``; None for :data:`UNLISTED` pages."""
    for key, label, endpoints in SECTIONS:
        if endpoint in endpoints:
            return key, label
    if endpoint in UNLISTED:
        return None
    raise Unplaced(f"the admin view {endpoint!r} has no place in the menu: give it one in its job's entry "
                   "(admin/jobs.py)")


def place(view) -> None:
    """Put ``view`` in its section (Flask-Admin's category) before it is added to the admin."""
    section = section_of(view.endpoint)
    view.category = section[1] if section else None


def in_order(views: list) -> list:
    """``views`` in the menu's order: section by section, each section's pages as listed."""
    rank = {endpoint: (s, p) for s, (_key, _label, endpoints) in enumerate(SECTIONS)
            for p, endpoint in enumerate(endpoints)}
    return sorted(views, key=lambda view: rank.get(view.endpoint, (-1, 0)))


@dataclass(frozen=True)
class MenuPage:
    """A page of the menu as the person sees it: its words, its address, whether it is the open page."""

    name: str
    url: str
    here: bool


@dataclass(frozen=True)
class MenuSection:
    """A section with the pages the person may open (a section button), or one page alone (a link: ``url``)."""

    name: str
    pages: tuple[MenuPage, ...] = ()
    open: bool = False
    url: str | None = None


def _name(item, locale: str) -> str:
    """A menu item's name in ``locale``, translated once for the item (kept on it: the items live as long as their
    app); a lazy string translated again on each page was half of the menu's cost, about 5 ms a page."""
    words = item.__dict__.setdefault("_renkei_words", {})
    if locale not in words:
        words[locale] = str(item.name)
    return words[locale]


def sections_for(admin_view) -> list[MenuSection]:
    """The menu of the open page ``admin_view`` for the person signed in (renkei/_menu.html draws it): each section
    with the pages they may open, each page asked once whether they may (Flask-Admin's own walk asked each three times
    a page). Which pages those are is kept (:func:`_open_to`); only which one is open is asked on each page."""
    sections: list[MenuSection] = []
    for name, url, item, children in _open_to(admin_view.admin):
        if children:
            pages = tuple(MenuPage(child_name, child_url, child.is_active(admin_view))
                          for child_name, child_url, child in children)
            sections.append(MenuSection(name, pages, any(page.here for page in pages)))
        else:
            sections.append(MenuSection(name, url=url, open=item.is_active(admin_view)))
    return sections


_OPEN_TO_LIMIT = 512  # kinds of people and pages kept an admin; past it, all forgotten and asked again


def _open_to(admin) -> tuple:
    """(name, url, item, children) of each menu item the person signed in may open and see: a section's children as
    (name, url, item), a page alone with none. A view's answer depends on the person's roles and tenants (core.authz's
    static policy; a consent receipt's view also on the endpoint asked), so it is kept per (roles, tenants, endpoint,
    language, script root): the menu's walk of every view (each asking core.authz) was a tenth of a page's CPU, the
    same on every page of a person. Kept on the admin (as the items' names are on the items: they live as long as
    their app)."""
    actor = g.get("actor")
    key = (None if actor is None else (actor.roles, actor.tenant_codes), request.endpoint, request.script_root,
           str(get_locale()))
    known = admin.__dict__.setdefault("_renkei_open_to", {})
    kept = known.get(key)
    if kept is not None:
        return kept
    locale = key[-1]
    entries = []
    for item in admin.menu():
        if item.is_category():
            children = tuple((_name(child, locale), child.get_url(), child)
                             for child in item._children if child.is_accessible() and child.is_visible())
            if children:
                entries.append((_name(item, locale), None, item, children))
        elif item.is_accessible() and item.is_visible():
            entries.append((_name(item, locale), item.get_url(), item, ()))
    if len(known) >= _OPEN_TO_LIMIT:
        known.clear()
    kept = known[key] = tuple(entries)
    return kept


# kind -> the page of one hit of that kind
_PAGES = {
    "tenant": lambda hit: url_for("onboarding.tenant", code=hit.key),
    "member": lambda hit: url_for("members.detail", number=hit.key),
    "dataset": lambda hit: url_for("datasets.detail", uid=hit.key),
    "person": lambda hit: url_for("users.index", tenant=hit.scope or None),
    "api_client": lambda hit: url_for("clients.index", _anchor=f"client-{hit.key}"),
    "proposal": lambda hit: url_for("council.proposal", proposal_id=int(hit.key)),
}


def page_of(kind: str, hit: Hit) -> str:
    """The admin page of ``hit`` (of kind ``kind``)."""
    return _PAGES[kind](hit)
