"""The public application form (/join/, no account) meets WCAG 2.1 AA (axe-core, the tags the admin
crawl uses) in Japanese and in English: the empty form, the form showing problems beside its fields,
the page after sending and a failed confirmation link."""

from __future__ import annotations

import pytest

from tests.browser.conftest import axe_script
from tests.browser.test_accessibility import AXE_JS, AXE_TAGS

# what the page shows (axe-core, raw codes, reflow), which the database cannot change: once, on SQLite
pytestmark = pytest.mark.rendered

NTA = "7000012050002"


def _violations(page) -> list[str]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_script())
    return [f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']]}" for v in page.evaluate(AXE_JS, AXE_TAGS)]


@pytest.mark.parametrize("lang,send", [("ja", "申請する"), ("en", "Apply")])
def test_the_join_pages_have_no_axe_violations(page, live_server, db, lang, send):
    found = {}
    page.goto(live_server(f"/join/?lang={lang}"))
    assert page.get_attribute("html", "lang") == lang
    found["form"] = _violations(page)

    page.fill("#corporate_number", "1" + NTA[1:])  # a wrong check digit
    page.fill("#contact_email", "not-an-address")
    page.click(f"button:has-text('{send}')")
    page.wait_for_selector("[role=alert]")
    assert page.get_attribute("#corporate_number", "aria-invalid") == "true"
    assert NTA in page.inner_text("#corporate_number-error")
    found["form with problems"] = _violations(page)

    for field, value in (("corporate_number", NTA), ("name", "くまもとデータ株式会社"), ("representative", "代表 太郎"),
                         ("contact_name", "担当 花子"), ("contact_email", f"join-{lang}@example.jp")):
        page.fill(f"#{field}", value)
    page.select_option("#kind", "company")
    page.click(f"button:has-text('{send}')")
    page.wait_for_selector("[role=status]")
    found["sent"] = _violations(page)

    page.goto(live_server("/join/confirm/not-a-token"))
    found["failed link"] = _violations(page)
    assert {name: v for name, v in found.items() if v} == {}
