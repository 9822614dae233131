"""What the resident sees of their own record (renkei issue 50 item 5) in a real browser on a phone (375 px): a
member of the desk looks the resident up with a reason, then the resident, signed in (the app's own signed
cookie, as tests/browser/test_portal_records_accessibility.py), finds that look-up from the portal's front page
(who, municipality, when, why), disputes it (an empty dispute refused beside the field, then sent), and sees
their own items; every page meets WCAG 2.1 AA (axe-core, ``_violations``), in Japanese and in English."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from admin.resident_keys import keyring
from core.actor import Actor
from residents import operations as residents
from tests.browser.test_portal_accessibility import _violations
from tests.browser.test_portal_records_accessibility import _sign_in
from tests.consent.conftest import consent_setup  # noqa: F401  (the fixture)
from tests.residents.conftest import KUMAMOTO
from tests.residents.test_portal_records import ME, story  # noqa: F401  (the fixture)


PHONE = {"width": 375, "height": 800}


def _axe_on_a_phone(page) -> list[str]:
    """axe at the portal's widths (``_violations``: a phone's and a desktop's), then back to the phone the resident uses."""
    found = _violations(page)
    page.set_viewport_size(PHONE)
    return found


def test_a_desk_look_up_with_its_reason_is_seen_by_the_resident_on_a_phone(app, page, live_server, db, story):
    clerk = Actor(issuer="urn:test", subject="kc-4b1e-desk-clerk", name="熊本 窓口子", roles=frozenset({"resident-desk"}),
                  tenant_codes=frozenset({KUMAMOTO}))
    residents.look_up(db, clerk, keyring(), KUMAMOTO, reason="転入届の確認のため", common_id=story["me"].common_id)
    db.commit()
    page.set_viewport_size(PHONE)
    _sign_in(app, page, live_server, story["me"])

    page.goto(live_server("/portal/?lang=ja"))
    page.click("#menu-lookups")
    lookup = page.locator("#lookups li").first
    expect(lookup.locator(".lookup-who")).to_have_text("熊本 窓口子")
    expect(lookup.locator(".lookup-municipality")).to_have_text("熊本市")
    expect(lookup.locator(".lookup-reason")).to_have_text("転入届の確認のため")
    expect(lookup.locator(".lookup-at")).to_have_text(re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}$"))
    assert "kc-4b1e" not in page.content()
    assert _axe_on_a_phone(page) == []

    lookup.get_by_role("link", name="この記録に異議を申し立てる").click()
    expect(page.locator("#disputed-record")).to_contain_text("窓口での閲覧の記録")
    assert _axe_on_a_phone(page) == []
    page.click("#send-dispute")  # empty: refused, the error beside the field
    expect(page.locator("#text-error")).to_have_text("異議の内容を入力してください。")
    assert _axe_on_a_phone(page) == []
    page.fill("#text", "この日は窓口に行っていません。")
    page.click("#send-dispute")
    expect(page.locator("#dispute-sent")).to_contain_text("受付番号")
    assert _axe_on_a_phone(page) == []
    page.goto(live_server("/portal/lookups"))
    expect(page.locator("#lookups li").first).to_contain_text("異議を申し立てました")

    page.goto(live_server("/portal/data"))
    expect(page.locator("#own-items")).to_contain_text(ME)
    assert _axe_on_a_phone(page) == []
    page.goto(live_server("/portal/history"))
    expect(page.locator("#history")).to_contain_text("提供した項目")
    assert _axe_on_a_phone(page) == []

    page.goto(live_server("/portal/lookups?lang=en"))
    expect(page.locator("#lookups li").first.locator(".lookup-municipality")).to_have_text("Kumamoto")
    assert _axe_on_a_phone(page) == []
