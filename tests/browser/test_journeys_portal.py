"""The residents' portal end to end in Chromium (issue 42, "Done when"): a resident signs in with the card
provider (a second realm of the test Keycloak), links two services with the one-time codes they issued,
sets per service which items each may receive, sees what was sent, withdraws one consent, downloads their
data and leaves. Every page visited passes axe (WCAG 2.1 AA) at 375 px and 1366 px with no sideways scroll.

The services' side is played through the operations a service's API calls reach (``issue_link_code``,
``broker``), with each service's own API client as the actor."""

from __future__ import annotations

import csv
import io
import json
import pathlib

import pytest
import sqlalchemy as sa

from residents import brokerage, portal as resident_portal
from residents.crypto import keyring_from_config
from residents.models import Resident, ResidentStatus, ServiceLink
from tests.browser.test_portal_accessibility import _violations
from tests.consent.conftest import consent_setup  # noqa: F401  (the fixture)
from tests.residents.conftest import api_client
from tests.residents.test_portal_services import TEXT, _service_actor
from tests.residents.test_signin import PASSWORD, TARO, portal, realms  # noqa: F401  (the fixtures)

pytestmark = pytest.mark.keycloak

PURPOSE = TEXT["purposes"][0]


def _passes_axe(page, where: str) -> None:
    found = _violations(page)  # 375 px and 1366 px, no wider than the screen at either
    assert found == [], f"{where}: {found}"


def _ask(app, db, service, user_id: str, items: list[str]) -> dict:
    """The service asks for the person's items by its own user ID (what POST /api/v1/residents/broker does)."""
    answer = brokerage.broker(db, _service_actor(service.api_client_id), keyring_from_config(app.config),
                              {"service_id": service.id, "service_user_id": user_id, "items": items, "purpose": PURPOSE})
    db.commit()
    return answer.as_dict()


def test_a_resident_links_two_services_consents_per_item_sees_what_was_sent_withdraws_downloads_and_leaves(
        app, db, page, live_server, portal, consent_setup):  # noqa: F811
    navi = consent_setup(name="くらしナビ", text=TEXT, api_client_id=api_client(db, "くらしナビ"), required_level=2)
    health = consent_setup(name="健康ポイント", text=TEXT, api_client_id=api_client(db, "健康ポイント"), required_level=3)
    portal.person("journey")

    # signed out: the door; then the card provider's sign-in, back with a common ID
    page.goto(live_server("/portal/"))
    _passes_axe(page, "the door")
    page.click("#sign-in")
    page.fill("#username", "journey")
    page.fill("#password", PASSWORD)
    page.click("#kc-login")
    page.wait_for_url(lambda url: url.startswith(live_server.url + "/portal/"))
    resident = db.scalar(sa.select(Resident))
    assert resident.common_id and page.inner_text("#common-id") == resident.common_id
    _passes_axe(page, "the portal signed in")

    # each service issued a one-time code for its own user ID; the resident types them in
    users = {navi.id: "navi-user-0001", health.id: "health-user-0001"}
    for service in (navi, health):
        _, code = resident_portal.issue_link_code(db, _service_actor(service.api_client_id),
                                                  {"service_id": service.id, "service_user_id": users[service.id]})
        db.commit()
        page.goto(live_server("/portal/"))
        page.click("#services-link")
        page.select_option("#service_id", str(service.id))
        page.fill("#code", code.lower())  # as a person types it
        page.click("#link-form button[type=submit]")
        page.wait_for_selector("#linked")
    listed = page.inner_text("#services")
    assert "くらしナビ" in listed and "健康ポイント" in listed and "navi-user-0001" in listed
    _passes_axe(page, "my services, two linked")

    # consent per service and item: くらしナビ the name only, 健康ポイント the name and the address
    for service, items in ((navi, ["氏名"]), (health, ["氏名", "住所"])):
        page.click(f"#services a:text-is('{service.name}')")
        _passes_axe(page, f"{service.name}: before consent")
        for item in items:
            page.check(f"#consent-form input[name=items][value='{item}']")
        page.click("#consent-form button[type=submit]")
        page.wait_for_selector("#saved")
        _passes_axe(page, f"{service.name}: saved")
        page.goto(live_server("/portal/services"))

    # each service asks for the name and the address: each gets only what the resident allowed it
    first = _ask(app, db, navi, users[navi.id], ["氏名", "住所"])
    assert first["allowed"] and first["items"] == {"氏名": TARO["full_name"]} and first["withheld"] == ["住所"]
    second = _ask(app, db, health, users[health.id], ["氏名", "住所"])
    assert second["allowed"] and set(second["items"]) == {"氏名", "住所"}
    for answer in (first, second):  # a service never learns the common ID, nor the other service's user ID
        text = json.dumps(answer, ensure_ascii=False)
        assert resident.common_id not in text
    assert users[health.id] not in json.dumps(first, ensure_ascii=False)
    assert users[navi.id] not in json.dumps(second, ensure_ascii=False)

    # who received what: both requests, newest first; くらしナビ's 住所, not ticked, is listed as refused beside
    # the 氏名 it was given
    page.goto(live_server("/portal/"))
    page.click("#menu-history")
    history = page.inner_text("#history")
    assert "くらしナビ" in history and "健康ポイント" in history
    assert history.index("健康ポイント") < history.index("くらしナビ")
    rows = page.locator("#history li").all_inner_texts()
    assert len(rows) == 3
    assert [("住所" in row, "提供していません" in row) for row in rows if "くらしナビ" in row] == [(True, True), (False, False)]
    _passes_axe(page, "the history")

    # withdrawn in the portal: くらしナビ's next request is refused, and the history shows the refusal
    page.goto(live_server("/portal/services"))
    page.click("#services a:text-is('くらしナビ')")
    page.click("#withdraw")
    _passes_axe(page, "withdraw: the confirmation")
    page.click("#confirm-withdraw")
    page.wait_for_selector("#withdrawn")
    refused = _ask(app, db, navi, users[navi.id], ["氏名"])
    assert not refused["allowed"] and refused["items"] == {}
    page.goto(live_server("/portal/history"))
    assert page.locator("#history li").count() == 4

    # my data, as a disclosure request gives it: JSON and CSV
    page.goto(live_server("/portal/"))
    page.click("#menu-data")
    _passes_axe(page, "my data")
    with page.expect_download() as json_download:
        page.click("#download-json")
    mine = json.loads(pathlib.Path(json_download.value.path()).read_text(encoding="utf-8"))
    text = json.dumps(mine, ensure_ascii=False)
    assert resident.common_id in text and TARO["full_name"] in text
    assert users[navi.id] in text and users[health.id] in text
    with page.expect_download() as csv_download:
        page.click("#download-csv")
    rows = list(csv.reader(io.StringIO(pathlib.Path(csv_download.value.path()).read_text(encoding="utf-8-sig"))))
    assert any(users[health.id] in cell for row in rows for cell in row)

    # leave: asked first with the consequences, then every link ended and every consent withdrawn
    page.goto(live_server("/portal/"))
    page.click("#menu-leave")
    assert page.locator("#leave-consequences li").count() >= 2
    _passes_axe(page, "leave: the confirmation")
    page.click("#leave-confirm")
    page.wait_for_selector("#left")
    _passes_axe(page, "left")
    db.expire_all()
    assert db.get(Resident, resident.id).status is ResidentStatus.left
    assert db.scalar(sa.select(sa.func.count()).select_from(ServiceLink).where(ServiceLink.ended_at.is_(None))) == 0
    assert _ask(app, db, health, users[health.id], ["氏名"])["reason"] == "not_linked"
    page.goto(live_server("/portal/"))
    assert page.locator("#sign-in").count() == 1  # signed out


@pytest.fixture
def one_portal(app, portal, monkeypatch):  # noqa: F811
    """The card sign-in with no RENKEI_PORTAL_TENANT: the one portal of every municipality taking part."""
    monkeypatch.setitem(app.config, "RENKEI_PORTAL_TENANT", "")
    return portal


def test_a_resident_who_moved_to_koshi_carries_the_link_they_tick_and_goes_on_under_koshi(
        app, db, page, live_server, one_portal, consent_setup, tenant_factory):  # noqa: F811
    """Issue 56 item 2 in Chromium: a resident of 熊本市 linked to two services signs in after the card's address
    became 合志市; the portal says so, the move page offers the one service 合志市 also runs, and the move goes on
    under 合志市's common ID. Each page passes axe at 375 px and 1366 px."""
    from residents import operations, portal_municipalities as pm
    from residents.consent import operations as consent
    from tests.conftest import OPERATOR
    from tests.consent.conftest import clerk
    from tests.residents.conftest import KUMAMOTO, desk

    koshi = "432164"
    tenant_factory(koshi)
    pm.set_portal(db, OPERATOR, KUMAMOTO, opted_in=True)
    pm.set_portal(db, OPERATOR, koshi, opted_in=True)
    db.commit()
    app_run = "株式会社くまもとアプリ"  # one app run for both cities
    navi = consent_setup(name="くらしナビ", text=TEXT, provider=app_run, required_level=2)
    library = consent_setup(name="図書館アプリ", text=TEXT, provider="熊本市立図書館", required_level=2)
    koshi_navi = consent_setup(koshi, name="くらしナビ", text=TEXT, provider=app_run, required_level=2, controller="合志市長")
    one_portal.person("mover", TARO)

    def sign_in():
        page.goto(live_server("/portal/"))
        page.click("#sign-in")
        page.fill("#username", "mover")
        page.fill("#password", PASSWORD)
        page.click("#kc-login")
        page.wait_for_url(lambda url: url.startswith(live_server.url + "/portal/"))

    sign_in()
    old = db.scalar(sa.select(Resident))
    for service, user_id in ((navi, "navi-user-0001"), (library, "lib-user-0001")):
        operations.link_service(db, desk(KUMAMOTO), KUMAMOTO, old.common_id, {
            "service_id": service.id, "service_user_id": user_id, "method": "counter",
            "verification": "my_number_card", "assurance_level": 3})
    consent.give_consent(db, clerk(KUMAMOTO), {
        "service_id": navi.id, "tenant_code": KUMAMOTO, "subject_id": "navi-user-0001", "method": "paper",
        "content_hash": consent.current_text(db, navi).content_hash, "assurance_level": 3})
    db.commit()
    assert page.locator("#move-notice").count() == 0  # living where enrolled: nothing to tell

    page.context.clear_cookies()  # signed out; the card's holder moved to 合志市
    one_portal.person("mover", {**TARO, "address": "熊本県合志市竹迫2140"})
    sign_in()
    notice = page.locator("#move-notice")
    assert "合志市" in notice.inner_text()
    _passes_axe(page, "the portal telling the move")
    notice.get_by_role("link").click()
    page.wait_for_selector("#move-form")
    links = page.inner_text("#move-links")
    assert "くらしナビを合志市に引き継ぐ" in links and "合志市では、このサービスは提供されていません" in links
    assert page.is_checked(f"#carry-{navi.id}")
    _passes_axe(page, "the move page")
    page.click("#move-confirm")
    page.wait_for_selector("#moved-in")
    assert "合志市の住民として" in page.inner_text("#moved-in")
    _passes_axe(page, "the portal after the move")

    db.expire_all()
    new = db.scalar(sa.select(Resident).where(Resident.tenant_code == koshi))
    assert page.inner_text("#common-id") == new.common_id != old.common_id
    assert db.get(Resident, old.id).status is ResidentStatus.moved and new.moved_from == KUMAMOTO
    [carried] = db.scalars(sa.select(ServiceLink).where(ServiceLink.resident_id == new.id)).all()
    assert (carried.service_id, carried.service_user_id) == (koshi_navi.id, "navi-user-0001")
    page.click("#services-link")
    assert "くらしナビ" in page.inner_text("#services") and "図書館アプリ" not in page.inner_text("#services")
