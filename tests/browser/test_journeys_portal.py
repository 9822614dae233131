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
