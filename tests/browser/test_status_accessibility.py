"""The public status page (/status, no account) meets WCAG 2.1 AA (axe-core, the tags the admin crawl
uses) in Japanese and in English, with a component up, one down, one not measured, and a planned
maintenance window announced to a municipality (issue 39 Done-when 3)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.browser.conftest import axe_script
from tests.browser.test_accessibility import AXE_JS, AXE_TAGS, HEIGHT, SETTLED_JS, SIDEWAYS_JS, WIDTHS

# what the page shows (axe-core, raw codes, reflow), which the database cannot change: once, on SQLite
pytestmark = pytest.mark.rendered


def _violations(page) -> list[str]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_script())
    return [f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']]}" for v in page.evaluate(AXE_JS, AXE_TAGS)]


@pytest.fixture
def measured(db, operator, tenant_factory):
    from core.calendar import JST
    from service import components, maintenance, monitor, settings

    tenant_factory("431001")
    now = dt.datetime.now(dt.timezone.utc)
    found = {c.key: c for c in components.all_components(db)}
    current = settings.current(db)
    for minutes, ok in ((-90, True), (-60, False), (-30, True), (0, True)):
        monitor.record(db, found["ckan"], monitor.ProbeResult(ok, 120), now + dt.timedelta(minutes=minutes), current)
    for minutes in (-3, 0):
        monitor.record(db, found["dcat"], monitor.ProbeResult(False, 5000, None, "timeout"), now + dt.timedelta(minutes=minutes),
                       current)
    start = (dt.datetime.now(JST) + dt.timedelta(days=3)).replace(hour=22, minute=0, second=0, microsecond=0)
    maintenance.schedule(db, operator, maintenance.WindowDraft(
        title="カタログの更新作業", starts_at=start, ends_at=start + dt.timedelta(hours=2), component_keys=["ckan", "dcat"],
        tenant_codes=["431001"], outside_hours_reason="利用の少ない夜間に実施するため"), current)
    db.commit()


@pytest.mark.parametrize("lang,heading", [("ja", "稼働状況"), ("en", "Service status")])
def test_the_status_page_has_no_axe_violations(page, live_server, db, measured, lang, heading):
    response = page.goto(live_server(f"/status?lang={lang}"))
    assert response.status == 200
    assert page.get_attribute("html", "lang") == lang
    assert page.inner_text("h1") == heading
    assert "カタログの更新作業" in page.inner_text("main")
    page.click("details summary")  # the days below 100 % of the first component that has one
    assert _violations(page) == []


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_status_page_reflows_on_a_phone_with_its_days_grey_until_measured(page, live_server, db, measured, lang):
    """At 375 px (WCAG 1.4.10) nothing scrolls sideways: the 90 days' bars shrink with the page; the
    days before the first probe are grey (not measured), never red."""
    page.set_viewport_size({"width": WIDTHS[-1], "height": HEIGHT})
    assert page.goto(live_server(f"/status?lang={lang}")).status == 200
    page.evaluate(SETTLED_JS)
    assert page.evaluate(SIDEWAYS_JS) is None
    assert page.evaluate("() => document.documentElement.scrollWidth") <= WIDTHS[-1]
    bars = page.locator("svg.days").first.locator("rect")
    assert bars.count() == 90
    assert page.locator("svg.days").first.evaluate("e => e.getBoundingClientRect().right") <= WIDTHS[-1]
    kinds = page.eval_on_selector_all("svg.days", "all => all.map(svg => Array.from(svg.querySelectorAll('rect'), r => r.getAttribute('class')))")
    assert len(kinds) >= 6 and all(len(days) == 90 for days in kinds)
    # measured only in the last 90 minutes (today, or yesterday too just after midnight): every day before is grey
    assert {kind for days in kinds for kind in days[:-2]} == {"none"}
    assert any("low" in days[-2:] for days in kinds)  # the component down now is red where it was measured
    assert ("計測" if lang == "ja" else "Measured since") in page.inner_text("#measured-since")
