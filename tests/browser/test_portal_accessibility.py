"""The residents' portal's door (issue 42 item 4) in a real browser: a resident signs in with the card
provider (a second realm of the test Keycloak, brokered through the residents' realm) and sees their common
ID; the page signed out and signed in meets WCAG 2.1 AA (axe-core, the admin crawl's tags) on a phone
(375 px) and a desktop (1366 px), in Japanese and in English."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from residents.models import Resident
from tests.browser.conftest import axe_script
from tests.browser.test_accessibility import AXE_JS, AXE_TAGS
from tests.residents.test_signin import PASSWORD, portal, realms  # noqa: F401  (the fixtures)
from tests.consent.conftest import consent_setup  # noqa: F401  (the fixture)

WIDTHS = (375, 1366)


def _violations(page) -> list[str]:
    found = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.evaluate(axe_script())
        found += [f"{width}px {v['id']}: {v['help']} at {[n['target'] for n in v['nodes']]}"
                  for v in page.evaluate(AXE_JS, AXE_TAGS)]
        # nothing wider than a phone's screen (WCAG 1.4.10 Reflow)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    return found


@pytest.mark.parametrize("lang,door", [("ja", "マイナンバーカードでサインイン"), ("en", "Sign in with the My Number Card")])
def test_a_resident_signs_in_with_the_card_and_the_portal_passes_axe(page, live_server, db, portal, lang, door):
    portal.person(f"browser-{lang}")
    page.goto(live_server(f"/portal/?lang={lang}"))
    assert page.get_attribute("html", "lang") == lang
    assert page.inner_text("#sign-in") == door
    assert _violations(page) == []
    page.click("#sign-in")
    page.fill("#username", f"browser-{lang}")
    page.fill("#password", PASSWORD)
    page.click("#kc-login")
    page.wait_for_url(lambda url: url.startswith(live_server.url + "/portal/"))
    common_id = db.scalar(sa.select(Resident.common_id))
    assert common_id and page.inner_text("#common-id") == common_id
    assert _violations(page) == []
