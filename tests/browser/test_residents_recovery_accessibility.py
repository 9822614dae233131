"""The residents' desk page with the recovery (issue 42 item 3) meets WCAG 2.1 AA (axe-core, the admin crawl's
tags): a person looked up with their links and consents, a split proposed (the proposer offered only the
cancellation), and the second person's confirmation of the approval, which says what will happen."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import PASSWORD
from tests.consent.conftest import consent_setup  # noqa: F401  (the fixture)
from tests.browser.test_join_accessibility import _violations
from tests.residents.conftest import KUMAMOTO, desk, person

# what the page shows (axe-core, raw codes, reflow), which the database cannot change: once, on SQLite
pytestmark = pytest.mark.rendered


def _desk_person(directory, family: str) -> str:
    username = f"desk-{uuid.uuid4().hex[:6]}"
    user_id = directory.create_user(username, f"{username}@example.jp", "窓口", family, password=PASSWORD)
    directory.ensure_tenant_group(KUMAMOTO)
    directory.add_to_tenant(user_id, KUMAMOTO)
    directory.set_roles(user_id, ("resident-desk",), ("resident-desk",))
    return username


def test_the_recovery_on_the_residents_page_has_no_axe_violations(page, new_page, app, live_server, login_as, directory,
                                                                  db, consent_setup):
    from admin.resident_keys import keyring
    from residents import operations as residents

    navi = consent_setup()
    with app.app_context():
        keys = keyring()
    common_id = residents.enrol(db, desk(), keys, person()).resident.common_id
    residents.link_service(db, desk(), KUMAMOTO, common_id, {"service_id": navi.id, "service_user_id": "navi-user-0001",
                                                             "assurance_level": 3})
    db.commit()
    found = {}
    login_as(page, _desk_person(directory, "一郎"), next="/admin/residents/")
    page.goto(live_server("/admin/residents/"))
    page.fill("#common_id", common_id)
    page.fill("#reason", "窓口での確認")
    page.click("form[action*='/lookup'] button[type=submit]")
    page.wait_for_selector("text=解除を提案する")
    found["looked up"] = _violations(page)
    page.fill("input[id^=split-reason-]", "別人の利用者ID")
    page.click("form[action$='/recoveries/split'] button[type=submit]")
    page.wait_for_selector("text=あなたの提案です")
    found["proposed"] = _violations(page)

    second = new_page()
    login_as(second, _desk_person(directory, "二郎"), next="/admin/residents/")
    second.goto(live_server("/admin/residents/"))
    second.click("button[name=decision][value=approve]")
    second.wait_for_selector("text=元に戻せません")
    found["confirmation"] = _violations(second)
    assert {name: v for name, v in found.items() if v} == {}
