"""The admin pages' menu as a person uses it (admin/templates/renkei/_menu.html): a side bar of sections, each a
button that shows or hides its pages; the open page's section starts open."""

from __future__ import annotations

import re

from playwright.sync_api import expect

MAIN_MENU = "メインメニュー"


def open_section(page, name: str):
    """Show the pages of the menu's section ``name``: a click on its button, unless it is open already (a second click
    would close it, and a person does not click an open section); the menu, to find a page in."""
    menu = page.get_by_role("navigation", name=MAIN_MENU)
    section = menu.get_by_role("button", name=name)
    page.wait_for_load_state("load")  # the section's button works by Bootstrap's script, run before "load"
    if section.get_attribute("aria-expanded") != "true":
        section.click()
    expect(section).to_have_attribute("aria-expanded", "true")
    # the pages' list has ended its opening (Bootstrap marks it shown after the transition): a link clicked in it
    # is where it stays
    expect(menu.locator(f"#{section.get_attribute('aria-controls')}")).to_have_class(re.compile(r"\bshow\b"))
    return menu
