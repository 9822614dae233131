"""Journey of issue 40 (item 6, build item 8) in a real Chromium through the real Keycloak login: the
secretariat's operator opens 会議・議事録 from 協定と協議会, sends the meeting form with a problem (kept, beside
its field), opens a meeting whose minutes another operator wrote, approves them, is asked before publishing,
publishes them to the attendees' organisations, and downloads the PDF; every page meets WCAG 2.1 AA (axe)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.test_join_accessibility import _violations
from tests.browser.menu import open_section

SLOW = 60_000  # the PDF is rendered on a shared machine: no timed assertion, only a generous wait


def test_the_secretariat_publishes_minutes_approved_by_a_second_person(demo, people, page, login_as, live_server, db):
    from core.actor import Actor
    from core.calendar import JST
    from core.outbox import Notification
    from governance import meetings

    writer = Actor(issuer="urn:test", subject="minutes-writer", name="事務局 書記", roles=frozenset({"platform-operator"}))
    meeting = meetings.create_meeting(db, writer, meetings.MeetingDraft(
        "prefecture", "11月 県との定例会", dt.datetime(2026, 11, 20, 14, tzinfo=JST), "県庁 会議室A",
        attendees=(meetings.Attendee("熊本市 担当", tenant_code="431001"), meetings.Attendee("県 担当", tenant_code="430005")),
        agenda=(meetings.AgendaItem("進捗報告"),)))
    meetings.write_minutes(db, writer, meeting.id, text="1. 進捗を報告した。\n2. 課題を確認した。")
    db.commit()  # hold no lock while the live server answers

    found = {}
    login_as(page, people["operator"].username)
    page.goto(live_server("/admin/"))
    open_section(page, "協定と協議会").get_by_role("link", name="会議・議事録").click()
    expect(page.get_by_role("heading", name="会議・議事録", level=1)).to_be_visible()
    found["list"] = _violations(page)
    page.locator("#title").fill("")
    page.locator("#agenda_title_1").fill("方針")
    page.get_by_role("button", name="記録する", exact=True).click()
    expect(page.locator("#title-error")).to_be_visible()
    expect(page.locator("#agenda_title_1")).to_have_value("方針")  # what was typed is kept
    found["refused form"] = _violations(page)

    page.get_by_role("link", name="11月 県との定例会").click()
    expect(page.locator("#minutes-status")).to_have_text("承認待ち")
    found["meeting"] = _violations(page)
    page.get_by_role("button", name="議事録を承認").click()
    expect(page.get_by_role("heading", name="議事録を承認しますか？")).to_be_visible()  # an irreversible act asks first
    page.get_by_role("button", name="議事録を承認").click()
    expect(page.locator("#minutes-status")).to_have_text("承認済み")
    page.get_by_role("button", name="出席団体に公開").click()
    expect(page.get_by_text("出席した 2 団体")).to_be_visible()
    found["confirm"] = _violations(page)
    db.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(Notification).where(Notification.kind == "meeting-minutes")) == 0
    page.get_by_role("button", name="公開する", exact=True).click()
    expect(page.locator("#minutes-status")).to_have_text("公開済み")
    found["published"] = _violations(page)
    with page.expect_download(timeout=SLOW) as download:
        page.get_by_role("link", name="議事録（PDF）").click()
    assert download.value.suggested_filename.endswith(".pdf")
    db.rollback()
    tenants = sorted(db.scalars(sa.select(Notification.tenant_code).where(Notification.kind == "meeting-minutes")))
    assert tenants == ["430005", "431001"]
    assert {name: v for name, v in found.items() if v} == {}
