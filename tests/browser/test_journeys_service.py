"""Journey of issue 39 (item 7) in a real Chromium through the real Keycloak login: a registered
component (a small HTTP server of this test) stops answering, the probes open its incident after the
configured failures, the operator sends the first report, the component answers again (its recovery
recorded), the operator sends the final report, and the month's report shows the downtime.

The probes are the timer's (``renkei service probe`` every minute); here the test runs each round at
a minute of its own, last month, so nothing waits for the clock.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.service.conftest import Component
from tests.browser.menu import open_section

SLOW = 60_000  # PDFs are drawn while the page answers: a generous wait, no timed assertion


@pytest.fixture
def broker():
    server = Component()
    yield server
    server.stop()


def _probe(db, key: str, at: dt.datetime) -> None:
    """One probe round of the component at ``at`` (what the minute timer does)."""
    from service import monitor

    found, checks = monitor.checks_for(db, {}, only={key})
    db.commit()
    monitor.record_all(db, found, monitor.probe_all(checks), at)
    db.commit()


def test_a_component_stops_its_incident_is_reported_and_the_month_shows_the_downtime(
        demo, people, page, login_as, live_server, db, broker):
    from core.calendar import add_months, current_month, month_start_utc
    from service import components, settings
    from service.incidents.models import Incident, IncidentStatus

    last_month = add_months(current_month(), -1)
    t0 = month_start_utc(last_month) + dt.timedelta(days=3, hours=2)

    def minute(n: int) -> dt.datetime:
        return t0 + dt.timedelta(minutes=n)

    from tenancy.registry.prefecture import PrefectureSettingsIn, update_settings
    from tenancy.registry.sample import KUMAMOTO_SETTINGS

    update_settings(db, demo.loader, PrefectureSettingsIn.model_validate(KUMAMOTO_SETTINGS))  # the letters' issuer
    # an outage after 3 minutes down; the reports' recipients at the prefecture
    settings.save(db, demo.loader, settings.SettingsDraft(9950, 3, True, 9, 17,
                                                          report_recipients=["joho@pref.kumamoto.example.jp"]))
    component = components.register(db, demo.loader, components.ComponentDraft(
        name_ja="コンテキストブローカー", name_en="Context broker", url=broker.url, timeout_ms=3000))
    db.commit()
    _probe(db, component.key, minute(0))
    broker.stop()
    for n in (1, 2, 3):
        _probe(db, component.key, minute(n))
    assert db.scalar(sa.select(sa.func.count()).select_from(Incident)) == 0  # down, not yet an outage
    for n in range(4, 11):  # down for 3 minutes at minute 4: the outage is confirmed and its incident opened
        _probe(db, component.key, minute(n))
    assert db.scalar(sa.select(sa.func.count()).select_from(Incident)) == 1  # one incident for the one outage
    db.commit()

    login_as(page, people["operator"].username)
    open_section(page, "運用と監査").get_by_role("link", name="障害台帳").click()
    incident_link = page.get_by_role("main").get_by_role("link", name=re.compile("コンテキストブローカー"))
    expect(incident_link).to_be_visible()
    incident_link.click()
    expect(page.get_by_role("heading", level=1, name=re.compile("コンテキストブローカー"))).to_be_visible()

    page.get_by_role("button", name="第一報を送る").click()
    expect(page.get_by_role("heading", name="県へ第一報を送りますか？")).to_be_visible()
    page.get_by_role("button", name="第一報を送る").click()
    expect(page.get_by_text(re.compile(r"第一報（.+第\d+号）を発行しました"))).to_be_visible(timeout=SLOW)

    broker.start()
    _probe(db, component.key, minute(11))  # it answers again: the recovery is recorded
    (incident,) = db.scalars(sa.select(Incident))
    assert incident.status == IncidentStatus.recovered
    db.commit()

    page.reload()
    page.get_by_label("原因").fill("ブローカーのメモリー不足")
    page.get_by_label("影響").fill("10 分間、データの取得ができませんでした。")
    page.get_by_label("対応").fill("メモリーを増設して再起動しました。")
    page.get_by_label("再発防止策").fill("メモリー使用量の監視を追加します。")
    page.get_by_role("button", name="最終報告を送って完了にする").click()
    expect(page.get_by_role("heading", name="最終報告を送り、障害を完了にしますか？")).to_be_visible()
    page.get_by_role("button", name="最終報告を送って完了にする").click()
    expect(page.get_by_text(re.compile(r"最終報告（.+第\d+号）を発行し、障害を完了にしました"))).to_be_visible(timeout=SLOW)

    open_section(page, "運用と監査").get_by_role("link", name="月次運用報告").click()  # its section is open already
    expect(page.get_by_role("heading", level=1, name="月次運用報告")).to_be_visible()
    page.get_by_label("対象月").fill(f"{last_month:%Y-%m}")
    page.get_by_role("button", name="報告を作成").click()
    expect(page.get_by_text(f"{last_month:%Y-%m} の月次運用報告を作成しました（第 1 版）。")).to_be_visible(timeout=SLOW)
    reports = page.get_by_role("table", name="作成した月次運用報告（新しい月から）")
    row = reports.get_by_role("row").filter(has_text=f"{last_month:%Y-%m}")
    # down from the first failed probe (minute 1) until the probe that found it answering (minute 11): 10 minutes
    expect(row).to_contain_text("コンテキストブローカー 10")
    expect(row.get_by_role("cell").nth(5)).to_have_text("1")  # the month's incidents
    row.get_by_role("button", name=re.compile("^送付")).click()
    expect(page.get_by_role("heading", name="この月次運用報告を県に送付しますか？")).to_be_visible()
    page.get_by_role("button", name="県に送付").click()
    expect(page.get_by_text("月次運用報告を県の送付先宛てに送信待ちにしました。")).to_be_visible()
