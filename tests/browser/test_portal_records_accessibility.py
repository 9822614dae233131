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

PAGES = (("/portal/", "#menu-history"), ("/portal/history", "#history"), ("/portal/notices", "#notices"),
         ("/portal/data", "#download-csv"), ("/portal/leave", "#leave-form"))


def _sign_in(app, page, live_server, resident) -> None:
    cookie = app.session_interface.get_signing_serializer(app).dumps({"resident": {
        "resident_id": resident.id, "tenant_code": resident.tenant_code, "common_id": resident.common_id,
        "status": "active", "provider": "mynumber-card", "assurance_level": 3,
        "signed_in_at": "2026-11-25T10:00:00+00:00", "seen": time.time()}})
    page.context.add_cookies([{"name": app.config["SESSION_COOKIE_NAME"], "value": cookie, "url": live_server.url}])


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
