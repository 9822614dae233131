"""Every page on a phone and a tablet (issue 38 item 4, WCAG 2.1 1.4.10 Reflow, JIS X 8341-3 AA).

The crawl of test_accessibility.py checks every admin page a person reaches at each width of
:data:`WIDTHS`; here: the pages no admin link leads to (the public application form, the catalogue's
pages, the error pages, signed out and signed in) the same way, and what a person on a phone does
with the page: the menu folded behind its button and opened by keyboard, with and without JavaScript,
at a desktop's width a header of one row and the content beside the menu at the window's width (issue 55),
and a wide table that scrolls in its own box, which a keyboard can reach.
"""

from __future__ import annotations

import re

import collections
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_script
from tests.browser.test_accessibility import (
    AXE_JS, AXE_TAGS, HEIGHT, SETTLED_JS, SIDEWAYS_JS, WIDTHS, Visit, at_widths)

# what the page shows (axe-core, raw codes, reflow), which the database cannot change: once, on SQLite
pytestmark = pytest.mark.rendered

PHONE, TABLET = WIDTHS[-1], WIDTHS[1]
CATALOGUE_PAGES = 24  # the catalogue's pages followed from /catalogue, one of each kind
LINKS_JS = "() => Array.from(document.querySelectorAll('main a[href]')).map(a => a.href.split('#')[0])"


def checked(page, url: str) -> Visit:
    """``url`` opened and checked at every width: axe's violations and sideways scrolling."""
    response = page.goto(url)
    visit = Visit(url, response.status if response else 0)
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_script())

    def wide():
        visit.violations.extend(page.evaluate(AXE_JS, AXE_TAGS))
        sideways = page.evaluate(SIDEWAYS_JS)
        if sideways:
            visit.sideways[WIDTHS[0]] = sideways

    at_widths(page, visit, wide)
    return visit


def problems(visits: list[Visit]) -> dict[str, list[str]]:
    found = collections.defaultdict(list)
    for visit in visits:
        for violation in visit.violations:
            found[visit.url].append(f"{violation['id']} at {violation.get('width', WIDTHS[0])} px: "
                                    f"{[node['target'] for node in violation['nodes']][:3]}")
        for width, sideways in visit.sideways.items():
            found[visit.url].append(f"scrolls sideways at {width} px: {sideways}")
    return dict(found)


def test_the_public_and_error_pages_meet_wcag_aa_and_reflow_at_every_width(page, live_server, demo, db):
    db.commit()  # hold no lock while the live server answers
    page.set_viewport_size({"width": WIDTHS[0], "height": HEIGHT})
    visits = [checked(page, live_server(path)) for path in ("/join/", "/join/?lang=en", "/no-such-page")]
    assert [v.status for v in visits] == [200, 200, 404]

    # the catalogue: its front page, then the pages it links to, one of each shape
    queue, seen, catalogue = collections.deque(["/catalogue"]), set(), []
    while queue and len(catalogue) < CATALOGUE_PAGES:
        path = queue.popleft()
        catalogue.append(checked(page, live_server(path)))
        for href in page.evaluate(LINKS_JS):
            parts = urlsplit(href)
            shape = "/".join(parts.path.split("/")[:3])  # one dataset, one provider, one theme...
            if parts.netloc == urlsplit(live_server.url).netloc and parts.path.startswith("/catalogue/") \
                    and not parts.query and shape not in seen:
                seen.add(shape)
                queue.append(parts.path)
    kinds = {"/".join(urlsplit(v.url).path.split("/")[:3]) for v in catalogue}
    assert {"/catalogue/datasets", "/catalogue/distributions", "/catalogue/providers"} <= kinds, kinds
    assert all(v.status == 200 for v in catalogue), [(v.url, v.status) for v in catalogue if v.status != 200]
    assert problems(visits + catalogue) == {}


def test_the_error_page_inside_the_admin_reflows(page, login_as, live_server, demo, people, db):
    db.commit()
    login_as(page, people["kumamoto"].username)
    visit = checked(page, live_server("/admin/no-such-page/"))
    assert visit.status == 404
    assert problems([visit]) == {}


def _menu(page):
    return page.get_by_role("navigation", name="メインメニュー")


def test_on_a_phone_and_a_tablet_the_menu_folds_behind_its_button_and_opens_by_keyboard(
        page, login_as, live_server, demo, people, db):
    db.commit()
    login_as(page, people["operator"].username)
    for width in (PHONE, TABLET):
        page.set_viewport_size({"width": width, "height": HEIGHT})
        page.goto(live_server("/admin/"))
        menu = _menu(page)
        button = menu.get_by_role("button", name="メニュー")
        section = menu.get_by_role("button", name="参加団体と利用者")
        expect(button).to_be_visible()
        expect(button).to_have_attribute("aria-expanded", "false")
        expect(section).to_be_hidden()
        assert page.evaluate(SIDEWAYS_JS) is None
        button.focus()
        page.keyboard.press("Enter")
        expect(button).to_have_attribute("aria-expanded", "true")
        expect(section).to_be_visible()
        section.focus()
        page.keyboard.press("Enter")
        expect(section).to_have_attribute("aria-expanded", "true")
        link = menu.get_by_role("link", name="利用者管理")
        expect(link).to_be_visible()
        assert page.evaluate(SIDEWAYS_JS) is None, f"the open menu scrolls sideways at {width} px"
        link.focus()
        page.keyboard.press("Enter")
        page.wait_for_url("**/admin/users/**")
        expect(page.locator("#admin-navbar-collapse [aria-current=page]")).to_have_text("利用者管理")  # folded again

    page.set_viewport_size({"width": WIDTHS[0], "height": HEIGHT})
    page.evaluate(SETTLED_JS)
    expect(_menu(page).get_by_role("button", name="メニュー")).to_be_hidden()
    expect(_menu(page).get_by_role("button", name="参加団体と利用者")).to_be_visible()


def test_without_javascript_the_menu_stays_open_with_every_sections_pages_for_the_keyboard(
        browser_context, chromium, login_as, live_server, demo, people, db):
    db.commit()
    login_as(browser_context.new_page(), people["operator"].username)
    context = chromium.new_context(locale="ja-JP", java_script_enabled=False, storage_state=browser_context.storage_state(),
                                   viewport={"width": PHONE, "height": HEIGHT})
    try:
        page = context.new_page()
        page.goto(live_server("/admin/"))
        menu = _menu(page)
        expect(menu.get_by_role("button", name="メニュー")).to_be_hidden()
        section = menu.get_by_role("button", name="参加団体と利用者")
        link = menu.get_by_role("link", name="利用者管理")
        expect(section).to_be_visible()
        expect(link).to_be_visible()  # no script opens a section: every section's pages show
        expect(menu.get_by_role("link", name="操作ログの検証")).to_be_visible()  # another section's page too
        section.focus()
        page.keyboard.press("Tab")  # the next Tab reaches the section's first page
        expect(menu.get_by_role("link", name="参加団体", exact=True)).to_be_focused()
        link.focus()
        page.keyboard.press("Enter")
        page.wait_for_url("**/admin/users/**")
    finally:
        context.close()
        live_server.wait_idle()


FRAME_JS = """() => {
    const box = e => e.getBoundingClientRect();
    const header = document.querySelector('header'), nav = document.querySelector('nav.renkei-side');
    const main = document.getElementById('content');
    const line = parseFloat(getComputedStyle(header.querySelector('.navbar-brand')).lineHeight) || 0;
    // the header's parts (its home link, the search, each link and the person's name): one row when they share a line
    const parts = Array.from(header.querySelectorAll('.navbar-brand, input, button, .nav-link, .navbar-text'))
        .filter(e => e.offsetParent !== null).map(e => box(e));
    return {header: box(header).height, brand: box(header.querySelector('.navbar-brand')).height, line: line,
            tops: parts.map(r => Math.round(r.top + r.height / 2)),
            nav: {left: box(nav).left, right: box(nav).right, top: box(nav).top},
            main: {left: box(main).left, width: box(main).width, top: box(main).top},
            window: window.innerWidth, header_bottom: box(header).bottom};
}"""


def test_at_a_desktops_width_the_header_is_one_row_and_the_content_takes_the_window_less_the_menu(
        page, login_as, live_server, demo, people, db):
    """Issue 55 item 4: at 1366 px the header is one row, the menu a side bar on the left below it, and the content
    the rest of the window's width (not a fixed column in the middle)."""
    db.commit()
    login_as(page, people["operator"].username)  # the person with the most sections and the search box
    page.set_viewport_size({"width": WIDTHS[0], "height": HEIGHT})
    for path in ("/admin/", "/admin/billing/cost-items/", "/admin/users/"):
        page.goto(live_server(path))
        frame = page.evaluate(FRAME_JS)
        middles = frame["tops"]
        assert len(middles) >= 5, frame  # the home link, the search field and button, the languages, sign out
        assert max(middles) - min(middles) <= frame["brand"] / 2, f"{path}: the header's parts are on several rows: {frame}"
        assert frame["header"] <= 2 * frame["brand"] + 16, f"{path}: the header is more than one row high: {frame}"
        assert frame["nav"]["left"] == 0 and frame["nav"]["top"] >= frame["header_bottom"] - 1, frame
        assert frame["main"]["left"] >= frame["nav"]["right"] - 1, frame  # beside the menu, not under it
        assert frame["main"]["top"] < frame["header_bottom"] + 1, frame  # up against the header
        # the content: the window's width less the menu's (and the content's own margins), wider than a fixed column
        assert frame["main"]["width"] >= frame["window"] - frame["nav"]["right"] - 1, frame
        assert frame["main"]["left"] + frame["main"]["width"] >= frame["window"] - 1, frame  # to the window's right edge
        # every section's button shows (named by its words alone: its mark is drawn, not read), the open page's
        # section with its pages
        expect(_menu(page).get_by_role("button", name="参加団体と利用者", exact=True)).to_be_visible()
        expect(_menu(page).get_by_role("button", name="メニュー", exact=True)).to_be_hidden()
    current = _menu(page).locator("[aria-current=page]")
    expect(current).to_have_text("利用者管理")
    expect(current).to_be_visible()  # the open page's section starts open


def test_a_wide_table_scrolls_in_a_named_box_a_keyboard_reaches_only_while_it_scrolls(
        page, login_as, live_server, demo, people, db):
    db.commit()
    login_as(page, people["operator"].username)
    page.set_viewport_size({"width": PHONE, "height": HEIGHT})
    page.goto(live_server("/admin/users/?tenant=430005"))
    box = page.get_by_role("region", name=re.compile(r"^430005 熊本県: \d+ 人$"))  # the realm's other tests add people
    expect(box).to_have_attribute("tabindex", "0")
    assert box.evaluate("e => e.scrollWidth > e.clientWidth && getComputedStyle(e).overflowX === 'auto'")
    assert page.evaluate(SIDEWAYS_JS) is None
    box.focus()
    page.keyboard.press("ArrowRight")  # a keyboard scrolls it
    page.wait_for_function("() => document.querySelector('.table-scroll').scrollLeft > 0")

    page.set_viewport_size({"width": WIDTHS[0], "height": HEIGHT})
    page.evaluate(SETTLED_JS)
    expect(page.get_by_role("region", name=re.compile(r"^430005 熊本県: \d+ 人$"))).to_have_count(0)  # not a stop for the keyboard when all of it shows
    expect(page.locator(".table-scroll table caption")).to_have_text(re.compile(r"^430005 熊本県: \d+ 人$"))
