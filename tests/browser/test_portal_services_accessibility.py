"""The residents' portal's services pages (issue 42 items 2, 5, 7) in a real browser: a signed-in resident's
list of linked services with the form to link one (also as refused, the error beside the field) and a linked
service's consent page meet WCAG 2.1 AA (axe-core, the admin crawl's tags) on a phone (375 px) and a desktop
(1366 px), in Japanese and in English. The resident's session is the one the portal's callback keeps
(admin/portal/session.py), signed with the app's key: the sign-in itself is tested by the portal door's test."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from playwright.sync_api import expect

from residents import operations as residents, portal
from tenancy.identity.models import ApiClient
from tests.browser.test_portal_accessibility import _violations
from tests.consent.conftest import consent_setup  # noqa: F401  (the fixture)
from tests.residents.conftest import KUMAMOTO, desk, keys, person  # noqa: F401  (the fixtures)
from tests.residents.test_portal_services import TEXT, _service_actor

# what the page shows (axe-core, raw codes, reflow), which the database cannot change: once, on SQLite
pytestmark = pytest.mark.rendered


def _signed_in(app, browser_context, live_server, resident_id: int) -> None:
    data = {"resident": {"resident_id": resident_id, "tenant_code": KUMAMOTO, "common_id": None, "status": "active",
                         "provider": "mynumber-card", "assurance_level": 3,
                         "signed_in_at": "2026-11-25T10:00:00+00:00", "seen": time.time()}}
    cookie = app.session_interface.get_signing_serializer(app).dumps(data)
    browser_context.add_cookies([{"name": app.config.get("SESSION_COOKIE_NAME", "session"), "value": cookie,
                                  "url": live_server.url}])


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_my_services_and_a_services_consent_page_pass_axe(app, page, browser_context, live_server, db, consent_setup,
                                                           keys, lang):
    client = ApiClient(tenant_code=KUMAMOTO, name="くらしナビ", purpose="住民データの仲介", scopes="residents:broker",
                       allowlist="127.0.0.1/32", expires_on=dt.date(2099, 12, 31), created_by="test")
    db.add(client)
    db.commit()
    service = consent_setup(name="くらしナビ", text=TEXT, api_client_id=client.id)
    consent_setup(name="健康ポイント", text=TEXT, required_level=3)
    resident = residents.enrol(db, desk(), keys, person()).resident
    _, code = portal.issue_link_code(db, _service_actor(client.id), {"service_id": service.id,
                                                                    "service_user_id": "navi-user-0001"})
    db.commit()
    _signed_in(app, browser_context, live_server, resident.id)

    page.goto(live_server(f"/portal/services?lang={lang}"))
    assert page.get_attribute("html", "lang") == lang
    expect(page.locator("#link-form")).to_be_visible()
    assert _violations(page) == []
    # refused: the error beside the field, what was typed kept
    page.select_option("#service_id", str(service.id))
    page.fill("#code", "ACDEFGHJ")
    page.click("#link-form button[type=submit]")
    expect(page.locator("#code-error")).to_be_visible()
    expect(page.locator("#code")).to_have_value("ACDEFGHJ")
    assert _violations(page) == []
    page.fill("#code", code)
    page.click("#link-form button[type=submit]")
    expect(page.locator("#services")).to_contain_text("navi-user-0001")
    assert _violations(page) == []

    page.click(f"#services a[href$='/portal/services/{service.id}']")
    expect(page.locator("#consent-form")).to_be_visible()
    assert _violations(page) == []
    page.check("#consent-form input[name=items][value='氏名']")
    page.click("#consent-form button[type=submit]")
    expect(page.locator("#withdraw")).to_be_visible()
    assert _violations(page) == []
    page.click("#withdraw")
    page.wait_for_load_state()
    assert _violations(page) == []
    page.goto(live_server(f"/portal/services/{service.id}/unlink?lang={lang}"))
    assert _violations(page) == []
