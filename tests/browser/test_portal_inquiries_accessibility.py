"""「データの使われ方について問い合わせる」 (issue 56 item 6) in a real browser on a phone (375 px): the resident, signed in
(the app's own signed cookie, as tests/browser/test_portal_records_accessibility.py), finds the form from the portal's
front page, sends it empty (each error beside its field), then asks about a linked service and sees it received;
once the desk answers, the status and the answer are on the page; every page meets WCAG 2.1 AA (axe-core), in
Japanese and in English."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import expect

from secretariat import inquiries as inq
from tests.browser.test_portal_accessibility import _violations
from tests.browser.test_portal_records_accessibility import _sign_in
from tests.conftest import OPERATOR
from tests.consent.conftest import consent_setup  # noqa: F401  (the fixture)
from tests.residents.test_portal_records import story  # noqa: F401  (the fixture)

PHONE = {"width": 375, "height": 800}


def _axe_on_a_phone(page) -> list[str]:
    found = _violations(page)
    page.set_viewport_size(PHONE)
    return found


def test_a_resident_asks_how_their_data_is_used_and_reads_the_answer_on_a_phone(app, page, live_server, db, story):
    page.set_viewport_size(PHONE)
    _sign_in(app, page, live_server, story["me"])

    page.goto(live_server("/portal/?lang=ja"))
    page.click("#menu-inquiries")
    expect(page.locator("h1")).to_have_text("データの使われ方について問い合わせる")
    assert _axe_on_a_phone(page) == []
    page.click("#send-inquiry")  # empty: refused, each error beside its field
    expect(page.locator("#service-error")).to_contain_text("問い合わせるサービスを選んでください")
    expect(page.locator("#question-error")).to_have_text("問い合わせ内容を入力してください。")
    assert _axe_on_a_phone(page) == []
    page.select_option("#service", label="くらしナビ")
    page.fill("#question", "住所は何に使われていますか。")
    page.click("#send-inquiry")
    expect(page.locator("#sent")).to_contain_text("受付番号")
    expect(page.locator("#asked li").first.locator(".inquiry-status")).to_have_text("受付済")
    assert _axe_on_a_phone(page) == []

    db.expire_all()
    inquiry = db.scalars(sa.select(inq.Inquiry)).one()
    inq.reply(db, OPERATOR, inquiry.id, "行政サービスの案内の送付先にだけ使っています。")
    db.commit()
    page.goto(live_server("/portal/inquiries"))
    expect(page.locator("#asked li").first.locator(".inquiry-status")).to_have_text("回答済")
    expect(page.locator("#asked li").first.locator(".inquiry-answer")).to_have_text("行政サービスの案内の送付先にだけ使っています。")
    assert _axe_on_a_phone(page) == []
    page.goto(live_server("/portal/inquiries?lang=en"))
    expect(page.locator("#asked li").first.locator(".inquiry-status")).to_have_text("Answered")
    assert _axe_on_a_phone(page) == []
