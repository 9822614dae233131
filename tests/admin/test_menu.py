"""Navigation by the work (issue 38): every page the views register has one place in one section of
the menu; each role's menu is the sections where it may open pages, with exactly those pages; the
open page and its section are marked, and a breadcrumb names where the person is."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from admin import menu
from core import authz
from core.actor import Actor
from tests.conftest import sign_in

ROLES = {
    "operator": ({authz.OPERATOR}, ()),
    "finance": ({authz.FINANCE}, ()),
    "auditor": ({authz.AUDITOR}, ()),
    "municipal admin": ({authz.MUNICIPAL_ADMIN}, ("431001",)),
}


class _Menu(HTMLParser):
    """The main menu's sections and their pages (names, as shown), and what is marked current."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, list[str]] = {}
        self.current: list[tuple[str, str]] = []
        self._in_nav = 0
        self._text: list[str] | None = None
        self._kind = ""
        self._section = ""
        self._attrs: dict = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "nav" and attrs.get("aria-label") in ("メインメニュー", "Main menu"):
            self._in_nav = 1
        elif self._in_nav and tag in ("a", "button"):
            classes = attrs.get("class", "").split()
            self._kind = "section" if "renkei-section-toggle" in classes else "page" if "renkei-page" in classes else ""
            self._text, self._attrs = [], attrs

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "nav" and self._in_nav:
            self._in_nav = 0
        if tag in ("a", "button") and self._text is not None:
            text = " ".join("".join(self._text).split())
            if self._kind == "section":
                self._section = text
                self.sections[text] = []
            elif self._kind == "page":
                self.sections[self._section].append(text)
            if self._attrs.get("aria-current"):
                self.current.append((self._attrs["aria-current"], text))
            self._text = None


def _menu_of(client, path: str = "/admin/") -> tuple[_Menu, str]:
    response = client.get(path)
    assert response.status_code == 200, path
    parsed = _Menu()
    page = response.get_data(as_text=True)
    parsed.feed(page)
    return parsed, page


def test_every_registered_view_has_exactly_one_place(app):
    admin = app.extensions["admin"][0]
    registered = {view.endpoint for view in admin._views}
    listed = [endpoint for _key, _label, endpoints in menu.SECTIONS for endpoint in endpoints]
    assert len(listed) == len(set(listed)), "a page in two sections"
    assert set(listed) | menu.UNLISTED == registered  # nothing listed that is not a page, no page unlisted
    # every admin URL belongs to a registered view (the url map walked against the menu)
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin/") and not rule.rule.startswith("/admin/static"):
            assert rule.endpoint.split(".")[0] in registered, rule.rule


def test_a_view_without_a_place_stops_start_up():
    class Stray:
        endpoint = "stray_page"
        category = None

    with pytest.raises(menu.Unplaced, match="stray_page"):
        menu.place(Stray())


@pytest.mark.parametrize("who", list(ROLES))
def test_each_role_sees_the_sections_where_it_may_open_pages_with_exactly_those_pages(app, client, who):
    roles, tenants = ROLES[who]
    sign_in(client, roles, tenants)
    shown, _ = _menu_of(client)
    admin = app.extensions["admin"][0]
    views = {view.endpoint: view for view in admin._views}
    person = Actor(issuer="urn:test", subject="x", name="x", roles=frozenset(roles), tenant_codes=frozenset(tenants))
    with app.test_request_context(headers={"Accept-Language": "ja"}):
        from flask_babel import force_locale

        with force_locale("ja"):
            expected = {}
            for _key, label, endpoints in menu.SECTIONS:
                pages = [str(views[e].name) for e in endpoints
                         if e not in menu.REACHED_FROM_PAGES and authz.allowed(person, views[e].required_action)]
                if pages:
                    expected[str(label)] = pages
    assert shown.sections == expected
    assert len(shown.sections) <= len(menu.SECTIONS)


def test_the_open_page_and_its_section_are_marked_and_named_in_a_breadcrumb(client):
    sign_in(client)
    shown, page = _menu_of(client, "/admin/billing/cost-items/")
    assert ("true", "負担金と予算") in shown.current and ("page", "費目") in shown.current
    crumbs = re.search(r'<nav aria-label="現在位置">(.*?)</nav>', page, re.S)
    assert crumbs is not None
    assert [" ".join(re.sub(r"<[^>]+>", "", item).split())
            for item in re.findall(r"<li[^>]*>(.*?)</li>", crumbs.group(1), re.S)] == ["ホーム", "負担金と予算", "費目"]
    assert re.search(r'<a class="skip-link" href="#content">', page)  # the skip link stays first
