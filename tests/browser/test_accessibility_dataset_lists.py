"""The pages of the lists the operator keeps for the dataset register (issue 22) meet WCAG 2.1 AA (axe-core)
in the states the crawl of test_accessibility.py cannot reach by following links: the add form given back
with its problems beside the fields, the list after an entry was added and stopped."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_accessibility_issue25 import violations

# what the page shows (axe-core, raw codes, reflow), which the database cannot change: once, on SQLite
pytestmark = pytest.mark.rendered


def test_the_categories_and_licences_pages_meet_wcag_aa_in_every_state(page, login_as, live_server, demo, people, db):
    db.commit()  # hold no lock while the live server answers
    login_as(page, people["operator"].username)
    found = {}
    page.goto(live_server("/admin/dataset-licences/"))
    found["licences"] = violations(page)
    page.fill("#code", "x")
    page.fill("#url", "ftp://example.jp/licence")
    page.get_by_role("button", name="追加する").click()
    page.wait_for_load_state()
    expect(page.locator("#title_ja-error")).to_have_text("名称を入力してください。")
    expect(page.locator("#url")).to_have_value("ftp://example.jp/licence")
    found["licence form with problems"] = violations(page)

    page.fill("#code", "ODbL-1.0")
    page.fill("#title_ja", "オープンデータベースライセンス 1.0")
    page.fill("#url", "https://opendatacommons.org/licenses/odbl/1-0/")
    page.get_by_role("button", name="追加する").click()
    page.wait_for_load_state()
    entry = page.get_by_role("listitem").filter(has_text="オープンデータベースライセンス 1.0")
    entry.get_by_role("button", name="使用をやめる").click()
    page.wait_for_load_state()
    expect(page.get_by_role("listitem").filter(has_text="オープンデータベースライセンス 1.0（使用停止中）")).to_be_visible()
    found["licences after adding and stopping one"] = violations(page)

    page.goto(live_server("/admin/dataset-categories/"))
    found["categories"] = violations(page)
    page.fill("#code", "Smart City")
    page.get_by_role("button", name="追加する").click()
    page.wait_for_load_state()
    expect(page.locator("#label_ja-error")).to_be_visible()
    found["category form with problems"] = violations(page)
    assert {where: [v["id"] for v in problems] for where, problems in found.items() if problems} == {}
