"""The residents' desk page with the forms on a person found (issue 42 items 2, 5, 8) meets WCAG 2.1 AA (axe-core,
the admin crawl's tags): a person looked up with the link form, a service linked through it (the disclosure
form with the consent text's items to tick), and a refused disclosure form with its problem beside the field."""

from __future__ import annotations

import pytest

from tests.browser.test_join_accessibility import _violations
from tests.browser.test_residents_recovery_accessibility import _desk_person
from tests.consent.conftest import consent_setup  # noqa: F401  (the fixture)
from tests.residents.conftest import desk, person
from tests.residents.test_desk_forms import TEXT

# what the page shows (axe-core, raw codes, reflow), which the database cannot change: once, on SQLite
pytestmark = pytest.mark.rendered


def test_the_link_and_disclosure_forms_have_no_axe_violations(page, app, live_server, login_as, directory, db,
                                                              consent_setup):
    from admin.resident_keys import keyring
    from residents import operations as residents

    consent_setup(name="くらしナビ", text=TEXT)
    with app.app_context():
        keys = keyring()
    common_id = residents.enrol(db, desk(), keys, person()).resident.common_id
    db.commit()
    found = {}
    login_as(page, _desk_person(directory, "一郎"), next="/admin/residents/")
    page.goto(live_server("/admin/residents/"))
    page.fill("#common_id", common_id)
    page.fill("#reason", "窓口での連携手続")
    page.click("form[action*='/lookup'] button[type=submit]")
    page.wait_for_selector("text=サービスとの連携（窓口）")
    found["looked up"] = _violations(page)
    page.select_option("#link_service", label="くらしナビ")
    page.fill("#link_user_id", "navi-user-0001")
    page.select_option("#link_verification", label="顔写真付き本人確認書類（運転免許証・旅券など）")
    page.select_option("#link_assurance", index=3)
    page.click("form[action*='/link'] button[type=submit]")
    page.wait_for_selector("text=くらしナビ が受け取れる項目")
    found["linked"] = _violations(page)
    page.check("input[name=disclosure_items][value='氏名']")
    page.click("form[action*='/disclosure'] button[type=submit]")  # no reason: refused beside the field
    page.wait_for_selector("[id$='-reason-error']")
    found["refused"] = _violations(page)
    assert {name: v for name, v in found.items() if v} == {}
