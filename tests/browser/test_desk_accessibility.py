"""The desk's public pages (no account) meet WCAG 2.1 AA (axe-core, the tags the admin crawl uses) in
Japanese and English: the inquiry form, with problems beside its fields and sent; the open events with a
registration refused and made."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.browser.test_join_accessibility import _violations

# what the page shows (axe-core, raw codes, reflow), which the database cannot change: once, on SQLite
pytestmark = pytest.mark.rendered


@pytest.mark.parametrize("lang,send", [("ja", "問合せを送信する"), ("en", "Send the inquiry")])
def test_the_public_inquiry_form_has_no_axe_violations(page, live_server, db, lang, send):
    found = {}
    page.goto(live_server(f"/inquiry/?lang={lang}"))
    assert page.get_attribute("html", "lang") == lang
    found["form"] = _violations(page)
    page.fill("#email", "not-an-address")
    page.click(f"button:has-text('{send}')")
    page.wait_for_selector("[role=alert]")
    assert page.get_attribute("#email", "aria-invalid") == "true"
    found["form with problems"] = _violations(page)
    for field, value in (("inquirer_name", "住民 一"), ("email", f"q-{lang}@example.jp"), ("subject", "API"),
                         ("question", "認証について")):
        page.fill(f"#{field}", value)
    page.click(f"button:has-text('{send}')")
    page.wait_for_selector("[role=status]")
    found["sent"] = _violations(page)
    assert {name: v for name, v in found.items() if v} == {}


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_open_events_page_has_no_axe_violations(page, live_server, db, operator, lang):
    from secretariat import events

    starts = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=20)
    event = events.create_event(db, operator, events.EventDraft("open_event", "オープンイベント", starts,
                                                                starts + dt.timedelta(hours=4), 200, "anyone",
                                                                place="熊本城ホール", online_url="https://live.example.jp"))
    db.commit()
    found = {}
    page.goto(live_server(f"/events/?lang={lang}"))
    found["list"] = _violations(page)
    page.fill(f"#email-{event.id}", "not-an-address")
    page.click(f"form[action$='/events/{event.id}'] button[type=submit]")
    page.wait_for_selector("[role=alert]")
    found["refused"] = _violations(page)
    page.fill(f"#name-{event.id}", "参加 太郎")
    page.fill(f"#email-{event.id}", f"e-{lang}@example.jp")
    page.click(f"form[action$='/events/{event.id}'] button[type=submit]")
    page.wait_for_selector("[role=status]")
    found["registered"] = _violations(page)
    assert {name: v for name, v in found.items() if v} == {}
