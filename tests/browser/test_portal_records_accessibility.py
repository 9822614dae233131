"""The residents' portal, part 2 (issue 42 item 7) in a real browser: a signed-in resident's records,
notices, download and leave pages, and the front page's links to them, meet WCAG 2.1 AA (axe-core, the
admin crawl's tags) on a phone (375 px) and a desktop (1366 px), in Japanese and in English. The resident's
session is the app's own signed cookie (the sign-in itself is tests/browser/test_portal_accessibility.py's)."""

from __future__ import annotations

import time

import pytest

from tests.browser.test_portal_accessibility import _violations
from tests.consent.conftest import consent_setup  # noqa: F401  (the fixture)
from tests.residents.test_portal_records import story  # noqa: F401  (the fixture)

# what the page shows (axe-core, raw codes, reflow), which the database cannot change: once, on SQLite
pytestmark = pytest.mark.rendered

PAGES = (("/portal/", "#menu-history"), ("/portal/history", "#history"), ("/portal/notices", "#notices"),
         ("/portal/data", "#download-csv"), ("/portal/leave", "#leave-form"))


def _cookie(app, page, live_server, data: dict) -> None:
    cookie = app.session_interface.get_signing_serializer(app).dumps(data)
    page.context.add_cookies([{"name": app.config["SESSION_COOKIE_NAME"], "value": cookie, "url": live_server.url}])


def _sign_in(app, page, live_server, resident) -> None:
    _cookie(app, page, live_server, {"resident": {
        "resident_id": resident.id, "tenant_code": resident.tenant_code, "common_id": resident.common_id,
        "status": "active", "provider": "mynumber-card", "assurance_level": 3,
        "signed_in_at": "2026-11-25T10:00:00+00:00", "seen": time.time()}})


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_portal_s_records_pages_pass_axe(app, page, live_server, db, story, lang):
    from residents import portal_records
    from tests.residents.conftest import KUMAMOTO, desk

    portal_records.publish_notice(db, desk(), KUMAMOTO, {"title_ja": "年末年始の窓口", "body_ja": "12月29日から休みます。"})
    db.commit()
    _sign_in(app, page, live_server, story["me"])
    for path, landmark in PAGES:
        page.goto(live_server(f"{path}?lang={lang}"))
        assert page.get_attribute("html", "lang") == lang
        assert page.is_visible(landmark), path
        assert _violations(page) == [], path


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_staff_s_notice_form_passes_axe_and_a_refused_form_too(app, page, live_server, db, story, lang):
    from tests.conftest import sign_in
    from tests.residents.conftest import KUMAMOTO

    staff = app.test_client()
    sign_in(staff, ("resident-desk",), (KUMAMOTO,))
    with staff.session_transaction() as session:
        _cookie(app, page, live_server, dict(session))
    page.goto(live_server(f"/admin/resident-notices/?lang={lang}"))
    assert page.is_visible("#resident-notice-form")
    assert _violations(page) == []
    page.fill("#body_ja", "年末年始は休みます。")
    page.fill("#title_ja", " ")
    page.evaluate("() => document.querySelector('#title_ja').removeAttribute('required')")
    page.click("#resident-notice-form button[type=submit]")
    assert page.get_attribute("#title_ja", "aria-invalid") == "true"
    assert _violations(page) == []
