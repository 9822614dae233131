"""The yearly survey's public answer page (/survey/<token>, no account, issue 58 item 5) meets WCAG 2.1 AA
(axe-core, the tags the admin crawl uses) in Japanese and in English, at a phone's width and a desk's: the form,
the form showing a problem beside its question, the page after sending, and a used link."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from core.actor import Actor
from core.outbox import Notification
from secretariat import survey
from tests.browser.test_join_accessibility import _violations

# what the page shows (axe-core, reflow), which the database cannot change: once, on SQLite
pytestmark = pytest.mark.rendered

DESK = Actor(issuer="urn:test", subject="desk-1", name="事務局 花子", roles=frozenset({"secretariat"}))


def _link(db, lang: str) -> str:
    survey.add_question(db, DESK, 2026, "usage", "single", "連携基盤のデータを業務で利用していますか", ("はい", "いいえ"))
    survey.add_question(db, DESK, 2026, "areas", "multiple", "関心のある分野", ("観光", "防災"))
    survey.add_question(db, DESK, 2026, "wish", "free_text", "ご要望")
    survey.add_recipients(db, DESK, 2026, [survey.Addressee(f"{lang}@example.jp", "株式会社アンケート")])
    survey.send_links(db, DESK, 2026, lambda token: f"/survey/{token}")
    db.commit()
    body = db.scalar(sa.select(Notification.body).where(Notification.kind == "survey.link"))
    return re.search(r"(/survey/\S+)", body).group(1)


@pytest.mark.parametrize("lang,send", [("ja", "回答を送信する"), ("en", "Send")])
def test_the_survey_pages_have_no_axe_violations_at_375_and_1366_px(page, live_server, db, lang, send):
    link = _link(db, lang)
    found = {}
    for width in (375, 1366):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(live_server(f"{link}?lang={lang}"))
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        found[f"form {width}"] = _violations(page)
    page.fill("#q_wish textarea", "x" * 10)
    page.evaluate("() => { const box = document.querySelector('#q_usage input'); box.type = 'text'; box.value = 'ほか'; "
                  "box.checked = true; }")  # a value that is not one of the choices, as a hostile client sends it
    page.click(f"button:has-text('{send}')")
    page.wait_for_selector("[role=alert]")
    found["with a problem"] = _violations(page)
    page.check("#q_usage input[value='はい']")
    page.click(f"button:has-text('{send}')")
    page.wait_for_selector("#answered")
    found["sent"] = _violations(page)
    page.goto(live_server(link))
    found["used link"] = _violations(page)
    assert {name: v for name, v in found.items() if v} == {}
